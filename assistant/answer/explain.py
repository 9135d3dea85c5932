"""Explain / how-to and phase overview: coherent extracts from the best passages; a phase overview
leads with the phase's catalogue summary and milestones."""

from __future__ import annotations

import re
from functools import cache, partial

from assistant.answer.criteria_match import criterion_scores
from assistant.answer.define import asks_order, compare, entry_line, operator_row
from assistant.answer.draft import AnswerContext, Draft
from assistant.domain import DEVELOPMENT_PHASES, Operation
from assistant.answer.extract import Scored, extract, quotable_chunk, render, sentences_of, window, with_top_passage
from assistant.answer.findings import asked_key_finding, key_finding_lead, key_finding_sections, top_key_finding
from assistant.answer.stored import positions
from assistant.frames.frame import ASKS_FINDINGS, ASKS_ORIGIN, TRANSITION, WHICH_PHASE, asks_how_to, moves_on
from assistant.frames.lexicon import WHEN_NOUNS, capitalised_words, criteria_naming, fold_text, stem, tokens
from assistant.retrieval.query import german_for
from assistant.schema import Passage


def dossier_pool(ctx: AnswerContext) -> list[Passage]:
    """The retrieved passages an extract may quote: dossier (and user) text, best first; passages of
    the asked phase go first, and a question about one good practice quotes the passages about it
    before anything else."""
    pool = [p for p in ctx.passages[: ctx.settings.answer_pool] if quotable_chunk(p.chunk)]
    phases = set(ctx.frame.phases) if "phases" not in ctx.frame.inherited else set()
    if phases:
        pool = [p for p in pool if p.chunk.phase in phases] + [p for p in pool if p.chunk.phase not in phases]
    about = _entity(ctx)
    if about:
        pool = _about_first(ctx, pool, about)
    return pool


def _entity(ctx: AnswerContext) -> str | None:
    """The one good practice the question is about, if any: not an inherited one when the follow-up
    names a criterion or term of its own ("Und was hat CI/CD damit zu tun?" after Modul F)."""
    frame = ctx.frame
    if len(frame.good_practices) != 1 or not ctx.settings.answer_entity_passages_first:
        return None
    if "good_practices" in frame.inherited and (frame.criteria and "criteria" not in frame.inherited or frame.terms and "terms" not in frame.inherited):
        return None
    return frame.good_practices[0]


def _about_first(ctx: AnswerContext, pool: list[Passage], entry_id: str) -> list[Passage]:
    """The dossier passages the chunker linked to the entry, retrieved or not, ahead of the pool;
    they count as well retrieved as the best passage (they are what the question is about)."""
    top = max((p.score for p in pool), default=0.0)
    retrieved = {p.chunk.id: p for p in ctx.passages}
    about = [
        Passage(chunk=c, score=max(top, retrieved[cid].score if cid in retrieved else 0.0))
        for cid in _passages_about(ctx, entry_id)
        if quotable_chunk(c := ctx.index.chunks[cid])
    ]
    seen = {p.chunk.id for p in about}
    return about + [p for p in pool if p.chunk.id not in seen]


def _passages_about(ctx: AnswerContext, entry_id: str) -> list[str]:
    """The chunks linked to the entry, and (`answer_entity_continuation`) the dossier passage right
    after one of them in the same section that names no good practice itself: the description of an
    example often runs on past the passage that names it (DIGIFARM.MS: "Erkenntnisse der Pilotphase …")."""
    out: list[str] = []
    previous = None
    for cid in ctx.index.order:
        chunk = ctx.index.chunks[cid]
        linked = entry_id in chunk.good_practices
        runs_on = (
            ctx.settings.answer_entity_continuation
            and previous is not None
            and previous.id in out
            and previous.source == chunk.source == "dossier"
            and previous.section == chunk.section
            and not chunk.good_practices
        )
        if linked or runs_on:
            out.append(cid)
        previous = chunk
    return out


