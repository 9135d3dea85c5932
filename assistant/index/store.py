"""Validate and open a build: read its manifest, check it against corpus, model, chunker and vector
store, and open its files for searching (`OpenIndex`). Every failure is an `IndexUnavailable`
whose German message and `.command` name the repair."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from assistant import chunking
from assistant.embedding import model_identity
from assistant.errors import (
    IndexUnavailable,
    chroma_unreachable,
    chroma_unreachable_on_open,
    collection_missing,
    index_needs_rebuild,
    no_index,
    vector_count_mismatch,
)
from assistant.index import chroma
from assistant.index.bm25 import RETRIEVER_FILE, Bm25Index
from assistant.index.layout import ADAPTER, BM25_DIR, CHROMA_DIR, CHUNKS, CURRENT, MANIFEST, QUERIES, REQUIRED, SENTENCES, VECTORS
from assistant.index.state import current_corpus_hash
from assistant.schema import Chunk, Manifest
from assistant.settings import Settings


def read_manifest(settings: Settings, build: Path | None = None) -> Manifest:
    """The manifest of the current build (or `build`); IndexUnavailable when there is none or it is damaged."""
    path = (build or settings.index_dir / CURRENT) / MANIFEST
    if not path.exists():
        raise no_index()
    try:
        return Manifest.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:  # pydantic's ValidationError is a ValueError
        raise index_needs_rebuild("Die Index-Beschreibung (manifest.json) ist beschädigt.") from exc


def validate_index(settings: Settings, corpus_sha256: str | None = None, build: Path | None = None) -> Manifest:
    """Raise IndexUnavailable unless the current build (or `build`) matches corpus, model and chunker."""
    build = build or settings.index_dir / CURRENT
    manifest = read_manifest(settings, build)
    expected_corpus = corpus_sha256 or current_corpus_hash(settings)
    _, model_hash = model_identity(settings)
    if manifest.corpus_sha256 != expected_corpus or manifest.chunker_version != chunking.CHUNKER_VERSION:
        raise index_needs_rebuild("Der Suchindex ist veraltet: Korpus oder Zerlegung haben sich geändert.", force=False)
    if manifest.model_sha256 != model_hash:
        raise index_needs_rebuild("Der Suchindex wurde mit einem anderen Embedding-Modell gebaut.")
    if (manifest.chroma_url or None) != (settings.chroma_url or None):
        raise index_needs_rebuild("Der Suchindex gehört zu einem anderen Vektorspeicher.")
    for required in REQUIRED:
        if not (build / required).exists():
            raise index_needs_rebuild(f"Der Suchindex ist unvollständig ({required} fehlt).")
    damaged = _damaged_file(build, settings)
    if damaged:
        raise index_needs_rebuild(f"Der Suchindex ist beschädigt ({damaged}).")
    return manifest


def _damaged_file(build: Path, settings: Settings) -> str | None:
    """Cheap integrity checks (file headers only, no parsing) so that `status` and a plain
    `build-index` notice a damaged build without opening it."""
    try:
        for name in (VECTORS, SENTENCES, QUERIES):
            if not zipfile.is_zipfile(build / name):
                return name
        if not (build / BM25_DIR / RETRIEVER_FILE).is_file():
            return f"{BM25_DIR}/{RETRIEVER_FILE}"
        if not settings.chroma_url:
            db = build / CHROMA_DIR / "chroma.sqlite3"
            with open(db, "rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    return f"{CHROMA_DIR}/chroma.sqlite3"
    except OSError as exc:
        return getattr(exc, "filename", None) or str(exc)
    return None


def check_vector_store(settings: Settings, manifest: Manifest) -> None:
    """For a Chroma server: raise IndexUnavailable unless it answers and holds the build's collection."""
    try:
        collection = chroma.chroma_client(settings, None).get_collection(manifest.collection)
        count = collection.count()
    except Exception as exc:
        if chroma.is_connection_error(exc):
            raise chroma_unreachable(settings.chroma_url) from exc
        raise collection_missing(manifest.collection, settings.chroma_url) from exc
    if count != manifest.chunks:
        raise vector_count_mismatch(count, manifest.chunks)


