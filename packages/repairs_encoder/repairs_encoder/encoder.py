"""all-MiniLM-L6-v2 sentence embeddings on onnxruntime.

The model's own `tokenizer.json` (the `tokenizers` library) turns texts into token ids; the graph built at
build time (graph.py, `make encoder`) runs BERT, mean pooling and L2 normalisation in one onnxruntime call.
Nothing is downloaded or built at run time: a missing graph is an error that says to run `make encoder`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from repairs_encoder.model_files import (
    DEFAULT_CACHE_DIR,
    DEFAULT_PRECISION,
    GraphMissingError,
    default_model_dir,
    graph_path,
)

MAX_TOKENS = 128  # residents' messages are short; longer ones are truncated as in sentence-transformers
BATCH_SIZE = 32
OUTPUT_NAME = "sentence_embedding"


def session_options(threads: int) -> ort.SessionOptions:
    """One intra-op thread by default: we scale by running more processes (Rasa replicas, workers), each
    encoding one short message per request, where extra threads buy little (a 10-token message is a few small
    matrix products) and cost a lot: onnxruntime's pool would start one spinning thread per core in every
    process, and on a shared machine those threads fight the other replicas for the same cores. Large batches
    (training, evaluation) may pass more threads; spinning stays off so idle threads sleep."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: its warnings are about fusions it chose not to make
    return options


class SentenceEncoder:
    """Texts to L2-normalised float32 vectors, [n, dim]; `dim` is 384 for all-MiniLM-L6-v2."""

    def __init__(self, model_dir: Path | None = None, cache_dir: Path | None = None, threads: int = 1,
                 precision: str | None = None) -> None:
        model_dir = Path(model_dir or default_model_dir())
        self.precision = precision or DEFAULT_PRECISION
        graph = graph_path(model_dir, Path(cache_dir or DEFAULT_CACHE_DIR), self.precision)
        if not graph.is_file():
            raise GraphMissingError(
                f"no {self.precision} encoder graph for the weights in {model_dir} at {graph}: build it with "
                f"`make encoder` (python -m repairs_encoder.build --model-dir {model_dir})")
        self.session = ort.InferenceSession(str(graph), sess_options=session_options(threads),
                                            providers=["CPUExecutionProvider"])
        self.dim = int(self.session.get_outputs()[0].shape[1])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.tokenizer.no_padding()

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """One vector per text. fp32: texts are batched by similar length, so a batch carries little padding and
        a few larger runs replace many small ones. int8: one text per run unless told otherwise, because the
        quantized graph scales its activations per run, so a text's vector would depend on its batch's other
        texts (padding included: cosine as low as 0.92 to the same text alone), and training, which encodes in
        batches, would then see other vectors than serving, which encodes one message at a time."""
        if batch_size is None:
            batch_size = 1 if self.precision == "int8" else BATCH_SIZE
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        encoded = [e.ids for e in self.tokenizer.encode_batch([t or "" for t in texts])]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        out = np.zeros((len(texts), self.dim), np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._run([encoded[i] for i in chunk])
        return out

    def _run(self, batch: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        (vectors,) = self.session.run([OUTPUT_NAME], {"input_ids": ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)


def shared_encoder(model_dir: Path | None = None, cache_dir: Path | None = None,
                   precision: str | None = None) -> SentenceEncoder:
    """One loaded encoder per process, set of weights and precision, however many parts use it (the Rasa
    featurizer, the dissatisfaction detector's sentences): it is read-only, and each copy would hold the graph in
    memory again."""
    return _shared(model_dir, cache_dir, precision or DEFAULT_PRECISION)


@lru_cache(maxsize=4)
def _shared(model_dir: Path | None, cache_dir: Path | None, precision: str) -> SentenceEncoder:
    # Keyed by position with the precision resolved, so shared_encoder() and shared_encoder(None, None, "int8")
    # (the default) are the same one.
    return SentenceEncoder(model_dir, cache_dir, precision=precision)
