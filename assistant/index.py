"""Index: build, validate and open the persisted search index (Chroma vectors + German BM25).

Layout under `index/`:
    current -> builds/<stamp>      symlink, swapped atomically after a successful build
    builds/<stamp>/manifest.json   corpus hash, model id + weights hash, chunker version, counts, time
    builds/<stamp>/chunks.json     every Chunk with its metadata (the source of truth for citations)
    builds/<stamp>/vectors.npz     chunk embeddings, reused by the next build for unchanged chunks
    builds/<stamp>/chroma/         Chroma PersistentClient (or a collection on a Chroma server)
    builds/<stamp>/bm25/           llama-index BM25Retriever (bm25s) with German stemming + stop words

A build writes into a temporary folder and only then flips `current`; a failed or killed build
leaves the previous index answering. Readers that opened the old build keep using it until they
reload.
"""

from __future__ import annotations

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
from assistant.corpus import Catalogue, corpus_hash, find_dossier, load_dossier
from assistant.embedding import Embedder, model_identity
from assistant.schema import Chunk
from assistant.settings import Settings

MANIFEST = "manifest.json"
CHUNKS = "chunks.json"
VECTORS = "vectors.npz"
SENTENCES = "sentences.npz"
REBUILD_HINT = ".venv/bin/python -m assistant build-index"
BM25_LANGUAGE = "german"
COLLECTION_PREFIX = "roadmap_lotse"


class IndexUnavailable(RuntimeError):
    """The index is missing, stale or broken. The message names the repairing command."""


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def chroma_client(settings: Settings, path: Path | None):
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


def load_corpus_chunks(settings: Settings) -> CorpusState:
    from assistant import userdocs  # local import: optional formats pull in pypdf/docx lazily

    catalogue = Catalogue.load(settings.catalogue_path)
    dossier = load_dossier(find_dossier(settings.dossier_dir))
    user = userdocs.load_user_chunks(settings, catalogue)
    chunks = chunking.build_chunks(dossier, catalogue) + user.chunks
    return CorpusState(
        chunks=chunks,
        corpus_hash=corpus_hash(dossier, catalogue, extra=user.fingerprint + chunking.CHUNKER_VERSION),
        catalogue=catalogue,
    )


