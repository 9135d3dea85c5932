"""Before and after in one command: retrieval per split and answer usefulness per kind.

Checks out an earlier commit (default: the last `main` commit with the regex-routed answer engine)
into a temporary git worktree, builds that version's index in a temporary folder, and runs
`assistant eval` with both versions on the same *current* test files (`tests/data/`). Prints
R@1/R@5/MRR@10 per split (dev, test, blind) and, for the answer test set, correct answers per
kind, singles, conversation turns, false refusals and out-of-scope refusals.

    .venv/bin/python bench/before_after.py --splits dev,test,blind
    .venv/bin/python bench/before_after.py --before fc84412 --splits dev,test --reuse-index

Takes about 15 minutes on 2 CPU cores for all three splits (one index build, six evaluations).
Reports of every run stay in --out.
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
    data = ROOT / "tests" / "data"
    testset = data / ("retrieval_blind.jsonl" if split == "blind" else "retrieval_testset.jsonl")
    cmd = [sys.executable, "-m", "assistant", "eval", "--split", split, "--testset", str(testset),
           "--answer-testset", str(data / "answer_testset.jsonl"), "--out", str(out)]
    run(cmd, checkout, env)
    return json.loads((out / "eval.json").read_text(encoding="utf-8"))


def print_retrieval(splits: list[str], before: dict, after: dict) -> None:
    print("| Split | n | R@1 vorher | R@1 nachher | R@5 vorher | R@5 nachher | MRR@10 vorher | MRR@10 nachher |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for split in splits:
        b, a = before[split]["retrieval"], after[split]["retrieval"]
        print(f"| {split} | {a['n']} | {b['recall_at_1']:.3f} | {a['recall_at_1']:.3f} | {b['recall_at_5']:.3f} | "
              f"{a['recall_at_5']:.3f} | {b['mrr_at_10']:.3f} | {a['mrr_at_10']:.3f} |")


def print_usefulness(split: str, before: dict, after: dict) -> None:
    print(f"| Antwort richtig, Split {split} | n | vorher | nachher |")
    print("|---|---:|---:|---:|")
    for label, key in (("Einzelfragen", "singles"), ("Gesprächszüge", "turns")):
        print(f"| {label} | {after[key]['n']} | {pct(before[key]['correct'])} | {pct(after[key]['correct'])} |")
    for kind, m in after["by_kind"].items():
        print(f"| {kind} | {m['n']} | {pct(before['by_kind'].get(kind, {}).get('correct'))} | {pct(m['correct'])} |")
    every_before = before["singles"], before["turns"]
    every_after = after["singles"], after["turns"]
    for label, key, n_key in (("fälschlich abgelehnt", "false_refusals", "n_answerable"),
                              ("themenfremd abgelehnt", "refused_out_of_scope", "n_out_of_scope")):
        print(f"| {label} | {sum(m[n_key] for m in every_after)} | {pct(weighted(every_before, key, n_key))} | "
              f"{pct(weighted(every_after, key, n_key))} |")


def weighted(groups, key: str, n_key: str) -> float | None:
    n = sum(m[n_key] for m in groups)
    return sum(m[key] * m[n_key] for m in groups) / n if n else None


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f} %"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE_REF, help=f"commit to compare with (default {BEFORE_REF})")
    parser.add_argument("--splits", default="dev,test,blind", help="comma-separated: dev, test, blind")
    parser.add_argument("--out", type=Path, default=None, help="folder for all reports (default: a temp folder)")
    parser.add_argument(
        "--reuse-index", action="store_true",
        help="use the current index for the earlier commit too when that commit accepts it as current "
        "(same corpus, chunker and question bank; `assistant status` decides); saves the build",
    )
    args = parser.parse_args(argv)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]

    work = Path(tempfile.mkdtemp(prefix="before-after-"))
    out = args.out or work
    before_tree = work / "before"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(before_tree), args.before], cwd=ROOT, check=True)
    before: dict[str, dict] = {}
    try:
        env = dict(os.environ, PYTHONPATH=str(before_tree), ASSISTANT_INDEX_DIR=str(work / "index"),
                   ASSISTANT_USER_DOCS_DIR=str(work / "user-docs"), ASSISTANT_FEEDBACK_DB=str(work / "fb.sqlite3"))
        current = dict(env, ASSISTANT_INDEX_DIR=os.environ.get("ASSISTANT_INDEX_DIR", str(ROOT / "index")))
        status = [sys.executable, "-m", "assistant", "status"]
        if args.reuse_index and subprocess.run(status, cwd=before_tree, env=current, capture_output=True).returncode == 0:
            print(f"{args.before} nimmt den aktuellen Index an; kein Neubau.", file=sys.stderr)
            env = current
        else:
            print(f"Baue den Index von {args.before} …", file=sys.stderr)
            run([sys.executable, "-m", "assistant", "build-index", "--quiet"], before_tree, env)
        for split in splits:
            print(f"Bewerte {split} vorher …", file=sys.stderr)
            before[split] = evaluate(before_tree, out / f"before-{split}", split, env)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)], cwd=ROOT, check=False)
    after: dict[str, dict] = {}
    for split in splits:
        print(f"Bewerte {split} nachher …", file=sys.stderr)
        after[split] = evaluate(ROOT, out / f"after-{split}", split, dict(os.environ, PYTHONPATH=str(ROOT)))

    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    print(f"Vorher {args.before}, nachher {head}; Testdateien aus {ROOT / 'tests/data'}\n")
    print_retrieval(splits, before, after)
    for split in splits:
        if after[split].get("usefulness") and before[split].get("usefulness"):
            print()
            print_usefulness(split, before[split]["usefulness"], after[split]["usefulness"])
    print(f"\nBerichte: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
