"""Every phrasing of the benchmark's script, each tapped and typed, through the whole assistant: how many
turns go off script. A light check of understanding (`make bench-script`, a minute or two once the model is
trained), beside `make bench-assistant`, which draws phrasings at random under load and times them.

Conversation k says phrasing k // 2 of every step (modulo the step's count), and taps the offered button
when k is odd, so 2 x (the most phrasings any step has) conversations say every phrasing typed at least once
and tap every button. One conversation at a time, on the local stores (SQLite), as `make demo` runs.
Reports only counts, by step and phrasing (the script's own words), and the first answer each phrasing that
went off script got; nothing from the evaluation sets.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from bench import conversations as talk
from bench.assistant_stack import StackConfig, assistant_stack, tenants
from evaluation.rasa_process import ROOT, train

RESULTS = ROOT / "bench" / "results"


def phrasing(step: talk.Step, k: int) -> tuple[str, str]:
    """What conversation `k` sends at `step`, as (how the report names it, the text or payload)."""
    if step.tap and k % 2:
        return "button", step.tap
    text = step.texts[(k // 2) % len(step.texts)]
    return f'"{text}"', text


async def _play(client: httpx.AsyncClient, secret: str, conversation: talk.Conversation, k: int,
                result: talk.LoadResult) -> None:
    answer = ""
    for step in talk.SCRIPT:
        if step.when and not any(w in answer.lower() for w in step.when):
            continue
        if "{ref}" in " ".join(step.texts) and conversation.reference is None:
            result.errors[f"skipped: {step.kind} (no ticket was made)"] += 1
            continue
        label, template = phrasing(step, k)
        text = talk.fill(template, conversation.reference)
        started = time.perf_counter()
        answer = talk._text(await talk._say(client, secret, conversation.sender, text))
        wanted = [e.format(ref=conversation.reference).lower() for e in step.expect]
        ok = any(w in answer.lower() for w in wanted)
        if not ok:
            result.errors[f"off script: {step.kind}"] += 1
            result.off_script_phrasings[f"{step.kind}: {label}"] += 1
            result.samples.setdefault(f"{step.kind}: {label}", answer[:300])
        result.turns.append(talk.Turn(step.kind, (time.perf_counter() - started) * 1000, ok))
        if step.kind == talk.MAKES_TICKET:
            found = talk._REFERENCE.search(answer)
            conversation.reference = found.group(0) if found else None


def sweep(rasa_url: str, secret: str, people: Sequence[tuple[str, str]], *, seed: int = 13) -> talk.LoadResult:
    count = 2 * max(len(step.texts) for step in talk.SCRIPT)
    pool = talk.make_conversations(count, people, random.Random(seed))
    talk.verify_all(rasa_url, secret, pool, concurrency=1)
    result = talk.LoadResult("every phrasing, tapped and typed", 1, (0.0, 0.0), count, 0.0)

    async def main() -> None:
        async with httpx.AsyncClient(base_url=rasa_url, timeout=60, trust_env=False) as client:
            started = time.perf_counter()
            for k, conversation in enumerate(pool):
                await _play(client, secret, conversation, k, result)
            result.wall_s = time.perf_counter() - started

    talk.run_async(main)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "script_sweep.json")
    args = parser.parse_args(argv)
    model = train(ROOT / "models").path
    with tempfile.TemporaryDirectory(prefix="script-sweep-") as scratch:
        cfg = StackConfig(stores="local", workdir=Path(scratch), pg_admin_url="")
        with assistant_stack(cfg, model) as stack:
            result = sweep(stack.rasa_url, stack.channel_secret, tenants(stack.database_url))
    off = sum(n for kind, n in result.errors.items() if kind.startswith("off script"))
    summary = {"conversations": result.conversations, "turns": len(result.turns), "off_script_turns": off,
               "errors": dict(result.errors), "off_script_phrasings": dict(result.off_script_phrasings),
               "off_script_samples": result.samples}
    args.out.write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{len(result.turns)} turns in {result.conversations} conversations, {off} off script")
    for key, n in sorted(result.off_script_phrasings.items()):
        print(f"  {key} (x{n}): {result.samples.get(key, '')[:160]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
