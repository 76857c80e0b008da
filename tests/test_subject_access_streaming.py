"""A subject access archive is streamed, never built whole in the service's memory.

End to end over a real HTTP server (uvicorn in a thread of this process, so tracemalloc sees the service's
allocations as well as this test's): a resident with 40 photos of 1 MB each (random bytes, so nothing
compresses) is exported by an officer with the data protection permission, the download is written to disk
piece by piece, and the peak of memory allocated while it ran must stay well under the archive's size. Built
in memory (as it once was), the peak would be the archive and more.
"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
import zipfile
from pathlib import Path

import httpx
import sqlalchemy as sa

from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.personal_data.models import DataProtectionEvent
from repairs.tickets.models import Photo
from tests.conftest import LiveServer
from tests.factories import Factory
from tests.report_data import build_dataset
from tests.workspace_client import csrf_of

PHOTOS = 40
PHOTO_BYTES = 1024 * 1024


def test_a_large_archive_is_streamed_end_to_end(ctx: ServiceContext, factory: Factory, live_server: LiveServer,
                                                 tmp_path: Path) -> None:
    resident = factory.resident(name="Ada Example")
    tickets = build_dataset(ctx, resident)
    digests: set[str] = set()
    with transaction(ctx.sessions) as session:
        for n in range(PHOTOS):
            data = os.urandom(PHOTO_BYTES)
            digests.add(hashlib.sha256(data).hexdigest())
            key = ctx.photos.save(data, content_type="image/jpeg")
            session.add(Photo(public_id=f"{n:020d}", ticket_id=tickets["T11"].id, storage_key=key,
                              content_type="image/jpeg", width=1, height=1, size_bytes=len(data),
                              sha256=hashlib.sha256(data).hexdigest(), uploaded_by="resident"))
            del data
    officer = factory.officer(data_protection=True)
    download = tmp_path / "export.zip"

    with httpx.Client(base_url=live_server.url, timeout=60) as browser:
        form = browser.get("/officer/login")
        signed_in = browser.post("/officer/login", data={
            "email": officer.email, "password": officer.password, "csrf_token": csrf_of(form),
            "next": "/officer/queue"})
        assert signed_in.status_code == 303, signed_in.text
        csrf = csrf_of(browser.get(f"/officer/residents/{resident.id}"))
        tracemalloc.start()
        try:
            with browser.stream("POST", f"/officer/residents/{resident.id}/export",
                                data={"csrf_token": csrf}) as response, download.open("wb") as out:
                assert response.status_code == 200
                assert response.headers["content-type"] == "application/zip"
                for chunk in response.iter_bytes(64 * 1024):
                    out.write(chunk)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    size = download.stat().st_size
    assert size > PHOTOS * PHOTO_BYTES
    assert int(response.headers["content-length"]) == size
    # The archive is over 40 MB; one photo at a time (1 MB) plus buffers is what the export may hold.
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MB while exporting {size / 2**20:.1f} MB"
    with zipfile.ZipFile(download) as archive:
        assert archive.testzip() is None
        photos = [name for name in archive.namelist() if name.startswith("photos/")]
        assert len(photos) == PHOTOS
        assert {hashlib.sha256(archive.read(name)).hexdigest() for name in photos} == digests
    with transaction(ctx.sessions) as session:
        audit = session.scalars(sa.select(DataProtectionEvent)).all()
        assert [(a.kind, a.resident_id, a.counts["photos"]) for a in audit] == [("export", resident.id, PHOTOS)]
