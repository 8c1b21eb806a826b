"""The dashboard's alert pages: mounted at /dashboard/alerts/ by config/urls.py."""

from django.urls import path

from guard import views

urlpatterns = [
    path("", views.alerts_view, name="guard-alerts"),
    path("<int:alert_id>/acknowledge/", views.acknowledge_view, name="guard-acknowledge"),
    path("<int:alert_id>/unlock/", views.unlock_alert_view, name="guard-unlock-alert"),
    path("unlock/", views.unlock_view, name="guard-unlock"),
]
