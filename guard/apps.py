from django.apps import AppConfig


class GuardConfig(AppConfig):
    name = "guard"
    verbose_name = "Sign-in throttling and security alerts"

    def ready(self) -> None:
        from guard import chained, checks, retention  # noqa: F401  (checks registers the system checks)

        chained.register()
        retention.connect()
