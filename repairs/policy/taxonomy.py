"""The repair categories residents and officers choose from (configured in data/categories.yml)."""

from __future__ import annotations

from dataclasses import dataclass

from repairs.policy.schema import CategoryConfig
from repairs.policy.vocabulary import Priority


@dataclass(frozen=True)
class Category:
    code: str
    name: str
    description: str
    trade: str
    default_priority: Priority
    communal: bool


def build_categories(configs: list[CategoryConfig]) -> dict[str, Category]:
    """Categories keyed by code, in the order of the YAML file."""
    return {
        c.code: Category(
            code=c.code,
            name=c.name,
            description=c.description,
            trade=c.trade,
            default_priority=Priority(c.default_priority),
            communal=c.communal,
        )
        for c in configs
    }
