"""Retention and privacy: prune, anonymise and delete users, and the chain still verifies."""

import io
import json
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from accounts import store as accounts_store
from authlog import chain, events, retention, trail
from authlog.checks import check_chain_key, check_retention
from config.dbtime import to_db_time
from tests.conftest import DEFAULT_PASSWORD, DESKTOP_UA, at_once, rows
from tests.trail.conftest import located, sql, verify


def prune(**kwargs):
    return retention.prune_trail(for_real=True, pause=0, **kwargs)


def anonymise(**kwargs):
    return retention.anonymise_addresses(for_real=True, pause=0, **kwargs)


def kinds_left() -> list[str]:
    return [kind for (kind,) in rows(
        "SELECT event_type FROM login_logs UNION ALL SELECT 'login_failed' FROM failed_logins"
    )]


@pytest.fixture
def aged(old_event):
    """A trail from 400 days ago to now: which of it expires is the policy's business."""
    return {
        "old_login": old_event(days_ago=400),
        "old_logout": old_event(days_ago=399, kind="logout"),
        "old_failure": old_event(days_ago=100, kind="login_failed"),
        "recent_failure": old_event(days_ago=10, kind="login_failed"),
        "recent_login": old_event(days_ago=1),
    }


# --- prune -----------------------------------------------------------------------


def test_a_dry_run_counts_and_changes_nothing(aged):
    before = rows("SELECT COUNT(*) FROM trail_chain")
    report = retention.prune_trail(for_real=False)
    assert {c.kind: c.events for c in report.counts} == {
        "login": 1, "logout": 1, "login_failed": 1, "trail": 0, "alert": 0, "admin_action": 0
    }
    assert sorted(kinds_left()) == ["login", "login", "login_failed", "login_failed", "logout"]
    assert rows("SELECT COUNT(*) FROM trail_chain") == before
    assert rows("SELECT COUNT(*) FROM trail_operations") == [(0,)]
    assert rows("SELECT COUNT(*) FROM trail_checkpoints") == [(0,)]


def test_prune_deletes_each_kind_after_its_own_retention_and_verify_stays_green(aged):
    report = prune()
    assert {c.kind: c.events for c in report.counts} == {
        "login": 1, "logout": 1, "login_failed": 1, "trail": 0, "alert": 0, "admin_action": 0
    }
    assert sorted(kinds_left()) == ["login", "login_failed"]
    result = verify()
    assert (result.ok, located(result)) == (True, [])


def test_prune_writes_a_checkpoint_first_and_records_itself(aged):
    report = prune()
    [(kind, seq)] = rows("SELECT kind, seq FROM trail_checkpoints WHERE kind = 'checkpoint'")
    assert (kind, seq, report.checkpoint.seq) == ("checkpoint", 5, 5)
    [(action, detail)] = rows("SELECT action, detail FROM trail_operations")
    assert action == "prune"
    assert json.loads(detail)["through_seq"] == 5
    assert set(json.loads(detail)["before"]) == {"login", "logout", "login_failed", "trail", "alert", "admin_action"}
    assert report.operation_seq == 6


def test_the_entries_before_the_oldest_surviving_event_are_dropped_behind_a_signed_anchor(aged):
    report = prune()
    # seqs 1-3 (the expired events) went; seq 4 (the recent failure) is the oldest survivor.
    assert report.anchor is not None and report.anchor.seq == 3
    assert report.entries_dropped == 3
    assert rows("SELECT MIN(seq) FROM trail_chain") == [(4,)]
    result = verify()
    assert result.ok and result.start == "the prune anchor at seq 3"
    assert result.checked == 3  # seq 4, 5 and the prune's own record


def test_a_pruned_event_between_survivors_keeps_its_entry_without_its_digests(old_event):
    first = old_event(days_ago=300)
    failure = old_event(days_ago=100, kind="login_failed")
    old_event(days_ago=200)
    prune()
    assert rows("SELECT MIN(seq) FROM trail_chain") == [(1,)]
    assert rows("SELECT ip_salt, ip_digest, name_digest FROM trail_chain WHERE event_table = 'failed_logins'"
                " AND event_id = %s", [failure]) == [(None, None, None)]
    assert verify().ok
    # The prune excuses what it deleted, nothing else.
    sql("DELETE FROM login_logs WHERE id = %s", [first])
    assert [p.seq for p in verify().problems] == [1]


