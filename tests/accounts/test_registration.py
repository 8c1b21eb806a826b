"""Creating accounts: errors per field, one account per normalised name, Argon2 hashes."""

import pytest
from django.contrib.auth.hashers import check_password

from accounts import store
from accounts.registration import register_user
from config import settings as project_settings
from tests.conftest import DEFAULT_PASSWORD, rows

TOO_SHORT = "This password is too short. It must contain at least 8 characters."
TOO_COMMON = "This password is too common."
ENTIRELY_NUMERIC = "This password is entirely numeric."


def register(username="alice", password=DEFAULT_PASSWORD, email="", **kwargs):
    return register_user(username=username, email=email, password=password, **kwargs)


def test_a_valid_registration_returns_the_user(db):
    registration = register(username="alice", email="alice@example.com")
    assert registration.errors == {}
    assert (registration.user.username, registration.user.email) == ("alice", "alice@example.com")


def test_the_user_can_be_read_back_by_normalised_name(db):
    registration = register(username=" ＡＬＩＣＥ ")
    found = store.user_by_normalised_username(username_normalised="alice")
    assert found.id == registration.user.id


def test_the_display_name_keeps_case_without_width_or_space(db):
    assert register(username=" ＡＬＩＣＥ ").user.username == "ALICE"


def test_a_new_user_is_active_and_not_admin(db):
    user = register().user
    assert (user.is_active, user.is_admin) == (True, False)


def test_is_admin_creates_an_administrator(db):
    assert register(is_admin=True).user.is_admin is True


def test_an_empty_email_is_stored_as_null(db):
    user = register(email="").user
    assert rows("SELECT email FROM users WHERE id = %s", [user.id]) == [(None,)]


@pytest.mark.parametrize(
    "variant", ["alice", "ALICE", " alice", "alice ", "alice\t", "ａｌｉｃｅ", "Ａlice"]
)
def test_a_taken_name_is_refused_in_any_variant(make_user, variant):
    make_user("alice")
    registration = register(username=variant)
    assert (registration.user, registration.errors) == (
        None,
        {"username": ["That username is taken."]},
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [("straße", "STRASSE"), ("e\u0301", "\u00e9"), ("\u212aelvin", "kelvin"), ("alİce", "ALİCE")],
)
def test_unicode_variants_of_a_taken_name_are_refused(make_user, first, second):
    make_user(first)
    assert register(username=second).errors == {"username": ["That username is taken."]}


def test_dotted_capital_i_is_another_account_than_plain_i(make_user):
    make_user("alice")
    assert register(username="alİce").user is not None


def test_a_refused_name_creates_no_row(make_user):
    make_user("alice")
    register(username="ALICE")
    assert rows("SELECT COUNT(*) FROM users") == [(1,)]


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Enter a username."),
        ("al ice", "Use only letters, digits and the characters @ . + - _"),
        ("ali\x00ce", "Use only letters, digits and the characters @ . + - _"),
        ("a" * 151, "Use at most 150 characters."),
        ("a" * 10**6, "Use at most 150 characters."),
    ],
)
def test_a_bad_username_is_an_error_on_the_username_field(db, username, message):
    assert register(username=username).errors == {"username": [message]}


@pytest.mark.parametrize(
    "email",
    [
        "not-an-email",
        "a@",
        "@example.com",
        "a\x00b@example.com",
        "a@example.com\n",
        "a" * 250 + "@example.com",
    ],
)
def test_an_invalid_email_is_an_error_on_the_email_field(db, email):
    assert register(email=email).errors == {"email": ["Enter a valid e-mail address."]}


def test_a_password_over_the_maximum_length_is_refused(db):
    assert register(password="x" * 1025).errors == {"password1": ["Use at most 1024 characters."]}


def test_a_password_of_the_maximum_length_is_accepted(db):
    assert register(password="Zq8!" * 256).user is not None


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Zq8!x", TOO_SHORT),
        ("password123", TOO_COMMON),
        ("8274619305173", ENTIRELY_NUMERIC),
        ("", TOO_SHORT),
    ],
)
def test_djangos_password_validators_apply(db, password, message):
    assert message in register(password=password).errors["password1"]


@pytest.mark.parametrize(
    ("username", "email", "password"),
    [
        ("margaretthatcher", "", "margaretthatcher1"),
        ("MargaretThatcher", "", "margaretthatcher"),
        ("bob", "margaret.thatcher@example.com", "margaret.thatcher"),
    ],
)
def test_a_password_like_the_username_or_email_is_refused(db, username, email, password):
    errors = register(username=username, email=email, password=password).errors
    assert any("too similar" in message for message in errors["password1"])


def test_every_bad_field_is_reported_at_once(db):
    errors = register(username="al ice", email="nope", password="123").errors
    assert set(errors) == {"username", "email", "password1"}


def test_a_bad_registration_creates_no_row(db):
    register(password="123")
    assert rows("SELECT COUNT(*) FROM users") == [(0,)]


def test_the_stored_hash_is_argon2_with_the_project_hashers(db, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = register().user
    assert user.password_hash.startswith("argon2$")


def test_the_stored_hash_verifies_the_password(db, settings):
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    user = register().user
    assert check_password(DEFAULT_PASSWORD, user.password_hash)


def test_the_raw_password_is_stored_nowhere(db):
    canary = "CANARY-pw-1-correct-horse"
    user = register(password=canary).user
    (row,) = rows("SELECT * FROM users WHERE id = %s", [user.id])
    assert not any(canary in str(value) for value in row)
