"""Shared fixtures: one real index per test session (real model, real Chroma, real BM25)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent

# -- offline guarantee ----------------------------------------------------------------------------
# Every outbound connection from the test process is refused and recorded, before any library is
# imported; loopback (the app server, the scripted LLM, a local Chroma server) stays allowed.
# `no_outbound_connection` checks the record after every test. Processes the tests start run in a
# loopback-only network namespace instead (tests/netns.py, the `netns` fixture).
import socket  # noqa: E402

OUTBOUND_ATTEMPTS: list[object] = []
_REAL_CONNECT = socket.socket.connect
_REAL_CONNECT_EX = socket.socket.connect_ex


def _is_local(sock: socket.socket, address) -> bool:
    if sock.family == getattr(socket, "AF_UNIX", None):
        return True
    host = str(address[0]) if isinstance(address, tuple) else str(address)
    return host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.")


def _guarded_connect(self, address):
    if not _is_local(self, address):
        OUTBOUND_ATTEMPTS.append(address)
        raise OSError(f"outbound connection blocked in tests: {address!r}")
    return _REAL_CONNECT(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(self, address):
        OUTBOUND_ATTEMPTS.append(address)
        return 111  # ECONNREFUSED
    return _REAL_CONNECT_EX(self, address)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex


@pytest.fixture(autouse=True)
def no_outbound_connection():
    """After every test, whatever ran before it: nothing in the test process tried to leave the
    machine (attempts made while a session fixture was set up count against the test that needed
    it). Each attempt is reported once, then forgotten."""
    yield
    attempts = list(OUTBOUND_ATTEMPTS)
    OUTBOUND_ATTEMPTS.clear()
    assert attempts == [], f"the test process tried to leave the machine: {attempts}"


def offline_namespace():
    """A loopback-only network namespace for the processes a test starts (tests/netns.py). Where
    none can be made the test fails with the reason; it does not skip."""
    from tests.netns import NamespaceUnavailable, OfflineNamespace

    try:
        return OfflineNamespace()
    except NamespaceUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
def netns():
    """The test's loopback-only network namespace; at the end no process in it may have tried to
    reach another machine."""
    ns = offline_namespace()
    try:
        yield ns
        ns.assert_offline()
    finally:
        ns.close()


from assistant.settings import Settings  # noqa: E402


def make_settings(tmp: Path, **overrides) -> Settings:
    """Settings for tests: the repo's corpus, a private index dir and feedback DB."""
    values = dict(
        corpus_dir=ROOT / "corpus",
        index_dir=tmp / "index",
        feedback_db=tmp / "feedback.sqlite3",
        user_docs_dir=tmp / "user-docs",
    )
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("session")


@pytest.fixture(scope="session")
def settings(session_dir) -> Settings:
    return make_settings(session_dir)


@pytest.fixture(scope="session")
def embedder(settings):
    from assistant.embedding import shared_embedder

    return shared_embedder(settings)


@pytest.fixture(scope="session")
def built_index(settings, embedder) -> dict:
    """Build the test index once per session. If the developer's own index under index/ is current
    for this corpus and model, copy it instead of re-embedding (same content, saves ~2 minutes)."""
    from assistant.index import build_index, validate_index

    local = Settings(corpus_dir=ROOT / "corpus", index_dir=ROOT / "index", user_docs_dir=settings.user_docs_dir)
    try:
        validate_index(local)
        target = settings.index_dir
        target.mkdir(parents=True, exist_ok=True)
        build = (ROOT / "index" / "current").resolve()
        shutil.copytree(build, target / "builds" / build.name)
        os.symlink(Path("builds") / build.name, target / "current")
        return validate_index(settings)
    except Exception:
        shutil.rmtree(settings.index_dir, ignore_errors=True)
    return build_index(settings, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)


@pytest.fixture(scope="session")
def service(settings, built_index, embedder):
    from assistant.service import AssistantService

    return AssistantService(settings)  # reuses the process-wide loaded model
