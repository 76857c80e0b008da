"""The onnxruntime sentence encoder (packages/repairs_encoder) gives the vectors the pipeline was built on.

Two references, both checked in both environments (Rasa's Python 3.10 and the service's 3.11), since both
install the encoder:
- tests/fixtures/minilm_reference.json: computed once with sentence-transformers and PyTorch (which neither
  environment installs), the model's own definition of its output;
- tests/fixtures/encoder_golden.json: 40 varied texts (empty, emoji, Welsh, a number, one over 128 tokens)
  through the hand-written NumPy encoder the onnxruntime one replaced, taken before it was replaced.
Each text is encoded alone and in a batch (padded beside longer texts): padding must not move a vector.

Those hold the fp32 graph to 1e-4. The int8 graph (dynamic quantization, repairs_encoder/build.py) moves every
vector a little by design, so it is held to a bound on its cosine to the fp32 vector instead.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from repairs_encoder.build import ensure_graph
from repairs_encoder.encoder import SentenceEncoder
from repairs_encoder.model_files import DEFAULT_CACHE_DIR, GraphMissingError, default_model_dir, weights_key

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
REFERENCES = ["minilm_reference.json", "encoder_golden.json"]
PYTHONS = {"3.11": ROOT / ".venv" / "bin" / "python", "3.10": ROOT / ".venv-rasa" / "bin" / "python"}
TOLERANCE = 1e-4
# The int8 graph against fp32, over both fixtures' texts: measured lowest 0.971 and mean 0.991 (December 2026,
# onnxruntime 1.23); one scale per whole matrix instead of per column gave 0.79 at worst and fails these.
INT8_MIN_COSINE = 0.95
INT8_MEAN_COSINE = 0.985

CHECK = """
import json, sys
import numpy as np
from repairs_encoder.encoder import SentenceEncoder
encoder = SentenceEncoder(precision="fp32")
result = {}
for path in sys.argv[1:]:
    ref = json.load(open(path))
    expected = np.array(ref["vectors"], dtype=np.float32)
    batch = encoder.encode(ref["texts"])
    single = np.stack([encoder.encode([t])[0] for t in ref["texts"]])
    result[path] = {"n": len(ref["texts"]), "dim": int(batch.shape[1]), "dtype": str(batch.dtype),
                    "batch": float(np.abs(batch - expected).max()), "single": float(np.abs(single - expected).max()),
                    "norm": float(np.abs(np.linalg.norm(batch, axis=1) - 1.0).max())}
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def built_graph() -> Path:
    # `make test` builds them first (make encoder); building here too keeps a bare pytest run honest.
    ensure_graph(default_model_dir(), DEFAULT_CACHE_DIR, "int8")
    path, _ = ensure_graph(default_model_dir(), DEFAULT_CACHE_DIR, "fp32")
    return path


@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_onnx_encoder_matches_both_references(version: str, built_graph: Path) -> None:
    python = PYTHONS[version]
    assert python.exists(), f"the Python {version} environment is missing: run make test (it installs it)"
    paths = [str(FIXTURES / name) for name in REFERENCES]
    out = subprocess.run(
        [str(python), "-c", CHECK, *paths], cwd=ROOT, capture_output=True, text=True, timeout=300, check=True,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"},
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(result) == set(paths)
    for path, figures in result.items():
        assert figures["n"] >= 5 and figures["dim"] == 384 and figures["dtype"] == "float32", (path, figures)
        assert figures["batch"] < TOLERANCE and figures["single"] < TOLERANCE, (path, figures)
        assert figures["norm"] < TOLERANCE, (path, figures)


def test_the_int8_graph_keeps_the_meaning_of_the_fp32_vectors(built_graph: Path) -> None:
    texts = [t for name in REFERENCES for t in json.loads((FIXTURES / name).read_text())["texts"] if t.strip()]
    fp32 = SentenceEncoder(precision="fp32").encode(texts)
    encoder = SentenceEncoder(precision="int8")
    int8 = encoder.encode(texts)
    assert int8.shape == fp32.shape and int8.dtype == np.float32
    assert np.abs(np.linalg.norm(int8, axis=1) - 1.0).max() < TOLERANCE
    cosines = (int8 * fp32).sum(axis=1)
    assert cosines.min() >= INT8_MIN_COSINE, cosines.min()
    assert cosines.mean() >= INT8_MEAN_COSINE, cosines.mean()
    assert np.abs(int8 - fp32).max() > TOLERANCE  # it is the quantized graph, not the fp32 one under a new name
    # A text's vector does not depend on the texts encoded with it (activations are scaled per run, so the int8
    # encoder runs one text at a time): what training encodes in bulk is what serving gets one by one.
    single = np.stack([encoder.encode([t])[0] for t in texts])
    assert np.abs(single - int8).max() < 1e-6


def test_the_golden_set_covers_the_awkward_texts() -> None:
    texts = json.loads((FIXTURES / "encoder_golden.json").read_text())["texts"]
    assert len(texts) >= 40
    assert "" in texts and any(not t.isascii() for t in texts)
    assert any(len(t.split()) > 120 for t in texts)  # 142 word pieces: truncation at 128 tokens is exercised


def test_a_missing_graph_says_how_to_build_it(tmp_path: Path, built_graph: Path) -> None:
    with pytest.raises(GraphMissingError, match="make encoder"):
        SentenceEncoder(cache_dir=tmp_path)


def test_other_weights_get_a_graph_of_their_own(tmp_path: Path, built_graph: Path) -> None:
    """A fine-tuned directory (same layout, other weights) is built under its own key, never given ours."""
    model = tmp_path / "tuned"
    model.mkdir()
    source = default_model_dir()
    for name in ("config.json", "tokenizer.json"):
        (model / name).write_bytes((source / name).read_bytes())
    raw = (source / "model.safetensors").read_bytes()
    # Same header and tensors, the lowest mantissa bit of the last weight flipped: another checkpoint.
    (model / "model.safetensors").write_bytes(raw[:-4] + bytes([raw[-4] ^ 1]) + raw[-3:])
    assert weights_key(model) != weights_key(source)
    cache = tmp_path / "cache"
    path, built = ensure_graph(model, cache)
    assert built and path.is_file() and path.parent.name == weights_key(model)
    assert ensure_graph(model, cache) == (path, False)
    vectors = SentenceEncoder(model, cache, precision="fp32").encode(["the boiler has packed up", "hello"])
    ours = SentenceEncoder(precision="fp32").encode(["the boiler has packed up", "hello"])
    assert vectors.shape == (2, 384)
    assert np.abs(vectors - ours).max() < 1e-2  # one bit of one weight: nearly the same vector, from its own graph
