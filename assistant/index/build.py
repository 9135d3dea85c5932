"""Build a new index: plan (what to embed, what to reuse) → embed or reuse, stage by stage, in one
loop → write the files into a temporary build folder → swap `current` atomically.

Only one build runs per index folder at a time (an flock on `index/.build.lock`). A failed or killed
build leaves the previous index answering; its temporary folder (and, on a Chroma server, its
collection) is removed, now or by the next build.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from assistant import chunking
from assistant.embedding import Embedder, model_identity, shared_embedder
from assistant.errors import (
    BUILD_INDEX,
    BUILD_INDEX_FORCE,
    IndexBuildError,
    IndexUnavailable,
    ModelMissingError,
    chroma_unreachable_on_build,
)
from assistant.index import bm25, chroma
from assistant.index.adapter import sha256_of, train_adapter
from assistant.index.layout import (
    ADAPTER,
    BM25_DIR,
    BUILD_LOCK,
    BUILDS,
    CHROMA_DIR,
    CHUNKS,
    CURRENT,
    MANIFEST,
    OPERATION_OWNER,
    QUERIES,
    SENTENCES,
    VECTORS,
    collection_name,
)
from assistant.index.state import CorpusState, load_corpus_chunks
from assistant.index.store import read_manifest, validate_index
from assistant.schema import Chunk, Manifest
from assistant.settings import Settings

SENTENCE_BATCH = 32  # texts per encoder call for the many short sentences and stored questions


def build_index(
    settings: Settings,
    embedder: Embedder | None = None,
    progress: Callable[[str], None] = print,
    show_bar: bool = True,
    force: bool = False,
) -> Manifest:
    """Build a fresh index and swap it in atomically. Returns the new manifest.

    Only one build runs per index folder at a time (an flock on `index/.build.lock`, released by
    the kernel even when the builder is killed). Raises `IndexBuildError` (German message naming
    the fix; the previous index is untouched and keeps answering) when the folder is read-only,
    the disk is full, another build is running or the vector store refuses the data, and
    `ModelMissingError` when the embedding model is missing or fails its checksum."""
    try:
        with _BuildLock(settings):
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


def build_error(settings: Settings, exc: BaseException) -> IndexBuildError:
    """Translate a build failure into a German message that names the repairing command."""
    where = settings.index_dir
    keep = "Der bisherige Index bleibt unverändert und beantwortet weiter Fragen."
    codes = {getattr(e, "errno", None) for e in chroma.exception_chain(exc)}
    text = " ".join(str(e) for e in chroma.exception_chain(exc)).lower()
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
    if settings.chroma_url and chroma.is_connection_error(exc):
        return chroma_unreachable_on_build(settings.chroma_url, keep)
    detail = f"{type(exc).__name__}: {exc}"
    if len(detail) > 300:
        detail = detail[:300] + " …"
    return IndexBuildError(
        f"Der Index konnte nicht gebaut werden ({detail}). {keep} Bitte erneut ausführen: {BUILD_INDEX_FORCE}",
        getattr(exc, "errno", None),
        command=BUILD_INDEX_FORCE,
    )


# ---------------------------------------------------------------------------------------------
# The build: plan → embed or reuse → write
# ---------------------------------------------------------------------------------------------


def _build(
    settings: Settings,
    embedder: Embedder | None,
    progress: Callable[[str], None],
    show_bar: bool,
    force: bool,
) -> Manifest:
    started = time.perf_counter()
    builds = settings.index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_builds(settings, builds)  # safe: we hold the build lock

    state = load_corpus_chunks(settings)
    model = model_identity(settings)
    if not force:
        try:
            manifest = validate_index(settings, state.corpus_hash)
            progress("Index ist aktuell; nichts zu tun (mit --force neu bauen).")
            return manifest
        except IndexUnavailable:
            pass
    plan = _plan(settings, state, model)
    if embedder is None and (plan.todo or not plan.reuse):
        embedder = shared_embedder(settings)
    dimension = int(embedder.dimension) if embedder is not None else len(next(iter(plan.reuse.values())))

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    tmp = builds / f".{stamp}.tmp"
    tmp.mkdir()
    try:
        vectors = [_embed_or_reuse(stage, plan.reuse, dimension, embedder, progress, show_bar) for stage in plan.stages]
        _write_files(settings, tmp, stamp, state, plan.stages, vectors)
        adapter = _write_adapter(settings, tmp, plan.stages, vectors, progress)
        manifest = _manifest(settings, state, plan, dimension, collection_name(stamp), started, adapter)
        (tmp / MANIFEST).write_text(json.dumps(manifest.model_dump(mode="json"), ensure_ascii=False, indent=2), encoding="utf-8")
        final = builds / stamp
        os.replace(tmp, final)
        _swap_current(settings.index_dir, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if settings.chroma_url:
            chroma.delete_collection(settings, collection_name(stamp))
        raise
    _prune_old_builds(settings, keep={final.name})
    progress(f"Index gebaut in {manifest.build_seconds} s: {len(state.chunks)} Abschnitte.")
    return manifest


@dataclass
class Stage:
    """One kind of text to embed: a label for progress, the owner of each text (its chunk id, or
    an operation for operation examples), the texts and their reuse keys, and how new ones are embedded."""

    label: str
    owners: list[str]
    texts: list[str]
    keys: list[str]  # text hash (with the encoding it was made for): the reuse key in vectors.npz
    embed: Callable[[Embedder, list[str], bool], np.ndarray]  # (embedder, texts, show_bar) → vectors


@dataclass
class Plan:
    """What the build embeds: passages, sentences and stored questions; and what it can reuse."""

    model_id: str
    model_hash: str
    reuse: dict[str, np.ndarray]  # text key → vector of the current build (same model)
    stages: tuple[Stage, Stage, Stage]  # passages, sentences, stored questions

    @property
    def keys(self) -> list[str]:
        return [key for stage in self.stages for key in stage.keys]

    @property
    def todo(self) -> list[str]:
        """The keys that must be embedded anew."""
        return [key for key in self.keys if key not in self.reuse]


def _key(prefix: str, text: str) -> str:
    return hashlib.sha256((prefix + text).encode("utf-8")).hexdigest()


def _plan(settings: Settings, state: CorpusState, model: tuple[str, str]) -> Plan:
    """What to embed and what to reuse. Known before the model is needed: a rebuild that only
    drops or reorders text (e.g. `assistant remove`) never loads the model."""
    model_id, model_hash = model
    sentences = [(chunk.id, s) for chunk in state.chunks for s in chunking.chunk_sentences(chunk)]
    # every key names the number format its vector was made in: stored questions are encoded like
    # user questions (query precision); passages and sentences have their own (float32 keeps the
    # keys of builds from before these settings, so such vectors are reused)
    query_prefix = f"q:{settings.query_precision}:"
    doc_prefix = "" if settings.document_precision == "float32" else f"d:{settings.document_precision}:"
    sentence_prefix = "s:" if settings.sentence_precision == "float32" else f"s:{settings.sentence_precision}:"
    passages = Stage(
        "Abschnitte",
        [c.id for c in state.chunks],
        [c.text_for_embedding() for c in state.chunks],
        [_key(doc_prefix, c.text_for_embedding()) for c in state.chunks],
        lambda embedder, texts, bar: embedder.embed_documents(
            texts, show_progress=bar, precision=settings.document_precision
        ),
    )
    sentence_stage = Stage(
        "Sätze",
        [owner for owner, _ in sentences],
        [text for _, text in sentences],
        [_key(sentence_prefix, text) for _, text in sentences],
        lambda embedder, texts, bar: embedder.embed_documents(
            texts, batch_size=SENTENCE_BATCH, show_progress=bar, precision=settings.sentence_precision
        ),
    )
    questions = Stage(
        "gespeicherte Fragen",
        [owner for owner, _ in state.queries],
        [text for _, text in state.queries],
        [_key(query_prefix, text) for _, text in state.queries],
        lambda embedder, texts, bar: embedder.embed_queries(texts, batch_size=SENTENCE_BATCH, show_progress=bar),
    )
    reuse = _previous_vectors(settings, model_hash)
    return Plan(model_id, model_hash, reuse, (passages, sentence_stage, questions))


def _previous_vectors(settings: Settings, model_hash: str) -> dict[str, np.ndarray]:
    """Embeddings of the current build keyed by text hash, if made with the same model."""
    try:
        if read_manifest(settings).model_sha256 != model_hash:
            return {}
        data = np.load(settings.index_dir / CURRENT / VECTORS)
        return dict(zip(data["keys"].tolist(), data["vectors"]))
    except Exception:  # no usable previous build: embed everything
        return {}


def _embed_or_reuse(
    stage: Stage, reuse: dict[str, np.ndarray], dimension: int, embedder: Embedder | None, progress, show_bar: bool
) -> np.ndarray:
    """The stage's vectors: taken from the previous build by key where possible, the rest embedded."""
    todo = [i for i, key in enumerate(stage.keys) if key not in reuse]
    progress(f"{len(stage.texts)} {stage.label}, davon {len(todo)} neu einzubetten …")
    fresh = iter(stage.embed(embedder, [stage.texts[i] for i in todo], show_bar) if todo else ())
    vectors = np.zeros((len(stage.texts), dimension), dtype=np.float32)
    for i, key in enumerate(stage.keys):
        vectors[i] = reuse[key] if key in reuse else next(fresh)
    return vectors


