"""File and folder names inside the index folder and inside one build (see `assistant.index`)."""

from __future__ import annotations

CURRENT = "current"  # symlink to the build that answers
BUILDS = "builds"  # one folder per build, named by its UTC stamp
BUILD_LOCK = ".build.lock"

MANIFEST = "manifest.json"
CHUNKS = "chunks.json"
VECTORS = "vectors.npz"
SENTENCES = "sentences.npz"
QUERIES = "queries.npz"
ADAPTER = "adapter.npy"  # the query adapter (assistant.index.adapter); optional: older builds have none
CHROMA_DIR = "chroma"
BM25_DIR = "bm25"
REQUIRED = (CHUNKS, VECTORS, SENTENCES, QUERIES, BM25_DIR)  # a build missing one of these is incomplete

OPERATION_OWNER = "op:"  # owner prefix of operation examples in queries.npz (else: a chunk id)
COLLECTION_PREFIX = "roadmap_lotse"


def collection_name(stamp: str) -> str:
    """The Chroma collection of the build `stamp` (unique per build, so a server can hold several)."""
    return f"{COLLECTION_PREFIX}_{stamp}".lower()
