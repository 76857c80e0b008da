"""Random tokens and how they are kept: only a sha256 digest is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time comparison, so response timing says nothing about how much of a token matched."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass"))


def read_or_create_secret(path: Path, nbytes: int = 32) -> str:
    """A local secret kept in a file only its owner can read (demo mode), made on first use, so that
    restarts and the other local processes see the same value."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = new_token(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value
