"""Template filters of the dashboard: labels and durations as people read them."""

from django import template

from dashboard import charts, labels

register = template.Library()


@register.filter
def event_label(event_type: str) -> str:
    """Return "Signed in", "Signed out" or "Failed sign-in" for an event type."""
    return labels.event_label(event_type)


@register.filter
def duration(seconds: float | None) -> str:
    """Return a duration as "45 s", "12 min", "3 h 5 min" or "2 days 4 h"."""
    if seconds is None:
        return "—"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, _ = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    unit = "day" if days == 1 else "days"
    return f"{days} {unit} {hours} h" if hours else f"{days} {unit}"


@register.filter
def svg_number(value: float) -> str:
    """Return a coordinate for an SVG attribute, never localised ("12.5", not "12,5")."""
    return charts.svg_number(value)


@register.filter
def reason_label(reason: str | None) -> str:
    """Return why a sign-in failed, in words."""
    return labels.failure_reason_label(reason)
