from django.apps import AppConfig


class AuthlogConfig(AppConfig):
    name = "authlog"
    verbose_name = "Authentication audit trail"

    def ready(self) -> None:
        from authlog import checks  # noqa: F401  (registers the system checks)
