"""Create accounts: from the sign-up page and from the createadmin command."""

from dataclasses import dataclass, field
from types import SimpleNamespace

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import validate_email

from accounts import store
from accounts.conf import accounts_settings
from accounts.store import User
from accounts.usernames import display_username, normalise_username, username_problem


class _NoFields:
    """Stands in for a model's _meta so UserAttributeSimilarityValidator can name the field."""

    @staticmethod
    def get_field(name: str):
        raise FieldDoesNotExist(name)


@dataclass(frozen=True)
class Registration:
    """The new user, or the errors per field (the same field names as the form)."""

    user: User | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def registration_errors(*, username: str, email: str, password: str) -> dict[str, list[str]]:
    """Return the problems with these sign-up values, per field; empty when they are fine."""
    errors: dict[str, list[str]] = {}
    problem = username_problem(
        username,
        max_length=accounts_settings.USERNAME_MAX_LENGTH,
        input_max_length=accounts_settings.USERNAME_INPUT_MAX_LENGTH,
    )
    if problem:
        errors["username"] = [problem]
    if email:
        try:
            if len(email) > accounts_settings.EMAIL_MAX_LENGTH:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            errors["email"] = ["Enter a valid e-mail address."]
    if len(password) > accounts_settings.PASSWORD_MAX_LENGTH:
        errors["password1"] = [
            f"Use at most {accounts_settings.PASSWORD_MAX_LENGTH} characters."
        ]
    else:
        candidate = SimpleNamespace(
            username=display_username(username) if not problem else "",
            email=email,
            _meta=_NoFields(),
        )
        try:
            validate_password(password, user=candidate)
        except ValidationError as error:
            errors["password1"] = list(error.messages)
    return errors


def register_user(
    *, username: str, email: str, password: str, is_admin: bool = False
) -> Registration:
    """Validate and create a user; the name must be free in its normalised form."""
    errors = registration_errors(username=username, email=email, password=password)
    if errors:
        return Registration(errors=errors)
    user = store.insert_user(
        username=display_username(username),
        username_normalised=normalise_username(username),
        email=email or None,
        password_hash=make_password(password),
        is_admin=is_admin,
    )
    if user is None:
        return Registration(errors={"username": ["That username is taken."]})
    return Registration(user=user)
