"""The dissatisfaction classifier both environments share (packages/repairs_dissatisfaction): its committed
model is the one its committed training set makes, over the encoder the assistant runs, and it scores new words
(none of them in its training set) on the right side of its threshold. Real encoder, real weights."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from repairs_dissatisfaction import training
from repairs_dissatisfaction.model import MODEL_PATH, load_model
from repairs_dissatisfaction.scoring import dissatisfaction_score, dissatisfaction_threshold, is_dissatisfied
from repairs_encoder.model_files import default_model_dir, weights_key

DEV = training.TRAINING_PATH.parent / "dev.yml"

# Written for this test; in neither the training nor the development set.
UNHAPPY = [
    "Three visits and my shower still isn't fixed, I'm sick of being let down",
    "Nobody bothered to turn up again today, what a waste of my time",
    "The council has ignored the mould in our flat for a year",
]
CONTENT = [
    "Thank you, the electrician sorted the socket this morning",
    "The bathroom tap is dripping",
    "Could you tell me what time the plumber is coming tomorrow?",
]


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def test_the_training_set_is_large_labelled_and_without_duplicates() -> None:
    examples = training.load_examples()
    assert len(examples) >= 400
    positives = sum(e.dissatisfied for e in examples)
    assert 0.4 < positives / len(examples) < 0.6
    keys = [_key(e.text) for e in examples]
    assert len(keys) == len(set(keys))
    # The hard negatives the brief asks for are there, each a group of its own.
    groups = {e.group for e in examples if not e.dissatisfied}
    assert {"urgent", "chaser", "thanks", "not_council", "annoyed_at_fault", "new_fault"} <= groups
    assert "sarcasm" in {e.group for e in examples if e.dissatisfied}


def test_the_development_set_shares_no_message_with_the_training_set() -> None:
    dev = yaml.safe_load(DEV.read_text(encoding="utf-8"))
    assert len(dev) >= 50
    assert not {_key(i["text"]) for i in dev} & {_key(e.text) for e in training.load_examples()}
    assert all((i["about"] is None) == (not i["dissatisfied"]) for i in dev)


def test_the_committed_model_is_trained_on_the_committed_set_over_the_default_encoder() -> None:
    model = load_model()
    assert model.training_sha256 == training.training_sha256(), (
        "data/training.yml changed: retrain with `python -m repairs_dissatisfaction.training --write`")
    assert model.encoder_key == weights_key(default_model_dir())
    assert model.dim == 384
    assert 0.05 <= model.threshold <= 0.5


def test_new_words_land_on_the_right_side_of_the_threshold() -> None:
    scores = dissatisfaction_score(UNHAPPY + CONTENT)
    threshold = dissatisfaction_threshold()
    assert [s >= threshold for s in scores] == [True] * len(UNHAPPY) + [False] * len(CONTENT), scores
    assert is_dissatisfied(UNHAPPY[:1]) == [True]


def test_empty_input_and_blank_texts_score_nothing() -> None:
    assert dissatisfaction_score([]) == []
    assert dissatisfaction_score(["", "   "]) == [0.0, 0.0]


def test_one_string_is_refused_rather_than_scored_letter_by_letter() -> None:
    with pytest.raises(TypeError):
        dissatisfaction_score("nobody came")  # type: ignore[arg-type]


def test_embeddings_of_another_size_are_refused() -> None:
    with pytest.raises(ValueError, match="384"):
        load_model().probabilities(np.zeros((2, 100), dtype=np.float32), ["a", "b"])


def test_a_missing_or_foreign_model_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"repairs_dissatisfaction\.training"):
        load_model(tmp_path / "absent.json")
    foreign = tmp_path / "model.json"
    foreign.write_text(json.dumps({**json.loads(MODEL_PATH.read_text()), "format": 99}))
    with pytest.raises(ValueError, match="retrain"):
        load_model(foreign)


def test_a_given_encoder_is_used_instead_of_loading_one() -> None:
    model = load_model()

    class Fixed:
        calls: list[list[str]] = []

        def encode(self, texts: list[str]) -> np.ndarray:
            self.calls.append(list(texts))
            return np.tile(model.coef / np.linalg.norm(model.coef), (len(texts), 1))

    fixed = Fixed()
    # The direction of the coefficients is as dissatisfied as an embedding can be.
    high = dissatisfaction_score(["a b c", "d e f"], encoder=fixed)
    assert fixed.calls == [["a b c", "d e f"]]
    assert all(s > model.threshold for s in high)


def test_the_wording_view_reads_words_and_their_misspellings() -> None:
    model = load_model()
    assert model.word_weight > 0 and len(model.ngrams) > 1000
    # The same embedding, different words: the wording alone moves the score, the right way.
    vectors = np.zeros((2, model.dim), dtype=np.float32)
    unhappy, neutral = model.probabilities(vectors, ["nobody came again, disgraceful", "the tap in the kitchen"])
    assert unhappy > neutral
