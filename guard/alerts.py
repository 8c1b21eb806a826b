"""Raise alerts: one open alert per rule and subject, with evidence, delivered after commit."""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import partial

from django.db import transaction

from authlog import store as authlog_store
from authlog import trail
from authlog.history import search_events
from authlog.store import EventFilter
from guard import chained, delivery, store
from guard.conf import guard_settings
from guard.rules import IP, USER, AlertDraft, Thresholds

SAMPLE_SIZE = 5
# Evidence reads at most this many recent failures: bounded, however big the attack.
_SAMPLE_ROWS = 200


def thresholds() -> Thresholds:
    """Return the alert thresholds from the settings."""
    return Thresholds(
        account_failures=int(guard_settings.ALERT_ACCOUNT_FAILURES),
        account_networks=int(guard_settings.ALERT_ACCOUNT_NETWORKS),
        network_usernames=int(guard_settings.ALERT_NETWORK_USERNAMES),
        failures_before_success=int(guard_settings.ALERT_FAILURES_BEFORE_SUCCESS),
    )


def _samples(draft: AlertDraft, *, ip_address: str | None, now: float) -> dict:
    """Return sample IPs (or names) of the recent failures behind an alert, from the trail."""
    window = int(draft.evidence.get("window_seconds") or 3600)
    since = datetime.fromtimestamp(now, UTC) - timedelta(seconds=window)
    if draft.subject_type == USER and draft.user_id is not None:
        event_filter = EventFilter(
            user_id=draft.user_id, event_type=authlog_store.LOGIN_FAILED, since=since
        )
        events = search_events(event_filter=event_filter, limit=_SAMPLE_ROWS)
        ips = list(dict.fromkeys(e.ip_address for e in events if e.ip_address))
        return {"sample_ips": ips[:SAMPLE_SIZE], "recorded_failures": len(events)}
    if draft.subject_type == IP and ip_address:
        event_filter = EventFilter(
            ip_address=ip_address, event_type=authlog_store.LOGIN_FAILED, since=since
        )
        events = search_events(event_filter=event_filter, limit=_SAMPLE_ROWS)
        # Names of no account are pseudonyms in the trail: no typed password reaches an alert.
        names = list(dict.fromkeys(e.username for e in events if e.username))
        return {
            "sample_ips": [ip_address],
            "sample_usernames": names[:SAMPLE_SIZE],
            "recorded_failures": len(events),
        }
    return {}


def raise_alerts(
    drafts: Sequence[AlertDraft], *, ip_address: str | None, now: float
) -> list[store.Alert]:
    """Create the drafts that have no open alert yet; deliver each new one once it is committed."""
    if not drafts:
        return []
    # uses guard_alerts_one_open: during an attack the rule stays true on every
    # attempt, and this one indexed read is all that it costs.
    already_open = store.open_alert_refs(candidates=[(d.rule, d.dedup_ref) for d in drafts])
    created = []
    for draft in drafts:
        if (draft.rule, draft.dedup_ref) in already_open:
            continue
        evidence = {**draft.evidence, **_samples(draft, ip_address=ip_address, now=now)}
        with transaction.atomic():
            # The head first, as every writer of the chain takes it (no lock-order deadlock).
            trail.hold_chain_head()
            alert = store.insert_alert(
                rule=str(draft.rule),
                severity=draft.severity,
                subject_type=draft.subject_type,
                subject_ref=draft.subject_ref,
                subject_label=draft.subject_label,
                dedup_ref=draft.dedup_ref,
                user_id=draft.user_id,
                evidence=evidence,
            )
            if alert is not None:
                # Its content is chained now; a change of its status is an admin action, chained too.
                chained.chain_alert(alert.id)
                created.append(alert)
                transaction.on_commit(
                    partial(delivery.deliver_alert, alert, notify_user=draft.notify_user)
                )
    return created
