"""Photo processing (validation, sanitising, re-encoding) and photo storage.

Every image is generated here with Pillow; no fixture files are committed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import os
import re
import stat
import struct
import sys
import warnings
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile, PngImagePlugin

if importlib.util.find_spec("repairs") is None:  # plain `pytest` without the repo root on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from repairs.photos import processing
from repairs.photos.processing import PhotoRejected, ProcessedPhoto, process_photo
from repairs.photos.storage import FilesystemPhotoStore, PhotoStore

RED = (220, 20, 20)
BLUE = (20, 20, 220)
GREEN = (20, 200, 20)
KEY_RE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{32}\.jpg")


# --------------------------------------------------------------------------- helpers


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def solid(size: tuple[int, int] = (64, 48), colour: tuple[int, ...] = RED, mode: str = "RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def reopen(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def assert_close(pixel: object, expected: tuple[int, int, int], tolerance: int = 40) -> None:
    assert isinstance(pixel, tuple)
    assert all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True)), (pixel, expected)


def assert_clean_jpeg(photo: ProcessedPhoto) -> Image.Image:
    assert photo.content_type == "image/jpeg"
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    out = reopen(photo.data)
    assert out.format == "JPEG"
    assert out.mode == "RGB"
    assert out.size == (photo.width, photo.height)
    assert len(out.getexif()) == 0
    for key in ("exif", "icc_profile", "comment", "xmp", "XML:com.adobe.xmp", "transparency"):
        assert key not in out.info, key
    assert b"Exif" not in photo.data
    assert b"ICC_PROFILE" not in photo.data
    assert b"http://ns.adobe.com/xap" not in photo.data
    return out


def exif_with_location() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS 5D Mark IV"
    exif[ExifTags.Base.BodySerialNumber] = "SERIAL-0123456789"
    exif[ExifTags.Base.DateTime] = "2024:03:01 09:15:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    return exif


def exif_orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = value
    return exif


def left_red_right_blue(size: tuple[int, int] = (20, 10)) -> Image.Image:
    img = solid(size, RED)
    img.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    return img


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def bomb_png(width: int, height: int) -> bytes:
    """A complete, valid 1-bit greyscale PNG of the given size that compresses to almost nothing."""
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + all-black pixels
    compressor = zlib.compressobj(9)
    chunks = []
    rows_per_block = 1024
    block = row * rows_per_block
    for start in range(0, height, rows_per_block):
        count = min(rows_per_block, height - start)
        chunks.append(compressor.compress(block if count == rows_per_block else row * count))
    chunks.append(compressor.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", b"".join(chunks))
        + png_chunk(b"IEND", b"")
    )


def jpeg_claiming_size(width: int, height: int) -> bytes:
    """A small JPEG whose SOF header has been rewritten to claim a huge size."""
    data = bytearray(encode(solid((16, 16)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any pixel data is decoded."""

    def forbidden(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden)


# ----------------------------------------------------------------- accepted formats


@pytest.mark.parametrize(
    ("fmt", "params"),
    [
        ("JPEG", {"quality": 95}),
        ("PNG", {}),
        ("WEBP", {"quality": 95}),
        ("GIF", {}),
        ("BMP", {}),
        ("TIFF", {}),
        ("TIFF", {"compression": "tiff_lzw"}),
    ],
)
def test_supported_formats_are_re_encoded_as_jpeg(fmt: str, params: dict[str, object]) -> None:
    raw = encode(left_red_right_blue((80, 40)), fmt, **params)

    photo = process_photo(raw)

    out = assert_clean_jpeg(photo)
    assert (photo.width, photo.height) == (80, 40)
    assert_close(out.getpixel((10, 20)), RED)
    assert_close(out.getpixel((70, 20)), BLUE)


def test_jpeg_input_is_re_encoded_not_passed_through() -> None:
    raw = encode(solid((64, 64)), "JPEG", quality=100)
    photo = process_photo(raw)
    assert photo.data != raw
    assert_clean_jpeg(photo)


