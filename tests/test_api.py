"""The HTTP API, the OpenAI-compatible endpoint and the MCP server, against a real server on
localhost (uvicorn in a thread around the session's loaded service; `assistant serve` and
`assistant mcp` as subprocesses) with real clients: httpx, the official `openai` client and the
`mcp` SDK's own client."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest

from assistant.api.auth import TokenSet
from tests.conftest import ROOT
from tests.test_cli import check_contract, run_cli

TOKEN = secrets.token_hex(16)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(app):
    """uvicorn serving `app` on a free loopback port in a thread, until the block ends."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture(scope="module")
def api(settings, service):
    """(base URL, token) of a token-protected server around the test session's service."""
    from assistant.api.app import create_app

    app = create_app(settings, service=service, tokens=TokenSet((TOKEN.encode(),)))
    with running(app) as base:
        assert app.state.readiness.wait(300), app.state.readiness.detail
        yield base


@pytest.fixture(scope="module")
def client(api):
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as c:
        yield c


def sub_env(settings, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_API_")}
    env.update(
        ASSISTANT_INDEX_DIR=str(settings.index_dir),
        ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
        ASSISTANT_USER_DOCS_DIR=str(settings.user_docs_dir),
        HF_HUB_OFFLINE="1",
    )
    env.update(extra)
    return env


# -- the answer contract -----------------------------------------------------------------------------


def test_ask_returns_the_cli_contract(settings, client):
    question = "Welche Rolle spielen offene Schnittstellen für die Übertragbarkeit einer Lösung?"
    proc = run_cli(settings, "ask", question, "--json")
    assert proc.returncode == 0, proc.stderr
    cli = json.loads(proc.stdout)
    response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200
    api = response.json()
    check_contract(api)
    assert not api["abstained"] and api["citations"]
    cli.pop("timings_ms"), api.pop("timings_ms")
    assert api == cli


def test_ask_filters_and_top_k(client):
    response = client.post("/v1/ask", json={"question": "Welche Meilensteine gibt es?", "phase": "P1", "top_k": 3, "source": "catalogue"})
    body = response.json()
    assert response.status_code == 200 and len(body["retrieved"]) == 3
    assert all(c["source"] == "catalogue" for c in body["retrieved"])


def test_conversation_id_carries_the_topic(client):
    first = client.post("/v1/ask", json={"question": "Was muss ich in der Pilotphase beachten?", "conversation_id": "amt-42"})
    assert first.status_code == 200 and first.headers["X-Conversation-Id"] == "amt-42"
    assert "P3" in first.json()["phases"]
    follow = client.post("/v1/ask", json={"question": "Und in P4?", "conversation_id": "amt-42"}).json()
    assert not follow["abstained"]
    assert "P4" in follow["phases"]
    assert "Verstetigung" in follow["answer"]
    # the same follow-up without the conversation has no topic to carry: it is a different answer
    alone = client.post("/v1/ask", json={"question": "Und in P4?"}).json()
    assert alone["answer"] != follow["answer"]


@pytest.mark.unit
def test_conversation_store_caps_number_and_age():
    from assistant.api.conversations import ConversationStore

    now = [0.0]
    store = ConversationStore(max_conversations=3, max_age_s=60, clock=lambda: now[0])
    with store.use("a") as a:
        pass
    with store.use("a") as again:
        assert again is a  # the same conversation for the same key
    for key in ("b", "c", "d"):
        with store.use(key):
            now[0] += 1
    assert len(store) == 3 and "a" not in store  # the least recently used was dropped
    now[0] += 61
    with store.use("e"):
        pass
    assert len(store) == 1 and "e" in store  # the others were unused for over a minute
    with store.take("b") as missing:
        assert missing is None  # take never creates


# -- security and bad input ------------------------------------------------------------------------


def test_missing_or_wrong_token_is_refused_in_german(api, caplog):
    caplog.set_level("DEBUG")
    for headers in ({}, {"Authorization": "Bearer " + "x" * 32}, {"Authorization": f"Basic {TOKEN}"}):
        for method, path in (("POST", "/v1/ask"), ("GET", "/v1/criteria"), ("GET", "/v1/models"), ("POST", "/mcp")):
            response = httpx.request(method, api + path, headers=headers, json={"question": "Was ist P1?"})
            assert response.status_code == 401, (path, headers)
            assert "Zugangstoken" in response.json()["detail"]
            assert response.headers["www-authenticate"].startswith("Bearer")
    assert httpx.get(api + "/healthz").json()["status"] == "ok"  # no token needed
    docs = httpx.get(api + "/docs")
    assert docs.status_code == 200 and "cdn" not in docs.text.lower()  # served from the package, offline
    assert httpx.get(api + "/openapi.json").json()["info"]["title"] == "Roadmap-Lotse API"
    assert httpx.get(api + "/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "question"),
        ({"question": 42}, "question"),
        ({"question": "Was ist P1?", "top_k": "viele"}, "top_k"),
        ({"question": "Was ist P1?", "top_k": 0}, "top_k"),
        ({"question": "Was ist P1?", "phase": "P9"}, "phase"),
        ({"question": "Was ist P1?", "topk": 3}, "topk"),
        ({"question": "Was ist P1?", "conversation_id": "a b/c"}, "conversation_id"),
    ],
)
def test_bad_bodies_get_422_naming_the_field(client, body, field):
    response = client.post("/v1/ask", json=body)
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("Ungültige Anfrage") and f"„{field}“" in detail


