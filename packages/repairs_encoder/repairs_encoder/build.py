"""Build the encoder's ONNX graph for a model directory, once: `python -m repairs_encoder.build`.

`make encoder` and the image builds run this; serving only loads what it wrote. A graph already built for the
same weights (same key, see model_files.py) is kept, so running it again costs one hash of the weights.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import onnx

from repairs_encoder.graph import build_graph
from repairs_encoder.model_files import DEFAULT_CACHE_DIR, check_model_dir, default_model_dir, graph_path


def ensure_graph(model_dir: Path, cache_dir: Path) -> tuple[Path, bool]:
    """The graph's path for these weights, and whether it had to be built now."""
    check_model_dir(model_dir)
    target = graph_path(model_dir, cache_dir)
    if target.is_file():
        return target, False
    target.parent.mkdir(parents=True, exist_ok=True)
    model = build_graph(model_dir)
    # Written beside its final name and renamed, so a reader never sees half a graph, even when two
    # builds (say two test workers) race: both write whole files and the last rename wins.
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    os.close(fd)
    try:
        onnx.save_model(model, tmp)
        # mkstemp makes it private; the images build as root and serve as another account, which must read it.
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target, True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=None,
                        help="config.json, model.safetensors and tokenizer.json (default: the pinned all-MiniLM-L6-v2)")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR, help=f"default: {DEFAULT_CACHE_DIR}")
    args = parser.parse_args(argv)
    path, built = ensure_graph(args.model_dir or default_model_dir(), args.cache_dir)
    print(f"encoder graph {'built' if built else 'up to date'}: {path}")


if __name__ == "__main__":
    main()