# ---------------------------------------------------------------------------------------------
# Write
# ---------------------------------------------------------------------------------------------


def _write_files(settings: Settings, tmp: Path, stamp: str, state: CorpusState, stages, vectors) -> None:
    """Everything but the manifest: vector store, BM25, chunks and the three vector files."""
    passages, sentences, questions = stages
    passage_vectors, sentence_vectors, question_vectors = vectors
    nodes = _nodes_for(state.chunks, passage_vectors)
    chroma.write_vector_store(settings, tmp / CHROMA_DIR, collection_name(stamp), nodes)
    bm25.write(tmp / BM25_DIR, nodes)
    (tmp / CHUNKS).write_text(
        json.dumps([c.model_dump(mode="json") for c in state.chunks], ensure_ascii=False), encoding="utf-8"
    )
    np.savez(
        tmp / VECTORS,
        ids=np.array(passages.owners),
        keys=np.array(passages.keys + sentences.keys + questions.keys),
        vectors=np.concatenate(vectors),
    )
    np.savez(tmp / SENTENCES, owner=np.array(sentences.owners), texts=np.array(sentences.texts), vectors=sentence_vectors)
    np.savez(tmp / QUERIES, owner=np.array(questions.owners), texts=np.array(questions.texts), vectors=question_vectors)


