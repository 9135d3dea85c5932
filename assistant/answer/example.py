"""Examples: the good practices that fit the frame's topic and phase, with what each example shows.

Candidates are the catalogue's good practices. Each is scored by how close its catalogue entry and
the dossier passages about it are to the question, plus a bonus when the question names it or when
it belongs to the asked phase. The best one is presented with its place and phase, its catalogue
summary and a short verbatim extract from the dossier; close runners-up follow as further examples.
"""

from __future__ import annotations

import re

from assistant.answer.criteria_match import criterion_scores
from assistant.answer.draft import AnswerContext, Draft
from assistant.answer.extract import extract, render
from assistant.answer.findings import numbered_key_finding
from assistant.catalogue import GoodPractice
from assistant.frames.lexicon import fold_text
from assistant.schema import Passage

NAMED_BONUS = 0.3  # the question names the good practice
PHASE_BONUS = 0.08  # the good practice belongs to the asked phase
CRITERION_BONUS = 0.08  # the catalogue links the good practice to a criterion the question is about
OPERATOR_BONUS = 0.08  # the good practice's texts name the operator type the question is about ("ein Verein")
RUNNER_UP_MARGIN = 0.04  # further examples within this of the best
_PLURAL = re.compile(r"beispiele|good practices|practices|examples|welche (städte|kommunen|beispiele)|mehrere|weitere", re.IGNORECASE)


def _passages_about(ctx: AnswerContext, gp: GoodPractice) -> list[Passage]:
    return [
        Passage(chunk=c, score=0.0)
        for cid in ctx.index.order
        if (c := ctx.index.chunks[cid]).source == "dossier" and gp.id in c.good_practices
    ]


def _asked_criteria(ctx: AnswerContext) -> set[str]:
    """The criteria the example should illustrate: those the question names, else the one its words
    match clearly best ("ein Beispiel dafür, dass Systeme sauber zusammenspielen": K16), see
    settings.example_criterion_match_*."""
    if ctx.frame.criteria:
        return set(ctx.frame.criteria)
    s = ctx.settings
    if s.example_criterion_match_min is None or ctx.frame.good_practices or ctx.frame.follow_up:
        return set()
    ranked = criterion_scores(ctx.index, ctx.vector)
    if len(ranked) >= 2 and ranked[0][1] >= s.example_criterion_match_min and ranked[0][1] - ranked[1][1] >= s.example_criterion_match_margin:
        return {ranked[0][0]}
    return set()


def _without_example(ctx: AnswerContext):
    """The one criterion the example is asked for, when neither the catalogue links a good practice
    to it nor the dossier names it where it presents one (the Exit-Strategie has none; the Proof of
    Concept has the Berlin data governance measure, which the dossier calls its example)."""
    if len(ctx.frame.criteria) != 1 or ctx.frame.good_practices:
        return None
    criterion = ctx.catalogue.criterion(ctx.frame.criteria[0])
    if criterion is None or criterion.good_practices or any(criterion.id in gp.criteria for gp in ctx.catalogue.good_practices):
        return None
    names = [fold_text(n) for n in (criterion.name, *criterion.variants) if n]
    for gp in ctx.catalogue.good_practices:
        texts = fold_text(" ".join([gp.summary or "", *(p.chunk.text for p in _passages_about(ctx, gp))]))
        if any(n in texts for n in names):
            return None
    return criterion


def _score(ctx: AnswerContext, gp: GoodPractice, asked: set[str]) -> float:
    sims = [ctx.similarity(f"catalogue-{gp.id}")] + [ctx.similarity(p.chunk.id) for p in _passages_about(ctx, gp)]
    score = max(sims)
    if gp.id in ctx.frame.good_practices:
        score += NAMED_BONUS
    if gp.phase in ctx.frame.phases:
        score += PHASE_BONUS
    named = (ctx.catalogue.criterion(c) for c in asked)
    linked = set(gp.criteria) | {c.id for c in named if c is not None and gp.id in c.good_practices}
    if linked & asked:
        score += CRITERION_BONUS
    if ctx.frame.operator_types and _names_operator(ctx, gp):
        score += OPERATOR_BONUS
    return score