def test_an_edited_prune_record_excuses_nothing(old_event):
    old_event(days_ago=300)
    old_event(days_ago=100, kind="login_failed")
    old_event(days_ago=200)
    report = prune()
    [(operation_id, detail)] = rows("SELECT id, detail FROM trail_operations")
    widened = json.loads(detail)
    widened["before"]["login"] = chain.canonical_time(timezone.now())
    sql("UPDATE trail_operations SET detail = %s", [json.dumps(widened)])
    problems = located(verify())
    assert problems == [
        f"seq {report.operation_seq}: trail_operations id {operation_id}: edited: the row is not"
        " what was chained",
        f"seq {report.operation_seq}: 1 entries were excused by this operation, which does not verify",
    ]


def test_prune_works_in_batches_and_pauses_between_them(old_event):
    for days in range(100, 107):
        old_event(days_ago=days, kind="login_failed")
    pauses = []
    report = retention.prune_trail(for_real=True, batch_size=2, pause=0.01, sleep=pauses.append)
    assert report.events == 7
    # 4 batches of failures (2, 2, 2, 1), then 4 of chain entries (the 7 before the prune's record).
    assert pauses == [0.01] * 8
    assert verify().ok


def test_pruning_again_keeps_the_chain_verifiable(aged, old_event):
    prune()
    old_event(days_ago=95, kind="login_failed")
    prune()
    prune()
    assert sorted(kinds_left()) == ["login", "login_failed"]
    assert verify().ok


def test_a_kind_kept_forever_is_never_pruned(aged, settings):
    settings.AUTHLOG = {"RETENTION_DAYS": {"login": None, "trail": None}}
    report = prune()
    assert {c.kind for c in report.counts} == {"logout", "login_failed", "alert", "admin_action"}
    assert sorted(kinds_left()) == ["login", "login", "login_failed"]
    assert verify().ok


def test_the_prune_command_is_a_dry_run_unless_for_real(aged):
    out = io.StringIO()
    call_command("authlog", "prune", stdout=out)
    assert "login_failed: would delete 1 events of failed_logins older than" in out.getvalue()
    assert out.getvalue().rstrip().endswith("run again with --for-real to delete")
    assert len(kinds_left()) == 5
    out = io.StringIO()
    call_command("authlog", "prune", "--for-real", stdout=out)
    assert "pruned 3 events (recorded at seq 6); 3 chain entries dropped" in out.getvalue()
    assert len(kinds_left()) == 2


@pytest.mark.django_db(transaction=True)
def test_pruning_a_large_table_while_sign_ins_run_loses_no_new_event(make_user):
    """Batches with pauses: sign-ins keep being written, and every one of them survives."""
    alice = make_user("alice")
    users = [make_user(f"user{i}") for i in range(4)]
    old = to_db_time(timezone.now() - timedelta(days=120))
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO failed_logins (attempted_username, user_id, reason, ip_address, timestamp)"
            " VALUES ('alice', %s, 'bad_password', '198.51.100.9', %s)",
            [[alice.id, old]] * 600,
        )
    trail.backfill_chain()
    cycles = 6

    def sign_in_and_out(index: int) -> list[str]:
        from django.test import Client

        client = Client(REMOTE_ADDR=f"203.0.113.{index + 1}", HTTP_USER_AGENT=DESKTOP_UA)
        errors = []
        for _ in range(cycles):
            response = client.post("/login/", {"username": f"user{index}", "password": DEFAULT_PASSWORD})
            if response.status_code != HTTPStatus.FOUND:
                errors.append(f"login {response.status_code}")
            if client.post("/logout/").status_code != HTTPStatus.FOUND:
                errors.append("logout")
        return errors

    def pruner_or_user(index: int) -> list[str]:
        if index == 0:
            retention.prune_trail(for_real=True, batch_size=25, pause=0.002)
            return []
        return sign_in_and_out(index - 1)

    assert at_once(1 + len(users), pruner_or_user) == [[]] * (1 + len(users))
    assert rows("SELECT COUNT(*) FROM failed_logins") == [(0,)]
    assert rows("SELECT COUNT(*) FROM login_logs") == [(2 * cycles * len(users),)]
    report = verify()
    assert (report.ok, located(report)) == (True, [])


# --- anonymise -------------------------------------------------------------------


def test_old_addresses_are_cut_to_their_24_or_48_and_verify_stays_green(old_event):
    v4 = old_event(days_ago=40, ip="203.0.113.77")
    v6 = old_event(days_ago=40, kind="login_failed", ip="2001:db8:1234:5678::9")
    bogus = old_event(days_ago=40, ip="unknown")
    recent = old_event(days_ago=5, ip="198.51.100.200")
    assert retention.anonymise_addresses(for_real=False).addresses == 3
    report = anonymise()
    assert report.addresses == 3
    assert rows("SELECT id, ip_address FROM login_logs ORDER BY id") == [
        (v4, "203.0.113.0"), (bogus, chain.NOT_AN_ADDRESS), (recent, "198.51.100.200")
    ]
    assert rows("SELECT id, ip_address FROM failed_logins") == [(v6, "2001:db8:1234::")]
    assert rows("SELECT COUNT(*) FROM trail_chain WHERE ip_salt IS NOT NULL") == [(1,)]
    assert verify().ok


