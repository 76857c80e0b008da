"""Validate, sanitise and normalise photos uploaded by residents.

Everything a resident sends is treated as hostile until it has been decoded and
re-encoded here. ``process_photo`` is pure (bytes in, bytes out): no HTTP, no
database and no file system, so the API layer decides what to do with the result.

What comes out is always a freshly encoded, upright, sRGB JPEG that carries no
metadata at all: no EXIF (so no GPS position, camera serial or timestamps), no
XMP, no ICC profile, no comments.

Pillow's own decompression-bomb protection (``Image.MAX_IMAGE_PIXELS``) is
process-global, so it is never changed here; instead the pixel count read from
the image header is compared with ``max_pixels`` before any pixel data is decoded.
Pillow's own check still applies on top, and its error (or its warning, if the
process turns warnings into errors) is reported in the same way.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
from dataclasses import dataclass
from functools import cache

from PIL import Image, ImageCms, ImageOps

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SIDE",
    "JPEG_QUALITY",
    "PhotoRejected",
    "ProcessedPhoto",
    "process_photo",
]

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
DEFAULT_MAX_SIDE = 4096
JPEG_QUALITY = 85
OUTPUT_CONTENT_TYPE = "image/jpeg"

_WHITE = (255, 255, 255)

# Pillow plugin names we are willing to decode. "MPO" is not a plugin of its own:
# it is what Pillow calls a JPEG carrying the multi-picture extension, which many
# phone cameras write, so it comes through the JPEG plugin.
_BASE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
_FORMAT_ALIASES = {"MPO": "JPEG"}

# Errors Pillow raises from broken, truncated or hostile files while parsing or decoding.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, TypeError)
_BOMB_ERRORS = (Image.DecompressionBombError, Image.DecompressionBombWarning)

# Modes that carry an alpha channel and need flattening on to white.
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
# 16/32-bit greyscale modes that a plain convert("RGB") would clip to white.
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})


class PhotoRejected(Exception):
    """Raised with a plain-English ``message`` a resident can read, and a short ``code``.

    Codes: ``empty``, ``too_large``, ``not_an_image``, ``unsupported_format``,
    ``too_many_pixels``.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"PhotoRejected(code={self.code!r}, message={self.message!r})"


@dataclass(frozen=True)
class ProcessedPhoto:
    data: bytes  # re-encoded JPEG bytes, no EXIF/XMP/ICC/GPS, no comments
    content_type: str  # "image/jpeg"
    width: int
    height: int
    sha256: str  # hex digest of `data`


@cache
def _allowed_formats() -> tuple[str, ...]:
    """Plugins to try when opening, adding HEIF when pillow-heif is installed."""
    formats = list(_BASE_FORMATS)
    try:
        from pillow_heif import register_heif_opener  # optional dependency
    except ImportError:
        pass
    else:
        register_heif_opener()
    Image.init()
    if "HEIF" in Image.OPEN:
        formats.append("HEIF")
    return tuple(formats)


def _describe_limit(max_bytes: int) -> str:
    mb = max_bytes / (1024 * 1024)
    if mb >= 1:
        return f"{round(mb, 1):g} MB"
    return f"{max(1, round(max_bytes / 1024)):g} KB"


def _accepted_formats_text() -> str:
    names = ["JPEG", "PNG", "WebP", "GIF", "BMP", "TIFF"]
    if "HEIF" in _allowed_formats():
        names.append("HEIC")
    return ", ".join(names[:-1]) + " or " + names[-1]


def _too_large(max_bytes: int) -> PhotoRejected:
    return PhotoRejected(
        "too_large",
        f"This photo is too big to upload. Please send a photo smaller than {_describe_limit(max_bytes)}.",
    )


def _not_an_image() -> PhotoRejected:
    return PhotoRejected(
        "not_an_image",
        "We couldn't open this file as a photo. It may be damaged or not a picture. "
        "Please take the photo again or choose a different one.",
    )


def _unsupported_format() -> PhotoRejected:
    return PhotoRejected(
        "unsupported_format",
        f"We can't accept this type of picture. Please send a {_accepted_formats_text()} photo.",
    )


def _too_many_pixels() -> PhotoRejected:
    return PhotoRejected(
        "too_many_pixels",
        "This picture is too large for us to process. "
        "Please send a smaller photo, for example one taken with your phone's normal camera settings.",
    )


def _classify_unreadable(raw: bytes) -> PhotoRejected:
    """Work out why the allowed plugins could not open ``raw``.

    Uses every Pillow plugin, but only to read the header (nothing is decoded), so
    the resident can be told "wrong kind of picture" rather than "not a picture".
    """
    try:
        with Image.open(io.BytesIO(raw)):
            pass
    except _BOMB_ERRORS:
        return _unsupported_format()
    except Exception:  # anything else means no plugin recognised it
        return _not_an_image()
    return _unsupported_format()


