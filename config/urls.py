"""Top-level routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("dashboard.urls")),
    path("dashboard/alerts/", include("guard.urls")),
]

handler400 = "accounts.views.bad_request"
handler403 = "accounts.views.permission_denied"
handler404 = "accounts.views.page_not_found"
handler500 = "accounts.views.server_error"
