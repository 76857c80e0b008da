"""Build the encoder's ONNX graphs for a model directory, once: `python -m repairs_encoder.build`.

`make encoder` and the image builds run this; serving only loads what it wrote. Two graphs per weights:
- fp32 (`model.onnx`, graph.py): BERT as the weights define it, within 1e-4 of sentence-transformers;
- int8 (`model.int8.onnx`): the same graph through onnxruntime's dynamic quantization. Each MatMul against a
  weight matrix and the embedding tables' Gathers keep their weights as int8, one scale per output column
  (per-channel: one scale for a whole matrix moved vectors to cosine 0.79 of fp32's at worst, per column to
  0.95), and the activations are quantized per run. The matrix products of attention (activation by
  activation) stay float. On this machine's CPUs (AVX-512 VNNI) a short message costs about half the CPU.
Graphs already built for the same weights (same key, see model_files.py) are kept, so running it again costs
one hash of the weights.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import onnx

from repairs_encoder.graph import build_graph
from repairs_encoder.model_files import (
    DEFAULT_CACHE_DIR,
    GRAPH_FILES,
    check_model_dir,
    default_model_dir,
    graph_path,
)

# What int8 quantizes: the dense layers' MatMuls and the embedding look-ups (a quarter of the weights' memory).
QUANTIZED_OPS = ["MatMul", "Gather"]


def _write_atomically(target: Path, write: Callable[[str], None]) -> None:
    """Written beside its final name and renamed, so a reader never sees half a graph, even when two builds (say
    two test workers) race: both write whole files and the last rename wins."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        # mkstemp makes it private; the images build as root and serve as another account, which must read it.
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def quantize(fp32_graph: Path, out: str) -> None:
    # Imported here: the quantization tools pull in more of onnx than building the fp32 graph needs.
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(fp32_graph, out, weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=QUANTIZED_OPS)


def ensure_graph(model_dir: Path, cache_dir: Path, precision: str = "fp32") -> tuple[Path, bool]:
    """The graph's path for these weights and precision, and whether it had to be built now."""
    check_model_dir(model_dir)
    target = graph_path(model_dir, cache_dir, precision)
    if target.is_file():
        return target, False
    if precision == "fp32":
        model = build_graph(model_dir)
        _write_atomically(target, lambda tmp: onnx.save_model(model, tmp))
    else:
        fp32, _ = ensure_graph(model_dir, cache_dir, "fp32")
        _write_atomically(target, lambda tmp: quantize(fp32, tmp))
    return target, True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="config.json, model.safetensors and tokenizer.json (default: the pinned all-MiniLM-L6-v2)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help=f"default: {DEFAULT_CACHE_DIR}")
    parser.add_argument("--precision", choices=sorted(GRAPH_FILES), action="append",
                        help="which graphs to build (repeatable; default: all)")
    args = parser.parse_args(argv)
    for precision in args.precision or list(GRAPH_FILES):
        path, built = ensure_graph(args.model_dir or default_model_dir(), args.cache_dir, precision)
        print(f"encoder graph ({precision}) {'built' if built else 'up to date'}: {path}")


if __name__ == "__main__":
    main()