def stored_extract(ctx: AnswerContext, among: set[str] | None = None) -> list[tuple[Passage, list[str]]] | None:
    """When the question is very close to a stored question of a dossier passage (of `among`, if
    given), the extract starts at the sentences recorded as that question's answer (corpus/questions)."""
    if ctx.stored is None:
        return None
    match = ctx.stored.best(ctx.vector, among)
    if match is None or match.similarity < ctx.settings.stored_answer_min:
        return None
    chunk = ctx.index.chunks.get(match.chunk_id)
    if chunk is None or not quotable_chunk(chunk):
        return None
    phases = ctx.frame.phases
    if len(phases) == 1 and chunk.phase and chunk.phase != phases[0]:
        return None  # asked about one phase (named or carried over), the stored question is of another
    top = ctx.settings.stored_answer_top_passages
    if among is None and top and chunk.id not in [p.chunk.id for p in ctx.passages if quotable_chunk(p.chunk)][:top]:
        return None  # all signals of the search together rank other passages first
    sentences = [s for s, _ in sentences_of(ctx, chunk)]
    hits = positions(sentences, match.answer)
    if not hits:
        return None
    passage = Passage(chunk=chunk, score=match.similarity)
    best = Scored(passage, hits[0], sentences[hits[0]], 1.0)
    span = hits[-1] - hits[0] + 1
    text = window(ctx, best, [Scored(passage, i, sentences[i], 1.0) for i in hits], max(span, 2), ctx.max_words)
    return [(passage, text)]


def _leading_criterion(ctx: AnswerContext, pool: list[Passage]) -> str | None:
    """The catalogue criterion retrieval ranks first, clearly ahead of the best quotable passage."""
    margin = ctx.settings.explain_criterion_margin
    if margin is None or not ctx.passages:
        return None
    first = ctx.passages[0]
    if first.chunk.source != "catalogue" or first.chunk.kind != "criterion" or not first.chunk.ref_id:
        return None
    if not _in_asked_phase(ctx, first.chunk.ref_id):
        return None
    runner_up = max((p.score for p in pool), default=0.0)
    return first.chunk.ref_id if first.score - runner_up >= margin else None


def _criterion_lead(ctx: AnswerContext, pool: list[Passage]) -> tuple[str, bool] | None:
    """(criterion, found by matching) for the criterion an explanation opens with, if any."""
    leading = _leading_criterion(ctx, pool)
    if leading is not None:
        return leading, False
    f = ctx.frame
    if f.follow_up and len(f.criteria) == 1 and "criteria" in f.inherited and f.phases and "phases" not in f.inherited:
        # a follow-up that moved to another phase carries the criterion of that phase about the same
        # matter ("Und beim Transfer?" after K26: K32, conversation._same_criterion_in_new_phase)
        return f.criteria[0], True
    named = _phase_topic_criterion(ctx)
    if named is not None:
        return named, True
    matched = _matching_criterion(ctx)
    return (matched, True) if matched is not None else None


def _phase_topic_criterion(ctx: AnswerContext) -> str | None:
    """The criterion of the one phase in question whose name holds a topic word of the question
    ("Was heißt das für die Finanzierung?" about P4: "Finanzierung vertikale Skalierung")."""
    f = ctx.frame
    if not ctx.settings.explain_phase_topic_criterion or len(f.phases) != 1 or f.criteria or f.good_practices:
        return None
    return topic_criterion(ctx, f.phases[0], f.topic)


def topic_criterion(ctx: AnswerContext, phase: str, topic_words: list[str]) -> str | None:
    """The criterion of `phase` whose name holds one of the topic words; of several, the one that
    matches the question best."""
    hits = criteria_naming(ctx.catalogue, phase, {stem(t) for t in topic_words})
    if len(hits) <= 1:
        return hits[0] if hits else None
    score = dict(criterion_scores(ctx.index, ctx.vector))
    return max(hits, key=lambda c: score.get(c, 0.0))


def _matching_criterion(ctx: AnswerContext) -> str | None:
    """The criterion an explanation that names no catalogue entry is clearly about (criteria_match):
    the best, at least `explain_criterion_match_min` and ahead of the next by
    `explain_criterion_match_margin`; for a how-to question (frames.frame.HOW_TO) the bars
    `explain_how_to_criterion_min` / `..._margin` apply instead."""
    s = ctx.settings
    ranked = _criterion_ranking(ctx)
    if len(ranked) < 2:
        return None
    (first, top), (_, runner_up) = ranked[0], ranked[1]
    bars = [(s.explain_criterion_match_min, s.explain_criterion_match_margin)]
    if asks_how_to(ctx.question):
        bars.append((s.explain_how_to_criterion_min, s.explain_how_to_criterion_margin))
    if any(margin is not None and top >= low and top - runner_up >= margin for low, margin in bars):
        return first
    if s.explain_when_same_phase_lead and top >= s.explain_criterion_match_min and when_in_one_phase(ctx.question, ctx.catalogue, first, ranked[1][0]):
        # "Ab wann müssen wir an Standards und Schnittstellen denken?": K16 and K14 match about
        # equally, but both belong to P2 – the lead's phase line answers the question either way
        return first
    return None


