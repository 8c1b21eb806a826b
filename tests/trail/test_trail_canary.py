"""SECURITY-CASES 55 for the chain: no secret enters a hashed record, a checkpoint or an output."""

import io
import logging

import pytest
from django.core.management import call_command
from django.db import connection

from authlog import retention
from tests.conftest import rows
from tests.test_canary import CANARY, every_stored_value

TRAIL_TABLES = ("trail_chain", "trail_head", "trail_operations", "trail_checkpoints", "trail_verifications")


@pytest.mark.django_db(transaction=True)
def test_canary_secrets_are_in_no_chain_record_checkpoint_or_output(make_user, client_from_ip, caplog, tmp_path):
    alice = make_user("alice", password=CANARY)
    client = client_from_ip()
    with caplog.at_level(logging.DEBUG):
        client.post("/login/", {"username": "alice", "password": CANARY + "x"})
        client.post("/login/", {"username": CANARY, "password": "whatever"})
        client.post("/login/", {"username": "alice", "password": CANARY})
        session_cookie = client.cookies["sessionid"].value
        csrf_cookie = client.cookies["csrftoken"].value
        client.post("/logout/")
        outputs = []
        for args in (
            ("verify",),
            ("checkpoint", "--output", str(tmp_path / "cp.jsonl")),
            ("status",),
            ("prune",),
            ("anonymise",),
            ("delete-user", "--user-id", str(alice.id)),
        ):
            out = io.StringIO()
            call_command("authlog", *args, stdout=out)
            outputs.append(out.getvalue())
        retention.delete_user(user_id=alice.id, erase=True, for_real=True)
    dump = [repr(row) for table in TRAIL_TABLES for row in rows(f"SELECT * FROM {table}")]  # noqa: S608
    haystack = "\n".join(
        [every_stored_value(), *dump, *outputs, (tmp_path / "cp.jsonl").read_text(), caplog.text]
    )
    assert rows("SELECT COUNT(*) FROM trail_chain") != [(0,)]
    for secret in (CANARY, CANARY.lower(), session_cookie, csrf_cookie):
        assert secret not in haystack
    assert connection.vendor in ("sqlite", "postgresql")
