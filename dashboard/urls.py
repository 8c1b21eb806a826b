from django.urls import path

from dashboard import views

urlpatterns = [
    path("dashboard/", views.timeline_view, name="dashboard"),
    path("dashboard/events.csv", views.export_csv_view, name="dashboard-export-csv"),
    path("dashboard/events.json", views.export_json_view, name="dashboard-export-json"),
    path("dashboard/charts/", views.charts_view, name="dashboard-charts"),
    path("dashboard/sessions/", views.sessions_view, name="dashboard-sessions"),
    path("dashboard/users/<int:user_id>/", views.user_view, name="dashboard-user"),
    path(
        "dashboard/users/<int:user_id>/sessions/end/",
        views.end_user_sessions_view,
        name="dashboard-end-user-sessions",
    ),
    path("dashboard/ips/<str:ip>/", views.address_view, name="dashboard-ip"),
    path("account/activity/", views.activity_view, name="activity"),
    path("account/activity/sessions/end/", views.end_own_sessions_view, name="activity-end-sessions"),
]
