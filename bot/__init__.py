"""The channel edge: Telegram (python-telegram-bot 22) and the web chat, with proactive updates.

Built in the "Messaging channels" issue; this package is where it lives.
"""
