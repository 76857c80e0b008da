"""Where processed photos live.

Callers depend only on the ``PhotoStore`` protocol, so an object-store backend
(S3 or similar) can be added later without touching them. ``FilesystemPhotoStore``
is the local implementation.

Storage keys are generated here from a cryptographically random token: they
contain no user input and cannot be guessed, e.g. ``3f/3fa8c0...e1.jpg``.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = ["EXTENSIONS", "FilesystemPhotoStore", "PhotoStore", "is_valid_key", "new_key"]

# Content types a store will accept, and the file extension used for each.
EXTENSIONS: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
}

_TOKEN_BYTES = 16  # 128 bits of randomness
_KEY_RE = re.compile(r"([0-9a-f]{2})/(\1[0-9a-f]{30})\.(" + "|".join(EXTENSIONS.values()) + r")")

FILE_MODE = 0o640
DIR_MODE = 0o750


@runtime_checkable
class PhotoStore(Protocol):
    def save(self, data: bytes, *, content_type: str) -> str:
        """Store ``data`` and return a new random storage key."""
        ...

    def open(self, key: str) -> bytes:
        """Return the stored bytes. Raises ``KeyError`` if missing or invalid."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object if present (idempotent). Raises ``KeyError`` if invalid."""
        ...


def new_key(content_type: str) -> str:
    """A fresh random key with a two-character fan-out prefix, e.g. ``ab/ab12...ef.jpg``."""
    try:
        extension = EXTENSIONS[content_type]
    except KeyError:
        raise ValueError(f"unsupported content type for photo storage: {content_type!r}") from None
    token = secrets.token_hex(_TOKEN_BYTES)
    return f"{token[:2]}/{token}.{extension}"


def is_valid_key(key: object) -> bool:
    return isinstance(key, str) and _KEY_RE.fullmatch(key) is not None


class FilesystemPhotoStore:
    """Stores each photo as a file under ``root`` (created on first save).

    Files are written atomically (a temporary file in the destination directory,
    flushed and fsynced, then ``os.replace``), with permissions 0o640.
    """

    def __init__(self, root: Path | str):
        self._root = Path(root)

    @property
    def root(self) -> Path:
        return self._root

    def _path_for(self, key: str) -> Path:
        """Map a key to its file, refusing anything that is not a key we generate."""
        if not is_valid_key(key):
            raise KeyError(key)
        path = self._root / key
        # Defence in depth: the pattern already rules out "..", absolute paths and
        # separators, but also refuse a fan-out directory symlinked out of the root.
        root = self._root.resolve()
        if not path.resolve().is_relative_to(root):
            raise KeyError(key)
        return path

    def save(self, data: bytes, *, content_type: str) -> str:
        key = new_key(content_type)
        path = self._path_for(key)
        while path.exists():  # 128-bit tokens: a collision is never expected
            key = new_key(content_type)
            path = self._path_for(key)

        directory = path.parent
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)

        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fh.fileno(), FILE_MODE)  # independent of the process umask
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise
        _fsync_directory(directory)
        return key

    def open(self, key: str) -> bytes:
        path = self._path_for(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        path = self._path_for(key)
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            path.unlink()


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable. Best effort: not every platform allows it."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)
