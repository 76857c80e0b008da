"""The action server (`python -m action_server`): rasa-sdk's server for the actions in actions/, plus what
rasa-sdk's own `rasa run actions` lacks: it answers only Rasa (a token in every call) and it refuses to start
without the settings the actions need, instead of failing each resident's turn later.
"""
