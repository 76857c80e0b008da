"""The dissatisfaction evaluation (evaluation/dissatisfaction_eval.py) shows misses only for the sets that may be
tuned on (dev and the retired dissatisfaction-2026-12), names the retired set as retired, and for a blind set
writes aggregates only: no text of it reaches the output or the report. Real encoder and committed model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from evaluation import dissatisfaction_eval as ev

# Written for this test and labelled against their words, so that the real model misreads both: a neutral text
# labelled dissatisfied, an angry one labelled content.
ITEMS = [
    {"text": "Zebra-striped wallpaper query from flat 7", "dissatisfied": True, "about": "other", "style": "plain"},
    {"text": "Nobody came again and I am fuming with the council", "dissatisfied": False, "about": None,
     "style": "angry"},
]


def test_the_retired_set_is_tunable_and_the_new_one_blind() -> None:
    assert ev.set_kind("dev") == "tuning"
    assert ev.set_kind("dissatisfaction-2026-12") == "retired"
    assert ev.set_kind("dissatisfaction-2026-12c") == "blind"
    # 12b chose a threshold with its aggregates: retired, yet its misses are never shown (it was never read).
    assert ev.set_kind("dissatisfaction-2026-12b") == "retired"
    assert "dissatisfaction-2026-12b" not in ev.TUNABLE


def test_a_blind_sets_misses_are_never_shown_but_a_retired_sets_are(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "messages.yml"
    path.write_text(yaml.safe_dump(ITEMS), encoding="utf-8")
    monkeypatch.setitem(ev.SETS, "dissatisfaction-2026-12", path)
    monkeypatch.setitem(ev.SETS, "dissatisfaction-2026-12c", path)
    monkeypatch.setitem(ev.SETS, "dissatisfaction-2026-12b", path)
    out = tmp_path / "result"
    ev.main(["--sets", "dissatisfaction-2026-12c", "--show-misses", "--out", str(out)])
    blind = capsys.readouterr().out + out.with_suffix(".md").read_text() + out.with_suffix(".json").read_text()
    assert "blind: run once at the end, aggregates only" in blind
    assert json.loads(out.with_suffix(".json").read_text())["sets"][0]["kind"] == "blind"
    assert not any(str(item["text"]) in blind for item in ITEMS)

    ev.main(["--sets", "dissatisfaction-2026-12b", "--show-misses", "--out", str(out)])
    tuned_unread = capsys.readouterr().out + out.with_suffix(".md").read_text()
    assert "retired: tuned on, not a measure of new messages" in tuned_unread
    assert not any(str(item["text"]) in tuned_unread for item in ITEMS)

    ev.main(["--sets", "dissatisfaction-2026-12", "--show-misses", "--out", str(out)])
    retired = capsys.readouterr().out
    assert "retired: tuned on, not a measure of new messages" in retired
    # The retired set's misses are printed: the same two messages, misread the same way.
    assert all(str(item["text"]) in retired for item in ITEMS)


def test_a_set_not_there_yet_is_left_out_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(ev.SETS, "dissatisfaction-2026-12c", tmp_path / "absent.yml")
    ev.main(["--sets", "dissatisfaction-2026-12c", "--out", str(tmp_path / "result")])
    assert "left out" in capsys.readouterr().out
    assert json.loads((tmp_path / "result.json").read_text())["sets"] == []
