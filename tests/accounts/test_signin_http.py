"""Sign-in through HTTP, as a user or an attacker would reach it."""

import re
from http import HTTPStatus

import pytest

from accounts import store
from accounts.session_engine import SessionStore
from authlog.events import unknown_name_pseudonym
from tests.conftest import DEFAULT_PASSWORD, rows
from tests.hashers import CountingHasher

GENERIC = b"Enter a correct username and password."


def login_rows(user_id=None):
    sql = "SELECT event_type, ip_address, session_ref FROM login_logs"
    if user_id is None:
        return rows(sql + " ORDER BY id")
    return rows(sql + " WHERE user_id = %s ORDER BY id", [user_id])


def failed_rows():
    return rows(
        "SELECT attempted_username, user_id, reason, ip_address, user_agent FROM failed_logins ORDER BY id"
    )


def test_correct_password_signs_in_and_records_login(make_user, client_from_ip):
    alice = make_user("alice")
    client = client_from_ip("198.51.100.20")
    response = client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    [(event_type, ip, ref)] = login_rows(alice.id)
    assert (event_type, ip) == ("login", "198.51.100.20")
    assert ref is not None and len(ref) == 64
    assert client.get("/").context["current_user"]().id == alice.id
    assert store.user_by_id(user_id=alice.id).last_login_at is not None