def when_in_one_phase(question: str, catalogue, first: str, second: str) -> bool:
    """Does the question ask when something is due, and do its two best criteria share their phase?"""
    if not _ASKS_WHEN.search(fold_text(question)):
        return False
    a, b = catalogue.get(first), catalogue.get(second)
    return a is not None and b is not None and bool(a.phases) and a.phases == b.phases


# A question for when in the course of a project something is due ("Ab wann …?", "In welcher Phase …?")
_ASKS_WHEN = re.compile(r"\b(ab wann|wann sollte\w*|wann muss\w*|zu welchem zeitpunkt|in welcher phase|how early|when should|at what point|which phase)\b")


def _criterion_ranking(ctx: AnswerContext) -> list[tuple[str, float]]:
    """All criteria, best match first, for a question that names no catalogue entry (nor, unless
    `explain_criterion_match_named` allows it for a how-to question, a phase or operator type)."""
    f = ctx.frame
    named = f.phases or f.operator_types
    if f.follow_up or f.criteria or f.good_practices or f.drivers:
        return []
    if named and not (ctx.settings.explain_criterion_match_named and asks_how_to(ctx.question)):
        return []
    return [(c, score) for c, score in criterion_scores(ctx.index, ctx.vector) if _in_asked_phase(ctx, c)]


def _in_asked_phase(ctx: AnswerContext, criterion: str) -> bool:
    """Is the criterion filed under the one phase the question names itself (any criterion when it
    names none, or several)? "Unser Pilot läuft gut. Wie bringen wir die Lösung in den Regelbetrieb?"
    asks about P4: a P3 criterion is no lead."""
    phases = ctx.frame.phases if "phases" not in ctx.frame.inherited else []
    if len(phases) != 1 or not ctx.settings.explain_criterion_in_asked_phase:
        return True
    entry = ctx.catalogue.get(criterion)
    if entry is not None and not entry.phases:
        # the catalogue does not know its phase: no lead for a question about one phase
        # (settings.explain_criterion_unknown_phase_in_phase)
        return ctx.settings.explain_criterion_unknown_phase_in_phase
    return entry is None or phases[0] in entry.phases


def _finding_ranked_first(ctx: AnswerContext, criterion_lead) -> str | None:
    """The key finding whose passage retrieval ranks first, for an explanation that names nothing
    and that no criterion clearly answers (settings.explain_key_finding_lead_rank). `criterion_lead`
    gives `_criterion_lead(ctx, pool)`, computed once per explanation."""
    frame = ctx.frame
    if not ctx.settings.explain_key_finding_lead_rank or frame.operation != Operation.EXPLAIN or frame.phases or frame.follow_up or frame.entity_count:
        return None  # a phase, a follow-up or a named entry has answers of its own
    finding = top_key_finding(ctx, ctx.settings.explain_key_finding_lead_rank)
    return finding if finding is not None and criterion_lead() is None else None