def test_broken_json_and_empty_questions_get_422(client):
    response = client.post("/v1/ask", content=b'{"question": "Was', headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and "kein gültiges JSON" in response.json()["detail"]
    for question in ("", "   ", "\x00\x1b[31m"):
        response = client.post("/v1/ask", json={"question": question})
        assert response.status_code == 422 and "Bitte geben Sie eine Frage ein" in response.json()["detail"]
    response = client.post("/v1/chat/completions", json={"model": "roadmap-lotse", "messages": []})
    assert response.status_code == 422 and "„messages“" in response.json()["detail"]


def test_overlong_questions_and_bodies_get_413(settings, client):
    limit = settings.max_question_chars
    response = client.post("/v1/ask", json={"question": "Was ist ein Pilot? " + "x" * limit})
    assert response.status_code == 413 and "zu lang" in response.json()["detail"]
    assert str(limit) in response.json()["detail"]
    response = client.post("/v1/search", json={"query": "y" * (limit + 1)})
    assert response.status_code == 413
    big = {"model": "roadmap-lotse", "messages": [{"role": "user", "content": "Was ist P1? " + "z" * 70_000}]}
    response = client.post("/v1/chat/completions", json=big)
    assert response.status_code == 413 and "64 kB" in response.json()["detail"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        yield b'{"question": "'
        for _ in range(20):
            yield b"a" * 4096
        yield b'"}'

    response = client.post("/v1/ask", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413


@pytest.mark.unit
def test_refuses_to_bind_all_interfaces_without_tokens(settings, tmp_path, netns):
    def serve(*args, **env):
        return netns.run(
            [sys.executable, "-m", "assistant", "serve", *args],
            cwd=ROOT, env=sub_env(settings, **env), capture_output=True, text=True, timeout=120,
        )

    proc = serve("--host", "0.0.0.0", "--port", str(free_port()))
    assert proc.returncode == 2
    assert "ASSISTANT_API_TOKENS" in proc.stderr and "Zugangstoken" in proc.stderr and "Traceback" not in proc.stderr
    proc = serve("--host", "0.0.0.0", "--port", str(free_port()), ASSISTANT_API_TOKENS="kurz")
    assert proc.returncode == 2 and "zu leicht zu erraten" in proc.stderr and "kurz" not in proc.stderr
    proc = serve("--host", "::", ASSISTANT_API_TOKENS_FILE=str(tmp_path / "fehlt.txt"))
    assert proc.returncode == 2 and "nicht lesbar" in proc.stderr


def test_cors_is_off_unless_configured(settings, service, api):
    from assistant.api.app import create_app

    preflight = {"Origin": "https://intranet.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in httpx.options(api + "/v1/ask", headers=preflight).headers
    open_settings = settings.model_copy(update={"api_cors_origins": "https://intranet.example"})
    with running(create_app(open_settings, service=service)) as base:
        response = httpx.options(base + "/v1/ask", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://intranet.example"
        # open loopback server: a foreign host name (DNS rebinding) is refused
        assert httpx.get(base + "/v1/models", headers={"Host": "evil.example"}).status_code == 400
        assert httpx.get(base + "/v1/models").status_code == 200


@pytest.mark.unit
def test_missing_index_gives_503_with_the_repair_command(settings, tmp_path):
    from assistant.api.app import create_app

    broken = settings.model_copy(update={"index_dir": tmp_path / "kein-index"})
    app = create_app(broken)
    with running(app) as base:
        assert not app.state.readiness.wait(120)
        health = httpx.get(base + "/healthz")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        response = httpx.post(base + "/v1/ask", json={"question": "Was ist das Masterportal?"})
        assert response.status_code == 503
        body = response.json()
        assert "build-index" in body["detail"] and body["command"].endswith("build-index")
        assert httpx.get(base + "/v1/criteria/K14").status_code == 200  # the catalogue answers without the index


# -- search and catalogue ------------------------------------------------------------------------------


def test_search_criteria_good_practices_status(client, service):
    hits = client.post("/v1/search", json={"query": "Masterportal Geoportal", "top_k": 4, "phase": "P2"}).json()
    assert [p["n"] for p in hits["passages"]] == [1, 2, 3, 4]
    assert all(p["phase"] == "P2" for p in hits["passages"])
    assert any("Masterportal" in p["text"] for p in hits["passages"])

    milestones = client.get("/v1/criteria", params={"phase": "P1", "milestone": "true"}).json()
    assert milestones["count"] == len(milestones["criteria"]) > 0
    assert {r["id"] for r in milestones["criteria"]} == {e.id for e in service.catalogue.milestones("P1")}
    assert "76" in milestones["coverage_note"]
    driver = client.get("/v1/criteria", params={"driver": "T2"}).json()
    assert driver["criteria"] and all(r["driver"] == "T2" for r in driver["criteria"])

    k14 = client.get("/v1/criteria/k14").json()
    assert k14["id"] == "K14" and k14["url"].startswith("https://")
    assert all("K14" in service.index_chunks[p["chunk_id"]].criteria for p in k14["mentioned_in"])
    missing = client.get("/v1/criteria/K999")
    assert missing.status_code == 404 and "K999" in missing.json()["detail"]

    practices = client.get("/v1/good-practices", params={"phase": "P2"}).json()
    assert "GP01" in {g["id"] for g in practices["good_practices"]}
    assert all(g["phase"] == "P2" for g in practices["good_practices"])

    status = client.get("/v1/status").json()
    assert status["ready"] and status["chunks"] > 100 and status["auth"] is True
    assert client.get("/v1/nichts").status_code == 404


# -- OpenAI compatibility ------------------------------------------------------------------------------


def test_openai_client_streamed_and_plain(api):
    import openai

    oa = openai.OpenAI(base_url=api + "/v1", api_key=TOKEN, max_retries=0)
    assert "roadmap-lotse" in [m.id for m in oa.models.list()]
    messages = [{"role": "user", "content": "Was ist das Masterportal?"}]
    stream = oa.chat.completions.create(model="roadmap-lotse", messages=messages, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len(chunks) > 3 and all(c.object == "chat.completion.chunk" for c in chunks)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert "[1]" in streamed and "\n\nQuellen:\n- [1] " in streamed
    assert "https://" in streamed  # roadmap or dossier link
    plain = oa.chat.completions.create(model="roadmap-lotse", messages=messages)
    assert plain.choices[0].message.content == streamed
    contract = plain.model_extra["answer"]
    check_contract(contract)
    for citation in contract["citations"]:
        assert f"[{citation['n']}] {citation['title']}" in streamed
    with pytest.raises(openai.NotFoundError):
        oa.chat.completions.create(model="gpt-4o", messages=messages)
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=api + "/v1", api_key="falsch" * 4, max_retries=0).models.list()


def test_openai_history_gives_the_conversation(api, service):
    import openai

    oa = openai.OpenAI(base_url=api + "/v1", api_key=TOKEN, max_retries=0)
    first_q = {"role": "user", "content": "Was muss ich in der Pilotphase beachten?"}
    first = oa.chat.completions.create(model="roadmap-lotse", messages=[first_q])
    history = [{"role": "system", "content": "Du bist hilfreich."}, first_q, {"role": "assistant", "content": first.choices[0].message.content}]
    follow = oa.chat.completions.create(model="roadmap-lotse", messages=[*history, {"role": "user", "content": "Und in P4?"}])
    assert "P4" in follow.model_extra["answer"]["phases"] and "Verstetigung" in follow.choices[0].message.content
    # a history this server has not answered (edited reply, or a restart) is rebuilt from its questions
    edited = [first_q, {"role": "assistant", "content": "Gekürzt."}, {"role": "user", "content": [{"type": "text", "text": "Und in P4?"}]}]
    rebuilt = oa.chat.completions.create(model="roadmap-lotse", messages=edited)
    assert rebuilt.choices[0].message.content == follow.choices[0].message.content


# -- MCP -------------------------------------------------------------------------------------------------

TOOLS = {"ask_roadmap", "search_passages", "get_criterion", "list_criteria", "list_good_practices"}


async def _mcp_round_trip(session) -> dict:
    await session.initialize()
    tools = (await session.list_tools()).tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        assert tool.description and " / " in tool.description  # German / English
        assert tool.output_schema is not None
    criterion = await session.call_tool("get_criterion", {"id": "K14"})
    assert not criterion.is_error and criterion.structured_content["id"] == "K14"
    unknown = await session.call_tool("get_criterion", {"id": "K999"})
    assert unknown.is_error and "Kein Kriterium" in unknown.content[0].text
    practices = await session.call_tool("list_good_practices", {"phase": "P2"})
    assert "GP01" in {g["id"] for g in practices.structured_content["good_practices"]}
    answer = await session.call_tool("ask_roadmap", {"question": "Was ist das Masterportal?"})
    assert not answer.is_error
    return answer.structured_content


def test_mcp_over_http(api):
    import httpx2
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    async def main():
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120) as http:
            async with streamable_http_client(api + "/mcp", http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    return await _mcp_round_trip(session)

    contract = asyncio.run(main())
    check_contract(contract)
    assert not contract["abstained"] and "P2" in contract["phases"]


def test_mcp_over_stdio(settings, built_index, netns):
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    command = netns.wrap([sys.executable, "-m", "assistant", "mcp"])  # the server process runs offline
    params = StdioServerParameters(command=command[0], args=command[1:], env=sub_env(settings), cwd=str(ROOT))

    async def main():
        with open(os.devnull, "w") as errlog:
            async with stdio_client(params, errlog=errlog) as (read, write):
                async with ClientSession(read, write) as session:
                    contract = await _mcp_round_trip(session)
                    hits = await session.call_tool("search_passages", {"query": "Betreibermodell", "top_k": 3})
                    return contract, hits

    contract, hits = asyncio.run(main())
    check_contract(contract)
    assert len(hits.structured_content["passages"]) == 3


# -- load ------------------------------------------------------------------------------------------------


def test_fifty_concurrent_requests_without_errors(client, service):
    from bench.load import questions

    # numbered, so every question is new to the question cache and has to be encoded
    qs = [f"{q} (Anfrage {i})" for i, q in enumerate(questions()[:50])]
    requests = [("ask", q) for q in qs[:40]] + [("chat", q) for q in qs[40:]]

    def one(item):
        kind, question = item
        if kind == "ask":
            response = client.post("/v1/ask", json={"question": question})
            return response.status_code, response.json().get("answer", "")
        body = {"model": "roadmap-lotse", "messages": [{"role": "user", "content": question}]}
        response = client.post("/v1/chat/completions", json=body)
        return response.status_code, response.json()["choices"][0]["message"]["content"]

    stats = service._embedder.batcher.stats
    calls, encoded = stats.calls, stats.questions
    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(one, requests))
    assert len(results) == 50
    assert all(status == 200 and text.strip() for status, text in results), [r for r in results if r[0] != 200][:3]
    assert stats.questions - encoded >= 50  # every question was encoded …
    assert stats.calls - calls < stats.questions - encoded  # … and some of them together in one call
