"""Which catalogue criteria a question matches, whatever retrieval returned: each criterion's
passage cosine plus the cosine of its best stored question (corpus/questions). Used by explanations
(which criterion an answer opens with) and by refusal (a how-to question that matches a criterion
well is in scope)."""

from __future__ import annotations

import numpy as np

from assistant.retrieval.rankers import BestCosine


def _criterion_vectors(index) -> tuple[list[str], list[str], np.ndarray, BestCosine]:
    """The catalogue criteria's entry ids and chunk ids, their passage vectors, and their stored
    questions (best cosine per criterion)."""
    chunks = [c for cid in index.order if (c := index.chunks[cid]).source == "catalogue" and c.kind == "criterion"
              and c.ref_id and cid in index.vectors]
    wanted = {c.id for c in chunks}
    owners, vectors = index.passage_questions
    rows = [i for i, owner in enumerate(owners) if owner in wanted]
    passages = np.stack([index.vectors[c.id] for c in chunks]) if chunks else np.zeros((0, 1), dtype=np.float32)
    return [c.ref_id for c in chunks], [c.id for c in chunks], passages, BestCosine([owners[i] for i in rows], vectors[rows])


def criterion_scores(index, vector: np.ndarray) -> list[tuple[str, float]]:
    """All catalogue criteria as (entry id, score), best match first."""
    ids, chunk_ids, passages, questions = index.derive("criterion_vectors", _criterion_vectors)
    if not ids:
        return []
    best_question = questions.best(vector)
    scores = passages @ vector + np.array([max(0.0, best_question.get(cid, 0.0)) for cid in chunk_ids], dtype=np.float32)
    return [(ids[int(i)], float(scores[int(i)])) for i in np.argsort(-scores)]
