"""Counts of how the assistant is used, kept so reports can say how many conversations it handled without a
person and how often it failed to understand. Counts only: no text, no identity."""
