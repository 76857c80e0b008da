"""Test data built through the real models and services."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date

from repairs.auth.models import Role
from repairs.auth.officers import create_officer, issue_session
from repairs.context import ServiceContext
from repairs.database import transaction
from repairs.residents.models import ChannelIdentity, Property, Resident, Tenancy, Tenure

_counter = itertools.count(1)
SERVICE_TOKEN_HEADER = "Authorization"


@dataclass
class ResidentHandle:
    id: int
    tenancy_reference: str
    postcode: str
    chat: str  # "telegram:<id>"
    tenure: Tenure
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class OfficerHandle:
    id: int
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Factory:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def resident(
        self,
        *,
        tenure: Tenure = Tenure.TENANT,
        vulnerabilities: list[str] | None = None,
        postcode: str = "NW1 8YL",
        block: str = "Alder House",
        estate: str = "Castlehaven Estate",
        linked: bool = True,
        name: str = "Test Resident",
    ) -> ResidentHandle:
        from tests.conftest import SERVICE_HEADERS

        n = next(_counter)
        with transaction(self.ctx.sessions) as s:
            prop = Property(
                uprn=str(200_000_000_000 + n),
                address_line1=f"Flat {n}, {block}",
                postcode=postcode,
                block=block,
                estate=estate,
                floor=n % 5,
            )
            s.add(prop)
            s.flush()
            tenancy = Tenancy(
                reference=f"T-{300000 + n}", property_id=prop.id, tenure=tenure, start_date=date(2020, 1, 1)
            )
            s.add(tenancy)
            s.flush()
            resident = Resident(tenancy_id=tenancy.id, full_name=name, vulnerabilities=vulnerabilities or [])
            s.add(resident)
            s.flush()
            chat = f"telegram:{900000 + n}"
            if linked:
                s.add(ChannelIdentity(resident_id=resident.id, channel="telegram", external_id=str(900000 + n)))
            rid = resident.id
        headers = dict(SERVICE_HEADERS)
        headers["X-Resident-Channel"] = chat
        return ResidentHandle(
            id=rid, tenancy_reference=tenancy.reference, postcode=postcode, chat=chat, tenure=tenure, headers=headers
        )

    def officer(
        self, *, role: Role = Role.OFFICER, email: str | None = None, password: str = "correct horse battery staple",
        insight: bool = False, data_protection: bool = False,
    ) -> OfficerHandle:
        from datetime import timedelta

        email = email or f"officer{next(_counter)}@council.invalid"
        with transaction(self.ctx.sessions) as s:
            officer = create_officer(s, email=email, name="Test Officer", password=password, role=role,
                                     insight=insight, data_protection=data_protection)
            issued = issue_session(s, officer, ttl=timedelta(hours=1))
            oid = officer.id
        return OfficerHandle(id=oid, email=email, password=password, token=issued.token)
