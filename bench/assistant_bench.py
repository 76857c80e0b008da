"""Assistant benchmark (`make bench-assistant`, part of `make bench`): a report, not a test.

1. Trains the model from scratch (force, into a temporary directory, never the shared models/ cache).
2. Starts the whole assistant: repairs service, action server, Rasa (bench/assistant_stack.py), and
   times Rasa's start-up (process start to `/status` naming the loaded model).
3. `/model/parse` latency over the held-out resident messages (tests/heldout/messages.yml), one at a time.
4. Full conversation turns through the signed channel (Rasa -> action server -> repairs service ->
   database) by verified residents following a realistic script (bench/conversations.py), one
   conversation at a time and twenty at a time, with a pause between a resident's messages; then a
   stress run with no pause at all, which shows the machine's capacity in turns per second.
5. CPU used per turn by each process, and each process tree's memory after the load.
6. The same for a bare `rasa init`-shaped assistant (bench/bare_assistant.py; trained once and cached):
   `/model/parse` on the same messages and turns of the same words at one and twenty conversations at
   once, so the report can give ours as a ratio of bare Rasa's, both measured in this run on this machine.

    python -m bench.assistant_bench                       # production-like stores (PostgreSQL + Redis)
    python -m bench.assistant_bench --stores local        # SQLite + in-memory lock store, as `make demo`
    python -m bench.assistant_bench --quick               # smoke run (writes var/bench/assistant-quick.md)
    python -m bench.assistant_bench --model models/x.tar.gz   # skip training (reported as skipped)
    python -m bench.assistant_bench --no-bare                # without the bare assistant's measurements
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from bench import bare_assistant
from bench import conversations as talk
from bench.assistant_report import ratios, render
from bench.assistant_stack import REPAIRS_DB, STORES, TRACKER_DB, RunningStack, StackConfig, assistant_stack, tenants
from bench.loadgen import percentile
from bench.proc_usage import Memory, cpu_delta, cpu_snapshot, memory, pids_named, tree_memory
from bench.server import machine_ticks, process_tree, wait_for_quiet
from evaluation.rasa_process import ROOT, train

DEFAULT_PG_ADMIN = os.environ.get(
    "BENCH_POSTGRES_URL", os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
HELDOUT = ROOT / "tests" / "heldout" / "messages.yml"
TARGETS = {"training_s": 90.0, "turn_p95_ms_at_20": 150.0, "memory_mb": 1600.0,
           # Ours against the bare assistant in the same run (issue 13).
           "parse_p50_ratio": 1.0, "turn_p95_ratio_at_20": 2.0}


@dataclass
class Config:
    stores: list[str]
    model: Path | None
    parse_messages: int
    conversations_1: int
    conversations_n: int
    concurrency: int
    think: tuple[float, float]
    stress_conversations: int
    repairs_workers: int | None
    action_workers: int
    rasa_workers: int
    rasa_env: list[tuple[str, str]]
    actions_env: list[tuple[str, str]]
    pg_admin_url: str
    quiet_wait: float
    seed: int
    out: Path
    quick: bool
    bare: bool


@dataclass
class Training:
    seconds: float | None  # None: skipped (--model)
    model: str
    cpu_s: float = 0.0
    others_busy_pct: float = 0.0


@dataclass
class Scenario:
    result: talk.LoadResult
    cpu_ms_per_turn: dict[str, float]
    machine_busy_pct: float
    others_busy_pct: float

    def as_dict(self) -> dict[str, Any]:
        return {**self.result.summary(), "cpu_ms_per_turn": self.cpu_ms_per_turn,
                "machine_busy_pct": round(self.machine_busy_pct, 1), "others_busy_pct": round(self.others_busy_pct, 1)}


@dataclass
class StoresRun:
    stores: str
    tracker: str = ""
    lock_store: str = ""
    workers: dict[str, int] = field(default_factory=dict)
    startup_s: dict[str, float] = field(default_factory=dict)
    parse_ms: list[float] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    memory_idle: dict[str, Memory] = field(default_factory=dict)
    memory_after: dict[str, Memory] = field(default_factory=dict)
    shared_servers_memory: dict[str, Memory] = field(default_factory=dict)
    busy_before_pct: float | None = None
    at_rest_cpu_ms_per_s: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stores": self.stores, "tracker": self.tracker, "lock_store": self.lock_store, "workers": self.workers,
            "startup_s": {k: round(v, 2) for k, v in self.startup_s.items()},
            "parse": {"n": len(self.parse_ms), "p50_ms": round(percentile(self.parse_ms, 50), 2),
                      "p95_ms": round(percentile(self.parse_ms, 95), 2)},
            "scenarios": [s.as_dict() for s in self.scenarios],
            "memory_idle": {k: m.as_dict() for k, m in self.memory_idle.items()},
            "memory_after_load": {k: m.as_dict() for k, m in self.memory_after.items()},
            "shared_servers_memory": {k: m.as_dict() for k, m in self.shared_servers_memory.items()},
            "busy_before_pct": self.busy_before_pct, "at_rest_cpu_ms_per_s": self.at_rest_cpu_ms_per_s,
            "notes": self.notes,
        }


@dataclass
class BareRun:
    """The bare assistant's figures in this run."""

    model: str
    training_s: float | None = None  # None: the cached model was used
    startup_s: float = 0.0
    parse_ms: list[float] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    memory_after: Memory | None = None
    busy_before_pct: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "training_s": self.training_s, "startup_s": round(self.startup_s, 2),
            "parse": {"n": len(self.parse_ms), "p50_ms": round(percentile(self.parse_ms, 50), 2),
                      "p95_ms": round(percentile(self.parse_ms, 95), 2)},
            "scenarios": [s.as_dict() for s in self.scenarios],
            "memory_after_load": self.memory_after.as_dict() if self.memory_after else None,
            "busy_before_pct": self.busy_before_pct, "notes": self.notes,
        }


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- training -----------------------------------------------------------------------------------


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_training(cfg: Config, scratch: Path) -> tuple[Training, Path]:
    if cfg.model is not None:
        log(f"training skipped: using {cfg.model}")
        return Training(None, cfg.model.name), cfg.model
    wait_for_quiet(cfg.quiet_wait, "training", log)
    log("training the model from scratch (rasa train, force) into a temporary directory")
    busy0, total0 = machine_ticks()
    cpu0 = children_cpu()
    # Rasa caches trained graph components in ~/.rasa/cache and reuses them across runs; an empty cache
    # directory of our own makes this a real training from scratch.
    saved = os.environ.get("RASA_CACHE_DIRECTORY")
    os.environ["RASA_CACHE_DIRECTORY"] = str(scratch / "rasa-cache")
    try:
        trained = train(scratch / "models", force=True)
    finally:
        if saved is None:
            os.environ.pop("RASA_CACHE_DIRECTORY", None)
        else:
            os.environ["RASA_CACHE_DIRECTORY"] = saved
    cpu = children_cpu() - cpu0
    busy1, total1 = machine_ticks()
    cores = os.cpu_count() or 1
    ticks = os.sysconf("SC_CLK_TCK")
    others = max(0.0, (busy1 - busy0) / ticks - cpu) / max(1e-9, (total1 - total0) / ticks) * 100
    assert trained.seconds is not None
    log(f"trained in {trained.seconds:.1f}s ({cpu:.0f} CPU s over {cores} cores; others used {others:.0f}%)")
    return Training(trained.seconds, trained.path.name, cpu, others), trained.path