def _open_first_frame(raw: bytes, *, max_pixels: int, max_side: int) -> Image.Image:
    """Open ``raw`` with the allowed plugins, check its size, decode only the first frame."""
    try:
        img = Image.open(io.BytesIO(raw), formats=_allowed_formats())
    except _BOMB_ERRORS as exc:
        raise _too_many_pixels() from exc
    except Image.UnidentifiedImageError:
        raise _classify_unreadable(raw) from None
    except _DECODE_ERRORS as exc:
        raise _not_an_image() from exc

    fmt = _FORMAT_ALIASES.get(img.format or "", img.format)
    if fmt not in _allowed_formats():  # belt and braces: a plugin may report another name
        img.close()
        raise _unsupported_format()

    # The header has been parsed but no pixel data decoded yet.
    width, height = img.size
    if width <= 0 or height <= 0:
        img.close()
        raise _not_an_image()
    if width * height > max_pixels:
        img.close()
        raise _too_many_pixels()

    # Image.open leaves multi-frame images (animated GIF/WEBP, APNG, multi-page
    # TIFF, MPO) on their first frame; only that frame is ever decoded. Asking for
    # n_frames would walk the whole file, so it is deliberately not used.
    try:
        # Lets libjpeg decode large JPEGs at 1/2, 1/4 or 1/8 scale when that still
        # leaves at least max_side pixels on each side (a no-op for other formats).
        img.draft(None, (max_side, max_side))
        img.load()
    except _BOMB_ERRORS as exc:
        img.close()
        raise _too_many_pixels() from exc
    except _DECODE_ERRORS as exc:
        # Includes "image file is truncated" (unless some other code in the process
        # has set ImageFile.LOAD_TRUNCATED_IMAGES, which is global and not ours).
        img.close()
        raise _not_an_image() from exc
    return img


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation so the photo stays upright once metadata is stripped."""
    try:
        return ImageOps.exif_transpose(img)
    except (*_DECODE_ERRORS, KeyError, AttributeError, ZeroDivisionError):
        # Malformed EXIF: keep the pixels as stored rather than refuse the photo.
        logger.info("Ignoring unreadable EXIF orientation in uploaded photo")
        return img


def _wide_grey_to_8bit(img: Image.Image) -> Image.Image:
    """Scale 16-bit greyscale to 8-bit instead of letting convert() clip it to white."""
    return img.convert("I").point(lambda value: value * (1 / 256)).convert("L")


def _to_srgb(img: Image.Image, icc_profile: bytes) -> Image.Image:
    """Convert RGB/CMYK pixels from their embedded ICC profile to sRGB, if possible.

    The profile itself is then dropped, so colours from e.g. Display P3 or CMYK
    photos still look right without any profile attached.
    """
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(img, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, *_DECODE_ERRORS):
        logger.info("Ignoring unusable ICC profile in uploaded photo")
        return img
    return converted if converted is not None else img


def _to_rgb(img: Image.Image, icc_profile: bytes | None) -> Image.Image:
    if img.mode in _WIDE_GREY_MODES:
        img = _wide_grey_to_8bit(img)
    elif img.mode == "F":
        img = img.convert("L")

    if img.mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*_WHITE, 255))
        background.alpha_composite(rgba)
        img = background.convert("RGB")

    if icc_profile and img.mode in ("RGB", "CMYK"):
        img = _to_srgb(img, icc_profile)

    if img.mode != "RGB":
        img = img.convert("RGB")
    return img


def _encode_jpeg(img: Image.Image) -> bytes:
    # Copy the pixels into a brand-new image so that nothing in the source's
    # ``info`` (exif, xmp, icc_profile, comment, dpi...) can reach the encoder:
    # Pillow's JPEG writer falls back to ``im.info["comment"]``, for example.
    clean = Image.new("RGB", img.size, _WHITE)
    clean.paste(img)
    out = io.BytesIO()
    clean.save(
        out,
        format="JPEG",
        quality=JPEG_QUALITY,
        optimize=True,
        exif=b"",
        icc_profile=None,
        comment=b"",
    )
    return out.getvalue()


def process_photo(
    raw: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_side: int = DEFAULT_MAX_SIDE,
) -> ProcessedPhoto:
    """Validate ``raw`` and return it as a clean, upright, metadata-free JPEG.

    Raises ``PhotoRejected`` (with a resident-readable ``message`` and a ``code``)
    for anything that should not be stored.
    """
    if max_bytes <= 0 or max_pixels <= 0 or max_side <= 0:
        raise ValueError("max_bytes, max_pixels and max_side must be positive")

    if not raw:
        raise PhotoRejected(
            "empty", "The photo was empty. Please take the photo again or choose another one."
        )
    if len(raw) > max_bytes:
        raise _too_large(max_bytes)

    img = _open_first_frame(bytes(raw), max_pixels=max_pixels, max_side=max_side)
    try:
        icc_profile = img.info.get("icc_profile")
        if not isinstance(icc_profile, bytes):
            icc_profile = None
        upright = _upright(img)
        rgb = _to_rgb(upright, icc_profile)
        if max(rgb.size) > max_side:
            rgb.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
        data = _encode_jpeg(rgb)
        width, height = rgb.size
    except _BOMB_ERRORS as exc:
        raise _too_many_pixels() from exc
    except (OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        # Pixel data that decoded but cannot be converted (e.g. an exotic TIFF mode).
        raise _not_an_image() from exc
    finally:
        img.close()

    return ProcessedPhoto(
        data=data,
        content_type=OUTPUT_CONTENT_TYPE,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
    )