def test_an_anonymised_prefix_is_still_protected(old_event):
    event_id = old_event(days_ago=40, ip="203.0.113.77")
    anonymise()
    sql("UPDATE login_logs SET ip_address = '203.0.114.0' WHERE id = %s", [event_id])
    assert [p.what.split(": ", 1)[1] for p in verify().problems] == [
        "edited: the row is not what was chained"
    ]


def test_anonymising_again_and_pruning_keep_the_chain_verifiable(old_event):
    old_event(days_ago=400, ip="203.0.113.1")
    old_event(days_ago=40, ip="203.0.113.2")
    anonymise()
    old_event(days_ago=35, ip="203.0.113.3")
    anonymise()
    prune()
    assert verify().ok


def test_addresses_kept_in_full_when_anonymisation_is_off(old_event, settings):
    settings.AUTHLOG = {"ANONYMISE_IPS_AFTER_DAYS": None}
    old_event(days_ago=400, ip="203.0.113.1")
    assert anonymise().addresses == 0
    assert rows("SELECT ip_address FROM login_logs") == [("203.0.113.1",)]


def test_the_anonymise_command_is_a_dry_run_unless_for_real(old_event):
    old_event(days_ago=40, ip="203.0.113.77")
    out = io.StringIO()
    call_command("authlog", "anonymise", stdout=out)
    assert out.getvalue().startswith("dry run: would anonymise 1 addresses older than")
    assert rows("SELECT ip_address FROM login_logs") == [("203.0.113.77",)]
    out = io.StringIO()
    call_command("authlog", "anonymise", "--for-real", stdout=out)
    assert "anonymised 1 addresses older than" in out.getvalue()
    assert rows("SELECT ip_address FROM login_logs") == [("203.0.113.0",)]


# --- deleting a user -------------------------------------------------------------


@pytest.fixture
def alice_and_bob(write_events):
    write_events(3, username="alice")
    write_events(3, username="bob")
    return (
        accounts_store.user_by_normalised_username(username_normalised="alice"),
        accounts_store.user_by_normalised_username(username_normalised="bob"),
    )


def test_a_deleted_user_keeps_their_events_under_a_pseudonym(alice_and_bob, client_from_ip):
    alice, bob = alice_and_bob
    result = retention.delete_user(user_id=alice.id, erase=False, for_real=True)
    pseudonym = trail.deleted_user_pseudonym(alice.id)
    assert (result.pseudonym, result.events) == (pseudonym, 3)
    tombstone = accounts_store.user_by_id(user_id=alice.id)
    assert (tombstone.username, tombstone.email, tombstone.is_active) == (pseudonym, None, False)
    assert rows("SELECT attempted_username FROM failed_logins WHERE user_id = %s", [alice.id]) == [(pseudonym,)]
    assert rows("SELECT COUNT(*) FROM login_logs WHERE user_id = %s", [alice.id]) == [(2,)]
    assert rows("SELECT action, subject FROM trail_operations") == [("pseudonymise_user", pseudonym)]
    assert verify().ok
    response = client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.OK  # the sign-in form again: no such account


def test_an_erased_user_leaves_no_event_and_the_erasure_is_recorded(alice_and_bob):
    alice, bob = alice_and_bob
    result = retention.delete_user(user_id=alice.id, erase=True, for_real=True)
    assert result.events == 3
    assert rows("SELECT COUNT(*) FROM login_logs WHERE user_id = %s", [alice.id]) == [(0,)]
    assert rows("SELECT COUNT(*) FROM failed_logins WHERE user_id = %s", [alice.id]) == [(0,)]
    [(action, subject, detail)] = rows("SELECT action, subject, detail FROM trail_operations")
    assert (action, subject, json.loads(detail)["seqs"]) == (
        "erase_user", trail.deleted_user_pseudonym(alice.id), [1, 2, 3]
    )
    assert "alice" not in detail
    assert verify().ok
    # The erasure excuses alice's events, and nobody else's.
    sql("DELETE FROM login_logs WHERE user_id = %s AND event_type = 'logout'", [bob.id])
    assert [p.seq for p in verify().problems] == [6]


def test_a_pseudonymised_user_can_be_erased_later(alice_and_bob):
    alice, _bob = alice_and_bob
    retention.delete_user(user_id=alice.id, erase=False, for_real=True)
    retention.delete_user(user_id=alice.id, erase=True, for_real=True)
    assert verify().ok


