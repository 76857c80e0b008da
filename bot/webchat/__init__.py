"""Web chat: the embedded default channel, a small page served by the bot's HTTP server (bot/web.py).

The same conversation as on Telegram, through Rasa's signed channel as `web:<session id>`. Nothing about a
session is kept in the bot's memory: the session id lives in a signed cookie, button payloads and
update acknowledgements are signed, and proactive updates are pulled from the repairs service's
outbox when the page asks, so any number of bot replicas can serve the same resident.
"""

from bot.webchat.routes import WebChat

__all__ = ["WebChat"]
