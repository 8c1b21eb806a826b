"""Words for the trail's codes, as the dashboard and the activity page show them.

The trail, the `authlog` command and the exports keep the codes themselves
(`login_failed`, `throttled`): they are what scripts and spreadsheets filter
on. Every code that authlog/events.py can write has a label here; a test
fails when a new one is added without it.
"""

from authlog import events

EVENT_LABELS = {
    events.LOGIN: "Signed in",
    events.LOGOUT: "Signed out",
    events.LOGIN_FAILED: "Failed sign-in",
}

FAILURE_REASON_LABELS = {
    events.UNKNOWN_USER: "Unknown name",
    events.BAD_PASSWORD: "Wrong password",
    events.INACTIVE_USER: "Inactive account",
    events.UNUSABLE_PASSWORD: "No password set",
    events.INPUT_TOO_LONG: "Input too long",
    events.THROTTLED: "Blocked: too many attempts",
}


def _as_words(code: str) -> str:
    # A code written by a newer version (or by hand) still reads as words, never as "snake_case".
    return code.replace("_", " ").strip().capitalize()


def event_label(event_type: str) -> str:
    """Return "Signed in", "Signed out" or "Failed sign-in" for an event type."""
    return EVENT_LABELS.get(event_type) or _as_words(event_type)


def failure_reason_label(reason: str | None) -> str:
    """Return why a sign-in failed, in words ("" when no reason was recorded)."""
    if not reason:
        return ""
    return FAILURE_REASON_LABELS.get(reason) or _as_words(reason)
