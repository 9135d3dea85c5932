"""Index: build, validate and open the persisted search index (Chroma vectors + German BM25).

Layout under `index/`:
    current -> builds/<stamp>      symlink, swapped atomically after a successful build
    builds/<stamp>/manifest.json   corpus hash, model id + weights hash, chunker version, counts, time
    builds/<stamp>/chunks.json     every Chunk with its metadata (the source of truth for citations)
    builds/<stamp>/vectors.npz     every embedding keyed by text hash, reused by the next build
    builds/<stamp>/sentences.npz   sentence embeddings per chunk (sentence-level retrieval, quotes)
    builds/<stamp>/queries.npz     question-side texts: stored questions per passage (corpus/questions)
                                   and the operation examples (assistant/data), embedded as questions
    builds/<stamp>/chroma/         Chroma PersistentClient (or a collection on a Chroma server)
    builds/<stamp>/bm25/           llama-index BM25Retriever (bm25s) with German stemming + stop words

A build writes into a temporary folder and only then flips `current`; a failed or killed build
leaves the previous index answering. Readers that opened the old build keep using it until they
reload.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from assistant import chunking
from assistant.corpus import Catalogue, corpus_hash, find_dossier, load_dossier
from assistant.embedding import Embedder, model_identity, shared_embedder
from assistant.errors import (
    BUILD_INDEX,
    BUILD_INDEX_FORCE,
    IndexBuildError,
    IndexUnavailable,
    ModelMissingError,
    chroma_unreachable,
    chroma_unreachable_on_build,
    chroma_unreachable_on_open,
    collection_missing,
    index_needs_rebuild,
    no_index,
    vector_count_mismatch,
)
from assistant.schema import Chunk
from assistant.settings import Settings

MANIFEST = "manifest.json"
CHUNKS = "chunks.json"
VECTORS = "vectors.npz"
SENTENCES = "sentences.npz"
QUERIES = "queries.npz"
OPERATION_OWNER = "op:"  # owner prefix of operation examples in queries.npz (else: a chunk id)
BUILD_LOCK = ".build.lock"
CHROMA_BATCH = 2000  # vectors per Chroma add (below Chroma's own limit)
BM25_LANGUAGE = "german"
COLLECTION_PREFIX = "roadmap_lotse"


log = logging.getLogger(__name__)


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


# chromadb's per-path client registry (SharedSystemClient) is not thread-safe: two threads opening
# the same folder at once could both start a system and one of them fail with a KeyError. Opening
# and closing clients in this process goes through one lock.
_CHROMA_LOCK = threading.RLock()


def chroma_client(settings: Settings, path: Path | None):
    with _CHROMA_LOCK:
        return _chroma_client(settings, path)


def close_client(client) -> None:
    with _CHROMA_LOCK:
        client.close()


def _chroma_client(settings: Settings, path: Path | None):
    import chromadb

    if settings.chroma_url:
        from urllib.parse import urlparse

        url = urlparse(settings.chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or 8000,
            ssl=url.scheme == "https",
            settings=_chroma_settings(),
        )
    assert path is not None
    return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())


def german_stemmer():
    import Stemmer

    return Stemmer.Stemmer(BM25_LANGUAGE)


# ---------------------------------------------------------------------------------------------
# Corpus state: what the index should contain right now
# ---------------------------------------------------------------------------------------------


@dataclass
class CorpusState:
    chunks: list[Chunk]
    corpus_hash: str
    catalogue: Catalogue
    queries: list[tuple[str, str]]  # (owner, text): stored questions of passages, operation examples


def _query_texts_fingerprint(settings: Settings) -> str:
    """Hash of the question-side texts (question bank and operation examples): part of the corpus hash."""
    from assistant.frames.operations import BANK_FILE
    from assistant.questions import load_question_bank

    bank = load_question_bank(settings.corpus_dir)
    return hashlib.sha256((bank.fingerprint + hashlib.sha256(BANK_FILE.read_bytes()).hexdigest()).encode()).hexdigest()


def load_corpus_chunks(settings: Settings) -> CorpusState:
    from assistant import userdocs  # local import: optional formats pull in pypdf/docx lazily
    from assistant.frames.operations import load_bank
    from assistant.questions import load_question_bank, resolve_bank

    catalogue = Catalogue.load(settings.catalogue_path)
    dossier = load_dossier(find_dossier(settings.dossier_dir))
    user = userdocs.load_user_chunks(settings, catalogue)
    chunks = chunking.build_chunks(dossier, catalogue) + user.chunks
    stored = resolve_bank(load_question_bank(settings.corpus_dir), chunks)
    queries = [(q.chunk_id, q.text) for q in stored] + [(OPERATION_OWNER + op.value, text) for text, op in load_bank()]
    extra = user.fingerprint + chunking.CHUNKER_VERSION + _query_texts_fingerprint(settings)
    return CorpusState(chunks=chunks, corpus_hash=corpus_hash(dossier, catalogue, extra=extra), catalogue=catalogue, queries=queries)


def current_corpus_hash(settings: Settings) -> str:
    """Cheap fingerprint of the corpus files, used to detect a stale index without chunking."""
    from assistant import userdocs

    catalogue = Catalogue.load(settings.catalogue_path)
    dossier_path = find_dossier(settings.dossier_dir)
    h = hashlib.sha256()
    h.update(hashlib.sha256(dossier_path.read_bytes()).hexdigest().encode())
    h.update(catalogue.content_hash.encode())
    h.update((userdocs.fingerprint(settings) + chunking.CHUNKER_VERSION + _query_texts_fingerprint(settings)).encode())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def _text_key(chunk: Chunk) -> str:
    return hashlib.sha256(chunk.text_for_embedding().encode("utf-8")).hexdigest()


def _previous_vectors(settings: Settings, model_hash: str) -> dict[str, np.ndarray]:
    """Embeddings of the current build keyed by text hash, if made with the same model."""
    try:
        build = settings.index_dir / "current"
        manifest = json.loads((build / MANIFEST).read_text())
        if manifest.get("model_sha256") != model_hash:
            return {}
        data = np.load(build / VECTORS)
        return dict(zip(data["keys"].tolist(), data["vectors"]))
    except Exception:  # no usable previous build: embed everything
        return {}


def _embed_or_reuse(keys: list[str], texts: list[str], reuse: dict[str, np.ndarray], dimension: int, embed) -> np.ndarray:
    """Vectors for `texts`: taken from `reuse` by key where possible, the rest from `embed(texts)`."""
    vectors = np.zeros((len(texts), dimension), dtype=np.float32)
    todo = [i for i, key in enumerate(keys) if key not in reuse]
    if todo:
        for i, vector in zip(todo, embed([texts[i] for i in todo])):
            vectors[i] = vector
    for i, key in enumerate(keys):
        if key in reuse:
            vectors[i] = reuse[key]
    return vectors


def _nodes_for(chunks: list[Chunk], vectors: np.ndarray):
    from llama_index.core.schema import TextNode

    nodes = []
    for chunk, vector in zip(chunks, vectors):
        metadata = {
            "source": chunk.source,
            "kind": chunk.kind,
            "phase": chunk.phase or "",
            "file": chunk.file or "",
        }
        node = TextNode(
            id_=chunk.id,
            text=chunk.text_for_embedding(),
            metadata=metadata,
            embedding=vector.tolist(),
            excluded_embed_metadata_keys=list(metadata),
            excluded_llm_metadata_keys=list(metadata),
        )
        nodes.append(node)
    return nodes


def build_index(
    settings: Settings,
    embedder: Embedder | None = None,
    progress: Callable[[str], None] = print,
    show_bar: bool = True,
    force: bool = False,
) -> dict:
    """Build a fresh index and swap it in atomically. Returns the new manifest.

    Only one build runs per index folder at a time (an flock on `index/.build.lock`, released by
    the kernel even when the builder is killed). Raises `IndexBuildError` (German message naming
    the fix; the previous index is untouched and keeps answering) when the folder is read-only,
    the disk is full, another build is running or the vector store refuses the data, and
    `ModelMissingError` when the embedding model is missing or fails its checksum."""
    try:
        with _build_lock(settings):
            return _build(settings, embedder, progress, show_bar, force)
    except (IndexBuildError, ModelMissingError):
        raise
    except Exception as exc:
        raise build_error(settings, exc) from exc


class _BuildLock:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.fd: int | None = None

    def __enter__(self):
        index_dir = self.settings.index_dir
        try:  # creating the lock file doubles as the write-access probe, before the model loads
            index_dir.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(index_dir / BUILD_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise build_error(self.settings, exc) from exc
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise IndexBuildError(
                f"Ein anderer Indexbau läuft gerade in {index_dir}. Der bisherige Index beantwortet weiter Fragen. "
                f"Bitte warten, bis er fertig ist, und dann erneut ausführen: {BUILD_INDEX}"
            ) from None
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock
            self.fd = None
        return False


def _build_lock(settings: Settings) -> _BuildLock:
    return _BuildLock(settings)


def _exception_chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_connection_error(exc: BaseException) -> bool:
    """True when `exc` (or its cause) says a server could not be reached."""
    for item in _exception_chain(exc):
        if isinstance(item, (ConnectionError, TimeoutError)):
            return True
        name = type(item).__module__ + "." + type(item).__name__
        if name.startswith("httpx.") and any(k in name for k in ("Connect", "Timeout", "Network", "Remote", "Transport")):
            return True
        if "could not connect to a chroma server" in str(item).lower():
            return True
    return False


def build_error(settings: Settings, exc: BaseException) -> IndexBuildError:
    """Translate a build failure into a German message that names the repairing command."""
    where = settings.index_dir
    keep = "Der bisherige Index bleibt unverändert und beantwortet weiter Fragen."
    codes = {getattr(e, "errno", None) for e in _exception_chain(exc)}
    text = " ".join(str(e) for e in _exception_chain(exc)).lower()
    if codes & {errno.ENOSPC, errno.EDQUOT} or "no space left" in text or "disk is full" in text:
        return IndexBuildError(
            f"Kein freier Speicherplatz unter {where}: Der Index konnte nicht gebaut werden. {keep} "
            f"Bitte Speicher freigeben und dann erneut ausführen: {BUILD_INDEX_FORCE}",
            errno.ENOSPC,
            command=BUILD_INDEX_FORCE,
        )
    if codes & {errno.EROFS, errno.EACCES, errno.EPERM} or "readonly database" in text or "read-only file system" in text:
        return IndexBuildError(
            f"Das Indexverzeichnis {where} ist schreibgeschützt: Dort kann kein Index gebaut werden. {keep} "
            f"Bitte mit Schreibrechten auf {where} (oder mit ASSISTANT_INDEX_DIR auf einem beschreibbaren "
            f"Verzeichnis) erneut ausführen: {BUILD_INDEX}",
            errno.EROFS,
        )
    if settings.chroma_url and is_connection_error(exc):
        return chroma_unreachable_on_build(settings.chroma_url, keep)
    detail = f"{type(exc).__name__}: {exc}"
    if len(detail) > 300:
        detail = detail[:300] + " …"
    return IndexBuildError(
        f"Der Index konnte nicht gebaut werden ({detail}). {keep} Bitte erneut ausführen: {BUILD_INDEX_FORCE}",
        getattr(exc, "errno", None),
        command=BUILD_INDEX_FORCE,
    )


def _build(
    settings: Settings,
    embedder: Embedder | None,
    progress: Callable[[str], None],
    show_bar: bool,
    force: bool,
) -> dict:
    started = time.perf_counter()
    index_dir = settings.index_dir
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_builds(settings, builds)  # safe: we hold the build lock

    state = load_corpus_chunks(settings)
    model_id, model_hash = model_identity(settings)
    if not force:
        try:
            manifest = validate_index(settings, state.corpus_hash)
            progress("Index ist aktuell; nichts zu tun (mit --force neu bauen).")
            return manifest
        except IndexUnavailable:
            pass
    # What can be reused (same model, same text) is known before the model is needed; a rebuild
    # that only drops or reorders text (e.g. `assistant remove`) never loads the model.
    reuse = _previous_vectors(settings, model_hash)
    keys = [_text_key(c) for c in state.chunks]
    sentence_owner, sentence_texts = [], []
    for chunk in state.chunks:
        for sentence in chunking.chunk_sentences(chunk):
            sentence_owner.append(chunk.id)
            sentence_texts.append(sentence)
    sentence_keys = [hashlib.sha256(("s:" + t).encode("utf-8")).hexdigest() for t in sentence_texts]
    query_owner = [owner for owner, _ in state.queries]
    query_texts = [text for _, text in state.queries]
    # stored questions are encoded like user questions, so their key includes the query precision
    query_keys = [hashlib.sha256((f"q:{settings.query_precision}:" + t).encode("utf-8")).hexdigest() for t in query_texts]
    todo = [k for k in keys + sentence_keys + query_keys if k not in reuse]
    if embedder is None and (todo or not reuse):
        embedder = shared_embedder(settings)
    dimension = int(embedder.dimension) if embedder is not None else len(next(iter(reuse.values())))

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    tmp = builds / f".{stamp}.tmp"
    collection_name = _collection_name(stamp)
    tmp.mkdir()
    try:
        # passages as documents, sentences as documents, stored questions as questions
        plan = (
            ("Abschnitte", keys, [c.text_for_embedding() for c in state.chunks],
             lambda texts: embedder.embed_documents(texts, show_progress=show_bar)),
            ("Sätze", sentence_keys, sentence_texts,
             lambda texts: embedder.embed_documents(texts, batch_size=32, show_progress=show_bar)),
            ("gespeicherte Fragen", query_keys, query_texts,
             lambda texts: embedder.embed_queries(texts, batch_size=32, show_progress=show_bar)),
        )
        embedded = []
        for label, stage_keys, texts, embed in plan:
            fresh = sum(1 for k in stage_keys if k not in reuse)
            progress(f"{len(texts)} {label}, davon {fresh} neu einzubetten …")
            embedded.append(_embed_or_reuse(stage_keys, texts, reuse, dimension, embed))
        vectors, sentence_vectors, query_vectors = embedded

        nodes = _nodes_for(state.chunks, vectors)
        _write_vector_store(settings, tmp, collection_name, nodes)
        _write_bm25(tmp / "bm25", nodes)
        (tmp / CHUNKS).write_text(
            json.dumps([c.model_dump(mode="json") for c in state.chunks], ensure_ascii=False), encoding="utf-8"
        )
        np.savez(
            tmp / VECTORS,
            ids=np.array([c.id for c in state.chunks]),
            keys=np.array(keys + sentence_keys + query_keys),
            vectors=np.concatenate([vectors, sentence_vectors, query_vectors]),
        )
        np.savez(tmp / SENTENCES, owner=np.array(sentence_owner), texts=np.array(sentence_texts), vectors=sentence_vectors)
        np.savez(tmp / QUERIES, owner=np.array(query_owner), texts=np.array(query_texts), vectors=query_vectors)
        counts: dict[str, int] = {}
        for c in state.chunks:
            counts[f"{c.source}:{c.kind}"] = counts.get(f"{c.source}:{c.kind}", 0) + 1
        named, total = state.catalogue.coverage
        manifest = {
            "format": 1,
            "corpus_sha256": state.corpus_hash,
            "model_id": model_id,
            "model_sha256": model_hash,
            "embedding_dim": dimension,
            "chunker_version": chunking.CHUNKER_VERSION,
            "chunks": len(state.chunks),
            "counts": counts,
            "sentences": len(sentence_texts),
            "stored_questions": sum(1 for o in query_owner if not o.startswith(OPERATION_OWNER)),
            "operation_examples": sum(1 for o in query_owner if o.startswith(OPERATION_OWNER)),
            "embedded_new": len(todo),
            "reused_embeddings": len(keys) + len(sentence_keys) + len(query_keys) - len(todo),
            "catalogue_criteria": named,
            "study_criteria": total,
            "collection": collection_name,
            "chroma_url": settings.chroma_url or None,
            "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": round(time.perf_counter() - started, 2),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
        final = builds / stamp
        os.replace(tmp, final)
        _swap_current(index_dir, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if settings.chroma_url:
            _delete_collection(settings, collection_name)
        raise
    _prune_old_builds(settings, keep={final.name})
    progress(f"Index gebaut in {manifest['build_seconds']} s: {len(state.chunks)} Abschnitte.")
    return manifest


def _write_vector_store(settings: Settings, folder: Path, collection_name: str, nodes) -> None:
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chroma_client(settings, folder / "chroma")
    try:
        collection = client.get_or_create_collection(collection_name, metadata={"hnsw:space": "cosine"})
        store = ChromaVectorStore(chroma_collection=collection)
        # Chroma refuses a single add of more than its max batch size (5,461 here): a corpus with
        # many user documents would otherwise never index.
        try:
            limit = int(client.get_max_batch_size())
        except Exception:
            limit = CHROMA_BATCH
        batch = max(1, min(CHROMA_BATCH, limit))
        for start in range(0, len(nodes), batch):
            store.add(nodes[start : start + batch])
    finally:
        # Release the SQLite/HNSW files now: the folder is renamed (success) or deleted (failure),
        # and a deleted file still held open keeps its disk space – fatal when the disk is full.
        close_client(client)


def _write_bm25(folder: Path, nodes) -> None:
    from llama_index.retrievers.bm25 import BM25Retriever

    retriever = BM25Retriever.from_defaults(
        nodes=nodes, stemmer=german_stemmer(), language=BM25_LANGUAGE, similarity_top_k=len(nodes)
    )
    folder.mkdir(parents=True, exist_ok=True)
    retriever.persist(str(folder))


def _swap_current(index_dir: Path, build: Path) -> None:
    link = index_dir / "current"
    tmp_link = index_dir / ".current.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(Path("builds") / build.name, tmp_link)
    os.replace(tmp_link, link)  # atomic on POSIX: readers see the old or the new build, never none


def _collection_name(stamp: str) -> str:
    return f"{COLLECTION_PREFIX}_{stamp}".lower()


def _delete_collection(settings: Settings, name: str) -> None:
    try:
        chroma_client(settings, None).delete_collection(name)
    except Exception:  # already gone, or the server is down: nothing else to clean up
        pass


def _remove_stale_temp_builds(settings: Settings, builds: Path) -> None:
    """Remove what a killed build left behind: its temp folder and, on a Chroma server, its
    half-written collection (named after the same stamp, so other deployments are not touched)."""
    for tmp in builds.glob(".*.tmp"):
        if settings.chroma_url:
            _delete_collection(settings, _collection_name(tmp.name[1 : -len(".tmp")]))
        shutil.rmtree(tmp, ignore_errors=True)


def _prune_old_builds(settings: Settings, keep: set[str]) -> None:
    """Keep the new build and the one before it (a reader may still have it open)."""
    builds = settings.index_dir / "builds"
    existing = sorted(p for p in builds.iterdir() if p.is_dir() and not p.name.startswith("."))
    survivors = set(keep) | {p.name for p in existing[-2:]}
    for build in existing:
        if build.name not in survivors:
            if settings.chroma_url:
                try:
                    manifest = json.loads((build / MANIFEST).read_text())
                except (OSError, ValueError):
                    manifest = {}
                if manifest.get("collection") and manifest.get("chroma_url") == settings.chroma_url:
                    _delete_collection(settings, manifest["collection"])
            shutil.rmtree(build, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Validate and open
# ---------------------------------------------------------------------------------------------


def read_manifest(settings: Settings, build: Path | None = None) -> dict:
    path = (build or settings.index_dir / "current") / MANIFEST
    if not path.exists():
        raise no_index()
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or "corpus_sha256" not in manifest:
            raise ValueError("incomplete manifest")
        return manifest
    except (ValueError, OSError) as exc:
        raise index_needs_rebuild("Die Index-Beschreibung (manifest.json) ist beschädigt.") from exc


def validate_index(settings: Settings, corpus_sha256: str | None = None, build: Path | None = None) -> dict:
    """Raise IndexUnavailable unless the current build (or `build`) matches corpus, model and chunker."""
    build = build or settings.index_dir / "current"
    manifest = read_manifest(settings, build)
    expected_corpus = corpus_sha256 or current_corpus_hash(settings)
    _, model_hash = model_identity(settings)
    if manifest.get("corpus_sha256") != expected_corpus or manifest.get("chunker_version") != chunking.CHUNKER_VERSION:
        raise index_needs_rebuild("Der Suchindex ist veraltet: Korpus oder Zerlegung haben sich geändert.", force=False)
    if manifest.get("model_sha256") != model_hash:
        raise index_needs_rebuild("Der Suchindex wurde mit einem anderen Embedding-Modell gebaut.")
    if (manifest.get("chroma_url") or None) != (settings.chroma_url or None):
        raise index_needs_rebuild("Der Suchindex gehört zu einem anderen Vektorspeicher.")
    for required in (CHUNKS, VECTORS, SENTENCES, QUERIES, "bm25"):
        if not (build / required).exists():
            raise index_needs_rebuild(f"Der Suchindex ist unvollständig ({required} fehlt).")
    damaged = _damaged_file(build, settings)
    if damaged:
        raise index_needs_rebuild(f"Der Suchindex ist beschädigt ({damaged}).")
    return manifest


def _damaged_file(build: Path, settings: Settings) -> str | None:
    """Cheap integrity checks (file headers only, no parsing) so that `status` and a plain
    `build-index` notice a damaged build without opening it."""
    import zipfile

    try:
        for name in (VECTORS, SENTENCES, QUERIES):
            if not zipfile.is_zipfile(build / name):
                return name
        if not (build / "bm25" / "retriever.json").is_file():
            return "bm25/retriever.json"
        if not settings.chroma_url:
            db = build / "chroma" / "chroma.sqlite3"
            with open(db, "rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    return "chroma/chroma.sqlite3"
    except OSError as exc:
        return getattr(exc, "filename", None) or str(exc)
    return None


@dataclass
class OpenIndex:
    """A validated build, opened for searching."""

    manifest: dict
    path: Path
    chunks: dict[str, Chunk]
    order: list[str]  # chunk ids in corpus order
    vector_store: object  # llama-index ChromaVectorStore
    bm25: object  # llama-index BM25Retriever
    vectors: dict[str, np.ndarray]  # chunk id → document embedding (for relevance checks)
    sentences: dict[str, list[tuple[str, np.ndarray]]]  # chunk id → its sentences with embeddings
    query_owner: list[str]  # per stored question-side text: chunk id, or "op:<operation>"
    query_texts: list[str]
    query_vectors: np.ndarray

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
    build = (settings.index_dir / "current").resolve()
    manifest = validate_index(settings, build=build)
    try:
        raw_chunks = json.loads((build / CHUNKS).read_text(encoding="utf-8"))
        chunks = [Chunk.model_validate(c) for c in raw_chunks]
        vector_store = _open_vector_store(settings, build, manifest)
        bm25 = _open_bm25(build / "bm25")
        stored = np.load(build / VECTORS)
        vectors = dict(zip(stored["ids"].tolist(), stored["vectors"][: len(stored["ids"])]))
        stored_sentences = np.load(build / SENTENCES)
        sentences: dict[str, list[tuple[str, np.ndarray]]] = {}
        for owner, text, vector in zip(
            stored_sentences["owner"].tolist(), stored_sentences["texts"].tolist(), stored_sentences["vectors"]
        ):
            sentences.setdefault(owner, []).append((text, vector))
        stored_queries = np.load(build / QUERIES)
        query_owner = stored_queries["owner"].tolist()
        query_texts = stored_queries["texts"].tolist()
        query_vectors = np.asarray(stored_queries["vectors"], dtype=np.float32)
    except IndexUnavailable:
        raise
    except Exception as exc:
        if settings.chroma_url and is_connection_error(exc):
            raise chroma_unreachable_on_open(settings.chroma_url) from exc
        if settings.chroma_url and _is_not_found(exc):
            raise collection_missing(manifest.get("collection"), settings.chroma_url) from exc
        raise index_needs_rebuild("Der Suchindex ist beschädigt und lässt sich nicht öffnen.") from exc
    return OpenIndex(
        manifest=manifest,
        path=build,
        chunks={c.id: c for c in chunks},
        order=[c.id for c in chunks],
        vector_store=vector_store,
        bm25=bm25,
        vectors=vectors,
        sentences=sentences,
        query_owner=query_owner,
        query_texts=query_texts,
        query_vectors=query_vectors,
    )


def check_vector_store(settings: Settings, manifest: dict) -> None:
    """For a Chroma server: raise IndexUnavailable unless it answers and holds the build's collection."""
    try:
        collection = chroma_client(settings, None).get_collection(manifest["collection"])
        count = collection.count()
    except Exception as exc:
        if is_connection_error(exc):
            raise chroma_unreachable(settings.chroma_url) from exc
        raise collection_missing(manifest.get("collection"), settings.chroma_url) from exc
    if count != manifest.get("chunks"):
        raise vector_count_mismatch(count, manifest.get("chunks"))


