"""Where a parse's time goes: each node of a trained model's graph timed, over the development set's texts.

Run in Rasa's Python (`.venv-rasa/bin/python -m bench.parse_profile --model models/assistant-....tar.gz`). The
model is loaded in this process as `rasa run` loads it, and every graph node (tokenizer, featurizers,
classifiers, extractors, and with `--predict` the policies) is timed around its call, so a component's cost is
measured where it runs rather than guessed. Each message is parsed alone, as `/model/parse` does. Each node's
CPU time (this thread's, where onnxruntime's single intra-op thread runs too) is given beside its wall time:
on this shared machine the wall time moves with other people's load, the CPU time much less. Only timings are
printed: never a message's text.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT / "evaluation" / "dev" / "messages.yml"


def dev_texts(limit: int | None) -> list[str]:
    texts = [str(item["text"]) for item in yaml.safe_load(DEV_SET.read_text())]
    return texts[:limit] if limit else texts


def _timed_nodes(timings: dict[str, list[float]], cpu: dict[str, list[float]]) -> Callable[[], None]:
    """Times every GraphNode call into `timings` and `cpu` (node name -> seconds); returns the undo."""
    from rasa.engine.graph import GraphNode

    original = GraphNode.__call__

    def call(self: Any, *inputs: Any) -> Any:
        started, started_cpu = time.perf_counter(), time.thread_time()
        try:
            return original(self, *inputs)
        finally:
            timings[self._node_name].append(time.perf_counter() - started)
            cpu[self._node_name].append(time.thread_time() - started_cpu)

    GraphNode.__call__ = call  # type: ignore[method-assign]

    def undo() -> None:
        GraphNode.__call__ = original  # type: ignore[method-assign]

    return undo


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def profile(model: Path, texts: list[str], predict: bool, repeat: int) -> dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    agent = Agent.load(str(model))
    processor = agent.processor
    assert processor is not None
    # Warm up: the first calls pay for lazy imports and allocations no later call does.
    for text in texts[:10]:
        await agent.parse_message(text)
    timings: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    totals_cpu: list[float] = []
    undo = _timed_nodes(timings, cpu)
    try:
        for _ in range(repeat):
            for text in texts:
                started, started_cpu = time.perf_counter(), time.thread_time()
                parsed = await agent.parse_message(text)
                totals.append(time.perf_counter() - started)
                totals_cpu.append(time.thread_time() - started_cpu)
                if predict:
                    tracker = DialogueStateTracker.from_events("profile", [
                        ActionExecuted("action_session_start"), ActionExecuted("action_listen"),
                        UserUttered(text, parsed["intent"], parsed.get("entities", []), parse_data=parsed),
                    ], agent.domain.slots)
                    processor._predict_next_with_tracker(tracker)
    finally:
        undo()
    return {"timings": timings, "cpu": cpu, "totals": totals, "totals_cpu": totals_cpu}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=None, help="only the first N development messages")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--predict", action="store_true", help="also time the policies on a one-turn tracker")
    args = parser.parse_args()
    texts = dev_texts(args.limit)
    result = asyncio.run(profile(args.model, texts, args.predict, args.repeat))
    timings, cpu, totals = result["timings"], result["cpu"], result["totals"]
    n = len(totals)
    print(f"{n} parses; parse wall p50 {1000 * statistics.median(totals):.2f} ms, "
          f"p95 {1000 * _quantile(totals, 0.95):.2f} ms; "
          f"CPU p50 {1000 * statistics.median(result['totals_cpu']):.2f} ms, "
          f"mean {1000 * statistics.fmean(result['totals_cpu']):.2f} ms")
    print("| node | calls | CPU ms per parse (mean) | CPU p50 ms | wall p50 ms | wall p95 ms |")
    print("|---|---|---|---|---|---|")
    for node, values in sorted(cpu.items(), key=lambda kv: -sum(kv[1])):
        wall = timings[node]
        print(f"| {node} | {len(values)} | {1000 * sum(values) / n:.3f} | {1000 * statistics.median(values):.3f} | "
              f"{1000 * statistics.median(wall):.3f} | {1000 * _quantile(wall, 0.95):.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