def test_renaming_a_failure_to_a_pseudonym_without_a_recorded_deletion_is_found(alice_and_bob):
    alice, _bob = alice_and_bob
    sql("UPDATE failed_logins SET attempted_username = %s WHERE user_id = %s",
        [trail.deleted_user_pseudonym(alice.id), alice.id])
    assert [p.what.split(": ", 1)[1] for p in verify().problems] == [
        "edited: attempted_username is not the name that was chained"
    ]


def test_the_delete_user_command(alice_and_bob):
    alice, _bob = alice_and_bob
    out = io.StringIO()
    call_command("authlog", "delete-user", "--user", "ALICE", stdout=out)
    assert out.getvalue().startswith(f"dry run: user {alice.id} has 3 events that would be kept under")
    assert accounts_store.user_by_id(user_id=alice.id).username == "alice"
    out = io.StringIO()
    call_command("authlog", "delete-user", "--user-id", str(alice.id), "--erase", "--for-real", stdout=out)
    assert out.getvalue().startswith(f"user {alice.id} deleted; 3 events erased (recorded at seq 7)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("delete-user",), "give exactly one of --user NAME or --user-id ID"),
        (("delete-user", "--user", "a", "--user-id", "1"), "give exactly one of"),
        (("delete-user", "--user-id", "1 OR 1=1"), "user-id: expected a whole number"),
        (("delete-user", "--user", "nobody"), "no such user"),
        (("delete-user", "--user", "x" * 300), "user: at most 256 characters"),
        (("delete-user", "--user", "al\x00ice"), "user: not a username"),
        (("checkpoint", "--every", "0"), "every: expected a number of seconds above 0"),
        (("checkpoint", "--every", "1e9"), "every: expected a number of seconds above 0"),
        (("checkpoint", "--count", "2"), "count: expected a whole number above 0, with --every"),
        (("--type", "login", "prune"), "listing options cannot be combined with prune"),
        (("--format", "json", "verify"), "listing options cannot be combined with verify"),
    ],
)
def test_bad_arguments_of_the_actions_are_one_line_command_errors(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("authlog", *args, stdout=io.StringIO())


# --- configuration checks ------------------------------------------------------------


@pytest.mark.parametrize(
    ("authlog", "debug", "ids"),
    [
        ({}, True, []),
        ({}, False, ["authlog.W002"]),
        ({"CHAIN_KEY": "k" * 40}, False, []),
        ({"CHAIN_KEY": "short"}, True, ["authlog.E002"]),
        ({"RETENTION_DAYS": {"login_failed": 30}}, True, []),
        ({"RETENTION_DAYS": {"logins": 30}}, True, ["authlog.E003"]),
        ({"RETENTION_DAYS": {"login": 0}}, True, ["authlog.E003"]),
        ({"RETENTION_DAYS": {"login": "365"}}, True, ["authlog.E003"]),
        ({"RETENTION_DAYS": []}, True, ["authlog.E003"]),
        ({"RETENTION_DAYS": {"trail": 90}}, True, ["authlog.E004"]),
        ({"RETENTION_DAYS": {"login": None}}, True, ["authlog.E004"]),
        ({"RETENTION_DAYS": {"login": None, "trail": None}}, True, []),
        ({"ANONYMISE_IPS_AFTER_DAYS": -1}, True, ["authlog.E005"]),
        ({"ANONYMISE_IPS_AFTER_DAYS": None}, True, []),
    ],
)
def test_dangerous_trail_settings_are_reported(settings, authlog, debug, ids):
    settings.AUTHLOG = authlog
    settings.DEBUG = debug
    assert [m.id for m in check_chain_key(None) + check_retention(None)] == ids


def test_events_are_chained_under_the_configured_key(write_events, settings):
    settings.AUTHLOG = {"CHAIN_KEY": "k" * 40}
    write_events(2)
    assert verify().ok
    settings.AUTHLOG = {"CHAIN_KEY": "another key, at least thirty-two characters"}
    # Each entry names its key: without it, the range it hashed is reported as not checkable.
    [problem] = verify().problems
    assert problem.seq == 1 and "seq 1-2: 2 entries hashed with chain key id" in problem.what
    assert trail.key_source() == "AUTHLOG_CHAIN_KEY"


def test_failures_keep_their_reason_after_a_user_is_deleted(write_events):
    [_login, failure, _logout] = write_events(3)
    retention.delete_user(user_id=failure.user_id, erase=False, for_real=True)
    assert rows("SELECT reason FROM failed_logins") == [(events.BAD_PASSWORD,)]