def _names_operator(ctx: AnswerContext, gp: GoodPractice) -> bool:
    """Do the good practice's catalogue entry or dossier passages name one of the asked operator
    types by one of its wordings ("Verein", "Stadtwerke", …)?"""
    texts = [fold_text(" ".join(x for x in (gp.place, gp.summary) if x))] + [fold_text(p.chunk.text) for p in _passages_about(ctx, gp)]
    for key in ctx.frame.operator_types:
        for surface in [key, *ctx.lexicon.surfaces("operator_type", key)]:
            pattern = re.compile(rf"(?<!\w){re.escape(fold_text(surface))}")
            if any(pattern.search(t) for t in texts):
                return True
    return False


def ranked_practices(ctx: AnswerContext) -> list[tuple[float, GoodPractice]]:
    asked = _asked_criteria(ctx)
    ranked = sorted(((_score(ctx, gp, asked), gp) for gp in ctx.catalogue.good_practices), key=lambda x: -x[0])
    if ctx.frame.phases:
        in_phase = [x for x in ranked if x[1].phase in ctx.frame.phases]
        if in_phase:
            ranked = in_phase + [x for x in ranked if x not in in_phase]
    return ranked


def _towns_not_practices(ctx: AnswerContext, best_score: float) -> bool:
    """Does a retrieved dossier passage that presents no catalogue good practice fit the question
    clearly better than the best good practice, which fits it only weakly? (Only when the question
    names no good practice, phase or criterion: those choose among the catalogue's, or say that a
    criterion has no example.)"""
    s = ctx.settings
    if s.example_weak_below <= 0 or ctx.frame.good_practices or ctx.frame.phases or ctx.frame.criteria or best_score >= s.example_weak_below:
        return False
    free = [p.chunk.id for p in ctx.passages[: s.answer_pool] if p.chunk.source == "dossier" and not p.chunk.good_practices]
    return any(ctx.similarity(cid) >= best_score + s.example_passage_margin for cid in free)


def example(ctx: AnswerContext) -> Draft | None:
    if not ctx.frame.good_practices and ctx.settings.key_finding_by_number and numbered_key_finding(ctx.index, ctx.question):
        # "Welche Städte werden beim siebten Kernergebnis als Beispiele genannt?": what that finding's
        # section says (its examples are towns, not catalogue good practices)
        from assistant.answer.explain import explain

        return explain(ctx)
    ranked = ranked_practices(ctx)
    if not ranked:
        return None
    if _towns_not_practices(ctx, ranked[0][0]):
        # "Wie haben andere Städte ihre Ratsleute früh mitgenommen?": the dossier's examples are
        # towns named in a passage (Kaiserslautern, Gütersloh, Bamberg), no catalogue good practice
        from assistant.answer.explain import explain

        return explain(ctx)
    labels, catalogue = ctx.labels, ctx.catalogue
    best_score, best = ranked[0]
    draft = Draft(ctx)
    draft.focus["good_practices"] = [best.id]
    unlinked = _without_example(ctx)
    if unlinked is not None:
        # "Gibt es dafür ein Beispiel?" after the Exit-Strategie: say that the sources have none for it
        draft.add(labels["no_linked_example"].format(name=unlinked.name, id=unlinked.id) + f" [{draft.cite(ctx.catalogue_passage(unlinked.id))}]")
    details = "; ".join(x for x in (best.place, catalogue.phase_label(best.phase)) if x)
    n = draft.cite(ctx.catalogue_passage(best.id))
    lead = labels["example_closest" if unlinked is not None else "example"].format(name=best.name) + (f" ({details})" if details else "") + f". {best.summary} [{n}]"
    draft.add(lead)
    about = _passages_about(ctx, best)
    if about:
        used = len(lead.split())
        parts = extract(ctx, about, max_words=max(30, ctx.max_words - used), second=False, max_sentences=3)
        if parts:
            draft.add(render(draft, parts))
    wants_several = bool(_PLURAL.search(ctx.question))
    others = [gp for score, gp in ranked[1:] if wants_several or score >= best_score - RUNNER_UP_MARGIN][:2]
    if others:
        draft.add(
            f"{labels['further_examples']}: "
            + "; ".join(
                f"„{gp.name}“" + (f" ({gp.place})" if gp.place else "") + f" [{draft.cite(ctx.catalogue_passage(gp.id))}]"
                for gp in others
            )
        )
    return draft