# ---------------------------------------------------------------------------------------------
# Open
# ---------------------------------------------------------------------------------------------


@dataclass
class OpenIndex:
    """A validated build, opened for searching."""

    manifest: Manifest
    path: Path
    chunks: dict[str, Chunk]
    order: list[str]  # chunk ids in corpus order
    vector_store: object  # llama-index ChromaVectorStore
    bm25: Bm25Index
    vectors: dict[str, np.ndarray]  # chunk id → document embedding (for relevance checks)
    sentences: dict[str, list[tuple[str, np.ndarray]]]  # chunk id → its sentences with embeddings
    query_owner: list[str]  # per stored question-side text: chunk id, or "op:<operation>"
    query_texts: list[str]
    query_vectors: np.ndarray
    query_adapter: np.ndarray | None = None  # assistant.index.adapter; None in builds without one
    # facts derived from this build (`derive`), computed on first use and kept while the index is open
    derived: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def derive(self, key: str, compute):
        """A fact derived from this build, `compute(self)`, computed once per opened index (a rebuilt
        index, opened anew, starts with none)."""
        if key not in self.derived:
            self.derived[key] = compute(self)
        return self.derived[key]

    @cached_property
    def passage_questions(self) -> tuple[list[str], np.ndarray]:
        """The stored questions that belong to a passage of this build (not the operation examples):
        their owners and one matrix of their vectors, computed once per opened index."""
        rows = [i for i, owner in enumerate(self.query_owner) if owner in self.chunks]
        vectors = self.query_vectors[rows] if rows else np.zeros((0, 1), dtype=np.float32)
        return [self.query_owner[i] for i in rows], vectors


def open_index(settings: Settings) -> OpenIndex:
    # Resolve `current` once: a build swapped in meanwhile must not mix its manifest with the old
    # build's files (the reader opens the old or the new build, never a bit of both).
    build = (settings.index_dir / CURRENT).resolve()
    manifest = validate_index(settings, build=build)
    try:
        return _load(settings, build, manifest)
    except IndexUnavailable:
        raise
    except Exception as exc:
        raise _open_failure(settings, manifest, exc) from exc


def _open_failure(settings: Settings, manifest: Manifest, exc: Exception) -> IndexUnavailable:
    """The German message for a build that validated but would not open."""
    if settings.chroma_url and chroma.is_connection_error(exc):
        return chroma_unreachable_on_open(settings.chroma_url)
    if settings.chroma_url and chroma.is_not_found(exc):
        return collection_missing(manifest.collection, settings.chroma_url)
    return index_needs_rebuild("Der Suchindex ist beschädigt und lässt sich nicht öffnen.")


def _load(settings: Settings, build: Path, manifest: Manifest) -> OpenIndex:
    """Read every file of a validated build (the vector store first: a server that is down fails fast)."""
    chunks = [Chunk.model_validate(c) for c in json.loads((build / CHUNKS).read_text(encoding="utf-8"))]
    vector_store = chroma.open_vector_store(settings, build / CHROMA_DIR, manifest.collection, manifest.chunks)
    bm25 = Bm25Index.load(build / BM25_DIR)
    stored = np.load(build / VECTORS)
    queries = np.load(build / QUERIES)
    return OpenIndex(
        manifest, build, {c.id: c for c in chunks}, [c.id for c in chunks], vector_store, bm25,
        vectors=dict(zip(stored["ids"].tolist(), stored["vectors"][: len(stored["ids"])])),
        sentences=_sentences(build),
        query_owner=queries["owner"].tolist(),
        query_texts=queries["texts"].tolist(),
        query_vectors=np.asarray(queries["vectors"], dtype=np.float32),
        query_adapter=np.load(build / ADAPTER) if (build / ADAPTER).exists() else None,
    )


def _sentences(build: Path) -> dict[str, list[tuple[str, np.ndarray]]]:
    """Chunk id → its sentences with their embeddings, in stored order."""
    stored = np.load(build / SENTENCES)
    sentences: dict[str, list[tuple[str, np.ndarray]]] = {}
    for owner, text, vector in zip(stored["owner"].tolist(), stored["texts"].tolist(), stored["vectors"]):
        sentences.setdefault(owner, []).append((text, vector))
    return sentences
