"""Codes in words: the pages say "Blocked: too many attempts", the exports keep `throttled`."""

import io
import json
from html.parser import HTMLParser
from http import HTTPStatus

from django.core.management import call_command

from authlog import events, store
from dashboard.labels import EVENT_LABELS, FAILURE_REASON_LABELS, event_label, failure_reason_label


class _TableText(HTMLParser):
    """The text a person reads in a page's tables: no tags, no attributes (CSS classes)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._tables = 0

    def handle_starttag(self, tag, attrs):
        self._tables += tag == "table"

    def handle_endtag(self, tag):
        self._tables -= tag == "table"

    def handle_data(self, data):
        if self._tables:
            self.parts.append(data)


def table_text(response) -> str:
    # Tables only: the trail-status card names each retention kind's setting key (`login`).
    parser = _TableText()
    parser.feed(response.content.decode())
    return " ".join(parser.parts)


RAW_CODES = (*store.EVENT_TYPES, *events.FAILURE_REASONS)


def test_every_event_type_and_failure_reason_has_a_label():
    assert set(EVENT_LABELS) == set(store.EVENT_TYPES)
    assert set(FAILURE_REASON_LABELS) == set(events.FAILURE_REASONS)
    assert not [label for label in (*EVENT_LABELS.values(), *FAILURE_REASON_LABELS.values()) if "_" in label]


def test_a_code_without_a_label_still_reads_as_words():
    assert event_label("alert_raised") == "Alert raised"
    assert failure_reason_label("second_factor_missing") == "Second factor missing"
    assert failure_reason_label(None) == ""


def test_pages_show_labels_and_exports_keep_the_codes(admin_client, make_user, sign_in, failure):
    alice = make_user("alice")
    alice_client = sign_in(alice, ip="203.0.113.5")
    for reason in events.FAILURE_REASONS:
        if reason != events.UNKNOWN_USER:
            failure("alice", user=alice, ip="192.0.2.66", reason=reason)
    failure("nobody", ip="192.0.2.66")

    pages = {
        "/dashboard/": admin_client,
        "/dashboard/?type=login_failed": admin_client,
        f"/dashboard/users/{alice.id}/": admin_client,
        "/dashboard/ips/192.0.2.66/": admin_client,
        "/account/activity/": alice_client,
    }
    for url, client in pages.items():
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK
        text = table_text(response)
        assert not [code for code in RAW_CODES if code in text], url
        assert FAILURE_REASON_LABELS[events.THROTTLED] in text, url
        assert EVENT_LABELS[events.LOGIN_FAILED] in text, url

    # The user's own page names every reason a failure on their account can have.
    text = table_text(alice_client.get("/account/activity/"))
    for reason in events.FAILURE_REASONS:
        if reason != events.UNKNOWN_USER:
            assert FAILURE_REASON_LABELS[reason] in text

    exported = json.loads(b"".join(admin_client.get("/dashboard/events.json").streaming_content))
    out = io.StringIO()
    call_command("authlog", "--format", "json", "--limit", "100", stdout=out)
    assert exported == json.loads(out.getvalue())
    assert {record["reason"] for record in exported} == set(events.FAILURE_REASONS) | {None}
    assert {record["event_type"] for record in exported} == {events.LOGIN, events.LOGIN_FAILED}
    csv_text = b"".join(admin_client.get("/dashboard/events.csv").streaming_content).decode()
    assert '"throttled"' in csv_text and "Blocked" not in csv_text
