"""The Open311 service list and service definitions (from the repair taxonomy), and the checked
form of a `POST requests` submission.

Everything here is pure: no database, no clock except where one is passed in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from repairs_common.postcodes import find_postcode, outward_code

from repairs.policy.engine import Category, Policy
from repairs.problems import Problem
from repairs.tickets.models import LocationType

SERVICE_TYPE = "realtime"
GROUP_HOME = "Homes"
GROUP_SHARED = "Shared and outside areas"

MAX_DESCRIPTION = 4000
MAX_NAME = 100
MAX_EMAIL = 254
MAX_PHONE = 30
MAX_ADDRESS = 500
MAX_ADDRESS_ID = 12  # a UPRN has at most 12 digits
MAX_MEDIA_URL = 2000
MAX_ID = 200  # device_id, account_id
MAX_SERVICE_CODE = 30

_LOCATION_TYPE_NAMES = {
    LocationType.IN_HOME: "Inside a home",
    LocationType.COMMUNAL: "A shared part of a building (stairs, corridors, lifts, bin stores)",
    LocationType.EXTERNAL: "Outside (grounds, paths, fences, outside walls)",
}


# -- services -------------------------------------------------------------------------------------


def keywords(category: Category) -> str:
    """'Roof, gutters and chimneys' -> 'roof, gutters, chimneys'."""
    words = [w.strip() for w in re.split(r",|\band\b", category.name.lower())]
    return ", ".join(w for w in words if w)


def service_entry(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "service_name": category.name,
        "description": category.description,
        "metadata": True,  # every service has attributes (see `attributes`)
        "type": SERVICE_TYPE,
        "keywords": keywords(category),
        "group": GROUP_SHARED if category.communal else GROUP_HOME,
    }


def services(policy: Policy) -> list[dict[str, Any]]:
    """Exactly the taxonomy's categories, in the taxonomy's order."""
    return [service_entry(c) for c in policy.categories.values()]


def allowed_location_types(category: Category) -> list[LocationType]:
    """Lifts, roofs, shared areas and estate grounds are never inside one home."""
    if category.communal:
        return [LocationType.COMMUNAL, LocationType.EXTERNAL]
    return [LocationType.IN_HOME, LocationType.COMMUNAL, LocationType.EXTERNAL]


@dataclass(frozen=True)
class TextAttribute:
    code: str
    description: str
    max_length: int


TEXT_ATTRIBUTES = (
    TextAttribute("location", "Which room or place, for example kitchen, stairwell or car park.", 200),
    TextAttribute("floor", "Which floor, for example ground or 3.", 20),
    TextAttribute("block", "The name of the block or building, if it has one.", 100),
)


def _attribute(code: str, datatype: str, description: str, order: int, *, variable: bool = True,
               required: bool = False, datatype_description: str | None = None,
               values: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "variable": variable,
        "code": code,
        "datatype": datatype,
        "required": required,
        "datatype_description": datatype_description,
        "order": order,
        "description": description,
        "values": values or [],
    }


def service_definition(policy: Policy, code: str, now: datetime) -> dict[str, Any]:
    """The attributes a client may send as `attribute[code]`. Raises KeyError for an unknown code."""
    category = policy.categories[code]
    attributes = [
        _attribute(
            "location_type", "singlevaluelist", "Where is the problem?", 1,
            values=[
                {"key": t.value, "name": _LOCATION_TYPE_NAMES[t]} for t in allowed_location_types(category)
            ],
        )
    ]
    for order, attr in enumerate(TEXT_ATTRIBUTES, start=2):
        attributes.append(
            _attribute(attr.code, "string", attr.description, order,
                       datatype_description=f"At most {attr.max_length} characters.")
        )
    # Gas carries its safety advice as an informational (non-variable) attribute, which clients such
    # as FixMyStreet show before the report is sent: someone who smells gas must read it first.
    assessment = policy.assess(code, "", vulnerable=False, tenure=None, at=now)
    advice = assessment.advice if assessment.emergency else (policy.advice("gas") if code == "gas" else None)
    if advice:
        attributes.insert(0, _attribute("safety_advice", "text", advice, 0, variable=False))
    return {"service_code": category.code, "attributes": attributes}


# -- POST requests ----------------------------------------------------------------------------------


def bad_request(code: str, detail: str) -> Problem:
    return Problem(400, code, "The request is not valid", detail)


def clean_text(
    fields: Mapping[str, str], name: str, max_length: int, *, label: str | None = None
) -> str | None:
    """The field stripped, or None when absent or blank; 400 when too long or holding control characters."""
    raw = fields.get(name)
    if raw is None:
        return None
    label = label or name
    if len(raw) > max_length * 4:  # far too long: say so without scanning it
        raise bad_request("field_too_long", f"{label} is longer than {max_length} characters.")
    value = raw.strip()
    if not value:
        return None
    if len(value) > max_length:
        raise bad_request("field_too_long", f"{label} is longer than {max_length} characters.")
    if any((ord(ch) < 32 and ch not in "\t\n\r") or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        raise bad_request("field_invalid", f"{label} contains characters that are not allowed.")
    return value


def _coordinate(fields: Mapping[str, str], name: str, limit: float) -> float | None:
    raw = clean_text(fields, name, 40)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise bad_request("location_invalid", f"{name} must be a number in decimal degrees.") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise bad_request("location_invalid", f"{name} must be between -{limit:g} and {limit:g}.")
    return value


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^[0-9+()\-. ]{3,30}$")
_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_]{1,40})\]$")


def postcode_district(text: str | None) -> str | None:
    """The outward half of the first UK postcode found in free text ('12 High St, NW1 8YL' -> 'NW1')."""
    found = find_postcode(text[:MAX_ADDRESS]) if text else None
    return outward_code(found) if found else None


@dataclass(frozen=True)
class Report:
    """A checked Open311 submission (without the api_key)."""

    service_code: str
    description: str
    location_type: LocationType
    location_type_given: bool
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None
    address_id: str | None = None
    location: str | None = None
    floor: str | None = None
    block: str | None = None
    media_url: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    device_id: str | None = None
    account_id: str | None = None
    other_attributes: dict[str, str] = field(default_factory=dict)

    @property
    def reporter_name(self) -> str | None:
        name = " ".join(p for p in (self.first_name, self.last_name) if p)
        return name[:200] or None

    def fingerprint_payload(self) -> dict[str, Any]:
        return asdict(self)


def parse_report(fields: Mapping[str, str], policy: Policy) -> Report:
    """Check a submission field by field; every failure is a 400 problem that names the field."""
    code = clean_text(fields, "service_code", MAX_SERVICE_CODE)
    if code is None:
        raise bad_request("service_code_missing", "service_code is required: see services.json for the list.")
    category = policy.categories.get(code)
    if category is None:
        raise bad_request("service_code_invalid",
                          "service_code is not one of ours: see services.json for the list.")

    lat = _coordinate(fields, "lat", 90)
    long = _coordinate(fields, "long", 180)
    if (lat is None) != (long is None):
        raise bad_request("location_invalid", "Send lat and long together.")
    address_string = clean_text(fields, "address_string", MAX_ADDRESS)
    address_id = clean_text(fields, "address_id", 40)
    if address_id is not None and not (address_id.isdigit() and len(address_id) <= MAX_ADDRESS_ID):
        raise bad_request("address_id_invalid", "address_id must be a UPRN (up to 12 digits).")
    if lat is None and address_string is None and address_id is None:
        raise bad_request(
            "location_missing", "A location is required: send lat and long, address_string or address_id."
        )

    description = clean_text(fields, "description", MAX_DESCRIPTION)
    if description is None:
        raise bad_request("description_missing", "description is required: say what is wrong.")

    attributes: dict[str, str] = {}
    for name in fields:
        match = _ATTRIBUTE.match(name)
        if match:
            attributes[match.group(1)] = name

    allowed = allowed_location_types(category)
    location_type_raw = (
        clean_text(fields, attributes["location_type"], 20, label="attribute[location_type]")
        if "location_type" in attributes else None
    )
    if location_type_raw is None:
        location_type = default_location_type(category, address_id=address_id)
    else:
        chosen = next((t for t in allowed if t.value == location_type_raw.lower()), None)
        if chosen is None:
            raise bad_request(
                "attribute_invalid",
                "attribute[location_type] must be one of: " + ", ".join(t.value for t in allowed) + ".",
            )
        location_type = chosen

    texts: dict[str, str | None] = {}
    for attr in TEXT_ATTRIBUTES:
        form_name = attributes.get(attr.code)
        label = f"attribute[{attr.code}]"
        texts[attr.code] = clean_text(fields, form_name, attr.max_length, label=label) if form_name else None
    others: dict[str, str] = {}
    known = {"location_type", *(a.code for a in TEXT_ATTRIBUTES)}
    for code_, form_name in sorted(attributes.items())[:20]:
        if code_ not in known:
            value = clean_text(fields, form_name, 200, label=f"attribute[{code_}]")
            if value is not None:
                others[code_] = value

    media_url = clean_text(fields, "media_url", MAX_MEDIA_URL)
    if media_url is not None and not re.match(r"^https?://[^\s/]+", media_url, re.IGNORECASE):
        raise bad_request("media_url_invalid", "media_url must be an http or https address.")
    email = clean_text(fields, "email", MAX_EMAIL)
    if email is not None and not _EMAIL.match(email):
        raise bad_request("email_invalid", "email is not an email address.")
    phone = clean_text(fields, "phone", MAX_PHONE)
    if phone is not None and not _PHONE.match(phone):
        raise bad_request("phone_invalid", "phone may hold only digits, spaces and + ( ) - .")

    return Report(
        service_code=category.code,
        description=description,
        location_type=location_type,
        location_type_given=location_type_raw is not None,
        lat=lat,
        long=long,
        address_string=address_string,
        address_id=address_id,
        location=texts["location"],
        floor=texts["floor"],
        block=texts["block"],
        media_url=media_url,
        first_name=clean_text(fields, "first_name", MAX_NAME),
        last_name=clean_text(fields, "last_name", MAX_NAME),
        email=email,
        phone=phone,
        device_id=clean_text(fields, "device_id", MAX_ID),
        account_id=clean_text(fields, "account_id", MAX_ID),
        other_attributes=others,
    )


def default_location_type(category: Category, *, address_id: str | None) -> LocationType:
    """Without attribute[location_type]: shared-area categories are communal; a report tied to a home
    (address_id) is in that home; anything else found on a map by a member of the public is outside."""
    if category.communal:
        return LocationType.COMMUNAL
    if address_id is not None:
        return LocationType.IN_HOME
    return LocationType.EXTERNAL