def test_processing_is_deterministic() -> None:
    raw = encode(left_red_right_blue((64, 32)), "PNG")
    assert process_photo(raw) == process_photo(raw)


def test_animated_gif_uses_first_frame() -> None:
    frames = [solid((40, 30), colour) for colour in (RED, BLUE, GREEN)]
    raw = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(io.BytesIO(raw)) as check:
        assert check.n_frames == 3  # type: ignore[attr-defined]

    photo = process_photo(raw)

    out = assert_clean_jpeg(photo)
    assert out.size == (40, 30)
    assert_close(out.getpixel((20, 15)), RED)


def test_animated_webp_uses_first_frame() -> None:
    frames = [solid((40, 30), colour) for colour in (BLUE, RED, GREEN)]
    raw = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100, lossless=True)
    with Image.open(io.BytesIO(raw)) as check:
        assert check.n_frames == 3  # type: ignore[attr-defined]

    photo = process_photo(raw)

    out = assert_clean_jpeg(photo)
    assert out.size == (40, 30)
    assert_close(out.getpixel((20, 15)), BLUE)


def test_multi_picture_jpeg_from_phone_camera_is_accepted() -> None:
    raw = encode(solid((40, 30), GREEN), "MPO", save_all=True, append_images=[solid((40, 30), RED)])
    with Image.open(io.BytesIO(raw)) as check:
        assert check.format == "MPO"

    out = assert_clean_jpeg(process_photo(raw))
    assert_close(out.getpixel((20, 15)), GREEN)


def test_transparent_png_is_flattened_on_white() -> None:
    img = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    img.paste((*RED, 255), (0, 0, 20, 20))

    out = assert_clean_jpeg(process_photo(encode(img, "PNG")))

    assert_close(out.getpixel((5, 10)), RED)
    assert_close(out.getpixel((35, 10)), (255, 255, 255), tolerance=5)


def test_palette_png_with_transparent_index_is_flattened_on_white() -> None:
    img = Image.new("P", (40, 20), 0)
    img.putpalette([0, 0, 0, *RED] + [0] * (256 - 2) * 3)
    img.paste(1, (0, 0, 20, 20))
    raw = encode(img, "PNG", transparency=0)

    out = assert_clean_jpeg(process_photo(raw))

    assert_close(out.getpixel((5, 10)), RED)
    assert_close(out.getpixel((35, 10)), (255, 255, 255), tolerance=5)


def test_sixteen_bit_greyscale_png_is_scaled_not_clipped() -> None:
    raw = encode(Image.new("I;16", (20, 20), 32768), "PNG")
    out = assert_clean_jpeg(process_photo(raw))
    assert_close(out.getpixel((10, 10)), (128, 128, 128), tolerance=8)


def test_cmyk_jpeg_becomes_rgb() -> None:
    raw = encode(Image.new("CMYK", (30, 30), (0, 255, 255, 0)), "JPEG")
    out = assert_clean_jpeg(process_photo(raw))
    assert_close(out.getpixel((15, 15)), (255, 0, 0), tolerance=30)


# ----------------------------------------------------------------- metadata removal


def test_exif_gps_camera_details_xmp_icc_and_comment_are_stripped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = encode(
        solid((64, 48)),
        "JPEG",
        exif=exif_with_location(),
        icc_profile=srgb,
        comment=b"taken at 12 Acacia Avenue",
        xmp=b"<x:xmpmeta><exif:GPSLatitude>51,30.2N</exif:GPSLatitude></x:xmpmeta>",
    )
    # The input really does carry the metadata we expect to be removed.
    with Image.open(io.BytesIO(raw)) as before:
        assert before.getexif()[ExifTags.Base.Model] == "Canon EOS 5D Mark IV"
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] == "N"
        assert {"exif", "icc_profile", "comment", "xmp"} <= before.info.keys()

    photo = process_photo(raw)

    out = assert_clean_jpeg(photo)
    assert out.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    for secret in (b"Canon", b"SERIAL-0123456789", b"Acacia", b"GPSLatitude", b"2024:03:01"):
        assert secret not in photo.data


