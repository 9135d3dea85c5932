"""Retrieval: hybrid search over the open index — dense (Chroma), sentence-level cosine and German
BM25, fused by a weighted sum of scores (default, `ASSISTANT_FUSION=score`) or by weighted reciprocal
rank fusion (`rrf`), with optional filters on phase, source and kind.

Returns `Passage`s (chunk + fused score), best first.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from dataclasses import dataclass

from assistant.corpus import Catalogue
from assistant.embedding import Embedder
from assistant.frames.lexicon import Lexicon
from assistant.language import detect_language
from assistant.index import OpenIndex
from assistant.schema import Passage
from assistant.settings import Settings

_GENDER_FORMS = re.compile(r"(\w+?)(?:\*|:|_|/|\u00b7)(innen|in)\b", re.IGNORECASE)


_TERMS_FILE = Path(__file__).parent / "data" / "en_de_terms.tsv"
_ASKS_CATALOGUE = re.compile(r"katalog|catalogue|catalog|kriteri|criteri|meilenstein|milestone|treiber|driver|mechanism", re.I)
_ASKS_SOURCES = re.compile(r"literatur|quelle|publikation|veröffentlichung|zitiert|reference|source|publication|cited", re.I)


@lru_cache(maxsize=1)
def _english_terms() -> list[tuple[re.Pattern, str]]:
    pairs = []
    for line in _TERMS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, german = line.split("\t", 1)
            pairs.append((re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), german.strip()))
    return pairs


def expand_for_keywords(query: str) -> str:
    """BM25 only matches German words: an English question gets the German terms of the study
    appended (from a hand-made glossary), so keyword search can help it too."""
    if detect_language(query) != "en":
        return query
    extra = [german for pattern, german in _english_terms() if pattern.search(query)]
    return " ".join([query, *extra])


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
    def __init__(self, index: OpenIndex, embedder: Embedder, settings: Settings, catalogue: Catalogue | None = None):
        self.index = index
        self.catalogue = catalogue
        self.embedder = embedder
        self.settings = settings
        self._sentence_owner = None
        self._sentence_vectors = None
        self.lexicon = Lexicon(catalogue) if catalogue is not None else None
        # stored questions per passage (corpus/questions): owners and one matrix
        owners, self._question_vectors = index.passage_questions
        self._question_owner = np.array(owners)

    def best_question_similarity(self, query: str) -> dict[str, float]:
        """For every passage with stored questions, the cosine of its best-matching question."""
        best: dict[str, float] = {}
        if not len(self._question_owner):
            return best
        sims = self._question_vectors @ self.embedder.embed_query(query)
        for owner, sim in zip(self._question_owner.tolist(), sims.tolist()):
            if sim > best.get(owner, -2.0):
                best[owner] = sim
        return best

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

    def best_sentence_similarity(self, query: str) -> dict[str, float]:
        """For every chunk, the cosine similarity of its best-matching sentence to the question."""
        owners, matrix = self._sentence_matrix()
        best: dict[str, float] = {}
        if not len(owners):
            return best
        sims = matrix @ self.embedder.embed_query(query)
        for owner, sim in zip(owners.tolist(), sims.tolist()):
            if sim > best.get(owner, -2.0):
                best[owner] = sim
        return best

    def sentence_level(self, query: str, pool: int, filters: Filters) -> list[str]:
        """Chunks ranked by their single best-matching sentence: a precise question often matches
        one sentence far better than the whole passage around it."""
        best = self.best_sentence_similarity(query)
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

    def bm25_scores(self, query: str) -> dict[str, float]:
        """BM25 score of every chunk the (normalised, expanded) question matches by keyword."""
        text = normalize_query(expand_for_keywords(query))
        if self.settings.bm25_compound_split:
            text = self.split_compounds(text)
        return {cid: score for cid, score in self.index.bm25.scores(text).items() if cid in self.index.chunks}

    def sparse(self, query: str, pool: int, filters: Filters, scores: dict[str, float] | None = None) -> list[str]:
        scores = self.bm25_scores(query) if scores is None else scores
        ranked = sorted(scores, key=lambda cid: -scores[cid])
        return [cid for cid in ranked if filters.accepts(self.index.chunks[cid])][:pool]

    def retrieve(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        filters = filters or Filters()
        top_k = top_k or self.settings.top_k
        pool = max(self.settings.candidate_pool, top_k)
        cfg = self.settings
        bm25 = self.bm25_scores(query)
        sentence_best = self.best_sentence_similarity(query)
        sentence_ranked = sorted(sentence_best, key=lambda cid: -sentence_best[cid])
        question_best = self.best_question_similarity(query) if cfg.question_weight > 0 else {}
        question_ranked = sorted(question_best, key=lambda cid: -question_best[cid])
        rankings = {
            "dense": (self.dense(query, pool, filters), cfg.dense_weight),
            "sparse": (self.sparse(query, pool, filters, bm25), cfg.sparse_weight),
            "sentence": ([c for c in sentence_ranked if filters.accepts(self.index.chunks[c])][:pool], cfg.sentence_weight),
        }
        if question_best:
            rankings["question"] = ([c for c in question_ranked if filters.accepts(self.index.chunks[c])][:pool], cfg.question_weight)
        if self.catalogue is not None:
            rankings["prior"] = (self.prior(query, rankings, filters), cfg.prior_weight)
        if cfg.fusion == "rrf":
            return fuse(rankings, self.index, k=cfg.rrf_k)[:top_k]
        return self.score_fusion(query, rankings, bm25, sentence_best, question_best)[:top_k]

    def score_fusion(
        self, query: str, rankings, bm25: dict[str, float], sentence_best: dict[str, float], question_best: dict[str, float] | None = None
    ) -> list[Passage]:
        """Linear fusion of calibrated scores over the union of candidates:
        w_dense·cos(question, passage) + w_sentence·cos(question, best sentence)
        + w_sparse·BM25/max(BM25) + w_prior·[named by the question] − catalogue_penalty·[catalogue entry].
        Cosines are comparable across questions, so they fuse better than ranks alone (docs/benchmarks.md)."""
        cfg = self.settings
        query_vector = self.embedder.embed_query(query)
        # The catalogue is the primary source when the question asks about it by name.
        catalogue_penalty = 0.0 if _ASKS_CATALOGUE.search(query) else cfg.catalogue_penalty
        bibliography_unwanted = not _ASKS_SOURCES.search(query)
        top_bm25 = max(bm25.values(), default=0.0) or 1.0
        linked = set(rankings.get("prior", ([], 0))[0])
        ranks = {name: {cid: r for r, cid in enumerate(ids, 1)} for name, (ids, _) in rankings.items()}
        candidates = set().union(*(set(ids) for ids, _ in rankings.values()))
        scored = []
        for cid in candidates:
            chunk = self.index.chunks[cid]
            vector = self.index.vectors.get(cid)
            score = (
                cfg.dense_weight * (float(vector @ query_vector) if vector is not None else 0.0)
                + cfg.sentence_weight * sentence_best.get(cid, 0.0)
                + cfg.question_weight * max(0.0, (question_best or {}).get(cid, 0.0) - cfg.question_floor)
                + cfg.sparse_weight * bm25.get(cid, 0.0) / top_bm25
                + cfg.prior_weight * (cid in linked)
                - catalogue_penalty * (chunk.source == "catalogue")
                - cfg.bibliography_penalty * (bibliography_unwanted and chunk.section.startswith("Literatur"))
            )
            scored.append(
                Passage(
                    chunk=chunk,
                    score=score,
                    dense_rank=ranks["dense"].get(cid),
                    sparse_rank=ranks["sparse"].get(cid),
                    sentence_rank=ranks["sentence"].get(cid),
                    prior_rank=ranks.get("prior", {}).get(cid),
                )
            )
        position = {cid: i for i, cid in enumerate(self.index.order)}
        scored.sort(key=lambda p: (-p.score, position.get(p.chunk.id, 0)))
        return scored

    def linked_chunks(self, query: str) -> set[str]:
        """Chunks the question points at by name: catalogue entries it names (a criterion, a good
        practice, a driver, a phase) and the dossier passages that mention those entries."""
        assert self.catalogue is not None
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

    def prior(self, query: str, rankings: dict[str, tuple[list[str], float]], filters: Filters) -> list[str]:
        """A fourth ranking for the fusion: the linked chunks, in the order the other rankings give them."""
        linked = {cid for cid in self.linked_chunks(query) if filters.accepts(self.index.chunks[cid])}
        if not linked:
            return []
        best: dict[str, int] = {}
        for ids, _ in rankings.values():
            for rank, cid in enumerate(ids, 1):
                if cid in linked:
                    best[cid] = min(best.get(cid, rank), rank)
        return sorted(linked, key=lambda cid: (best.get(cid, 10_000), cid))


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
            prior_rank=ranks.get("prior", {}).get(cid),
        )
        for cid, score in ranked
    ]
