"""The signed input channel: the only way a resident's turn reaches Rasa (`POST /webhooks/signed/webhook`).

The actions treat a turn's sender as the resident's verified identity, so Rasa takes a turn only when the
bot vouches for it (repairs_common.turn_signing): a valid HMAC-SHA256 with the secret the bot and Rasa share,
a timestamp within the window, and a nonce never accepted before by any replica (rasa_channel.replay).
Anything else gets 401 and never reaches the tracker. The bot says whether the words were typed or were a
button's payload; typed words lose their leading slashes here, so they can never choose an intent.

Nothing a resident said is logged, on any path: a refused turn logs only why, a failed or cancelled one
only what kind of failure. (Rasa's REST channel logged the message text when a turn timed out.)

    rasa_channel.signed.SignedChannel:
      secret: ${RASA_CHANNEL_SECRET}              # at least 32 characters; the bot holds the same
      replay_store: ${RASA_CHANNEL_REPLAY_STORE}  # redis://... or a database URL (see replay.py)
      max_age_seconds: 60                         # optional: the freshness window

A turn that ends with nothing to say had an action fail under it (Rasa drops the action's events and listens
again, silently): it is answered with an apology (NO_ANSWER), never with an empty list.

The answer is Rasa's REST format, which the bot parses: a list of {recipient_id, text, buttons, image, custom}.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from repairs_common import turn_signing
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_channel.replay import ReplayStore, ReplayStoreUnavailable, replay_store_from_url

logger = logging.getLogger(__name__)

# What a turn that ended with nothing to say answers. The failed action's events are lost, so the conversation
# is where it was before the message; but what the action did before it failed (a repair it logged, say)
# stands, so the resident is asked to look before saying it again.
NO_ANSWER = (
    "Sorry, something went wrong on our side and I couldn't finish answering that. Please try again in a "
    "minute. If you were reporting a repair, ask me for the status of your repairs first: it may have been "
    "logged. If you smell gas, call 0800 111 999 now. If there is danger to life, call 999."
)

# A turn's body is small (the bot caps messages at 1,500 characters); anything much larger is not one.
MAX_BODY_BYTES = 64 * 1024


class SignedChannel(InputChannel):
    def __init__(self, secret: str, replays: ReplayStore,
                 max_age_seconds: float = turn_signing.DEFAULT_MAX_AGE_SECONDS) -> None:
        self._secret = turn_signing.check_secret(secret)
        self._replays = replays
        if not 1 <= max_age_seconds <= 600:
            raise ValueError("max_age_seconds must be between 1 and 600")
        self._max_age = float(max_age_seconds)

    @classmethod
    def name(cls) -> str:
        return turn_signing.CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        settings = dict(credentials or {})
        if not settings:
            cls.raise_missing_credentials_exception()
        unknown = set(settings) - {"secret", "replay_store", "max_age_seconds"}
        if unknown:
            raise ValueError(f"the signed channel has no settings named {sorted(unknown)}")
        return cls(
            str(settings.get("secret") or ""),
            replay_store_from_url(str(settings.get("replay_store") or "")),
            float(settings.get("max_age_seconds", turn_signing.DEFAULT_MAX_AGE_SECONDS)),
        )

    async def accept(self, body: bytes, signature: str | None) -> turn_signing.Turn:
        """The turn, when it is the bot's, fresh and new; TurnRefused (or ReplayStoreUnavailable) otherwise."""
        now = time.time()
        turn = turn_signing.verify(self._secret, body, signature, now=now, max_age_seconds=self._max_age)
        # Remembered until the turn would be stale anyway (a second of slack for rounding).
        if not await self._replays.claim(turn.nonce, turn.timestamp + self._max_age + 1):
            raise turn_signing.TurnRefused(turn_signing.REPLAYED)
        return turn

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("signed_channel", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.body or b""
            if len(body) > MAX_BODY_BYTES:
                return response.json({"error": "too_large"}, status=413)
            try:
                turn = await self.accept(body, request.headers.get(turn_signing.SIGNATURE_HEADER))
            except turn_signing.TurnRefused as refused:
                logger.warning("signed channel refused a turn: %s", refused.reason)
                return response.json({"error": "unauthorized"}, status=401)  # why is for our log only
            except ReplayStoreUnavailable as failure:
                logger.error("signed channel cannot check for replays (%s); turn refused", failure)
                return response.json({"error": "unavailable"}, status=503)
            text = turn.text_for_assistant
            if not text:
                return response.json({"error": "empty"}, status=400)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(text, collector, turn.sender, input_channel=self.name(),
                                                 metadata=dict(turn.metadata)))
            except asyncio.CancelledError:
                # The caller gave up, or Sanic's response timeout ran out: say so, and nothing of the turn.
                logger.error("signed channel: a turn was cancelled before it finished (timed out or the "
                             "caller left)")
                raise
            except Exception as failure:  # the turn's words may be in the exception: only its type is logged
                logger.error("signed channel: a turn failed (%s)", type(failure).__name__)
                if not collector.messages:
                    return response.json({"error": "failed"}, status=500)
            if not collector.messages:
                # Every turn of ours says something; one that says nothing had an action fail under it (Rasa
                # logs the failure, drops the action's events and carries on to listen). The resident is told.
                logger.error("signed channel: a turn ended with nothing to say (an action failed); answered "
                             "with the apology")
                return response.json([{"recipient_id": turn.sender, "text": NO_ANSWER}])
            # What was said before a failure (safety advice first of all) still reaches the resident.
            return response.json(collector.messages)

        return webhook
