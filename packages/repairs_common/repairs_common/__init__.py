"""Rules the repairs service (Python 3.11) and the assistant (Rasa, Python 3.10) must apply alike.

Pure Python that runs on both: no third-party imports beyond PyYAML, no work at import time. Each module
holds one rule; both environments install this package (`make app-env`, `make rasa-env`, the images), so a
rule changes in one place and a parity test (tests/test_shared_rules_parity.py) runs the same cases through
both sides.

- `repairs_common.gas`: gas and carbon monoxide in a message (`gas_hazards`, `gas_hazard`, `mentions_gas`).
- `repairs_common.tenancy_references`: `normalise_tenancy_reference`, `find_tenancy_reference`,
  `without_tenancy_references` (T-123456).
- `repairs_common.postcodes`: `normalise_postcode`, `find_postcode`, `outward_code` (UK postcodes).
- `repairs_common.channels`: a chat's `<channel>:<id>` (`parse_channel_identity`, `channel_identity`,
  `identity_for_sender`, `RESIDENT_CHANNELS`).
- `repairs_common.taxonomy`: the repair category codes (`CATEGORY_CODES`, `COMMUNAL_CATEGORIES`,
  `category_from_intent`).
- `repairs_common.facts`: the facts a call handler decides priority on (`Facts`, `Qualifier`, the codes and
  qualifiers of evaluation/FACTS.md), and their wire form in Rasa's parse, the triage API and tickets.
"""
