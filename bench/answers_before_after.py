"""Answer usefulness per kind, before and after: one command for the comparison issue 10 asks for.

Checks out an earlier commit (default: the last `main` commit with the regex-routed answer engine)
into a temporary git worktree, builds that version's index in a temporary folder, and lets both
versions answer the *current* answer test set (`tests/data/answer_testset.jsonl`) with
`assistant eval --only answers`. Prints one table: per kind, singles, conversation turns, false
refusals and out-of-scope refusals, before and after.

    .venv/bin/python bench/answers_before_after.py --split test

Takes about 5–8 minutes on 2 CPU cores (one index build, two evaluations). Reports of both runs stay
in --out.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE_REF = "3a610f2"  # main before "Answer engine v2" landed (regex intents, sentence-by-sentence answers)


def run(cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def evaluate(checkout: Path, out: Path, split: str, env: dict[str, str]) -> dict:
    answer_set = ROOT / "tests" / "data" / "answer_testset.jsonl"
    cmd = [sys.executable, "-m", "assistant", "eval", "--split", split, "--only", "answers",
           "--answer-testset", str(answer_set), "--out", str(out)]
    run(cmd, checkout, env)
    return json.loads((out / "eval.json").read_text(encoding="utf-8"))["usefulness"]


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE_REF, help=f"commit to compare with (default {BEFORE_REF})")
    parser.add_argument("--split", default="test", choices=["dev", "test", "all"])
    parser.add_argument("--out", type=Path, default=None, help="folder for both reports (default: a temp folder)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="before-after-"))
    out = args.out or work
    before_tree = work / "before"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(before_tree), args.before], cwd=ROOT, check=True)
    try:
        env = dict(os.environ, PYTHONPATH=str(before_tree), ASSISTANT_INDEX_DIR=str(work / "index"),
                   ASSISTANT_USER_DOCS_DIR=str(work / "user-docs"), ASSISTANT_FEEDBACK_DB=str(work / "fb.sqlite3"))
        print(f"Baue den Index von {args.before} …", file=sys.stderr)
        run([sys.executable, "-m", "assistant", "build-index", "--quiet"], before_tree, env)
        print("Bewerte vorher …", file=sys.stderr)
        before = evaluate(before_tree, out / "before", args.split, env)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)], cwd=ROOT, check=False)
    print("Bewerte nachher …", file=sys.stderr)
    after = evaluate(ROOT, out / "after", args.split, dict(os.environ, PYTHONPATH=str(ROOT)))

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(f"Antwort richtig (Split {args.split}, {ROOT / 'tests/data/answer_testset.jsonl'}): vorher {args.before}, nachher {head}")
    print(f"| {'Gruppe':<22} | {'n':>4} | {'vorher':>8} | {'nachher':>8} |")
    print(f"|{'-' * 24}|{'-' * 6}|{'-' * 10}|{'-' * 10}|")
    for label, key in (("Einzelfragen", "singles"), ("Gesprächszüge", "turns")):
        print(f"| {label:<22} | {after[key]['n']:>4} | {pct(before[key]['correct']):>8} | {pct(after[key]['correct']):>8} |")
    for kind, m in after["by_kind"].items():
        b = before["by_kind"].get(kind, {}).get("correct")
        print(f"| {kind:<22} | {m['n']:>4} | {pct(b):>8} | {pct(m['correct']):>8} |")
    for label, key in (("fälschlich abgelehnt", "false_refusals"), ("themenfremd abgelehnt", "refused_out_of_scope")):
        print(f"| {label:<22} | {'':>4} | {pct(before['singles'].get(key)):>8} | {pct(after['singles'].get(key)):>8} |")
    print(f"Berichte: {out / 'before'}, {out / 'after'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
