"""App latency benchmark (not a test): how long a person waits for an answer in a real browser.

    .venv/bin/python bench/app_latency.py [--questions 20] [--per-session 5] [--url http://127.0.0.1:8501] [--update-docs]

Starts the Streamlit app on a free loopback port (or uses --url, localhost only), opens it in
headless Chromium through Playwright and waits until the model is loaded (the starter buttons
appear). Then it types first-seen, answerable test-set questions into the chat box, a few per
browser session, and measures from pressing Enter until the answer with its "Quellen" block is on
screen. It also times switching to the roadmap view and back, which must not reload the model.
Prints p50/p95/max and, with --update-docs, writes the "app-latency" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.evaluation import percentile  # noqa: E402
from bench.docsection import publish  # noqa: E402
from bench.load import check_local, free_port, start_app  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
TESTSET = ROOT / "tests" / "data" / "retrieval_testset.jsonl"
PLACEHOLDER = "Frage zur Roadmap stellen …"
STARTER = "Worum geht es in der Roadmap?"


def answerable_questions(n: int) -> list[str]:
    """Answerable questions in test-set order, without duplicates, never asked before in this run."""
    seen: list[str] = []
    for line in TESTSET.open(encoding="utf-8"):
        item = json.loads(line)
        if item["answerable"] and item["question"] not in seen:
            seen.append(item["question"])
    return seen[:n]


def wait_healthy(url: str, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:  # loopback only
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"Die App unter {url} antwortet nicht.")


def run(url: str, questions: list[str], per_session: int) -> dict:
    from playwright.sync_api import sync_playwright

    answer_s: list[float] = []
    switch_s: list[float] = []
    first_load_s = 0.0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True)
        try:
            for start in range(0, len(questions), per_session):
                page = browser.new_page(viewport={"width": 1366, "height": 1000}, locale="de-DE")
                started = time.perf_counter()
                page.goto(url, timeout=120_000)
                page.get_by_role("button", name=STARTER).wait_for(timeout=240_000)
                if start == 0:
                    first_load_s = time.perf_counter() - started
                for offset, question in enumerate(questions[start : start + per_session]):
                    box = page.get_by_placeholder(PLACEHOLDER)
                    box.fill(question)
                    started = time.perf_counter()
                    box.press("Enter")
                    message = page.locator('[data-testid="stChatMessage"]').nth(2 * offset + 1)
                    try:
                        message.get_by_text("Quellen", exact=True).wait_for(timeout=60_000)
                    except Exception:
                        shot = ROOT / "reports" / "app-latency-failure.png"
                        shot.parent.mkdir(exist_ok=True)
                        page.screenshot(path=str(shot), full_page=True)
                        raise SystemExit(f"Keine Antwort mit Quellen auf {question!r} (Bildschirmfoto: {shot})")
                    answer_s.append(time.perf_counter() - started)
                started = time.perf_counter()
                page.get_by_role("link", name="Roadmap").first.click()
                page.get_by_text("Abschnitte im Dossier zu dieser Phase").wait_for(timeout=60_000)
                page.get_by_role("link", name="Chat").first.click()
                page.get_by_placeholder(PLACEHOLDER).wait_for(timeout=60_000)
                switch_s.append(time.perf_counter() - started)
                page.close()
        finally:
            browser.close()
    return {"answer_s": answer_s, "switch_s": switch_s, "first_load_s": first_load_s}


def markdown(result: dict, command: str) -> str:
    answers, switches = result["answer_s"], result["switch_s"]
    within = sum(1 for s in answers if s <= 1.0)
    return "\n".join(
        [
            "## App: Wartezeit im Browser",
            "",
            f"Stand {result['date']} · Befehl: `{command}` · {os.cpu_count()} CPU-Kerne ({platform.machine()}), "
            f"Last (1 min) vorher/nachher {result['load_before']:.1f}/{result['load_after']:.1f} · "
            f"Chromium headless über Playwright, {len(answers)} erstmals gestellte, beantwortbare Fragen aus dem "
            f"Testset, {result['per_session']} je Browsersitzung.",
            "",
            "| Messung | n | p50 (s) | p95 (s) | max (s) | ≤ 1 s |",
            "|---|---:|---:|---:|---:|---:|",
            f"| Enter gedrückt → Antwort mit Quellen sichtbar | {len(answers)} | {percentile(answers, 50):.2f} | "
            f"{percentile(answers, 95):.2f} | {max(answers):.2f} | {within}/{len(answers)} |",
            f"| Wechsel zur Roadmap-Ansicht und zurück zum Chat | {len(switches)} | {percentile(switches, 50):.2f} | "
            f"{percentile(switches, 95):.2f} | {max(switches):.2f} | – |",
            "",
            f"Erster Seitenaufruf nach dem Start des Servers (Modell und Index laden): {result['first_load_s']:.1f} s. "
            "Danach teilen alle Sitzungen das geladene Modell (`st.cache_resource`); neue Sitzungen und "
            "Seitenwechsel laden es nicht neu.",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--per-session", type=int, default=5)
    parser.add_argument("--url", help="laufender Streamlit-Server (nur localhost); sonst wird einer gestartet")
    parser.add_argument("--update-docs", action="store_true", help="Abschnitt „app-latency“ in docs/benchmarks.md ersetzen")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit("Chromium fehlt (/usr/bin/chromium); installieren mit: bash scripts/browser-deps.sh")
    questions = answerable_questions(args.questions)
    load_before = os.getloadavg()[0]
    proc = None
    url = args.url
    if url:
        check_local(url)
    else:
        url = f"http://127.0.0.1:{free_port()}"
        proc = start_app(int(url.rsplit(":", 1)[1]), Path(tempfile.mkdtemp()) / "streamlit.log")
    try:
        wait_healthy(url)
        result = run(url, questions, args.per_session)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    result.update(
        date=datetime.now().strftime("%Y-%m-%d %H:%M"),
        load_before=load_before,
        load_after=os.getloadavg()[0],
        per_session=args.per_session,
    )
    command = ".venv/bin/python bench/app_latency.py " + " ".join(argv if argv is not None else sys.argv[1:])
    publish(markdown(result, command.strip()), "app-latency", update_docs=args.update_docs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