def test_png_exif_and_text_chunks_are_stripped() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "my address is 12 Acacia Avenue")
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS</x:xmpmeta>")
    raw = encode(solid((40, 30)), "PNG", exif=exif_with_location(), pnginfo=text)
    with Image.open(io.BytesIO(raw)) as before:
        assert before.getexif()[ExifTags.Base.Make] == "Canon"

    photo = process_photo(raw)

    assert_clean_jpeg(photo)
    assert b"Acacia" not in photo.data
    assert b"Canon" not in photo.data


def test_webp_exif_is_stripped() -> None:
    raw = encode(solid((40, 30)), "WEBP", exif=exif_with_location())
    with Image.open(io.BytesIO(raw)) as before:
        assert before.getexif()[ExifTags.Base.Make] == "Canon"

    photo = process_photo(raw)

    assert_clean_jpeg(photo)
    assert b"Canon" not in photo.data


def test_embedded_icc_profile_is_applied_then_dropped() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = encode(solid((30, 30), GREEN), "PNG", icc_profile=profile)

    out = assert_clean_jpeg(process_photo(raw))

    assert_close(out.getpixel((15, 15)), GREEN)


def test_unusable_icc_profile_is_ignored_not_fatal() -> None:
    raw = encode(solid((30, 30), GREEN), "JPEG", icc_profile=b"definitely not an ICC profile")
    out = assert_clean_jpeg(process_photo(raw))
    assert_close(out.getpixel((15, 15)), GREEN)


# ----------------------------------------------------------------------- orientation


def test_exif_orientation_is_applied_before_metadata_is_stripped() -> None:
    # Stored 20x10, left half red and right half blue; Orientation=6 means the
    # camera was turned, and viewers rotate it 90 degrees clockwise to display it.
    raw = encode(left_red_right_blue((20, 10)), "JPEG", quality=95, exif=exif_orientation(6))

    photo = process_photo(raw)

    out = assert_clean_jpeg(photo)
    assert (photo.width, photo.height) == (10, 20)
    assert out.size == (10, 20)
    assert_close(out.getpixel((5, 2)), RED, tolerance=60)
    assert_close(out.getpixel((5, 17)), BLUE, tolerance=60)


@pytest.mark.parametrize(
    ("orientation", "expected_size"),
    [(1, (20, 10)), (3, (20, 10)), (6, (10, 20)), (8, (10, 20)), (5, (10, 20))],
)
def test_orientation_values(orientation: int, expected_size: tuple[int, int]) -> None:
    raw = encode(left_red_right_blue((20, 10)), "JPEG", exif=exif_orientation(orientation))
    photo = process_photo(raw)
    assert (photo.width, photo.height) == expected_size
    assert_clean_jpeg(photo)


def test_orientation_is_applied_before_downscaling() -> None:
    raw = encode(left_red_right_blue((400, 200)), "JPEG", exif=exif_orientation(6))
    photo = process_photo(raw, max_side=100)
    assert (photo.width, photo.height) == (50, 100)


def test_out_of_range_orientation_is_ignored() -> None:
    raw = encode(solid((20, 10)), "JPEG", exif=exif_orientation(42))
    photo = process_photo(raw)
    assert (photo.width, photo.height) == (20, 10)
    assert_clean_jpeg(photo)


# ------------------------------------------------------------------------- downscale


def test_large_image_is_downscaled_to_default_max_side() -> None:
    raw = encode(solid((5000, 1000)), "JPEG", quality=50)
    photo = process_photo(raw)
    assert (photo.width, photo.height) == (4096, 819)
    assert_clean_jpeg(photo)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])  # JPEG also takes the reduced-scale decoding path
@pytest.mark.parametrize("size", [(400, 250), (250, 400), (1000, 1000), (1000, 800), (101, 3)])
def test_longest_side_is_limited_to_max_side(size: tuple[int, int], fmt: str) -> None:
    photo = process_photo(encode(solid(size), fmt), max_side=100)
    assert max(photo.width, photo.height) == 100
    # Aspect ratio kept (to within rounding of the short side).
    assert abs(photo.width / photo.height - size[0] / size[1]) < 0.05 * size[0] / size[1]
    out = assert_clean_jpeg(photo)
    assert out.size == (photo.width, photo.height)