def current_corpus_hash(settings: Settings) -> str:
    """Cheap fingerprint of the corpus files, used to detect a stale index without chunking."""
    from assistant import userdocs

    catalogue = Catalogue.load(settings.catalogue_path)
    dossier_path = find_dossier(settings.dossier_dir)
    h = hashlib.sha256()
    h.update(hashlib.sha256(dossier_path.read_bytes()).hexdigest().encode())
    h.update(catalogue.content_hash.encode())
    h.update((userdocs.fingerprint(settings) + chunking.CHUNKER_VERSION).encode())
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
    """Build a fresh index and swap it in atomically. Returns the new manifest."""
    started = time.perf_counter()
    index_dir = settings.index_dir
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_builds(builds)

    state = load_corpus_chunks(settings)
    model_id, model_hash = model_identity(settings)
    if not force:
        try:
            manifest = validate_index(settings, state.corpus_hash)
            progress("Index ist aktuell; nichts zu tun (mit --force neu bauen).")
            return manifest
        except IndexUnavailable:
            pass
    embedder = embedder or Embedder(settings)

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    tmp = builds / f".{stamp}.tmp"
    tmp.mkdir()
    try:
        reuse = _previous_vectors(settings, model_hash)
        keys = [_text_key(c) for c in state.chunks]
        todo = [i for i, k in enumerate(keys) if k not in reuse]
        progress(f"{len(state.chunks)} Abschnitte, davon {len(todo)} neu einzubetten …")
        vectors = np.zeros((len(state.chunks), embedder.dimension), dtype=np.float32)
        if todo:
            fresh = embedder.embed_documents([state.chunks[i].text_for_embedding() for i in todo], show_progress=show_bar)
            for i, vector in zip(todo, fresh):
                vectors[i] = vector
        for i, key in enumerate(keys):
            if key in reuse:
                vectors[i] = reuse[key]

        sentence_owner, sentence_texts = [], []
        for chunk in state.chunks:
            for sentence in chunking.chunk_sentences(chunk):
                sentence_owner.append(chunk.id)
                sentence_texts.append(sentence)
        sentence_keys = [hashlib.sha256(("s:" + t).encode("utf-8")).hexdigest() for t in sentence_texts]
        sentence_todo = [i for i, k in enumerate(sentence_keys) if k not in reuse]
        progress(f"{len(sentence_texts)} Sätze, davon {len(sentence_todo)} neu einzubetten …")
        sentence_vectors = np.zeros((len(sentence_texts), embedder.dimension), dtype=np.float32)
        if sentence_todo:
            fresh = embedder.embed_documents([sentence_texts[i] for i in sentence_todo], batch_size=32, show_progress=show_bar)
            for i, vector in zip(sentence_todo, fresh):
                sentence_vectors[i] = vector
        for i, key in enumerate(sentence_keys):
            if key in reuse:
                sentence_vectors[i] = reuse[key]

        nodes = _nodes_for(state.chunks, vectors)
        collection_name = f"{COLLECTION_PREFIX}_{stamp}".lower()
        _write_vector_store(settings, tmp, collection_name, nodes)
        _write_bm25(tmp / "bm25", nodes)
        (tmp / CHUNKS).write_text(
            json.dumps([c.model_dump(mode="json") for c in state.chunks], ensure_ascii=False), encoding="utf-8"
        )
        np.savez(
            tmp / VECTORS,
            ids=np.array([c.id for c in state.chunks]),
            keys=np.array(keys + sentence_keys),
            vectors=np.concatenate([vectors, sentence_vectors]),
        )
        np.savez(tmp / SENTENCES, owner=np.array(sentence_owner), texts=np.array(sentence_texts), vectors=sentence_vectors)
        counts: dict[str, int] = {}
        for c in state.chunks:
            counts[f"{c.source}:{c.kind}"] = counts.get(f"{c.source}:{c.kind}", 0) + 1
        named, total = state.catalogue.coverage
        manifest = {
            "format": 1,
            "corpus_sha256": state.corpus_hash,
            "model_id": model_id,
            "model_sha256": model_hash,
            "embedding_dim": int(embedder.dimension),
            "chunker_version": chunking.CHUNKER_VERSION,
            "chunks": len(state.chunks),
            "counts": counts,
            "sentences": len(sentence_texts),
            "embedded_new": len(todo) + len(sentence_todo),
            "reused_embeddings": len(state.chunks) - len(todo) + len(sentence_texts) - len(sentence_todo),
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
        raise
    _prune_old_builds(settings, keep={final.name})
    progress(f"Index gebaut in {manifest['build_seconds']} s: {len(state.chunks)} Abschnitte.")
    return manifest


def _write_vector_store(settings: Settings, folder: Path, collection_name: str, nodes) -> None:
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chroma_client(settings, folder / "chroma")
    collection = client.get_or_create_collection(collection_name, metadata={"hnsw:space": "cosine"})
    ChromaVectorStore(chroma_collection=collection).add(nodes)


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


def _remove_stale_temp_builds(builds: Path) -> None:
    for tmp in builds.glob(".*.tmp"):
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
                    chroma_client(settings, None).delete_collection(manifest["collection"])
                except Exception:
                    pass
            shutil.rmtree(build, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Validate and open
# ---------------------------------------------------------------------------------------------


def read_manifest(settings: Settings) -> dict:
    path = settings.index_dir / "current" / MANIFEST
    if not path.exists():
        raise IndexUnavailable(f"Es gibt noch keinen Suchindex. Bitte bauen mit: {REBUILD_HINT}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict) or "corpus_sha256" not in manifest:
            raise ValueError("incomplete manifest")
        return manifest
    except (ValueError, OSError) as exc:
        raise IndexUnavailable(f"Die Index-Beschreibung (manifest.json) ist beschädigt. Bitte neu bauen mit: {REBUILD_HINT} --force") from exc


def validate_index(settings: Settings, corpus_sha256: str | None = None) -> dict:
    """Raise IndexUnavailable unless the current build matches corpus, model and chunker."""
    manifest = read_manifest(settings)
    expected_corpus = corpus_sha256 or current_corpus_hash(settings)
    _, model_hash = model_identity(settings)
    if manifest.get("corpus_sha256") != expected_corpus or manifest.get("chunker_version") != chunking.CHUNKER_VERSION:
        raise IndexUnavailable(f"Der Suchindex ist veraltet: Korpus oder Zerlegung haben sich geändert. Bitte neu bauen mit: {REBUILD_HINT}")
    if manifest.get("model_sha256") != model_hash:
        raise IndexUnavailable(f"Der Suchindex wurde mit einem anderen Embedding-Modell gebaut. Bitte neu bauen mit: {REBUILD_HINT} --force")
    if (manifest.get("chroma_url") or None) != (settings.chroma_url or None):
        raise IndexUnavailable(f"Der Suchindex gehört zu einem anderen Vektorspeicher. Bitte neu bauen mit: {REBUILD_HINT} --force")
    build = settings.index_dir / "current"
    for required in (CHUNKS, VECTORS, SENTENCES, "bm25"):
        if not (build / required).exists():
            raise IndexUnavailable(f"Der Suchindex ist unvollständig ({required} fehlt). Bitte neu bauen mit: {REBUILD_HINT} --force")
    return manifest


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


def open_index(settings: Settings) -> OpenIndex:
    manifest = validate_index(settings)
    build = (settings.index_dir / "current").resolve()
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
    except IndexUnavailable:
        raise
    except Exception as exc:
        raise IndexUnavailable(f"Der Suchindex ist beschädigt und lässt sich nicht öffnen. Bitte neu bauen mit: {REBUILD_HINT} --force") from exc
    return OpenIndex(
        manifest=manifest,
        path=build,
        chunks={c.id: c for c in chunks},
        order=[c.id for c in chunks],
        vector_store=vector_store,
        bm25=bm25,
        vectors=vectors,
        sentences=sentences,
    )


def _open_vector_store(settings: Settings, build: Path, manifest: dict):
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chroma_client(settings, build / "chroma")
    collection = client.get_collection(manifest["collection"])
    count = collection.count()
    if count != manifest["chunks"]:
        raise IndexUnavailable(f"Der Vektorspeicher enthält {count} statt {manifest['chunks']} Einträge. Bitte neu bauen mit: {REBUILD_HINT} --force")
    return ChromaVectorStore(chroma_collection=collection)


def _open_bm25(folder: Path):
    import bm25s
    from llama_index.retrievers.bm25 import BM25Retriever

    # from_persist_dir() forgets the stemmer (it falls back to English); pass ours explicitly.
    existing = bm25s.BM25.load(str(folder), load_corpus=True)
    meta = json.loads((folder / "retriever.json").read_text())
    return BM25Retriever(existing_bm25=existing, stemmer=german_stemmer(), similarity_top_k=meta.get("similarity_top_k", 10))