def _write_adapter(settings: Settings, tmp: Path, stages, vectors, progress) -> np.ndarray | None:
    """Learn the query adapter from the stored questions and their passages, and write it."""
    passages, _, questions = stages
    passage_vectors, _, question_vectors = vectors
    started = time.perf_counter()
    adapter = train_adapter(question_vectors, questions.owners, passages.owners, passage_vectors, settings)
    if adapter is not None:
        np.save(tmp / ADAPTER, adapter)
        progress(f"Frage-Adapter gelernt in {time.perf_counter() - started:.1f} s.")
    return adapter


def _nodes_for(chunks: list[Chunk], vectors: np.ndarray):
    """llama-index TextNodes of the passages, with their embeddings and filterable metadata."""
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


def _manifest(
    settings: Settings, state: CorpusState, plan: Plan, dimension: int, collection: str, started: float, adapter: np.ndarray | None = None
) -> Manifest:
    """The build's description: what it was built from (corpus, model, chunker) and what it holds."""
    counts: dict[str, int] = {}
    for c in state.chunks:
        counts[f"{c.source}:{c.kind}"] = counts.get(f"{c.source}:{c.kind}", 0) + 1
    named, total = state.catalogue.coverage
    _, sentences, questions = plan.stages
    operations = sum(1 for owner in questions.owners if owner.startswith(OPERATION_OWNER))
    return Manifest(
        corpus_sha256=state.corpus_hash,
        model_id=plan.model_id,
        model_sha256=plan.model_hash,
        embedding_dim=dimension,
        chunker_version=chunking.CHUNKER_VERSION,
        chunks=len(state.chunks),
        counts=counts,
        sentences=len(sentences.texts),
        stored_questions=len(questions.owners) - operations,
        operation_examples=operations,
        embedded_new=len(plan.todo),
        reused_embeddings=len(plan.keys) - len(plan.todo),
        catalogue_criteria=named,
        study_criteria=total,
        collection=collection,
        chroma_url=settings.chroma_url or None,
        built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        build_seconds=round(time.perf_counter() - started, 2),
        document_precision=settings.document_precision,
        sentence_precision=settings.sentence_precision,
        adapter_sha256=sha256_of(adapter),
    )


# ---------------------------------------------------------------------------------------------
# Builds folder: swap, clean up, prune
# ---------------------------------------------------------------------------------------------


def _swap_current(index_dir: Path, build: Path) -> None:
    link = index_dir / CURRENT
    tmp_link = index_dir / ".current.tmp"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(Path(BUILDS) / build.name, tmp_link)
    os.replace(tmp_link, link)  # atomic on POSIX: readers see the old or the new build, never none


def _remove_stale_temp_builds(settings: Settings, builds: Path) -> None:
    """Remove what a killed build left behind: its temp folder and, on a Chroma server, its
    half-written collection (named after the same stamp, so other deployments are not touched)."""
    for tmp in builds.glob(".*.tmp"):
        if settings.chroma_url:
            chroma.delete_collection(settings, collection_name(tmp.name[1 : -len(".tmp")]))
        shutil.rmtree(tmp, ignore_errors=True)


def _prune_old_builds(settings: Settings, keep: set[str]) -> None:
    """Keep the new build and the one before it (a reader may still have it open)."""
    builds = settings.index_dir / BUILDS
    existing = sorted(p for p in builds.iterdir() if p.is_dir() and not p.name.startswith("."))
    survivors = set(keep) | {p.name for p in existing[-2:]}
    for build in existing:
        if build.name not in survivors:
            if settings.chroma_url:
                _delete_collection_of(settings, build)
            shutil.rmtree(build, ignore_errors=True)


def _delete_collection_of(settings: Settings, build: Path) -> None:
    """Delete an old build's collection when it lives on this Chroma server."""
    try:
        manifest = read_manifest(settings, build)
    except IndexUnavailable:
        return
    if manifest.collection and manifest.chroma_url == settings.chroma_url:
        chroma.delete_collection(settings, manifest.collection)
