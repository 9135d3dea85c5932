"""The rankers that retrieval fuses, each ordering passages of the open index by one signal:
dense (Chroma), best sentence, best stored question, BM25 keywords, and the prior (the passages
a question names by catalogue entry or phase)."""

from __future__ import annotations

import re

import numpy as np

from assistant.corpus import Catalogue
from assistant.frames.lexicon import Lexicon
from assistant.index import OpenIndex
from assistant.retrieval.query import Filters, expand_everyday_german, expand_for_keywords, normalize_query
from assistant.settings import Settings


def top(scores: dict[str, float], index: OpenIndex, filters: Filters, pool: int) -> list[str]:
    """The passage ids of `scores`, best first, that pass `filters`: at most `pool` of them."""
    ranked = sorted(scores, key=lambda cid: -scores[cid])
    return [cid for cid in ranked if cid in index.chunks and filters.accepts(index.chunks[cid])][:pool]


def dense(index: OpenIndex, vector: np.ndarray, pool: int, filters: Filters) -> list[str]:
    """Passages nearest to the question's vector in the vector store (filtered there by metadata)."""
    from llama_index.core.vector_stores.types import VectorStoreQuery

    result = index.vector_store.query(
        VectorStoreQuery(
            query_embedding=vector.tolist(),
            similarity_top_k=min(pool, len(index.order)),
            filters=filters.as_llama_filters(),
        )
    )
    return [i for i in (result.ids or []) if i in index.chunks]


class BestCosine:
    """Many stored vectors per passage (its sentences, or its stored questions): for a question, the
    cosine of each passage's best-matching one."""

    def __init__(self, owners: list[str], matrix: np.ndarray):
        self.owners = owners
        self.matrix = matrix

    @classmethod
    def of_sentences(cls, index: OpenIndex) -> "BestCosine":
        owners = [chunk_id for chunk_id, sentences in index.sentences.items() for _ in sentences]
        vectors = [vector for sentences in index.sentences.values() for _, vector in sentences]
        return cls(owners, np.stack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32))

    def best(self, query_vector: np.ndarray) -> dict[str, float]:
        best: dict[str, float] = {}
        if not len(self.owners):
            return best
        for owner, sim in zip(self.owners, (self.matrix @ query_vector).tolist()):
            if sim > best.get(owner, -2.0):
                best[owner] = sim
        return best


class KeywordRanker:
    """German BM25 over the passages, through the index's `Bm25Index` adapter."""

    def __init__(self, index: OpenIndex, settings: Settings):
        self.index = index
        self.settings = settings

    def split_compounds(self, query: str) -> str:
        """German compounds the index does not know as a whole get their known parts appended
        ("Pilotphasenkriterien" → "+ Pilotphase Kriterien"), so keyword search can meet them."""
        known = self.index.bm25.knows
        extra: list[str] = []
        for word in re.findall(r"[a-zäöüß]{9,}", query.lower()):
            if known(word):
                continue
            for i in range(4, len(word) - 3):
                left, right = word[:i], word[i:]
                for head in (left, left[:-1] if left.endswith("s") else None, left[:-1] if left.endswith("n") else None):
                    if head and len(head) >= 4 and known(head) and known(right):
                        extra += [head, right]
                        break
                else:
                    continue
                break
        return " ".join([query, *extra]) if extra else query

    def scores(self, query: str) -> dict[str, float]:
        """BM25 score of every passage the (normalised, expanded) question matches by keyword."""
        text = normalize_query(expand_for_keywords(query))
        if self.settings.bm25_everyday_terms:
            text = expand_everyday_german(text)
        if self.settings.bm25_compound_split:
            text = self.split_compounds(text)
        return {cid: score for cid, score in self.index.bm25.scores(text).items() if cid in self.index.chunks}


class PriorRanker:
    """The passages a question points at by name, ranked by the other rankings."""

    def __init__(self, index: OpenIndex, catalogue: Catalogue):
        self.index = index
        self.catalogue = catalogue
        self.lexicon = Lexicon(catalogue)

    def linked_chunks(self, query: str) -> set[str]:
        """Chunks the question points at by name: catalogue entries it names (a criterion, a good
        practice, a driver, a phase) and the dossier passages that mention those entries."""
        query = expand_for_keywords(query)  # English questions name entries by their German names too
        named = set(self.catalogue.find_in_text(query, ("criterion", "good_practice")))
        phases = self.lexicon.link(query).of("phase")
        phase = phases[0] if len(phases) == 1 else None
        linked: set[str] = set()
        for chunk in self.index.chunks.values():
            if chunk.ref_id and chunk.ref_id in named:
                linked.add(chunk.id)
            elif named & set(chunk.criteria + chunk.good_practices) and chunk.source != "catalogue":
                linked.add(chunk.id)
            elif phase and chunk.kind == "phase" and chunk.ref_id == phase:
                linked.add(chunk.id)
        return linked

    def rank(self, query: str, rankings: dict[str, tuple[list[str], float]], filters: Filters) -> list[str]:
        """A further ranking for the fusion: the linked chunks, in the order the other rankings give them."""
        linked = {cid for cid in self.linked_chunks(query) if filters.accepts(self.index.chunks[cid])}
        if not linked:
            return []
        best: dict[str, int] = {}
        for ids, _ in rankings.values():
            for rank, cid in enumerate(ids, 1):
                if cid in linked:
                    best[cid] = min(best.get(cid, rank), rank)
        return sorted(linked, key=lambda cid: (best.get(cid, 10_000), cid))
