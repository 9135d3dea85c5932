"""Stand-ins for the fast test lane (`make test-fast`, tests marked `unit`): a deterministic fake
embedder with the interface of `assistant.embedding.Embedder`.

The fake embedder hashes the words of a text into a fixed-size vector and normalises it, so texts
that share words are close and identical texts get identical vectors – in every process, on every
machine (blake2b, not Python's salted `hash()`). It knows nothing about meaning: use it where a test
needs *some* vectors of the right shape (a service that must exist, an index to write), never to
assert what the real model would rank first.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Sequence

import numpy as np

FAKE_DIMENSION = 64
_WORD = re.compile(r"\w+")


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _WORD.findall(folded)


def fake_vector(text: str, dimension: int = FAKE_DIMENSION) -> np.ndarray:
    """Unit vector of `text`: each word adds ±1 to the slot its blake2b digest names. A text
    without words gets the first axis (the real model never returns a zero vector either)."""
    vector = np.zeros(dimension, dtype=np.float32)
    for word in _words(text):
        digest = hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest()
        slot = int.from_bytes(digest[:4], "big") % dimension
        vector[slot] += 1.0 if digest[4] & 1 else -1.0
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        vector[0] = 1.0
        return vector
    return (vector / norm).astype(np.float32)


class FakeEmbedder:
    """Drop-in for `assistant.embedding.Embedder` (the methods and attribute the code under test
    uses: `dimension`, `embed_query`, `embed_queries`, `embed_documents`, and the encoder-process
    hooks `start_query_encoder` / `wait_query_encoder`, which have nothing to start here).
    Questions and documents share one vector space, as with the real model's two prompts.
    `calls` counts texts encoded per method, so a test can check the embedder was (not) used."""

    def __init__(self, dimension: int = FAKE_DIMENSION):
        self.dimension = dimension
        self.calls: dict[str, int] = {"query": 0, "queries": 0, "documents": 0}

    def _matrix(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([fake_vector(t, self.dimension) for t in texts])

    def start_query_encoder(self) -> None:
        pass

    def wait_query_encoder(self) -> None:
        pass

    def embed_query(self, text: str) -> np.ndarray:
        self.calls["query"] += 1
        return fake_vector(text, self.dimension)

    def embed_queries(self, texts: Sequence[str], batch_size: int = 32, show_progress: bool = False) -> np.ndarray:
        self.calls["queries"] += len(texts)
        return self._matrix(list(texts))

    def embed_documents(
        self,
        texts: Sequence[str],
        batch_size: int = 16,
        show_progress: bool = False,
        precision: str | None = None,
    ) -> np.ndarray:
        self.calls["documents"] += len(texts)
        return self._matrix(list(texts))

