"""Which client an address counts as, for the throttles of the bot and the repairs service alike.

An IPv6 client is counted by its /64: one household or server holds a whole /64 and could otherwise take
a fresh address for every guess. An IPv4 address mapped into IPv6 counts as that IPv4 address.
"""

from __future__ import annotations

import ipaddress

MAX_UNPARSED = 100  # something that is not an address (a test client's name) is counted by its start


def client_network(host: str | None) -> str:
    """'2001:db8::1' -> '2001:db8::/64'; '::ffff:203.0.113.5' -> '203.0.113.5'; junk is kept, shortened."""
    raw = (host or "").strip()
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:MAX_UNPARSED]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)
