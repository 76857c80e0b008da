"""The BERT sentence encoder written out as an ONNX graph, from a model directory's safetensors weights.

Our own small builder with `onnx.helper` rather than an exporter: exporting needs PyTorch, which neither
environment installs (on Python 3.10 it would be a multi-gigabyte CUDA build). The graph is the standard
BERT encoder in standard ONNX operators (opset 17), in the forms onnxruntime's optimizer recognises and fuses
(LayerNormalization, the erf GELU, MatMul + Add), followed by what sentence-transformers does after BERT:
the mean of the last layer over real tokens, then L2 normalisation. So one run gives the final vectors.

Inputs: `input_ids` and `attention_mask`, int64 [batch, tokens]. Output: `sentence_embedding`, float32
[batch, hidden]. Used at build time only (`python -m repairs_encoder.build`); serving needs onnxruntime alone.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

OPSET = 17  # LayerNormalization is standard from 17; onnxruntime 1.23 runs up to 23
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
OUTPUT = "sentence_embedding"
# The score added where a token is padding: what the NumPy encoder this replaced used, so results match.
PADDING_SCORE = -1e9


class _Builder:
    """Collects nodes and initializers; each helper returns the name of its output."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def _name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self._name(hint)
        self.initializers.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str = "", **attrs: Any) -> str:
        out = self._name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def _weights(model_dir: Path) -> dict[str, np.ndarray]:
    raw = load_file(str(model_dir / "model.safetensors"))
    # A checkpoint saved from BertModel has bare names; one saved from a task model prefixes them "bert.".
    return {name.removeprefix("bert."): np.asarray(value, dtype=np.float32) for name, value in raw.items()}


def build_graph(model_dir: Path) -> onnx.ModelProto:
    config = json.loads((model_dir / "config.json").read_text())
    if config.get("hidden_act", "gelu") != "gelu":
        raise ValueError(f"only BERT's erf GELU is built, not {config['hidden_act']!r}")
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    hidden = int(config["hidden_size"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    head_dim = hidden // heads
    w = _weights(model_dir)
    g = _Builder()

    def dense(x: str, prefix: str) -> str:
        # PyTorch's Linear stores [out, in]; the graph multiplies by [in, out].
        weight = g.const(prefix + "weight", np.ascontiguousarray(w[prefix + "weight"].T))
        return g.op("Add", [g.op("MatMul", [x, weight]), g.const(prefix + "bias", w[prefix + "bias"])])

    def layer_norm(x: str, prefix: str) -> str:
        return g.op("LayerNormalization", [x, g.const(prefix + "weight", w[prefix + "weight"]),
                                           g.const(prefix + "bias", w[prefix + "bias"])],
                    axis=-1, epsilon=eps)

    def gelu(x: str) -> str:
        # 0.5 * x * (1 + erf(x / sqrt(2))), in the order onnxruntime's GELU fusion looks for.
        erf = g.op("Erf", [g.op("Div", [x, g.const("sqrt2", np.array(math.sqrt(2.0), np.float32))])])
        plus_one = g.op("Add", [erf, g.const("one", np.array(1.0, np.float32))])
        return g.op("Mul", [g.op("Mul", [x, plus_one]), g.const("half", np.array(0.5, np.float32))])

    # Embeddings: word + position + token type 0 (one segment), then LayerNorm.
    word = g.op("Gather", [g.const("word_embeddings", w["embeddings.word_embeddings.weight"]), INPUT_IDS], axis=0)
    tokens = g.op("Gather", [g.op("Shape", [INPUT_IDS]), g.const("one_i", np.array(1, np.int64))], axis=0)
    positions = g.op("Range", [g.const("zero_i", np.array(0, np.int64)), tokens,
                               g.const("step_i", np.array(1, np.int64))])
    position = g.op("Gather", [g.const("position_embeddings", w["embeddings.position_embeddings.weight"]),
                               positions], axis=0)
    token_type = g.const("token_type_0", w["embeddings.token_type_embeddings.weight"][0])
    x = layer_norm(g.op("Add", [g.op("Add", [word, position]), token_type]), "embeddings.LayerNorm.")

    # [batch, 1, 1, tokens]: 0 where a token is real, PADDING_SCORE where it is padding.
    mask = g.op("Cast", [ATTENTION_MASK], to=TensorProto.FLOAT)
    padding = g.op("Sub", [g.const("one", np.array(1.0, np.float32)), mask])
    score_bias = g.op("Unsqueeze", [g.op("Mul", [padding, g.const("padding_score", np.array(PADDING_SCORE,
                                                                                           np.float32))]),
                                    g.const("axes_1_2", np.array([1, 2], np.int64))])
    split_heads = g.const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    merge_heads = g.const("merge_heads", np.array([0, 0, hidden], np.int64))
    scale = g.const("scale", np.array(1.0 / math.sqrt(head_dim), np.float32))

    for i in range(layers):
        p = f"encoder.layer.{i}."
        q = g.op("Transpose", [g.op("Reshape", [dense(x, p + "attention.self.query."), split_heads])],
                 perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [dense(x, p + "attention.self.key."), split_heads])],
                 perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [dense(x, p + "attention.self.value."), split_heads])],
                 perm=[0, 2, 1, 3])
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, k]), scale]), score_bias])
        attention = g.op("Softmax", [scores], axis=-1)
        context = g.op("Reshape", [g.op("Transpose", [g.op("MatMul", [attention, v])], perm=[0, 2, 1, 3]),
                                   merge_heads])
        x = layer_norm(g.op("Add", [x, dense(context, p + "attention.output.dense.")]),
                       p + "attention.output.LayerNorm.")
        inner = gelu(dense(x, p + "intermediate.dense."))
        x = layer_norm(g.op("Add", [x, dense(inner, p + "output.dense.")]), p + "output.LayerNorm.")

    # Mean over real tokens only, then unit length (sentence-transformers' Pooling and Normalize).
    summed = g.op("ReduceSum", [g.op("Mul", [x, g.op("Unsqueeze", [mask, g.const("axis_2", np.array([2],
                                                                                                  np.int64))])]),
                                g.const("axis_1", np.array([1], np.int64))], keepdims=0)
    counts = g.op("Max", [g.op("ReduceSum", [mask, g.const("axis_1", np.array([1], np.int64))], keepdims=1),
                          g.const("one", np.array(1.0, np.float32))])
    pooled = g.op("Div", [summed, counts])
    norm = g.op("Max", [g.op("ReduceL2", [pooled], axes=[1], keepdims=1),
                        g.const("tiny", np.array(1e-12, np.float32))])
    g.nodes.append(helper.make_node("Div", [pooled, norm], [OUTPUT], name=OUTPUT))

    graph = helper.make_graph(
        g.nodes, "sentence_encoder",
        inputs=[helper.make_tensor_value_info(INPUT_IDS, TensorProto.INT64, ["batch", "tokens"]),
                helper.make_tensor_value_info(ATTENTION_MASK, TensorProto.INT64, ["batch", "tokens"])],
        outputs=[helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", hidden])],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="repairs_encoder")
    onnx.checker.check_model(model)
    return model
