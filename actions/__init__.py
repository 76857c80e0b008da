"""Rasa custom actions (rasa-sdk 3.6), one module per conversation capability, and one client for
the repairs service. Runs in the Rasa environment (Python 3.10)."""
