"""Per-app settings with documented defaults, read lazily so override_settings works."""

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Default:
    """One setting's default value and the reason it is that value."""

    value: Any
    why: str


class AppSettings:
    """Read `settings.<namespace>[NAME]`, falling back to the declared default.

    Unknown names in the project's dict are an error, so a typo cannot silently
    leave a security setting at its default.
    """

    def __init__(self, namespace: str, defaults: dict[str, Default]) -> None:
        self._namespace = namespace
        self._defaults = defaults

    def _overrides(self) -> dict[str, Any]:
        overrides = getattr(settings, self._namespace, {}) or {}
        unknown = sorted(set(overrides) - set(self._defaults))
        if unknown:
            raise ImproperlyConfigured(
                f"settings.{self._namespace} has unknown names {unknown}; "
                f"known names are {sorted(self._defaults)}."
            )
        return overrides

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name not in self._defaults:
            raise AttributeError(f"{self._namespace} has no setting {name!r}")
        return self._overrides().get(name, self._defaults[name].value)