def test_small_images_are_not_upscaled() -> None:
    photo = process_photo(encode(solid((30, 20)), "PNG"), max_side=100)
    assert (photo.width, photo.height) == (30, 20)


# ------------------------------------------------------------------------- rejection


def rejection(raw: bytes, **limits: int) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        process_photo(raw, **limits)
    error = caught.value
    assert error.message
    assert str(error) == error.message
    return error


def test_empty_input_is_rejected() -> None:
    assert rejection(b"").code == "empty"


def test_oversize_input_is_rejected_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("Image.open was called for an oversize upload")

    monkeypatch.setattr(Image, "open", must_not_open)

    error = rejection(b"\xff\xd8\xff" + bytes(10 * 1024 * 1024))

    assert error.code == "too_large"
    assert "10 MB" in error.message


def test_size_limit_is_inclusive_and_configurable() -> None:
    raw = encode(solid((64, 64)), "PNG")
    process_photo(raw, max_bytes=len(raw))
    error = rejection(raw, max_bytes=len(raw) - 1)
    assert error.code == "too_large"


def test_size_limit_message_shows_megabytes() -> None:
    raw = encode(solid((64, 64)), "PNG") + bytes(3 * 1024 * 1024)
    error = rejection(raw, max_bytes=2 * 1024 * 1024)
    assert error.code == "too_large"
    assert "2 MB" in error.message


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n", id="pdf"
        ),
        pytest.param(b"The boiler is broken and there is water everywhere.\n" * 20, id="text"),
        pytest.param(
            b"<!DOCTYPE html><html><head><title>photo.jpg</title></head>"
            b"<body><script>alert(1)</script></body></html>",
            id="html-renamed-jpg",
        ),
        pytest.param(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", id="svg"),
        pytest.param(b"PK\x03\x04" + bytes(200), id="zip"),
        pytest.param(bytes(range(256)) * 8, id="random-bytes"),
        pytest.param(b"\xff\xd8\xff\xe0", id="jpeg-magic-only"),
        pytest.param(b"\x89PNG\r\n\x1a\n", id="png-magic-only"),
    ],
)
def test_non_images_are_rejected(raw: bytes) -> None:
    assert rejection(raw).code == "not_an_image"


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_jpeg_is_rejected(keep: float) -> None:
    # Noise so the compressed data is long enough to cut part-way through the scan.
    noise = Image.effect_noise((256, 256), 64).convert("RGB")
    raw = encode(noise, "JPEG", quality=90)
    assert rejection(raw[: int(len(raw) * keep)]).code == "not_an_image"


