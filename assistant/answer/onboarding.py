"""Onboarding ("Ich bin neu – womit fange ich an?"): what the roadmap is and who published it, the
check before building anything
("Vor dem Start": reuse before own development), the five phases at a glance, the milestones of the
first phase, where the interactive roadmap is online, and a pointer to the app's "Einarbeitung" view."""

from __future__ import annotations

import re

from assistant.answer.draft import AnswerContext, Draft
from assistant.answer.extract import sentences_of
from assistant.domain import DEVELOPMENT_PHASES

BEFORE_START = "Vor dem Start"
ONLINE_TOOL = re.compile(r"https://skalierung\.smart-city-dialog\.de/?")  # the interactive roadmap the dossier points to
STRUCTURE = ("Kriterien", "Skalierungstreiber", "Phasen", "Fördermechanismen")  # sections of "Die Anwendung der Roadmap"


def onboarding(ctx: AnswerContext) -> Draft | None:
    labels, catalogue = ctx.labels, ctx.catalogue
    if (
        ctx.settings.onboarding_phase_overview
        and len(ctx.frame.phases) == 1
        and ctx.frame.target is None  # "In welche Phasen gliedert sich …?" asks for all of them
        and "phases" not in ctx.frame.inherited
    ):
        # "Ich bin neu und übernehme ein Projekt in der Pilotphase – worauf kommt es an?": that phase
        from assistant.answer.explain import phase_overview

        frame = ctx.frame
        ctx.frame = frame.model_copy(update={"topic": [], "own_topic": []})  # the newcomer's words are no topic
        draft = phase_overview(ctx)
        ctx.frame = frame
        if draft is not None and not draft.empty:
            return draft
    draft = Draft(ctx, further=False)
    if ctx.settings.onboarding_what_it_is:
        _what_it_is(ctx, draft)
    draft.add(labels["onboarding_intro"])
    before = next((c for cid in ctx.index.order if (c := ctx.index.chunks[cid]).section.endswith(BEFORE_START)), None)
    if before is not None:
        sentences = [s for s, _ in sentences_of(ctx, before)][:2]
        draft.add(labels["onboarding_before"] + " " + " ".join(draft.quote(s, before) for s in sentences))
    phases = []
    for pid in DEVELOPMENT_PHASES:
        passage = ctx.catalogue_passage(pid)
        if passage is not None:
            phases.append(f"{catalogue.phase_label(pid)} [{draft.cite(passage)}]")
    if phases:
        draft.add(labels["onboarding_phases"] + " " + " → ".join(phases))
    parts = []
    for section in STRUCTURE:
        chunk = next((c for cid in ctx.index.order if (c := ctx.index.chunks[cid]).section.endswith(f"> {section}")), None)
        if chunk is not None:
            parts.append(f"{section} [{draft.cite(chunk)}]")
    if parts:
        draft.add(labels["onboarding_structure"] + " " + ", ".join(parts) + ". " + catalogue.coverage_note(ctx.frame.lang))
    milestones = catalogue.milestones(DEVELOPMENT_PHASES[0])
    if milestones:
        n = draft.cite(ctx.catalogue_passage(DEVELOPMENT_PHASES[0]))
        draft.add(labels["onboarding_first"] + " " + "; ".join(f"{m.name} ({m.id})" for m in milestones) + f" [{n}]")
    tool = next(((c, m.group(0)) for cid in ctx.index.order if (m := ONLINE_TOOL.search((c := ctx.index.chunks[cid]).text))), None)
    if tool is not None:
        draft.add(f"{labels['onboarding_tool']} {tool[1]} [{draft.cite(tool[0])}]")
    draft.add(labels["onboarding_view"])
    return draft


ROADMAP_TERM = "Digitale Roadmap"  # the glossary entry that says what the roadmap is


def _what_it_is(ctx: AnswerContext, draft: Draft) -> None:
    """"Worum es geht: …": the glossary's first two sentences on the roadmap and the publisher (Impressum)."""
    from assistant.answer.define import glossary_chunk
    from assistant.answer.meta import publisher_line

    parts = []
    chunk = glossary_chunk(ctx, ROADMAP_TERM)
    if chunk is not None:
        parts += [draft.quote(s, chunk) for s, _ in sentences_of(ctx, chunk)[:2]]  # what it is, what it structures
    publisher = publisher_line(ctx)
    if publisher is not None:
        parts.append(f"{ctx.labels['meta_facets']['publisher']}: {draft.quote(publisher[1], publisher[0])}")
    if parts:
        draft.add(f"{ctx.labels['onboarding_what']} " + " ".join(parts))
