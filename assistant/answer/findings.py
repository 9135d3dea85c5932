"""Key findings (Kernergebnisse): the numbered subsections of the dossier's key-findings chapter,
and which of them a question names ("Was ist mit harmonisierter Entwicklung gemeint?")."""

from __future__ import annotations

import re
from collections import Counter

from assistant.answer.draft import AnswerContext
from assistant.frames.lexicon import content_stems
from assistant.schema import Chunk


def key_finding_sections(ctx: AnswerContext) -> dict[str, list[Chunk]]:
    """Title ("4. Wagniskapital-Strategie") -> its dossier passages, in dossier order."""
    return _facts(ctx.index)[0]


# "Kernergebnis 6", "das siebte Kernergebnis", "6. Kernergebnis", "key finding 3", "the third finding"
_ORDINAL = {"erst": 1, "zweit": 2, "dritt": 3, "viert": 4, "funft": 5, "fünft": 5, "sechst": 6, "siebt": 7,
            "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7}
_NUMBERED = re.compile(
    r"\b(?:kernergebnis(?:ses|se|s)?|key finding|finding)\s*(?:nr\.?|no\.?|nummer|number|#)?\s*(\d)\b"
    r"|\b(\d)\.\s*kernergebnis"
    r"|\b(erst|zweit|dritt|viert|fünft|funft|sechst|siebt)e[nmrs]?\s+kernergebnis"
    r"|\b(first|second|third|fourth|fifth|sixth|seventh)\s+(?:key\s+)?finding",
    re.IGNORECASE,
)


def numbered_key_finding(index, question: str) -> str | None:
    """The key finding the question names by its number ("Und Kernergebnis 6?", "beim siebten
    Kernergebnis"), if the dossier has a finding of that number."""
    match = _NUMBERED.search(question)
    if match is None:
        return None
    word = next(g for g in match.groups() if g)
    number = int(word) if word.isdigit() else _ORDINAL[word.lower()]
    return next((title for title in _facts(index)[0] if re.match(rf"^{number}\.", title)), None)


def named_key_finding(ctx: AnswerContext) -> str | None:
    """The one key finding the question names: by its number (`numbered_key_finding`), every word of
    its short title ("Unternehmerische Systematik", "Wagniskapital-Strategie"), or a rare long word
    of its title ("Fehlerkultur")."""
    sections = key_finding_sections(ctx)
    if not sections:
        return None
    if ctx.settings.key_finding_by_number and (numbered := numbered_key_finding(ctx.index, ctx.question)) is not None:
        return numbered
    asked = set(content_stems(ctx.question))
    rare_df = ctx.settings.key_finding_rare_df
    frequency = _facts(ctx.index)[1]
    hits = []
    for title in sections:
        words = re.sub(r"^\d+\.\s*", "", title)
        head = content_stems(words.split(":")[0])
        if len(head) >= 2 and set(head) <= asked:
            hits.append(title)
        elif any(s in asked and len(s) >= 8 and frequency[s] <= rare_df for s in content_stems(words)):
            hits.append(title)
    return hits[0] if len(hits) == 1 else None


# The question says it asks about the key findings ("nach den Kernergebnissen", "What do the key
# findings say about …").
_ASKS_KEY_FINDINGS = re.compile(r"kernergebnis|kernaussage|zentralen? ergebnis|hauptergebnis|key findings?|main findings?", re.IGNORECASE)


def asked_key_finding(ctx: AnswerContext, margin: float = 0.0) -> str | None:
    """The key finding a question about the key findings is about, when it names none by its
    title ("Worauf soll man nach den Kernergebnissen bei der Kostenplanung den Schwerpunkt legen?"):
    the section whose passages are closest to the question, ahead of the next by `margin`."""
    named = named_key_finding(ctx)
    if named is not None or not _ASKS_KEY_FINDINGS.search(ctx.question):
        return named
    sections = key_finding_sections(ctx)
    scored = sorted(((max(ctx.similarity(c.id) for c in chunks), title) for title, chunks in sections.items() if chunks), reverse=True)
    if not scored or (len(scored) > 1 and scored[0][0] - scored[1][0] < margin):
        return None
    return scored[0][1]


def top_key_finding(ctx: AnswerContext, lead_rank: int) -> str | None:
    """The key finding whose section holds the best retrieved passage, when the passage with its lead
    (the section's first) is among the first `lead_rank` retrieved: the study's own conclusion on
    what is asked ("Warum soll man sich schon am Anfang überlegen, wie man wieder aussteigt?" →
    "6. Exit-Strategie: …"). A question that matches a later passage of the section only ("wie
    Kommunen an Fachkräfte kommen", in "3. Unternehmerische Systematik") is not about the finding."""
    if not ctx.passages:
        return None
    best = ctx.passages[0].chunk.id
    leading = {p.chunk.id for p in ctx.passages[:lead_rank]}
    for title, chunks in key_finding_sections(ctx).items():
        if any(c.id == best for c in chunks):
            return title if chunks[0].id in leading else None
    return None


def key_finding_lead(ctx: AnswerContext, title: str) -> tuple[Chunk, list[str]] | None:
    """The finding's own summary: the sentences of the first paragraph of its section (the bold lead
    in the printed dossier), at most three."""
    from assistant.answer.extract import sentences_of

    chunks = key_finding_sections(ctx).get(title)
    if not chunks:
        return None
    first = chunks[0]
    paragraph = first.text.strip().split("\n\n")[0]
    lead = [s for s, _ in sentences_of(ctx, first) if s in paragraph][:3]
    return (first, lead) if lead else None


def _facts(index) -> tuple[dict[str, list[Chunk]], Counter[str]]:
    """The key-finding sections, and in how many dossier passages each content stem occurs;
    computed once per opened index."""
    return index.derive("key_findings", _compute_facts)


def _compute_facts(index) -> tuple[dict[str, list[Chunk]], Counter[str]]:
    sections: dict[str, list[Chunk]] = {}
    for cid in index.order:
        chunk = index.chunks[cid]
        parts = chunk.section.split(" > ")
        if chunk.source == "dossier" and len(parts) >= 2 and "Kernergebnisse" in parts[0] and re.match(r"^\d+\.", parts[1]):
            sections.setdefault(parts[1], []).append(chunk)
    frequency = Counter(s for c in index.chunks.values() if c.source == "dossier" for s in set(content_stems(c.text)))
    return sections, frequency