def _is_not_found(exc: BaseException) -> bool:
    return any(
        type(e).__name__ == "NotFoundError" or "does not exist" in str(e).lower() for e in _exception_chain(exc)
    )


def _writable(folder: Path) -> bool:
    """Can this process write into `folder` and every file in it? (Chroma's SQLite needs to, even
    to read.) Checked by really creating a file: root ignores permission bits, a read-only mount
    does not."""
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".probe-")
    except OSError:
        return False
    os.close(fd)
    os.unlink(probe)
    return all(os.access(f, os.W_OK) for f in folder.rglob("*") if f.is_file())


_TEMP_COPIES: list[str] = []


def _cleanup_temp_copies() -> None:
    for folder in _TEMP_COPIES:
        shutil.rmtree(folder, ignore_errors=True)


def _readable_copy(folder: Path) -> Path:
    """A private, writable copy of a read-only Chroma folder in the temp directory (removed at exit)."""
    if not _TEMP_COPIES:
        atexit.register(_cleanup_temp_copies)
    target = Path(tempfile.mkdtemp(prefix="roadmap-lotse-chroma-")) / "chroma"
    _TEMP_COPIES.append(str(target.parent))
    shutil.copytree(folder, target)
    log.warning("Index folder %s is read-only; searching a temporary copy in %s", folder, target)
    return target


def _open_vector_store(settings: Settings, build: Path, manifest: dict):
    from llama_index.vector_stores.chroma import ChromaVectorStore

    folder = build / "chroma"
    if not settings.chroma_url and folder.is_dir() and not _writable(folder):
        folder = _readable_copy(folder)  # a read-only index (mount or permissions) still answers
    client = chroma_client(settings, folder)
    collection = client.get_collection(manifest["collection"])
    count = collection.count()
    if count != manifest["chunks"]:
        raise vector_count_mismatch(count, manifest["chunks"])
    return ChromaVectorStore(chroma_collection=collection)


def _open_bm25(folder: Path):
    import bm25s
    from llama_index.retrievers.bm25 import BM25Retriever

    # from_persist_dir() forgets the stemmer (it falls back to English); pass ours explicitly.
    existing = bm25s.BM25.load(str(folder), load_corpus=True)
    meta = json.loads((folder / "retriever.json").read_text())
    return BM25Retriever(existing_bm25=existing, stemmer=german_stemmer(), similarity_top_k=meta.get("similarity_top_k", 10))
