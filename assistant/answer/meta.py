"""Questions about the study itself: authors, publisher, date, DOI/ISBN, commissioning ministry,
method (publications, interviews, workshop), and the online roadmap. Each facet has cue words and a
locator for the passage of the dossier (Impressum, title page, introduction, method) that states it;
the answer quotes that passage verbatim."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from assistant.answer.draft import AnswerContext, Draft
from assistant.answer.extract import extract, render, sentences_of
from assistant.frames.lexicon import fold_text
from assistant.frames.operations import STRUCTURE
from assistant.schema import Chunk, Passage


@dataclass(frozen=True)
class Facet:
    name: str
    cue: re.Pattern  # on folded question text
    find: Callable[[AnswerContext], list[tuple[Chunk, list[str]]]]  # (chunk, verbatim lines/sentences)
    # matches only when no other facet does: "Wer hat die Studie …?" asks for the authors unless a
    # verb names another facet ("Wer hat die Studie herausgegeben und wann ist sie erschienen?")
    fallback: re.Pattern | None = None
    # the label of each hit after the first (default: none), e.g. the section a part of the roadmap
    # is described in ("- Fördermechanismen: …", a list item: a line may not open with a closing
    # line's label such as "Kriterien:")
    label_of: Callable[[Chunk], str] | None = None


def _section(ctx: AnswerContext, suffix: str) -> list[Chunk]:
    return [c for cid in ctx.index.order if (c := ctx.index.chunks[cid]).source == "dossier" and c.section.endswith(suffix)]


def _lines(chunk: Chunk, pattern: str | None = None) -> list[str]:
    lines = [line.strip() for line in chunk.text.split("\n") if line.strip()]
    lines = [re.sub(r"\[([^\]]+)\]\(mailto:[^)]*\)", r"\1", line) for line in lines]  # e-mail links as plain text
    return [line for line in lines if pattern is None or re.search(pattern, line)]


def _sentence_with(ctx: AnswerContext, pattern: str, sections: tuple[str, ...] = ()) -> list[tuple[Chunk, list[str]]]:
    for cid in ctx.index.order:
        chunk = ctx.index.chunks[cid]
        if chunk.source != "dossier" or (sections and not chunk.section.startswith(sections)):
            continue
        for text, _ in sentences_of(ctx, chunk):
            if re.search(pattern, text):
                return [(chunk, [text])]
    return []


def _authors(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    """The title page's line of names, then the Impressum's names with their institutions ("Wer hat
    das Dossier geschrieben?" is also asked to learn which institutes wrote it)."""
    title = [c for c in _section(ctx, "Smart-City-Lösungen skalieren: Eine Roadmap für Kommunen")]
    out = []
    for chunk in title[:1]:
        names = [line for line in _lines(chunk) if line.count(",") >= 3]
        if names:
            out.append((chunk, names[:1]))
    return out + _institutions(ctx)


def publisher_line(ctx: AnswerContext) -> tuple[Chunk, str] | None:
    """The Impressum's publisher: institute and federal office (without the street address)."""
    return next(((c, " ".join(_lines(c)[:2])) for c in _section(ctx, "> Herausgeber")), None)


def _publisher(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    own = publisher_line(ctx)
    out = [(own[0], [own[1]])] if own is not None else []
    return out + _sentence_with(ctx, r"im Auftrag des")


def _commissioned(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    return _sentence_with(ctx, r"im Auftrag des")


def _date(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    out = [(c, ["Stand: " + " ".join(_lines(c))]) for c in _section(ctx, "> Stand")[:1]]
    return out + [(c, _lines(c, r"^Bonn \d{4}$")) for c in _section(ctx, "> Vervielfältigung")[:1] if _lines(c, r"^Bonn \d{4}$")]


def _identifiers(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    return [(c, _lines(c, r"^(DOI|ISBN)")) for c in _section(ctx, "> Vervielfältigung")[:1] if _lines(c, r"^(DOI|ISBN)")]


def _method(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    out = []
    for pattern in (r"45 nationale und internationale Publikationen", r"Gespräche mit elf Expertinnen und Experten", r"Expertentworkshop|Workshop mit",
                    r"weitere \w+ Expertinnen und Experten befragt"):
        for hit in _sentence_with(ctx, pattern, sections=("1 Einführung",)):
            if hit not in out:
                out.append(hit)
    return out


def _tool(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    return _sentence_with(ctx, r"https://skalierung\.smart-city-dialog\.de")


# The sections that say how the roadmap is built: the overview, then each of its parts.
_STRUCTURE_SECTIONS = ("> Wie ist die Roadmap aufgebaut?", "> Kriterien", "> Skalierungstreiber", "> Phasen", "> Fördermechanismen")


def _structure(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    """The first sentence of the overview of the roadmap's structure and of each part's section."""
    out = []
    for suffix in _STRUCTURE_SECTIONS:
        for chunk in _section(ctx, suffix)[:1]:
            first = next((s for s, _ in sentences_of(ctx, chunk)), None)
            if first:
                out.append((chunk, [first]))
    return out


def _supervision(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    return [(c, [" ".join(_lines(c)[:3])]) for c in _section(ctx, "> Wissenschaftliche Begleitung")[:1]]


def _institutions(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    """The authors with their institutions, as the Impressum lists them (without e-mail lines)."""
    out = []
    for chunk in _section(ctx, "> Autorinnen und Autoren")[:1]:
        lines = [line for line in _lines(chunk) if "@" not in line]
        head = [line for line in lines[:1] if line.endswith(":")]  # "Koordinierungs- und Transferstelle …:"
        rest = lines[len(head):]
        if len(rest) % 2 == 0:  # names, then their institution: "Jochen Rabe (RSUP Rabe Strategic Urban Planning)"
            rest = [f"{names} ({institution})" for names, institution in zip(rest[::2], rest[1::2])]
        out.append((chunk, [" ".join(head + ["; ".join(rest)])]))
    return out


def _editors(ctx: AnswerContext) -> list[tuple[Chunk, list[str]]]:
    return [(c, [" ".join(_lines(c))]) for c in _section(ctx, "> Redaktion")[:1]]


FACETS: tuple[Facet, ...] = (  # in answer order: "Wer hat die Studie herausgegeben?" names the publisher first
    Facet("institutions", re.compile(r"einrichtung|institut|organisation|hinter (dem|den) autor|arbeiten die autor|from which|affiliat"), _institutions),
    Facet("publisher", re.compile(r"herausgeb|(he)?rausgegeben|rausgebracht|publisher|published by|who published|who put\b.{0,20}\bout\b|veroffentlicht von|wer hat .* herausgegeben"), _publisher,
          fallback=re.compile(r"von wem|wer (steckt|steht)|who('?s| is) behind|who made|von welche[mr] (amt|behorde|bundesamt|stelle)")),
    Facet("authors", re.compile(r"autor|author|geschrieben|verfasst|wrote|written"), _authors,
          fallback=re.compile(r"wer hat (die|das) (studie|dossier)|von wem|wer (steckt|steht)|who('?s| is) behind|who made")),
    Facet("commissioned", re.compile(r"auftrag|commission|ministeri|behalf|bezahlt|finanziert|gefordert|funded|paid for|financed|forschungsprogramm|forderprogramm|programme?\b"), _commissioned),
    Facet("identifiers", re.compile(r"\bdoi\b|\bisbn\b|zitier|cite"), _identifiers),
    Facet("date", re.compile(r"\bwann\b|welchem jahr|erschienen|\bstand\b|\bwhen\b|which year|\bdatum\b|\bdate\b|wie (aktuell|neu|alt)|how (recent|current|old)|up to date"), _date),
    Facet("supervision", re.compile(r"begleitet|begleitung|supervis|ansprechpart|kontakt|contact"), _supervision),
    Facet("editors", re.compile(r"redaktion|editor"), _editors),
    Facet("structure", re.compile(STRUCTURE), _structure, label_of=lambda chunk: chunk.section.split(" > ")[-1]),
    Facet("tool", re.compile(r"online|tool|webseite|website|\burl\b|adresse|\blink|interaktiv|wo finde|wo gibt es|abrufbar|aufrufen|where (can|do) (i|we) find|where is|"
                             r"herunterladen|runterladen|download"), _tool),
    Facet("method", re.compile(r"method|vorgehen|vorgegangen|wie wurde|how was|entwickelt|erarbeitet|grundlage|interview|expert|publikation|literatur|workshop|"
                               r"zu (ihren|den|diesen|seinen) (ergebnissen|erkenntnissen)|how did (they|the authors)|arrive at|come to|"
                               r"worauf (stutz|beruh|basier)|befragt|befragung|based on|"
                               # "Mit wie vielen Fachleuten haben die Autoren gesprochen?", "Who did they talk to?"
                               r"fachleut|fachgesprach|gesprochen|gesprach|interviewt|talk(ed)? to|spoke (to|with)|consulted"), _method),
)


def meta(ctx: AnswerContext) -> Draft | None:
    folded = fold_text(ctx.question)
    facets = [f for f in FACETS if f.cue.search(folded)]
    if not facets:
        facets = [f for f in FACETS if f.fallback is not None and f.fallback.search(folded)]
    names = {f.name for f in facets}
    if {"authors", "method"} <= names and re.search(r"\b(wie|how|wen|mit wem|whom|who did|with whom)\b", folded):
        # "Wie sind die Autoren zu ihren Ergebnissen gekommen?", "Who did the authors talk to?": how
        # (or whom) the authors asked, not who they are
        facets = [f for f in facets if f.name != "authors"]
    found: list[tuple[Chunk, list[str]]] = []
    labels: list[str] = []
    for facet in facets[: ctx.settings.meta_max_facets]:
        for number, hit in enumerate(facet.find(ctx)):
            if hit not in found:
                found.append(hit)  # the facet's label before its first hit only
                later = f"- {facet.label_of(hit[0])}" if facet.label_of is not None else ""
                labels.append(ctx.labels["meta_facets"].get(facet.name, "") if number == 0 else later)
    draft = Draft(ctx, further=False)
    if not found:
        # "Worum geht es in der Studie?": the introduction says it best
        pool = [p for p in ctx.passages[: ctx.settings.answer_pool] if p.chunk.source == "dossier" and not p.chunk.section.startswith("Literatur")]
        parts = extract(ctx, pool)
        if not parts:
            return None
        draft.further = True
        draft.add(render(draft, parts))
        return draft
    for (chunk, lines), label in zip(found, labels):
        quoted = " ".join(draft.quote(line, Passage(chunk=chunk, score=0.0)) for line in lines if line)
        draft.add(f"{label}: {quoted}" if label and quoted else quoted)  # the label is ours, the quote verbatim
    return draft
