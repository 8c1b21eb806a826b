"""Resolve the client's IP address from REMOTE_ADDR and a trusted proxy's X-Forwarded-For.

Pure: no database, no settings. The rule (see README, "Client IP"):
REMOTE_ADDR is the client unless it is one of TRUSTED_PROXIES; then
X-Forwarded-For is read right to left, trusted proxies are skipped, and the
first untrusted hop is the client. Anything unparsable in that walk falls
back to REMOTE_ADDR, so an invalid hop can never be used to skip a check
(authentik CVE-2024-47070). So does a header whose right-most hops are all
trusted proxies (fewer hops than proxies): the client is not in it, and
django-allauth answered that case with a 500. The left-most hop is never
trusted for its own sake (django-axes #132, #224; django-defender #96).

Why not python-ipware: it matches trusted proxies by string prefix rather than
CIDR, walks several client-controlled headers by precedence, and picks the
"best" hop by address class; we need exactly the walk above.
"""

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Longest textual form of an address we accept, with brackets, zone and port;
# anything longer is junk and is not handed to ipaddress (CVE-2024-56374).
_MAX_ADDRESS_TEXT = 64
# A port as proxies write it: ASCII digits only (str.isdigit() also takes "¹" and "٥").
_PORT = re.compile(r"[0-9]{1,5}\Z")


def _is_port(text: str) -> bool:
    return bool(_PORT.match(text)) and int(text) <= 65535


@dataclass(frozen=True)
class TrustedProxies:
    """The networks whose X-Forwarded-For header is believed."""

    networks: tuple[IPNetwork, ...] = ()

    def __contains__(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def parse_trusted_proxies(spec: str | Iterable[str]) -> TrustedProxies:
    """Parse comma-separated IPs and CIDRs; raise ValueError naming the bad item."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    networks = []
    for item in (raw.strip() for raw in items):
        if not item:
            continue
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError as error:
            raise ValueError(f"TRUSTED_PROXIES item {item!r} is not an IP or CIDR") from error
        if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
            network = ipaddress.ip_network(
                f"{network.network_address.ipv4_mapped}/{max(network.prefixlen - 96, 0)}"
            )
        networks.append(network)
    return TrustedProxies(tuple(networks))


def parse_address(text: str | None) -> IPAddress | None:
    """Parse one address as a proxy writes it, or return None.

    Accepts `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`,
    `[::1]`; drops IPv6 zone ids (`fe80::1%eth0` is `fe80::1`, always); turns
    IPv4-mapped IPv6 into IPv4. Rejects leading zeros in IPv4 (`010.8.8.8` is
    not read as octal), ports outside 0-65535, and zone ids on IPv4 or empty.
    """
    if not text:
        return None
    text = text.strip()
    if not text or len(text) > _MAX_ADDRESS_TEXT:
        return None
    if text.startswith("["):
        end = text.find("]")
        if end == -1:
            return None
        rest = text[end + 1 :]
        if rest and not (rest.startswith(":") and _is_port(rest[1:])):
            return None
        text = text[1:end]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
        if not _is_port(port):
            return None
        text = host
    if "%" in text:
        text, _, zone = text.partition("%")
        if ":" not in text or not zone:
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def resolve_client_ip(
    *,
    remote_addr: str | None,
    forwarded_for: str | None,
    trusted: TrustedProxies,
    max_hops: int = 20,
) -> str | None:
    """Return the client's address in canonical text form, or None if REMOTE_ADDR is unusable."""
    peer = parse_address(remote_addr)
    if peer is None:
        return None
    if not forwarded_for or peer not in trusted:
        return str(peer)
    # Only the right-most hops matter, so only they are split and parsed.
    hops = forwarded_for.rsplit(",", max_hops)[-max_hops:]
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            return str(peer)
        if address not in trusted:
            return str(address)
    # Every hop read was one of ours: the client is not in the header.
    return str(peer)
