"""Configuration from the environment, and the checks that refuse dangerous values."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from accounts.conf import accounts_settings
from authlog.checks import check_trusted_proxies

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    full_env.update(env)
    full_env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_production_mode_refuses_to_start_without_a_secret_key():
    result = run_python("import django; django.setup()", DJANGO_DEBUG="0", DJANGO_SECRET_KEY="")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_a_malformed_boolean_is_an_error_not_a_guess():
    result = run_python("import django; django.setup()", DJANGO_DEBUG="maybe")
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_database_url_selects_postgresql():
    code = (
        "from django.conf import settings; import django; django.setup();"
        "d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'], d['HOST'], d['PORT'])"
    )
    result = run_python(code, DATABASE_URL="postgres://app@db.internal:5433/trail")
    assert result.stdout.split() == ["django.db.backends.postgresql", "trail", "db.internal", "5433"]


def test_default_database_is_sqlite_in_wal_mode_at_the_repo_root():
    code = (
        "from django.conf import settings; import django; django.setup();"
        "d = settings.DATABASES['default']; print(d['ENGINE'], d['NAME'], d['OPTIONS']['transaction_mode'],"
        " 'journal_mode=WAL' in d['OPTIONS']['init_command'])"
    )
    result = run_python(code)
    assert result.stdout.split() == [
        "django.db.backends.sqlite3", str(ROOT / "db.sqlite3"), "IMMEDIATE", "True"
    ]


def test_redis_url_selects_djangos_redis_cache_and_it_works(redis_url):
    code = (
        "import django; django.setup(); from django.core.cache import cache;"
        "from django.conf import settings;"
        "cache.set('probe', 41); print(settings.CACHES['default']['BACKEND'], cache.incr('probe'))"
    )
    result = run_python(code, REDIS_URL=redis_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.cache.backends.redis.RedisCache", "42"]


def test_allowed_hosts_come_from_the_environment():
    code = "import django; django.setup(); from django.conf import settings; print(settings.ALLOWED_HOSTS)"
    result = run_python(code, DJANGO_ALLOWED_HOSTS="auth.example.com, .example.org")
    assert result.stdout.strip() == "['auth.example.com', '.example.org']"


@pytest.mark.parametrize(
    ("value", "check_id"),
    [("10.0.0.0/8, 192.168.1.1", None), ("not-an-ip", "authlog.E001"), ("0.0.0.0/0", "authlog.W001")],
)
def test_trusted_proxies_check(value, check_id, settings):
    settings.AUTHLOG = {"TRUSTED_PROXIES": value}
    found = [message.id for message in check_trusted_proxies(None)]
    assert found == ([check_id] if check_id else [])


def test_unknown_app_setting_names_are_refused(settings):
    settings.ACCOUNTS = {"PASSWORD_MAX_LENGHT": 10}
    with pytest.raises(ImproperlyConfigured, match="PASSWORD_MAX_LENGHT"):
        _ = accounts_settings.PASSWORD_MAX_LENGTH


def test_app_settings_follow_override_settings(settings):
    settings.ACCOUNTS = {"PASSWORD_MAX_LENGTH": 10}
    assert accounts_settings.PASSWORD_MAX_LENGTH == 10
