"""Field types shared by the API's request models: bounded, and free of characters databases refuse."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints, WithJsonSchema
from repairs_common import channels, postcodes, tenancy_references


def _clean(value: str) -> str:
    # PostgreSQL cannot store NUL in text; other control characters are never meaningful here.
    if any(ch == "\x00" or (ord(ch) < 32 and ch not in "\t\n\r") for ch in value):
        raise ValueError("text contains control characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_clean)]
RequiredShortText = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_clean), AfterValidator(_not_blank)
]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=4000), AfterValidator(_clean), AfterValidator(_not_blank)
]
OptionalLongText = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_clean)]
# One chat message as kept with a report (a resident's message is at most a few hundred characters).
ChatLineText = Annotated[str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_clean)]


BlockText = Annotated[str, StringConstraints(max_length=100), AfterValidator(_clean)]
FloorText = Annotated[str, StringConstraints(max_length=20), AfterValidator(_clean)]
AvailabilityText = Annotated[str, StringConstraints(max_length=500), AfterValidator(_clean)]


# -- the formats the assistant reads too (packages/repairs_common): checked here, then written out one way --


def _tenancy_reference(value: str) -> str:
    normal = tenancy_references.normalise_tenancy_reference(value)
    if normal is None:
        raise ValueError(f"must be a tenancy reference: {tenancy_references.DESCRIPTION}, like "
                         f"{tenancy_references.EXAMPLE}")
    return normal


def _postcode(value: str) -> str:
    normal = postcodes.normalise_postcode(value)
    if normal is None:
        raise ValueError(f"must be a UK postcode, like {postcodes.EXAMPLE}")
    return normal


def one_of(allowed: tuple[str, ...]) -> tuple[AfterValidator, WithJsonSchema]:
    """Metadata for `Annotated[str, *one_of(...)]`: a string from a list kept elsewhere, shown as an enum."""

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return AfterValidator(check), WithJsonSchema({"type": "string", "enum": list(allowed)})


TenancyReference = Annotated[str, StringConstraints(max_length=20), AfterValidator(_tenancy_reference)]
Postcode = Annotated[str, StringConstraints(max_length=16), AfterValidator(_postcode)]
# A chat's channel and its id there, as `X-Resident-Channel` carries them joined (`telegram:12345`).
ResidentChannel = Annotated[str, *one_of(channels.RESIDENT_CHANNELS)]
ChannelUserId = Annotated[
    str, StringConstraints(min_length=1, max_length=channels.MAX_EXTERNAL_ID, pattern=channels.EXTERNAL_ID_PATTERN)
]
