"""The arithmetic of the trail's hash chain: canonical content, keyed digests, entry hashes, checkpoints.

Pure: no database, no settings; the key is an argument (authlog/trail.py
reads it from the settings). Every event is chained as

    content_digest = SHA-256(canonical JSON of its columns, with the IP as its
                     /24 or /48 prefix plus a salted keyed digest of the full
                     address, and the name typed as a keyed digest)
    entry_hash     = HMAC-SHA256(key, [seq, table, id, kind, time,
                     content_digest, previous entry_hash])

so that the IP can be anonymised to its prefix (the prefix is what the hash
commits to; the digest stays) and an event can be pruned (its chain entry
still verifies on its own). Why HMAC and not a plain SHA-256 chain: with a
plain hash, anyone who can write to the database can recompute every hash
after the row they changed; with a key that lives outside the database they
cannot (README, "For a security reviewer").

Keys rotate: each entry records the id of the key it was hashed with
(authlog/trail.py keeps the current key and the retired ones), and a key
change is itself an entry, countersigned by every key it retires
(`key_change_signature`).

Known limits: a key holder can rewrite the chain (only a checkpoint copied
elsewhere, or the event stream, shows it); the salt of an anonymised address
is deleted, so its digest then proves nothing more about the host part.
"""

import hashlib
import hmac
import ipaddress
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

FORMAT = "authlog-chain/1"
CHECKPOINT_FORMAT = "authlog-checkpoint/1"
GENESIS_HASH = "0" * 64
# An IP column holding text that is not an address commits to this public form.
NOT_AN_ADDRESS = "not-an-address"
DELETED_USER_PREFIX = "deleted:"
CHECKPOINT_KINDS = ("checkpoint", "anchor")
# A checkpoint file is a few hundred bytes; anything longer is not one.
MAX_CHECKPOINT_TEXT = 4096
_HEX64 = frozenset("0123456789abcdef")
IPV4_PREFIX, IPV6_PREFIX = 24, 48


class CheckpointError(ValueError):
    """A checkpoint that cannot be trusted; the message says why and is safe to show."""


@dataclass(frozen=True)
class ChainKeys:
    """Sub-keys derived from the one chain key, one per use (domain separation)."""

    entry: bytes
    ip: bytes
    name: bytes
    checkpoint: bytes
    pseudonym: bytes
    key_id: str

    @classmethod
    def derive(cls, key: bytes) -> "ChainKeys":
        """Derive every sub-key from the chain key."""
        if len(key) < 16:
            raise ValueError("the chain key must be at least 16 bytes")

        def sub(label: str) -> bytes:
            return hmac.new(key, f"authlog.chain.{label}".encode(), hashlib.sha256).digest()

        return cls(
            entry=sub("entry"),
            ip=sub("ip"),
            name=sub("name"),
            checkpoint=sub("checkpoint"),
            pseudonym=sub("pseudonym"),
            key_id=sub("key-id").hex()[:16],
        )


_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def _json(value: object) -> bytes:
    return _encode(value).encode()


def _hmac(key: bytes, message: bytes) -> str:
    return hmac.digest(key, message, "sha256").hex()


