"""Retrieval: hybrid search over the open index — dense (Chroma) and German BM25, fused by
weighted reciprocal rank fusion, with optional filters on phase, source and kind.

Returns `Passage`s (chunk + fused score), best first.
"""

from __future__ import annotations

import re
import threading

import numpy as np
from dataclasses import dataclass

from assistant.embedding import Embedder
from assistant.index import OpenIndex
from assistant.schema import Passage
from assistant.settings import Settings

_GENDER_FORMS = re.compile(r"(\w+?)(?:\*|:|_|/|\u00b7)(innen|in)\b", re.IGNORECASE)


def normalize_query(query: str) -> str:
    """Make a question match the dossier's wording: gender forms are spelt out both ways
    ("Bürger*innen" → "Bürgerinnen Bürger") and control characters are dropped."""
    query = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in query)
    query = _GENDER_FORMS.sub(lambda m: f"{m.group(1)}{m.group(2)} {m.group(1)}", query)
    return re.sub(r"\s+", " ", query).strip()


@dataclass(frozen=True)
class Filters:
    phase: str | None = None
    source: str | None = None
    kind: str | None = None

    def accepts(self, chunk) -> bool:
        return (
            (self.phase is None or chunk.phase == self.phase)
            and (self.source is None or chunk.source == self.source)
            and (self.kind is None or chunk.kind == self.kind)
        )

    def as_llama_filters(self):
        from llama_index.core.vector_stores.types import ExactMatchFilter, MetadataFilters

        pairs = [("phase", self.phase), ("source", self.source), ("kind", self.kind)]
        active = [ExactMatchFilter(key=k, value=v) for k, v in pairs if v]
        return MetadataFilters(filters=active) if active else None


class HybridRetriever:
    def __init__(self, index: OpenIndex, embedder: Embedder, settings: Settings):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._bm25_lock = threading.Lock()  # bm25s keeps per-call state on the retriever object
        self._sentence_owner = None
        self._sentence_vectors = None

    def _sentence_matrix(self):
        """All sentence embeddings as one matrix (built lazily, once per open index)."""
        if self._sentence_owner is None:
            owners, vectors = [], []
            for chunk_id, sentences in self.index.sentences.items():
                for _, vector in sentences:
                    owners.append(chunk_id)
                    vectors.append(vector)
            self._sentence_owner = np.array(owners)
            self._sentence_vectors = np.stack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)
        return self._sentence_owner, self._sentence_vectors

    def sentence_level(self, query: str, pool: int, filters: Filters) -> list[str]:
        """Chunks ranked by their single best-matching sentence: a precise question often matches
        one sentence far better than the whole passage around it."""
        owners, matrix = self._sentence_matrix()
        if not len(owners):
            return []
        sims = matrix @ self.embedder.embed_query(query)
        best: dict[str, float] = {}
        for owner, sim in zip(owners.tolist(), sims.tolist()):
            if sim > best.get(owner, -2.0):
                best[owner] = sim
        ranked = sorted(best, key=lambda cid: -best[cid])
        return [cid for cid in ranked if cid in self.index.chunks and filters.accepts(self.index.chunks[cid])][:pool]

    def dense(self, query: str, pool: int, filters: Filters) -> list[str]:
        from llama_index.core.vector_stores.types import VectorStoreQuery

        vector = self.embedder.embed_query(query)
        result = self.index.vector_store.query(
            VectorStoreQuery(
                query_embedding=vector.tolist(),
                similarity_top_k=min(pool, len(self.index.order)),
                filters=filters.as_llama_filters(),
            )
        )
        return [i for i in (result.ids or []) if i in self.index.chunks]

    def sparse(self, query: str, pool: int, filters: Filters) -> list[str]:
        with self._bm25_lock:
            hits = self.index.bm25.retrieve(normalize_query(query))
        ids = []
        for hit in hits:
            if hit.score <= 0:
                continue
            chunk = self.index.chunks.get(hit.node.node_id)
            if chunk is not None and filters.accepts(chunk):
                ids.append(chunk.id)
            if len(ids) >= pool:
                break
        return ids

    def retrieve(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        filters = filters or Filters()
        top_k = top_k or self.settings.top_k
        pool = max(self.settings.candidate_pool, top_k)
        rankings = {
            "dense": (self.dense(query, pool, filters), self.settings.dense_weight),
            "sparse": (self.sparse(query, pool, filters), self.settings.sparse_weight),
        }
        if self.settings.sentence_weight > 0:
            rankings["sentence"] = (self.sentence_level(query, pool, filters), self.settings.sentence_weight)
        return fuse(rankings, self.index, k=self.settings.rrf_k)[:top_k]


def fuse(rankings: dict[str, tuple[list[str], float]], index: OpenIndex, k: int) -> list[Passage]:
    """Weighted reciprocal rank fusion: score(d) = Σ weight / (k + rank of d in that ranking)."""
    scores: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name, (ids, weight) in rankings.items():
        ranks[name] = {cid: r for r, cid in enumerate(ids, 1)}
        for cid, rank in ranks[name].items():
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    position = {cid: i for i, cid in enumerate(index.order)}
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], position.get(kv[0], 0)))
    return [
        Passage(
            chunk=index.chunks[cid],
            score=score,
            dense_rank=ranks["dense"].get(cid),
            sparse_rank=ranks["sparse"].get(cid),
            sentence_rank=ranks.get("sentence", {}).get(cid),
        )
        for cid, score in ranked
    ]
