"""The sentence-level rule of the dissatisfaction classifier (packages/repairs_dissatisfaction): how a long
message is cut into sentences, how their scores combine with the whole's, and that the scorers every caller uses
(the eval and the listening page's `dissatisfaction_score`, the Rasa component's and the embedding job's
`score_embedded`) apply that one rule. Real model and encoder where a score is asserted."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from repairs_dissatisfaction.model import load_model
from repairs_dissatisfaction.scoring import dissatisfaction_score, score_embedded
from repairs_dissatisfaction.sentences import sentences
from repairs_encoder.encoder import SentenceEncoder


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


def test_a_short_message_is_not_split() -> None:
    assert sentences("The bathroom tap is dripping") == []
    assert sentences("Hi. The tap drips.") == []  # "Hi." alone is too short to score: joined, one piece
    assert sentences("") == []


def test_a_long_message_is_cut_at_sentence_ends_semicolons_and_line_breaks() -> None:
    text = ("The kitchen tap is loose on the sink. It drips all night; the cupboard underneath is wet\n"
            "Nobody came the last time I reported it!")
    assert sentences(text) == ["The kitchen tap is loose on the sink.", "It drips all night",
                               "the cupboard underneath is wet", "Nobody came the last time I reported it!"]


def test_a_but_after_a_comma_starts_a_clause_of_its_own() -> None:
    assert sentences("The boiler was fixed on Monday, but nobody has come about the damp since May") == [
        "The boiler was fixed on Monday", "but nobody has come about the damp since May"]
    # No comma: "but" inside a clause is left alone.
    assert sentences("It works but only just") == []


def test_short_pieces_are_joined_to_their_neighbour() -> None:
    assert sentences("Hello. The window in the back bedroom won't shut. Thanks!") == []
    assert sentences("Hello there. The window in the back bedroom won't shut. The frame has rotted away.") == [
        "Hello there. The window in the back bedroom won't shut.", "The frame has rotted away."]


def test_the_combined_score_moves_from_the_whole_towards_the_top_sentence_by_the_weight() -> None:
    model = load_model()
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    for weight in (0.0, 0.5, 1.0):
        rule = replace(model, sentence_weight=weight, sentence_band=None)
        combined = rule.combine(0.2, [0.1, 0.9, 0.3])
        assert logit(combined) == pytest.approx(logit(0.2) + weight * (logit(0.9) - logit(0.2)))
        # A message with no sentences of its own keeps the whole's score.
        assert rule.combine(0.2, []) == 0.2
    half = replace(model, sentence_weight=0.5, sentence_band=None)
    # It can lower as well as raise: a rant whose sentences alone score low comes down.
    assert half.combine(0.8, [0.3, 0.4]) < 0.8
    assert half.combine(1.0, [0.0]) == pytest.approx(0.5)  # no infinite log-odds at the ends


def test_every_scorer_applies_the_same_rule(encoder: SentenceEncoder) -> None:
    model = load_model()
    texts = ["The light on the stairs is out",
             "The bath panel has split and there's a gap underneath it. The last man who came for the sink left "
             "the job half done and never came back, which I'm not happy about"]
    whole = model.probabilities(encoder.encode(texts), texts)
    by_text = dissatisfaction_score(texts, encoder=encoder)
    by_vectors = score_embedded(encoder.encode(texts), texts, encoder=encoder)
    assert by_text == pytest.approx(by_vectors, abs=1e-6)
    assert by_text[0] == pytest.approx(whole[0], abs=1e-6)  # one sentence: the whole alone
    pieces = sentences(texts[1])
    assert len(pieces) == 2
    expected = model.combine(float(whole[1]), model.probabilities(encoder.encode(pieces), pieces).tolist())
    assert by_text[1] == pytest.approx(expected, abs=1e-6)


def test_only_long_messages_near_the_threshold_are_encoded_again(encoder: SentenceEncoder) -> None:
    calls: list[list[str]] = []

    class Counting:
        def encode(self, texts: list[str]) -> np.ndarray:
            calls.append(list(texts))
            return encoder.encode(texts)

    committed = load_model()
    assert committed.sentence_weight > 0  # the committed model weighs sentences (chosen by training.py)
    texts = ["nobody came again", "The kitchen tap drips all night. The last plumber never finished the job"]
    score_embedded(encoder.encode(texts), texts, encoder=Counting(), model=replace(committed, sentence_band=None))
    assert calls == [["The kitchen tap drips all night.", "The last plumber never finished the job"]]
    # With no band at all around the threshold, no message's sentences are consulted, and none encoded.
    calls.clear()
    scores = score_embedded(encoder.encode(texts), texts, encoder=Counting(),
                            model=replace(committed, sentence_band=0.0))
    assert calls == []
    assert scores == pytest.approx(committed.probabilities(encoder.encode(texts), texts).tolist(), abs=1e-6)


def test_the_band_is_in_log_odds_around_the_threshold() -> None:
    model = replace(load_model(), threshold=0.5, sentence_weight=0.25, sentence_band=1.0)
    # log-odds 0, 0.85, -0.85 are inside; 2.2 and -2.2 outside.
    assert [model.consults_sentences(p) for p in (0.5, 0.7, 0.3, 0.9, 0.1)] == [True, True, True, False, False]
    assert model.combine(0.9, [0.01]) == 0.9  # outside the band the whole's score stands
    assert not replace(model, sentence_weight=0.0).consults_sentences(0.5)


# Written for this test; in neither the training nor the development set.
REPORT_WITH_A_GRIEVANCE = ("The bedroom window catch has snapped off. It is on the first floor and it rattles all "
                           "night in the wind. Frankly I have lost count of the times I have been promised a call "
                           "back about my repairs.")
LONG_REPORTS = [
    "The shed door has blown off in the storm and is lying on the grass. The hinges have sheared. I have propped "
    "it against the fence for now. Could someone come and rehang it?",
    # Strong feeling about the fault, none about the handling: not dissatisfaction (the Ombudsman's border).
    "I am so angry about this leak, it has ruined my rug. The water is coming from somewhere above the kitchen "
    "window. It is absolutely miserable living like this. Please send someone to find it.",
]


def test_one_sentence_of_grievance_in_a_long_report_counts_and_a_rant_about_the_fault_does_not(
        encoder: SentenceEncoder) -> None:
    model = load_model()
    texts = [REPORT_WITH_A_GRIEVANCE, *LONG_REPORTS]
    scores = dissatisfaction_score(texts, encoder=encoder)
    assert [s >= model.threshold for s in scores] == [True, False, False], scores
    # The grievance's sentence is what lifted it: the whole alone scores lower.
    assert model.probabilities(encoder.encode(texts[:1]), texts[:1])[0] < scores[0]
