"""Faults an operator meets on a shared server, each with the message that names the fix:
missing, stale and corrupt index; missing model or wrong weights; a read-only index folder; a build
killed part-way or failing on a full disk (the previous index keeps answering). LLM endpoint
down / slow / garbage is covered in tests/test_llm.py (extractive fallback within the timeout).
Every CLI process runs in the test's loopback-only network namespace (`netns`, tests/netns.py)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from assistant import cli
from assistant.index import bm25 as index_bm25
from assistant.index import chroma as index_chroma
from assistant.errors import AssistantUnavailable, IndexBuildError
from assistant.index import build_index, validate_index
from assistant.service import AssistantService
from tests.conftest import ROOT, make_settings
from tests.isolation import run_in_namespace, unshare_prefix
from tests.test_index import changed_corpus, clone_index

QUESTION = "Was ist das Masterportal?"
REBUILD = ".venv/bin/python -m assistant build-index"
FORCE = ".venv/bin/python -m assistant build-index --force"
FETCH = ".venv/bin/python -m assistant fetch-model"


def cli_env(settings, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        ASSISTANT_INDEX_DIR=str(settings.index_dir),
        ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
        ASSISTANT_USER_DOCS_DIR=str(settings.user_docs_dir),
        ASSISTANT_FEEDBACK_DB=str(settings.feedback_db),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def assert_unavailable(proc, command: str, *, json_out: bool = True):
    assert proc.returncode == 3, (proc.stdout, proc.stderr)
    assert command in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    if json_out:
        obj = json.loads(proc.stdout)
        assert obj["abstained"] is True and command in obj["error"]


def set_cli_env(monkeypatch, settings):
    for key, value in cli_env(settings).items():
        if key.startswith("ASSISTANT_"):
            monkeypatch.setenv(key, value)


# -- index faults: each through the real CLI, exit 3 and the repairing command ---------------------


def _stale(local, tmp_path):
    return {"ASSISTANT_CORPUS_DIR": changed_corpus(tmp_path / "corpus")}


def _garbage_chroma(local, tmp_path):
    (local.index_dir / "current" / "chroma" / "chroma.sqlite3").write_bytes(b"kein SQLite" * 500)


def _broken_manifest(local, tmp_path):
    (local.index_dir / "current" / "manifest.json").write_text('{"format": 1, "corpus_sha')


def _missing_bm25(local, tmp_path):
    shutil.rmtree(local.index_dir / "current" / "bm25")


def _truncated_vectors(local, tmp_path):
    (local.index_dir / "current" / "sentences.npz").write_bytes(b"PK\x03\x04 abgeschnitten")


def _missing_current(local, tmp_path):
    (local.index_dir / "current").unlink()


def _other_store(local, tmp_path):
    return {"ASSISTANT_CHROMA_URL": "http://127.0.0.1:9"}


INDEX_FAULTS = {
    "stale": (_stale, "veraltet", REBUILD),
    "garbage_chroma": (_garbage_chroma, "beschädigt", FORCE),
    "broken_manifest": (_broken_manifest, "manifest.json", FORCE),
    "missing_bm25": (_missing_bm25, "bm25 fehlt", FORCE),
    "truncated_vectors": (_truncated_vectors, "beschädigt", FORCE),
    "missing_current": (_missing_current, "noch keinen Suchindex", REBUILD),
    "other_vector_store": (_other_store, "anderen Vektorspeicher", FORCE),
}


@pytest.mark.parametrize("fault", list(INDEX_FAULTS))
def test_index_fault_names_the_repairing_command(settings, built_index, tmp_path, netns, fault):
    break_it, words, command = INDEX_FAULTS[fault]
    local = clone_index(settings, tmp_path / "clone")
    extra = break_it(local, tmp_path) or {}
    # No model at all: the index fault is still the one reported, so it is found before the model
    # is looked at, let alone loaded (~10 s).
    env = cli_env(local, ASSISTANT_MODEL_CACHE=tmp_path / "kein-modell", **extra)
    proc = netns.run([sys.executable, "-m", "assistant", "ask", QUESTION, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert_unavailable(proc, command)
    assert words in proc.stderr and "fetch-model" not in proc.stderr
    status = netns.run([sys.executable, "-m", "assistant", "status"], cwd=ROOT, env=cli_env(local, **extra), capture_output=True, text=True, timeout=300)
    assert status.returncode == 3 and "Traceback" not in status.stderr


def test_build_index_force_repairs_a_corrupt_index(settings, built_index, tmp_path, monkeypatch, capsys):
    local = clone_index(settings, tmp_path)
    _garbage_chroma(local, tmp_path)
    with pytest.raises(AssistantUnavailable, match="beschädigt.*build-index --force"):
        AssistantService(local).warm_up()
    set_cli_env(monkeypatch, local)
    assert cli.main(["build-index", "--force", "--quiet"]) == cli.EXIT_OK, capsys.readouterr().err
    answer = AssistantService(local).ask(QUESTION)
    assert answer.citations and not answer.error


# -- model faults -----------------------------------------------------------------------------------


def test_missing_model_names_fetch_model(settings, built_index, tmp_path, netns):
    local = clone_index(settings, tmp_path / "clone")
    env = cli_env(local, ASSISTANT_MODEL_CACHE=tmp_path / "leerer-cache")
    proc = netns.run([sys.executable, "-m", "assistant", "ask", QUESTION, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert_unavailable(proc, FETCH)
    assert "fehlt" in proc.stderr
    fresh = cli_env(make_settings(tmp_path / "neu"), ASSISTANT_MODEL_CACHE=tmp_path / "leerer-cache")
    proc = netns.run([sys.executable, "-m", "assistant", "build-index", "--quiet"], cwd=ROOT, env=fresh, capture_output=True, text=True, timeout=300)
    assert_unavailable(proc, FETCH, json_out=False)


def test_weights_hash_mismatch_names_fetch_model_force(settings, built_index, tmp_path, netns):
    cache = tmp_path / "cache"
    fake = cache / "embeddinggemma-300m"
    fake.mkdir(parents=True)
    (fake / "modules.json").write_text("[]")
    (fake / "config.json").write_text("{}")
    (fake / "model.safetensors").write_bytes(b"\0" * 4096)  # not the pinned weights
    local = clone_index(settings, tmp_path / "clone")
    env = cli_env(local, ASSISTANT_MODEL_CACHE=cache)
    proc = netns.run([sys.executable, "-m", "assistant", "ask", QUESTION, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert_unavailable(proc, f"{FETCH} --force")
    assert "Prüfsumme" in proc.stderr
    fresh = cli_env(make_settings(tmp_path / "neu"), ASSISTANT_MODEL_CACHE=cache)
    proc = netns.run([sys.executable, "-m", "assistant", "build-index", "--force", "--quiet"], cwd=ROOT, env=fresh, capture_output=True, text=True, timeout=300)
    assert_unavailable(proc, f"{FETCH} --force", json_out=False)
    proc = netns.run([sys.executable, "-m", "assistant", "status"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3 and f"{FETCH} --force" in proc.stdout
    assert not (fake / ".verified-sha256").exists()


# -- in-namespace faults: read-only folder, real full disk ----------------------------------------

DRIVER = textwrap.dedent(
    """
    import contextlib, io, json, sys, traceback
    from assistant import cli
    results = {}
    for name, argv in json.loads(sys.argv[1]):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = cli.main(argv)
            except SystemExit as exc:
                rc = exc.code
            except BaseException:
                rc = "exception"
                err.write(traceback.format_exc())
        results[name] = {"rc": rc, "out": out.getvalue(), "err": err.getvalue()}
    print("RESULTS=" + json.dumps(results))
    """
)


def needs_namespace():
    if unshare_prefix() is None:  # CI runs as root, where it works: a missing namespace is a failure there
        pytest.fail("unshare (Mount-Namensraum) ist hier nicht erlaubt; der Test braucht einen read-only-Mount bzw. tmpfs "
                    "(als root ausführen)", pytrace=False)


def run_driver(tmp_path, netns, env, setup: str, commands: list[tuple[str, list[str]]]) -> tuple[dict, str]:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    script = f"set -e\n{setup}\ncd {ROOT}\nexec {sys.executable} {driver} '{json.dumps(commands)}'\n"
    proc = run_in_namespace(script, env, wrap=netns.wrap)
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULTS=")]
    assert line, (proc.returncode, proc.stdout[-2000:], proc.stderr[-4000:])
    return json.loads(line[0][len("RESULTS="):]), proc.stdout


def test_read_only_index_still_answers_and_build_fails_clearly(settings, built_index, tmp_path, netns):
    needs_namespace()
    local = clone_index(settings, tmp_path / "clone")
    before = sorted(p.name for p in (local.index_dir / "builds").iterdir())
    idx = local.index_dir
    setup = (
        f"mount --bind {idx} {idx}\nmount -o remount,bind,ro {idx}\n"
        f"if touch {idx}/probe 2>/dev/null; then echo STILL_WRITABLE; exit 1; fi"
    )
    results, _ = run_driver(
        tmp_path, netns, cli_env(local), setup,
        [
            ("build", ["build-index", "--quiet"]),
            ("force", ["build-index", "--force", "--quiet"]),
            ("ask", ["ask", QUESTION, "--json"]),
            ("status", ["status"]),
        ],
    )
    for name in ("build", "force"):
        assert results[name]["rc"] == 3, results[name]
        assert "schreibgeschützt" in results[name]["err"] and REBUILD in results[name]["err"]
        assert "beantwortet weiter Fragen" in results[name]["err"]
    ask = results["ask"]
    assert ask["rc"] == 0, ask
    answer = json.loads(ask["out"])
    assert not answer["abstained"] and any("Masterportal" in c["text"] for c in answer["citations"])
    assert results["status"]["rc"] == 0
    assert all("Traceback" not in r["err"] for r in results.values())
    assert sorted(p.name for p in (idx / "builds").iterdir()) == before  # nothing written


def test_full_disk_keeps_previous_index_answering(settings, built_index, tmp_path, netns):
    """A real full disk: the index lives on a small tmpfs that is nearly filled before the build."""
    needs_namespace()
    src = clone_index(settings, tmp_path / "clone")
    mnt = tmp_path / "klein"
    mnt.mkdir()
    size_mb = int(sum(f.stat().st_size for f in src.index_dir.rglob("*") if f.is_file()) / 2**20) + 12
    local = make_settings(tmp_path / "inner", index_dir=mnt / "index")
    setup = textwrap.dedent(
        f"""
        mount -t tmpfs -o size={size_mb}m tmpfs {mnt}
        cp -a {src.index_dir} {mnt}/index
        free_kb=$(df -k --output=avail {mnt} | tail -1)
        head -c $(( (free_kb - 3072) * 1024 )) /dev/zero > {mnt}/filler
        df -k {mnt} | tail -1
        """
    )
    results, stdout = run_driver(
        tmp_path, netns, cli_env(local), setup,
        [("build", ["build-index", "--force", "--quiet"]), ("ask", ["ask", QUESTION, "--json"]), ("status", ["status", "--json"])],
    )
    build = results["build"]
    assert build["rc"] == 3, build
    assert "Kein freier Speicherplatz" in build["err"] and FORCE in build["err"], build["err"]
    ask = results["ask"]
    assert ask["rc"] == 0, ask
    assert json.loads(ask["out"])["citations"]
    status = json.loads(results["status"]["out"])
    assert status["index_ok"]
    assert all("Traceback" not in r["err"] for r in results.values())


@pytest.mark.parametrize(
    "failure",
    [OSError(errno.ENOSPC, "No space left on device"), RuntimeError("error returned from database: (code: 13) database or disk is full")],
    ids=["enospc", "chroma-disk-full"],
)
def test_disk_full_during_build_message_and_cleanup(settings, built_index, tmp_path, monkeypatch, capsys, failure):
    local = clone_index(settings, tmp_path)
    before = (local.index_dir / "current").resolve()
    module, target = (index_bm25, "write") if isinstance(failure, OSError) else (index_chroma, "write_vector_store")

    def broken(*args, **kwargs):
        raise failure

    monkeypatch.setattr(module, target, broken)
    set_cli_env(monkeypatch, local)
    assert cli.main(["build-index", "--force", "--quiet"]) == cli.EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert "Kein freier Speicherplatz" in err and FORCE in err and "Traceback" not in err
    assert (local.index_dir / "current").resolve() == before
    assert not list((local.index_dir / "builds").glob(".*.tmp"))
    monkeypatch.undo()
    assert AssistantService(local).ask(QUESTION).citations


# -- a build killed part-way ------------------------------------------------------------------------


def test_killed_build_leaves_previous_index_and_is_cleaned_up(settings, built_index, embedder, tmp_path, netns):
    local = clone_index(settings, tmp_path)
    before = (local.index_dir / "current").resolve()
    builds = local.index_dir / "builds"
    proc = netns.popen(
        [sys.executable, "-m", "assistant", "build-index", "--force", "--quiet"],
        cwd=ROOT, env=cli_env(local), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 240
        leftover = []
        while time.monotonic() < deadline and proc.poll() is None:
            leftover = [p for p in builds.glob(".*.tmp") if (p / "chroma").exists()]
            if leftover:
                break
            time.sleep(0.01)
        assert leftover, "build finished or failed before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)  # mid-write: the vector store is being written
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert (local.index_dir / "current").resolve() == before
    assert list(builds.glob(".*.tmp"))  # the half-written build is still lying there
    validate_index(local)
    answer = AssistantService(local).ask(QUESTION)
    assert answer.citations and not answer.error

    manifest = build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)
    assert not list(builds.glob(".*.tmp"))  # the next build removed the leftover
    assert (local.index_dir / "current").resolve() != before
    assert manifest.embedded_new == 0


def test_second_concurrent_build_is_refused(settings, built_index, embedder, tmp_path):
    import fcntl

    local = clone_index(settings, tmp_path)
    with open(local.index_dir / ".build.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another builder is running
        with pytest.raises(IndexBuildError, match="anderer Indexbau läuft"):
            build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True)
    assert build_index(local, embedder=embedder, progress=lambda m: None, show_bar=False, force=True).chunks


# -- LLM endpoint that trickles tokens ---------------------------------------------------------------


TRICKLE = ("Die Pilotphase dient der Erprobung [1]. " + "und dann noch mehr " * 9).split()  # 42 words, 33.6 s


def test_trickling_llm_falls_back_within_the_timeout(settings, built_index):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Trickle(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            try:
                for word in TRICKLE:
                    time.sleep(0.8)
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
                             "choices": [{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")
            except OSError:
                pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        local = make_settings(settings.index_dir.parent, llm="openai-compatible", llm_model="m", llm_timeout_s=1.0,
                              llm_base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
        service = AssistantService(local)
        service.warm_up()
        started = time.perf_counter()
        answer = service.ask("Was muss ich in der Pilotphase beachten?")
        elapsed = time.perf_counter() - started
    finally:
        server.shutdown()
        server.server_close()
    assert answer.engine == "extractive-fallback" and answer.citations
    # The reply would trickle for 42 × 0.8 = 33.6 s; an answer long before that shows the 1 s timeout
    # cut it off. Generous on purpose: on the shared 2-core machine retrieval and composition alone
    # took up to 9 s under load; speed is measured by the benchmarks, not here.
    assert elapsed < 20, f"took {elapsed:.1f} s with a 1 s timeout (the whole reply takes 33.6 s)"