def explain(ctx: AnswerContext) -> Draft | None:
    pool = dossier_pool(ctx)
    draft = Draft(ctx)
    criterion_lead = cache(partial(_criterion_lead, ctx, pool))  # asked by two branches, computed once
    about = _entity(ctx)
    among = {p.chunk.id for p in pool} & set(_passages_about(ctx, about)) if about else None
    max_words = ctx.max_words
    # the sentences that give an aspect the question asks for come first ("Ab wann …?", "Was hat man
    # daraus gelernt?"): in a follow-up on an example, and (explain_aspect_everywhere) in any explanation
    bonus = aspect_bonus(ctx) if about and among or ctx.settings.explain_aspect_everywhere else None
    if about and among:
        # a question about one good practice: its catalogue facts (place, years, who), then only what
        # the dossier says about it; a follow-up on it that asks for an aspect the catalogue line does
        # not give ("Was hat man daraus gelernt?") gets the dossier only, that aspect's sentences first
        repeat = ctx.settings.explain_entry_line_in_follow_ups or "good_practices" not in ctx.frame.inherited or bonus is None
        line = entry_line(ctx, draft, about) if repeat else None
        if line:
            draft.add(line)
            max_words = max(40, max_words - len(line.split()))
        pool = [p for p in pool if p.chunk.id in among]
    elif ctx.settings.answer_key_finding_first and (finding := asked_key_finding(ctx) or _finding_ranked_first(ctx, criterion_lead)) is not None:
        # "Was ist mit harmonisierter Entwicklung gemeint?": what the key finding itself says
        top = max((p.score for p in pool), default=0.0)
        pool = [Passage(chunk=c, score=top) for c in key_finding_sections(ctx)[finding]]
        among = {p.chunk.id for p in pool}
        lead = key_finding_lead(ctx, finding) if ctx.settings.key_finding_lead_first else None
        if lead is not None:
            # the finding's title (its heading in the dossier), its own summary, then the sentence of
            # its section that fits the question best
            chunk, sentences = lead
            draft.add(ctx.labels["key_finding_title"].format(title=finding) + f" [{draft.cite(chunk)}]")
            draft.add(render(draft, [(Passage(chunk=chunk, score=top), sentences)]))
            max_words = max(30, max_words - sum(len(x.split()) for x in sentences))
            said = set(sentences)
            # the best sentence beyond the summary (a summary sentence never wins: it was just quoted)
            beyond = (lambda x: -1.0 if x in said else 0.0) if ctx.settings.key_finding_beyond_lead else None
            parts = [(p, [x for x in xs if x not in said]) for p, xs in extract(ctx, pool, max_words=max_words, second=False, max_sentences=2, bonus=beyond)]
            parts = [(p, xs) for p, xs in parts if xs]
            if parts:
                draft.add(render(draft, parts))
            return draft
    elif ctx.settings.explain_operator_row_first and len(ctx.frame.operator_types) == 1 and ctx.frame.entity_count == 1:
        # "Welche Vorteile hat ein Betrieb durch ein privates Unternehmen?": that operator's row of
        # Abbildung 3 (who it is, what it brings), then the dossier on the question
        row = operator_row(ctx, draft, ctx.frame.operator_types[0])
        if row:
            draft.add(row)
            max_words = max(40, max_words - len(row.split()))
    elif (lead := criterion_lead()) is not None:
        criterion, matched = lead
        # a criterion found by matching (not ranked first by retrieval) leads briefly (name, phase,
        # summary); the dossier extract gets the words the lead leaves
        line = entry_line(ctx, draft, criterion, brief=matched)
        if line:
            draft.add(line)
            max_words = max(40, max_words - len(line.split()))
    stored = stored_extract(ctx, among) if bonus is None else None
    parts = with_top_passage(ctx, pool, stored, max_words) if stored else extract(ctx, pool, max_words=max_words, bonus=bonus)
    if parts:
        draft.add(render(draft, parts))
    return None if draft.empty else draft


# Aspects a question may ask for (of an example, or of anything explained), and the wording of the
# dossier sentences that give them: (question pattern on folded text, sentence pattern).
_ASPECTS = (
    # "Was hat man daraus gelernt?", "What did they learn?": the findings ("Erkenntnisse … ergaben")
    (ASKS_FINDINGS,
     re.compile(r"\b(Erkenntnis\w*|gelernt|Lehren?|Erfahrungen|zeigte\w*|ergab\w*)\b")),
    # "Ab wann …?", "Wann sollte man …?", "How early …?": when (the sentences that say how early)
    (re.compile(r"\b(ab wann|wann|zu welchem zeitpunkt|how early|when)\b"),
     re.compile(r"\b(von Beginn|von Anfang|so früh|frühzeitig|frühestmöglich|frühstmöglich|rechtzeitig|zu Beginn|bereits in)\w*")),
    # "Wie lange lief das?", "Seit wann gibt es das Lab?", "When was it developed?": the years and spans
    (re.compile(r"\b(wie lange?|seit wann|von wann|bis wann|in welchem jahr|how long|since when|what year|when (was|were|did|is|has))\b"),
     re.compile(r"\b(19|20)\d\d\b|\b(Monate|Jahre)\b")),
    # "Wie messen wir, ob es wirkt?", "How do we measure success?": how success is measured
    (re.compile(r"\b(messen|misst|gemessen|messbar\w*|nachweisen|belegen|evaluier\w*|measur\w*|evaluat\w*|prove)\b"),
     re.compile(r"\b(Erfolgskriterien|KPIs?|Kennzahl\w*|messbar\w*|gemessen|Evaluation|evaluier\w*|Wirksamkeit|Begleitforschung)\b")),
    # "Woran orientieren sich die Phasen?", "Where do the drivers come from?": what they are modelled on
    (ASKS_ORIGIN,
     re.compile(r"\b(lehnen|lehnt|orientier\w*|basier\w*|beruh\w*|angelehnt|Anlehnung|Vorbild|Kategorisierung)\b")),
    # "Was war die Schwierigkeit?", "What was hard?": the challenges
    (re.compile(r"\b(schwierig\w*|problem\w*|hurden?|herausforderung\w*|difficult\w*|challeng\w*|hard)\b"),
     re.compile(r"\b(Herausforderung\w*|Schwierigkeit\w*|Hürden?|Problem\w*|schwierig\w*)\b")),
)


