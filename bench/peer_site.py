"""URLs and template context of the peers (plain contrib.auth, and django-axes on top of it)."""

from django.contrib.auth import views as auth_views
from django.urls import path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    # POST-only since Django 5.0; redirects to LOGOUT_REDIRECT_URL like ours.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]


def signed_in_user(request) -> dict:
    """The project's base.html reads `current_user`; give it the same lazy callable ours does."""

    def current_user():
        user = request.user
        return user if user.is_authenticated else None

    return {"current_user": current_user}
