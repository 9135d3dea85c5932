"""The query adapter (assistant/index/adapter.py) on small made-up vectors, without the model."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.index.adapter import adapt, sha256_of, train_adapter
from assistant.settings import Settings

pytestmark = pytest.mark.unit


def _data():
    rng = np.random.default_rng(7)
    passages = rng.standard_normal((6, 16)).astype(np.float32)
    owners = [f"p{i % 6}" for i in range(36)]
    # questions: their passage's direction, blurred, plus a shared "question style" offset
    style = rng.standard_normal(16).astype(np.float32)
    questions = np.stack([passages[i % 6] + 1.5 * rng.standard_normal(16) + 2.0 * style for i in range(36)]).astype(np.float32)
    return questions, owners, [f"p{i}" for i in range(6)], passages


def _top1(adapter, questions, owners, ids, passages):
    unit = passages / np.linalg.norm(passages, axis=1, keepdims=True)
    hits = [ids[int(np.argmax(unit @ adapt(adapter, q / np.linalg.norm(q))))] == o for q, o in zip(questions, owners)]
    return sum(hits) / len(hits)


def test_the_adapter_brings_stored_questions_closer_to_their_passages_and_is_deterministic():
    questions, owners, ids, passages = _data()
    settings = Settings(query_adapter_steps=200)
    first = train_adapter(questions, owners, ids, passages, settings)
    again = train_adapter(questions, owners, ids, passages, settings)
    assert first is not None and first.shape == (16, 16) and first.dtype == np.float32
    assert sha256_of(first) == sha256_of(again)  # no randomness: the same inputs, the same matrix
    assert _top1(first, questions, owners, ids, passages) > _top1(None, questions, owners, ids, passages)


def test_no_adapter_when_off_or_without_stored_questions():
    questions, owners, ids, passages = _data()
    assert train_adapter(questions, owners, ids, passages, Settings(query_adapter=False)) is None
    assert train_adapter(questions, ["op:define"] * len(owners), ids, passages, Settings()) is None  # operation examples only
    vector = np.ones(16, dtype=np.float32) / 4
    assert adapt(None, vector) is vector and sha256_of(None) is None
