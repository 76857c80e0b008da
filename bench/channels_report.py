"""The channel benchmark's Markdown report (bench/results/channels.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench.assistant_report import _met, _ms, _think  # one formatting for both reports
from bench.conversations import SCRIPT
from bench.loadgen import percentile

if TYPE_CHECKING:
    from bench.channels_bench import Run
    from bench.outbox_burst import Burst


def render(env: dict[str, Any], config: dict[str, Any], run: Run, targets: dict[str, float]) -> str:
    dirty = " (uncommitted changes)" if env.get("git_dirty") else ""
    mode = config["telegram_mode"]
    out = [
        "# Channel benchmark", "",
        f"Run {env['run_at']} at commit `{env['git_commit']}`{dirty}, {env.get('wall_s', 0):.0f} s wall"
        + (" (**quick smoke run: small numbers**)" if config.get("quick") else "") + ".",
        "",
        f"- Machine: **{env['nproc']} cores** ({env['cpu_model']}), {env['memory_gb']} GB RAM, shared with other "
        "work: each part waits (up to a limit) for the CPUs to be idle first.",
        f"- Rasa's environment: {env.get('rasa_env') or 'unknown'}.",
        f"- The whole product, each part a real process: the repairs service on PostgreSQL "
        f"({config['repairs_workers']} workers), the action server, Rasa (tracker in PostgreSQL, locks in Redis) "
        f"and the bot process (`python -m bot`, its production defaults) taking Telegram updates by **{mode}**"
        + (" (what README prescribes for production: Telegram POSTs each update the moment it has it)"
           if mode == "webhook" else " (the development mode)") + ".",
        f"- Telegram is the local Bot API stand-in (tests/telegram_standin.py), in the benchmark process, enforcing "
        f"Telegram's flood limit: at most **{config['flood_limit']} messages in any one second** across all chats "
        "(a 429 with retry_after beyond that).",
        "",
    ]
    out += _targets(run, targets)
    out += _conversations(run, config)
    out += _burst(run.burst, config)
    if run.notes:
        out += ["## Failures", "", *[f"- {n}" for n in run.notes], ""]
    return "\n".join(out) + "\n"


def _targets(run: Run, targets: dict[str, float]) -> list[str]:
    rows = ["## Figures", "", "| measure | figure | target | met |", "|---|---|---|---|"]
    for s in run.scenarios:
        r = s.result
        errors = _error_kinds(r.errors)
        rows.append(f"| update to last reply, {r.name} ({len(r.turns)} turns, {r.turns_per_s:.1f}/s) | "
                    f"p50 {_ms(r.pct(50))} ms, p95 {_ms(r.pct(95))} ms, max "
                    f"{_ms(max(r.latencies) if r.latencies else None)} ms"
                    f"{f' ({errors})' if errors else ''} | measured | - |")
    b = run.burst
    if b is not None and b.first_to_last_s is not None:
        ratio = b.first_to_last_s / b.floor_s
        rows.append(f"| {b.notifications:,} proactive updates to {b.notifications:,} chats, first to last | "
                    f"{b.first_to_last_s:.1f} s = {ratio:.2f}x the {b.floor_s:.1f} s floor | within "
                    f"{(targets['burst_vs_floor'] - 1) * 100:.0f}% of the floor | "
                    f"{_met(ratio <= targets['burst_vs_floor'] and not b.timed_out)} |")
        rows.append(f"| lost / duplicated / misrouted | {b.lost} / {b.duplicates} / {b.misrouted} | 0 / 0 / 0 | "
                    f"{_met(b.lost == 0 and b.duplicates == 0 and b.misrouted == 0)} |")
    elif b is not None:
        rows.append(f"| {b.notifications:,} proactive updates | nothing received | - | **NO** |")
    return [*rows, ""]


def _error_kinds(errors: dict[str, int]) -> str:
    """"7 off script, 3 skipped, 1 timeout": answers the script did not expect are the assistant's
    understanding (see bench/results/assistant.md), the rest would be the channel's failures."""
    kinds: dict[str, int] = {}
    for key, count in errors.items():
        kind = key.split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + count
    return ", ".join(f"{n} {kind}" for kind, n in kinds.items())


