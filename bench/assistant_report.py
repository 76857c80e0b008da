"""The assistant benchmark's Markdown report (bench/results/assistant.md)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from bench.conversations import SCRIPT
from bench.loadgen import percentile

if TYPE_CHECKING:
    from bench.assistant_bench import BareRun, Scenario, StoresRun, Training

# Turns Rasa answers without a custom action: the fairest like-for-like with the bare assistant.
RASA_ALONE = tuple(step.kind for step in SCRIPT if not step.actions)


def _ms(value: float | None) -> str:
    if value is None or value != value:  # None or NaN
        return "-"
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _met(ok: bool) -> str:
    return "yes" if ok else "**NO**"


def _think(think: tuple[float, float] | list[float]) -> str:
    low, high = think
    return "none" if high == 0 else f"{low:g}-{high:g} s"


def render(env: dict[str, Any], config: dict[str, Any], training: Training, runs: list[StoresRun],
           targets: dict[str, float], bare: BareRun | None = None) -> str:
    out: list[str] = ["# Assistant benchmark", ""]
    dirty = " (uncommitted changes)" if env.get("git_dirty") else ""
    out += [
        f"Run {env['run_at']} at commit `{env['git_commit']}`{dirty}, {env.get('wall_s', 0):.0f} s wall"
        + (" (**quick smoke run: small numbers**)" if config.get("quick") else "") + ".",
        "",
        f"- Machine: **{env['nproc']} cores** ({env['cpu_model']}), {env['memory_gb']} GB RAM, shared with other "
        "work: each measurement waits (up to a limit) for the CPUs to be idle, and the CPU tables show how much "
        "of the machine other processes took while it ran.",
        f"- Rasa's environment: {env.get('rasa_env') or 'unknown'}.",
        "- Load generator: asyncio + httpx in the benchmark process, on the same cores as everything it measures.",
        "- Conversations: verified tenants of the demo estate (`python -m repairs seed-demo`), each a distinct "
        "Telegram chat verified once before timing. Every conversation plays the same "
        f"{len(SCRIPT)}-turn script: "
        + "; ".join(s.kind for s in SCRIPT) + f". Each step has {min(len(s.texts) for s in SCRIPT)} to "
        f"{max(len(s.texts) for s in SCRIPT)} phrasings (bench/conversations.py, written apart from the training "
        "data), picked at random (seeded) in each conversation; where the bot offers a button the resident taps it "
        "half the time (sent as its payload, as the bot does) and types an answer otherwise. "
        "A turn is one signed `POST /webhooks/signed/webhook` until Rasa answers, custom actions and their calls to "
        "the repairs service included.",
        f"- Between two messages a resident pauses {_think(config['think'])} (reading, typing): quicker than people "
        "type, so the load is on the heavy side. The stress run has no pause at all: its latency is queueing, its "
        "rate is the machine's capacity.",
        "",
    ]
    out += _targets(training, runs, targets, config, bare)
    if bare is not None:
        out += _against_bare(runs, bare, config)
    out += _training(training)
    for run in runs:
        out += _stores(run, config)
    if bare is not None:
        out += _bare(bare)
    return "\n".join(out) + "\n"


def _paced(scenarios: list[Scenario], concurrency: int) -> Scenario | None:
    """The scenario at this many conversations with residents pausing (not the stress run)."""
    return next((s for s in scenarios if s.result.concurrency == concurrency and s.result.think_s[1] > 0), None)


def _kinds_pct(scenario: Scenario, kinds: tuple[str, ...], p: float) -> float:
    return percentile([t.ms for t in scenario.result.turns if t.kind in kinds], p)


def ratios(runs: list[StoresRun], bare: BareRun, concurrency: int) -> dict[str, list[dict[str, Any]]]:
    """Ours against the bare assistant, measure by measure, for each set of stores: {stores: [{measure, ours,
    bare, ratio}]}. A ratio is ours / bare; None where either side was not measured."""
    out: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        rows: list[tuple[str, float | None, float | None]] = [
            ("/model/parse p50 ms", percentile(run.parse_ms, 50), percentile(bare.parse_ms, 50)),
            ("/model/parse p95 ms", percentile(run.parse_ms, 95), percentile(bare.parse_ms, 95)),
        ]
        for n in sorted({1, concurrency}):
            ours, theirs = _paced(run.scenarios, n), _paced(bare.scenarios, n)
            where = "one conversation" if n == 1 else f"{n} conversations at once"
            for p in (50, 95):
                rows.append((f"turn p{p} ms, {where}", ours.result.pct(p) if ours else None,
                             theirs.result.pct(p) if theirs else None))
            for p in (50, 95):
                rows.append((f"turns Rasa answers alone ({', '.join(RASA_ALONE)}) p{p} ms, {where}",
                             _kinds_pct(ours, RASA_ALONE, p) if ours else None,
                             _kinds_pct(theirs, RASA_ALONE, p) if theirs else None))
            rows.append((f"Rasa CPU ms per turn, {where}", ours.cpu_ms_per_turn.get("Rasa") if ours else None,
                         theirs.cpu_ms_per_turn.get("Rasa") if theirs else None))
        rasa_memory = run.memory_after.get("Rasa")
        rows.append(("Rasa RSS MB after the load", rasa_memory.rss_mb if rasa_memory else None,
                     bare.memory_after.rss_mb if bare.memory_after else None))
        out[run.stores] = [{"measure": m, "ours": _round(a), "bare": _round(b), "ratio": _ratio(a, b)}
                           for m, a, b in rows]
    return out


def _round(value: float | None) -> float | None:
    return None if value is None or value != value else round(value, 1)


def _ratio(ours: float | None, bare: float | None) -> float | None:
    if ours is None or bare is None or ours != ours or bare != bare or bare <= 0:
        return None
    return round(ours / bare, 2)


def _against_bare(runs: list[StoresRun], bare: BareRun, config: dict[str, Any]) -> list[str]:
    out = ["## Against bare Rasa, same run", "",
           "The bare assistant is a `rasa init`-shaped project (bench/bare_rasa/: a few small-talk intents, Rasa's "
           "default pipeline and policies, no custom actions, Rasa's in-memory tracker and lock stores) on Rasa's REST "
           "channel, measured in this run on this machine right after ours, with the same parse messages and the same "
           "words, conversation counts, pauses and seeds (it is sent every step; its answers are not checked). "
           "The ratio is ours / bare: only ratios within one run compare, since the machine's load moves both "
           "sides' figures from run to run. Ours goes through the signed channel, with its stores as below.", ""]
    table = ratios(runs, bare, config["concurrency"])
    for stores, rows in table.items():
        out += [f"| measure | ours ({stores}) | bare | ours / bare |", "|---|---|---|---|"]
        for row in rows:
            ratio = "-" if row["ratio"] is None else f"**{row['ratio']:.2f}x**"
            out.append(f"| {row['measure']} | {_ms(row['ours'])} | {_ms(row['bare'])} | {ratio} |")
        out.append("")
    return out


def _bare(bare: BareRun) -> list[str]:
    trained = ("cached model" if bare.training_s is None else f"trained in this run in {bare.training_s:.1f} s")
    out = ["## The bare assistant", "",
           f"- Model `{bare.model}` ({trained}); start-up {bare.startup_s:.1f} s (process start to `/status` "
           "naming the loaded model).",
           f"- `/model/parse`, the same {len(bare.parse_ms)} messages one at a time: p50 "
           f"**{_ms(percentile(bare.parse_ms, 50))} ms**, p95 **{_ms(percentile(bare.parse_ms, 95))} ms**."]
    if bare.busy_before_pct is not None:
        out.append(f"- The machine was {bare.busy_before_pct:.0f}% busy with other work just before measuring.")
    if bare.memory_after is not None:
        m = bare.memory_after
        out.append(f"- Memory after the load: {m.rss_mb:.0f} MB RSS ({m.pss_mb:.0f} MB PSS, peak "
                   f"{m.peak_rss_mb:.0f} MB).")
    out += [f"- {note}" for note in bare.notes]
    out += ["", "| scenario | conversations at once | pause | conversations | turns | errors | turns/s | p50 ms | "
            "p95 ms | p99 ms | Rasa CPU ms/turn | machine busy | others |", "|---" * 13 + "|"]
    for s in bare.scenarios:
        r = s.result
        errors = ", ".join(f"{k} x{v}" for k, v in r.errors.items()) or "0"
        out.append(f"| {r.name} | {r.concurrency} | {_think(r.think_s)} | {r.conversations} | {len(r.turns)} | "
                   f"{errors} | {r.turns_per_s:.1f} | {_ms(r.pct(50))} | {_ms(r.pct(95))} | {_ms(r.pct(99))} | "
                   f"{s.cpu_ms_per_turn.get('Rasa', 0):.1f} | {s.machine_busy_pct:.0f}% | {s.others_busy_pct:.0f}% |")
    return [*out, ""]


def _targets(training: Training, runs: list[StoresRun], targets: dict[str, float], config: dict[str, Any],
             bare: BareRun | None) -> list[str]:
    rows = ["## Targets", "", "| measure | stores | figure | target | met |", "|---|---|---|---|---|"]
    if training.seconds is not None:
        rows.append(f"| training from scratch | - | {training.seconds:.1f} s | < {targets['training_s']:g} s | "
                    f"{_met(training.seconds < targets['training_s'])} |")
    else:
        rows.append(f"| training from scratch | - | not measured (--model) | < {targets['training_s']:g} s | - |")
    for run in runs:
        busy = [s for s in run.scenarios if s.result.concurrency == config["concurrency"] and s.result.think_s[1] > 0]
        for s in busy:
            p95 = s.result.pct(95)
            ok = p95 < targets["turn_p95_ms_at_20"] and not s.result.errors
            rows.append(f"| turn p95, {s.result.concurrency} conversations | {run.stores} | {_ms(p95)} ms"
                        f"{' (errors)' if s.result.errors else ''} | < {targets['turn_p95_ms_at_20']:g} ms | "
                        f"{_met(ok)} |")
        if run.memory_after:
            rss = sum(m.rss_mb for m in run.memory_after.values())
            pss = sum(m.pss_mb for m in run.memory_after.values())
            rows.append(f"| memory after load, all three processes (RSS; PSS {pss:.0f} MB) | {run.stores} | "
                        f"{rss:.0f} MB | < {targets['memory_mb']:g} MB | {_met(rss < targets['memory_mb'])} |")
        if bare is not None:
            rows += _ratio_targets(run, bare, targets, config["concurrency"])
    return [*rows, ""]


def _ratio_targets(run: StoresRun, bare: BareRun, targets: dict[str, float], concurrency: int) -> list[str]:
    rows = []
    parse = _ratio(percentile(run.parse_ms, 50), percentile(bare.parse_ms, 50))
    if parse is not None:
        limit = targets["parse_p50_ratio"]
        rows.append(f"| `/model/parse` p50, ours / bare | {run.stores} | {parse:.2f}x | <= {limit:g}x | "
                    f"{_met(parse <= limit)} |")
    ours, theirs = _paced(run.scenarios, concurrency), _paced(bare.scenarios, concurrency)
    if ours and theirs:
        turn = _ratio(ours.result.pct(95), theirs.result.pct(95))
        if turn is not None:
            limit = targets["turn_p95_ratio_at_20"]
            rows.append(f"| turn p95 at {concurrency} conversations, ours / bare | {run.stores} | {turn:.2f}x | "
                        f"<= {limit:g}x | {_met(turn <= limit)} |")
    return rows


def _training(training: Training) -> list[str]:
    if training.seconds is None:
        return ["## Training", "", f"Skipped: the run used `{training.model}`.", ""]
    return ["## Training", "",
            f"`rasa train` from scratch (forced, into a temporary directory): **{training.seconds:.1f} s** wall, "
            f"{training.cpu_s:.0f} CPU s (the training process and its children); other processes kept "
            f"{training.others_busy_pct:.0f}% of the machine busy meanwhile.", ""]


def _stores(run: StoresRun, config: dict[str, Any]) -> list[str]:
    out = [f"## Stores: {run.stores}", "",
           f"- Rasa tracker store: {run.tracker}; lock store: {run.lock_store}.",
           "- Workers: " + ", ".join(f"{k} {v}" for k, v in run.workers.items()) + ".",
           "- Start-up (process start to ready: `/status` names the loaded model for Rasa, `/health` and "
           "`/healthz` for the others): " + ", ".join(f"{k} {v:.1f} s" for k, v in run.startup_s.items()) + ".",
           f"- `/model/parse`, {len(run.parse_ms)} held-out resident messages (tests/heldout/messages.yml) one at a "
           f"time: p50 **{_ms(percentile(run.parse_ms, 50))} ms**, p95 **{_ms(percentile(run.parse_ms, 95))} ms**.",
           ]
    if run.busy_before_pct is not None:
        out.append(f"- The machine was {run.busy_before_pct:.0f}% busy with other work just before measuring.")
    out += [f"- {note}" for note in run.notes]
    out += ["", "### Conversation turns", "",
            "| scenario | conversations at once | pause | conversations | turns | errors | turns/s | p50 ms | "
            "p95 ms | p99 ms | max ms |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in run.scenarios:
        r = s.result
        errors = ", ".join(f"{k} x{v}" for k, v in r.errors.items()) or "0"
        out.append(f"| {r.name} | {r.concurrency} | {_think(r.think_s)} | {r.conversations} | {len(r.turns)} | "
                   f"{errors} | {r.turns_per_s:.1f} | {_ms(r.pct(50))} | {_ms(r.pct(95))} | {_ms(r.pct(99))} | "
                   f"{_ms(max(r.latencies) if r.latencies else None)} |")
    samples = {k: v for sc in run.scenarios for k, v in sc.result.samples.items()}
    counts: Counter[str] = Counter()
    for sc in run.scenarios:
        counts.update(sc.result.off_script_phrasings)
    if samples:
        out += ["", "Off-script answers, by step and phrasing, with how often that phrasing went off script over all "
                "the scenarios above and the first answer it got (an off-script turn is timed but counted as an "
                "error, and a conversation whose report made no ticket skips asking after it):", ""]
        out += [f"- {kind} (x{counts[kind]}): \"{' '.join(text.split())[:160]}\""
                for kind, text in sorted(samples.items(), key=lambda kv: (_step_order(kv[0]), kv[0]))]
    out += ["", "By turn (p50 / p95 ms):", "",
            "| turn | custom-action work | " + " | ".join(s.result.name for s in run.scenarios) + " |",
            "|---|---|" + "---|" * len(run.scenarios)]
    for step in SCRIPT:
        cells = [f"{_ms(s.result.pct(50, step.kind))} / {_ms(s.result.pct(95, step.kind))}" for s in run.scenarios]
        out.append(f"| {step.kind} | {step.actions or '- (Rasa alone)'} | " + " | ".join(cells) + " |")
    names = sorted({k for s in run.scenarios for k in s.cpu_ms_per_turn}, key=_cpu_order)
    out += ["", "### CPU per turn", "",
            "CPU milliseconds per conversation turn, by process tree, from /proc. *Others* is the share of the "
            "machine other processes used while the scenario ran."
            + (" PostgreSQL counts the benchmark databases' backends and the server's background processes; "
               "Redis is the machine's shared server." if run.stores == "production" else ""), "",
            "| scenario | " + " | ".join(names) + " | total | machine busy | others |",
            "|---|" + "---|" * (len(names) + 3)]
    for s in run.scenarios:
        total = sum(s.cpu_ms_per_turn.values())
        out.append(f"| {s.result.name} | " + " | ".join(f"{s.cpu_ms_per_turn.get(n, 0):.1f}" for n in names)
                   + f" | {total:.1f} | {s.machine_busy_pct:.0f}% | {s.others_busy_pct:.0f}% |")
    if run.at_rest_cpu_ms_per_s:
        out += ["", "With no traffic at all the processes still use CPU (timers, polling), in milliseconds per second: "
                + ", ".join(f"{k} {v:.1f}" for k, v in run.at_rest_cpu_ms_per_s.items())
                + ". The per-turn figures above include that share, which weighs most when turns are few."]
    out += ["", "### Memory", "",
            "Each process tree (a server and its worker processes). RSS counts pages shared between a parent and "
            "its forked workers once per process; PSS shares them out, so PSS totals are what the processes "
            "occupy together. Peak is each process's high-water RSS, summed.", "",
            "| process | processes | RSS at start MB | RSS after load MB | PSS after load MB | peak RSS MB |",
            "|---|---|---|---|---|---|"]
    for name, after in run.memory_after.items():
        idle = run.memory_idle.get(name)
        out.append(f"| {name} | {after.processes} | {idle.rss_mb if idle else 0:.0f} | {after.rss_mb:.0f} | "
                   f"{after.pss_mb:.0f} | {after.peak_rss_mb:.0f} |")
    if run.memory_after:
        values = list(run.memory_after.values())
        out.append(f"| **total** | {sum(m.processes for m in values)} | "
                   f"{sum(m.rss_mb for m in run.memory_idle.values()):.0f} | **{sum(m.rss_mb for m in values):.0f}** | "
                   f"{sum(m.pss_mb for m in values):.0f} | {sum(m.peak_rss_mb for m in values):.0f} |")
    for name, mem in run.shared_servers_memory.items():
        out.append(f"| {name} (not in the total) | {mem.processes} | - | {mem.rss_mb:.0f} | {mem.pss_mb:.0f} | "
                   f"{mem.peak_rss_mb:.0f} |")
    return [*out, ""]


def _step_order(key: str) -> int:
    kinds = [step.kind for step in SCRIPT]
    kind = key.split(":", 1)[0]
    return kinds.index(kind) if kind in kinds else len(kinds)


def _cpu_order(name: str) -> int:
    order = ["Rasa", "action server", "repairs service", "PostgreSQL", "Redis", "load generator"]
    return order.index(name) if name in order else len(order)