# -- one set of stores ----------------------------------------------------------------------------


class Meter:
    """CPU per process tree over one scenario."""

    def __init__(self, stack: RunningStack, pg_admin_url: str) -> None:
        self.stack = stack
        self.pg_admin_url = pg_admin_url

    def groups(self) -> dict[str, list[int]]:
        out = {name: process_tree(part.process.pid) for name, part in self.stack.parts.items()}
        if self.stack.config.stores == "production":
            out["PostgreSQL"] = self.postgres_pids()
            out["Redis"] = pids_named("redis-server")
        return out

    def postgres_pids(self, *, shared: bool = True) -> list[int]:
        """The benchmark databases' backends and (`shared`) PostgreSQL's background processes (WAL writer,
        checkpointer: they work for everyone's databases, ours included)."""
        engine = sa.create_engine(self.pg_admin_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(sa.text(
                    "SELECT pid FROM pg_stat_activity WHERE datname IN (:a, :b)"
                    + (" OR datname IS NULL" if shared else "")
                ), {"a": REPAIRS_DB, "b": TRACKER_DB}).scalars().all()
        finally:
            engine.dispose()
        return [int(r) for r in rows]

    def snapshot(self) -> tuple[dict[str, dict[int, float]], float, tuple[int, int]]:
        return ({name: cpu_snapshot(pids) for name, pids in self.groups().items()}, time.process_time(),
                machine_ticks())

    def at_rest(self, seconds: float) -> dict[str, float]:
        """CPU milliseconds per second each process tree uses with no traffic at all (timers, polling)."""
        before = self.snapshot()
        time.sleep(seconds)
        after = self.snapshot()
        return {name: round(cpu_delta(before[0].get(name, {}), snap) * 1000 / seconds, 2)
                for name, snap in after[0].items()}

    def scenario(self, run: talk.LoadResult, before: Any) -> Scenario:
        after = self.snapshot()
        turns = max(1, len(run.turns))
        per_turn = {name: cpu_delta(before[0].get(name, {}), snap) * 1000 / turns for name, snap in after[0].items()}
        per_turn["load generator"] = (after[1] - before[1]) * 1000 / turns
        busy = after[2][0] - before[2][0]
        total = max(1, after[2][1] - before[2][1])
        ticks = os.sysconf("SC_CLK_TCK")
        ours = sum(per_turn.values()) * turns / 1000
        others = max(0.0, busy / ticks - ours) / (total / ticks) * 100
        return Scenario(run, {k: round(v, 2) for k, v in per_turn.items()}, 100 * busy / total, others)


def run_stores(cfg: Config, stores: str, model: Path) -> StoresRun:
    # As docker-compose.yml runs it (REPAIRS_WORKERS defaults to 3); SQLite serialises writers, so 1.
    repairs_workers = cfg.repairs_workers or (3 if stores == "production" else 1)
    run = StoresRun(stores, workers={"repairs service": repairs_workers, "action server": cfg.action_workers,
                                     "Rasa": cfg.rasa_workers})
    for who, extra in (("Rasa", cfg.rasa_env), ("the action server", cfg.actions_env)):
        if extra:
            run.notes.append(f"Extra environment for {who}: " + ", ".join(f"`{k}={v}`" for k, v in extra) + ".")
    if stores == "local" and cfg.rasa_workers > 1:
        run.notes.append("Rasa runs one Sanic worker with the in-memory lock store whatever SANIC_WORKERS says.")
    # var/ is git-ignored; the processes' logs stay there after the run for a look at what went wrong.
    stack_cfg = StackConfig(stores=stores, workdir=ROOT / "var" / "bench" / f"assistant-{stores}",
                            pg_admin_url=cfg.pg_admin_url,
                            repairs_workers=repairs_workers, action_workers=cfg.action_workers,
                            rasa_workers=cfg.rasa_workers, rasa_env=tuple(cfg.rasa_env),
                            actions_env=tuple(cfg.actions_env))
    log(f"{stores}: starting the repairs service, the action server and Rasa")
    try:
        with assistant_stack(stack_cfg, model) as stack:
            measure(cfg, run, stack)
    except Exception as exc:  # report what was measured, and why the rest was not
        import traceback

        log(f"{stores}: FAILED: {exc!r}\n{traceback.format_exc()}")
        run.notes.append(f"**The run failed** ({type(exc).__name__}: {str(exc)[:300]}); what is above is partial. "
                         f"Logs: {stack_cfg.workdir.relative_to(ROOT)}/.")
    return run


def measure(cfg: Config, run: StoresRun, stack: RunningStack) -> None:
    """Everything measured on one running stack, in order: parse, conversations, memory."""
    stores = run.stores
    rng = random.Random(cfg.seed)
    run.tracker, run.lock_store = stack.tracker, stack.lock_store
    run.startup_s = {name: part.startup_seconds for name, part in stack.parts.items()}
    log(f"{stores}: ready; start-up " + ", ".join(f"{k} {v:.1f}s" for k, v in run.startup_s.items()))
    run.memory_idle = {name: tree_memory(part.process.pid) for name, part in stack.parts.items()}
    people = tenants(stack.database_url)
    meter = Meter(stack, cfg.pg_admin_url)
    run.busy_before_pct = wait_for_quiet(cfg.quiet_wait, stores, log)

    messages = parse_messages(cfg)
    run.parse_ms = talk.parse_latencies(stack.rasa_url, stack.rasa_token, messages)
    log(f"{stores}: /model/parse x{len(run.parse_ms)}: p50 {percentile(run.parse_ms, 50):.1f} ms, "
        f"p95 {percentile(run.parse_ms, 95):.1f} ms")

    needed = 2 + cfg.conversations_1 + cfg.conversations_n + cfg.stress_conversations
    pool = talk.make_conversations(needed, people, rng)
    log(f"{stores}: verifying {needed} chats (untimed)")
    talk.verify_all(stack.rasa_url, stack.channel_secret, pool)
    warm, pool = pool[:2], pool[2:]
    talk.run_conversations(stack.rasa_url, stack.channel_secret, "warm-up", warm, concurrency=1, think=(0, 0),
                           seed=cfg.seed)
    run.at_rest_cpu_ms_per_s = meter.at_rest(5.0 if cfg.quick else 15.0)
    log(f"{stores}: CPU at rest (ms/s) {run.at_rest_cpu_ms_per_s}")

    plan = [("one conversation at a time", 1, cfg.conversations_1, cfg.think),
            (f"{cfg.concurrency} conversations at once", cfg.concurrency, cfg.conversations_n, cfg.think)]
    if cfg.stress_conversations:
        plan.append((f"stress: {cfg.concurrency} at once, no pause", cfg.concurrency,
                     cfg.stress_conversations, (0.0, 0.0)))
    for name, concurrency, count, think in plan:
        chats, pool = pool[:count], pool[count:]
        before = meter.snapshot()
        result = talk.run_conversations(stack.rasa_url, stack.channel_secret, name, chats, concurrency=concurrency,
                                        think=think, seed=cfg.seed + concurrency)
        scenario = meter.scenario(result, before)
        run.scenarios.append(scenario)
        s = result.summary()
        log(f"{stores}: {name}: {s['turns']} turns, {s['turns_per_s']}/s, p50 {s['p50_ms']} ms, "
            f"p95 {s['p95_ms']} ms, errors {s['errors']}; CPU ms/turn {scenario.cpu_ms_per_turn}")
    run.memory_after = {name: tree_memory(part.process.pid) for name, part in stack.parts.items()}
    if stores == "production":
        run.shared_servers_memory = {
            "PostgreSQL (the benchmark databases' backends)": memory(meter.postgres_pids(shared=False)),
            "Redis (shared with other users)": memory(pids_named("redis-server"))}
    log(f"{stores}: memory after load (RSS MB) "
        + ", ".join(f"{k} {m.rss_mb:.0f}" for k, m in run.memory_after.items()))


def parse_messages(cfg: Config) -> list[str]:
    return [m["text"] for m in yaml.safe_load(HELDOUT.read_text())][: cfg.parse_messages]


# -- the bare assistant -------------------------------------------------------------------------------


def run_bare(cfg: Config) -> BareRun:
    """The bare assistant measured as ours is: the same parse messages, the same conversation counts, pauses
    and seeds at one and at `concurrency` conversations; its Rasa's CPU per turn and memory after the load."""
    trained = bare_assistant.train()
    run = BareRun(trained.path.name, trained.seconds)
    how = f"trained in {trained.seconds:.1f}s" if trained.seconds is not None else "cached model"
    log(f"bare assistant: {how} ({trained.path.name})")
    rng = random.Random(cfg.seed)
    try:
        with bare_assistant.bare_rasa(trained.path, ROOT / "var" / "bench" / "assistant-bare" / "rasa.log") as rasa:
            run.startup_s = rasa.startup_seconds
            log(f"bare assistant: ready in {rasa.startup_seconds:.1f}s")
            run.busy_before_pct = wait_for_quiet(cfg.quiet_wait, "bare assistant", log)
            run.parse_ms = talk.parse_latencies(rasa.url, rasa.token, parse_messages(cfg))
            log(f"bare assistant: /model/parse x{len(run.parse_ms)}: p50 {percentile(run.parse_ms, 50):.1f} ms, "
                f"p95 {percentile(run.parse_ms, 95):.1f} ms")
            pool = bare_assistant.conversations(2 + cfg.conversations_1 + cfg.conversations_n, rng)
            warm, pool = pool[:2], pool[2:]
            bare_assistant.run_conversations(rasa.url, "warm-up", warm, concurrency=1, think=(0, 0), seed=cfg.seed)
            plan = [("one conversation at a time", 1, cfg.conversations_1),
                    (f"{cfg.concurrency} conversations at once", cfg.concurrency, cfg.conversations_n)]
            for name, concurrency, count in plan:
                chats, pool = pool[:count], pool[count:]
                before = cpu_snapshot(process_tree(rasa.process.pid)), time.process_time(), machine_ticks()
                result = bare_assistant.run_conversations(rasa.url, name, chats, concurrency=concurrency,
                                                          think=cfg.think, seed=cfg.seed + concurrency)
                run.scenarios.append(_bare_scenario(result, rasa.process.pid, before))
                s = result.summary()
                log(f"bare assistant: {name}: {s['turns']} turns, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, "
                    f"errors {s['errors']}")
            run.memory_after = tree_memory(rasa.process.pid)
    except Exception as exc:  # report what was measured, and why the rest was not
        log(f"bare assistant: FAILED: {exc!r}")
        run.notes.append(f"**The bare assistant's run failed** ({type(exc).__name__}: {str(exc)[:300]}); what is "
                         "given is partial. Log: var/bench/assistant-bare/rasa.log.")
    return run


def _bare_scenario(result: talk.LoadResult, pid: int, before: tuple[dict[int, float], float, tuple[int, int]]
                   ) -> Scenario:
    after = cpu_snapshot(process_tree(pid)), time.process_time(), machine_ticks()
    turns = max(1, len(result.turns))
    per_turn = {"Rasa": cpu_delta(before[0], after[0]) * 1000 / turns,
                "load generator": (after[1] - before[1]) * 1000 / turns}
    busy, total = after[2][0] - before[2][0], max(1, after[2][1] - before[2][1])
    ticks = os.sysconf("SC_CLK_TCK")
    others = max(0.0, busy / ticks - sum(per_turn.values()) * turns / 1000) / (total / ticks) * 100
    return Scenario(result, {k: round(v, 2) for k, v in per_turn.items()}, 100 * busy / total, others)


# -- main ----------------------------------------------------------------------------------------


def environment() -> dict[str, Any]:
    cpu_model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10,
                              check=False).stdout.strip()

    # Versions in Rasa's environment that move these figures (jsonschema: see the report's notes).
    versions = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c",
         "import importlib.metadata as m; print(' '.join(p + '=' + m.version(p) for p in "
         "('rasa', 'rasa-sdk', 'jsonschema', 'numpy')))"],
        capture_output=True, text=True, timeout=60, check=False).stdout.strip()
    return {"run_at": datetime.now().astimezone().isoformat(timespec="seconds"), "rasa_env": versions,
            "git_commit": git("rev-parse", "--short", "HEAD"), "git_dirty": bool(git("status", "--porcelain")),
            "nproc": os.cpu_count(), "cpu_model": cpu_model,
            "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)}


def _pair(value: str) -> tuple[str, str]:
    name, sep, setting = value.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {value!r}")
    return name, setting


def parse_args(argv: list[str] | None) -> Config:
    parser = argparse.ArgumentParser(prog="python -m bench.assistant_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", choices=[*STORES, "both"], default="production",
                        help="production: PostgreSQL (repairs, tracker) + Redis (locks); local: SQLite, in-memory")
    parser.add_argument("--quick", action="store_true", help="smoke run with small numbers")
    parser.add_argument("--model", type=Path, help="use this trained model instead of training one")
    parser.add_argument("--parse-messages", type=int, help="held-out messages to parse (default all 454)")
    parser.add_argument("--conversations-1", type=int, help="conversations one at a time (default 10)")
    parser.add_argument("--conversations", type=int, help="conversations at --concurrency (default 60)")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--think", default="1,3", help="a resident's pause between messages: min,max seconds")
    parser.add_argument("--stress-conversations", type=int,
                        help="conversations in the no-pause stress run (default 40; 0 skips it)")
    parser.add_argument("--repairs-workers", type=int, help="repairs service workers (default 3 on PostgreSQL, "
                        "as docker-compose.yml; 1 on SQLite)")
    parser.add_argument("--action-workers", type=int, default=1, help="action server Sanic workers")
    parser.add_argument("--rasa-workers", type=int, default=1,
                        help="Rasa Sanic workers (more than 1 only with the Redis lock store)")
    parser.add_argument("--rasa-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment variable for Rasa (repeatable), e.g. OPENBLAS_NUM_THREADS=1")
    parser.add_argument("--actions-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment variable for the action server (repeatable)")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN)
    parser.add_argument("--quiet-wait", type=float, default=30.0,
                        help="seconds to wait for other processes to leave the CPUs idle before measuring")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, help="Markdown report path (JSON alongside)")
    parser.add_argument("--no-bare", dest="bare", action="store_false",
                        help="skip the bare `rasa init`-shaped assistant (and the ratios)")
    args = parser.parse_args(argv)
    quick = args.quick
    low, _, high = args.think.partition(",")
    think = (float(low), float(high or low))
    return Config(
        stores=list(STORES) if args.stores == "both" else [args.stores], model=args.model,
        parse_messages=args.parse_messages or (60 if quick else 10_000),
        conversations_1=args.conversations_1 or (2 if quick else 10),
        conversations_n=args.conversations or (args.concurrency if quick else 60), concurrency=args.concurrency,
        think=think if not quick or args.think != "1,3" else (0.2, 0.6),
        stress_conversations=(args.stress_conversations if args.stress_conversations is not None
                              else (args.concurrency if quick else 40)),
        repairs_workers=args.repairs_workers, action_workers=args.action_workers, rasa_workers=args.rasa_workers,
        rasa_env=[_pair(v) for v in args.rasa_env], actions_env=[_pair(v) for v in args.actions_env],
        pg_admin_url=args.pg_admin_url, quiet_wait=5.0 if quick else args.quiet_wait, seed=args.seed,
        # A smoke run's figures are not results: they go to the git-ignored var/.
        out=args.out or (ROOT / "var" / "bench" / "assistant-quick.md" if quick
                         else ROOT / "bench" / "results" / "assistant.md"),
        quick=quick, bare=args.bare,
    )


