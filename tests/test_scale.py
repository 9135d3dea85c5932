"""Scale: the vector store is filled in batches (Chroma refuses one add above its max batch size),
and the replication used by bench/scale.py maps every copied text back to its original vector."""

from __future__ import annotations

import numpy as np

from assistant import chunking
from assistant.index import chroma as index_chroma
from assistant.index import build_index, open_index
from tests.test_index import clone_index


def test_vector_store_is_written_in_batches(settings, built_index, embedder, tmp_path, monkeypatch):
    local = clone_index(settings, tmp_path)
    monkeypatch.setattr(index_chroma, "CHROMA_BATCH", 50)  # 221 chunks → 5 adds
    calls = []
    from llama_index.vector_stores.chroma import ChromaVectorStore

    real_add = ChromaVectorStore.add

    def counting_add(self, nodes, **kwargs):
        calls.append(len(nodes))
        return real_add(self, nodes, **kwargs)

    monkeypatch.setattr(ChromaVectorStore, "add", counting_add)
    manifest = build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)
    assert max(calls) <= 50 and sum(calls) == manifest.chunks
    index = open_index(local)
    assert index.vector_store._collection.count() == manifest.chunks


def test_scale_bench_replication_reuses_original_vectors(settings, built_index):
    from bench.scale import ReplayEmbedder, vary

    build = (settings.index_dir / "current").resolve()
    stored = np.load(build / "sentences.npz")
    texts, vectors = stored["texts"].tolist()[:50], stored["vectors"][:50]
    replay = ReplayEmbedder(dict(zip(texts, vectors)), dimension=vectors.shape[1])
    copies = [vary(t, 3) for t in texts]
    assert all("[Kopie 3]" in c for c in copies) and vary(texts[0], 0) == texts[0]
    out = replay.embed_documents(copies)
    assert replay.misses == 0
    cosines = (out * vectors).sum(axis=1)
    assert cosines.min() > 0.9 and cosines.max() < 0.999  # near the original, not identical
    assert np.allclose(replay.embed_documents(texts[:3]), vectors[:3] / np.linalg.norm(vectors[:3], axis=1, keepdims=True), atol=1e-5)
    # a copied passage splits into the original's sentences (the tag sticks to the last one)
    chunk = next(c for c in open_index(settings).chunks.values() if c.source == "dossier" and "\n\n" in c.text)
    copy = chunk.model_copy(update={"text": vary(chunk.text, 2)})
    assert len(chunking.chunk_sentences(copy)) == len(chunking.chunk_sentences(chunk))
