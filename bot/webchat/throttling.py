"""Which rate limits each web chat POST is held to (the buckets themselves are in bot/webchat/limits.py).

Every POST counts against its session's bucket for its kind; messages and photos, the requests that cost
the assistant or the repairs service the most, also count against the client address's bucket, which a
client cannot escape by starting new sessions. Update polls are not counted per address: they are cheap,
and every open page in a household or an office makes them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from repairs_common.client_addresses import client_network

from bot.webchat.limits import Bucket, Limiter, Rate, Verdict, limiter_from_settings
from bot.webchat.settings import WebChatSettings
from bot.webchat.signing import Signer

log = logging.getLogger(__name__)


class Kind(StrEnum):
    MESSAGE = "message"  # typed words, buttons, and "forget this chat": each a turn with the assistant
    PHOTO = "photo"
    UPDATES = "updates"  # polls for updates and their acknowledgements


@dataclass
class WebChatLimits:
    limiter: Limiter
    signer: Signer
    per_session: dict[Kind, Rate]
    per_client: Rate | None

    @classmethod
    def from_settings(cls, web: WebChatSettings, signer: Signer) -> WebChatLimits:
        return cls(
            limiter_from_settings(web.redis_url_value(), web.rate_limit_prefix),
            signer,
            {Kind.MESSAGE: Rate(web.messages_per_minute, web.message_burst),
             Kind.PHOTO: Rate(web.photos_per_minute, web.photo_burst),
             Kind.UPDATES: Rate(web.polls_per_minute, web.poll_burst)},
            Rate(web.client_per_minute, web.client_burst) if web.client_per_minute > 0 else None,
        )

    async def take(self, kind: Kind, session_id: str, client: str) -> Verdict:
        buckets = [Bucket("session", self.signer.limit_key(f"session-{kind}", session_id), self.per_session[kind])]
        if self.per_client is not None and kind is not Kind.UPDATES:
            # By network, as the repairs service counts clients: an IPv6 client holds a whole /64.
            network = client_network(client)
            buckets.append(Bucket("client", self.signer.limit_key("client", network), self.per_client))
        verdict = await self.limiter.take(buckets)
        if not verdict.allowed:
            # Which limit, never whose: no session id or address in the log.
            log.info("web chat request limited", extra={"kind": str(kind), "limit": verdict.limited_by,
                                                        "retry_after": verdict.retry_after_header})
        return verdict

    async def aclose(self) -> None:
        await self.limiter.aclose()
