"""Test harness: the same suite runs against SQLite and a real PostgreSQL server.

Each backend gets a freshly migrated database once per run (through Alembic, so migrations are
tested too); every test leaves it empty again. Tests that need real concurrency start a real
uvicorn server on a free port.

`--clock=2026-12-31T23:30:00+00:00` (or REPAIRS_TEST_CLOCK) moves this whole test process to that instant,
and back to it as each test begins, with time running on from there (time-machine), so the suite can be tried
on the days that break date arithmetic: a Monday morning, a Friday evening, the eve of a bank holiday, New Year's Eve, a
clock change. Everything in this process sees it (datetime.now, time.time, date.today, the uvicorn
servers the tests start in threads). Other processes keep the real clock: Rasa and the action server,
the bot when a test starts it as a process, Chromium's JavaScript, and PostgreSQL's and SQLite's own
now() (the service never asks the database for the time, so only those processes differ).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from fastapi.testclient import TestClient
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from repairs.app import create_app  # noqa: E402
from repairs.context import ServiceContext, build_context  # noqa: E402
from repairs.database import make_engine, transaction  # noqa: E402
from repairs.migrate import upgrade  # noqa: E402
from repairs.settings import Settings  # noqa: E402
from repairs.tables import metadata  # noqa: E402

SERVICE_TOKEN = "test-service-token-" + "x" * 20
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        default=os.environ.get("REPAIRS_TEST_DB", "both"),
        choices=["sqlite", "postgresql", "both"],
        help="which database backends to run database tests against",
    )
    parser.addoption(
        "--clock",
        default=os.environ.get("REPAIRS_TEST_CLOCK") or None,
        metavar="ISO_INSTANT",
        help="run each test as if it began at this instant (ISO 8601 with its UTC offset, e.g. "
        "2026-12-07T08:30:00+00:00); time runs on from there",
    )


CLOCK_TRAVEL = pytest.StashKey[tuple[time_machine.travel, time_machine.Traveller, datetime]]()


def parse_clock(value: str) -> datetime:
    """The instant `--clock` names; an offset is required, so a run means the same moment on every machine."""
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        example = "2026-12-07T08:30:00+00:00"
        raise pytest.UsageError(f"--clock must be an ISO 8601 instant such as {example}, got {value!r}") from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise pytest.UsageError(f"--clock needs a UTC offset (e.g. +00:00 or +01:00), got {value!r}") from None
    return instant


def pytest_configure(config: pytest.Config) -> None:
    # Before collection, so nothing the tests import or set up has read the real clock yet. xdist workers
    # load this file and run this hook too, so each worker travels as well.
    value = config.getoption("--clock")
    if value:
        instant = parse_clock(value)
        travel = time_machine.travel(instant, tick=True)
        config.stash[CLOCK_TRAVEL] = (travel, travel.start(), instant)


def pytest_unconfigure(config: pytest.Config) -> None:
    travelled = config.stash.get(CLOCK_TRAVEL, None)
    if travelled is not None:
        travelled[0].stop()
        del config.stash[CLOCK_TRAVEL]


@pytest.fixture(autouse=True)
def _clock_back_to_the_instant(request: pytest.FixtureRequest) -> None:
    """With --clock, each test starts at the instant again. The suite takes longer than the awkward moment
    lasts (New Year's Eve at 23:30 is New Year's Day half an hour on), so without this only the first tests
    would see it. Autouse, so it runs before the test's other function-scoped fixtures read the clock."""
    travelled = request.config.stash.get(CLOCK_TRAVEL, None)
    if travelled is not None:
        travelled[1].move_to(travelled[2])


@pytest.fixture
def clock_traveller(request: pytest.FixtureRequest) -> time_machine.Traveller | None:
    """The traveller `--clock` started (None without it), for a test that must move the run's clock itself."""
    travelled = request.config.stash.get(CLOCK_TRAVEL, None)
    return None if travelled is None else travelled[1]


def pytest_report_header(config: pytest.Config) -> str | None:
    value = config.getoption("--clock")
    return f"clock: each test starts at {parse_clock(value).isoformat()} (time runs on)" if value else None


