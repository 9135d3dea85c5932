"""Load test: many concurrent askers against the shared service and against the Streamlit app.

Two targets, each run for a fixed time with a fixed number of workers (bounded: at most 64 workers
and 600 s; localhost only):

  service  In-process threads call `AssistantService.shared().ask()` – the one service the app
           shares between its sessions – with questions from tests/data/retrieval_testset.jsonl.
  app      Workers drive a running Streamlit server (or one started here on a free loopback port):
           each round does an HTTP health check (`/_stcore/health`), loads the page shell (`/`),
           opens a real session over the app's WebSocket (`/_stcore/stream`, Streamlit's own
           protobuf messages) – which runs the page script like a browser page load – and asks
           questions through the chat input, checking that each run finishes without an exception
           or error box.

Reports throughput, p50/p95/max latency and errors per operation (errors must be 0), writes JSON to
reports/load.json and, with --update-docs, the "reliability-load" section of docs/benchmarks.md.

    .venv/bin/python bench/load.py                                  # both targets, 20 workers, 60 s each
    .venv/bin/python bench/load.py --target app --url http://127.0.0.1:8501
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


def load_service(n: int, seconds: float, qs: list[str], service=None) -> dict:
    from assistant.service import AssistantService

    service = service or AssistantService.shared()
    t0 = time.perf_counter()
    service.warm_up()
    warm_s = time.perf_counter() - t0
    rec = Recorder()

    def ask(question: str):
        answer = service.ask(question)
        if answer.error or not answer.answer.strip():
            raise RuntimeError(f"answer error {answer.error!r}")
        return answer

    def work(i: int, stop: float):
        k = i * 7
        while time.monotonic() < stop:
            rec.timed("ask", lambda q=qs[k % len(qs)]: ask(q))
            k += 1

    elapsed = run_workers(n, seconds, work)
    return {"warm_up_s": round(warm_s, 1), "elapsed_s": round(elapsed, 1), "ops": rec.summary(elapsed)}


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


def markdown(result: dict) -> str:
    lines = [
        "## Last: gleichzeitige Fragen (Dienst und Streamlit-App)",
        "",
        f"Stand {result['date']} · Befehl: `{result['command']}` · {result['cpus']} CPU-Kerne, "
        f"Last (1 min) vorher/nachher {result['load_before']}/{result['load_after']}"
        + (" (andere Prozesse liefen mit)" if result["load_before"] > 1.5 else "")
        + f" · {result['workers']} gleichzeitige Nutzer je Ziel, {result['seconds']} s je Ziel · "
        f"OMP_WAIT_POLICY={result['omp_wait_policy']} · {result['distinct_questions']} verschiedene Fragen aus dem Testset.",
        "",
        "| Ziel | Vorgang | Anzahl | Durchsatz (/s) | p50 (ms) | p95 (ms) | max (ms) | Fehler |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for target in ("service", "app"):
        if target not in result:
            continue
        for op, row in result[target]["ops"].items():
            lines.append(
                f"| {target} | {op} | {row['count']} | {row['per_s']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} | {row['errors']} |"
            )
    lines += [
        "",
        "`service`: Threads rufen `AssistantService.shared().ask()` (eine geladene Instanz, wie in der App). "
        "`app`: je Runde Health-Check, Seitenhülle (`/`), neue Sitzung über den WebSocket der App mit "
        "vollständigem Skriptlauf (`page_load`, entspricht dem Öffnen der Seite im Browser) und "
        f"{result['asks_per_session']} Fragen über das Chat-Eingabefeld (`ask`: bis der Skriptlauf mit Antwort fertig ist). "
        "Fehler = Ausnahme, Fehlermeldung in der App, fehlende Antwort oder Zeitüberschreitung "
        f"({OP_TIMEOUT:.0f} s). Aufwärmen (Modell laden) ist nicht mitgemessen.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", choices=["service", "app", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="Sekunden je Ziel")
    parser.add_argument("--url", help="laufender Streamlit-Server (nur localhost); sonst wird einer gestartet")
    parser.add_argument("--asks-per-session", type=int, default=2)
    parser.add_argument("--json", type=Path, default=REPORT)
    parser.add_argument("--update-docs", action="store_true", help="Abschnitt in docs/benchmarks.md ersetzen")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= MAX_WORKERS:
        parser.error(f"--concurrency muss zwischen 1 und {MAX_WORKERS} liegen")
    if not 0 < args.duration <= MAX_SECONDS:
        parser.error(f"--duration muss zwischen 0 und {MAX_SECONDS} s liegen")
    if args.url:
        check_local(args.url)
    qs = questions()
    result: dict = {
        "date": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "command": ".venv/bin/python bench/load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "workers": args.concurrency,
        "seconds": args.duration,
        "asks_per_session": args.asks_per_session,
        "distinct_questions": len(set(qs)),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(nicht gesetzt, libgomp-Vorgabe)"),
        "load_before": round(os.getloadavg()[0], 1),
    }
    if args.target in ("service", "both"):
        print(f"service: {args.concurrency} Nutzer, {args.duration:g} s …", flush=True)
        result["service"] = load_service(args.concurrency, args.duration, qs)
    if args.target in ("app", "both"):
        print(f"app: {args.concurrency} Nutzer, {args.duration:g} s …", flush=True)
        result["app"] = load_app(args.concurrency, args.duration, qs, args.url, args.asks_per_session)
    result["load_after"] = round(os.getloadavg()[0], 1)
    publish(markdown(result), "reliability-load", update_docs=args.update_docs, json_path=args.json, data=result)
    errors = sum(row["errors"] for target in ("service", "app") if target in result for row in result[target]["ops"].values())
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