def test_truncated_png_is_rejected() -> None:
    noise = Image.effect_noise((128, 128), 64).convert("RGB")
    raw = encode(noise, "PNG")
    assert rejection(raw[: len(raw) // 2]).code == "not_an_image"


def test_png_with_corrupt_pixel_data_is_rejected() -> None:
    raw = bytearray(encode(Image.effect_noise((64, 64), 64).convert("RGB"), "PNG"))
    idat = raw.index(b"IDAT")
    raw[idat + 20 : idat + 60] = bytes(40)
    assert rejection(bytes(raw)).code == "not_an_image"


@pytest.mark.parametrize("fmt", ["PPM", "ICO", "PCX", "SGI", "TGA", "QOI"])
def test_other_image_formats_are_unsupported(fmt: str) -> None:
    raw = encode(solid((32, 32)), fmt)
    error = rejection(raw)
    assert error.code == "unsupported_format"
    assert "JPEG" in error.message


def test_bomb_png_claiming_30000_by_30000_is_rejected() -> None:
    raw = bomb_png(30_000, 30_000)
    assert len(raw) < 1024 * 1024  # a small upload...
    error = rejection(raw)  # ...that would decode to 900 million pixels
    assert error.code == "too_many_pixels"


def test_bomb_is_rejected_from_the_header_without_decoding(no_decoding: None) -> None:
    # 48 megapixels: under Pillow's own global limit, over our default of 40.
    raw = bomb_png(8_000, 6_000)
    assert rejection(raw).code == "too_many_pixels"


def test_jpeg_header_claiming_huge_size_is_rejected_without_decoding(no_decoding: None) -> None:
    assert rejection(jpeg_claiming_size(65_000, 65_000)).code == "too_many_pixels"


def test_pixel_limit_is_configurable() -> None:
    raw = encode(solid((100, 100)), "PNG")
    process_photo(raw, max_pixels=10_000)
    assert rejection(raw, max_pixels=9_999).code == "too_many_pixels"


def test_pillow_bomb_warning_raised_as_error_is_reported_cleanly() -> None:
    # 100 megapixels is above Pillow's warning threshold (about 89.5M) but below its
    # hard limit; with warnings turned into errors Pillow raises the warning itself.
    assert Image.MAX_IMAGE_PIXELS is not None
    assert Image.MAX_IMAGE_PIXELS < 10_000 * 10_000 < 2 * Image.MAX_IMAGE_PIXELS
    raw = bomb_png(10_000, 10_000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        error = rejection(raw, max_pixels=200_000_000)
    assert error.code == "too_many_pixels"


def test_pillow_global_limit_is_left_alone() -> None:
    before = Image.MAX_IMAGE_PIXELS
    rejection(bomb_png(30_000, 30_000))
    process_photo(encode(solid((50, 50)), "PNG"))
    assert before == Image.MAX_IMAGE_PIXELS


def test_photo_rejected_carries_code_and_message() -> None:
    error = PhotoRejected("too_large", "Please send a smaller photo.")
    assert error.code == "too_large"
    assert error.message == "Please send a smaller photo."
    assert str(error) == "Please send a smaller photo."
    assert "too_large" in repr(error)


def test_invalid_limits_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        process_photo(b"x", max_side=0)


def test_processed_photo_is_immutable() -> None:
    photo = process_photo(encode(solid((10, 10)), "PNG"))
    with pytest.raises(AttributeError):
        photo.width = 1  # type: ignore[misc]


def test_allowed_formats_are_the_documented_ones() -> None:
    allowed = set(processing._allowed_formats())
    assert {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF"} <= allowed
    assert allowed <= {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "HEIF"}


# --------------------------------------------------------------------------- storage


@pytest.fixture
def store(tmp_path: Path) -> FilesystemPhotoStore:
    return FilesystemPhotoStore(tmp_path / "photos")


def test_filesystem_store_implements_the_protocol(store: FilesystemPhotoStore) -> None:
    assert isinstance(store, PhotoStore)


def test_store_round_trip(store: FilesystemPhotoStore) -> None:
    photo = process_photo(encode(solid((40, 30)), "PNG"))

    key = store.save(photo.data, content_type=photo.content_type)

    assert KEY_RE.fullmatch(key), key
    fan_out, name = key.split("/")
    assert name.startswith(fan_out)
    assert store.open(key) == photo.data
    path = store.root / key
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_file_mode_does_not_depend_on_umask(store: FilesystemPhotoStore) -> None:
    previous = os.umask(0o077)
    try:
        key = store.save(b"data", content_type="image/jpeg")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((store.root / key).stat().st_mode) == 0o640


def test_keys_are_random_and_unrelated_to_content(store: FilesystemPhotoStore) -> None:
    keys = {store.save(b"same bytes", content_type="image/jpeg") for _ in range(20)}
    assert len(keys) == 20
    digest = hashlib.sha256(b"same bytes").hexdigest()
    assert not any(digest[:16] in key for key in keys)


def test_root_is_created_lazily_on_first_save(tmp_path: Path) -> None:
    root = tmp_path / "not" / "yet" / "there"
    store = FilesystemPhotoStore(root)
    assert not root.exists()
    with pytest.raises(KeyError):
        store.open("ab/ab" + "0" * 30 + ".jpg")
    store.delete("ab/ab" + "0" * 30 + ".jpg")
    assert not root.exists()

    store.save(b"data", content_type="image/jpeg")

    assert root.is_dir()


def test_save_writes_a_temp_file_in_the_same_directory_then_replaces(
    store: FilesystemPhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Path, Path, bool, bytes]] = []
    real_replace = os.replace

    def spy(src: str, dst: str | Path) -> None:
        source, target = Path(src), Path(dst)
        calls.append((source, target, target.exists(), source.read_bytes()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)

    key = store.save(b"complete photo", content_type="image/jpeg")

    [(source, target, target_existed, staged)] = calls
    assert target == store.root / key
    assert source.parent == target.parent
    assert source.name.startswith(".tmp-")
    assert not target_existed
    assert staged == b"complete photo"
    assert not source.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_failed_save_leaves_nothing_behind(
    store: FilesystemPhotoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)

    with pytest.raises(OSError, match="disk full"):
        store.save(b"half a photo", content_type="image/jpeg")

    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_unsupported_content_type_is_refused(store: FilesystemPhotoStore) -> None:
    with pytest.raises(ValueError):
        store.save(b"<html>", content_type="text/html")


def test_missing_key_raises_key_error(store: FilesystemPhotoStore) -> None:
    store.save(b"something", content_type="image/jpeg")
    with pytest.raises(KeyError):
        store.open("ab/ab" + "1" * 30 + ".jpg")


def test_delete_is_idempotent(store: FilesystemPhotoStore) -> None:
    key = store.save(b"data", content_type="image/jpeg")

    store.delete(key)
    store.delete(key)

    with pytest.raises(KeyError):
        store.open(key)
    assert not (store.root / key).exists()


VALID_NAME = "ab" + "0" * 30


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        "",
        "ab",
        f"ab/../../{VALID_NAME}.jpg",
        f"../{VALID_NAME}.jpg",
        f"ab/{VALID_NAME}.jpg/../../../etc/passwd",
        f"/ab/{VALID_NAME}.jpg",
        f"ab//{VALID_NAME}.jpg",
        f"ab\\{VALID_NAME}.jpg",
        f"ab/{VALID_NAME}.jpg\n",
        f"ab/{VALID_NAME}.jpg\x00",
        f"AB/{VALID_NAME.upper()}.jpg",
        f"cd/{VALID_NAME}.jpg",  # fan-out does not match the name
        f"ab/{VALID_NAME}.php",
        f"ab/{VALID_NAME}",
        f"ab/.tmp-{VALID_NAME}.part",
        f"ab/{VALID_NAME}0.jpg",
    ],
)
def test_malformed_and_traversal_keys_are_refused(store: FilesystemPhotoStore, key: str) -> None:
    store.save(b"data", content_type="image/jpeg")
    with pytest.raises(KeyError):
        store.open(key)
    with pytest.raises(KeyError):
        store.delete(key)


@pytest.mark.parametrize("key", [None, b"ab/x.jpg", 42])
def test_non_string_keys_are_refused(store: FilesystemPhotoStore, key: object) -> None:
    with pytest.raises(KeyError):
        store.open(key)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        store.delete(key)  # type: ignore[arg-type]


def test_traversal_cannot_read_or_delete_files_outside_the_root(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("council tax records")
    store = FilesystemPhotoStore(tmp_path / "photos")
    store.save(b"data", content_type="image/jpeg")

    for key in ("../secret.txt", str(secret), "ab/../../secret.txt"):
        with pytest.raises(KeyError):
            store.open(key)
        with pytest.raises(KeyError):
            store.delete(key)

    assert secret.read_text() == "council tax records"


def test_symlinked_fan_out_directory_cannot_escape_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / f"{VALID_NAME}.jpg").write_bytes(b"not yours")
    root = tmp_path / "photos"
    root.mkdir()
    (root / "ab").symlink_to(outside, target_is_directory=True)
    store = FilesystemPhotoStore(root)

    with pytest.raises(KeyError):
        store.open(f"ab/{VALID_NAME}.jpg")
    with pytest.raises(KeyError):
        store.delete(f"ab/{VALID_NAME}.jpg")
    assert (outside / f"{VALID_NAME}.jpg").read_bytes() == b"not yours"
