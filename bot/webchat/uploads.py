"""Photos from the page, checked at the edge before they go anywhere: a size cap while the body is read
(a large upload is cut off, not buffered), and the file's own first bytes must say it is an image of a
type the repairs service takes. The service checks and re-encodes it again, and strips its metadata."""

from __future__ import annotations

from collections.abc import AsyncIterator

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}


class TooLarge(Exception):
    pass


def sniff(data: bytes) -> str | None:
    """The image type the file's first bytes show, if it is one we take."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    return None


async def read_capped(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    body = bytearray()
    async for chunk in chunks:
        body.extend(chunk)
        if len(body) > limit:
            raise TooLarge
    return bytes(body)
