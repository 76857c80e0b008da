"""Rules the repairs service (Python 3.11) and the assistant (Rasa, Python 3.10) must apply alike.

Pure Python that runs on both: no third-party imports beyond PyYAML, no work at import time. Each module
holds one rule; both environments install this package (`make app-env`, `make rasa-env`, the images), so a
rule changes in one place and a parity test runs the same cases through both sides.
"""
