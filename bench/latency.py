"""Latency benchmark (not a test): warm per-question timings of retrieval and answer composition.

Usage: .venv/bin/python bench/latency.py [--n 100] [--repeat]
Loads the model and index once, answers one warm-up question, then asks the test-set questions in
order and prints p50/p95/max of retrieve, answer and total (ms). --repeat asks every question a
second time to show the effect of the query-embedding cache.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.service import AssistantService  # noqa: E402


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--repeat", action="store_true")
    args = parser.parse_args()
    questions = [json.loads(l)["question"] for l in (ROOT / "tests/data/retrieval_testset.jsonl").open(encoding="utf-8")][: args.n]
    service = AssistantService()
    started = time.perf_counter()
    service.warm_up()
    service.ask("Was ist das Masterportal?")
    load_s = time.perf_counter() - started
    rounds = [("first ask", questions)] + ([("repeated", questions)] if args.repeat else [])
    manifest = service.status().manifest
    print(f"index: {manifest.get('chunks')} chunks, {manifest.get('sentences')} sentences, built in {manifest.get('build_seconds')} s")
    print(f"model + index load and first answer: {load_s:.1f} s")
    print(f"{'round':<10} {'n':>4} | {'retrieve p50':>12} {'p95':>7} | {'answer p50':>10} {'p95':>7} | {'total p50':>9} {'p95':>7} {'max':>7}")
    for name, batch in rounds:
        retrieve, answer, total = [], [], []
        for question in batch:
            a = service.ask(question)
            retrieve.append(a.timings_ms.retrieve)
            answer.append(a.timings_ms.answer)
            total.append(a.timings_ms.total)
        print(
            f"{name:<10} {len(batch):>4} | {statistics.median(retrieve):>12.1f} {pct(retrieve, .95):>7.1f} | "
            f"{statistics.median(answer):>10.1f} {pct(answer, .95):>7.1f} | {statistics.median(total):>9.1f} {pct(total, .95):>7.1f} {max(total):>7.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