def aspect_bonus(ctx: AnswerContext):
    """A score bonus (extract.score_sentences) for the sentences that give the aspect the question
    asks for (`_ASPECTS`, `explain_aspect_bonus`), or None."""
    weight = ctx.settings.explain_aspect_bonus
    folded = fold_text(ctx.question).lower()
    wanted = [sentence for question, sentence in _ASPECTS if question.search(folded)]
    if not weight or not wanted:
        return None
    return lambda text: weight if any(p.search(text) for p in wanted) else 0.0


def phase_pool(ctx: AnswerContext, phase: str) -> list[Passage]:
    """Passages of the phase's own section: the retrieved ones first, then the rest of the section."""
    retrieved = [p for p in ctx.passages if p.chunk.phase == phase and quotable_chunk(p.chunk)]
    seen = {p.chunk.id for p in retrieved}
    rest = [
        Passage(chunk=c, score=0.0)
        for cid in ctx.index.order
        if (c := ctx.index.chunks[cid]).phase == phase and quotable_chunk(c) and cid not in seen and c.source == "dossier"
    ]
    return retrieved + rest


def phase_lead(ctx: AnswerContext, draft: Draft, phase: str) -> None:
    """'P3 – Pilotphase: <summary> [n]' and the milestones line, both from the catalogue."""
    entry = ctx.catalogue.get(phase)
    passage = ctx.catalogue_passage(phase)
    if entry is None or passage is None:
        return
    n = draft.cite(passage)
    labels = ctx.labels
    draft.add(f"{ctx.catalogue.phase_label(phase)}: {entry.summary} [{n}]")
    milestones = ctx.catalogue.milestones(phase)
    if milestones:
        draft.add(f"{labels['milestones_of']}: " + "; ".join(f"{m.name} ({m.id})" for m in milestones) + f" [{n}]")
    else:
        draft.add(f"{labels['no_milestones']} [{n}]")


def phase_criteria_line(ctx: AnswerContext, draft: Draft, phase: str) -> None:
    """'Weitere Kriterien dieser Phase im Katalog (5):' and one line '- Name (K26) [n]' per criterion —
    what a question about what to do or mind in one phase is answered with first (the milestones are
    already named); each criterion cited to its catalogue entry, as in a list."""
    milestones = {m.id for m in ctx.catalogue.milestones(phase)}
    rest = [(c, p) for c in ctx.catalogue.criteria_of_phase(phase) if c.id not in milestones and (p := ctx.catalogue_passage(c.id))]
    if not rest:
        return
    label = ctx.labels["more_phase_criteria" if milestones else "phase_criteria"]
    draft.add(f"{label} ({len(rest)}):\n" + "\n".join(f"- {c.name} ({c.id}) [{draft.cite(p)}]" for c, p in rest))


_NEXT = re.compile(r"\b(nach|after|following|folgt|folgende|nächste|naechste|next)\b", re.IGNORECASE)
_BEFORE = re.compile(r"\b(vor|before|preceding|vorherige|previous)\b\s+(der|dem|the)?\s*\w*\s*(phase|P\d|prototyp|pilot|verstetigung|transfer|ideenfindung)", re.IGNORECASE)


# "Welche Phase kommt nach …", "the one (right) after the pilot", "die Phase direkt nach dem Piloten"
_ASKS_NEIGHBOUR = re.compile(
    r"\b(welche|which|what)\b.{0,20}\bphase\b|\bthe (one|phase|stage)( right| directly| just| immediately)? (after|before)\b"
    r"|\bdie (phase )?(direkt |gleich |unmittelbar )?(nach|vor) (dem|der)\b"
    # "Und welche kommt direkt nach dem Piloten?", "And which one comes right after the pilot?"
    r"|\b(welche[rs]?|which( one)?) (kommt|folgt|comes|follows)\b"
    # "Was kommt nach der Ideenfindung?", "What comes after the pilot?"
    r"|\bwas (kommt|folgt) (\w+ )?(nach|vor|auf) (dem|der|den|die|das)\b|\bwhat (comes|follows|happens)( next)? (after|before) the\b",
    re.IGNORECASE,
)


