"""Query adapter: a linear map of question embeddings towards the passages they ask about.

Learned at index build from the stored questions (`corpus/questions`, each with its passage):
full-batch gradient descent on a softmax (InfoNCE) loss over all passages, starting from the
identity and pulled back towards it (`Settings.query_adapter_*`). No randomness: the same stored
questions and passage vectors give the same matrix. It is written into the build
(`layout.ADAPTER`, never into git) and its sha256 into the manifest (`adapter_sha256`).

Retrieval multiplies the question's embedding by it before the passage and sentence cosines; the
stored-question ranker, the answer engine and the refusal calibration keep the plain embedding.
Measured in stop 30 (docs/benchmarks.md): retrieval dev MRR@10 .892 -> .913 and better R@1 on the
two tuning pools in everyday wording. Fine-tuning the query side of the model on the same pairs
(last 2 or 4 layers, stop 34) was measured and was weaker than this matrix on four of five sets.
"""

from __future__ import annotations

import hashlib

import numpy as np

from assistant.settings import Settings


def train_adapter(
    question_vectors: np.ndarray, question_owners: list[str], passage_ids: list[str], passage_vectors: np.ndarray, settings: Settings
) -> np.ndarray | None:
    """The adapter matrix (d × d, float32), or None when off or without stored questions."""
    column = {pid: i for i, pid in enumerate(passage_ids)}
    rows = [i for i, owner in enumerate(question_owners) if owner in column]
    if not settings.query_adapter or not rows or settings.query_adapter_steps <= 0:
        return None
    questions = _unit(question_vectors[rows].astype(np.float32))
    passages = _unit(passage_vectors.astype(np.float32))
    target = np.array([column[question_owners[i]] for i in rows])
    identity = np.eye(questions.shape[1], dtype=np.float32)
    weights = identity.copy()
    tau, rate, pull = settings.query_adapter_temperature, settings.query_adapter_rate, settings.query_adapter_lambda
    for _ in range(settings.query_adapter_steps):
        mapped = questions @ weights.T
        norms = np.linalg.norm(mapped, axis=1, keepdims=True)
        unit = mapped / norms
        logits = unit @ passages.T / tau
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        probs[np.arange(len(target)), target] -= 1.0  # d loss / d logits
        d_unit = probs @ passages / (tau * len(target))
        d_mapped = (d_unit - unit * (d_unit * unit).sum(axis=1, keepdims=True)) / norms
        weights -= rate * (d_mapped.T @ questions + pull * (weights - identity))
    return weights


def adapt(adapter: np.ndarray | None, vector: np.ndarray) -> np.ndarray:
    """The question vector as retrieval compares it with passages (unit length)."""
    if adapter is None:
        return vector
    mapped = adapter @ vector
    return (mapped / np.linalg.norm(mapped)).astype(np.float32)


def sha256_of(adapter: np.ndarray | None) -> str | None:
    return None if adapter is None else hashlib.sha256(np.ascontiguousarray(adapter).tobytes()).hexdigest()


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
