"""The recorded IP, through HTTP, with and without trusted proxies (SECURITY-CASES 14-22)."""

import random

import pytest

from tests.conftest import DEFAULT_PASSWORD, rows

PROXY = "10.0.0.5"


def recorded_ip_of_failed_attempt(client_from_ip, remote_addr, xff):
    headers = {} if xff is None else {"HTTP_X_FORWARDED_FOR": xff}
    client_from_ip(remote_addr, **headers).post("/login/", {"username": "x", "password": "y"})
    return rows("SELECT ip_address FROM failed_logins ORDER BY id DESC")[0][0]


@pytest.mark.parametrize(
    ("trusted", "remote_addr", "xff", "expected"),
    [
        # untrusted peer: its forwarded header is ignored (axes #132, defender #96)
        ("", "203.0.113.9", "1.2.3.4, 127.0.0.1", "203.0.113.9"),
        ("", "203.0.113.9", "1.2.3.4", "203.0.113.9"),
        (PROXY, "203.0.113.9", "1.2.3.4", "203.0.113.9"),
        # trusted proxy: right-most untrusted hop
        (PROXY, PROXY, "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.0/8", PROXY, "6.6.6.6, 203.0.113.7, 10.1.2.3", "203.0.113.7"),
        # junk from a trusted proxy falls back to the proxy itself (authentik CVE-2024-47070)
        (PROXY, PROXY, "", PROXY),
        (PROXY, PROXY, "unknown", PROXY),
        (PROXY, PROXY, "999.999.999.999", PROXY),
        (PROXY, PROXY, "1.2.3.4, ", PROXY),
        (PROXY, PROXY, "010.008.008.008", PROXY),
        # forms a proxy may write
        (PROXY, PROXY, "1.2.3.4:5678", "1.2.3.4"),
        (PROXY, PROXY, "[2001:db8::1]:443", "2001:db8::1"),
        (PROXY, PROXY, "::ffff:203.0.113.7", "203.0.113.7"),
        (PROXY, "::ffff:10.0.0.5", "198.51.100.3", "198.51.100.3"),
        # IPv4-mapped peer with no proxies is stored as IPv4
        ("", "::ffff:203.0.113.7", None, "203.0.113.7"),
        ("", "2001:0db8:0000:0000:0000:0000:0000:0001", None, "2001:db8::1"),
    ],
)
def test_recorded_ip(trusted, remote_addr, xff, expected, settings, client_from_ip, db):
    settings.AUTHLOG = {"TRUSTED_PROXIES": trusted}
    assert recorded_ip_of_failed_attempt(client_from_ip, remote_addr, xff) == expected


def test_rotating_forwarded_for_from_an_untrusted_client_changes_nothing(settings, client_from_ip, db):
    settings.AUTHLOG = {"TRUSTED_PROXIES": PROXY}
    rng = random.Random(7)
    for _ in range(50):
        fake = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        client_from_ip("203.0.113.50", HTTP_X_FORWARDED_FOR=fake).post(
            "/login/", {"username": "alice", "password": "guess"}
        )
    assert rows("SELECT DISTINCT ip_address FROM failed_logins") == [("203.0.113.50",)]


def test_huge_forwarded_header_is_bounded_and_not_an_error(settings, client_from_ip, db):
    settings.AUTHLOG = {"TRUSTED_PROXIES": PROXY}
    header = ", ".join(["198.51.100.1"] * 20_000) + ", 203.0.113.77"
    assert recorded_ip_of_failed_attempt(client_from_ip, PROXY, header) == "203.0.113.77"


def test_login_event_records_the_resolved_ip(settings, make_user, client_from_ip):
    settings.AUTHLOG = {"TRUSTED_PROXIES": "10.0.0.0/8, 2001:db8:ffff::/48"}
    make_user("alice")
    client = client_from_ip("2001:db8:ffff::1", HTTP_X_FORWARDED_FOR="198.51.100.200, 10.9.9.9")
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert rows("SELECT ip_address FROM login_logs") == [("198.51.100.200",)]


def test_without_trusted_proxies_clients_behind_one_proxy_are_told_apart_by_remote_addr(
    settings, client_from_ip, db
):
    # allauth's downstream report: an unset proxy count made one site-wide bucket.
    settings.AUTHLOG = {"TRUSTED_PROXIES": ""}
    for addr in ("203.0.113.1", "203.0.113.2"):
        recorded_ip_of_failed_attempt(client_from_ip, addr, "1.1.1.1")
    assert sorted(rows("SELECT ip_address FROM failed_logins")) == [("203.0.113.1",), ("203.0.113.2",)]
