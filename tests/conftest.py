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


# -- the fast lane (`make test-fast`) ---------------------------------------------------------------
# Tests marked `unit` (everything under tests/unit/ is) need neither the embedding model nor an
# index. `make test-fast` runs exactly them, with ASSISTANT_MODEL_CACHE pointing to an empty folder
# and ROADMAP_LOTSE_FAST_LANE=1. Guards, in both lanes unless noted:
# - a `unit` test may not request a fixture that loads the model or builds the index (collection error);
# - a `unit` test that constructs the embedder fails, even if the code under test catches the error;
# - a `unit` test that skips (or xfails) fails: the fast lane must not pass by leaving tests out;
# - fast lane only: every collected test is a `unit` test.
UNIT_DIR = ROOT / "tests" / "unit"
MODEL_FIXTURES = frozenset({"embedder", "built_index", "service"})
FAST_LANE = os.environ.get("ROADMAP_LOTSE_FAST_LANE") == "1"


@pytest.hookimpl(tryfirst=True)  # before `-m unit` selects
def pytest_collection_modifyitems(config, items):
    needs_model = []
    for item in items:
        if UNIT_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.unit)
        if item.get_closest_marker("unit") and MODEL_FIXTURES & set(item.fixturenames):
            needs_model.append(f"{item.nodeid} ({', '.join(sorted(MODEL_FIXTURES & set(item.fixturenames)))})")
    if needs_model:
        raise pytest.UsageError("`unit` tests must not use the model fixtures: " + "; ".join(needs_model))


def pytest_collection_finish(session):
    if FAST_LANE:
        outside = [item.nodeid for item in session.items if not item.get_closest_marker("unit")]
        if outside:
            raise pytest.UsageError(f"fast lane collected {len(outside)} tests not marked `unit`, e.g. {outside[:3]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and item.get_closest_marker("unit"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"`unit` test skipped ({reason}); skips in the fast lane count as failures"


class ModelLoadInUnitTest(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def unit_tests_load_no_model(request, monkeypatch):
    """In a `unit` test, constructing the embedder raises and is recorded; the test then fails even
    if the code under test turned the error into a message. The process-wide loaded model (from an
    earlier test of `make test`) is hidden for the duration of the test."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    from assistant import embedding

    attempts: list[str] = []

    def refuse(self, settings, *args, **kwargs):
        attempts.append(str(settings.model_dir))
        raise ModelLoadInUnitTest(f"a `unit` test tried to load the embedding model from {settings.model_dir}")

    monkeypatch.setattr(embedding.Embedder, "__init__", refuse)
    monkeypatch.setattr(embedding, "_SHARED", {})
    yield
    assert not attempts, f"this `unit` test loaded (tried to load) the embedding model: {attempts}; use tests.fakes.FakeEmbedder"


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
def built_index(settings, embedder):
    """Build the test index once per session. If the developer's own index under index/ is current
    for this corpus and model and was embedded in the configured number formats, copy it instead of
    re-embedding (same content, saves ~2 minutes)."""
    from assistant.index import build_index, validate_index

    local = Settings(corpus_dir=ROOT / "corpus", index_dir=ROOT / "index", user_docs_dir=settings.user_docs_dir)
    try:
        own = validate_index(local)
        formats = (own.document_precision, own.sentence_precision)
        if formats != (settings.document_precision, settings.sentence_precision):
            raise ValueError(f"index/ was embedded as {formats}")
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


@pytest.fixture(scope="module")
def catalogue():
    """The repo's criteria catalogue (one instance per test module)."""
    from assistant.corpus import Catalogue

    return Catalogue.load(ROOT / "corpus" / "catalogue" / "criteria.yaml")


@pytest.fixture(scope="module")
def dossier():
    """The repo's dossier, loaded and cleaned (one instance per test module)."""
    from assistant.corpus import find_dossier, load_dossier

    return load_dossier(find_dossier(ROOT / "corpus" / "dossier"))
