"""Template context for every page."""

from django.http import HttpRequest

from accounts.sessions import get_authenticated_user


def signed_in_user(request: HttpRequest) -> dict:
    """Expose the signed-in user (or None) as `current_user`, read lazily."""
    return {"current_user": lambda: get_authenticated_user(request)}
