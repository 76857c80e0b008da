"""Photos through the API: only images, at most 10 MB, metadata stripped, stored outside the database."""

from __future__ import annotations

import io
import uuid

from PIL import Image

from repairs.database import transaction
from repairs.tickets.models import Photo


def _jpeg_with_location() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Model X"  # Model
    gps = {1: "N", 2: (51.0, 32.0, 10.0), 3: "W", 4: (0.0, 8.0, 30.0)}
    exif[0x8825] = gps  # GPSInfo
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()


def _ticket(client, res) -> str:
    r = client.post(
        "/api/v1/tickets",
        headers={**res.headers, "Idempotency-Key": str(uuid.uuid4())},
        json={"category": "damp_mould", "description": "mould by the window", "location": "bedroom"},
    )
    return r.json()["reference"]


def test_photo_is_stripped_of_location_and_served_back(client, factory, ctx, tmp_path):
    res = factory.resident()
    ref = _ticket(client, res)
    raw = _jpeg_with_location()
    assert b"PhoneMaker" in raw
    r = client.post(
        f"/api/v1/tickets/{ref}/photos", headers=res.headers, files={"file": ("IMG_0001.jpg", raw, "image/jpeg")}
    )
    assert r.status_code == 201, r.text
    photo_id = r.json()["id"]
    got = client.get(f"/api/v1/tickets/{ref}/photos/{photo_id}", headers=res.headers)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in got.content and b"Exif" not in got.content
    assert not Image.open(io.BytesIO(got.content)).getexif()
    with transaction(ctx.sessions) as s:
        photo = s.query(Photo).one()
        assert photo.storage_key and (ctx.settings.photo_dir / photo.storage_key).exists()
    listed = client.get(f"/api/v1/tickets/{ref}", headers=res.headers).json()
    assert [p["id"] for p in listed["photos"]] == [photo_id]


def test_non_images_are_refused_clearly(client, factory, ctx):
    res = factory.resident()
    ref = _ticket(client, res)
    for name, data in (
        ("doc.pdf", b"%PDF-1.7\n1 0 obj<<>>endobj"),
        ("x.jpg", b"<html>not a photo</html>"),
        ("empty.jpg", b""),
    ):
        r = client.post(
            f"/api/v1/tickets/{ref}/photos", headers=res.headers, files={"file": (name, data, "image/jpeg")}
        )
        assert r.status_code in (415, 422), (name, r.status_code)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["detail"]
    with transaction(ctx.sessions) as s:
        assert s.query(Photo).count() == 0
    assert not any(p.is_file() for p in ctx.settings.photo_dir.rglob("*")) if ctx.settings.photo_dir.exists() else True


def test_oversized_upload_is_refused_before_decoding(client, factory):
    res = factory.resident()
    ref = _ticket(client, res)
    big = b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024 + 10)
    r = client.post(
        f"/api/v1/tickets/{ref}/photos", headers=res.headers, files={"file": ("big.jpg", big, "image/jpeg")}
    )
    assert r.status_code == 413
    assert "10 MB" in r.json()["detail"] or "bytes" in r.json()["detail"]


def test_photos_on_someone_elses_ticket_are_not_found(client, factory):
    owner, other = factory.resident(), factory.resident()
    ref = _ticket(client, owner)
    r = client.post(
        f"/api/v1/tickets/{ref}/photos",
        headers=other.headers,
        files={"file": ("a.jpg", _jpeg_with_location(), "image/jpeg")},
    )
    assert r.status_code == 404
    ok = client.post(
        f"/api/v1/tickets/{ref}/photos",
        headers=owner.headers,
        files={"file": ("a.jpg", _jpeg_with_location(), "image/jpeg")},
    )
    assert client.get(f"/api/v1/tickets/{ref}/photos/{ok.json()['id']}", headers=other.headers).status_code == 404


def test_missing_file_field(client, factory):
    res = factory.resident()
    ref = _ticket(client, res)
    r = client.post(f"/api/v1/tickets/{ref}/photos", headers=res.headers, data={"nothing": "here"})
    assert r.status_code == 422