# The instants that break date arithmetic that counts from "now". `make test-clock CLOCK=...` runs the whole
# suite at one of them; the tests that take `awkward_day` run at every one of them in every `make test`.
AWKWARD_INSTANTS = {
    "monday-morning": "2026-12-07T08:30:00+00:00",
    "friday-evening": "2026-12-11T18:30:00+00:00",
    "christmas-eve": "2026-12-24T16:00:00+00:00",  # then Christmas Day, a weekend and Boxing Day observed
    "eve-of-good-friday": "2027-03-25T16:00:00+00:00",  # then Good Friday, a weekend and Easter Monday
    "new-years-eve": "2026-12-31T23:30:00+00:00",  # the year ends half an hour in
    "clocks-go-forward": "2027-03-28T00:30:00+00:00",  # 01:00 GMT becomes 02:00 BST half an hour in
    "summer-after-midnight": "2027-07-15T23:30:00+00:00",  # Friday 00:30 in London, still Thursday in UTC
}


@pytest.fixture(params=[pytest.param(value, id=name) for name, value in AWKWARD_INSTANTS.items()])
def awkward_day(request: pytest.FixtureRequest) -> Iterator[datetime]:
    """Run the test once at each awkward instant, with the clock moved there and running on. Name it first
    among the test's arguments, so that it is in place before any other fixture reads the clock."""
    instant = parse_clock(request.param)
    with time_machine.travel(instant, tick=True):
        yield instant


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--db")
        backends = ["sqlite", "postgresql"] if choice == "both" else [choice]
        metafunc.parametrize("backend", backends, scope="session")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _postgres_database(name: str) -> str:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}. Start it (see .ci/run).")
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@pytest.fixture
def scratch_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own, with no schema (for migration tests), dropped afterwards. Named uniquely
    so parallel runs on one PostgreSQL never meet."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    name = f"repairs_scratch_{_worker()}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _postgres_database(name)
    try:
        yield url
    finally:
        _drop_postgres_database(name)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'repairs.db'}"
    else:
        # The process id keeps two people's (or CI's) runs on one server apart.
        url = _postgres_database(f"repairs_test_{_worker()}_{os.getpid()}")
    upgrade(url)
    yield url
    if backend == "postgresql":
        _drop_postgres_database(url.rsplit("/", 1)[1])


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[sa.Engine]:
    eng = make_engine(database_url, pool_size=20)
    yield eng
    eng.dispose()


def _empty_all_tables(engine: sa.Engine) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(sa.text(f'DELETE FROM "{table}"'))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        REPAIRS_DATABASE_URL=database_url,
        REPAIRS_API_TOKEN=SecretStr(SERVICE_TOKEN),
        REPAIRS_PHOTO_DIR=tmp_path / "photos",
        REPAIRS_DATA_DIR=ROOT / "data",
        REPAIRS_SECRET_KEY=SecretStr("test-secret-key-" + "y" * 20),
        REPAIRS_RASA_URL="http://127.0.0.1:9",  # nothing listens here: triage reports Rasa as down
        _env_file=None,
    )


@pytest.fixture
def ctx(settings: Settings, engine: sa.Engine) -> Iterator[ServiceContext]:
    context = build_context(settings, engine=engine)
    yield context
    _empty_all_tables(engine)


@pytest.fixture
def client(ctx: ServiceContext) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
        yield c


@dataclass
class LiveServer:
    url: str


@pytest.fixture
def live_server(ctx: ServiceContext) -> Iterator[LiveServer]:
    """The app behind a real uvicorn server on a free local port, for concurrency tests."""
    from tests.serving import serving

    with serving(create_app(ctx)) as url:
        yield LiveServer(url=url)


SERVICE_HEADERS = {"Authorization": f"Bearer {SERVICE_TOKEN}"}


@pytest.fixture
def service_headers() -> dict[str, str]:
    return dict(SERVICE_HEADERS)


from tests.factories import Factory  # noqa: E402

CHROMIUM = "/usr/bin/chromium"  # Debian's package: Playwright cannot download browsers here


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright) for one module's browser tests. Without it they fail, never skip."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is needed: apt-get install chromium (.ci/run does it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def factory(ctx: ServiceContext) -> Factory:
    return Factory(ctx)


__all__ = ["SERVICE_HEADERS", "transaction"]
