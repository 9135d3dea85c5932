"""Fusion: one list of passages from several rankings. Chosen by `Settings.fusion` through
`FUSIONS`: "score" (the default) sums calibrated scores, "rrf" sums reciprocal ranks. Both build
their `Passage`s with `passage()`, which records each passage's rank in every ranking."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from assistant.embedding import Embedder
from assistant.index import OpenIndex
from assistant.schema import Chunk, Passage
from assistant.settings import Settings

Rankings = dict[str, tuple[list[str], float]]  # ranker name → (passage ids best first, weight)

_ASKS_CATALOGUE = re.compile(r"katalog|catalogue|catalog|kriteri|criteri|meilenstein|milestone|treiber|driver|mechanism", re.I)
_ASKS_SOURCES = re.compile(r"literatur|quelle|publikation|veröffentlichung|zitiert|reference|source|publication|cited", re.I)


@dataclass
class Evidence:
    """Everything the rankers found for one question: the rankings and the per-passage scores
    behind them (BM25, best sentence cosine, best stored-question cosine)."""

    query: str
    rankings: Rankings
    bm25: dict[str, float]
    sentence_best: dict[str, float]
    question_best: dict[str, float]
    vector: np.ndarray | None = None  # the question as compared with passages (HybridRetriever.passage_vector)


def ranks_of(rankings: Rankings) -> dict[str, dict[str, int]]:
    """Ranker name → passage id → its 1-based rank there."""
    return {name: {cid: r for r, cid in enumerate(ids, 1)} for name, (ids, _) in rankings.items()}


def passage(chunk: Chunk, score: float, ranks: dict[str, dict[str, int]]) -> Passage:
    """A fused passage with its rank in each ranking (None where a ranking did not list it)."""
    return Passage(
        chunk=chunk,
        score=score,
        dense_rank=ranks["dense"].get(chunk.id),
        sparse_rank=ranks["sparse"].get(chunk.id),
        sentence_rank=ranks.get("sentence", {}).get(chunk.id),
        prior_rank=ranks.get("prior", {}).get(chunk.id),
        question_rank=ranks.get("question", {}).get(chunk.id),
    )


def best_first(passages: list[Passage], index: OpenIndex) -> list[Passage]:
    """Highest score first; ties in corpus order."""
    position = {cid: i for i, cid in enumerate(index.order)}
    return sorted(passages, key=lambda p: (-p.score, position.get(p.chunk.id, 0)))


def rank_fusion(rankings: Rankings, index: OpenIndex, k: int) -> list[Passage]:
    """Weighted reciprocal rank fusion: score(d) = Σ weight / (k + rank of d in that ranking)."""
    ranks = ranks_of(rankings)
    scores: dict[str, float] = {}
    for name, (_, weight) in rankings.items():
        for cid, rank in ranks[name].items():
            scores[cid] = scores.get(cid, 0.0) + weight / (k + rank)
    return best_first([passage(index.chunks[cid], score, ranks) for cid, score in scores.items()], index)


def score_fusion(evidence: Evidence, index: OpenIndex, embedder: Embedder, cfg: Settings) -> list[Passage]:
    """Linear fusion of calibrated scores over the union of candidates:
    w_dense·cos(question, passage) + w_sentence·cos(question, best sentence)
    + w_sparse·BM25/max(BM25) + w_prior·[named by the question] − catalogue_penalty·[catalogue entry].
    Cosines are comparable across questions, so they fuse better than ranks alone (docs/benchmarks.md)."""
    query_vector = evidence.vector if evidence.vector is not None else embedder.embed_query(evidence.query)
    # The catalogue is the primary source when the question asks about it by name.
    catalogue_penalty = 0.0 if _ASKS_CATALOGUE.search(evidence.query) else cfg.catalogue_penalty
    bibliography_unwanted = not _ASKS_SOURCES.search(evidence.query)
    top_bm25 = max(evidence.bm25.values(), default=0.0) or 1.0
    linked = set(evidence.rankings.get("prior", ([], 0))[0])
    ranks = ranks_of(evidence.rankings)
    candidates = set().union(*(set(ids) for ids, _ in evidence.rankings.values()))
    scored = []
    for cid in candidates:
        chunk = index.chunks[cid]
        vector = index.vectors.get(cid)
        score = (
            cfg.dense_weight * (float(vector @ query_vector) if vector is not None else 0.0)
            + cfg.sentence_weight * evidence.sentence_best.get(cid, 0.0)
            + cfg.question_weight * max(0.0, evidence.question_best.get(cid, 0.0) - cfg.question_floor)
            + cfg.sparse_weight * evidence.bm25.get(cid, 0.0) / top_bm25
            + cfg.prior_weight * (cid in linked)
            - catalogue_penalty * (chunk.source == "catalogue")
            - cfg.bibliography_penalty * (bibliography_unwanted and chunk.section.startswith("Literatur"))
        )
        scored.append(passage(chunk, score, ranks))
    return best_first(scored, index)


def blend(joint: list[Passage], own: list[Passage], weight: float) -> list[Passage]:
    """Two searches for one follow-up as one list: a passage's score is its fused score for the
    follow-up with the earlier turn (`joint`) plus `weight` × its score for the follow-up's own words
    (`own`). A passage one search did not return counts with that search's lowest score. As long as
    `joint`."""
    def scores(found: list[Passage]) -> tuple[dict[str, float], float]:
        return {p.chunk.id: p.score for p in found}, min((p.score for p in found), default=0.0)

    (in_joint, joint_floor), (in_own, own_floor) = scores(joint), scores(own)
    by_id = {p.chunk.id: p for p in own} | {p.chunk.id: p for p in joint}
    score = {cid: in_joint.get(cid, joint_floor) + weight * in_own.get(cid, own_floor) for cid in by_id}
    best = sorted(by_id, key=lambda cid: -score[cid])[: len(joint)]
    return [by_id[cid].model_copy(update={"score": score[cid]}) for cid in best]


def _rrf(evidence: Evidence, index: OpenIndex, embedder: Embedder, cfg: Settings) -> list[Passage]:
    return rank_fusion(evidence.rankings, index, k=cfg.rrf_k)


# Settings.fusion → how the rankings become one list.
FUSIONS: dict[str, Callable[[Evidence, OpenIndex, Embedder, Settings], list[Passage]]] = {
    "score": score_fusion,
    "rrf": _rrf,
}
