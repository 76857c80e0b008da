"""Rasa's way in for the bot: the signed input channel (loaded by Rasa from credentials.yml).

Kept apart from rasa_components/, whose files are part of the model's training fingerprint: a change to
the channel never forces a retrain.
"""
