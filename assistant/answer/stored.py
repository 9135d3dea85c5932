"""Stored questions with their recorded answer sentences (corpus/questions): when a user's question
is very close to a stored one, the sentences recorded for it are where the answer starts."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from assistant.index import OpenIndex
from assistant.questions import load_question_bank, resolve_bank
from assistant.settings import Settings


@dataclass(frozen=True)
class StoredMatch:
    similarity: float
    chunk_id: str
    question: str
    answer: tuple[str, ...]  # verbatim sentence(s) of the passage


class StoredAnswers:
    def __init__(self, index: OpenIndex, settings: Settings):
        resolved = resolve_bank(load_question_bank(settings.corpus_dir), list(index.chunks.values()))
        answers = {(q.chunk_id, q.text): tuple(q.answer) for q in resolved}
        rows = [i for i, owner in enumerate(index.query_owner) if (owner, index.query_texts[i]) in answers]
        self._rows = [(index.query_owner[i], index.query_texts[i]) for i in rows]
        self._answers = answers
        self._vectors = index.query_vectors[rows] if rows else np.zeros((0, 1), dtype=np.float32)

    def best(self, vector: np.ndarray, chunk_ids: set[str] | None = None) -> StoredMatch | None:
        """The closest stored question (optionally among the given passages)."""
        if not self._rows:
            return None
        sims = self._vectors @ vector
        for i in np.argsort(-sims):
            owner, text = self._rows[int(i)]
            if chunk_ids is None or owner in chunk_ids:
                return StoredMatch(float(sims[i]), owner, text, self._answers[(owner, text)])
        return None


def positions(sentences: list[str], recorded: tuple[str, ...]) -> list[int]:
    """Indexes of the passage's sentences that the recorded answer covers."""
    def norm(text: str) -> str:
        return re.sub(r"\s+", " ", text).strip()

    wanted = [norm(r) for r in recorded]
    return [i for i, s in enumerate(sentences) if any(norm(s) in w or w in norm(s) for w in wanted)]
