"""Listening: what residents say to the assistant (and elsewhere), kept redacted for officers with the
insight permission. See redaction.py (what is never kept), events.py (Rasa's broker events), store.py."""
