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

Modules:
    layout.py   file names inside a build
    state.py    what the index should contain now (chunks, question-side texts, corpus hash)
    build.py    one build: plan → embed or reuse → write, under a lock, swapped in atomically
    store.py    read and validate the manifest; open a build for searching (`OpenIndex`)
    chroma.py   Chroma clients, writing and opening the vector store, connection-error detection
    bm25.py     the German keyword index: an adapter that hides bm25s and llama-index
"""

from assistant.index.bm25 import Bm25Index
from assistant.index.build import build_error, build_index
from assistant.index.chroma import chroma_client, is_connection_error
from assistant.index.layout import OPERATION_OWNER
from assistant.index.state import CorpusState, current_corpus_hash, load_corpus_chunks
from assistant.index.store import OpenIndex, check_vector_store, open_index, read_manifest, validate_index

__all__ = [
    "OPERATION_OWNER",
    "Bm25Index",
    "CorpusState",
    "OpenIndex",
    "build_error",
    "build_index",
    "check_vector_store",
    "chroma_client",
    "current_corpus_hash",
    "is_connection_error",
    "load_corpus_chunks",
    "open_index",
    "read_manifest",
    "validate_index",
]
