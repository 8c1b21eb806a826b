"""The trail's state, shown not hidden: authlog.trail.trail_status() and its template partial."""

import io
from datetime import UTC, datetime, timedelta

from django.core.management import call_command
from django.template.loader import render_to_string
from django.utils import timezone

from authlog import chain, retention, store, trail
from tests.conftest import rows
from tests.trail.conftest import sql

PARTIAL = "authlog/_trail_status.html"


def render(status: trail.TrailStatus) -> str:
    return render_to_string(PARTIAL, {"trail_status": status})


def test_a_new_trail_says_it_was_never_verified_nor_pruned(db):
    status = trail.trail_status()
    assert (status.head_seq, status.head_hash) == (0, chain.GENESIS_HASH)
    assert status.last_verification is None and status.verification_overdue
    assert status.last_checkpoint_at is None and status.last_checkpoint_seq is None
    assert (status.last_prune_at, status.next_prune_at, status.prune_overdue) == (None, None, True)
    assert [(r.kind, r.days) for r in status.retention] == [
        ("login", 365), ("logout", 365), ("login_failed", 90), ("trail", 365),
        ("alert", 90), ("admin_action", 365),
    ]
    assert status.anonymise_ips_after_days == 30
    assert status.key_source == "derived from SECRET_KEY"


def test_the_status_follows_verification_checkpoint_and_prune(write_events):
    write_events(4)
    call_command("authlog", "verify", stdout=io.StringIO())
    checkpoint = trail.write_checkpoint()
    retention.prune_trail(for_real=True, pause=0)
    status = trail.trail_status()
    [(head_seq, head_hash)] = rows("SELECT seq, entry_hash FROM trail_head")
    assert (status.head_seq, status.head_hash) == (head_seq, head_hash) == (5, head_hash)
    assert status.last_verification.ok and status.last_verification.checked == 4
    assert not status.verification_overdue
    # Ours, then the prune's own (written before it records itself at seq 5).
    assert checkpoint.seq == status.last_checkpoint_seq == 4
    assert rows("SELECT COUNT(*) FROM trail_checkpoints") == [(2,)]
    assert status.next_prune_at == status.last_prune_at + timedelta(hours=24)
    assert not status.prune_overdue
    later = trail.trail_status(now=lambda: timezone.now() + timedelta(hours=25))
    assert later.verification_overdue and later.prune_overdue


def test_the_partial_shows_head_verification_retention_and_next_prune(write_events):
    write_events(2)
    call_command("authlog", "verify", stdout=io.StringIO())
    retention.prune_trail(for_real=True, pause=0)
    status = trail.trail_status()
    html = render(status)
    assert f'data-testid="trail-head-seq">{status.head_seq}<' in html
    assert status.head_hash in html
    assert "Verified" in html and "Never verified" not in html
    for label, days, kind in (("Sign-ins", 365, "login"), ("Failed sign-ins", 90, "login_failed"),
                              ("Security alerts", 90, "alert")):
        assert f"{label}: {days} days <code" in html and f">{kind}</code>" in html
    assert "Full IP addresses: 30 days, then /24 or /48" in html
    assert status.next_prune_at.strftime("%Y-%m-%d %H:%M") in html


def test_the_partial_shows_a_failed_verification_escaped(db):
    status = trail.TrailStatus(
        head_seq=3,
        head_hash="a" * 64,
        key_source="AUTHLOG_CHAIN_KEY",
        last_verification=store.VerificationRow(
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            finished_at=datetime(2026, 1, 1, tzinfo=UTC),
            ok=False, from_seq=0, head_seq=3, head_hash="a" * 64, checked=3, problems=2,
            first_problem="seq 2: <script>alert(1)</script>",
        ),
        verification_overdue=True,
        last_checkpoint_seq=None,
        last_checkpoint_at=None,
        retention=(trail.RetentionRule("login", None),),
        anonymise_ips_after_days=None,
        last_prune_at=None,
        next_prune_at=None,
        prune_overdue=True,
    )
    html = render(status)
    assert "Tampering found" in html and "2 problems" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Overdue" in html
    assert "Sign-ins: kept forever" in html and "Full IP addresses: kept forever" in html
    assert "never run" in html


def test_a_stored_checkpoint_with_a_bad_signature_has_no_seq_in_the_status(db):
    sql("INSERT INTO trail_checkpoints (kind, seq, document) VALUES ('checkpoint', 9, '{}')")
    status = trail.trail_status()
    assert status.last_checkpoint_seq is None and status.last_checkpoint_at is not None


def test_the_status_command(write_events):
    write_events(1)
    out = io.StringIO()
    call_command("authlog", "status", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("head: seq 1 ")
    assert lines[2] == "last verification: never (overdue)"
    assert ("retention: login 365 days, logout 365 days, login_failed 90 days, trail 365 days,"
            " alert 90 days, admin_action 365 days") in lines
    assert lines[-1] == "next prune: due (never run)"


def test_the_partial_shows_the_current_key_id_and_the_retired_ones(db, settings):
    settings.AUTHLOG = {"CHAIN_KEYS": "n" * 40 + "," + "o" * 40}
    html = render(trail.trail_status())
    current, retired = (chain.ChainKeys.derive(k.encode()).key_id for k in ("n" * 40, "o" * 40))
    assert f"(key id <code>{current}</code>; retired keys held: <code>{retired}</code>)" in html
