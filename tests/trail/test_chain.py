"""The chain's arithmetic (authlog/chain.py): pure, so tested with tables of cases."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from authlog import chain

KEYS = chain.ChainKeys.derive(b"k" * 32)
OTHER_KEYS = chain.ChainKeys.derive(b"o" * 32)
T = datetime(2026, 1, 10, 12, 0, 0, 120000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("203.0.113.7", "203.0.113.0"),
        ("203.0.113.0", "203.0.113.0"),  # idempotent: an anonymised value maps to itself
        ("10.255.255.255", "10.255.255.0"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::"),
        ("2001:db8:1234::", "2001:db8:1234::"),
        ("::1", "::"),
        ("::ffff:203.0.113.7", "203.0.113.0"),  # IPv4-mapped is treated as IPv4
        ("fe80::1%eth0", "fe80::"),  # a zone id is not part of the network
        ("unknown", chain.NOT_AN_ADDRESS),
        ("", chain.NOT_AN_ADDRESS),
        ("010.8.8.8", chain.NOT_AN_ADDRESS),
        (chain.NOT_AN_ADDRESS, chain.NOT_AN_ADDRESS),
        (None, None),
    ],
)
def test_ip_public_form_is_the_24_or_48_network(address, public):
    assert chain.ip_public_form(address) == public


@pytest.mark.parametrize(
    ("value", "canonical"),
    [
        (None, None),
        ("text", "text"),
        (7, 7),
        (True, 1),
        (T, "2026-01-10T12:00:00.120000Z"),
        (T.replace(tzinfo=None), "2026-01-10T12:00:00.120000Z"),  # naive means UTC
        (T.astimezone(timezone(timedelta(hours=5))), "2026-01-10T12:00:00.120000Z"),
    ],
)
def test_canonical_value_is_one_form_whichever_database_read_it(value, canonical):
    assert chain.canonical_value(value) == canonical


def test_canonical_value_refuses_types_it_cannot_hash_the_same_way_twice():
    with pytest.raises(TypeError):
        chain.canonical_value(1.5)


def content(**changes):
    fields = {
        "table": "login_logs",
        "values": [("id", 1), ("user_id", 2), ("timestamp", T), ("user_agent", "UA")],
        "ip_public": "203.0.113.0",
        "ip_digest": "a" * 32,
        "name_digest": None,
    }
    fields.update(changes)
    return chain.content_digest(**fields)


@pytest.mark.parametrize(
    "change",
    [
        {"table": "failed_logins"},
        {"values": [("id", 1), ("user_id", 3), ("timestamp", T), ("user_agent", "UA")]},
        {"values": [("id", 1), ("user_id", 2), ("timestamp", T + timedelta(microseconds=1)),
                    ("user_agent", "UA")]},
        {"values": [("id", 1), ("user_id", 2), ("timestamp", T), ("user_agent", "UA ")]},
        {"values": [("id", 1), ("user_id", 2), ("timestamp", T), ("user_agent", None)]},
        {"ip_public": "203.0.114.0"},
        {"ip_digest": "b" * 32},
        {"name_digest": "c" * 32},
    ],
)
def test_the_content_digest_commits_to_every_column(change):
    assert content(**change) != content()


def entry(keys=KEYS, **changes):
    fields = {
        "prev_hash": chain.GENESIS_HASH,
        "seq": 1,
        "table": "login_logs",
        "event_id": 1,
        "kind": "login",
        "event_time": T,
        "content_digest": "d" * 64,
    }
    fields.update(changes)
    return chain.entry_hash(keys, **fields)


@pytest.mark.parametrize(
    "change",
    [
        {"prev_hash": "1" * 64},
        {"seq": 2},
        {"table": "failed_logins"},
        {"event_id": 2},
        {"kind": "logout"},
        {"event_time": T + timedelta(seconds=1)},
        {"content_digest": "e" * 64},
    ],
)
def test_the_entry_hash_commits_to_its_place_and_to_the_entry_before(change):
    assert entry(**change) != entry()


def test_the_entry_hash_needs_the_key():
    assert entry(OTHER_KEYS) != entry()
    assert entry() == entry()


def test_the_address_digest_is_salted_and_keyed():
    assert chain.ip_digest(KEYS, "s1", "203.0.113.7") == chain.ip_digest(KEYS, "s1", "203.0.113.7")
    assert chain.ip_digest(KEYS, "s1", "203.0.113.7") != chain.ip_digest(KEYS, "s2", "203.0.113.7")
    assert chain.ip_digest(KEYS, "s1", "203.0.113.7") != chain.ip_digest(OTHER_KEYS, "s1", "203.0.113.7")
    assert chain.ip_digest(KEYS, "s1", "203.0.113.7") != chain.ip_digest(KEYS, "s1", "203.0.113.8")


def test_salts_are_fresh():
    assert len({chain.new_salt() for _ in range(100)}) == 100


def test_a_deleted_users_pseudonym_is_keyed_and_stable():
    name = chain.deleted_user_pseudonym(KEYS, 42)
    assert name.startswith(chain.DELETED_USER_PREFIX) and len(name) == 28
    assert name == chain.deleted_user_pseudonym(KEYS, 42)
    assert name != chain.deleted_user_pseudonym(KEYS, 43)
    assert name != chain.deleted_user_pseudonym(OTHER_KEYS, 42)


def test_short_keys_are_refused():
    with pytest.raises(ValueError):
        chain.ChainKeys.derive(b"short")


def checkpoint(**changes):
    fields = {"kind": "checkpoint", "seq": 41, "entry_hash": "f" * 64, "time": T}
    fields.update(changes)
    return chain.sign_checkpoint(KEYS, **fields)


def test_a_checkpoint_reads_back_as_written():
    written = checkpoint()
    assert chain.read_checkpoint(KEYS, written.document()) == written
    assert json.loads(written.document())["time"] == "2026-01-10T12:00:00.120000Z"


@pytest.mark.parametrize(
    ("field", "value"),
    [("seq", 40), ("entry_hash", "e" * 64), ("time", "2026-01-11T12:00:00.120000Z"),
     ("kind", "anchor")],
)
def test_an_edited_checkpoint_does_not_verify(field, value):
    data = json.loads(checkpoint().document())
    data[field] = value
    with pytest.raises(chain.CheckpointError, match="signature"):
        chain.read_checkpoint(KEYS, json.dumps(data))


def test_a_checkpoint_of_another_key_is_refused_as_such():
    with pytest.raises(chain.CheckpointError, match="another chain key"):
        chain.read_checkpoint(OTHER_KEYS, checkpoint().document())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"format": "something else"}',
        json.dumps({**json.loads(checkpoint().document()), "seq": "41"}),
        json.dumps({**json.loads(checkpoint().document()), "seq": True}),
        json.dumps({**json.loads(checkpoint().document()), "seq": -1}),
        json.dumps({**json.loads(checkpoint().document()), "entry_hash": "F" * 64}),
        json.dumps({**json.loads(checkpoint().document()), "kind": "other"}),
        json.dumps({**json.loads(checkpoint().document()), "signature": None}),
        " " * (chain.MAX_CHECKPOINT_TEXT + 1),
    ],
)
def test_malformed_checkpoints_are_refused_with_a_reason(text):
    with pytest.raises(chain.CheckpointError, match="checkpoint"):
        chain.read_checkpoint(KEYS, text)


def _reference_public_form(text: str) -> str:
    import ipaddress

    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return chain.NOT_AN_ADDRESS
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


@pytest.mark.parametrize(
    "text",
    ["0.0.0.0", "255.255.255.255", "256.0.0.1", "1.2.3.04", "1.2.3.4 ", " 1.2.3.4", "1..2.3",
     "1.2.3.4\n", "٣.2.3.4", "1.2.3.4.", "99.199.249.250", "250.251.252.253", "2001:db8::1",
     "::ffff:10.1.2.3", "1.2.3", "+1.2.3.4"],
)
def test_the_fast_ipv4_path_agrees_with_ipaddress(text):
    assert chain.ip_public_form(text) == _reference_public_form(text)
