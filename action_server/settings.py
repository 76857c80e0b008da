"""The action server's settings, read once from the environment at start-up and passed in.

Missing or unusable ones stop the server before it listens, with a message naming each: an action server
without the service token would answer every resident "not verified", and one without its own token would
run actions for anyone who can reach its port.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# A token shorter than this is a placeholder, not a secret (openssl rand -hex 32 makes 64 characters).
MIN_TOKEN_CHARS = 32
DEFAULT_PORT = 5055
DEFAULT_REPAIRS_PHONE = "020 7974 4444"


class SettingsError(Exception):
    """Settings the action server cannot start with; the message names every one."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ActionServerSettings:
    repairs_url: str  # REPAIRS_API_URL: the repairs service the actions call
    repairs_token: str  # REPAIRS_API_TOKEN (or the file REPAIRS_API_TOKEN_FILE names): the service token
    action_token: str  # ACTION_SERVER_TOKEN: what Rasa sends (endpoints*.yml), checked on every call
    host: str = "127.0.0.1"  # ACTION_SERVER_HOST
    port: int = DEFAULT_PORT  # ACTION_SERVER_PORT
    workers: int = 1  # ACTION_SERVER_SANIC_WORKERS (rasa-sdk's own name for it)
    # REPAIRS_PHONE: the council's repairs number, said when the repairs service fails (the service's own
    # setting of the same name and default, so one value in the environment serves both)
    repairs_phone: str = DEFAULT_REPAIRS_PHONE

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ActionServerSettings:
        problems: list[str] = []
        url = environ.get("REPAIRS_API_URL", "").strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            problems.append("REPAIRS_API_URL must be the repairs service's http(s) address, "
                            "e.g. http://127.0.0.1:8000")
        repairs_token = environ.get("REPAIRS_API_TOKEN", "").strip() or _from_file(environ, "REPAIRS_API_TOKEN_FILE")
        if not repairs_token:
            problems.append("REPAIRS_API_TOKEN (the service token) is not set, nor a REPAIRS_API_TOKEN_FILE "
                            "holding it")
        action_token = environ.get("ACTION_SERVER_TOKEN", "").strip()
        if len(action_token) < MIN_TOKEN_CHARS:
            problems.append(f"ACTION_SERVER_TOKEN (the token Rasa sends) must be at least {MIN_TOKEN_CHARS} "
                            "characters: make one with `openssl rand -hex 32` and give Rasa the same")
        port = _number(environ, "ACTION_SERVER_PORT", DEFAULT_PORT, 1, 65535, problems)
        workers = _number(environ, "ACTION_SERVER_SANIC_WORKERS", 1, 1, 64, problems)
        phone = environ.get("REPAIRS_PHONE", "").strip() or DEFAULT_REPAIRS_PHONE
        if len(phone) > 40 or not any(ch.isdigit() for ch in phone):
            problems.append("REPAIRS_PHONE must be the council's repairs phone number, e.g. 020 7974 4444")
        if problems:
            raise SettingsError(problems)
        return cls(repairs_url=url, repairs_token=repairs_token, action_token=action_token,
                   host=environ.get("ACTION_SERVER_HOST", "").strip() or "127.0.0.1", port=port, workers=workers,
                   repairs_phone=phone)


def _from_file(environ: Mapping[str, str], name: str) -> str:
    path = environ.get(name, "").strip()
    if not path or not Path(path).is_file():
        return ""
    return Path(path).read_text(encoding="utf-8").strip()


def _number(environ: Mapping[str, str], name: str, default: int, low: int, high: int, problems: list[str]) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        problems.append(f"{name} must be a whole number from {low} to {high}")
        return default
    return int(raw)
