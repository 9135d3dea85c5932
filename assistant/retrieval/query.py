"""The question as the rankers see it: cleaned (gender forms, control characters), expanded with
German terms for keyword search when it is English, and the metadata filters it carries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assistant.language import detect_language

_GENDER_FORMS = re.compile(r"(\w+?)(?:\*|:|_|/|\u00b7)(innen|in)\b", re.IGNORECASE)
_DATA = Path(__file__).parent.parent / "data"


def _term_table(name: str, word_end: bool) -> list[tuple[re.Pattern, str]]:
    """(pattern, terms to append) rows of a tab-separated table in `data/` ('#' lines are comments)."""
    end = r"\b" if word_end else ""
    pairs = []
    for line in (_DATA / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, terms = line.split("\t", 1)
            pairs.append((re.compile(rf"\b(?:{pattern}){end}", re.IGNORECASE), terms.strip()))
    return pairs


@lru_cache(maxsize=1)
def english_terms() -> list[tuple[re.Pattern, str]]:
    """(English pattern, German terms) pairs of the hand-made glossary `data/en_de_terms.tsv`."""
    return _term_table("en_de_terms.tsv", word_end=True)


def german_for(word: str) -> list[str]:
    """The German words the English term glossary gives for one English word ("costs" → "Kosten"),
    as written there; [] for a word it does not know."""
    return [g for pattern, terms in english_terms() if pattern.fullmatch(word) for g in terms.split()]


@lru_cache(maxsize=1)
def everyday_terms() -> list[tuple[re.Pattern, str]]:
    """(everyday German pattern, the study's terms) pairs of `data/de_everyday_terms.tsv`; a
    pattern may end inside a word ("Nachbar…" also finds "Nachbargemeinde")."""
    return _term_table("de_everyday_terms.tsv", word_end=False)


def expand_everyday_german(query: str) -> str:
    """A German question in office language gets the study's own terms for the same things
    appended ("Gemeinderat" → "Mandatsträger Ausschüsse …"), for keyword search only."""
    if detect_language(query) == "en":
        return query
    extra = [terms for pattern, terms in everyday_terms() if pattern.search(query)]
    return " ".join([query, *extra])


def expand_for_keywords(query: str) -> str:
    """BM25 only matches German words: an English question gets the German terms of the study
    appended (from a hand-made glossary), so keyword search can help it too."""
    if detect_language(query) != "en":
        return query
    extra = [german for pattern, german in english_terms() if pattern.search(query)]
    return " ".join([query, *extra])


def normalize_query(query: str) -> str:
    """Make a question match the dossier's wording: gender forms are spelt out both ways
    ("Bürger*innen" → "Bürgerinnen Bürger") and control characters are dropped."""
    query = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in query)
    query = _GENDER_FORMS.sub(lambda m: f"{m.group(1)}{m.group(2)} {m.group(1)}", query)
    return re.sub(r"\s+", " ", query).strip()


@dataclass(frozen=True)
class Filters:
    phase: str | None = None
    source: str | None = None
    kind: str | None = None

    def accepts(self, chunk) -> bool:
        return (
            (self.phase is None or chunk.phase == self.phase)
            and (self.source is None or chunk.source == self.source)
            and (self.kind is None or chunk.kind == self.kind)
        )

    def as_llama_filters(self):
        from llama_index.core.vector_stores.types import ExactMatchFilter, MetadataFilters

        pairs = [("phase", self.phase), ("source", self.source), ("kind", self.kind)]
        active = [ExactMatchFilter(key=k, value=v) for k, v in pairs if v]
        return MetadataFilters(filters=active) if active else None
