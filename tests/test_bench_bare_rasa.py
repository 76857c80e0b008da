"""The assistant benchmark's yardstick: the bare `rasa init`-shaped project is valid Rasa data served through
REST only, its cached model follows its files, and ours/bare ratios come from the figures of one run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from bench import bare_assistant
from bench.assistant_bench import TARGETS, BareRun, Scenario, StoresRun, Training
from bench.assistant_report import RASA_ALONE, ratios, render
from bench.conversations import SCRIPT, LoadResult, Turn
from bench.proc_usage import Memory
from tests.rasa_validation import assert_rasa_data_is_clean


def test_bare_project_validates_as_rasa_data(tmp_path: Path) -> None:
    project = bare_assistant.PROJECT
    assert_rasa_data_is_clean(domain=project / "domain.yml", data=[project / "data"],
                              config=project / "config.yml", workdir=tmp_path)


def test_bare_project_is_served_on_loopback_through_rest_only() -> None:
    credentials = (bare_assistant.PROJECT / "credentials.yml").read_text()
    channels = [line.split(":")[0] for line in credentials.splitlines() if line and not line.startswith((" ", "#"))]
    assert channels == ["rest"]
    # Nothing configured: no action server, Rasa's in-memory stores (and never the repository's endpoints.yml).
    endpoints = (bare_assistant.PROJECT / "endpoints.yml").read_text()
    assert all(not line.strip() or line.startswith("#") for line in endpoints.splitlines())


def test_bare_fingerprint_follows_the_project_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "bare_rasa"
    subprocess.run(["cp", "-r", str(bare_assistant.PROJECT), str(copy)], check=True, timeout=30)
    monkeypatch.setattr(bare_assistant, "PROJECT", copy)
    before = bare_assistant.fingerprint()
    assert before == bare_assistant.fingerprint()
    nlu = copy / "data" / "nlu.yml"
    nlu.write_text(nlu.read_text() + "    - hi again\n")
    assert bare_assistant.fingerprint() != before


def _scenario(name: str, concurrency: int, ms_by_kind: dict[str, float], rasa_cpu: float) -> Scenario:
    result = LoadResult(name, concurrency, (1.0, 3.0), 1, 10.0)
    result.turns = [Turn(kind, ms, True) for kind, ms in ms_by_kind.items()]
    return Scenario(result, {"Rasa": rasa_cpu}, 10.0, 1.0)


def test_ratios_are_ours_over_bare_in_the_same_run() -> None:
    kinds = [s.kind for s in SCRIPT]
    ours = StoresRun("production", parse_ms=[30.0] * 10,
                     scenarios=[_scenario("one", 1, dict.fromkeys(kinds, 100.0), 80.0),
                                _scenario("twenty", 20, dict.fromkeys(kinds, 300.0), 70.0)],
                     memory_after={"Rasa": Memory(1, 700.0, 690.0, 750.0)})
    bare = BareRun("bare-rasa-x.tar.gz", parse_ms=[15.0] * 10,
                   scenarios=[_scenario("one", 1, dict.fromkeys(kinds, 50.0), 40.0),
                              _scenario("twenty", 20, dict.fromkeys(kinds, 100.0), 35.0)],
                   memory_after=Memory(1, 1000.0, 990.0, 1100.0))
    rows = {row["measure"]: row for row in ratios([ours], bare, 20)["production"]}
    assert rows["/model/parse p50 ms"]["ratio"] == 2.0
    assert rows["turn p95 ms, one conversation"]["ratio"] == 2.0
    assert rows["turn p95 ms, 20 conversations at once"]["ratio"] == 3.0
    assert rows["Rasa CPU ms per turn, 20 conversations at once"]["ratio"] == 2.0
    assert rows["Rasa RSS MB after the load"]["ratio"] == 0.7
    assert any(", ".join(RASA_ALONE) in m for m in rows)

    env = {"run_at": "now", "git_commit": "abc", "nproc": 2, "cpu_model": "x", "memory_gb": 1, "wall_s": 1}
    text = render(env, {"think": (1, 3), "concurrency": 20}, Training(None, "m"), [ours], TARGETS, bare)
    assert "## Against bare Rasa, same run" in text
    assert "| turn p95 at 20 conversations, ours / bare | production | 3.00x | <= 2x | **NO** |" in text
    assert "| `/model/parse` p50, ours / bare | production | 2.00x | <= 1x | **NO** |" in text