@pytest.mark.parametrize(
    "typed",
    ["ALICE", " alice", "alice ", "alice\t", "ａｌｉｃｅ", "Alice"],
)
def test_case_width_and_space_variants_reach_the_same_account(typed, make_user, client_from_ip):
    alice = make_user("alice")
    response = client_from_ip().post("/login/", {"username": typed, "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert len(login_rows(alice.id)) == 1


def test_session_key_in_login_row_is_a_hash_not_the_key(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip()
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    key = client.cookies["sessionid"].value
    [(_, _, ref)] = login_rows()
    assert key not in ref
    import hashlib

    assert ref == hashlib.sha256(key.encode()).hexdigest()


# --- CSRF (SECURITY-CASES 23, 24) ---------------------------------------------


def test_cross_site_login_without_token_is_refused_and_not_counted(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert failed_rows() == []
    assert login_rows() == []
    assert rows("SELECT COUNT(*) FROM user_sessions") == [(0,)]


def test_login_with_valid_token_works_and_rotates_csrf_token(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip(enforce_csrf_checks=True)
    client.get("/login/")
    token_before = client.cookies["csrftoken"].value
    response = client.post(
        "/login/",
        {"username": "alice", "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token_before},
    )
    assert response.status_code == HTTPStatus.FOUND
    assert client.cookies["csrftoken"].value != token_before


# --- Session fixation (SECURITY-CASES 24) ------------------------------------


def test_planted_existing_session_id_is_dead_after_sign_in(make_user, client_from_ip):
    make_user("alice")
    planted = SessionStore()
    planted["planted"] = True
    planted.create()
    client = client_from_ip()
    client.cookies["sessionid"] = planted.session_key
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    new_key = client.cookies["sessionid"].value
    assert new_key != planted.session_key
    assert rows("SELECT COUNT(*) FROM user_sessions WHERE session_key = %s", [planted.session_key]) == [(0,)]
    attacker = client_from_ip()
    attacker.cookies["sessionid"] = planted.session_key
    assert attacker.get("/").context["current_user"]() is None


def test_planted_unknown_session_id_is_not_adopted(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip()
    client.cookies["sessionid"] = "a" * 32
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert client.cookies["sessionid"].value != "a" * 32


# --- Signing in over another account (SECURITY-CASES 25) ---------------------


def test_signing_in_as_bob_over_alice_ends_alices_session_with_a_logout(make_user, client_from_ip):
    alice = make_user("alice")
    bob = make_user("bob")
    client = client_from_ip()
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    alice_key = client.cookies["sessionid"].value
    client.post("/login/", {"username": "bob", "password": DEFAULT_PASSWORD})
    alice_rows = login_rows(alice.id)
    assert [r[0] for r in alice_rows] == ["login", "logout"]
    assert alice_rows[0][2] == alice_rows[1][2], "the logout pairs with alice's login"
    assert [r[0] for r in login_rows(bob.id)] == ["login"]
    assert client.cookies["sessionid"].value != alice_key
    assert rows("SELECT COUNT(*) FROM user_sessions WHERE session_key = %s", [alice_key]) == [(0,)]
    assert client.get("/").context["current_user"]().id == bob.id


def test_failed_sign_in_over_a_session_keeps_that_session(make_user, client_from_ip):
    alice = make_user("alice")
    make_user("bob")
    client = client_from_ip()
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    client.post("/login/", {"username": "bob", "password": "wrong"})
    assert client.get("/").context["current_user"]().id == alice.id
    assert [r[0] for r in login_rows(alice.id)] == ["login"]


# --- Redirects ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/account/", "/account/"),
        ("/?tab=1", "/?tab=1"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("http://testserver.evil.example/", "/"),
        ("", "/"),
    ],
)
def test_next_only_redirects_to_same_site_urls(next_url, expected, make_user, client_from_ip):
    make_user("alice")
    response = client_from_ip().post(
        "/login/", {"username": "alice", "password": DEFAULT_PASSWORD, "next": next_url}
    )
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == expected


def test_login_page_carries_next_from_the_query_string(client_from_ip, db):
    response = client_from_ip().get("/login/?next=/somewhere/")
    assert b'name="next" value="/somewhere/"' in response.content


def test_login_page_is_not_cacheable(client_from_ip, db):
    response = client_from_ip().get("/login/")
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


# --- Enumeration (SECURITY-CASES 31-33, CVE-2018-6188, CVE-2024-39329, #20760) ---


def _normalised(response):
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in {"date", "expires"}}
    return response.status_code, body, headers, sorted(response.cookies.keys())


def _make_unusable(user_id):
    store.update_password_hash(user_id=user_id, password_hash="!unusable-password")


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.CountingHasher"]
    CountingHasher.runs = 0
    return CountingHasher


@pytest.mark.parametrize(
    ("case", "password"),
    [
        ("wrong_password", "not the password"),
        ("inactive_wrong_password", "not the password"),
        ("inactive_right_password", DEFAULT_PASSWORD),
        ("unusable_password", DEFAULT_PASSWORD),
        ("password_too_long", "x" * 5000),
    ],
)
def test_every_failure_looks_like_an_unknown_user_and_hashes_exactly_once(
    case, password, counting_hasher, make_user, client_from_ip
):
    # The reference is the same request made before the account exists.
    counting_hasher.runs = 0
    unknown = client_from_ip().post("/login/", {"username": "target", "password": password})
    assert counting_hasher.runs == 1
    target = make_user("target", is_active=not case.startswith("inactive"))
    if case == "unusable_password":
        _make_unusable(target.id)
    counting_hasher.runs = 0
    response = client_from_ip().post("/login/", {"username": "target", "password": password})
    assert counting_hasher.runs == 1
    assert response.status_code == HTTPStatus.OK
    assert GENERIC in response.content
    assert _normalised(response) == _normalised(unknown)
    assert login_rows() == []
    assert rows("SELECT COUNT(*) FROM user_sessions") == [(0,)]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown", "unknown_user"),
        ("wrong", "bad_password"),
        ("inactive", "inactive_user"),
        ("unusable", "unusable_password"),
    ],
)
def test_each_failure_is_recorded_with_its_reason(case, reason, make_user, client_from_ip):
    user = None
    if case == "inactive":
        user = make_user("target", is_active=False)
    elif case in {"wrong", "unusable"}:
        user = make_user("target")
        if case == "unusable":
            _make_unusable(user.id)
    password = "nope" if case == "wrong" else DEFAULT_PASSWORD
    client_from_ip("192.0.2.9").post("/login/", {"username": "TARGET", "password": password})
    [(attempted, user_id, recorded_reason, ip, ua)] = failed_rows()
    assert attempted == ("target" if user else unknown_name_pseudonym("target"))
    assert user_id == (user.id if user else None)
    assert recorded_reason == reason
    assert ip == "192.0.2.9"
    assert ua.startswith("Mozilla/5.0")


def test_successful_sign_in_hashes_once(counting_hasher, make_user, client_from_ip):
    make_user("alice")
    counting_hasher.runs = 0
    client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert counting_hasher.runs == 1


def test_old_hash_is_upgraded_to_argon2_on_sign_in(settings, make_user, client_from_ip):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.Argon2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    from django.contrib.auth.hashers import make_password

    alice = make_user("alice")
    store.update_password_hash(
        user_id=alice.id, password_hash=make_password(DEFAULT_PASSWORD, hasher="md5")
    )
    client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert store.user_by_id(user_id=alice.id).password_hash.startswith("argon2$")


def test_wrong_password_on_weaker_pbkdf2_hash_hardens_runtime(settings, make_user, client_from_ip, monkeypatch):
    # CVE-2016-2513: a hash with fewer iterations must not answer faster.
    from django.contrib.auth.hashers import PBKDF2PasswordHasher

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    alice = make_user("alice")
    weak = PBKDF2PasswordHasher().encode(DEFAULT_PASSWORD, "saltsaltsalt", iterations=1000)
    store.update_password_hash(user_id=alice.id, password_hash=weak)
    hardened = []
    monkeypatch.setattr(
        PBKDF2PasswordHasher, "harden_runtime", lambda self, pw, enc: hardened.append(enc)
    )
    client_from_ip().post("/login/", {"username": "alice", "password": "wrong"})
    assert hardened == [weak]


# --- Bad input (SECURITY-CASES 1, 4-9) -----------------------------------------


@pytest.mark.parametrize(
    "username",
    ["admin'--", "' OR '1'='1'--", "alice\"; DROP TABLE users;--", "%", "_", "\\"],
)
def test_sql_injection_strings_are_plain_failed_attempts(username, make_user, client_from_ip):
    make_user("admin")
    response = client_from_ip().post("/login/", {"username": username, "password": "' OR '1'='1'--"})
    assert response.status_code == HTTPStatus.OK
    [(attempted, user_id, reason, _, _)] = failed_rows()
    assert attempted == unknown_name_pseudonym(username.lower())
    assert (user_id, reason) == (None, "unknown_user")
    assert rows("SELECT COUNT(*) FROM users") == [(1,)]


@pytest.mark.parametrize("length", [151, 256, 257, 10_000, 1_000_000])
def test_oversized_usernames_are_recorded_failures_cut_to_size(length, counting_hasher, client_from_ip, db):
    counting_hasher.runs = 0
    response = client_from_ip().post("/login/", {"username": "a" * length, "password": "pw"})
    assert response.status_code == HTTPStatus.OK
    assert GENERIC in response.content
    assert counting_hasher.runs == 1
    [(attempted, _, reason, _, _)] = failed_rows()
    assert attempted.startswith("unknown:") and len(attempted) == 28
    assert reason == ("input_too_long" if length > 256 else "unknown_user")
    assert len(response.content) < 20_000, "the page does not echo the whole input"


def test_megabyte_password_is_refused_without_hashing_it(counting_hasher, make_user, client_from_ip, monkeypatch):
    make_user("alice")
    seen = []
    original = CountingHasher.encode
    monkeypatch.setattr(CountingHasher, "encode", lambda self, pw, salt: seen.append(len(pw)) or original(self, pw, salt))
    response = client_from_ip().post("/login/", {"username": "alice", "password": "p" * 1_000_000})
    assert response.status_code == HTTPStatus.OK
    assert seen and max(seen) < 1000
    [(_, _, reason, _, _)] = failed_rows()
    assert reason == "input_too_long"


def test_megabyte_user_agent_is_capped(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip(user_agent="Mozilla/5.0 " + "A" * 1_000_000)
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    [(length,)] = rows("SELECT LENGTH(user_agent) FROM login_logs")
    assert length == 512


@pytest.mark.parametrize(
    "username",
    ["ali\x00ce", "alice\x00", "bob\r\nINFO login ok user=admin", "\x1b[2Jalice", "a\u2028b", "a\u202eb"],
)
def test_control_characters_in_username_are_stripped_from_the_record(username, client_from_ip, db):
    response = client_from_ip().post("/login/", {"username": username, "password": "pw"})
    assert response.status_code == HTTPStatus.OK
    [(attempted, _, reason, _, _)] = failed_rows()
    assert reason == "unknown_user"
    assert not any(ch in attempted for ch in "\x00\r\n\x1b\u2028\ud800")


def test_nul_in_user_agent_is_stripped_and_event_still_logged(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip(user_agent="Mozilla/5.0\x00evil\r\nX-Injected: 1")
    response = client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    [(ua,)] = rows("SELECT user_agent FROM login_logs")
    assert ua == "Mozilla/5.0evilX-Injected: 1"


@pytest.mark.parametrize(
    "body",
    [
        b"username=%FF%FE&password=x",
        b"username=%C0%AF&password=x",
        b"username=%ED%A0%80&password=x",
        b"username=\xff\xfe\xfd&password=\xc0\xaf",
    ],
)
def test_invalid_utf8_is_replaced_not_a_500(body, client_from_ip, db):
    response = client_from_ip().post(
        "/login/", body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == HTTPStatus.OK
    [(attempted, _, reason, _, _)] = failed_rows()
    assert reason == "unknown_user"
    attempted.encode("utf-8")  # storable and printable


@pytest.mark.parametrize(
    "body",
    [b"", b"username=&password=", b"username=alice", b"password=x", b"username=&password=x"],
)
def test_missing_or_empty_fields_get_the_generic_answer_and_no_record(body, make_user, client_from_ip):
    make_user("alice")
    response = client_from_ip().post("/login/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == HTTPStatus.OK
    assert GENERIC in response.content
    assert failed_rows() == []


def test_username_given_twice_uses_one_value_and_does_not_crash(make_user, client_from_ip):
    make_user("alice")
    response = client_from_ip().post(
        "/login/",
        b"username=mallory&username=alice&password=wrong",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == HTTPStatus.OK
    assert len(failed_rows()) == 1


def test_body_over_the_upload_limit_is_a_400(client_from_ip, db):
    response = client_from_ip().post(
        "/login/", b"username=a&password=" + b"x" * 3_000_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert failed_rows() == []


def test_unsupported_methods_are_405(client_from_ip, db):
    assert client_from_ip().put("/login/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client_from_ip().delete("/login/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
