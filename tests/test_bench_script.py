"""The assistant benchmark's script: at least ten distinct phrasings per step, picked reproducibly, and
every step able to fail its check."""

from __future__ import annotations

import random

import pytest

from bench.conversations import MAKES_TICKET, SCRIPT, Step, choose


@pytest.mark.parametrize("step", SCRIPT, ids=[s.kind for s in SCRIPT])
def test_every_step_has_at_least_ten_distinct_phrasings(step: Step) -> None:
    distinct = {" ".join(text.lower().split()) for text in step.texts}
    assert len(distinct) >= 10, f"{step.kind}: {len(distinct)} distinct phrasings"


def test_asking_after_the_new_repair_always_names_it() -> None:
    # The check is that the answer names the ticket; a phrasing without it could never pass (or fail) fairly.
    [step] = [s for s in SCRIPT if "{ref}" in " ".join(s.expect)]
    assert all("{ref}" in text for text in step.texts)
    assert any(s.kind == MAKES_TICKET for s in SCRIPT)


def test_only_steps_with_a_button_are_ever_tapped_and_picks_are_seeded() -> None:
    def picks(seed: int) -> list[tuple[str, str]]:
        rng = random.Random(seed)
        return [choose(step, rng) for _ in range(40) for step in SCRIPT]

    first = picks(7)
    assert first == picks(7)
    assert first != picks(8)
    taps = {text for label, text in first if label == "button"}
    assert taps == {s.tap for s in SCRIPT if s.tap}
    typed = {text for label, text in first if label != "button"}
    assert not any(text.startswith("/") for text in typed)  # typed words never choose an intent
    for step in SCRIPT:  # every step's phrasings get used, not only the first few
        used = {text for _ in range(200) for label, text in [choose(step, random.Random(_))] if label != "button"}
        assert len(used) == len(set(step.texts)), step.kind
