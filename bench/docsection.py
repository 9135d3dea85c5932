"""Publish a benchmark report: print it, keep its raw data, and replace the script's own marked
section of docs/benchmarks.md (other scripts own other sections)."""

from __future__ import annotations

import json
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def replace_section(name: str, body: str, path: Path = DOCS) -> None:
    """Put `body` between `<!-- name:start -->` and `<!-- name:end -->`; append the pair if missing.
    Everything outside the markers is left exactly as it was."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def publish(text: str, section: str, *, update_docs: bool, json_path: Path | None = None, data: dict | None = None) -> None:
    """Print the Markdown report; write `data` as JSON to `json_path`; with `update_docs`, put the
    report into `section` of docs/benchmarks.md."""
    print(text)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    if update_docs:
        replace_section(section, text)
