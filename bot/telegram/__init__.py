"""The Telegram edge: python-telegram-bot 22 between residents' chats and the assistant.

`application.build_application()` wires it; `edge.TelegramEdge` starts and stops it in polling or
webhook mode; the other modules are one concern each (inbound text, replies, photos, ordering).
"""
