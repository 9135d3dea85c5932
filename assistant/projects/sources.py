"""Dossier sources: where the dossier discusses a catalogue entry, cited with section and page.

Owns choosing one passage among the dossier chunks that mention a criterion or good practice
(`AssistantService.passages_mentioning`): a chunk in the entry's own phase section comes first,
then one that names the entry in its text, then the earliest page. The excerpt is verbatim dossier
text — the sentence that names the entry and what follows it, cut at a word — and the citation
names the section path and the printed page. Nothing is paraphrased or invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Callable, Sequence

from assistant.chunking import split_sentences
from assistant.corpus import CatalogueEntry, normalize_name
from assistant.schema import Chunk

# `AssistantService.passages_mentioning`: the dossier chunks that refer to a catalogue id.
PassageSource = Callable[[str], Sequence[Chunk]]


@dataclass(frozen=True)
class PassageRef:
    """One dossier passage: where it stands and a verbatim excerpt."""

    chunk_id: str
    section: str  # full section path, e.g. "4 Entwicklungsphasen … > P1 – Ideenfindung"
    title: str  # the innermost heading
    page: int | None  # printed page number from the dossier's table of contents
    excerpt: str
    names_entry: bool  # the excerpt contains the entry's name (not just the passage's start)

    @property
    def citation(self) -> str:
        """'Dossier, Abschnitt „…“, S. 19' — or 'Seite unbekannt' where the dossier has none."""
        page = f"S. {self.page}" if self.page else "Seite im Dossier nicht angegeben"
        return f"Dossier, Abschnitt „{self.section or self.title}“, {page}"


def entry_names(entry: CatalogueEntry) -> list[str]:
    """Normalised names an entry goes by in running text, longest first."""
    names = {entry.name, *entry.variants}
    names |= {re.sub(r"\s*\([^()]*\)\s*$", "", n) for n in names}  # "MVP (Minimum Viable Product)"
    keys = {normalize_name(n) for n in names}
    return sorted((k for k in keys if len(k) >= 4), key=len, reverse=True)


def best_passage(entry: CatalogueEntry, chunks: Sequence[Chunk], excerpt_chars: int) -> PassageRef | None:
    """The passage where the dossier discusses `entry`, or None if it never does."""
    dossier = [c for c in chunks if c.source == "dossier"]
    if not dossier:
        return None
    names = entry_names(entry)
    phases = set(entry.phases)
    order = {c.id: i for i, c in enumerate(dossier)}

    def rank(chunk: Chunk) -> tuple:
        return (
            chunk.phase not in phases,  # the entry's own phase section first
            _named_sentence(chunk.text, names) is None,  # then a passage that names it
            chunk.page is None,
            chunk.page or 0,
            order[chunk.id],
        )

    chunk = min(dossier, key=rank)
    start = _named_sentence(chunk.text, names)
    return PassageRef(
        chunk_id=chunk.id,
        section=chunk.section,
        title=chunk.title,
        page=chunk.page,
        excerpt=excerpt(chunk.text, start or 0, excerpt_chars),
        names_entry=start is not None,
    )


def passage_for(entry: CatalogueEntry, source: PassageSource | None, excerpt_chars: int) -> PassageRef | None:
    if source is None:
        return None
    return best_passage(entry, source(entry.id), excerpt_chars)


@cache
def _sentences(text: str) -> tuple[tuple[str, str], ...]:
    """(sentence with whitespace collapsed, its normalised key padded with spaces) per sentence.
    Cached by text (bounded by the corpus): the page asks for the same passages on every run."""
    return tuple((re.sub(r"\s+", " ", s), f" {normalize_name(s)} ") for s in split_sentences(text))


def _named_sentence(text: str, names: list[str]) -> int | None:
    """Index (into the sentence list) of the first sentence that names the entry."""
    for i, (_, key) in enumerate(_sentences(text)):
        if any(f" {name} " in key for name in names):
            return i
    return None


def excerpt(text: str, first_sentence: int, limit: int) -> str:
    """Verbatim sentences from `first_sentence` on, as many as fit in `limit` characters; a
    sentence longer than that is cut at a word and ends in ' …'."""
    sentences = [sentence for sentence, _ in _sentences(text)][first_sentence:]
    if not sentences:
        return ""
    out = sentences[0]
    for sentence in sentences[1:]:
        if len(out) + 1 + len(sentence) > limit:
            break
        out += " " + sentence
    if len(out) > limit:
        out = out[: limit - 2].rsplit(" ", 1)[0] + " …"
    return out