def main(argv: list[str] | None = None) -> int:
    cfg = parse_args(argv)
    started = time.perf_counter()
    env = environment()
    log(f"machine: {env['nproc']} cores, {env['memory_gb']} GB; stores {cfg.stores}")
    scratch = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    runs: list[StoresRun] = []
    bare: BareRun | None = None
    try:
        training, model = measure_training(cfg, scratch)
        for stores in cfg.stores:
            runs.append(run_stores(cfg, stores, model))
        # After ours, one process at a time: the two never share the machine.
        bare = run_bare(cfg) if cfg.bare else None
    except KeyboardInterrupt:
        log("interrupted: processes stopped, benchmark databases dropped")
        return 130
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    env["wall_s"] = round(time.perf_counter() - started, 1)
    config = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(cfg).items() if k != "pg_admin_url"}
    markdown = render(env, config, training, runs, TARGETS, bare)
    cfg.out.parent.mkdir(parents=True, exist_ok=True)
    cfg.out.write_text(markdown)
    json_path = cfg.out.with_suffix(".json")
    report = {"environment": env, "config": config, "training": vars(training), "runs": [r.as_dict() for r in runs],
              "targets": TARGETS, "bare": bare.as_dict() if bare else None,
              "ratios": ratios(runs, bare, cfg.concurrency) if bare else None}
    json_path.write_text(json.dumps(report, indent=2, default=str))
    print(markdown)
    log(f"wrote {cfg.out.relative_to(ROOT)} and {json_path.relative_to(ROOT)} in {env['wall_s']:.0f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
