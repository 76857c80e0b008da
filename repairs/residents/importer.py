"""Importing residents and homes from a housing management system's CSV export.

All or nothing: every row is checked first, and one bad row imports nothing, with each problem
listed by line number (never echoing the personal data in it).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from repairs_common.postcodes import normalise_postcode
from repairs_common.tenancy_references import DESCRIPTION, EXAMPLE, normalise_tenancy_reference
from sqlalchemy import select
from sqlalchemy.orm import Session

from repairs.residents.models import Property, Resident, Tenancy, Tenure

REQUIRED = ("tenancy_reference", "tenure", "full_name", "uprn", "address_line1", "postcode")
OPTIONAL = ("email", "phone", "vulnerabilities", "address_line2", "block", "estate", "floor", "start_date")
MAX_ROWS = 200_000


class ImportFailed(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} problem(s)")
        self.errors = errors


@dataclass(frozen=True)
class ImportResult:
    created: int
    updated: int


def _reference(row: dict[str, str]) -> str | None:
    return normalise_tenancy_reference(row.get("tenancy_reference") or "")


def _row_errors(line: int, row: dict[str, str]) -> list[str]:
    errors = [f"line {line}: {col} is empty" for col in REQUIRED if not (row.get(col) or "").strip()]
    tenure = (row.get("tenure") or "").strip().lower()
    if tenure and tenure not in {t.value for t in Tenure}:
        errors.append(f"line {line}: tenure must be tenant or leaseholder")
    if (row.get("postcode") or "").strip() and normalise_postcode(row["postcode"]) is None:
        errors.append(f"line {line}: postcode is not a UK postcode")
    # The assistant asks residents for exactly this shape: a reference of another could never be verified.
    if (row.get("tenancy_reference") or "").strip() and _reference(row) is None:
        errors.append(f"line {line}: tenancy_reference must be {DESCRIPTION}, like {EXAMPLE}")
    uprn = (row.get("uprn") or "").strip()
    if uprn and not (uprn.isdigit() and len(uprn) <= 12):
        errors.append(f"line {line}: uprn must be up to 12 digits")
    floor = (row.get("floor") or "").strip()
    if floor and not floor.lstrip("-").isdigit():
        errors.append(f"line {line}: floor must be a whole number")
    start = (row.get("start_date") or "").strip()
    if start:
        try:
            date.fromisoformat(start)
        except ValueError:
            errors.append(f"line {line}: start_date must be YYYY-MM-DD")
    for col, limit in (
        ("full_name", 200),
        ("address_line1", 200),
        ("address_line2", 200),
        ("email", 254),
        ("phone", 30),
        ("block", 100),
        ("estate", 100),
        ("tenancy_reference", 20),
    ):
        if len(row.get(col) or "") > limit:
            errors.append(f"line {line}: {col} is longer than {limit} characters")
    return errors


def import_residents(session: Session, source: TextIO) -> ImportResult:
    reader = csv.DictReader(source)
    missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportFailed([f"header: missing column(s) {', '.join(missing)}"])
    rows = []
    errors: list[str] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            raise ImportFailed([f"more than {MAX_ROWS} rows; split the file"])
        errors.extend(_row_errors(line, row))
        ref = _reference(row) or (row.get("tenancy_reference") or "").strip().upper()
        if ref in seen:
            errors.append(f"line {line}: tenancy_reference appears twice in the file")
        seen.add(ref)
        rows.append(row)
    if errors:
        raise ImportFailed(errors)

    created = updated = 0
    for row in rows:
        uprn = row["uprn"].strip()
        prop = session.scalar(select(Property).where(Property.uprn == uprn))
        if prop is None:
            prop = Property(uprn=uprn)
            session.add(prop)
        prop.address_line1 = row["address_line1"].strip()
        prop.address_line2 = (row.get("address_line2") or "").strip() or None
        prop.postcode = normalise_postcode(row["postcode"]) or ""
        prop.block = (row.get("block") or "").strip() or None
        prop.estate = (row.get("estate") or "").strip() or None
        floor = (row.get("floor") or "").strip()
        prop.floor = int(floor) if floor else None
        session.flush()

        ref = _reference(row)
        assert ref is not None  # every row was checked above
        tenancy = session.scalar(select(Tenancy).where(Tenancy.reference == ref))
        start = (row.get("start_date") or "").strip()
        if tenancy is None:
            tenancy = Tenancy(
                reference=ref,
                property_id=prop.id,
                tenure=Tenure(row["tenure"].strip().lower()),
                start_date=date.fromisoformat(start) if start else date.today(),
            )
            session.add(tenancy)
            session.flush()
        else:
            tenancy.property_id = prop.id
            tenancy.tenure = Tenure(row["tenure"].strip().lower())
        resident = session.scalar(select(Resident).where(Resident.tenancy_id == tenancy.id, Resident.is_lead.is_(True)))
        vulnerabilities = [v.strip() for v in (row.get("vulnerabilities") or "").split(";") if v.strip()]
        if resident is None:
            resident = Resident(tenancy_id=tenancy.id, is_lead=True, full_name="")
            session.add(resident)
            created += 1
        else:
            updated += 1
        resident.full_name = row["full_name"].strip()
        resident.email = (row.get("email") or "").strip() or None
        resident.phone = (row.get("phone") or "").strip() or None
        resident.vulnerabilities = vulnerabilities
    session.flush()
    return ImportResult(created=created, updated=updated)
