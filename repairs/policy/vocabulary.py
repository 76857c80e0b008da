"""The words the repairs policy is written in: how pressing a repair is, where it is, and the resident's tenure.

The policy is the inner ring: it defines these, and the database layer (repairs.tickets.models,
repairs.residents.models) imports them to store them, never the other way round, so the rules can be read,
tested and shared without an ORM. A test holds repairs/policy/ to importing nothing from the database layer.
"""

from __future__ import annotations

import enum


class Priority(enum.StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"


class LocationType(enum.StrEnum):
    IN_HOME = "in_home"
    COMMUNAL = "communal"
    EXTERNAL = "external"


class Tenure(enum.StrEnum):
    TENANT = "tenant"
    LEASEHOLDER = "leaseholder"