def relative_phase(question: str, phase: str) -> str:
    """"Welche Phase kommt nach der Prototypentwicklung?" asks for the neighbour of the named phase."""
    if phase not in DEVELOPMENT_PHASES or not _ASKS_NEIGHBOUR.search(question):
        return phase
    i = DEVELOPMENT_PHASES.index(phase)
    if _BEFORE.search(question) and i > 0:
        return DEVELOPMENT_PHASES[i - 1]
    if _NEXT.search(question) and i + 1 < len(DEVELOPMENT_PHASES):
        return DEVELOPMENT_PHASES[i + 1]
    return phase


def _asks_for_the_phase(question: str) -> bool:
    """A question with words of its own that still asks for the phase as a whole: a move into it
    ("vom Pilot in den Regelbetrieb"), the phase before it named as done ("Unser Pilot läuft gut. Wie
    gehe ich jetzt vor?") or which phase it is ("In welcher Phase sind wir da?")."""
    folded = fold_text(question)
    return bool(TRANSITION.search(folded) or WHICH_PHASE.search(folded) or moves_on(question))


def _topic_beyond_phase(ctx: AnswerContext, phase: str) -> list[str]:
    """The question's topic words that do not just describe the phase itself ("Wir stehen mit einer
    Idee noch ganz am Anfang": "Idee" is what P1 – Ideenfindung is named after); such words make a
    phase question one about that topic in the phase (an explanation)."""
    name = fold_text(ctx.catalogue.phase_label(phase)).lower()
    words = [t for t in ctx.frame.asked_topic if not re.search(rf"\b{re.escape(t)}", name)]
    if ctx.settings.phase_topic_nouns_only and ctx.frame.lang == "de":
        # German: nouns only ("Wir sind jetzt beim Prototypen angekommen": "angekommen" says where
        # the asker stands; "Welche Rolle spielen Inkubatoren in P3?" asks about "Inkubatoren")
        # (not the words that only say when: "Unser Pilot startet Anfang nächsten Jahres")
        nouns = {fold_text(w).lower() for w in capitalised_words(ctx.question)} - WHEN_NOUNS
        words = [t for t in words if t in nouns]
        if ctx.settings.phase_topic_source_words and ctx.vocabulary is not None:
            # a noun the sources never use cannot narrow the phase ("Phase 2 – was soll da am Ende
            # auf dem Tisch liegen?": "Tisch")
            words = [t for t in words if ctx.vocabulary.uses_any([t])]
    elif ctx.settings.phase_topic_nouns_only:
        # English: words of the term glossary only, unless they just name the phase again ("need",
        # "throughout" in "… keep an eye on throughout the whole project?"; "funding" is a topic)
        words = [t for t in words if (german := {fold_text(g).lower() for g in german_for(t)}) and not german <= set(tokens(name))]
    return words


def phase_overview(ctx: AnswerContext) -> Draft | None:
    if not ctx.frame.phases:
        return None
    if len(ctx.frame.phases) >= 2 and ctx.settings.compare_order_sentence and asks_order(ctx.question):
        return compare(ctx)  # "Kommt P5 zwingend erst nach P4?": how the two relate, then each
    phase = relative_phase(ctx.question, ctx.frame.phases[0])
    if phase != ctx.frame.phases[0]:
        ctx.frame = ctx.frame.model_copy(update={"phases": [phase]})
    elif _topic_beyond_phase(ctx, phase) and not _asks_for_the_phase(ctx.question):
        # "Welche Rolle spielen Inkubatoren in der Pilotphase?": the question's own topic, in that phase
        # (see _asks_for_the_phase)
        return explain(ctx)
    draft = Draft(ctx)
    phase_lead(ctx, draft, phase)
    if ctx.settings.phase_how_to_criteria and ctx.frame.asks_what_to_mind:
        phase_criteria_line(ctx, draft, phase)  # "Was muss ich in P5 beachten?": the phase's criteria
    used = sum(len(line.split()) for line in draft.lines)
    parts = extract(ctx, phase_pool(ctx, phase), max_words=max(40, ctx.max_words - used), second=False, max_sentences=3)
    if parts:
        draft.add(render(draft, parts))
    return None if draft.empty else draft
