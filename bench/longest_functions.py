"""The longest functions and methods in assistant/ (issue 12 target: none longer than 60 lines).

Length is `end_lineno - lineno + 1` of the `def` node as the `ast` module reports it: from the
`def` line (decorators not counted) to the last line of the body, docstring and comments inside
included. Nested functions count on their own and inside their parent. Prints a table, longest first.

    .venv/bin/python bench/longest_functions.py            # the ten longest
    .venv/bin/python bench/longest_functions.py --top 20 --limit 60
"""

from __future__ import annotations

import argparse
import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "assistant"


@dataclass(frozen=True)
class Function:
    path: str  # relative to the repository root
    name: str  # qualified inside its module, e.g. "Class.method" or "outer.<locals>.inner"
    line: int
    length: int


def functions_in(path: Path) -> list[Function]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Function] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                length = child.end_lineno - child.lineno + 1
                found.append(Function(str(path.relative_to(ROOT)), name, child.lineno, length))
                visit(child, f"{name}.<locals>.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=10, help="how many to print (default 10)")
    parser.add_argument("--limit", type=int, default=60, help="count the functions longer than this (default 60)")
    args = parser.parse_args()

    every = [f for path in sorted(PACKAGE.rglob("*.py")) for f in functions_in(path)]
    every.sort(key=lambda f: (-f.length, f.path, f.line))
    width = max((len(f"{f.path}:{f.line}") for f in every[: args.top]), default=0)
    print(f"{'lines':>5}  {'where':<{width}}  function")
    for f in every[: args.top]:
        print(f"{f.length:>5}  {f'{f.path}:{f.line}':<{width}}  {f.name}")
    over = sum(1 for f in every if f.length > args.limit)
    print(f"\n{len(every)} functions/methods in assistant/; {over} longer than {args.limit} lines.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
