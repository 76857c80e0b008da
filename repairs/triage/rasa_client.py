"""The one client for the Rasa server's HTTP API (message parsing only)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from repairs_common.facts import Facts, FactsError

from repairs.policy.fact_rules import parse_facts

log = logging.getLogger(__name__)


class NluUnavailable(Exception):
    """The Rasa server could not be reached or did not answer in time."""


@dataclass(frozen=True)
class Parse:
    intent: str
    confidence: float
    ranking: list[tuple[str, float]]
    entities: list[dict[str, Any]]
    # The assistant's learned emergency signal (rasa_components.emergency_classifier): the kind of
    # emergency, named by its safety advice, or None.
    emergency: str | None = None
    # What the assistant's fact extractor read in the message (repairs_common.facts), or None when the model
    # has no extractor (an older model): the policy then decides from the phrase rules.
    facts: Facts | None = None


class RasaNluClient:
    """One HTTP client for the life of the service, shared by the request threads (httpx's client is
    thread-safe). A client per request cost more than the parse itself: building one loads the CA bundle into a
    new SSL context (about 20 ms on an idle 2-core machine, 200 ms on a busy one), and each opened a new
    connection. It keeps only a connection pool, nothing another replica would need."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=2.0))

    def close(self) -> None:
        self._http.close()

    def parse(self, text: str) -> Parse:
        params = {"token": self._token} if self._token else None
        try:
            response = self._http.post(f"{self._base}/model/parse", params=params, json={"text": text})
        except httpx.HTTPError as exc:
            raise NluUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise NluUnavailable(f"status {response.status_code}")
        body = response.json()
        intent = body.get("intent") or {}
        ranking = [(str(r.get("name")), float(r.get("confidence") or 0.0)) for r in body.get("intent_ranking") or []]
        return Parse(
            intent=str(intent.get("name") or "nlu_fallback"),
            confidence=float(intent.get("confidence") or 0.0),
            ranking=ranking,
            entities=list(body.get("entities") or []),
            emergency=_emergency_kind(body.get("emergency")),
            facts=read_facts(body.get("facts")),
        )


def read_facts(doc: Any) -> Facts | None:
    """The parse's facts; None when absent, or when they do not fit the vocabulary (a model trained against
    another version of it): the phrase rules then decide, which is safer than a half-read set of facts."""
    if doc is None:
        return None
    try:
        return parse_facts(doc)
    except FactsError:
        # Not the reason: it quotes the offending value, which an extractor could have copied from the words.
        log.warning("parse facts ignored: outside the facts vocabulary")
        return None


def _emergency_kind(signal: Any) -> str | None:
    if isinstance(signal, dict) and isinstance(signal.get("kind"), str) and signal["kind"] != "none":
        return str(signal["kind"])
    return None
