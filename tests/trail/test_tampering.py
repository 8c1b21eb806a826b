"""Someone with write access to the database changes the trail: each change is found, by seq.

The trail of every test: nine events written the real way, chained at seqs
1-9. login_logs holds seqs 1, 3, 4, 6, 7, 9 (sign-ins at 1, 4, 7; sign-outs
at 3, 6, 9), failed_logins holds seqs 2, 5, 8.
"""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from authlog import trail
from config.dbtime import to_db_time
from tests.conftest import rows
from tests.trail.conftest import located, sql, verify


@pytest.fixture
def nine(write_events):
    written = write_events(9)
    assert verify().ok
    return {seq: event for seq, event in enumerate(written, start=1)}


def table_of(event) -> str:
    return "failed_logins" if event.event_type == "login_failed" else "login_logs"


def update(event, assignment: str, params: list | None = None) -> None:
    sql(f"UPDATE {table_of(event)} SET {assignment} WHERE id = %s", [*(params or []), event.id])


def swap_seqs(a: int, b: int) -> None:
    sql("UPDATE trail_chain SET seq = -1 WHERE seq = %s", [a])
    sql("UPDATE trail_chain SET seq = %s WHERE seq = %s", [a, b])
    sql("UPDATE trail_chain SET seq = %s WHERE seq = -1", [b])


def swap_event_ids(a: int, b: int) -> None:
    [(id_a,)] = rows("SELECT event_id FROM trail_chain WHERE seq = %s", [a])
    [(id_b,)] = rows("SELECT event_id FROM trail_chain WHERE seq = %s", [b])
    sql("UPDATE trail_chain SET event_id = -1 WHERE seq = %s", [a])
    sql("UPDATE trail_chain SET event_id = %s WHERE seq = %s", [id_a, b])
    sql("UPDATE trail_chain SET event_id = %s WHERE seq = %s", [id_b, a])


def forge_row(nine) -> None:
    sql(
        "INSERT INTO login_logs (user_id, event_type, ip_address) VALUES (%s, 'login', '192.0.2.66')",
        [nine[1].user_id],
    )


def forge_entry(nine) -> None:
    """A forged event with a chain entry made to look right, except for the key."""
    forge_row(nine)
    [(event_id,)] = rows("SELECT MAX(id) FROM login_logs")
    sql(
        "INSERT INTO trail_chain (seq, event_table, event_id, kind, event_time, content_digest,"
        " entry_hash) VALUES (10, 'login_logs', %s, 'login', NULL, %s, %s)",
        [event_id, "a" * 64, "b" * 64],
    )
    sql("UPDATE trail_head SET seq = 10, entry_hash = %s", ["b" * 64])


# (what is done, how it is done, [(seq, words of its report)])
TAMPERING = [
    ("UPDATE an IP to another network", lambda n: update(n[4], "ip_address = '10.9.9.9'"),
     [(4, "edited: the row is not what was chained")]),
    ("UPDATE an IP inside its /24", lambda n: update(n[4], "ip_address = '198.51.100.99'"),
     [(4, "ip_address is not the address that was chained")]),
    ("UPDATE a user agent", lambda n: update(n[7], "user_agent = 'curl/8'"),
     [(7, "edited")]),
    ("UPDATE whose event it was", lambda n: update(n[4], "user_id = %s", [
        rows("INSERT INTO users (username, username_normalised, password_hash, is_admin, is_active)"
             " VALUES ('bob', 'bob', '!', %s, %s) RETURNING id", [False, True])[0][0]]),
     [(4, "edited")]),
    ("UPDATE a timestamp by a millisecond",
     lambda n: update(n[6], "timestamp = %s", [to_db_time(n[6].timestamp + timedelta(milliseconds=1))]),
     [(6, "edited")]),
    ("change the name tried", lambda n: update(n[5], "attempted_username = 'bob'"),
     [(5, "attempted_username is not the name that was chained")]),
    ("DELETE a row in the middle", lambda n: sql("DELETE FROM failed_logins WHERE id = %s", [n[5].id]),
     [(5, "deleted (login_failed of")]),
    ("DELETE a row and its chain entry",
     lambda n: (sql("DELETE FROM login_logs WHERE id = %s", [n[4].id]),
                sql("DELETE FROM trail_chain WHERE seq = 4")),
     [(4, "missing from the chain: seq 4 deleted")]),
    ("DELETE three chain entries in a row",
     lambda n: sql("DELETE FROM trail_chain WHERE seq BETWEEN 3 AND 5"),
     [(3, "missing from the chain: seq 3-5 deleted"), (None, "login_logs id"),
      (None, "login_logs id"), (None, "failed_logins id")]),
    ("INSERT a forged row", forge_row,
     [(None, "inserted, not in the chain (after seq 9)")]),
    ("INSERT a forged row with a forged chain entry", forge_entry,
     [(10, "the chain entry was altered, moved or forged")]),
    ("swap two chain entries' seqs", lambda n: swap_seqs(2, 3),
     [(2, "the chain entry was altered"), (3, "the chain entry was altered"),
      (4, "the chain entry was altered")]),
    ("swap the events of two entries", lambda n: swap_event_ids(1, 4),
     [(1, "the chain entry was altered"), (4, "the chain entry was altered")]),
    ("rewrite an entry's hash", lambda n: sql("UPDATE trail_chain SET entry_hash = %s WHERE seq = 5", ["c" * 64]),
     [(5, "the chain entry was altered"), (6, "the chain entry was altered")]),
    ("delete an address's salt", lambda n: sql("UPDATE trail_chain SET ip_salt = NULL WHERE seq = 4"),
     [(4, "ip_address changed after its salt was deleted")]),
    ("anonymise an address unrecorded",
     lambda n: (sql("UPDATE trail_chain SET ip_salt = NULL WHERE seq = 4"),
                update(n[4], "ip_address = '198.51.100.0'")),
     [(4, "ip_address anonymised outside any recorded anonymisation")]),
    ("cut the last two events",
     lambda n: (sql("DELETE FROM login_logs WHERE id = %s", [n[9].id]),
                sql("DELETE FROM failed_logins WHERE id = %s", [n[8].id]),
                sql("DELETE FROM trail_chain WHERE seq >= 8")),
     [(8, "the head says seq 9, the chain ends at seq 7")]),
    ("empty the head row", lambda n: sql("DELETE FROM trail_head"),
     [(None, "the head row (trail_head) is missing")]),
]


