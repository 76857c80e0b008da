"""The retention schedule: data/retention.yml, checked against the kinds of record the service knows, with
the settings' overrides (REPAIRS_RETENTION_DAYS) applied over it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

FILE_NAME = "retention.yml"


class RetentionConfigError(ValueError):
    """The schedule cannot be used: the message says what to fix."""


class _KindEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    counts_from: str = Field(alias="from", min_length=1, max_length=40)
    does: Literal["anonymise", "delete"]
    keep_days: int = Field(ge=0, le=36500)


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kinds: dict[str, _KindEntry]


@dataclass(frozen=True)
class KindRule:
    name: str
    keep_days: int
    counts_from: str
    does: str

    @property
    def keep(self) -> timedelta:
        return timedelta(days=self.keep_days)


@dataclass(frozen=True)
class RetentionSchedule:
    rules: Mapping[str, KindRule]

    def rule(self, name: str) -> KindRule:
        return self.rules[name]

    def years(self, name: str) -> str:
        """How long, in words a letter to a resident would use ("6 years", "90 days")."""
        days = self.rules[name].keep_days
        if days >= 365 and days % 365 == 0:
            years = days // 365
            return f"{years} year" + ("s" if years != 1 else "")
        return f"{days} day" + ("s" if days != 1 else "")


def load_schedule(data_dir: Path, *, known: Iterable[str], overrides: Mapping[str, int] | None = None
                  ) -> RetentionSchedule:
    """Read and check the schedule. Every known kind must have an entry and every entry a known kind, so a
    record kind added to the code without a decided period (or a typo in the file) stops the service."""
    path = data_dir / FILE_NAME
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RetentionConfigError(f"{path} is missing: it says how long personal data is kept") from None
    except yaml.YAMLError as exc:
        raise RetentionConfigError(f"{path} is not valid YAML: {exc}") from None
    try:
        parsed = _File.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise RetentionConfigError(f"{path}: {problems}") from None
    known_names = set(known)
    missing = sorted(known_names - parsed.kinds.keys())
    unknown = sorted(parsed.kinds.keys() - known_names)
    if missing:
        raise RetentionConfigError(f"{path} has no entry for: {', '.join(missing)}")
    if unknown:
        raise RetentionConfigError(f"{path} names kinds of record the service does not know: {', '.join(unknown)}")
    overrides = dict(overrides or {})
    not_known = sorted(overrides.keys() - known_names)
    if not_known:
        raise RetentionConfigError(f"REPAIRS_RETENTION_DAYS names unknown kinds: {', '.join(not_known)}")
    rules = {
        name: KindRule(name=name, keep_days=overrides.get(name, entry.keep_days), counts_from=entry.counts_from,
                       does=entry.does)
        for name, entry in parsed.kinds.items()
    }
    return RetentionSchedule(rules=rules)


LISTENING_KIND = "listening_utterances"


def settings_overrides(retention_days: Mapping[str, int], listening_days: int | None) -> dict[str, int]:
    """REPAIRS_RETENTION_DAYS, with REPAIRS_LISTENING_RETENTION_DAYS (listening's own setting, older than the
    schedule and kept working) as one more override. Both naming the listening period differently is refused:
    which one was meant cannot be guessed."""
    overrides = dict(retention_days)
    if listening_days is None:
        return overrides
    named = overrides.get(LISTENING_KIND)
    if named is not None and named != listening_days:
        raise RetentionConfigError(
            f"REPAIRS_LISTENING_RETENTION_DAYS ({listening_days}) and REPAIRS_RETENTION_DAYS' {LISTENING_KIND} "
            f"({named}) disagree: set one of them")
    overrides[LISTENING_KIND] = listening_days
    return overrides
