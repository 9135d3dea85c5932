"""Retrieval: hybrid search over the open index — dense (Chroma) and German BM25, fused by
weighted reciprocal rank fusion, with optional filters on phase, source and kind.

Returns `Passage`s (chunk + fused score), best first.
"""

from __future__ import annotations

import re
import threading
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
        dense_ids = self.dense(query, pool, filters)
        sparse_ids = self.sparse(query, pool, filters)
        return fuse(
            dense_ids,
            sparse_ids,
            self.index,
            k=self.settings.rrf_k,
            dense_weight=self.settings.dense_weight,
            sparse_weight=self.settings.sparse_weight,
        )[:top_k]


def fuse(dense_ids: list[str], sparse_ids: list[str], index: OpenIndex, k: int, dense_weight: float, sparse_weight: float) -> list[Passage]:
    """Weighted reciprocal rank fusion of two rankings."""
    scores: dict[str, float] = {}
    dense_rank = {cid: r for r, cid in enumerate(dense_ids, 1)}
    sparse_rank = {cid: r for r, cid in enumerate(sparse_ids, 1)}
    for cid, rank in dense_rank.items():
        scores[cid] = scores.get(cid, 0.0) + dense_weight / (k + rank)
    for cid, rank in sparse_rank.items():
        scores[cid] = scores.get(cid, 0.0) + sparse_weight / (k + rank)
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], index.order.index(kv[0])))
    return [
        Passage(chunk=index.chunks[cid], score=score, dense_rank=dense_rank.get(cid), sparse_rank=sparse_rank.get(cid))
        for cid, score in ranked
    ]
