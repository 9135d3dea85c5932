"""HybridRetriever: runs the rankers for a question and fuses them (see `fusion.FUSIONS`)."""

from __future__ import annotations

from assistant.corpus import Catalogue
from assistant.embedding import Embedder
from assistant.index import OpenIndex
from assistant.index.adapter import adapt
from assistant.retrieval import rankers
from assistant.retrieval.fusion import FUSIONS, Evidence, Rankings
from assistant.retrieval.query import Filters
from assistant.schema import Passage
from assistant.settings import Settings


class HybridRetriever:
    def __init__(self, index: OpenIndex, embedder: Embedder, settings: Settings, catalogue: Catalogue | None = None):
        self.index = index
        self.catalogue = catalogue
        self.embedder = embedder
        self.settings = settings
        self.keywords = rankers.KeywordRanker(index, settings)
        self._sentences: rankers.BestCosine | None = None  # built on first use (or by warm_up)
        # stored questions per passage (corpus/questions): owners and one matrix
        self._questions = rankers.BestCosine(*index.passage_questions)
        self.prior_ranker = rankers.PriorRanker(index, catalogue) if catalogue is not None else None
        # the query adapter of the build (assistant.index.adapter), for passage and sentence cosines
        self.adapter = index.query_adapter if settings.query_adapter else None

    def passage_vector(self, query: str):
        """The question's embedding as compared with passages and sentences (through the adapter)."""
        return adapt(self.adapter, self.embedder.embed_query(query))

    def warm_up(self) -> None:
        """Build the sentence matrix now rather than on the first question."""
        self._sentence_cosines()

    def _sentence_cosines(self) -> rankers.BestCosine:
        if self._sentences is None:
            self._sentences = rankers.BestCosine.of_sentences(self.index)
        return self._sentences

    def best_sentence_similarity(self, query: str) -> dict[str, float]:
        """For every chunk, the cosine similarity of its best-matching sentence to the question."""
        return self._sentence_cosines().best(self.passage_vector(query))

    def best_question_similarity(self, query: str) -> dict[str, float]:
        """For every passage with stored questions, the cosine of its best-matching question."""
        if not len(self._questions.owners):
            return {}
        return self._questions.best(self.embedder.embed_query(query))

    def sentence_level(self, query: str, pool: int, filters: Filters) -> list[str]:
        """Chunks ranked by their single best-matching sentence: a precise question often matches
        one sentence far better than the whole passage around it."""
        return rankers.top(self.best_sentence_similarity(query), self.index, filters, pool)

    def dense(self, query: str, pool: int, filters: Filters) -> list[str]:
        return rankers.dense(self.index, self.passage_vector(query), pool, filters)

    def sparse(self, query: str, pool: int, filters: Filters, scores: dict[str, float] | None = None) -> list[str]:
        scores = self.keywords.scores(query) if scores is None else scores
        return rankers.top(scores, self.index, filters, pool)

    def linked_chunks(self, query: str) -> set[str]:
        assert self.prior_ranker is not None
        return self.prior_ranker.linked_chunks(query)

    def retrieve(self, query: str, top_k: int | None = None, filters: Filters | None = None) -> list[Passage]:
        """The `top_k` best passages for the question, fused as `Settings.fusion` says."""
        filters = filters or Filters()
        top_k = top_k or self.settings.top_k
        evidence = self.evidence(query, max(self.settings.candidate_pool, top_k), filters)
        return FUSIONS[self.settings.fusion](evidence, self.index, self.embedder, self.settings)[:top_k]

    def evidence(self, query: str, pool: int, filters: Filters) -> Evidence:
        """Run every ranker for the question (the question ranker only when it has a weight)."""
        cfg = self.settings
        vector = self.passage_vector(query)  # once per question: dense, sentence and fusion cosines
        bm25 = self.keywords.scores(query)
        sentence_best = self._sentence_cosines().best(vector)
        question_best = self.best_question_similarity(query) if cfg.question_weight > 0 else {}
        rankings: Rankings = {
            "dense": (rankers.dense(self.index, vector, pool, filters), cfg.dense_weight),
            "sparse": (rankers.top(bm25, self.index, filters, pool), cfg.sparse_weight),
            "sentence": (rankers.top(sentence_best, self.index, filters, pool), cfg.sentence_weight),
        }
        if question_best:
            rankings["question"] = (rankers.top(question_best, self.index, filters, pool), cfg.question_weight)
        if self.prior_ranker is not None:
            rankings["prior"] = (self.prior_ranker.rank(query, rankings, filters), cfg.prior_weight)
        return Evidence(query, rankings, bm25, sentence_best, question_best, vector)
