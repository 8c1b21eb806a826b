"""`manage.py throttles` and `manage.py alerts`: list, unlock, acknowledge; destructive ones dry-run first."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import rows
from tests.guard.conftest import post_login, sign_in_ok

pytestmark = pytest.mark.django_db


def run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def locked_alice(make_user, client_from_ip, clock):
    make_user("alice")
    for _ in range(6):
        post_login(client_from_ip("198.51.100.7"), "alice")
    return clock


def test_throttles_lists_locked_counters_first(locked_alice):
    out = run("throttles")
    lines = out.splitlines()
    assert lines[0].split() == ["kind", "failures", "locked", "lockouts", "of"]
    assert lines[1].split()[:4] == ["pair", "0", "900s", "1"]
    assert lines[1].endswith("alice from 198.51.100.7")
    assert "username" in out and "ip" in out


def test_throttles_filters_and_json(locked_alice):
    listed = json.loads(run("throttles", "--user", "ALICE", "--locked", "--format", "json"))
    assert [(t["kind"], t["locked"], t["label"]) for t in listed] == [("pair", True, "alice from 198.51.100.7")]
    by_ip = json.loads(run("throttles", "--ip", "198.51.100.7", "--format", "json"))
    assert {t["kind"] for t in by_ip} == {"pair", "ip"}


def test_unlock_is_a_dry_run_until_for_real(locked_alice, client_from_ip):
    assert "Would unlock user alice" in run("throttles", "--unlock", "--user", "alice")
    assert sign_in_ok(client_from_ip("198.51.100.7"), "alice").status_code == 429
    out = run("throttles", "--unlock", "--user", "alice", "--for-real")
    assert out.startswith("Unlocked user alice: 3 counters cleared.")
    assert sign_in_ok(client_from_ip("198.51.100.7"), "alice").status_code == 302
    assert rows("SELECT actor, action, target FROM guard_actions") == [
        ("manage.py throttles", "unlock", "alice")
    ]


def test_unlock_a_network_and_everything(locked_alice):
    # The network's own counter and alice's counter from that network.
    out = run("throttles", "--unlock", "--ip", "198.51.100.7", "--for-real")
    assert out == "Unlocked network 198.51.100.7: 2 counters cleared.\n"
    run("throttles", "--unlock", "--all", "--for-real")
    assert rows("SELECT COUNT(*) FROM guard_counters") == [(0,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "xml"], "format: expected one of table, json"),
        (["--limit", "0"], "limit: expected a whole number from 1 to 10000"),
        (["--ip", "999.1.1.1"], "ip: expected an IPv4 or IPv6 address"),
        (["--user", "a", "--ip", "192.0.2.1"], "give --user or --ip, not both"),
        (["--unlock"], "--unlock needs --user, --ip or --all"),
        (["--user", "x" * 300], "user: expected a username of 1 to 256 characters"),
    ],
)
def test_throttles_refuses_bad_arguments_in_one_line(args, message, db):
    with pytest.raises(CommandError, match=message.replace("+", r"\+")):
        run("throttles", *args)


def test_prune_deletes_expired_counters(locked_alice):
    locked_alice.advance(90 * 86400 * 3)
    assert run("throttles", "--prune") == "Deleted 4 expired counters.\n"


@pytest.fixture
def two_alerts(client_from_ip, clock):
    for ip in ("198.51.100.66", "198.51.100.67"):
        client = client_from_ip(ip)
        for n in range(10):
            post_login(client, f"victim{n}")
    return [row[0] for row in rows("SELECT id FROM guard_alerts ORDER BY id")]


def test_alerts_lists_open_alerts(two_alerts):
    out = run("alerts")
    assert out.count("One network trying many usernames") == 2
    assert "198.51.100.66" in out and "open" in out
    [first, _] = json.loads(run("alerts", "--format", "json"))
    assert first["rule"] == "network_many_usernames" and first["evidence"]["usernames"] == 10


def test_alerts_acknowledge_by_id_and_all(two_alerts):
    assert run("alerts", "--acknowledge", str(two_alerts[0])) == "Acknowledged 1 alerts.\n"
    assert "Would acknowledge 1 open alerts" in run("alerts", "--acknowledge-all")
    assert run("alerts", "--acknowledge-all", "--for-real") == "Acknowledged 1 alerts.\n"
    assert run("alerts") == ""
    assert run("alerts", "--status", "acknowledged").count("acknowledged") == 2
    assert [a for (a,) in rows("SELECT action FROM guard_actions")] == ["acknowledge", "acknowledge"]
    with pytest.raises(CommandError, match="no open alert with those ids"):
        run("alerts", "--acknowledge", "424242")


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--status", "closed"], "status: expected one of open, acknowledged, all"),
     (["--format", "csv"], "format: expected one of table, json"),
     (["--limit", "100000"], "limit: expected a whole number from 1 to 10000")],
)
def test_alerts_refuses_bad_arguments(args, message, db):
    with pytest.raises(CommandError, match=message):
        run("alerts", *args)
