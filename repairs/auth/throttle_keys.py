"""The keys every throttle counts under: an HMAC-SHA256 of what it counts (a client address, a chat, a
tenancy reference, a postcode) with the service secret, REPAIRS_SECRET_KEY.

A plain hash would do to find the rows again, but not to keep what they count private: there are only
about four billion IPv4 addresses and 1.8 million postcodes, so anyone who read the table could hash them
all and match. Keyed, the rows say nothing without the secret. Each scope is part of what is hashed, so
the same value counted by two throttles gives two unrelated keys.
"""

from __future__ import annotations

import hashlib
import hmac

from repairs.problems import Problem
from repairs.settings import Settings


def throttle_secret(settings: Settings) -> bytes:
    """The secret throttle keys are made with. Without one the service cannot count attempts privately,
    so the endpoints that need it answer 503 (our set-up, never the caller's mistake)."""
    if settings.secret_key is None or not settings.secret_key.get_secret_value():
        raise Problem(503, "not_set_up", "Not set up", "The service has no REPAIRS_SECRET_KEY.")
    return settings.secret_key.get_secret_value().encode()


def throttle_key(secret: bytes, scope: str, value: str) -> str:
    """64 hex characters: the width of the throttle tables' key_hash columns."""
    message = f"throttle\x1f{scope}\x1f{value}".encode("utf-8", "surrogatepass")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()
