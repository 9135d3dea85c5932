"""Test sets: the item models, loading with validation, and the splits.

Two kinds of hand-written sets live in `tests/data/`:

* **Retrieval** (`retrieval_testset.jsonl`, split into `dev`/`test` by rule; `retrieval_blind.jsonl`,
  the `blind` split written by someone who never saw the engine, its tuning or the other items).
  Split rule for the first file: items are grouped by `kind`; inside each kind they are sorted by
  the number in their id and alternate dev, test, dev, test, … Appending items with higher ids never
  moves an existing item to the other half.
* **Answer usefulness** (`answer_testset.jsonl`): single questions and conversations, each with an
  explicit `split` (`dev` for tuning, `test` written blind and only reported). An answer is graded
  on what its text says (`must_include` groups of alternatives, `must_not_include`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar, Iterable, Literal, Self, Sequence

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assistant.domain import PhaseId
from assistant.settings import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / "tests" / "data"
DEFAULT_TESTSET = DATA_DIR / "retrieval_testset.jsonl"
BLIND_TESTSET = DATA_DIR / "retrieval_blind.jsonl"
ANSWER_TESTSET = DATA_DIR / "answer_testset.jsonl"

Split = Literal["dev", "test", "blind", "all"]
SPLITS: tuple[str, ...] = Split.__args__  # type: ignore[attr-defined]

ItemKind = Literal[
    "definition", "phase", "criterion", "good_practice", "driver", "operator_model", "key_finding", "multi_hop", "out_of_scope"
]
KINDS: tuple[str, ...] = ItemKind.__args__  # type: ignore[attr-defined]

AnswerKind = Literal[
    "definition", "list", "count", "compare", "how_to", "example", "phase", "meta", "onboarding", "driver",
    "operator_model", "key_finding", "out_of_scope",
]
ANSWER_KINDS: tuple[str, ...] = AnswerKind.__args__  # type: ignore[attr-defined]

CATALOGUE_ID = re.compile(r"^(?:P[1-5]|D|T[1-7]|K\d{2}|M\d{2}|GP\d{2})$")


def is_catalogue_id(evidence: str) -> bool:
    return bool(CATALOGUE_ID.match(evidence))


class TestsetError(ValueError):
    """The test-set file cannot be read or has an invalid line; message in German."""

    __test__ = False  # not a pytest test class


class _TestQuestion(BaseModel):
    """What every hand-written test question shares: exactly the out-of-scope ones are unanswerable,
    and those leave the fields named in `ANSWER_FIELDS` empty. A subclass declares the fields
    (`kind`, `answerable` and its answer fields) and checks an answerable item in `_check_answerable`."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    ANSWER_FIELDS: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.answerable == (self.kind == "out_of_scope"):
            raise ValueError("answerable must be false exactly for kind out_of_scope")
        if self.answerable:
            self._check_answerable()
        elif any(getattr(self, name) not in (None, []) for name in self.ANSWER_FIELDS):
            *first, last = self.ANSWER_FIELDS
            raise ValueError(f"out_of_scope items have no {', '.join(first)} or {last}")
        return self

    def _check_answerable(self) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# Retrieval items
# ---------------------------------------------------------------------------------------------


class EvalItem(_TestQuestion):
    """One hand-written retrieval question (q… in the dev/test file, b… in the blind file)."""

    ANSWER_FIELDS = ("evidence", "answer_terms", "phase")

    id: str = Field(pattern=r"^[qb]\d{3,}$")
    question: str = Field(min_length=3)
    lang: Literal["de", "en"]
    kind: ItemKind
    evidence: list[str]
    phase: PhaseId | None
    answer_terms: list[str]
    answerable: bool

    def _check_answerable(self) -> None:
        if not 1 <= len(self.evidence) <= 4:
            raise ValueError("answerable items need 1–4 evidence items")
        if not 1 <= len(self.answer_terms) <= 4:
            raise ValueError("answerable items need 1–4 answer_terms")
        if any(not e.strip() for e in self.evidence + self.answer_terms):
            raise ValueError("empty evidence or answer term")

    @property
    def number(self) -> int:
        return int(self.id[1:])

    @property
    def catalogue_evidence(self) -> list[str]:
        return [e for e in self.evidence if is_catalogue_id(e)]

    @property
    def text_evidence(self) -> list[str]:
        return [e for e in self.evidence if not is_catalogue_id(e)]


