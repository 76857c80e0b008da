"""`python -m repairs ...` run in-process against the test database: accounts, imports, demo data, migrations."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

import repairs.context
from repairs.auth.models import Officer, Role
from repairs.cli import main
from repairs.database import transaction, utcnow
from repairs.migrate import alembic_config
from repairs.residents.models import ChannelIdentity, Property, Resident, Tenancy, Tenure
from repairs.tickets.models import Complaint, Status, Ticket
from tests.conftest import SERVICE_HEADERS

PASSWORD = "a perfectly long password"


@pytest.fixture(autouse=True)
def _cli_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Run each command away from any .env file, and close the engines the commands open."""
    monkeypatch.chdir(tmp_path)
    for name in ("REPAIRS_DATABASE_URL", "REPAIRS_OFFICER_PASSWORD", "REPAIRS_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    opened = []
    real_build = repairs.context.build_context

    def build(settings, **kwargs):
        built = real_build(settings, **kwargs)
        opened.append(built.engine)
        return built

    monkeypatch.setattr(repairs.context, "build_context", build)
    yield
    for engine in opened:
        engine.dispose()


@pytest.fixture
def cli(database_url: str, ctx):
    """Run the CLI against the test database; `ctx` is requested so the tables are emptied afterwards."""

    def run(*args: str) -> int:
        return main(["--database-url", database_url, *args])

    return run


def count(ctx, model) -> int:
    with transaction(ctx.sessions) as s:
        return s.scalar(select(func.count()).select_from(model))


def sign_in(client, email: str, password: str):
    return client.post("/api/v1/auth/token", json={"email": email, "password": password})


def verify(client, reference: str, postcode: str, chat: str = "123"):
    return client.post("/api/v1/residents/verify", headers=SERVICE_HEADERS, json={
        "tenancy_reference": reference, "postcode": postcode, "channel": "telegram", "channel_user_id": chat,
    })


# -- create-officer -----------------------------------------------------------------------------------


def test_create_officer_with_password_from_the_environment(cli, ctx, client, capsys, monkeypatch):
    monkeypatch.setenv("REPAIRS_OFFICER_PASSWORD", PASSWORD)
    assert cli("create-officer", "--email", "Sam.Lee@Council.invalid", "--name", "Sam Lee",
               "--role", "supervisor") == 0
    out, err = capsys.readouterr()
    assert "Created supervisor" in out
    assert PASSWORD not in out + err

    with transaction(ctx.sessions) as s:
        officers = list(s.scalars(select(Officer)))
    assert len(officers) == 1
    officer = officers[0]
    assert officer.email == "sam.lee@council.invalid"
    assert officer.name == "Sam Lee"
    assert officer.role == Role.SUPERVISOR
    assert officer.active is True
    assert officer.password_hash.startswith("$argon2id$")
    assert PASSWORD not in officer.password_hash
    assert f"#{officer.id}" in out

    r = sign_in(client, "sam.lee@council.invalid", PASSWORD)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert client.get("/api/v1/officer/tickets", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert sign_in(client, "sam.lee@council.invalid", PASSWORD + "x").status_code == 401


def test_create_officer_is_on_the_accounts_record(cli, ctx, monkeypatch):
    from repairs.auth.models import AccountAction, OfficerAccountEvent

    monkeypatch.setenv("REPAIRS_OFFICER_PASSWORD", PASSWORD)
    assert cli("create-officer", "--email", "rec@council.invalid", "--name", "On Record") == 0
    with transaction(ctx.sessions) as s:
        events = list(s.scalars(select(OfficerAccountEvent)))
        officer_id = s.scalar(select(Officer.id))
    # Made outside the workspace: no officer made it.
    assert [(e.actor_id, e.officer_id, e.action, e.detail) for e in events] == [
        (None, officer_id, AccountAction.CREATED, "officer")
    ]


def test_create_officer_with_the_data_protection_permission(cli, ctx, monkeypatch):
    from repairs.auth.models import AccountAction, OfficerAccountEvent

    monkeypatch.setenv("REPAIRS_OFFICER_PASSWORD", PASSWORD)
    assert cli("create-officer", "--email", "dpo@council.invalid", "--name", "Data Officer",
               "--data-protection") == 0
    assert cli("create-officer", "--email", "plain@council.invalid", "--name", "Plain", "--role", "supervisor") == 0
    with transaction(ctx.sessions) as s:
        given = dict(s.execute(select(Officer.email, Officer.data_protection)).tuples().all())
        actions = list(s.scalars(select(OfficerAccountEvent.action).order_by(OfficerAccountEvent.id)))
    assert given == {"dpo@council.invalid": True, "plain@council.invalid": False}
    assert actions == [AccountAction.CREATED, AccountAction.DATA_PROTECTION_GRANTED, AccountAction.CREATED]


def test_create_officer_defaults_to_the_officer_role(cli, ctx, monkeypatch):
    monkeypatch.setenv("REPAIRS_OFFICER_PASSWORD", PASSWORD)
    assert cli("create-officer", "--email", "jo@council.invalid", "--name", "Jo") == 0
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(Officer.role)) == Role.OFFICER


def test_create_officer_reads_the_password_from_stdin(cli, ctx, client, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli("create-officer", "--email", "stdin@council.invalid", "--name", "From Stdin") == 0
    assert sign_in(client, "stdin@council.invalid", PASSWORD).status_code == 200


def test_create_officer_with_a_duplicate_email_fails(cli, ctx, capsys, monkeypatch):
    monkeypatch.setenv("REPAIRS_OFFICER_PASSWORD", PASSWORD)
    assert cli("create-officer", "--email", "dup@council.invalid", "--name", "First") == 0
    capsys.readouterr()
    monkeypatch.setenv("REPAIRS_OFFICER_PASSWORD", "another long password")
    assert cli("create-officer", "--email", " DUP@Council.invalid ", "--name", "Second") == 1
    _, err = capsys.readouterr()
    assert "already exists" in err
    with transaction(ctx.sessions) as s:
        assert list(s.scalars(select(Officer.name))) == ["First"]


@pytest.mark.parametrize("password", ["short", "elevenchars"])
def test_create_officer_with_a_short_password_fails(cli, ctx, capsys, monkeypatch, password):
    monkeypatch.setenv("REPAIRS_OFFICER_PASSWORD", password)
    assert cli("create-officer", "--email", "weak@council.invalid", "--name", "Weak") == 1
    out, err = capsys.readouterr()
    assert "12" in err
    assert password not in out + err
    assert count(ctx, Officer) == 0


# -- import-residents ---------------------------------------------------------------------------------


HEADER = ("tenancy_reference,tenure,full_name,uprn,address_line1,postcode,email,phone,vulnerabilities,"
          "block,estate,floor,start_date")
GOOD_ROWS = [
    't-500001,tenant,Zainab Okonkwo-Fairweather,100099000001,"Flat 1, Elm House",nw5 2tx,'
    "zainab@example.invalid,07700 900001,elderly;disability,Elm House,Regent Fields,1,2019-04-01",
    "T-500002,Leaseholder,Bartholomew Quince,100099000002,\"Flat 2, Elm House\",NW52TX,,,,Elm House,"
    "Regent Fields,2,",
]
NAMES = ["Zainab", "Okonkwo", "Fairweather", "Bartholomew", "Quince"]


def write_csv(tmp_path, rows: list[str], header: str = HEADER, name: str = "residents.csv"):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_import_residents_who_can_then_verify(cli, ctx, client, capsys, tmp_path):
    path = write_csv(tmp_path, GOOD_ROWS)
    assert cli("import-residents", str(path)) == 0
    out, _ = capsys.readouterr()
    assert "2 new, 0 updated" in out

    with transaction(ctx.sessions) as s:
        tenancy = s.scalar(select(Tenancy).where(Tenancy.reference == "T-500001"))
        assert tenancy is not None
        assert tenancy.tenure == Tenure.TENANT
        assert tenancy.start_date.isoformat() == "2019-04-01"
        prop = tenancy.property
        assert (prop.uprn, prop.postcode, prop.block, prop.estate, prop.floor) == (
            "100099000001", "NW5 2TX", "Elm House", "Regent Fields", 1
        )
        resident = s.scalar(select(Resident).where(Resident.tenancy_id == tenancy.id))
        assert resident.full_name == "Zainab Okonkwo-Fairweather"
        assert resident.vulnerabilities == ["elderly", "disability"]
        assert resident.email == "zainab@example.invalid"
        second = s.scalar(select(Tenancy).where(Tenancy.reference == "T-500002"))
        assert second.tenure == Tenure.LEASEHOLDER
    assert count(ctx, Resident) == 2
    assert count(ctx, Property) == 2

    r = verify(client, "T-500001", "NW5 2TX")
    assert r.status_code == 200, r.text
    assert r.json()["first_name"] == "Zainab"
    assert r.json()["tenure"] == "tenant"
    assert r.json()["vulnerable"] is True
    r = verify(client, "t-500002", "nw5 2tx", chat="456")
    assert r.status_code == 200, r.text
    assert r.json()["tenure"] == "leaseholder"
    assert r.json()["vulnerable"] is False
    assert count(ctx, ChannelIdentity) == 2


def test_reimport_updates_the_residents(cli, ctx, client, capsys, tmp_path):
    assert cli("import-residents", str(write_csv(tmp_path, GOOD_ROWS))) == 0
    capsys.readouterr()
    changed = [
        't-500001,tenant,Zainab Fairweather,100099000001,"Flat 1, Elm House",NW1 8YL,,,,,,,',
        GOOD_ROWS[1],
        "T-500003,tenant,Cecily Marchbanks,100099000003,\"Flat 3, Elm House\",NW5 2TX,,,,,,,",
    ]
    assert cli("import-residents", str(write_csv(tmp_path, changed, name="again.csv"))) == 0
    out, _ = capsys.readouterr()
    assert "1 new, 2 updated" in out
    assert count(ctx, Resident) == 3
    assert count(ctx, Tenancy) == 3
    with transaction(ctx.sessions) as s:
        resident = s.scalar(select(Resident).join(Tenancy).where(Tenancy.reference == "T-500001"))
        assert resident.full_name == "Zainab Fairweather"
        assert resident.vulnerabilities == []
        assert resident.email is None
        assert resident.tenancy.property.postcode == "NW1 8YL"
    # The new postcode verifies; the old one no longer does.
    assert verify(client, "T-500001", "NW1 8YL").status_code == 200
    assert verify(client, "T-500001", "NW5 2TX", chat="999").status_code == 401
    # Importing the same file again changes nothing but the counts.
    assert cli("import-residents", str(write_csv(tmp_path, changed, name="again.csv"))) == 0
    assert "0 new, 3 updated" in capsys.readouterr().out
    assert count(ctx, Resident) == 3


def test_import_accepts_a_byte_order_mark(cli, ctx, tmp_path):
    path = tmp_path / "bom.csv"
    path.write_text("\ufeff" + "\n".join([HEADER, *GOOD_ROWS]) + "\n", encoding="utf-8")
    assert cli("import-residents", str(path)) == 0
    assert count(ctx, Resident) == 2


BAD_FILES = {
    "bad postcode": (HEADER, [GOOD_ROWS[0], GOOD_ROWS[1].replace("NW52TX", "QUINCEVILLE 9")],
                     ["line 3", "postcode"]),
    "missing column": (HEADER.replace("full_name,", ""),
                       [r.replace("Zainab Okonkwo-Fairweather,", "").replace("Bartholomew Quince,", "")
                        for r in GOOD_ROWS],
                       ["full_name"]),
    "bad tenure": (HEADER, [GOOD_ROWS[0], GOOD_ROWS[1].replace("Leaseholder", "Freeholder Quince")],
                   ["line 3", "tenure"]),
    "empty name": (HEADER, [GOOD_ROWS[0].replace("Zainab Okonkwo-Fairweather", " "), GOOD_ROWS[1]],
                   ["line 2", "full_name"]),
    "repeated reference": (HEADER, [GOOD_ROWS[0], GOOD_ROWS[1].replace("T-500002", "T-500001")],
                           ["line 3", "tenancy_reference"]),
    # The assistant can only ever read a T and six digits: anything else could never be verified.
    "bad reference": (HEADER, [GOOD_ROWS[0], GOOD_ROWS[1].replace("T-500002", "TEN/500002")],
                      ["line 3", "tenancy_reference must be a T followed by six numbers"]),
    "bad uprn": (HEADER, [GOOD_ROWS[0].replace("100099000001", "UPRN-Zainab"), GOOD_ROWS[1]], ["line 2", "uprn"]),
    "bad date": (HEADER, [GOOD_ROWS[0].replace("2019-04-01", "1st April Zainab"), GOOD_ROWS[1]],
                 ["line 2", "start_date"]),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_imports_nothing_and_does_not_echo_personal_data(cli, ctx, capsys, tmp_path, case):
    header, rows, expected = BAD_FILES[case]
    assert cli("import-residents", str(write_csv(tmp_path, rows, header=header))) == 1
    out, err = capsys.readouterr()
    assert "Nothing imported" in err
    for fragment in expected:
        assert fragment in err, err
    for name in [*NAMES, "zainab@example.invalid", "07700 900001", "QUINCEVILLE", "Freeholder"]:
        assert name not in out + err, (name, err)
    assert count(ctx, Resident) == 0
    assert count(ctx, Tenancy) == 0
    assert count(ctx, Property) == 0


def test_a_bad_reimport_leaves_existing_residents_alone(cli, ctx, capsys, tmp_path):
    assert cli("import-residents", str(write_csv(tmp_path, GOOD_ROWS))) == 0
    rows = [GOOD_ROWS[0].replace("Zainab Okonkwo-Fairweather", "Renamed Person"),
            GOOD_ROWS[1].replace("NW52TX", "nope")]
    assert cli("import-residents", str(write_csv(tmp_path, rows, name="bad.csv"))) == 1
    with transaction(ctx.sessions) as s:
        assert sorted(s.scalars(select(Resident.full_name))) == ["Bartholomew Quince", "Zainab Okonkwo-Fairweather"]


def test_a_file_that_is_not_utf8_is_refused_cleanly(cli, ctx, capsys, tmp_path):
    path = tmp_path / "cp1252.csv"
    rows = [GOOD_ROWS[0].replace("Zainab", "Zoë"), GOOD_ROWS[1]]
    path.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode("cp1252"))
    assert cli("import-residents", str(path)) == 1
    out, err = capsys.readouterr()
    assert "Nothing imported" in err
    assert "Zo" not in out + err
    assert count(ctx, Resident) == 0


def test_every_problem_in_a_file_is_listed(cli, ctx, capsys, tmp_path):
    rows = [GOOD_ROWS[0].replace("nw5 2tx", "xx"), GOOD_ROWS[1].replace("Leaseholder", "owner")]
    assert cli("import-residents", str(write_csv(tmp_path, rows))) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "line 2: postcode" in err
    assert "line 3: tenure" in err


# -- seed-demo ----------------------------------------------------------------------------------------


def test_seed_demo_fills_an_empty_database_once(awkward_day, cli, ctx, client, capsys):
    assert cli("seed-demo") == 0
    out, _ = capsys.readouterr()
    assert "50 homes" in out

    assert count(ctx, Property) == 50
    assert count(ctx, Resident) == 50
    with transaction(ctx.sessions) as s:
        statuses = set(s.scalars(select(Ticket.status).distinct()))
        tickets = s.scalar(select(func.count()).select_from(Ticket))
        tenures = set(s.scalars(select(Tenancy.tenure).distinct()))
        example = s.scalar(select(Tenancy).where(Tenancy.tenure == Tenure.TENANT).order_by(Tenancy.id))
        ref, postcode = example.reference, example.property.postcode
    assert statuses == set(Status)
    assert tickets >= 50
    with transaction(ctx.sessions) as s:
        complaints = s.scalars(select(Complaint).order_by(Complaint.created_at)).all()
        assert len(complaints) == 2 and all(c.ticket_id is not None for c in complaints)
        assert complaints[0].acknowledge_by < utcnow() < complaints[1].acknowledge_by, "one already late"
    assert tenures == {Tenure.TENANT, Tenure.LEASEHOLDER}
    assert f"tenancy reference {ref}, postcode {postcode}" in out
    # The example it prints really works.
    assert verify(client, ref, postcode).status_code == 200

    with pytest.raises(SystemExit) as refused:
        cli("seed-demo")
    assert refused.value.code not in (0, None)
    assert "already" in str(refused.value.code)
    assert count(ctx, Property) == 50
    with transaction(ctx.sessions) as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == tickets


def test_seed_demo_refuses_a_database_that_already_has_homes(cli, ctx, factory):
    factory.resident()
    with pytest.raises(SystemExit) as refused:
        cli("seed-demo")
    assert refused.value.code not in (0, None)
    assert count(ctx, Property) == 1
    assert count(ctx, Ticket) == 0


# -- db upgrade ---------------------------------------------------------------------------------------


def test_db_upgrade_is_idempotent(cli, ctx, factory, database_url, capsys):
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    factory.resident()
    for _ in range(2):
        assert cli("db", "upgrade") == 0
        assert "database upgraded" in capsys.readouterr().out
        with ctx.engine.connect() as conn:
            versions = list(conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())
        assert versions == [head]
    # Data is untouched.
    assert count(ctx, Resident) == 1
    assert count(ctx, Property) == 1


def test_unknown_command_is_a_usage_error(cli, capsys):
    with pytest.raises(SystemExit) as exc:
        cli("make-coffee")
    assert exc.value.code == 2


def test_commands_work_in_a_fresh_process(tmp_path):
    """Each command run as `python -m repairs ...` on its own, importing nothing else first (a bare
    seed-demo once failed because no officer model had been imported)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAIRS_")}
    env["REPAIRS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'fresh.db'}"
    root = Path(__file__).resolve().parent.parent

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "repairs", *args], cwd=root, env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)

    assert run("db", "upgrade").returncode == 0
    seeded = run("seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    assert "T-100001" in seeded.stdout
    officer = run("create-officer", "--email", "x@council.invalid", "--name", "X", stdin="long enough password\n")
    assert officer.returncode == 0, officer.stderr
    assert run("close-completed").returncode == 0
    assert len(run("create-api-key", "--name", "fms").stdout.strip()) >= 20
