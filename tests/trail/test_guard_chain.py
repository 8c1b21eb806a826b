"""Guard's alerts and admin actions are events of the chain: tampering with them is found and located."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from authlog import retention
from guard import alerts, operations, store
from guard.chained import evidence_public_form
from guard.rules import IP, USER, AlertDraft, Rule
from tests.conftest import rows
from tests.trail.conftest import located, seq_of, sql, verify


@pytest.fixture
def raise_alert(db):
    """Return a factory raising one alert through guard.alerts, the way a sign-in does."""

    def factory(*, label: str = "alice", user_id: int | None = None, subject_type: str = USER,
                evidence: dict | None = None, ref: str = "a" * 24) -> store.Alert:
        draft = AlertDraft(
            rule=Rule.ACCOUNT_BRUTE_FORCE if subject_type == USER else Rule.NETWORK_MANY_USERNAMES,
            severity="high", subject_type=subject_type, subject_ref=ref, subject_label=label,
            dedup_ref=ref, user_id=user_id,
            evidence=evidence if evidence is not None else {
                "failures": 12, "network": "198.51.100.23",
                "sample_ips": ["198.51.100.23", "2001:db8:1:2::9"],
            },
        )
        [alert] = alerts.raise_alerts([draft], ip_address=None, now=timezone.now().timestamp())
        return alert

    return factory


@pytest.fixture
def admin_actor(make_user) -> operations.Actor:
    root = make_user("root")
    return operations.Actor(user_id=root.id, label="root", ip_address="192.0.2.200")


def test_alerts_and_admin_actions_are_chained_and_verify(raise_alert, admin_actor, write_events):
    write_events(2)
    alert = raise_alert()
    [done] = operations.acknowledge(alert_ids=[alert.id], actor=admin_actor)
    assert done == alert.id
    [(action_id,)] = rows("SELECT id FROM guard_actions")
    assert seq_of("guard_alerts", alert.id) == 3 and seq_of("guard_actions", action_id) == 4
    assert store.alert_by_id(alert_id=alert.id).status == "acknowledged"
    assert verify().ok


def test_an_unlock_is_chained_too(admin_actor):
    operations.unlock(scope=operations.USER, ref="b" * 24, label="bob", actor=admin_actor)
    operations.clear_all_throttles(actor=admin_actor)
    assert rows("SELECT kind FROM trail_chain ORDER BY seq") == [("unlock",), ("clear_throttles",)]
    assert verify().ok


@pytest.mark.parametrize(
    "tampering",
    [
        "UPDATE guard_alerts SET evidence = '{\"failures\": 1}' WHERE id = %(alert)s",
        "UPDATE guard_alerts SET severity = 'low' WHERE id = %(alert)s",
        "UPDATE guard_alerts SET subject_label = 'mallory' WHERE id = %(alert)s",
        "UPDATE guard_alerts SET created_at = created_at - 1 WHERE id = %(alert)s",
        "UPDATE guard_actions SET actor = 'mallory' WHERE id = %(action)s",
        "UPDATE guard_actions SET detail = '{}' WHERE id = %(action)s",
        "UPDATE guard_actions SET ip_address = '203.0.113.66' WHERE id = %(action)s",
    ],
)
def test_an_edited_alert_or_action_is_located(raise_alert, admin_actor, tampering, db):
    alert = raise_alert()
    operations.acknowledge(alert_ids=[alert.id], actor=admin_actor)
    [(action,)] = rows("SELECT id FROM guard_actions")
    if "created_at - 1" in tampering:
        # Move the time by a second, in each database's own arithmetic.
        from django.db import connection
        tampering = (
            "UPDATE guard_alerts SET created_at = datetime(created_at, '-1 second') WHERE id = %(alert)s"
            if connection.vendor == "sqlite"
            else "UPDATE guard_alerts SET created_at = created_at - interval '1 second' WHERE id = %(alert)s"
        )
    sql(tampering.replace("%(alert)s", str(alert.id)).replace("%(action)s", str(action)))
    report = verify()
    expected = seq_of("guard_alerts", alert.id) if "guard_alerts" in tampering else seq_of("guard_actions", action)
    assert not report.ok
    assert [p.seq for p in report.problems] == [expected], located(report)


def test_a_deleted_alert_is_located(raise_alert):
    first = raise_alert(ref="a" * 24)
    raise_alert(ref="c" * 24)
    seq = seq_of("guard_alerts", first.id)
    sql("DELETE FROM guard_alerts WHERE id = %s", [first.id])
    report = verify()
    assert [p.seq for p in report.problems] == [seq]
    assert "deleted (alert of" in report.problems[0].what


def test_a_deleted_admin_action_is_located(raise_alert, admin_actor):
    alert = raise_alert()
    operations.acknowledge(alert_ids=[alert.id], actor=admin_actor)
    [(action,)] = rows("SELECT id FROM guard_actions")
    seq = seq_of("guard_actions", action)
    sql("DELETE FROM guard_actions WHERE id = %s", [action])
    report = verify()
    assert [p.seq for p in report.problems] == [seq]
    assert "deleted (acknowledge of" in report.problems[0].what


def test_a_forged_admin_action_is_reported_as_inserted(raise_alert, admin_actor):
    operations.unlock(scope=operations.USER, ref="b" * 24, label="bob", actor=admin_actor)
    sql("INSERT INTO guard_actions (actor_id, actor, action, target, detail, ip_address)"
        " VALUES (NULL, 'root', 'acknowledge', '#1', '{}', '192.0.2.200')")
    [problem] = verify().problems
    assert problem.seq is None
    assert "guard_actions id" in problem.what and "inserted, not in the chain (after seq 1)" in problem.what


def test_a_forged_alert_is_reported_as_inserted(raise_alert):
    raise_alert()
    store.insert_alert(
        rule="account_brute_force", severity="low", subject_type="user", subject_ref="d" * 24,
        subject_label="nobody", dedup_ref="d" * 24, user_id=None, evidence={},
    )
    [problem] = verify().problems
    assert "guard_alerts id" in problem.what and "inserted, not in the chain" in problem.what


def test_an_alert_is_chained_once_even_when_its_rule_fires_again(raise_alert):
    raise_alert()
    draft_again = alerts.raise_alerts(
        [AlertDraft(rule=Rule.ACCOUNT_BRUTE_FORCE, severity="high", subject_type=USER,
                    subject_ref="a" * 24, subject_label="alice", dedup_ref="a" * 24, user_id=None,
                    evidence={})],
        ip_address=None, now=timezone.now().timestamp(),
    )
    assert draft_again == []
    assert rows("SELECT COUNT(*) FROM trail_chain WHERE event_table = 'guard_alerts'") == [(1,)]


@pytest.mark.parametrize(
    ("evidence", "public"),
    [
        ({"sample_ips": ["198.51.100.23", "198.51.100.99", "2001:db8:1:2::9"]},
         {"sample_ips": ["198.51.100.0", "2001:db8:1::"]}),
        ({"network": "2001:db8:1:2::/64"}, {"network": "2001:db8:1::/48"}),
        ({"network": "198.51.100.23", "new_network": "198.51.100.0/24"},
         {"network": "198.51.100.0", "new_network": "198.51.100.0/24"}),
        ({"new": ["network 2001:db8:1:2::/64", "device Firefox on Linux"]},
         {"new": ["network 2001:db8:1::/48", "device Firefox on Linux"]}),
        ({"failures": 3, "network": "unknown"}, {"failures": 3, "network": "unknown"}),
    ],
)
def test_the_public_form_of_evidence_cuts_every_address_and_only_them(evidence, public):
    cut = evidence_public_form(json.dumps(evidence, sort_keys=True))
    assert json.loads(cut) == public
    assert evidence_public_form(cut) == cut  # idempotent: anonymised evidence verifies as it is


def test_anonymising_cuts_the_addresses_of_alerts_and_actions_and_verify_stays_green(
    raise_alert, admin_actor, settings
):
    settings.AUTHLOG = {"ANONYMISE_IPS_AFTER_DAYS": 30}
    alert = raise_alert(subject_type=IP, label="198.51.100.23", ref="e" * 24)
    operations.acknowledge(alert_ids=[alert.id], actor=admin_actor)
    later = timezone.now() + timedelta(days=31)
    report = retention.anonymise_addresses(for_real=True, now=lambda: later, pause=0)
    assert report.addresses == 2
    [(evidence,)] = rows("SELECT evidence FROM guard_alerts")
    assert json.loads(evidence)["sample_ips"] == ["198.51.100.0", "2001:db8:1::"]
    assert json.loads(evidence)["network"] == "198.51.100.0"
    assert rows("SELECT ip_address FROM guard_actions") == [("192.0.2.0",)]
    assert verify().ok
    # Once anonymised, the host part cannot be put back unseen.
    sql("UPDATE guard_actions SET ip_address = '192.0.2.200'")
    assert not verify().ok


def test_alerts_and_actions_are_pruned_after_their_retention_and_verify_stays_green(
    raise_alert, admin_actor, write_events
):
    alert = raise_alert()
    operations.acknowledge(alert_ids=[alert.id], actor=admin_actor)
    write_events(1)
    in_100_days = timezone.now() + timedelta(days=100)
    report = retention.prune_trail(for_real=True, now=lambda: in_100_days, pause=0)
    assert {c.kind: c.events for c in report.counts}["alert"] == 1
    assert {c.kind: c.events for c in report.counts}["admin_action"] == 0
    assert rows("SELECT COUNT(*) FROM guard_alerts") == [(0,)]
    assert rows("SELECT COUNT(*) FROM guard_actions") == [(1,)]
    assert verify().ok


def test_a_deleted_user_is_pseudonymised_in_alerts_and_actions(raise_alert, make_user, write_events):
    alice = make_user("alice")
    write_events(2)
    raise_alert(user_id=alice.id)
    actor = operations.Actor(user_id=alice.id, label="alice", ip_address="192.0.2.7")
    operations.unlock(scope=operations.USER, ref="b" * 24, label="bob", actor=actor)
    deletion = retention.delete_user(user_id=alice.id, erase=False, for_real=True)
    assert rows("SELECT subject_label FROM guard_alerts") == [(deletion.pseudonym,)]
    assert rows("SELECT actor FROM guard_actions") == [(deletion.pseudonym,)]
    [(detail,)] = rows("SELECT detail FROM trail_operations")
    assert json.loads(detail)["renamed"] == {"guard_alerts": 1, "guard_actions": 1}
    assert verify().ok
    # Any other name is an edit.
    sql("UPDATE guard_alerts SET subject_label = 'mallory'")
    assert not verify().ok


def test_erasing_a_user_erases_their_alerts_and_actions(raise_alert, make_user, write_events):
    alice = make_user("alice")
    write_events(2)
    raise_alert(user_id=alice.id)
    actor = operations.Actor(user_id=alice.id, label="alice", ip_address="192.0.2.7")
    operations.unlock(scope=operations.USER, ref="b" * 24, label="bob", actor=actor)
    retention.delete_user(user_id=alice.id, erase=True, for_real=True)
    assert rows("SELECT COUNT(*) FROM guard_alerts") == [(0,)]
    assert rows("SELECT COUNT(*) FROM guard_actions") == [(0,)]
    assert verify().ok
