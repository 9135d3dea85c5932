"""Question bank: hand-written questions per indexed passage (doc2query augmentation).

`corpus/questions/*.jsonl` holds, for every dossier passage and every catalogue entry, questions
that the passage answers (everyday German, English, one keyword query), each with the verbatim
sentence(s) that answer it. A second pass (stop 29) added questions for the sentences of dossier
passages that no stored question pointed at (cosine of sentence and best own question < 0.45),
written from those passages alone; some of them are keyword queries too. They are keyed by a
stable *anchor*, not by chunk id, so they survive re-chunking:

* a dossier passage: `{"section": <heading path>, "opens": <its first words>}` — the chunk of that
  section whose text contains the opening words;
* a catalogue entry: `{"entry": "K14"}`.

The index build embeds the questions (as questions, with the query prompt); retrieval gives a
passage a term for its best-matching stored question, and the answer engine may quote the recorded
sentences. User documents have stored questions only when `assistant add --questions` made them
with a configured language model (assistant/augment.py).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.schema import Chunk

QUESTIONS_DIR = "questions"  # below the corpus directory


class Anchor(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    section: str | None = None
    opens: str | None = None
    entry: str | None = None
    document: str | None = None  # a user document's file name (questions made by `add --questions`)

    def label(self) -> str:
        return self.entry or f"{self.document or self.section} | {self.opens}"


class StoredQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=3)
    lang: Literal["de", "en"]
    style: Literal["everyday", "english", "keyword"]
    answer: list[str] = Field(min_length=1)  # verbatim sentence(s) of the passage


class QuestionGroup(BaseModel):
    """The questions of one passage."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    anchor: Anchor
    questions: list[StoredQuestion]


class ResolvedQuestion(BaseModel):
    """A stored question attached to the chunk its anchor resolves to."""

    chunk_id: str
    text: str
    lang: str
    style: str
    answer: list[str]


class QuestionBank(BaseModel):
    groups: list[QuestionGroup]
    fingerprint: str = ""  # hash of the files, part of the corpus hash

    @property
    def questions(self) -> list[StoredQuestion]:
        return [q for g in self.groups for q in g.questions]


class AnchorError(ValueError):
    """An anchor resolves to no chunk (or to several)."""


def load_question_bank(corpus_dir: Path) -> QuestionBank:
    """All question files of the corpus (an absent folder gives an empty bank)."""
    folder = Path(corpus_dir) / QUESTIONS_DIR
    return load_question_files(sorted(folder.glob("*.jsonl")) if folder.is_dir() else [])


def load_question_files(paths: list[Path]) -> QuestionBank:
    """The question groups of these files, with a fingerprint of their content."""
    groups: list[QuestionGroup] = []
    digest = hashlib.sha256()
    for path in paths:
        raw = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + hashlib.sha256(raw).digest())
        for line_no, line in enumerate(raw.decode("utf-8").splitlines(), 1):
            if line.strip():
                try:
                    groups.append(QuestionGroup.model_validate_json(line))
                except ValueError as exc:
                    raise ValueError(f"{path.name}, Zeile {line_no}: {str(exc).splitlines()[0]}") from exc
    return QuestionBank(groups=groups, fingerprint=digest.hexdigest() if groups else "")


def resolve_anchor(anchor: Anchor, chunks: list[Chunk]) -> Chunk:
    """The one chunk an anchor points at; `AnchorError` when none or several match."""
    if anchor.entry:
        found = [c for c in chunks if c.source == "catalogue" and c.ref_id == anchor.entry]
    elif anchor.document:
        opens = (anchor.opens or "").split()
        found = [c for c in chunks if c.source == "user" and c.file == anchor.document and opens and c.text.split()[: len(opens)] == opens]
    else:
        found = [
            c for c in chunks if c.source == "dossier" and c.section == anchor.section and anchor.opens and anchor.opens in c.text
        ]
    if len(found) != 1:
        raise AnchorError(f"Anker {anchor.label()!r} passt auf {len(found)} Abschnitte")
    return found[0]


def resolve_bank(bank: QuestionBank, chunks: list[Chunk], strict: bool = False) -> list[ResolvedQuestion]:
    """Attach every stored question to its chunk. Unresolvable anchors are skipped (or raise with
    `strict`): a changed dossier must not break the build, and the test suite reports them."""
    resolved: list[ResolvedQuestion] = []
    for group in bank.groups:
        try:
            chunk = resolve_anchor(group.anchor, chunks)
        except AnchorError:
            if strict:
                raise
            continue
        resolved += [
            ResolvedQuestion(chunk_id=chunk.id, text=q.text, lang=q.lang, style=q.style, answer=list(q.answer))
            for q in group.questions
        ]
    return resolved
