"""The client's address from REMOTE_ADDR and a trusted proxy's X-Forwarded-For (SECURITY-CASES 14-22).

Case 21 (counting per IPv6 /64) belongs to the throttling policy, not here.
"""

import ipaddress

import pytest

from authlog.client_ip import parse_address, parse_trusted_proxies, resolve_client_ip

# One proxy by address, a private range by CIDR, and the same for IPv6.
PROXIES = parse_trusted_proxies("127.0.0.1, 10.0.0.0/8, ::1, 2001:db8:ffff::/48")
PROXY = "10.0.0.1"


def client_ip(remote_addr: str | None, forwarded_for: str | None = None, **kwargs) -> str | None:
    return resolve_client_ip(
        remote_addr=remote_addr, forwarded_for=forwarded_for, trusted=PROXIES, **kwargs
    )


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for"),
    [
        ("198.51.100.7", "1.2.3.4, 127.0.0.1"),
        ("198.51.100.7", "1.2.3.4"),
        ("198.51.100.7", "10.0.0.2"),
        ("198.51.100.7", "::1"),
    ],
)
def test_untrusted_peer_is_the_client_whatever_it_forwards(remote_addr, forwarded_for):
    assert client_ip(remote_addr, forwarded_for) == remote_addr


def test_no_trusted_proxies_means_forwarded_for_is_ignored():
    nobody = parse_trusted_proxies("")
    ip = resolve_client_ip(remote_addr="10.0.0.1", forwarded_for="1.2.3.4", trusted=nobody)
    assert ip == "10.0.0.1"


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "expected"),
    [
        # A single trusted proxy by address and by CIDR, IPv4 and IPv6.
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),
        ("10.20.30.40", "203.0.113.7", "203.0.113.7"),
        ("::1", "203.0.113.7", "203.0.113.7"),
        ("2001:db8:ffff:1::5", "2001:db8::7", "2001:db8::7"),
        ("10.0.0.1", "2001:db8::7", "2001:db8::7"),
        # The attacker's own left-most hop is never believed (django-axes #132, #224).
        ("10.0.0.1", "6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.1", "unknown, 203.0.113.7", "203.0.113.7"),
        ("10.0.0.1", "999.999.999.999, 203.0.113.7", "203.0.113.7"),
    ],
)
def test_behind_a_trusted_proxy_the_right_most_hop_is_the_client(
    remote_addr, forwarded_for, expected
):
    assert client_ip(remote_addr, forwarded_for) == expected


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("203.0.113.7, 10.0.0.2", "203.0.113.7"),
        ("203.0.113.7, 10.0.0.3, 10.0.0.2", "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7, 2001:db8:ffff::2, 127.0.0.1", "203.0.113.7"),
        ("6.6.6.6, 203.0.113.7,10.0.0.3 ,  10.0.0.2", "203.0.113.7"),
    ],
)
def test_chains_of_trusted_proxies_are_skipped_right_to_left(forwarded_for, expected):
    assert client_ip(PROXY, forwarded_for) == expected


@pytest.mark.parametrize(
    "forwarded_for",
    [
        None,
        "",
        " ",
        "unknown",
        "999.999.999.999",
        "1.2.3.4, ",
        "1.2.3.4,",
        ",,,",
        "1.2.3.4, unknown",
        "1.2.3.4, -",
        "1.2.3.4 5.6.7.8",
        '"1.2.3.4"',
        "for=1.2.3.4",
        "1.2.3.4\x00",
        "0x7f.0.0.1",
        "١.٢.٣.٤",
        "1.2.3.4:",
        "1.2.3.4:http",
        "1.2.3.4:99999",
        "1.2.3.4:٥",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "[2001:db8::1]:",
    ],
)
def test_an_unusable_right_most_hop_falls_back_to_remote_addr(forwarded_for):
    assert client_ip(PROXY, forwarded_for) == PROXY


@pytest.mark.parametrize(
    "forwarded_for",
    [
        "10.0.0.2",
        "127.0.0.1, 10.0.0.2",
        ", ".join(["10.0.0.2"] * 25),
    ],
)
def test_fewer_hops_than_proxies_falls_back_to_remote_addr(forwarded_for):
    assert client_ip(PROXY, forwarded_for) == PROXY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3.4:5678", "1.2.3.4"),
        ("1.2.3.4:0", "1.2.3.4"),
        ("1.2.3.4:65535", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[::1]", "::1"),
        ("[1.2.3.4]:80", "1.2.3.4"),
        (" 1.2.3.4 ", "1.2.3.4"),
    ],
)
def test_ports_brackets_and_spaces_are_stripped(text, expected):
    assert str(parse_address(text)) == expected