def canonical_time(value: datetime | None) -> str | None:
    """Return a timestamp as fixed-width UTC text with microseconds (naive means UTC)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds") + "Z"


def canonical_value(value: object) -> object:
    """Return a column's value in the one form that is hashed, whichever database read it."""
    kind = type(value)
    if value is None or kind is str or kind is int:
        return value
    if isinstance(value, datetime):
        return canonical_time(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    raise TypeError(f"cannot chain a value of type {kind.__name__}")


# A dotted quad exactly as ipaddress reads one: no leading zeros, each octet at most 255.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_DOTTED_QUAD = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET})\.{_OCTET}\Z", re.ASCII)


@lru_cache(maxsize=16384)
def ip_public_form(text: str | None) -> str | None:
    """Return what survives anonymisation of an address: its /24 (IPv4) or /48 (IPv6) network.

    Idempotent, so an anonymised value maps to itself; text that is not an
    address maps to NOT_AN_ADDRESS.
    """
    if text is None:
        return None
    quad = _DOTTED_QUAD.match(text)
    if quad is not None:
        # The common case, without ipaddress's cost: a dotted quad is its own canonical form.
        return quad.group(1) + ".0"
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return NOT_AN_ADDRESS
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.version == 4:
        mask = (0xFFFFFFFF << (32 - IPV4_PREFIX)) & 0xFFFFFFFF
        return str(ipaddress.IPv4Address(int(address) & mask))
    mask = ((1 << 128) - 1) ^ ((1 << (128 - IPV6_PREFIX)) - 1)
    # int() drops a zone id ("fe80::1%eth0"), which is not part of the network.
    return str(ipaddress.IPv6Address(int(address) & mask))


def new_salt() -> str:
    """Return a fresh random salt for one event's address digest."""
    return os.urandom(16).hex()


def ip_digest(keys: ChainKeys, salt: str, address: str) -> str:
    """Return the salted, keyed digest of a full address (hiding once the salt is deleted)."""
    # The salt is 32 hex digits: "salt|address" cannot be read two ways.
    return _hmac(keys.ip, f"{salt}|{address}".encode("utf-8", "surrogatepass"))[:32]


def name_digest(keys: ChainKeys, name: str) -> str:
    """Return the keyed digest of the name typed at a failed sign-in."""
    return _hmac(keys.name, name.encode("utf-8", "surrogatepass"))[:32]


def deleted_user_pseudonym(keys: ChainKeys, user_id: int) -> str:
    """Return the name under which a deleted user's events are kept."""
    digest = _hmac(keys.pseudonym, str(user_id).encode())
    return f"{DELETED_USER_PREFIX}{digest[:20]}"


def content_digest(
    *,
    table: str,
    values: Sequence[tuple[str, object]],
    ip_public: str | None,
    ip_digest: str | None,
    name_digest: str | None,
) -> str:
    """Return the SHA-256 of an event's canonical content."""
    # Column names are fixed per table and FORMAT: the values alone, in order, are hashed.
    document = [FORMAT, table, [canonical_value(value) for _name, value in values],
                ip_public, ip_digest, name_digest]
    return hashlib.sha256(_json(document)).hexdigest()


def entry_hash(
    keys: ChainKeys,
    *,
    prev_hash: str,
    seq: int,
    table: str,
    event_id: int,
    kind: str,
    event_time: datetime | None,
    content_digest: str,
) -> str:
    """Return the keyed hash that links an event to the one before it."""
    # Every field is an integer, an identifier, a fixed-format time or hex: "|" separates them
    # unambiguously (cheaper than JSON on the path every event takes).
    message = f"{FORMAT}|{seq}|{table}|{event_id}|{kind}|{canonical_time(event_time)}|{content_digest}|{prev_hash}"
    return _hmac(keys.entry, message.encode())


def same_digest(a: str | None, b: str | None) -> bool:
    """Compare two digests in constant time; None equals only None."""
    if a is None or b is None:
        return a is b
    return hmac.compare_digest(a, b)


# --- Checkpoints ---------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that the chain's entry `seq` had hash `entry_hash` at `time`."""

    kind: str
    seq: int
    entry_hash: str
    time: str
    key_id: str
    signature: str

    def document(self) -> str:
        """Return the checkpoint as the one-line JSON an operator copies elsewhere."""
        return json.dumps(
            {
                "format": CHECKPOINT_FORMAT,
                "kind": self.kind,
                "seq": self.seq,
                "entry_hash": self.entry_hash,
                "time": self.time,
                "key_id": self.key_id,
                "signature": self.signature,
            },
            sort_keys=True,
            separators=(",", ":"),
        )


def _checkpoint_signature(keys: ChainKeys, kind: str, seq: int, entry: str, time: str) -> str:
    message = _json([CHECKPOINT_FORMAT, kind, seq, entry, time, keys.key_id])
    return _hmac(keys.checkpoint, message)


def sign_checkpoint(keys: ChainKeys, *, kind: str, seq: int, entry_hash: str, time: datetime) -> Checkpoint:
    """Return a signed checkpoint of entry `seq`."""
    if kind not in CHECKPOINT_KINDS:
        raise ValueError(f"checkpoint kind must be one of {CHECKPOINT_KINDS}")
    stamp = canonical_time(time)
    return Checkpoint(
        kind=kind,
        seq=seq,
        entry_hash=entry_hash,
        time=stamp,
        key_id=keys.key_id,
        signature=_checkpoint_signature(keys, kind, seq, entry_hash, stamp),
    )


def _is_hex64(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX64


def read_checkpoint(keys: "ChainKeys | Mapping[str, ChainKeys]", text: str) -> Checkpoint:
    """Parse a checkpoint document and check its signature; raise CheckpointError if it fails.

    `keys` is one key, or every configured key by key id (a checkpoint signed
    before a rotation is checked with the retired key that signed it).
    """
    keyring = {keys.key_id: keys} if isinstance(keys, ChainKeys) else keys
    if len(text) > MAX_CHECKPOINT_TEXT:
        raise CheckpointError("not a checkpoint: too long")
    try:
        data = json.loads(text)
    except ValueError:
        raise CheckpointError("not a checkpoint: not JSON") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"not a checkpoint: expected format {CHECKPOINT_FORMAT!r}")
    kind, seq, entry, time = data.get("kind"), data.get("seq"), data.get("entry_hash"), data.get("time")
    key_id, signature = data.get("key_id"), data.get("signature")
    if (
        kind not in CHECKPOINT_KINDS
        or type(seq) is not int
        or seq < 0
        or not _is_hex64(entry)
        or not isinstance(time, str)
        or len(time) > 40
        or not isinstance(key_id, str)
        or not _is_hex64(signature)
    ):
        raise CheckpointError("not a checkpoint: a field is missing or malformed")
    keys = keyring.get(key_id)
    if keys is None:
        raise CheckpointError(
            f"the checkpoint was signed with another chain key (key id {key_id[:16]!r},"
            f" this server has {', '.join(repr(k) for k in keyring)})"
        )
    if not hmac.compare_digest(signature, _checkpoint_signature(keys, kind, seq, entry, time)):
        raise CheckpointError("the checkpoint's signature does not verify: it was altered")
    return Checkpoint(kind=kind, seq=seq, entry_hash=entry, time=time, key_id=key_id, signature=signature)


# --- Key rotation ------------------------------------------------------------------

KEY_CHANGE_FORMAT = "authlog-key-change/1"


def key_change_signature(retired: ChainKeys, *, through_seq: int, head_hash: str, new_key_id: str) -> str:
    """Return a retired key's consent to hand the chain, from entry `through_seq`, to key `new_key_id`."""
    message = _json([KEY_CHANGE_FORMAT, retired.key_id, through_seq, head_hash, new_key_id])
    return _hmac(retired.checkpoint, message)
