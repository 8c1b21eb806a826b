"""System checks: a configuration that would leave sign-in unthrottled says so, with the threat and a hint."""

import pytest

from guard.checks import check_guard_settings


def ids(settings, **guard) -> list[str]:
    settings.GUARD = {**getattr(settings, "GUARD", {}), **guard}
    return [message.id for message in check_guard_settings(None)]


def test_the_defaults_pass(settings):
    assert ids(settings) == []


@pytest.mark.parametrize(
    ("guard", "expected"),
    [
        ({"PAIR_RATE": "five a minute"}, ["guard.E001"]),
        ({"MAX_LOCKOUT": "forever"}, ["guard.E001"]),
        ({"COUNTERS": "redis"}, ["guard.E002"]),
        ({"COUNTERS": "memory"}, ["guard.E002"]),
        ({"ENABLED": False}, ["guard.W001"]),
        ({"ACCOUNT_RATE": "500/90d"}, ["guard.W002"]),
        ({"WEBHOOK_URL": "ftp://example.org/x"}, ["guard.E003"]),
        ({"WEBHOOK_URL": "http://alerts.example.org/x"}, ["guard.W003"]),
        ({"WEBHOOK_URL": "http://127.0.0.1:9000/x"}, []),
        ({"WEBHOOK_URL": "https://alerts.example.org/x"}, []),
        ({"DELIVERY": "celery"}, ["guard.E004"]),
    ],
)
def test_dangerous_settings_are_reported(guard, expected, settings):
    assert ids(settings, **guard) == expected


def test_an_unknown_setting_name_is_an_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    from guard.conf import guard_settings

    settings.GUARD = {"PAIR_LIMIT": "5/15m"}
    with pytest.raises(ImproperlyConfigured, match="unknown names"):
        _ = guard_settings.PAIR_RATE
