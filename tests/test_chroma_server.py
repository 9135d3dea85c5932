"""ASSISTANT_CHROMA_URL: the vector store on a real Chroma server (`chroma run` from the installed
chromadb, on a free loopback port). Builds reuse the session's embeddings, so they are quick.

The server runs in a loopback-only network namespace (tests/netns.py); the test thread enters that
namespace to talk to it, and at the end the namespace's counters must show no attempt to leave it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.errors import AssistantUnavailable, IndexUnavailable
from assistant.index import build_index, chroma_client, open_index, validate_index
from assistant.retrieval import Filters
from assistant.service import AssistantService
from tests import conftest
from tests.conftest import offline_namespace
from tests.netns import OfflineNamespace
from tests.test_index import clone_index

CHROMA = Path(sys.executable).parent / "chroma"
MASTERPORTAL = "das Masterportal, eine Open-Source-Software"


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """`chroma run` inside `ns`; talk to it from a thread inside `ns` (`with ns.entered()`)."""

    def __init__(self, path: Path, ns: OfflineNamespace):
        if not CHROMA.exists():
            pytest.fail(f"{CHROMA} fehlt (chromadb installiert?)")
        self.ns = ns
        with ns.entered():
            self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = path / "chroma.log"
        env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
        with open(self.log, "w") as out:
            self.proc = ns.popen(
                [str(CHROMA), "run", "--path", str(path / "data"), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, env=env,
            )
        deadline = time.monotonic() + 90
        with ns.entered():
            while True:
                try:
                    with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=2) as response:
                        if "heartbeat" in json.loads(response.read()).__str__():
                            break
                except OSError:
                    pass
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"Chroma-Server startet nicht: {self.log.read_text()[-2000:]}")
                time.sleep(0.2)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ns = offline_namespace()
    try:
        srv = ChromaServer(tmp_path_factory.mktemp("chroma-server"), ns)
        yield srv
        srv.stop()
        ns.assert_offline("the Chroma server")
    finally:
        ns.close()


@pytest.fixture
def inside(server):
    """The test body talks to the module's server from inside its namespace."""
    with server.ns.entered():
        yield


def collections(settings) -> set[str]:
    return {c.name if hasattr(c, "name") else str(c) for c in chroma_client(settings, None).list_collections()}


@pytest.fixture(scope="module")
def server_index(settings, built_index, embedder, server, tmp_path_factory):
    """The session index rebuilt into the server (embeddings reused from the local copy)."""
    local = clone_index(settings, tmp_path_factory.mktemp("server-index"), chroma_url=server.url)
    with pytest.raises(IndexUnavailable, match="anderen Vektorspeicher.*build-index --force"):
        validate_index(local)
    with server.ns.entered():
        manifest = build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False)
    return local, manifest


def test_build_goes_to_the_server(server_index, inside):
    local, manifest = server_index
    assert AssistantService(local).status().index_ok
    assert manifest.chroma_url == local.chroma_url
    assert manifest.embedded_new == 0  # every vector reused from the local build
    assert manifest.collection in collections(local)
    build = (local.index_dir / "current").resolve()
    assert not (build / "chroma").exists()  # nothing vector-related on local disk
    assert validate_index(local).collection == manifest.collection
    index = open_index(local)
    assert index.vector_store._collection.count() == manifest.chunks


def test_retrieval_smoke_through_the_server(server_index, inside):
    local, _ = server_index
    service = AssistantService(local)
    retriever, _ = service._ensure_loaded()
    dense = retriever.dense("Masterportal Open-Source-Software für Geodaten", 10, Filters())
    assert any(MASTERPORTAL in retriever.index.chunks[cid].text for cid in dense)
    p2 = retriever.dense("Prototyp entwickeln", 10, Filters(phase="P2"))
    assert p2 and all(retriever.index.chunks[cid].phase == "P2" for cid in p2)  # metadata filter on the server

    answer = service.ask("Was ist das Masterportal und in welcher Phase wird es als Beispiel genannt?")
    assert not answer.error and not answer.abstained
    master = [c for c in answer.citations if MASTERPORTAL in c.text]
    assert master and master[0].page == 21 and f"[{master[0].n}]" in answer.answer
    answer = service.ask("Was muss ich in der Pilotphase beachten?")
    assert "P3" in answer.phases and answer.citations
    assert conftest.OUTBOUND_ATTEMPTS == []  # the client stayed on this machine


def test_rebuilds_prune_old_collections_and_killed_leftovers(server_index, embedder, inside):
    local, first = server_index
    # a build killed part-way left its temp folder and a half-written collection on the server
    stamp = "20200101T000000000000Z"
    (local.index_dir / "builds" / f".{stamp}.tmp").mkdir()
    chroma_client(local, None).get_or_create_collection(f"roadmap_lotse_{stamp}".lower())
    second = build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)
    third = build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)
    names = collections(local)
    assert f"roadmap_lotse_{stamp}".lower() not in names
    assert second.collection in names and third.collection in names  # the previous stays for open readers
    assert first.collection not in names
    assert open_index(local).manifest.collection == third.collection


def test_server_going_away_gives_calm_messages(settings, built_index, embedder, tmp_path, capsys, monkeypatch, netns):
    srv = ChromaServer(tmp_path, netns)
    with netns.entered():
        _server_going_away(srv, settings, embedder, tmp_path, capsys, monkeypatch)


def _server_going_away(srv, settings, embedder, tmp_path, capsys, monkeypatch):
    local = clone_index(settings, tmp_path / "idx", chroma_url=srv.url)
    build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False)
    service = AssistantService(local)
    assert service.ask("Was ist das Masterportal?").citations
    srv.stop()

    answer = service.ask("Was ist ein Minimum Viable Product?")  # loaded service, server gone
    assert answer.error == "search_unavailable" and answer.abstained
    assert srv.url in answer.answer and "assistant status" in answer.answer
    with pytest.raises(AssistantUnavailable, match="nicht erreichbar"):
        AssistantService(local).warm_up()
    status = AssistantService(local).status()
    assert not status.index_ok and "nicht erreichbar" in status.index_message

    from assistant import cli

    for key, value in {"ASSISTANT_INDEX_DIR": local.index_dir, "ASSISTANT_CORPUS_DIR": local.corpus_dir,
                       "ASSISTANT_USER_DOCS_DIR": local.user_docs_dir, "ASSISTANT_CHROMA_URL": srv.url}.items():
        monkeypatch.setenv(key, str(value))
    assert cli.main(["build-index", "--force", "--quiet"]) == cli.EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "Chroma-Server" in err and "nicht erreichbar" in err and "build-index" in err
    assert cli.main(["ask", "Was ist das Masterportal?", "--json"]) == cli.EXIT_UNAVAILABLE
    captured = capsys.readouterr()
    assert "nicht erreichbar" in json.loads(captured.out)["error"]
