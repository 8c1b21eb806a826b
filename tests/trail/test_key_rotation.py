"""The chain key rotates: old entries verify with the retired key, new ones with the new key."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from authlog import chain, store, trail
from authlog.checks import check_chain_key
from tests.conftest import rows
from tests.trail.conftest import located, seq_of, sql, verify

OLD = "the-old-chain-key-of-at-least-thirty-two-characters"
NEW = "the-new-chain-key-of-at-least-thirty-two-characters"
THIRD = "a-third-chain-key-of-at-least-thirty-two-characters"


def key_id(key: str) -> str:
    return chain.ChainKeys.derive(key.encode()).key_id


@pytest.fixture
def keys(settings):
    """Return a function that configures the chain keys as the environment would."""

    def configure(*, keys: str = "", key: str = "") -> None:
        settings.AUTHLOG = {"CHAIN_KEYS": keys, "CHAIN_KEY": key}

    return configure


def rotate(**options) -> str:
    out = io.StringIO()
    call_command("authlog", "rotate-key", *[f"--{o}" for o in options], stdout=out)
    return out.getvalue()


def test_each_entry_records_the_id_of_the_key_that_hashed_it(keys, write_events):
    keys(key=OLD)
    write_events(2)
    keys(keys=NEW, key=OLD)
    write_events(1)
    assert rows("SELECT key_id FROM trail_chain ORDER BY seq") == [(key_id(OLD),)] * 2 + [(key_id(NEW),)]


def test_the_existing_variable_keeps_working_alone(keys, write_events):
    keys(key=OLD)
    write_events(3)
    assert trail.key_source() == "AUTHLOG_CHAIN_KEY"
    assert trail.chain_keys().key_id == key_id(OLD)
    assert verify().ok


def test_verify_works_across_a_rotation(keys, write_events):
    keys(key=OLD)
    write_events(3)
    keys(keys=NEW, key=OLD)  # the new key first, the old one kept to verify what it hashed
    write_events(2)
    assert "dry run" in rotate()
    assert rows("SELECT COUNT(*) FROM trail_key_changes") == [(0,)]
    assert f"key {key_id(NEW)} is current from seq 6; retired: {key_id(OLD)}" in rotate(**{"for-real": True})
    write_events(2)
    report = verify()
    assert report.ok, located(report)
    assert report.checked == 8


def test_old_checkpoints_and_anchors_verify_after_a_rotation(keys, write_events, tmp_path):
    keys(key=OLD)
    write_events(2)
    path = tmp_path / "cp.jsonl"
    call_command("authlog", "checkpoint", "--output", str(path), stdout=io.StringIO())
    keys(keys=f"{NEW},{OLD}")
    rotate(**{"for-real": True})
    write_events(1)
    since = chain.read_checkpoint(trail.chain_keyring().by_id, path.read_text().strip())
    assert verify(since=since).ok


def test_a_missing_old_key_is_reported_as_the_range_that_cannot_be_checked(keys, write_events):
    keys(key=OLD)
    write_events(3)
    keys(keys=f"{NEW},{OLD}")
    rotate(**{"for-real": True})
    write_events(2)
    keys(keys=NEW)  # the old key forgotten too soon
    report = verify()
    assert not report.ok
    [problem] = report.problems
    assert problem.seq == 1
    assert f"seq 1-3: 3 entries hashed with chain key id '{key_id(OLD)}', which this server does not hold" in str(problem)
    assert "cannot be checked" in str(problem)


def test_tampering_after_a_rotation_is_still_located(keys, write_events):
    keys(key=OLD)
    [old_login, *_] = write_events(3)
    keys(keys=f"{NEW},{OLD}")
    rotate(**{"for-real": True})
    [new_login, *_] = write_events(3)
    sql("UPDATE login_logs SET ip_address = '203.0.113.9' WHERE id IN (%s, %s)", [old_login.id, new_login.id])
    assert [p.seq for p in verify().problems] == [
        seq_of("login_logs", old_login.id), seq_of("login_logs", new_login.id)
    ]


def test_an_entry_hashed_with_a_retired_key_after_its_retirement_is_refused(keys, write_events):
    keys(key=OLD)
    write_events(1)
    keys(keys=f"{NEW},{OLD}")
    rotate(**{"for-real": True})
    keys(keys=f"{OLD},{NEW}")  # a process (or someone holding the old key) still hashing with it
    write_events(1)
    keys(keys=f"{NEW},{OLD}")
    [problem] = verify().problems
    assert problem.seq == 3 and "retired at seq 2" in problem.what


def test_a_key_change_is_countersigned_by_the_retired_key(keys, write_events):
    keys(key=OLD)
    write_events(1)
    keys(keys=f"{NEW},{OLD}")
    rotate(**{"for-real": True})
    # Someone who can write to the database rewrites the consent: the row no longer matches its entry.
    sql("UPDATE trail_key_changes SET retired = '{}'")
    [problem] = verify().problems
    assert problem.seq == 2 and "edited" in problem.what


def test_a_key_change_can_rotate_again(keys, write_events):
    keys(key=OLD)
    write_events(1)
    keys(keys=f"{NEW},{OLD}")
    rotate(**{"for-real": True})
    write_events(1)
    keys(keys=f"{THIRD},{NEW},{OLD}")
    rotate(**{"for-real": True})
    write_events(1)
    assert verify().ok
    assert rows("SELECT key_id FROM trail_key_changes ORDER BY id") == [(key_id(NEW),), (key_id(THIRD),)]


def test_rotating_with_one_key_only_is_refused(keys, write_events):
    keys(key=OLD)
    with pytest.raises(CommandError, match="one chain key only"):
        rotate(**{"for-real": True})


def test_a_chain_begun_on_the_derived_key_can_retire_it(keys, write_events):
    write_events(2)  # no key configured: derived from SECRET_KEY
    keys(keys=f"{NEW},{trail.DERIVED_KEY_NAME}")
    rotate(**{"for-real": True})
    write_events(1)
    assert verify().ok
    # Not listed, the derived key is not held: whoever learns SECRET_KEY cannot hash valid entries.
    keys(keys=NEW)
    assert "cannot be checked" in verify().problems[0].what


def test_a_short_key_in_the_list_is_a_configuration_error(keys):
    keys(keys=f"{NEW},short")
    [error] = check_chain_key(None)
    assert error.id == "authlog.E002" and "AUTHLOG_CHAIN_KEYS" in error.msg


def test_status_shows_the_current_key_id_and_the_retired_ones(keys, db):
    keys(keys=f"{NEW},{OLD}")
    out = io.StringIO()
    call_command("authlog", "status", stdout=out)
    assert f"chain key: AUTHLOG_CHAIN_KEYS (key id {key_id(NEW)}; retired keys held: {key_id(OLD)})" in out.getvalue()


def test_a_key_change_without_the_retired_keys_consent_is_refused(keys, write_events):
    """Holding only the new key is not enough to take the chain over: each retired key must sign."""
    keys(key=OLD)
    write_events(1)
    keys(keys=f"{NEW},{OLD}")
    with transaction.atomic():
        through_seq, _head = store.lock_chain_head(genesis_hash=chain.GENESIS_HASH)
        forged = json.dumps({key_id(OLD): "0" * 64})
        row_id, at = store.insert_key_change(key_id=key_id(NEW), retired=forged, through_seq=through_seq)
        trail.chain_row(table=trail.KEY_CHANGES, values={
            "id": row_id, "key_id": key_id(NEW), "retired": forged, "through_seq": through_seq, "timestamp": at,
        })
    [problem] = verify().problems
    assert problem.seq == 2 and f"retired key '{key_id(OLD)}' did not sign this key change" in problem.what


def test_entries_from_before_key_ids_verify_with_the_key_the_migration_recorded(keys, write_events):
    keys(key=OLD)
    write_events(3)
    # As migration 0004 leaves a chain written before it: no key ids, the head naming the key.
    sql("UPDATE trail_chain SET key_id = NULL")
    sql("UPDATE trail_head SET first_key_id = %s", [key_id(OLD)])
    keys(keys=f"{NEW},{OLD}")
    assert verify().ok
    sql("UPDATE trail_head SET first_key_id = %s", [key_id(THIRD)])
    assert "cannot be checked" in verify().problems[0].what


def test_changing_an_entrys_key_id_makes_it_fail(keys, write_events):
    keys(keys=f"{NEW},{OLD}")
    write_events(3)
    sql("UPDATE trail_chain SET key_id = %s WHERE seq = 2", [key_id(OLD)])
    [problem] = verify().problems
    assert problem.seq == 2 and "does not verify" in problem.what
    sql("UPDATE trail_chain SET key_id = 'ffffffffffffffff' WHERE seq = 2")
    [problem] = verify().problems
    assert problem.seq == 2 and "cannot be checked" in problem.what
