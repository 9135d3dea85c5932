"""The German keyword index (BM25): an adapter around llama-index's BM25Retriever and bm25s.

Only this module knows how they store their stemmer, token pattern, vocabulary and corpus; the
rest of the code writes a `Bm25Index` with `write()`, opens it with `Bm25Index.load()` and asks it
for `scores()` and `knows()`.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

BM25_LANGUAGE = "german"
RETRIEVER_FILE = "retriever.json"  # written by BM25Retriever.persist(); its presence marks a complete folder


def german_stemmer():
    import Stemmer

    return Stemmer.Stemmer(BM25_LANGUAGE)


def write(folder: Path, nodes) -> None:
    """Persist a BM25 index over the passage nodes (German stemming and stop words) into `folder`."""
    from llama_index.retrievers.bm25 import BM25Retriever

    retriever = BM25Retriever.from_defaults(
        nodes=nodes, stemmer=german_stemmer(), language=BM25_LANGUAGE, similarity_top_k=len(nodes)
    )
    folder.mkdir(parents=True, exist_ok=True)
    retriever.persist(str(folder))


class Bm25Index:
    """A persisted BM25 index, opened for scoring."""

    def __init__(self, retriever):
        self._retriever = retriever
        self._lock = threading.Lock()  # bm25s keeps per-call state on the retriever object
        self._ids: list[str] | None = None
        self._vocab = getattr(retriever.bm25, "vocab_dict", None) or {}
        stemmer = retriever.stemmer
        self._stem = stemmer.stemWord if stemmer is not None else (lambda word: word)

    @classmethod
    def load(cls, folder: Path) -> "Bm25Index":
        import bm25s
        from llama_index.retrievers.bm25 import BM25Retriever

        # from_persist_dir() forgets the stemmer (it falls back to English); pass ours explicitly.
        existing = bm25s.BM25.load(str(folder), load_corpus=True)
        meta = json.loads((folder / RETRIEVER_FILE).read_text())
        retriever = BM25Retriever(
            existing_bm25=existing, stemmer=german_stemmer(), similarity_top_k=meta.get("similarity_top_k", 10)
        )
        return cls(retriever)

    def knows(self, word: str) -> bool:
        """Is the (stemmed) word in the index's vocabulary?"""
        return self._stem(word) in self._vocab

    def scores(self, text: str) -> dict[str, float]:
        """BM25 score of every passage id that `text` matches (score > 0). Scored through the bm25s
        model directly, with the retriever's own German stemmer and token pattern: the retriever's
        `retrieve()` rebuilds a llama-index node for every hit from JSON, which cost more than the
        search itself."""
        import bm25s

        retriever = self._retriever
        tokens = bm25s.tokenize(
            text,
            stemmer=retriever.stemmer,
            token_pattern=retriever.token_pattern,
            return_ids=False,
            show_progress=False,
        )[0]
        with self._lock:
            scores = retriever.bm25.get_scores(tokens) if tokens else []
        if self._ids is None:
            self._ids = [entry["node_id"] for entry in retriever.corpus]
        return {cid: float(score) for cid, score in zip(self._ids, scores) if score > 0}
