"""Rasa tracker stores for this project (loaded by Rasa from endpoints*.yml; runs in the Rasa environment)."""