@pytest.mark.parametrize(
    ("forwarded_for", "expected"),
    [
        ("1.2.3.4:5678", "1.2.3.4"),
        ("[2001:db8::1]:443", "2001:db8::1"),
    ],
)
def test_a_hop_with_a_port_is_the_client(forwarded_for, expected):
    assert client_ip(PROXY, forwarded_for) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("[::ffff:203.0.113.7]:443", "203.0.113.7"),
        ("::ffff:cb00:7107", "203.0.113.7"),
    ],
)
def test_ipv4_mapped_ipv6_is_read_as_ipv4(text, expected):
    assert client_ip(PROXY, text) == expected


def test_ipv4_mapped_peer_is_matched_against_ipv4_proxies():
    assert client_ip("::ffff:10.0.0.1", "203.0.113.7") == "203.0.113.7"


def test_ipv4_mapped_trusted_proxy_is_read_as_ipv4():
    trusted = parse_trusted_proxies("::ffff:10.0.0.0/104")
    assert trusted.networks == (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:DB8::A", "2001:db8::a"),
        ("fe80::1%eth0", "fe80::1"),
        ("fe80::1%25", "fe80::1"),
        ("[fe80::1%eth0]:443", "fe80::1"),
    ],
)
def test_ipv6_comes_out_compressed_lowercase_without_zone(text, expected):
    assert client_ip(PROXY, text) == expected


def test_the_same_ipv6_address_gives_one_text_however_it_is_written():
    spellings = ["2001:db8::1", "2001:DB8:0::1", "[2001:db8::1]:80", "2001:db8::1%1"]
    assert {client_ip(PROXY, text) for text in spellings} == {"2001:db8::1"}


@pytest.mark.parametrize("text", ["1.2.3.4%eth0", "fe80::1%", "[fe80::1%]:443"])
def test_zone_ids_on_ipv4_or_empty_are_refused(text):
    assert parse_address(text) is None


@pytest.mark.parametrize("text", ["010.008.008.008", "010.8.8.8", "1.2.3.04", "0177.0.0.1"])
def test_leading_zeros_are_refused_not_read_as_octal(text):
    assert parse_address(text) is None


def test_leading_zeros_in_forwarded_for_fall_back_to_remote_addr():
    assert client_ip(PROXY, "010.008.008.008") == PROXY


def test_a_100_kb_forwarded_for_resolves_to_its_right_most_hop():
    header = "6.6.6.6, " * 12_000 + "203.0.113.7"
    assert len(header) > 100_000
    assert client_ip(PROXY, header) == "203.0.113.7"


def test_a_100_kb_single_hop_falls_back_to_remote_addr():
    assert client_ip(PROXY, "1" * 100_000) == PROXY


def test_thousands_of_joined_headers_resolve_to_the_right_most_hop():
    # WSGI joins repeated X-Forwarded-For headers with commas.
    header = ",".join(f"198.51.100.{i % 250}" for i in range(5000)) + ",203.0.113.7,10.0.0.2"
    assert client_ip(PROXY, header) == "203.0.113.7"


def test_hops_beyond_max_hops_are_not_read():
    header = "203.0.113.7, " + ", ".join(["10.0.0.2"] * 5)
    assert client_ip(PROXY, header, max_hops=5) == PROXY
    assert client_ip(PROXY, header, max_hops=6) == "203.0.113.7"


@pytest.mark.parametrize(
    "remote_addr",
    [None, "", " ", "unknown", "-", "garbage", "999.1.1.1", "010.008.008.008", "1" * 100_000],
)
def test_unusable_remote_addr_gives_none(remote_addr):
    assert client_ip(remote_addr, "203.0.113.7") is None


@pytest.mark.parametrize(
    ("remote_addr", "expected"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("198.51.100.7:5555", "198.51.100.7"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("[2001:DB8::7]:80", "2001:db8::7"),
    ],
)
def test_remote_addr_is_given_in_canonical_form(remote_addr, expected):
    assert client_ip(remote_addr) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", ()),
        (" , ,", ()),
        ("10.0.0.1", ("10.0.0.1/32",)),
        ("10.0.0.1/8", ("10.0.0.0/8",)),
        (" 10.0.0.0/8 , ::1 ", ("10.0.0.0/8", "::1/128")),
        (["192.0.2.0/24", "2001:db8::/32"], ("192.0.2.0/24", "2001:db8::/32")),
    ],
)
def test_parse_trusted_proxies_reads_ips_and_cidrs(spec, expected):
    trusted = parse_trusted_proxies(spec)
    assert tuple(str(network) for network in trusted.networks) == expected


@pytest.mark.parametrize(
    "item", ["bogus", "10.0.0.0/33", "1.2.3.4:80", "[::1]", "010.0.0.1", "10.0.0.0/8/8", "*"]
)
def test_parse_trusted_proxies_names_the_bad_item(item):
    with pytest.raises(ValueError, match="TRUSTED_PROXIES item") as raised:
        parse_trusted_proxies(f"10.0.0.1, {item}")
    assert repr(item) in str(raised.value)