def _read_lines(path: Path) -> list[tuple[int, str]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TestsetError(f"Testset nicht lesbar: {path} ({exc.strerror or exc})") from exc
    return [(no, line) for no, line in enumerate(lines, 1) if line.strip()]


def _invalid(path: Path, line_no: int, exc: ValueError) -> TestsetError:
    first = str(exc).splitlines()[0:3]
    return TestsetError(f"Testset {path.name}, Zeile {line_no} ist ungültig: {' '.join(first)}")


def load_testset(path: Path | str | None = None) -> list[EvalItem]:
    """Read and validate a JSON-lines retrieval test set (blank lines are skipped)."""
    path = Path(path) if path else DEFAULT_TESTSET
    items: list[EvalItem] = []
    for line_no, line in _read_lines(path):
        try:
            items.append(EvalItem.model_validate_json(line))
        except ValueError as exc:
            raise _invalid(path, line_no, exc) from exc
    return items


def assign_splits(items: Iterable[EvalItem]) -> dict[str, str]:
    """id → "dev" | "test": per kind, sorted by id number, alternating dev/test (see module doc)."""
    by_kind: dict[str, list[EvalItem]] = {}
    for item in items:
        by_kind.setdefault(item.kind, []).append(item)
    out: dict[str, str] = {}
    for group in by_kind.values():
        for position, item in enumerate(sorted(group, key=lambda i: (i.number, i.id))):
            out[item.id] = "dev" if position % 2 == 0 else "test"
    return out


def split_items(items: Sequence[EvalItem], split: str) -> list[EvalItem]:
    """The items of one half ("dev", "test") or all of them ("all"), in file order."""
    if split == "all":
        return list(items)
    if split not in ("dev", "test"):
        raise ValueError(f"unknown split {split!r}")
    halves = assign_splits(items)
    return [item for item in items if halves[item.id] == split]


def load_split(split: str, path: Path | str | None = None) -> list[EvalItem]:
    """The retrieval items of a split: dev/test/all from the main file, blind from its own file."""
    if split == "blind":
        return load_testset(path or BLIND_TESTSET)
    return split_items(load_testset(path), split)


# ---------------------------------------------------------------------------------------------
# Answer-usefulness items
# ---------------------------------------------------------------------------------------------


class AnswerTurn(_TestQuestion):
    """What one question (alone or as a turn of a conversation) must get as an answer."""

    ANSWER_FIELDS = ("must_include", "evidence", "phase")

    question: str = Field(min_length=3)
    kind: AnswerKind
    must_include: list[list[str]]  # groups of alternatives; every group must be in the answer text
    must_not_include: list[str] = Field(default_factory=list)
    evidence: list[str]
    phase: PhaseId | None
    answerable: bool

    def _check_answerable(self) -> None:
        if not 1 <= len(self.must_include) <= 5:
            raise ValueError("answerable items need 1–5 must_include groups")
        if any(not group or any(not alt.strip() for alt in group) for group in self.must_include):
            raise ValueError("empty must_include group or alternative")
        if not 1 <= len(self.evidence) <= 4:
            raise ValueError("answerable items need 1–4 evidence items")


class AnswerItem(AnswerTurn):
    """A single question of the answer test set."""

    id: str = Field(pattern=r"^[dt]\d{3}$")
    split: Literal["dev", "test"]
    lang: Literal["de", "en"]


class ConversationItem(BaseModel):
    """A conversation of 2–4 turns; later turns only make sense after the earlier ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[dt]c\d{3}$")
    split: Literal["dev", "test"]
    lang: Literal["de", "en"]
    turns: list[AnswerTurn] = Field(min_length=2, max_length=4)


class AnswerSet(BaseModel):
    singles: list[AnswerItem]
    conversations: list[ConversationItem]

    def split(self, split: str) -> "AnswerSet":
        if split in ("all", "blind"):
            # the answer set has no blind file: its test half was written blind
            wanted = {"dev", "test"} if split == "all" else {"test"}
        elif split in ("dev", "test"):
            wanted = {split}
        else:
            raise ValueError(f"unknown split {split!r}")
        return AnswerSet(
            singles=[s for s in self.singles if s.split in wanted],
            conversations=[c for c in self.conversations if c.split in wanted],
        )

    def questions(self) -> list[str]:
        return [s.question for s in self.singles] + [t.question for c in self.conversations for t in c.turns]


def load_answer_set(path: Path | str | None = None) -> AnswerSet:
    """Read and validate the answer test set (single questions and conversations)."""
    path = Path(path) if path else ANSWER_TESTSET
    singles: list[AnswerItem] = []
    conversations: list[ConversationItem] = []
    seen: set[str] = set()
    for line_no, line in _read_lines(path):
        try:
            if '"turns"' in line:
                item = ConversationItem.model_validate_json(line)
                conversations.append(item)
            else:
                item = AnswerItem.model_validate_json(line)
                singles.append(item)
        except ValueError as exc:
            raise _invalid(path, line_no, exc) from exc
        if item.id in seen:
            raise TestsetError(f"Testset {path.name}, Zeile {line_no}: doppelte id {item.id}")
        seen.add(item.id)
    return AnswerSet(singles=singles, conversations=conversations)
