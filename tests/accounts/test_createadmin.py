"""`manage.py createadmin`: an administrator from ADMIN_PASSWORD or from two prompts."""

import getpass
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts import store
from tests.conftest import DEFAULT_PASSWORD


def createadmin(*args: str) -> str:
    out = StringIO()
    call_command("createadmin", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def admin_password(monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", DEFAULT_PASSWORD)


@pytest.fixture
def typed_passwords(monkeypatch):
    """Answer the two password prompts with the given values."""

    def answer(*passwords: str) -> list[str]:
        answers = list(passwords)
        prompts: list[str] = []

        def fake_getpass(prompt: str = "Password: ") -> str:
            prompts.append(prompt)
            return answers.pop(0)

        monkeypatch.setattr(getpass, "getpass", fake_getpass)
        return prompts

    return answer


def test_noinput_creates_an_administrator(db, admin_password):
    createadmin("--username", "root", "--noinput")
    user = store.user_by_normalised_username(username_normalised="root")
    assert (user.is_admin, user.is_active) == (True, True)


def test_noinput_says_who_was_created(db, admin_password):
    assert createadmin("--username", "Root", "--noinput") == "Administrator Root created.\n"


def test_no_input_spelling_is_accepted(db, admin_password):
    createadmin("--username", "root", "--no-input")
    assert store.user_by_normalised_username(username_normalised="root") is not None


def test_the_email_is_stored(db, admin_password):
    createadmin("--username", "root", "--email", "root@example.com", "--noinput")
    assert store.user_by_normalised_username(username_normalised="root").email == "root@example.com"


def test_the_administrator_can_sign_in(db, admin_password, client_from_ip):
    createadmin("--username", "root", "--noinput")
    response = client_from_ip().post("/login/", {"username": "root", "password": DEFAULT_PASSWORD})
    assert response.url == "/"


@pytest.mark.parametrize("value", [None, ""])
def test_noinput_without_admin_password_is_an_error(db, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("ADMIN_PASSWORD", value)
    with pytest.raises(CommandError, match="ADMIN_PASSWORD"):
        createadmin("--username", "root", "--noinput")


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("root", "short", "password: This password is too short"),
        ("root", "password123", "password: This password is too common."),
        (
            "root-root-root",
            "root-root-root",
            "password: The password is too similar to the username.",
        ),
    ],
)
def test_a_weak_password_is_an_error_naming_the_option(
    db, monkeypatch, username, password, message
):
    monkeypatch.setenv("ADMIN_PASSWORD", password)
    with pytest.raises(CommandError, match=message):
        createadmin("--username", username, "--noinput")


def test_a_weak_password_creates_no_user(db, monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "short")
    with pytest.raises(CommandError):
        createadmin("--username", "root", "--noinput")
    assert store.user_by_normalised_username(username_normalised="root") is None


@pytest.mark.parametrize("variant", ["alice", "ALICE", "ａｌｉｃｅ", " alice "])
def test_a_taken_name_is_an_error(make_user, admin_password, variant):
    make_user("alice")
    with pytest.raises(CommandError, match=r"^username: That username is taken\.$"):
        createadmin("--username", variant, "--noinput")


def test_a_taken_name_leaves_the_existing_user_unchanged(make_user, admin_password):
    alice = make_user("alice")
    with pytest.raises(CommandError):
        createadmin("--username", "alice", "--noinput")
    assert store.user_by_id(user_id=alice.id).is_admin is False


@pytest.mark.parametrize(
    ("username", "message"),
    [("al ice", "username: Use only letters"), ("", "username: Enter a username.")],
)
def test_a_bad_username_is_an_error(db, admin_password, username, message):
    with pytest.raises(CommandError, match=message):
        createadmin("--username", username, "--noinput")


def test_interactive_mode_asks_twice_and_creates_an_administrator(db, typed_passwords):
    prompts = typed_passwords(DEFAULT_PASSWORD, DEFAULT_PASSWORD)
    createadmin("--username", "root")
    assert len(prompts) == 2
    assert store.user_by_normalised_username(username_normalised="root").is_admin is True


def test_interactive_mode_ignores_admin_password(db, typed_passwords, monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "short")
    typed_passwords(DEFAULT_PASSWORD, DEFAULT_PASSWORD)
    createadmin("--username", "root")
    assert store.user_by_normalised_username(username_normalised="root") is not None


def test_interactive_passwords_that_differ_are_an_error(db, typed_passwords):
    typed_passwords(DEFAULT_PASSWORD, DEFAULT_PASSWORD + "!")
    with pytest.raises(CommandError, match="The two passwords differ."):
        createadmin("--username", "root")


def test_interactive_passwords_that_differ_create_no_user(db, typed_passwords):
    typed_passwords(DEFAULT_PASSWORD, "other")
    with pytest.raises(CommandError):
        createadmin("--username", "root")
    assert store.user_by_normalised_username(username_normalised="root") is None


def test_interactive_weak_password_is_an_error(db, typed_passwords):
    typed_passwords("short", "short")
    with pytest.raises(CommandError, match="password: This password is too short"):
        createadmin("--username", "root")


def test_the_password_is_not_echoed(db, admin_password):
    assert DEFAULT_PASSWORD not in createadmin("--username", "root", "--noinput")
