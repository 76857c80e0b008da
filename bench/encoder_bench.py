"""Sentence encoder benchmark (`make bench-encoder`): the onnxruntime encoder against the NumPy forward pass.

Runs in Rasa's Python 3.10, where the NLU pipeline encodes every message (and the only environment with SciPy,
which the old NumPy encoder needs), with one BLAS thread as Rasa runs. Both encoders take turns on the same
texts, so a busy neighbour on this shared machine slows both alike. Measured: loading, one short message (what
`/model/parse` pays per message), one 128-token message, a batch (what training pays), wall and CPU time, and
the largest difference between the two encoders' vectors. A report, not a test: bench/results/encoder.md/json.

    .venv-rasa/bin/python -m bench.encoder_bench [--rounds 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
from repairs_encoder.encoder import SentenceEncoder

from bench.numpy_encoder import SentenceEncoder as NumpyEncoder

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
# Our own varied texts (the parity test's golden set): never an evaluation set's.
TEXTS_FILE = ROOT / "tests" / "fixtures" / "encoder_golden.json"
BATCH_COPIES = 4  # 160 texts: about one training run's batches' worth of lengths


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(fn: Callable[[], Any]) -> tuple[float, float]:
    """(wall ms, CPU ms of this process, all threads) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - wall) * 1e3, (time.process_time() - cpu) * 1e3


def measure(encoders: dict[str, Any], texts: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Each encoder encodes each of `texts` alone, in turns, `rounds` calls in all per encoder."""
    wall: dict[str, list[float]] = {name: [] for name in encoders}
    cpu: dict[str, list[float]] = {name: [] for name in encoders}
    for i in range(rounds):
        text = texts[i % len(texts)]
        for name, encoder in encoders.items():
            w, c = timed(lambda encoder=encoder, text=text: encoder.encode([text]))
            wall[name].append(w)
            cpu[name].append(c)
    return {name: {"p50_ms": statistics.median(wall[name]), "p95_ms": percentile(wall[name], 0.95),
                   "cpu_ms": statistics.mean(cpu[name])} for name in encoders}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300, help="single-message calls per encoder")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    texts: list[str] = json.loads(TEXTS_FILE.read_text())["texts"]
    short = [t for t in texts if 3 <= len(t.split()) <= 16]
    long = [max(texts, key=len)]

    loads: dict[str, float] = {}
    encoders: dict[str, Any] = {}
    for name, make in (("numpy (before)", NumpyEncoder),
                       ("onnxruntime fp32, 1 thread", lambda: SentenceEncoder(precision="fp32")),
                       ("onnxruntime fp32, 2 threads", lambda: SentenceEncoder(threads=2, precision="fp32")),
                       ("onnxruntime int8, 1 thread", lambda: SentenceEncoder(precision="int8"))):
        t = time.perf_counter()
        encoders[name] = make()
        loads[name] = time.perf_counter() - t
    for encoder in encoders.values():
        encoder.encode(texts)  # first runs allocate; not what a serving process pays per message

    vectors = {name: e.encode(texts) for name, e in encoders.items()}
    baseline = vectors["numpy (before)"]
    differences = {name: float(np.abs(v - baseline).max()) for name, v in vectors.items()}
    # How far each moves the meaning: the lowest cosine to the NumPy encoder's vector over the texts (all unit
    # length, so the dot product is the cosine). The int8 graph's vectors differ by more than 1e-4 by design.
    nonempty = [i for i, t in enumerate(texts) if t]
    cosines = {name: float((v[nonempty] * baseline[nonempty]).sum(axis=1).min()) for name, v in vectors.items()}

    single = measure(encoders, short, args.rounds)
    single_long = measure(encoders, long, max(20, args.rounds // 10))
    batch_texts = texts * BATCH_COPIES
    batch: dict[str, dict[str, float]] = {}
    for name, encoder in encoders.items():
        runs = [timed(lambda encoder=encoder: encoder.encode(batch_texts)) for _ in range(5)]
        wall_ms = statistics.median(w for w, _ in runs)
        batch[name] = {"wall_ms": wall_ms, "cpu_ms": statistics.median(c for _, c in runs),
                       "texts_per_s": len(batch_texts) / (wall_ms / 1e3)}

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            timeout=10, check=False).stdout.strip()
    figures = {
        "run": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": commit,
        "python": platform.python_version(), "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
        "cores": os.cpu_count(), "load_average_at_start": os.getloadavg()[0],
        "short_texts": len(short), "rounds": args.rounds, "batch_texts": len(batch_texts),
        "load_s": loads, "max_abs_difference_from_numpy": differences,
        "min_cosine_to_numpy": cosines,
        "single_short": single, "single_128_tokens": single_long, "batch": batch,
        "seconds": time.perf_counter() - started,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "encoder.json").write_text(json.dumps(figures, indent=2) + "\n")
    (RESULTS / "encoder.md").write_text(report(figures))
    print(report(figures))


def report(f: dict[str, Any]) -> str:
    lines = [
        "# Sentence encoder benchmark",
        "",
        f"Run {f['run']} at commit `{f['commit']}`, {f['seconds']:.0f} s wall (`make bench-encoder`).",
        "",
        f"- Python {f['python']} (Rasa's environment, one BLAS thread as Rasa runs), NumPy {f['numpy']}, "
        f"onnxruntime {f['onnxruntime']}; {f['cores']} cores, **shared with other work** (load average "
        f"{f['load_average_at_start']:.1f} at the start): the encoders take turns on the same texts, so both "
        "feel the same neighbours.",
        f"- Single message: {f['rounds']} calls per encoder over {f['short_texts']} short residents' messages "
        f"(3-16 words), one at a time as `/model/parse` encodes them. Batch: {f['batch_texts']} texts in one call "
        "(batched by similar length), median of 5. CPU is this process's, all threads.",
        "",
        "| encoder | load s | short p50 ms | short p95 ms | short CPU ms | 128 tokens p50 ms | batch ms | "
        "batch CPU ms | texts/s | max diff from NumPy | min cosine to NumPy |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in f["load_s"]:
        s, long, b = f["single_short"][name], f["single_128_tokens"][name], f["batch"][name]
        lines.append(
            f"| {name} | {f['load_s'][name]:.2f} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} | {s['cpu_ms']:.2f} | "
            f"{long['p50_ms']:.1f} | {b['wall_ms']:.0f} | {b['cpu_ms']:.0f} | {b['texts_per_s']:.0f} | "
            f"{f['max_abs_difference_from_numpy'][name]:.1e} | {f['min_cosine_to_numpy'][name]:.4f} |")
    lines += [
        "",
        "The product runs a 1-thread session (packages/repairs_encoder/repairs_encoder/encoder.py says why); the "
        "2-thread row shows what a second thread buys on this machine, the int8 row what the dynamically quantized "
        "graph (repairs_encoder/build.py) costs and how far it moves the vectors.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