def _conversations(run: Run, config: dict[str, Any]) -> list[str]:
    if not run.scenarios:
        return []
    out = ["## Update to reply", "",
           "Verified tenants of the demo estate, each a distinct Telegram chat, verified through Rasa's signed channel "
           "before timing (as the assistant benchmark does), then playing bench/conversations.py's "
           f"{len(SCRIPT)}-turn script through Telegram: " + "; ".join(s.kind for s in SCRIPT) + ". Where the bot "
           "offers a button the resident taps it (a callback query) half the time and types an answer otherwise.",
           "",
           "A turn is timed from the moment the stand-in holds the resident's update (handed to the bot at once: "
           "POSTed to the webhook, or returned to a waiting getUpdates) to the moment the stand-in receives the last "
           "message the bot sends for it. The time includes the bot's de-duplication call to the repairs service, "
           "Rasa with its custom actions and their calls to the repairs service, and every `sendMessage`. A turn "
           f"counts as answered once its chat has been quiet for {config['quiet']:g} s (not timed: the bot sends a "
           f"turn's replies back to back); a resident then pauses {_think(config['think'])} from the last reply "
           f"(never less than the quiet wait) before the next message.",
           "",
           "*Bot's relay* is the bot's own log of each turn (`telegram turn answered`): from its handler taking the "
           "turn to its end, so taking the last buttons away, Rasa with its custom actions, the sends, and then "
           "noting which message carries the new buttons (after the last send, so a resident does not wait for it). "
           "The rest of a resident's time is the way in: the webhook POST, python-telegram-bot's update queue and "
           "the de-duplication call to the repairs service.",
           "",
           "| scenario | chats at once | conversations | turns | errors | turns/s | p50 ms | p95 ms | p99 ms | max ms "
           "| bot's relay p50 / p95 ms | machine busy (others) |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in run.scenarios:
        r = s.result
        errors = ", ".join(f"{k} x{v}" for k, v in r.errors.items()) or "0"
        out.append(f"| {r.name} | {r.concurrency} | {r.conversations} | {len(r.turns)} | {errors} | "
                   f"{r.turns_per_s:.1f} | {_ms(r.pct(50))} | {_ms(r.pct(95))} | {_ms(r.pct(99))} | "
                   f"{_ms(max(r.latencies) if r.latencies else None)} | {_ms(percentile(s.bot_relay_ms, 50))} / "
                   f"{_ms(percentile(s.bot_relay_ms, 95))} | {s.machine_busy_pct:.0f}% "
                   f"({s.others_busy_pct:.0f}%) |")
    samples = {k: v for sc in run.scenarios for k, v in sc.result.samples.items()}
    if samples:
        out += ["", "Off-script answers (the first of each kind; an off-script turn is timed but counted as an error, "
                "and a conversation whose report made no ticket skips asking after it):", ""]
        out += [f"- {kind}: \"{' '.join(text.split())[:160]}\"" for kind, text in sorted(samples.items())]
    out += ["", "By turn (p50 / p95 ms):", "",
            "| turn | " + " | ".join(s.result.name for s in run.scenarios) + " |",
            "|---|" + "---|" * len(run.scenarios)]
    for step in SCRIPT:
        cells = [f"{_ms(s.result.pct(50, step.kind))} / {_ms(s.result.pct(95, step.kind))}" for s in run.scenarios]
        out.append(f"| {step.kind} | " + " | ".join(cells) + " |")
    names = sorted({k for s in run.scenarios for k in s.cpu_ms_per_turn}, key=_cpu_order)
    out += ["", "CPU milliseconds per turn by process tree, from /proc (PostgreSQL: the benchmark databases' "
            "backends; Redis, shared, not counted). *Machine busy* is all of the machine's CPU while the scenario "
            "ran; *others* is the part other people's processes took on this shared machine.", "",
            "| scenario | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for s in run.scenarios:
        out.append(f"| {s.result.name} | " + " | ".join(f"{s.cpu_ms_per_turn.get(n, 0):.1f}" for n in names) + " |")
    if run.memory_after:
        out += ["", "Memory after the conversations (RSS / PSS MB): " + ", ".join(
            f"{name} {m.rss_mb:.0f} / {m.pss_mb:.0f}" for name, m in run.memory_after.items()) + "."]
    if run.startup_s:
        out += ["", "Start-up (process start to ready): " + ", ".join(
            f"{k} {v:.1f} s" for k, v in run.startup_s.items()) + "."]
    return [*out, ""]


def _burst(b: Burst | None, config: dict[str, Any]) -> list[str]:
    if b is None:
        return []
    setup = b.setup_s
    out = ["## A burst of proactive updates", "",
           f"{b.notifications:,} tenants, each with a linked Telegram chat and one repair reported through the "
           "resident API. An officer then moved every repair to *in progress* through the officer API "
           f"(`POST /api/v1/officer/tickets/{{ref}}/status`, 4 at a time: {b.status_changes_per_s:.0f} changes/s), "
           "and the service queued each resident's message in the outbox in the same transaction. All of that "
           f"happened with no bot running (set-up: residents {setup.get('residents_s', 0):.1f} s, repairs "
           f"{setup.get('repairs_s', 0):.1f} s, status changes {setup.get('status_changes_s', 0):.1f} s), so the "
           f"bot's delivery worker found **{b.pending_at_start:,}** messages waiting when it started, as after an "
           "outage or a mass status change.",
           "",
           "| measure | figure |", "|---|---|",
           f"| messages received by the stand-in | {b.received:,} |",
           f"| first to last message | **{_s(b.first_to_last_s)}** |",
           f"| floor: {b.notifications:,} messages at {b.rate_limit}/s | {b.floor_s:.1f} s |",
           f"| first to last / floor | {_ratio(b)} |",
           f"| bot process started to first message / to last | {_s(b.bot_start_to_first_s)} / "
           f"{_s(b.bot_start_to_last_s)} |",
           f"| chats that got nothing (lost) | {b.lost} |",
           f"| chats that got their message more than once | {b.duplicated_chats} ({b.duplicates} extra messages) |",
           f"| messages naming another chat's repair | {b.misrouted} |",
           f"| 429 answers from the flood limit | {b.throttled} |",
           f"| most messages in any one second | {b.busiest_second} |",
           "| outbox rows afterwards | " + (", ".join(f"{k} {v:,}" for k, v in sorted(b.outbox_after.items()))
                                            or "-") + " |",
           "| CPU seconds over the burst and the wait after it | " + ", ".join(
               f"{k} {v:.1f}" for k, v in b.cpu_s.items() if k in ("bot", "repairs service", "PostgreSQL")) + " |",
           f"| machine busy (others) | {b.machine_busy_pct:.0f}% ({b.others_busy_pct:.0f}%) |",
           ]
    if b.timed_out:
        out += ["", "**Not every chat had its message when the wait ran out.**"]
    out += ["",
            f"The floor is the count over the rate ({b.notifications:,} / {b.rate_limit} per second). Strictly, a "
            f"window that admits {b.rate_limit} messages in any one second lets the last of {b.notifications:,} "
            f"arrive {(b.notifications - 1) // b.rate_limit:.0f} s after the first at the earliest; the report "
            "compares with the rounder figure. Lost, duplicated and misrouted are counted per chat from what the "
            "stand-in received, after a 10 s wait for stragglers; the outbox row counts are the service's own "
            "record of the same sends.", ""]
    return out


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def _ratio(b: Burst) -> str:
    return "-" if not b.first_to_last_s else f"{b.first_to_last_s / b.floor_s:.3f}x"


def _cpu_order(name: str) -> int:
    order = ["bot", "Rasa", "action server", "repairs service", "PostgreSQL", "residents and stand-in"]
    return order.index(name) if name in order else len(order)
