"""`rasa data validate` is clean: no errors and no warnings (unused intents or responses, intents with no
training examples, slot mappings for forms that do not ask for the slot, story conflicts, ...)."""

from __future__ import annotations

from pathlib import Path

from evaluation.rasa_process import ROOT
from tests.rasa_validation import assert_rasa_data_is_clean


def test_training_data_validates_without_warnings(tmp_path: Path) -> None:
    assert_rasa_data_is_clean(domain=ROOT / "domain.yml", data=[ROOT / "nlu", ROOT / "data" / "dialogue"],
                              config=ROOT / "config.yml", workdir=tmp_path)