@pytest.mark.parametrize(
    ("tamper", "expected"), [case[1:] for case in TAMPERING], ids=[case[0] for case in TAMPERING]
)
def test_tampering_is_detected_and_located(nine, tamper, expected):
    tamper(nine)
    report = verify()
    found = [(p.seq, str(p)) for p in report.problems]
    assert report.ok is (not expected), found
    for seq, words in expected:
        assert any(s == seq and words in text for s, text in found), (seq, words, found)
    assert len(found) == len(expected), found


def test_swapping_two_timestamps_is_found_at_both_seqs(old_event):
    first, second = old_event(days_ago=2), old_event(days_ago=1, kind="logout")
    [(time_1,)] = rows("SELECT timestamp FROM login_logs WHERE id = %s", [first])
    [(time_2,)] = rows("SELECT timestamp FROM login_logs WHERE id = %s", [second])
    sql("UPDATE login_logs SET timestamp = %s WHERE id = %s", [time_2, first])
    sql("UPDATE login_logs SET timestamp = %s WHERE id = %s", [time_1, second])
    assert [(p.seq, p.what.split(": ", 1)[1]) for p in verify().problems] == [
        (1, "edited: the row is not what was chained"),
        (2, "edited: the row is not what was chained"),
    ]


def test_a_forged_row_is_placed_after_the_seq_of_its_table_neighbour(nine):
    forge_row(nine)
    [problem] = verify().problems
    assert problem.what.endswith("inserted, not in the chain (after seq 9)")


def test_cutting_the_end_and_fixing_the_head_is_found_by_a_stored_checkpoint(nine):
    trail.write_checkpoint()
    sql("DELETE FROM login_logs WHERE id = %s", [nine[9].id])
    sql("DELETE FROM trail_chain WHERE seq = 9")
    sql("UPDATE trail_head SET seq = 8, entry_hash = (SELECT entry_hash FROM trail_chain WHERE seq = 8)")
    assert located(verify()) == [
        f"seq 9: missing: the checkpoint of {json.loads(rows('SELECT document FROM trail_checkpoints')[0][0])['time']}"
        " says this entry existed, the chain ends at seq 8 (entries were deleted from the end)"
    ]


def test_a_forged_stored_checkpoint_is_reported(nine):
    sql("INSERT INTO trail_checkpoints (kind, seq, document) VALUES ('anchor', 5, %s)",
        [json.dumps({"format": "authlog-checkpoint/1", "kind": "anchor", "seq": 5})])
    assert located(verify()) == [
        "stored anchor at seq 5: not a checkpoint: a field is missing or malformed"
    ]


def test_the_command_prints_each_problem_and_exits_non_zero(nine):
    update(nine[4], "ip_address = '10.9.9.9'")
    sql("DELETE FROM failed_logins WHERE id = %s", [nine[8].id])
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"the trail does not verify: 2 problem\(s\)") as raised:
        call_command("authlog", "verify", stdout=out)
    assert raised.value.returncode == 1
    lines = out.getvalue().splitlines()
    assert [line.split(":")[0] for line in lines] == ["seq 4", "seq 8"]


def test_the_command_says_ok_with_the_count_and_the_head_hash(nine):
    out = io.StringIO()
    call_command("authlog", "verify", stdout=out)
    [(head_hash,)] = rows("SELECT entry_hash FROM trail_head")
    assert out.getvalue().startswith("ok: 9 chain entries (9 events) checked from the first event")
    assert out.getvalue().rstrip().endswith(f"head seq 9 {head_hash}")


def test_every_run_is_recorded_for_the_status_page(nine):
    call_command("authlog", "verify", stdout=io.StringIO())
    sql("DELETE FROM failed_logins WHERE id = %s", [nine[5].id])
    with pytest.raises(CommandError):
        call_command("authlog", "verify", stdout=io.StringIO())
    recorded = rows("SELECT ok, checked, problems, first_problem FROM trail_verifications ORDER BY id")
    assert [(bool(ok), checked, problems) for ok, checked, problems, _ in recorded] == [
        (True, 9, 0), (False, 9, 1)
    ]
    assert recorded[1][3].startswith(f"seq 5: failed_logins id {nine[5].id}: deleted")
