"""Parse an IP-or-CIDR filter and give addresses a sortable key, so a network is one key range.

Pure: no database, no settings. The trail stores addresses as canonical text
(`203.0.113.7`, `2001:db8::1`), whose order is not numeric and whose IPv6
compression hides prefixes, so a CIDR cannot be matched on the text. Every
address gets a key instead: 32 hex digits of its 128-bit IPv6 form (IPv4 as
`::ffff:a.b.c.d`), and a network is the range [first key, last key].
"""

import ipaddress

from authlog.client_ip import IPAddress, IPNetwork, parse_address

_MAPPED_V4 = 0xFFFF << 32


def address_key(address: IPAddress) -> str:
    """Return the sortable key of an address."""
    value = int(address)
    if address.version == 4:
        value |= _MAPPED_V4
    return f"{value:032x}"


def address_text_key(text: str | None) -> str | None:
    """Return the key of an address as the trail stores it, or None if it is not one."""
    address = parse_address(text)
    return address_key(address) if address is not None else None


def network_key_range(network: IPNetwork) -> tuple[str, str]:
    """Return the first and last key of a network."""
    return address_key(network.network_address), address_key(network.broadcast_address)


def parse_network(text: str) -> IPNetwork | None:
    """Parse `10.1.0.0/16` or `2001:db8::/48` (host bits are dropped), or return None.

    An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) becomes the IPv4 one,
    as the trail stores mapped addresses as IPv4.
    """
    text = text.strip()
    if "/" not in text or len(text) > 64:
        return None
    host, _, prefix = text.partition("/")
    # ASCII digits only: int() would also take "+8", " 8" and "٨".
    if not (prefix.isascii() and prefix.isdigit() and len(prefix) <= 3):
        return None
    try:
        network = ipaddress.ip_network(f"{host.strip()}/{int(prefix)}", strict=False)
    except ValueError:
        return None
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is not None and network.prefixlen >= 96:
        network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
    return network
