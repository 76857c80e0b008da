"""Custom Rasa components (they run inside the Rasa server, Python 3.10)."""
