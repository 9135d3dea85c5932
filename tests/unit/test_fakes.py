"""The fake embedder of the fast lane (tests/fakes.py): the real embedder's interface, unit vectors,
and the same vector for the same text in every process."""

from __future__ import annotations

import inspect
import os
import sys

import numpy as np

from assistant.embedding import Embedder
from tests.conftest import ROOT
from tests.fakes import FAKE_DIMENSION, FakeEmbedder, fake_vector

TEXTS = ["Offene Schnittstellen im Masterportal", "Im Masterportal: offene Schnittstellen!", "Finanzierung der Pilotphase", ""]


def test_the_fake_has_the_real_embedders_methods_and_parameters():
    for name in ("embed_query", "embed_queries", "embed_documents"):
        real = inspect.signature(getattr(Embedder, name))
        fake = inspect.signature(getattr(FakeEmbedder, name))
        assert list(fake.parameters) == list(real.parameters), name
        assert [p.default for p in fake.parameters.values()] == [p.default for p in real.parameters.values()], name
    assert FakeEmbedder().dimension == FAKE_DIMENSION


def test_vectors_are_unit_float32_and_follow_the_words():
    embedder = FakeEmbedder()
    matrix = embedder.embed_documents(TEXTS)
    assert matrix.shape == (len(TEXTS), FAKE_DIMENSION) and matrix.dtype == np.float32
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-6)
    same_words, other_words = float(matrix[0] @ matrix[1]), float(matrix[0] @ matrix[2])
    assert same_words > 0.999 and other_words < 0.9
    assert np.array_equal(embedder.embed_query(TEXTS[0]), matrix[0])
    assert np.array_equal(embedder.embed_queries(TEXTS), matrix)
    assert np.array_equal(embedder.embed_documents(TEXTS, precision="bfloat16"), matrix)
    assert embedder.embed_documents([]).shape == (0, FAKE_DIMENSION)
    assert embedder.calls == {"query": 1, "queries": len(TEXTS), "documents": 2 * len(TEXTS)}


def test_vectors_are_the_same_in_every_process(netns):
    """No salted `hash()`: two processes with different hash seeds give this process's vectors."""
    script = (
        "import sys, numpy as np; from tests.fakes import fake_vector; "
        f"sys.stdout.write(np.stack([fake_vector(t) for t in {TEXTS!r}]).tobytes().hex())"
    )
    here = np.stack([fake_vector(t) for t in TEXTS]).tobytes().hex()
    for seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=seed, PYTHONPATH=str(ROOT))
        proc = netns.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == here
