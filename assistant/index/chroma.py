"""The vector store: Chroma clients (a local folder or a Chroma server), writing a build's
collection, opening it for search, and telling a server that cannot be reached from other failures."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path

from assistant.errors import vector_count_mismatch
from assistant.settings import Settings

CHROMA_BATCH = 2000  # vectors per Chroma add (below Chroma's own limit)

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


# ---------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------


def exception_chain(exc: BaseException):
    """`exc` and its causes (explicit or implicit), each once."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_connection_error(exc: BaseException) -> bool:
    """True when `exc` (or its cause) says a server could not be reached."""
    for item in exception_chain(exc):
        if isinstance(item, (ConnectionError, TimeoutError)):
            return True
        name = type(item).__module__ + "." + type(item).__name__
        if name.startswith("httpx.") and any(k in name for k in ("Connect", "Timeout", "Network", "Remote", "Transport")):
            return True
        if "could not connect to a chroma server" in str(item).lower():
            return True
    return False


def is_not_found(exc: BaseException) -> bool:
    """True when `exc` (or its cause) says the collection does not exist."""
    return any(
        type(e).__name__ == "NotFoundError" or "does not exist" in str(e).lower() for e in exception_chain(exc)
    )


# ---------------------------------------------------------------------------------------------
# Write and delete
# ---------------------------------------------------------------------------------------------


def write_vector_store(settings: Settings, folder: Path, collection_name: str, nodes) -> None:
    """Add the passage nodes (with their embeddings) to a new collection in `folder` (or on the server)."""
    from llama_index.vector_stores.chroma import ChromaVectorStore

    client = chroma_client(settings, folder)
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


def delete_collection(settings: Settings, name: str) -> None:
    """Remove a build's collection from the Chroma server (nothing to do when it is gone already)."""
    try:
        chroma_client(settings, None).delete_collection(name)
    except Exception:  # already gone, or the server is down: nothing else to clean up
        pass


# ---------------------------------------------------------------------------------------------
# Open
# ---------------------------------------------------------------------------------------------


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


def open_vector_store(settings: Settings, folder: Path, collection_name: str, expected_count: int):
    """The build's collection as a llama-index ChromaVectorStore; raises IndexUnavailable when it
    does not hold `expected_count` vectors."""
    from llama_index.vector_stores.chroma import ChromaVectorStore

    if not settings.chroma_url and folder.is_dir() and not _writable(folder):
        folder = _readable_copy(folder)  # a read-only index (mount or permissions) still answers
    client = chroma_client(settings, folder)
    collection = client.get_collection(collection_name)
    count = collection.count()
    if count != expected_count:
        raise vector_count_mismatch(count, expected_count)
    return ChromaVectorStore(chroma_collection=collection)
