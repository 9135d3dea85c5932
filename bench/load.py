"""Load test: many concurrent askers against the shared service, the Streamlit app and the HTTP API.

Three targets, each run for a fixed time with a fixed number of workers (bounded: at most 64
workers and 600 s; localhost only):

  service  In-process threads call `AssistantService.shared().ask()` – the one service the app
           shares between its sessions – with questions from tests/data/retrieval_testset.jsonl.
  app      Workers drive a running Streamlit server (or one started here on a free loopback port):
           each round does an HTTP health check (`/_stcore/health`), loads the page shell (`/`),
           opens a real session over the app's WebSocket (`/_stcore/stream`, Streamlit's own
           protobuf messages) – which runs the page script like a browser page load – and asks
           questions through the chat input, checking that each run finishes without an exception
           or error box.
  http     Workers post questions to `POST /v1/ask` of a running `assistant serve` (or one started
           here on a free loopback port, with a fresh bearer token) and check each reply is a
           complete answer (HTTP 200, answer text, no `error`).

With --unique every question is numbered ("… (Nr. 17)"), so none is in the question cache and each
one is encoded: the worst case for the embedding model. --baseline adds a before/after table
against an earlier run's JSON.

Reports throughput, p50/p95/max latency and errors per operation (errors must be 0), writes JSON to
reports/load.json and, with --update-docs, the "reliability-load" section of docs/benchmarks.md.

    .venv/bin/python bench/load.py                                  # all targets, 20 workers, 60 s each
    .venv/bin/python bench/load.py --target service http --unique --baseline reports/load-before.json
    .venv/bin/python bench/load.py --target app --url http://127.0.0.1:8501
    .venv/bin/python bench/load.py --target http --api-url http://127.0.0.1:8700   # token from ASSISTANT_API_TOKENS
    .venv/bin/python bench/load.py --concurrency 4 --duration 5     # quick smoke run

Index, corpus and model come from the usual ASSISTANT_* variables (default: the repo's index/).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from assistant.evaluation import percentile  # noqa: E402
from bench.docsection import publish  # noqa: E402

MAX_WORKERS, MAX_SECONDS, OP_TIMEOUT = 64, 600, 120.0
TESTSET = ROOT / "tests" / "data" / "retrieval_testset.jsonl"
REPORT = ROOT / "reports" / "load.json"


def questions() -> list[str]:
    items = [json.loads(line) for line in TESTSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [item["question"] for item in items]


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, op: str, fn):
        started = time.perf_counter()
        try:
            result = fn()
        except Exception as exc:  # counted, reported, never fatal for the run
            with self.lock:
                self.errors[op].append(f"{type(exc).__name__}: {exc}"[:300])
            return None
        with self.lock:
            self.latencies[op].append((time.perf_counter() - started) * 1000)
        return result

    def summary(self, seconds: float) -> dict:
        order = ["health", "page_shell", "session_connect", "page_load", "ask"]
        ops = sorted(set(self.latencies) | set(self.errors), key=lambda op: (order.index(op) if op in order else 99, op))
        return {
            op: {
                "count": len(self.latencies[op]),
                "per_s": round(len(self.latencies[op]) / seconds, 2),
                "p50_ms": round(percentile(self.latencies[op], 50), 1),
                "p95_ms": round(percentile(self.latencies[op], 95), 1),
                "max_ms": round(max(self.latencies[op], default=0.0), 1),
                "errors": len(self.errors[op]),
                "error_samples": self.errors[op][:3],
            }
            for op in ops
        }


def run_workers(n: int, seconds: float, work) -> float:
    stop = time.monotonic() + seconds
    threads = [threading.Thread(target=work, args=(i, stop), daemon=True) for i in range(n)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + OP_TIMEOUT * 3)
    return time.perf_counter() - started


# -- target: the shared service ---------------------------------------------------------------------


def numbered(qs: list[str], unique: bool):
    """Question number k: from the testset in turn; with `unique`, numbered so it is new every time."""
    counter = iter(range(10**9))
    lock = threading.Lock()

    def pick(k: int) -> str:
        if not unique:
            return qs[k % len(qs)]
        with lock:
            n = next(counter)
        return f"{qs[k % len(qs)]} (Nr. {n})"

    return pick


def batch_stats(service) -> dict | None:
    batcher = getattr(getattr(service, "_embedder", None), "batcher", None)
    if batcher is None:  # an embedder without batching (runs against older code)
        return None
    stats = batcher.stats
    return {"calls": stats.calls, "questions": stats.questions, "largest": stats.largest}


def load_service(n: int, seconds: float, qs: list[str], service=None, unique: bool = False) -> dict:
    from assistant.service import AssistantService

    service = service or AssistantService.shared()
    t0 = time.perf_counter()
    service.warm_up()
    warm_s = time.perf_counter() - t0
    rec = Recorder()
    pick = numbered(qs, unique)
    before = batch_stats(service)

    def ask(question: str):
        answer = service.ask(question)
        if answer.error or not answer.answer.strip():
            raise RuntimeError(f"answer error {answer.error!r}")
        return answer

    def work(i: int, stop: float):
        k = i * 7
        while time.monotonic() < stop:
            rec.timed("ask", lambda q=pick(k): ask(q))
            k += 1

    elapsed = run_workers(n, seconds, work)
    result = {"warm_up_s": round(warm_s, 1), "elapsed_s": round(elapsed, 1), "ops": rec.summary(elapsed)}
    after = batch_stats(service)
    if before is not None and after is not None:
        result["batches"] = {key: after[key] - before[key] for key in ("calls", "questions")} | {"largest": after["largest"]}
    return result


# -- target: the HTTP API -------------------------------------------------------------------------------


def start_api(port: int, token: str, log_path: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_API_TOKENS_FILE"} | {"ASSISTANT_API_TOKENS": token}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)


def http_post_json(url: str, body: dict, token: str | None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=OP_TIMEOUT) as response:  # loopback only (checked)
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return json.loads(response.read())


def load_http(n: int, seconds: float, qs: list[str], url: str | None, unique: bool = False) -> dict:
    import secrets

    proc = None
    token = os.environ.get("ASSISTANT_API_TOKENS", "").split(",")[0].strip() or None
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        token = secrets.token_hex(16)
        proc = start_api(port, token, ROOT / "reports" / "load-api.log")
    check_local(url)
    try:
        t0 = time.perf_counter()
        deadline = time.monotonic() + 300
        while True:
            try:
                if json.loads(http_get(url + "/healthz")).get("status") == "ok":
                    break
            except (OSError, ValueError):
                pass  # not listening yet, or 503 while model and index load
            if proc is not None and proc.poll() is not None:
                raise SystemExit("API-Server hat sich beendet; siehe reports/load-api.log")
            if time.monotonic() > deadline:
                raise SystemExit("API-Server antwortet nicht.")
            time.sleep(0.5)
        warm_s = time.perf_counter() - t0
        rec = Recorder()
        pick = numbered(qs, unique)

        def ask(question: str):
            answer = http_post_json(url + "/v1/ask", {"question": question}, token)
            if answer.get("error") or not str(answer.get("answer", "")).strip():
                raise RuntimeError(f"answer error {answer.get('error')!r}")
            return answer

        def work(i: int, stop: float):
            k = i * 7
            while time.monotonic() < stop:
                rec.timed("ask", lambda q=pick(k): ask(q))
                k += 1

        elapsed = run_workers(n, seconds, work)
        return {"url": url, "warm_up_s": round(warm_s, 1), "elapsed_s": round(elapsed, 1), "ops": rec.summary(elapsed)}
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- target: the Streamlit app ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check_local(url: str) -> None:
    host = urlparse(url).hostname or ""
    if host not in ("localhost", "127.0.0.1", "::1") and not host.startswith("127."):
        raise SystemExit(f"Nur Lasttests gegen localhost sind erlaubt, nicht gegen {host!r}.")


def start_app(port: int, log_path: Path) -> subprocess.Popen:
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
        "--server.port", str(port), "--server.address", "127.0.0.1",
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
    ]  # fmt: skip
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))


def http_get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=OP_TIMEOUT) as response:  # loopback only (checked)
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}")
        return response.read()


class AppSession:
    """One browser-like session over Streamlit's WebSocket protocol."""

    def __init__(self, base: str):
        from websockets.sync.client import connect

        ws_url = base.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self._connection = connect(ws_url, subprotocols=["streamlit"], max_size=None, open_timeout=OP_TIMEOUT)
        self.ws = self._connection.__enter__()
        self.page_hash = ""
        self.chat_id: str | None = None

    def run(self, widget_states=None) -> list:
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        msg = BackMsg()
        state = ClientState(query_string="", page_script_hash=self.page_hash)
        if widget_states is not None:
            state.widget_states.CopyFrom(widget_states)
        msg.rerun_script.CopyFrom(state)
        self.ws.send(msg.SerializeToString())
        deadline = time.monotonic() + OP_TIMEOUT
        received = []
        while True:
            forward = ForwardMsg()
            forward.ParseFromString(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            received.append(forward)
            kind = forward.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = forward.new_session.page_script_hash
            elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element":
                element = forward.delta.new_element
                kind_el = element.WhichOneof("type")
                if kind_el == "chat_input":
                    self.chat_id = element.chat_input.id
                elif kind_el == "exception":
                    raise RuntimeError(f"exception in app: {element.exception.message[:200]}")
                elif kind_el == "alert" and element.alert.format == element.alert.ERROR:
                    raise RuntimeError(f"error box in app: {element.alert.body[:200]}")
            elif kind == "script_finished":
                if forward.script_finished not in (0, 3):
                    raise RuntimeError(f"script finished with status {forward.script_finished}")
                return received

    def load_page(self) -> None:
        self.run()
        if not self.chat_id:
            raise RuntimeError("page has no chat input")

    def ask(self, question: str) -> None:
        from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

        states = WidgetStates(widgets=[WidgetState(id=self.chat_id)])
        states.widgets[0].chat_input_value.data = question
        received = self.run(states)
        bodies = [
            f.delta.new_element.markdown.body
            for f in received
            if f.WhichOneof("type") == "delta" and f.delta.WhichOneof("type") == "new_element"
            and f.delta.new_element.WhichOneof("type") == "markdown"
        ]
        if not any(len(b) > 40 for b in bodies):
            raise RuntimeError("no answer text in the page")

    def close(self) -> None:
        self._connection.__exit__(None, None, None)


def load_app(n: int, seconds: float, qs: list[str], url: str | None, asks_per_session: int) -> dict:
    proc = None
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_app(port, ROOT / "reports" / "load-streamlit.log")
    check_local(url)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if http_get(url + "/_stcore/health").strip() == b"ok":
                    break
            except OSError:
                pass
            if proc is not None and proc.poll() is not None:
                raise SystemExit("Streamlit-Server hat sich beendet; siehe reports/load-streamlit.log")
            if time.monotonic() > deadline:
                raise SystemExit("Streamlit-Server antwortet nicht.")
            time.sleep(0.5)
        t0 = time.perf_counter()
        warm = AppSession(url)  # the first session loads the model; not part of the measurement
        warm.load_page()
        warm.ask(qs[0])
        warm.close()
        warm_s = time.perf_counter() - t0
        rec = Recorder()

        def work(i: int, stop: float):
            k = i * 11
            while time.monotonic() < stop:
                rec.timed("health", lambda: http_get(url + "/_stcore/health"))
                rec.timed("page_shell", lambda: http_get(url + "/"))
                session = rec.timed("session_connect", lambda: AppSession(url))
                if session is None:
                    continue
                try:
                    if rec.timed("page_load", session.load_page) is None and not session.chat_id:
                        continue
                    for _ in range(asks_per_session):
                        if time.monotonic() >= stop:
                            break
                        rec.timed("ask", lambda q=qs[k % len(qs)]: session.ask(q))
                        k += 1
                finally:
                    try:
                        session.close()
                    except Exception:
                        pass

        elapsed = run_workers(n, seconds, work)
        return {"url": url, "warm_up_s": round(warm_s, 1), "elapsed_s": round(elapsed, 1), "ops": rec.summary(elapsed)}
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- report ---------------------------------------------------------------------------------------


TARGETS = ("service", "app", "http")


def _rows(result: dict):
    for target in TARGETS:
        for op, row in (result.get(target) or {}).get("ops", {}).items():
            yield target, op, row


def markdown(result: dict, baseline: dict | None = None) -> str:
    unique = result.get("unique", False)
    lines = [
        "## Last: gleichzeitige neue Fragen, jede wird eingebettet" if unique else "## Last: gleichzeitige Fragen (Dienst, Streamlit-App, HTTP-API)",
        "",
        f"Stand {result['date']} · Befehl: `{result['command']}` · {result['cpus']} CPU-Kerne, "
        f"Last (1 min) vorher/nachher {result['load_before']}/{result['load_after']}"
        + (" (andere Prozesse liefen mit)" if result["load_before"] > 1.5 else "")
        + f" · {result['workers']} gleichzeitige Nutzer je Ziel, {result['seconds']} s je Ziel · "
        f"OMP_WAIT_POLICY={result['omp_wait_policy']} · "
        + (
            f"jede Frage neu (eine von {result['distinct_questions']} Testset-Fragen mit laufender Nummer, also nie im Frage-Cache)."
            if unique
            else f"{result['distinct_questions']} verschiedene Fragen aus dem Testset (Wiederholungen kommen aus dem Frage-Cache)."
        ),
        "",
        "| Ziel | Vorgang | Anzahl | Durchsatz (/s) | p50 (ms) | p95 (ms) | max (ms) | Fehler |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for target, op, row in _rows(result):
        lines.append(
            f"| {target} | {op} | {row['count']} | {row['per_s']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | {row['errors']} |"
        )
    batches = (result.get("service") or {}).get("batches")
    if batches and batches["calls"]:
        lines += [
            "",
            f"Frage-Einbettung im Dienst: {batches['questions']} Fragen in {batches['calls']} Modellaufrufen "
            f"(im Mittel {batches['questions'] / batches['calls']:.1f} je Aufruf, größter Stapel {batches['largest']}).",
        ]
    if baseline is not None:
        before = {(t, op): row for t, op, row in _rows(baseline)}
        lines += [
            "",
            f"Vorher/nachher – vorher: `{baseline['command']}` ({baseline['date']}, Last {baseline['load_before']}/{baseline['load_after']}"
            + (f", {baseline['label']}" if baseline.get("label") else "")
            + ")",
            "",
            "| Ziel | Vorgang | Durchsatz (/s) vorher → nachher | p95 (ms) vorher → nachher | max (ms) vorher → nachher | Fehler vorher → nachher |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for target, op, row in _rows(result):
            old = before.get((target, op))
            if old is not None:
                lines.append(
                    f"| {target} | {op} | {old['per_s']} → {row['per_s']} | {old['p95_ms']} → {row['p95_ms']} | "
                    f"{old['max_ms']} → {row['max_ms']} | {old['errors']} → {row['errors']} |"
                )
    lines += [
        "",
        "`service`: Threads rufen `AssistantService.shared().ask()` (eine geladene Instanz, wie in der App). "
        "`app`: je Runde Health-Check, Seitenhülle (`/`), neue Sitzung über den WebSocket der App mit "
        "vollständigem Skriptlauf (`page_load`, entspricht dem Öffnen der Seite im Browser) und "
        f"{result['asks_per_session']} Fragen über das Chat-Eingabefeld (`ask`: bis der Skriptlauf mit Antwort fertig ist). "
        "`http`: `POST /v1/ask` an `assistant serve` mit Zugangstoken (`ask`: bis die vollständige JSON-Antwort da ist). "
        "Fehler = Ausnahme, HTTP-Fehler, Fehlermeldung in der App, fehlende Antwort oder Zeitüberschreitung "
        f"({OP_TIMEOUT:.0f} s). Aufwärmen (Modell laden) ist nicht mitgemessen.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--target", nargs="+", choices=[*TARGETS, "both", "all"], default=["all"],
        help="service, app, http (mehrere möglich); both = service und app, all = alle drei",
    )
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="Sekunden je Ziel")
    parser.add_argument("--url", help="laufender Streamlit-Server (nur localhost); sonst wird einer gestartet")
    parser.add_argument("--api-url", help="laufende HTTP-API (nur localhost; Token aus ASSISTANT_API_TOKENS); sonst wird eine gestartet")
    parser.add_argument("--unique", action="store_true", help="service und http: jede Frage mit laufender Nummer, nie im Frage-Cache")
    parser.add_argument("--baseline", type=Path, help="JSON eines früheren Laufs für eine Vorher/nachher-Tabelle")
    parser.add_argument("--label", help="Beschreibung dieses Laufs im JSON (z. B. 'ohne Bündelung')")
    parser.add_argument("--asks-per-session", type=int, default=2)
    parser.add_argument("--json", type=Path, default=REPORT)
    parser.add_argument("--update-docs", action="store_true", help="Abschnitt in docs/benchmarks.md ersetzen")
    parser.add_argument("--section", default="reliability-load", help="Name des Abschnitts in docs/benchmarks.md")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= MAX_WORKERS:
        parser.error(f"--concurrency muss zwischen 1 und {MAX_WORKERS} liegen")
    if not 0 < args.duration <= MAX_SECONDS:
        parser.error(f"--duration muss zwischen 0 und {MAX_SECONDS} s liegen")
    for url in (args.url, args.api_url):
        if url:
            check_local(url)
    targets = set()
    for name in args.target:
        targets |= {"all": set(TARGETS), "both": {"service", "app"}}.get(name, {name})
    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    qs = questions()
    result: dict = {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": ".venv/bin/python bench/load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "label": args.label,
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "workers": args.concurrency,
        "seconds": args.duration,
        "unique": args.unique,
        "asks_per_session": args.asks_per_session,
        "distinct_questions": len(set(qs)),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(nicht gesetzt, libgomp-Vorgabe)"),
        "load_before": round(os.getloadavg()[0], 1),
    }
    if "service" in targets:
        print(f"service: {args.concurrency} Nutzer, {args.duration:g} s …", flush=True)
        result["service"] = load_service(args.concurrency, args.duration, qs, unique=args.unique)
    if "app" in targets:
        print(f"app: {args.concurrency} Nutzer, {args.duration:g} s …", flush=True)
        result["app"] = load_app(args.concurrency, args.duration, qs, args.url, args.asks_per_session)
    if "http" in targets:
        print(f"http: {args.concurrency} Nutzer, {args.duration:g} s …", flush=True)
        result["http"] = load_http(args.concurrency, args.duration, qs, args.api_url, unique=args.unique)
    result["load_after"] = round(os.getloadavg()[0], 1)
    publish(markdown(result, baseline), args.section, update_docs=args.update_docs, json_path=args.json, data=result)
    errors = sum(row["errors"] for _, _, row in _rows(result))
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
