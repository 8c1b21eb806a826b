"""Signed checkpoints: written by a command, copied elsewhere, and the trail proved from them on."""

import io
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from authlog import chain, retention, trail
from tests.conftest import rows
from tests.trail.conftest import located, sql, verify

BASE_DIR = Path(__file__).resolve().parents[2]


def checkpoint_to(path: Path) -> chain.Checkpoint:
    out = io.StringIO()
    call_command("authlog", "checkpoint", "--output", str(path), stdout=out)
    return chain.read_checkpoint(trail.chain_keys(), out.getvalue().strip())


def verify_since(path: Path) -> str:
    out = io.StringIO()
    call_command("authlog", "verify", "--since-checkpoint", str(path), stdout=out)
    return out.getvalue()


def test_a_checkpoint_is_printed_stored_and_appended_to_the_file(write_events, tmp_path):
    write_events(4)
    path = tmp_path / "checkpoints.jsonl"
    first = checkpoint_to(path)
    write_events(2)
    second = checkpoint_to(path)
    assert (first.seq, second.seq) == (4, 6)
    [(head_hash,)] = rows("SELECT entry_hash FROM trail_head")
    assert second.entry_hash == head_hash
    assert [json.loads(line)["seq"] for line in path.read_text().splitlines()] == [4, 6]
    assert rows("SELECT kind, seq FROM trail_checkpoints ORDER BY id") == [("checkpoint", 4), ("checkpoint", 6)]


def test_verify_since_a_checkpoint_walks_from_it(write_events, tmp_path):
    write_events(4)
    path = tmp_path / "cp.jsonl"
    checkpoint_to(path)
    write_events(3)
    output = verify_since(path)
    assert output.startswith("ok: 3 chain entries (3 events) checked from the checkpoint at seq 4 of ")


def test_a_checkpoint_copied_elsewhere_finds_the_end_cut_off_and_every_trace_wiped(write_events, tmp_path):
    written = write_events(6)
    path = tmp_path / "cp.jsonl"
    checkpoint_to(path)
    # The attacker removes the last two events, their entries, the stored checkpoints, and fixes the head.
    sql("DELETE FROM login_logs WHERE id = %s", [written[5].id])
    sql("DELETE FROM failed_logins WHERE id = %s", [written[4].id])
    sql("DELETE FROM trail_chain WHERE seq > 4")
    sql("DELETE FROM trail_checkpoints")
    sql("UPDATE trail_head SET seq = 4, entry_hash = (SELECT entry_hash FROM trail_chain WHERE seq = 4)")
    assert verify().ok  # what the database alone cannot show ...
    with pytest.raises(CommandError, match="does not verify"):
        verify_since(path)  # ... the copy elsewhere does
    since = chain.read_checkpoint(trail.chain_keys(), path.read_text().strip())
    assert located(verify(since=since)) == [
        f"seq 6: missing: the checkpoint of {since.time} says this entry existed, the chain ends at"
        " seq 4 (entries were deleted from the end)"
    ]


def test_a_checkpoint_finds_a_chain_rebuilt_by_someone_holding_the_key(write_events, tmp_path):
    write_events(5)
    path = tmp_path / "cp.jsonl"
    checkpoint_to(path)
    sql("UPDATE login_logs SET ip_address = '10.0.0.1' WHERE id = (SELECT MIN(id) FROM login_logs)")
    sql("DELETE FROM trail_chain")
    sql("DELETE FROM trail_head")
    sql("DELETE FROM trail_checkpoints")
    trail.backfill_chain()  # every hash recomputed with the key
    assert verify().ok
    since = chain.read_checkpoint(trail.chain_keys(), path.read_text().strip())
    assert located(verify(since=since)) == [
        f"seq 5: the entry differs from the checkpoint of {since.time}: the chain was rewritten"
    ]


def test_a_checkpoint_older_than_the_last_prune_starts_from_its_anchor(old_event, tmp_path):
    old_event(days_ago=400)
    path = tmp_path / "cp.jsonl"
    checkpoint_to(path)
    old_event(days_ago=399)
    old_event(days_ago=1)
    retention.prune_trail(for_real=True, pause=0)
    output = verify_since(path)
    assert "from the prune anchor at seq 2 (the checkpoint at seq 1 is older than the last prune)" in output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "since-checkpoint: cannot read"),
        ("", "since-checkpoint: the file is empty"),
        ("garbage\n", "since-checkpoint: not a checkpoint: not JSON"),
    ],
)
def test_an_unreadable_checkpoint_file_is_a_command_error(db, tmp_path, content, message):
    path = tmp_path / "cp.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CommandError, match=message):
        verify_since(path)


def test_an_edited_checkpoint_file_is_refused(write_events, tmp_path):
    write_events(3)
    path = tmp_path / "cp.jsonl"
    checkpoint_to(path)
    data = json.loads(path.read_text())
    data["seq"] = 2
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="signature does not verify: it was altered"):
        verify_since(path)


def test_a_checkpoint_of_another_key_is_refused(write_events, tmp_path, settings):
    write_events(1)
    path = tmp_path / "cp.jsonl"
    checkpoint_to(path)
    settings.AUTHLOG = {"CHAIN_KEY": "a different key of at least 32 characters"}
    with pytest.raises(CommandError, match="signed with another chain key"):
        verify_since(path)


def test_checkpoints_can_be_written_periodically(write_events, tmp_path, monkeypatch):
    write_events(2)
    slept = []
    monkeypatch.setattr("authlog.management.commands.authlog.time.sleep", slept.append)
    path = tmp_path / "cp.jsonl"
    out = io.StringIO()
    call_command("authlog", "checkpoint", "--every", "900", "--count", "3", "--output", str(path), stdout=out)
    assert len(out.getvalue().splitlines()) == 3
    assert len(path.read_text().splitlines()) == 3
    assert slept == [900.0, 900.0]


# --- through the real command line ---------------------------------------------------


@pytest.fixture(scope="module")
def trail_database(tmp_path_factory) -> str:
    """A migrated SQLite file of its own, with one chained event written by a subprocess."""
    path = tmp_path_factory.mktemp("trail-cli") / "trail.sqlite3"
    url = f"sqlite:///{path}"
    result = manage(url, "migrate", "--noinput", "--verbosity", "0")
    assert result.returncode == 0, result.stderr
    code = (
        "import django; django.setup();"
        "from accounts.registration import register_user; from authlog import events;"
        "u = register_user(username='alice', email='', password='correct horse battery staple').user;"
        "events.log_auth_event(u.id, 'login', '192.0.2.1')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=BASE_DIR, env=environment(url), capture_output=True,
        text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return str(path)


def environment(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}


def manage(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment(url),
        capture_output=True, text=True, timeout=60, check=False,
    )


def test_verify_on_the_command_line_exits_zero_then_non_zero_after_tampering(trail_database):
    url = f"sqlite:///{trail_database}"
    clean = manage(url, "authlog", "verify")
    assert (clean.returncode, clean.stdout.startswith("ok: 1 chain entries")) == (0, True)
    with sqlite3.connect(trail_database) as db:
        db.execute("UPDATE login_logs SET ip_address = '10.0.0.1'")
    tampered = manage(url, "authlog", "verify")
    assert tampered.returncode == 1
    assert tampered.stdout.splitlines()[0].startswith("seq 1: login_logs id 1: edited")
    [error] = [line for line in tampered.stderr.splitlines() if line.startswith("CommandError")]
    assert error.startswith("CommandError: the trail does not verify: 1 problem(s);")
