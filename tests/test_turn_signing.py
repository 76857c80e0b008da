"""The turn-signing rule both sides apply (packages/repairs_common/repairs_common/turn_signing.py): the bot signs,
Rasa's signed channel verifies. The same checks through a real Rasa are in tests/test_signed_channel.py."""

from __future__ import annotations

import json

import pytest
from repairs_common import turn_signing as ts

SECRET = "s" * 40
NOW = 1_800_000_000.0


def _signed(message: str = "my tap is leaking", *, typed: bool = True, now: float = NOW,
            metadata: dict[str, object] | None = None) -> tuple[bytes, dict[str, str]]:
    return ts.signed_request(SECRET, "telegram:42", message, metadata or {"channel": "telegram"}, typed=typed,
                             now=now)


def _reason(body: bytes, signature: str | None, *, secret: str = SECRET, now: float = NOW) -> str:
    with pytest.raises(ts.TurnRefused) as refused:
        ts.verify(secret, body, signature, now=now)
    return refused.value.reason


def test_a_signed_turn_verifies_with_everything_it_said() -> None:
    body, headers = _signed(metadata={"channel": "telegram", "location": {"latitude": 51.53, "longitude": -0.14}})
    assert headers["Content-Type"] == "application/json"
    turn = ts.verify(SECRET, body, headers[ts.SIGNATURE_HEADER], now=NOW + 59)
    assert (turn.sender, turn.message, turn.typed) == ("telegram:42", "my tap is leaking", True)
    assert turn.metadata == {"channel": "telegram", "location": {"latitude": 51.53, "longitude": -0.14}}
    assert turn.timestamp == int(NOW) and len(turn.nonce) == 32
    assert headers[ts.SIGNATURE_HEADER].startswith("v1=")


def test_the_check_covers_meaning_not_layout() -> None:
    body, headers = _signed()
    relaid = json.dumps(json.loads(body), indent=2).encode()  # same fields, other bytes
    assert ts.verify(SECRET, relaid, headers[ts.SIGNATURE_HEADER], now=NOW).message == "my tap is leaking"


def test_each_nonce_is_new() -> None:
    assert json.loads(_signed()[0])["nonce"] != json.loads(_signed()[0])["nonce"]


def test_unsigned_turns_are_refused() -> None:
    body, _ = _signed()
    assert _reason(body, None) == ts.UNSIGNED
    assert _reason(body, "") == ts.UNSIGNED


def test_a_turn_signed_with_another_secret_is_forged() -> None:
    body, headers = ts.signed_request("w" * 40, "telegram:42", "hello", {}, typed=True, now=NOW)
    assert _reason(body, headers[ts.SIGNATURE_HEADER]) == ts.FORGED
    assert _reason(body, "v1=" + "0" * 64) == ts.FORGED
    assert _reason(body, "v1=ünïcode") == ts.FORGED  # compared as bytes: no TypeError on non-ASCII


@pytest.mark.parametrize(("field", "value"), [
    ("sender", "telegram:43"),  # someone else's conversation
    ("message", "cancel my repair"),
    ("metadata", {"channel": "web"}),
    ("input", ts.BUTTON),  # a typed "/intent" passed off as a button
    ("timestamp", int(NOW) + 1),
    ("nonce", "f" * 32),  # a replayed turn with a fresh nonce
])
def test_any_field_altered_after_signing_is_forged(field: str, value: object) -> None:
    body, headers = _signed()
    data = json.loads(body)
    data[field] = value
    assert _reason(json.dumps(data).encode(), headers[ts.SIGNATURE_HEADER]) == ts.FORGED


@pytest.mark.parametrize("alter", [
    pytest.param(lambda d: d.update(extra="unsigned field"), id="extra-field"),
    pytest.param(lambda d: d.pop("nonce"), id="missing-field"),
    pytest.param(lambda d: d.update(input="voice"), id="unknown-input"),
    pytest.param(lambda d: d.update(timestamp=str(d["timestamp"])), id="timestamp-as-text"),
    pytest.param(lambda d: d.update(nonce="xyz"), id="short-nonce"),
    pytest.param(lambda d: d.update(sender=""), id="empty-sender"),
    pytest.param(lambda d: d.update(metadata=[]), id="metadata-not-an-object"),
])
def test_malformed_bodies_are_refused(alter) -> None:
    body, headers = _signed()
    data = json.loads(body)
    alter(data)
    assert _reason(json.dumps(data).encode(), headers[ts.SIGNATURE_HEADER]) == ts.MALFORMED


def test_bodies_that_are_not_json_objects_are_malformed() -> None:
    for body in (b"", b"not json", b"[]", b"\xff\xfe", b'{"metadata": {"x": NaN}}'):
        assert _reason(body, "v1=" + "0" * 64) == ts.MALFORMED


def test_turns_older_or_newer_than_the_window_are_stale() -> None:
    body, headers = _signed()
    signature = headers[ts.SIGNATURE_HEADER]
    assert ts.verify(SECRET, body, signature, now=NOW + ts.DEFAULT_MAX_AGE_SECONDS).nonce
    assert _reason(body, signature, now=NOW + ts.DEFAULT_MAX_AGE_SECONDS + 1) == ts.STALE
    assert _reason(body, signature, now=NOW - ts.DEFAULT_MAX_AGE_SECONDS - 1) == ts.STALE
    with pytest.raises(ts.TurnRefused):
        ts.verify(SECRET, body, signature, now=NOW + 11, max_age_seconds=10)


def test_typed_text_never_chooses_an_intent_but_a_button_does() -> None:
    typed = ts.verify(SECRET, *_parts(_signed(' // /check_status{"ticket_ref": "HR-2222ZZ"}')), now=NOW)
    assert typed.text_for_assistant == 'check_status{"ticket_ref": "HR-2222ZZ"}'
    button = ts.verify(SECRET, *_parts(_signed("/affirm", typed=False)), now=NOW)
    assert button.text_for_assistant == "/affirm"
    assert ts.plain_words("  hello /there ") == "hello /there"
    assert ts.plain_words(" / / ") == ""


def _parts(signed: tuple[bytes, dict[str, str]]) -> tuple[bytes, str]:
    return signed[0], signed[1][ts.SIGNATURE_HEADER]


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        ts.check_secret("")
    with pytest.raises(ValueError, match="openssl rand -hex 32"):
        ts.check_secret("x" * 31)
    assert ts.check_secret("x" * 32) == "x" * 32
