"""The one client for the Rasa server's HTTP API (message parsing only)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


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


class RasaNluClient:
    def __init__(self, base_url: str, token: str | None, *, timeout: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._timeout = httpx.Timeout(timeout, connect=2.0)

    def parse(self, text: str) -> Parse:
        params = {"token": self._token} if self._token else None
        try:
            with httpx.Client(timeout=self._timeout) as http:
                response = http.post(f"{self._base}/model/parse", params=params, json={"text": text})
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
        )


def _emergency_kind(signal: Any) -> str | None:
    if isinstance(signal, dict) and isinstance(signal.get("kind"), str) and signal["kind"] != "none":
        return str(signal["kind"])
    return None
