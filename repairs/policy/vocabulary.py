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


# The 29 hazards of the Housing Health and Safety Rating System (Housing Act 2004; the HHSRS (England)
# Regulations 2005, schedule 1), in the schedule's order. Awaab's Law (the Hazards in Social Housing
# regulations) brings them under its clocks in phases; which hazard belongs to which phase, and from when, is
# council data in data/policy.yml (`awaab.hazard_groups`). The codes themselves are the law's, so they live here.
HHSRS_HAZARDS: tuple[str, ...] = (
    "damp_mould",                  # damp and mould growth
    "excess_cold",
    "excess_heat",
    "asbestos_mmf",                # asbestos and manufactured mineral fibres
    "biocides",
    "carbon_monoxide",             # carbon monoxide and fuel combustion products
    "lead",
    "radiation",
    "uncombusted_fuel_gas",
    "volatile_organic_compounds",
    "crowding_space",              # crowding and space
    "entry_by_intruders",
    "lighting",
    "noise",
    "domestic_hygiene",            # domestic hygiene, pests and refuse
    "food_safety",
    "personal_hygiene",            # personal hygiene, sanitation and drainage
    "water_supply",
    "falls_baths",                 # falls associated with baths etc.
    "falls_level",                 # falling on level surfaces etc.
    "falls_stairs",                # falling on stairs etc.
    "falls_between_levels",
    "electrical",                  # electrical hazards
    "fire",
    "flames_hot_surfaces",
    "collision_entrapment",
    "explosions",
    "amenities",                   # position and operability of amenities etc.
    "structural_collapse",         # structural collapse and falling elements
)

# How the workspace names them.
HHSRS_NAMES: dict[str, str] = {
    "damp_mould": "Damp and mould growth",
    "excess_cold": "Excess cold",
    "excess_heat": "Excess heat",
    "asbestos_mmf": "Asbestos and MMF",
    "biocides": "Biocides",
    "carbon_monoxide": "Carbon monoxide and fuel combustion products",
    "lead": "Lead",
    "radiation": "Radiation",
    "uncombusted_fuel_gas": "Uncombusted fuel gas",
    "volatile_organic_compounds": "Volatile organic compounds",
    "crowding_space": "Crowding and space",
    "entry_by_intruders": "Entry by intruders",
    "lighting": "Lighting",
    "noise": "Noise",
    "domestic_hygiene": "Domestic hygiene, pests and refuse",
    "food_safety": "Food safety",
    "personal_hygiene": "Personal hygiene, sanitation and drainage",
    "water_supply": "Water supply",
    "falls_baths": "Falls associated with baths",
    "falls_level": "Falling on level surfaces",
    "falls_stairs": "Falling on stairs",
    "falls_between_levels": "Falling between levels",
    "electrical": "Electrical hazards",
    "fire": "Fire",
    "flames_hot_surfaces": "Flames, hot surfaces",
    "collision_entrapment": "Collision and entrapment",
    "explosions": "Explosions",
    "amenities": "Position and operability of amenities",
    "structural_collapse": "Structural collapse and falling elements",
}
