"""List and count: exact lists from the catalogue data, with their number.

Every item is cited to its catalogue entry, plus a dossier passage where the study discusses it.
The coverage caveat ("48 of 76 criteria", read from the data) appears only when criteria are
counted or listed. Counts of things outside the catalogue (publications, experts, cities) are
answered with the dossier sentence that states the number.
"""

from __future__ import annotations

import re
from typing import Callable

from assistant.answer.draft import AnswerContext, Draft
from assistant.domain import SLOT_OF_KIND
from assistant.frames.frame import ENTRY_SLOT_OF_TARGET, WHICH_PHASE
from assistant.answer.explain import dossier_pool, explain
from assistant.answer.extract import extract, render, sentences_of
from assistant.answer.findings import asked_key_finding, key_finding_sections, named_key_finding
from assistant.catalogue import CatalogueEntry, Criterion
from assistant.domain import CONTINUOUS_PHASE, DEVELOPMENT_PHASES, Operation
from assistant.frames import Target, fold_text, tokens
from assistant.frames.lexicon import CONTEXT_WORDS, KIND_TERMS, STOPWORDS, capitalised_words, content_stems, stem
from assistant.retrieval.query import german_for
from assistant.schema import Chunk

# German number words by value (0-12); "ein" is left out of `_NUMBER` (it is mostly the article)
_NUMBER_WORDS = ("null", "ein", "zwei", "drei", "vier", "fünf", "sechs", "sieben", "acht", "neun", "zehn", "elf", "zwölf")
_NUMBER = re.compile(r"\b(\d+|" + "|".join(_NUMBER_WORDS[2:]) + r")\b", re.IGNORECASE)


def _dossier_passage_for(ctx: AnswerContext, entry_id: str, phase: str | None = None) -> Chunk | None:
    """The dossier passage that discusses a catalogue entry (its own phase's section first)."""
    found = [
        c for cid in ctx.index.order
        if (c := ctx.index.chunks[cid]).source == "dossier" and (entry_id in c.criteria or entry_id in c.good_practices)
    ]
    found.sort(key=lambda c: (0 if phase and c.phase == phase else 1, -ctx.similarity(c.id)))
    return found[0] if found else None


def _item(ctx: AnswerContext, draft: Draft, entry: CatalogueEntry, extra: str = "", with_dossier: bool = True, mark: str = "") -> str:
    draft.listed.append((entry.kind, entry.id))
    if ctx.frame.operation == Operation.COUNT:
        # "Wie viele Good Practices nennt die Studie?": the number is the answer; the entries follow
        # by name only, each with its catalogue line
        extra, with_dossier = "", False
    refs = [draft.cite(ctx.catalogue_passage(entry.id))]
    if with_dossier:
        chunk = _dossier_passage_for(ctx, entry.id, entry.phase)
        if chunk is not None:
            refs.append(draft.cite(chunk))
    marks = "".join(f"[{n}]" for n in dict.fromkeys(refs))
    return f"- {entry.display_name} ({entry.id}{extra}){mark} {marks}"


def _coverage(ctx: AnswerContext) -> str:
    return ctx.catalogue.coverage_note(ctx.lang)


# "Welche Kriterien haben gar keine Phase zugeordnet?", "Which criteria have no phase?": the
# catalogue's criteria without a phase (not "an keiner bestimmten Phase", which is the group D)
_NO_PHASE = re.compile(
    r"\b(haben|hat|ist|sind|mit|stehen|steht)\b.{0,15}\b(gar )?(keine|keiner)\b (phase|phasenzuordnung)\b|\b(ohne|keine) phasenzuordnung|"
    r"\b(have|has|with) no phase\b|\bnot (assigned|linked) to (a|any) phase|\bwithout (a|any) phase"
)


def _filtered_criteria(ctx: AnswerContext) -> tuple[list[Criterion], str]:
    """The criteria the frame asks for, and a phrase naming the filter ("für P3 – Pilotphase")."""
    f, labels, catalogue = ctx.frame, ctx.labels, ctx.catalogue
    criteria = [c for c in catalogue.criteria if c.id not in f.excluded]
    what: list[str] = []
    if _NO_PHASE.search(fold_text(ctx.question)):
        criteria = [c for c in criteria if not c.phases]
        what.append(labels["for_no_phase"])
    elif f.phases:
        criteria = [c for c in criteria if any(p in c.phases for p in f.phases)]
        what.append(labels["for_phase"].format(phase=" / ".join(catalogue.phase_label(p) for p in f.phases)))
    if f.drivers:
        criteria = [c for c in criteria if c.driver in f.drivers]
        what.append(labels["for_driver"].format(driver=" / ".join(f"{d} – {catalogue.get(d).name}" for d in f.drivers if catalogue.get(d))))
    if f.workstreams:
        criteria = [c for c in criteria if set(f.workstreams) & set(c.workstreams)]
        what.append(labels["for_workstream"].format(ws=", ".join(f.workstreams)))
    mechanisms = [m for m in (catalogue.get(i) for i in f.mechanisms) if m is not None and m.criteria] if ctx.settings.list_criteria_of_mechanism else []
    if mechanisms:
        # "Welche Kriterien hängen an der Kompetenzentwicklung?": the criteria the catalogue links to M07
        linked = {c for m in mechanisms for c in m.criteria}
        criteria = [c for c in criteria if c.id in linked]
        what.append(labels["for_mechanism"].format(mechanism=" / ".join(f"{m.id} – {m.name}" for m in mechanisms)))
    if f.milestone is not None:
        criteria = [c for c in criteria if c.milestone is f.milestone]
    if f.criteria and not (f.phases or f.drivers or f.workstreams or f.milestone or mechanisms):
        criteria = [c for c in criteria if c.id in f.criteria] or criteria
    if f.excluded:
        what.append(_except(ctx))
    return criteria, " ".join(what) or labels["for_all"]


def _except(ctx: AnswerContext) -> str:
    """'außer „Durchführung eines Pilotprojektes“ (K18)': the entries the question leaves out."""
    entries = [e for e in map(ctx.catalogue.get, ctx.frame.excluded) if e is not None]
    return ctx.labels["except_entries"].format(names=", ".join(f"„{e.name}“ ({e.id})" for e in entries))


def _topic_filter(ctx: AnswerContext, entries: list[CatalogueEntry]) -> list[CatalogueEntry]:
    """A follow-up that narrows a list by topic ("Welche davon drehen sich ums Geld?"): keep the
    entries whose catalogue text is closest to the question."""
    f = ctx.frame
    if not (f.follow_up and f.own_topic and len(entries) > 3):
        return entries
    if any(getattr(f, slot) and slot not in f.inherited for slot in ("phases", "drivers", "workstreams")) or (
        f.milestone is not None and "milestone" not in f.inherited
    ):
        # "Welche davon gehören zu P1?", "Welche davon sind als Meilensteine markiert?": the named
        # phase or the milestone mark is the filter, not the other words
        return entries
    scored = sorted(entries, key=lambda e: -ctx.similarity(f"catalogue-{e.id}"))
    top = ctx.similarity(f"catalogue-{scored[0].id}")
    return [e for e in scored[:3] if ctx.similarity(f"catalogue-{e.id}") >= top - 0.03]


def _criterion_line(ctx: AnswerContext, draft: Draft, c: Criterion, show_phase: bool, with_dossier: bool) -> str:
    extra = f", {c.phase}" if show_phase and c.phase else ""
    mark = f" – {ctx.labels['milestone_mark']}" if c.milestone is True and ctx.frame.milestone is None else ""
    return _item(ctx, draft, c, extra, with_dossier, mark)


def _milestones(ctx: AnswerContext, draft: Draft, criteria: list[Criterion], what: str, count_only: bool) -> None:
    """Milestone criteria grouped by phase, each phase cited to its catalogue entry (which records them)."""
    labels, catalogue, f = ctx.labels, ctx.catalogue, ctx.frame
    if f.milestone is False:
        draft.add(_n(labels["milestones_no"].format(what=what, n=len(criteria))) + ":")
        draft.add("\n".join(_criterion_line(ctx, draft, c, True, not count_only) for c in criteria))
        unknown = [c for c in catalogue.criteria if c.milestone is None]
        draft.add(labels["milestones_unknown"].format(n=len(unknown)))
        return
    phases = list(dict.fromkeys(c.phase for c in criteria))
    if len(phases) == 1 and f.phases == phases and (passage := ctx.catalogue_passage(phases[0])) is not None:
        # one asked phase: it is named in the lead line already, no group heading
        draft.add(_n(labels["milestones_in"].format(what=what, n=len(criteria))) + f" [{draft.cite(passage)}]:")
        draft.add("\n".join(_criterion_line(ctx, draft, c, False, not count_only) for c in criteria))
        return
    draft.add(_n(labels["milestones_in"].format(what=what, n=len(criteria))) + ":")
    lines = []
    for phase in phases:
        group = [c for c in criteria if c.phase == phase]
        passage = ctx.catalogue_passage(phase) if phase else None
        head = f"{catalogue.phase_label(phase)} [{draft.cite(passage)}]:" if passage else ""
        lines.append(head + "\n" + "\n".join(_criterion_line(ctx, draft, c, False, not count_only) for c in group))
    draft.add("\n".join(lines))


def _criteria_list(ctx: AnswerContext, count_only: bool) -> Draft:
    draft = Draft(ctx, further=False, is_list=True)
    labels = ctx.labels
    criteria, what = _filtered_criteria(ctx)
    criteria = _topic_filter(ctx, criteria)
    f = ctx.frame
    topic = ""
    if ctx.settings.list_filter_criteria and not f.follow_up and not f.criteria and f.milestone is None:
        # "Welche Kriterien betreffen den Datenschutz?": those whose name or summary use the word
        criteria, topic = matching_entries(ctx, criteria)
    if f.milestone is not None:
        if not criteria and f.phases == ["D"]:
            # "über alle Phasen hinweg" asked for all milestones, not the cross-phase group D
            draft.add(labels["milestones_none"].format(what=what))
            draft.add(labels["all_phases_instead"])
            ctx.frame = f.model_copy(update={"phases": []})
            criteria, what = _filtered_criteria(ctx)
        if not criteria:
            draft.add(labels["milestones_none"].format(what=what))
            for p in f.phases:
                draft.add(f"{ctx.catalogue.phase_label(p)} [{draft.cite(ctx.catalogue_passage(p))}]")
        else:
            _milestones(ctx, draft, criteria, what, count_only)
    else:
        if not (f.phases or f.drivers or f.workstreams or f.criteria or topic) and what == labels["for_all"]:
            _study_total(ctx, draft)
        if not criteria:
            draft.add(labels["none_match"])
        else:
            source = _filter_source(ctx)
            ref = f" [{draft.cite(source)}]" if source is not None else ""
            if topic:
                scope = "" if what == labels["for_all"] else what
                head = labels["criteria_about"].format(what=scope, n=len(criteria), topic=topic).replace("  ", " ")
            else:
                head = labels["criteria_in"].format(what=what, n=len(criteria))
            listed = not count_only or len(criteria) <= 12  # a count of many states the number only
            # the count of all named criteria is what the coverage note below says ("48 der 76")
            if listed or topic or what != labels["for_all"]:
                draft.add(_n(head) + ref + (":" if listed else "."))
            if listed:
                draft.add("\n".join(_criterion_line(ctx, draft, c, not f.phases, not count_only) for c in criteria))
            milestones = [c for c in criteria if c.milestone is True]
            if milestones and source is not None:
                draft.add(labels["milestones_among"].format(ids=", ".join(c.id for c in milestones)) + f" [{draft.cite(source)}]")
    draft.add(_coverage(ctx))
    return draft


def _filter_source(ctx: AnswerContext):
    """The catalogue entry that records a filtered list: the phase or the driver asked for."""
    f = ctx.frame
    if len(f.phases) == 1 and not f.drivers:
        return ctx.catalogue_passage(f.phases[0])
    if len(f.drivers) == 1 and not f.phases:
        return ctx.catalogue_passage(f.drivers[0])
    return None


def _n(text: str) -> str:
    """'1 Kriterien' → '1 Kriterium', '1 Good Practices' → '1 Good Practice' (the plurals lists use)."""
    for plural, singular in _SINGULARS:
        text = re.sub(rf"\b1 {plural}\b", f"1 {singular}", text)
    return text


_SINGULARS = (("Kriterien", "Kriterium"), ("criteria", "criterion"), ("Good Practices", "Good Practice"), ("good practices", "good practice"))


def _study_total(ctx: AnswerContext, draft: Draft) -> None:
    """The study's own figure (76 criteria in five phases), cited to the dossier sentence stating it."""
    named, total = ctx.catalogue.coverage
    sentence = None
    for cid in ctx.index.order:
        chunk = ctx.index.chunks[cid]
        if chunk.source == "dossier" and not chunk.section.startswith(("Titelei", "Literatur")):
            for text, _ in ctx.index.sentences.get(cid, []):
                if re.search(rf"\b{total} Kriterien\b", text):
                    sentence = (text, chunk)
                    break
        if sentence:
            break
    if sentence:
        draft.add(draft.quote(sentence[0], sentence[1]))
    else:
        phases = len(DEVELOPMENT_PHASES)
        draft.add(ctx.labels["study_total"].format(total=total, phases=phases))


def _phases_list(ctx: AnswerContext) -> Draft:
    draft = Draft(ctx, further=False, is_list=True)
    catalogue = ctx.catalogue
    draft.add(ctx.labels["phases_list"].format(n=len(DEVELOPMENT_PHASES)) + ":")
    items = []
    for pid in (*DEVELOPMENT_PHASES, CONTINUOUS_PHASE):
        entry = catalogue.get(pid)
        if entry is not None:
            items.append(f"- {catalogue.phase_label(pid)}: {entry.summary} [{draft.cite(ctx.catalogue_passage(pid))}]")
            if pid in DEVELOPMENT_PHASES:
                draft.listed.append((entry.kind, pid))  # "and which one is about …?" picks from these
    draft.add("\n".join(items))
    return draft


# Glossary terms that say what kind of entry is listed, or name a phase or the roadmap itself
# (the frame's phase filter already covers those): they narrow no list.
_NOT_TOPICS = KIND_TERMS | {"Digitale Roadmap", "Transfer / horizontale Skalierung", "Verfestigung / vertikale Skalierung"}


def _term_surfaces(ctx: AnswerContext) -> dict[str, str]:
    """Folded surface forms (≥ 5 letters) of the topical glossary terms the question itself names
    ("Welches Kriterium betrifft offene Schnittstellen?" → schnittstelle, schnittstellen, …), each
    mapped to its term; not for terms a follow-up carried over."""
    f = ctx.frame
    if not ctx.settings.list_filter_terms or "terms" in f.inherited:
        return {}
    # a term named by the words of a phase or of what is listed ("pilot" in "the pilot phase",
    # "Kriterium") is no topic
    linked = ctx.lexicon.link(ctx.question)
    taken = {i for link in linked.links if link.type in ("phase", "target") for i in range(link.start, link.end)}
    own = {link.key for link in linked.links if link.type == "term" and not taken & set(range(link.start, link.end))}
    out: dict[str, str] = {}
    for term in f.terms:
        if term in _NOT_TOPICS or term not in own:
            continue
        for surface in ctx.lexicon.surfaces("term", term):
            folded = fold_text(surface)
            if len(folded) >= 5:
                out[folded] = term
    return out


def matching_entries(ctx: AnswerContext, entries: list) -> tuple[list, str]:
    """The entries of a list the question narrows it to ("Welcher davon betrifft das Team?"): those
    whose name, summary or sub-drivers use one of its topic words, when that is at most half of
    them; else all entries. Also returns the matching words as the user wrote them."""
    if not ctx.settings.list_topic_filter:
        return entries, ""
    f = ctx.frame
    words = [w for w in f.asked_topic if len(w) >= 4]
    if ctx.settings.list_filter_nouns_only and f.lang == "de":
        # German nouns only: "für kleine Kommunen" says who asks, not which entries
        nouns = {fold_text(w) for w in capitalised_words(ctx.question)}
        words = [w for w in words if w in nouns]
    wanted = {stem(w): w for w in words}
    if ctx.vocabulary is not None:  # words used all over the sources ("digital") narrow nothing
        limit = ctx.settings.list_filter_max_passages
        wanted = {s: w for s, w in wanted.items() if ctx.vocabulary.passages_with[s] <= limit}
    # word → as asked: a German word also opens compounds ("Daten" in "Datenweitergabe"); an
    # English one stands for its German glossary terms ("data" → "Daten"): the catalogue is German
    heads = {fold_text(w): w for w in wanted.values()}
    if f.lang == "en":
        heads |= {fold_text(g): w for w in words for g in german_for(w)}
    heads = {h: w for h, w in heads.items() if len(h) >= 5}
    surfaces = _term_surfaces(ctx)
    if not wanted and not heads and not surfaces:
        return entries, ""
    hits, used, terms_used = [], set(), set()
    for entry in entries:
        text = " ".join([entry.name or "", entry.summary or "", getattr(entry, "place", None) or "", *getattr(entry, "sub_drivers", ())])
        common = set(wanted) & set(content_stems(text))
        words_of = set(tokens(text))
        common |= {stem(h) for h in heads if any(t.startswith(h) and len(t) >= len(h) + 3 for t in words_of) or h in words_of}
        folded_text = fold_text(text)
        named = {term for surface, term in surfaces.items() if re.search(rf"(?<!\w){re.escape(surface)}", folded_text)}
        if common or named:
            hits.append(entry)
            used |= common
            terms_used |= named
    if not hits or len(hits) * 2 > len(entries):
        return entries, ""
    asked = {**{stem(h): w for h, w in heads.items()}, **wanted}
    folded = {asked[s] for s in used}
    shown = [w for w in re.findall(r"[\wÄÖÜäöüß-]+", ctx.question) if fold_text(w) in folded]
    return hits, ", ".join(dict.fromkeys(shown + sorted(terms_used - set(shown)))) or ", ".join(sorted(folded))


def _head(ctx: AnswerContext, head: str, topic: str) -> str:
    return ctx.labels["list_matching"].format(head=head, topic=topic) if topic else head


def _drivers_list(ctx: AnswerContext) -> Draft:
    draft = Draft(ctx, further=False, is_list=True)
    drivers = ctx.catalogue.drivers
    shown, topic = matching_entries(ctx, list(drivers))
    draft.add(_head(ctx, ctx.labels["drivers_list"].format(n=len(drivers)), topic) + ":")
    for d in shown:
        draft.listed.append((d.kind, d.id))
    draft.add("\n".join(f"- {d.id} – {d.name} [{draft.cite(ctx.catalogue_passage(d.id))}]" for d in shown))
    return draft


def _good_practices_list(ctx: AnswerContext) -> Draft:
    draft = Draft(ctx, further=False, is_list=True)
    catalogue, labels, f = ctx.catalogue, ctx.labels, ctx.frame
    practices = [g for g in catalogue.good_practices if g.id not in f.excluded]
    what = ""
    if f.phases:
        in_phase = [g for g in practices if g.phase in f.phases]
        phase_names = " / ".join(catalogue.phase_label(p) for p in f.phases)
        if not in_phase:
            draft.add(labels["gp_none_phase"].format(phase=phase_names))
        else:
            practices, what = in_phase, " " + labels["for_phase"].format(phase=phase_names)
    if f.excluded:
        what += " " + _except(ctx)
    shown, topic = matching_entries(ctx, practices)
    draft.add(_n(_head(ctx, labels["gp_list"].format(n=len(practices), what=what), topic)) + ":")
    lines = []
    for g in shown:
        details = "; ".join(x for x in (g.place, g.phase) if x)
        lines.append(_item(ctx, draft, g, f"; {details}" if details else ""))
    draft.add("\n".join(lines))
    return draft


def _mechanisms_list(ctx: AnswerContext) -> Draft:
    draft = Draft(ctx, further=False, is_list=True)
    labels = ctx.labels
    categories = [m for m in ctx.catalogue.mechanisms if m.is_category]
    singles = [m for m in ctx.catalogue.mechanisms if not m.is_category]
    shown, topic = matching_entries(ctx, categories)
    draft.add(_head(ctx, labels["mechanisms_list"].format(n=len(categories)), topic) + ":")
    for m in shown:
        draft.listed.append((m.kind, m.id))
    draft.add("\n".join(f"- {m.display_name} ({m.id}) [{draft.cite(ctx.catalogue_passage(m.id))}]" for m in shown))
    if topic:
        return draft
    named = [m for m in singles if m.name]
    unnamed = [m for m in singles if not m.name]
    if named:
        names = "; ".join(f"{m.name} ({m.id}) [{draft.cite(ctx.catalogue_passage(m.id))}]" for m in named)
        if unnamed:
            names += "; " + labels["mechanisms_unnamed"].format(n=len(unnamed))
        draft.add(labels["mechanisms_more"].format(names=names))
    return draft


def _key_findings_list(ctx: AnswerContext) -> Draft | None:
    """The numbered subsections of the key-findings chapter, each cited with its first passage."""
    sections = key_finding_sections(ctx)
    if not sections:
        return None
    if ctx.frame.operation == Operation.LIST and (
        named_key_finding(ctx) is not None
        or (len(ctx.frame.topic) >= 2 and asked_key_finding(ctx, ctx.settings.key_finding_pick_margin) is not None)
    ):
        # "In den Kernergebnissen steht was von harmonisierter Entwicklung – was ist damit gemeint?",
        # "Welche Rolle spielen laufende Kosten laut den Kernergebnissen?": that one finding,
        # explained, not the list of all
        return explain(ctx)
    draft = Draft(ctx, further=False, is_list=True)
    draft.add(ctx.labels["key_findings"].format(n=len(sections)) + ":")
    draft.add("\n".join(f"- {title} [{draft.cite(chunks[0])}]" for title, chunks in sections.items()))
    return draft


_OPERATOR_ROW = re.compile(r"^(öffentliche Hand|privatwirtschaftliches|zivilgesellschaftliche)")
FIGURE_OPERATORS = "Abbildung 3"


def operator_figure(ctx: AnswerContext) -> tuple[Chunk | None, list[str]]:
    """The passage holding Abbildung 3 (operators of digital solutions) and its three rows."""
    figure = next((c for cid in ctx.index.order if "öffentliche Hand:" in (c := ctx.index.chunks[cid]).text and c.source == "dossier"), None)
    rows = [line for line in figure.text.split("\n\n") if _OPERATOR_ROW.match(line)] if figure else []
    return figure, rows


def _operator_types_list(ctx: AnswerContext) -> Draft | None:
    figure, rows = operator_figure(ctx)
    if figure is None or not rows:
        return None
    draft = Draft(ctx, further=False, is_list=True)
    # the running text that introduces the figure ("… (s. Abbildung 3) können … betrieben werden")
    for cid in ctx.index.order:
        chunk = ctx.index.chunks[cid]
        sentence = next((t for t, _ in ctx.index.sentences.get(cid, []) if FIGURE_OPERATORS in t), None)
        if sentence and chunk.id != figure.id and chunk.source == "dossier":
            draft.add(draft.quote(sentence, chunk))
            break
    n = draft.cite(figure)
    draft.add(ctx.labels["operators"] + f" [{n}]:")
    draft.add("\n".join(f"- {row} [{n}]" for row in rows))
    keys = list(ctx.lexicon.operator_type_keys)
    for row in rows:
        # "the third option": each row is one operator type of the lexicon, named by its first word
        key = next((k for k in keys if row.startswith(k.split("/")[0].split()[0])), None)
        if key is not None:
            draft.listed.append(("operator_type", key))
    if ctx.settings.operators_topic_extract and ctx.frame.asked_topic:
        # "… wenn mehrere Kommunen eine Lösung gemeinsam betreiben?": what the dossier says on that,
        # after the figure
        pool = [p for p in dossier_pool(ctx) if p.chunk.id != figure.id]
        parts = extract(ctx, pool, second=False, max_sentences=2, max_words=max(30, ctx.max_words // 2))
        if parts:
            draft.add(render(draft, parts))
    return draft


def _glossary_list(ctx: AnswerContext) -> Draft | None:
    from assistant.answer.define import GLOSSARY_SECTION

    entries = [c for cid in ctx.index.order if (c := ctx.index.chunks[cid]).section == GLOSSARY_SECTION]
    if not entries:
        return None
    draft = Draft(ctx, further=False, is_list=True)
    names = {name: key for key, name in ctx.lexicon.term_glossary.items()}
    lines = []
    for chunk in entries:
        name = next((n for n in names if chunk.text.startswith(n)), chunk.text.split(" ")[0])
        lines.append(f"- {name} [{draft.cite(chunk)}]")
    draft.add(ctx.labels["glossary_list"].format(n=len(entries)) + ":")
    draft.add("\n".join(lines))
    concepts = [ctx.catalogue.get(e) for e in dict.fromkeys(ctx.lexicon.term_entry.values()) if ctx.catalogue.get(e)]
    if concepts:
        draft.add(ctx.labels["concepts_list"] + ": " + "; ".join(f"{c.name} ({c.id}) [{draft.cite(ctx.catalogue_passage(c.id))}]" for c in concepts))
    return draft


def _criteria_per_value(ctx: AnswerContext, heading: str, values: list[str], of: Callable[[Criterion], tuple[str, ...]]) -> Draft:
    """A list of the values of one criterion field (workstream, key stakeholder), each with how many
    catalogue criteria carry it and one of them cited (a different one per value where the catalogue
    allows)."""
    draft = Draft(ctx, further=False, is_list=True)
    draft.add(ctx.labels[heading].format(n=len(values)) + ":")
    lines, cited = [], set()
    for value in values:
        members = [c for c in ctx.catalogue.criteria if value in of(c)]
        shown = next((c for c in members if c.id not in cited), members[0] if members else None)
        refs = f" [{draft.cite(ctx.catalogue_passage(shown.id))}]" if shown is not None else ""
        cited.add(shown.id if shown is not None else "")
        count = ctx.labels["criteria_count" if len(members) != 1 else "criterion_count"].format(n=len(members))
        lines.append(f"- {value}: {count}{refs}")
    draft.add("\n".join(lines))
    return draft


def _workstreams_list(ctx: AnswerContext) -> Draft:
    """The workstreams, each with how many catalogue criteria it names; the criteria themselves only
    when asked ("Welche Kriterien gehören zum technischen Workstream?" is a criteria list filtered by
    workstream)."""
    draft = _criteria_per_value(ctx, "workstreams_list", ctx.catalogue.workstreams, lambda c: c.workstreams)
    draft.add(ctx.labels["workstreams_more"])
    return draft


def _stakeholders_list(ctx: AnswerContext) -> Draft:
    """The "Key Stakeholder" values of the catalogue's criteria, each with how many criteria name it,
    and for how many criteria the catalogue records stakeholders at all."""
    draft = _criteria_per_value(ctx, "stakeholders_list", ctx.catalogue.stakeholders, lambda c: c.stakeholders)
    recorded = sum(1 for c in ctx.catalogue.criteria if c.stakeholders)
    draft.add(ctx.labels["stakeholders_coverage"].format(k=recorded, n=len(ctx.catalogue.criteria)))
    return draft


LISTS: dict[Target, Callable[[AnswerContext], Draft | None]] = {
    Target.PHASES: _phases_list,
    Target.DRIVERS: _drivers_list,
    Target.GOOD_PRACTICES: _good_practices_list,
    Target.MECHANISMS: _mechanisms_list,
    Target.KEY_FINDINGS: _key_findings_list,
    Target.OPERATOR_TYPES: _operator_types_list,
    Target.WORKSTREAMS: _workstreams_list,
    Target.STAKEHOLDERS: _stakeholders_list,
    Target.GLOSSARY: _glossary_list,
}


def _target(ctx: AnswerContext) -> Target | None:
    f = ctx.frame
    if f.target is not None:
        # "Welche Kriterien gehören zu Phase P3?" names the target criteria and a phase
        return f.target
    if f.milestone is not None or f.workstreams or f.drivers and f.operation == Operation.LIST:
        return Target.CRITERIA
    return None


def _entry_similarity(ctx: AnswerContext, entry_id: str) -> float:
    """Cosine of the question to a catalogue entry: its whole text or its closest line (name,
    summary, sub-drivers), whichever is higher."""
    chunk_id = f"catalogue-{entry_id}"
    lines = [float(v @ ctx.vector) for _, v in ctx.index.sentences.get(chunk_id, []) if v is not None]
    return max([ctx.similarity(chunk_id), *lines])


def _which_one(ctx: AnswerContext, target: Target, among: list[str] | None = None) -> Draft | None:
    """One entry asked for in the singular and described in the question's words ("Welcher Treiber
    rät, mit wenig eigener Technik auszukommen?"): the entry its words name, else the one whose
    catalogue text is closest to the question (the runner-up too when it is about as close).
    `among`: the entries of the list shown before ("Welcher davon …?"); of several its words name,
    the closest."""
    entries = list(getattr(ctx.catalogue, ENTRY_SLOT_OF_TARGET[target]))  # the catalogue's list of that kind
    if among:
        entries = [e for e in entries if e.id in among]
    hits, topic = matching_entries(ctx, entries)
    if topic and len(hits) > 1 and not among:
        return None  # the words name several: the filtered list answers
    if topic and len(hits) == 1:
        chosen = hits
    else:
        pool = hits if topic else entries
        similarity = {e.id: _entry_similarity(ctx, e.id) for e in pool}
        ranked = sorted(pool, key=lambda e: -similarity[e.id])
        best = similarity[ranked[0].id]
        chosen = [e for e in ranked[:2] if best - similarity[e.id] <= ctx.settings.list_which_one_margin]
    from assistant.answer.define import entry_line

    draft = Draft(ctx)
    lines = [line for e in chosen if (line := entry_line(ctx, draft, e.id))]
    if not lines:
        return None
    draft.add(f"{ctx.labels['which_one']}:")
    for line in lines:
        draft.add(line)
    return draft


def _which_phase(ctx: AnswerContext) -> Draft | None:
    """The one development phase the question describes: the phase it names (or its neighbour,
    "Welche Phase kommt nach P2?"), else the phase whose catalogue entry is closest to the
    question. Its catalogue lead, then what its own section says closest to the question."""
    from assistant.answer.explain import phase_lead, phase_pool, relative_phase

    named = [p for p in ctx.frame.phases if p in DEVELOPMENT_PHASES]
    phase = named[0] if len(named) == 1 else max(DEVELOPMENT_PHASES, key=lambda p: _entry_similarity(ctx, p))
    phase = relative_phase(ctx.question, phase)
    ctx.frame = ctx.frame.model_copy(update={"phases": [phase]})
    draft = Draft(ctx)
    phase_lead(ctx, draft, phase)
    if draft.empty:
        return None
    used = sum(len(line.split()) for line in draft.lines)
    parts = extract(ctx, phase_pool(ctx, phase), max_words=max(40, ctx.max_words - used), second=False, max_sentences=2)
    if parts:
        draft.add(render(draft, parts))
    return draft


def _asks_neighbour(ctx: AnswerContext) -> bool:
    """"Und welche kommt direkt nach dem Piloten?" after the list of phases: the one phase after it."""
    from assistant.answer.explain import relative_phase

    return relative_phase(ctx.question, ctx.frame.phases[0]) != ctx.frame.phases[0]


_ONE_PHASE = re.compile(r"\b(phase|stage)\b", re.IGNORECASE)  # singular: the question is about one phase


def list_items(ctx: AnswerContext) -> Draft | None:
    target = _target(ctx)
    if target is None:
        return None
    picks = ctx.frame.picks_one and ctx.frame.follow_up and ctx.frame.listed
    if ctx.settings.list_which_one and ctx.frame.which_one and (not ctx.frame.follow_up or picks) and target in ENTRY_SLOT_OF_TARGET:
        # (in a conversation "Zu welchem Treiber gehört …?" is about what the earlier turns named;
        # "Welcher davon …?" picks from the list shown before)
        draft = _which_one(ctx, target, among=ctx.frame.listed if picks else None)
        if draft is not None:
            return draft
    slot = ENTRY_SLOT_OF_TARGET.get(target)
    named = getattr(ctx.frame, slot) if slot else []
    if ctx.settings.list_one_named_entry and len(named) == 1 and slot not in ctx.frame.inherited:
        # "Welche Sub-Driver sind beim Treiber T7 bekannt?" asks about T7, not for all drivers;
        # "Gibt es ein Kriterium zu Kennzahlen?" about K13
        from assistant.answer.define import entry_line

        draft = Draft(ctx)
        line = entry_line(ctx, draft, named[0])
        if line:
            draft.add(line)
            return draft
    if target == Target.CRITERIA:
        return _focus_single(ctx, _criteria_list(ctx, count_only=False))
    picks_phase = picks and target == Target.PHASES  # "and which one is about rolling it out?" after the phases
    if target == Target.PHASES and ctx.settings.list_which_phase and (WHICH_PHASE.search(fold_text(ctx.question)) or picks_phase) and ctx.frame.asked_topic:
        return _which_phase(ctx)
    if target == Target.PHASES and len(ctx.frame.phases) == 1 and (_ONE_PHASE.search(ctx.question) or _asks_neighbour(ctx)):
        from assistant.answer.explain import phase_overview

        # "Welche Phase kommt nach P2?" is about one phase, not a list of phases; "In welche Phasen
        # gliedert die Roadmap den Weg … bis zum Transfer?" names one but asks for all
        return phase_overview(ctx)
    return _focus_single(ctx, LISTS[target](ctx))


def _focus_single(ctx: AnswerContext, draft: Draft | None) -> Draft | None:
    """A list of one ("The catalogue names 1 good practice …: Smart Village App", "1 Kriterium:
    K30") is about that entry: "Who developed it?", "Was bedeutet der genauer?" follow up on it."""
    if ctx.settings.answer_single_item_focus and draft is not None and len(draft.listed) == 1:
        kind, entry_id = draft.listed[0]
        if kind in SLOT_OF_KIND:
            draft.focus.setdefault(SLOT_OF_KIND[kind], []).append(entry_id)
    return draft


# How many entries a count of the target finds (the number its list answer states).
_HOW_MANY_OF: dict[Target, Callable[[AnswerContext], int]] = {
    Target.PHASES: lambda ctx: len(DEVELOPMENT_PHASES),
    Target.KEY_FINDINGS: lambda ctx: len(key_finding_sections(ctx)),
    Target.DRIVERS: lambda ctx: len(ctx.catalogue.drivers),
    Target.WORKSTREAMS: lambda ctx: len(ctx.catalogue.workstreams),
}


def _number_in_dossier(ctx: AnswerContext, draft: Draft, target: Target, n: int) -> None:
    """The sentence of a retrieved dossier passage that states the same number of the same thing
    ("… mit 76 Kriterien in fünf Phasen …"), quoted after the count, if there is one."""
    forms = [str(n)] + ([_NUMBER_WORDS[n]] if n < len(_NUMBER_WORDS) else [])
    nouns = [fold_text(s) for s in ctx.lexicon.surfaces("target", target.value) if len(s) >= 4]
    if not nouns:
        return
    pattern = re.compile(
        rf"\b({'|'.join(re.escape(fold_text(f)) for f in forms)})\b(\s+[\w-]+){{0,3}}\s+({'|'.join(map(re.escape, nouns))})"
    )
    for passage in dossier_pool(ctx):
        for sentence, _ in sentences_of(ctx, passage.chunk):
            if pattern.search(fold_text(sentence)):
                draft.add(draft.quote(sentence, passage))
                return


def _number_bonus(sentence: str) -> float:
    return 0.15 if _NUMBER.search(sentence) else 0.0


_HOW_MANY = re.compile(r"\b(wie ?viele?|wieviele?|how many|how much)\s+(.*)$")


# "… sind das?", "… are there?", "… davon": counts what the last answer listed
_COUNTS_THOSE = re.compile(r"\b(sind|waren) (das|es|die|sie)\b|\bare (these|those|they|there)\b|\bdavon\b")


def _counts_the_target(ctx: AnswerContext) -> bool:
    """Does "wie viele …" count the list target ("Wie viele Kriterien …"), not something the target
    only qualifies ("Wie viele Veröffentlichungen zu Betreibermodellen …")?"""
    match = _HOW_MANY.search(fold_text(ctx.question))
    if match is None or not ctx.settings.count_target_follows_how_many:
        return True
    if not [t for t in tokens(match.group(2)) if t not in STOPWORDS]:
        return True  # "Wie viele sind das?": the target is inherited
    if ctx.frame.follow_up and ctx.frame.listed and _COUNTS_THOSE.search(fold_text(ctx.question)):
        return True  # "Wie viele Varianten sind das?": the list the last answer showed
    rest = ctx.lexicon.link(match.group(2))
    if ctx.frame.lang == "de":
        # German capitalises nouns: no noun of its own before the target ("Wie viele der im Katalog
        # erfassten Kriterien …" counts criteria; "Wie viele Veröffentlichungen zu …" does not)
        nouns = {fold_text(w) for w in capitalised_words(ctx.question, hyphenated=False)} - CONTEXT_WORDS
        if ctx.frame.follow_up and not nouns & set(rest.tokens):
            return True  # "wie viele gibts davon ungefähr?": no noun after "wie viele", the target is inherited
        return any(link.type == "target" and not nouns & set(rest.tokens[: link.start]) for link in rest.links)
    # at most one content word ("different") before the target; articles and numbers don't count
    # ("How many of the 76 criteria …")
    def words_before(position: int) -> int:
        return sum(1 for t in rest.tokens[:position] if t not in STOPWORDS and not t.isdigit())

    return any(link.type == "target" and words_before(link.start) <= 1 for link in rest.links)



def count_items(ctx: AnswerContext) -> Draft | None:
    target = _target(ctx) if _counts_the_target(ctx) else None
    if target == Target.CRITERIA:
        return _focus_single(ctx, _criteria_list(ctx, count_only=True))
    if target is not None and target in LISTS:
        draft = LISTS[target](ctx)
        if draft is not None and ctx.settings.count_dossier_sentence and target in _HOW_MANY_OF:
            _number_in_dossier(ctx, draft, target, _HOW_MANY_OF[target](ctx))
        return draft
    # a number the catalogue does not hold: the dossier sentence that states it
    parts = extract(ctx, dossier_pool(ctx), bonus=_number_bonus, second=False, max_sentences=ctx.settings.count_extract_sentences)
    if not parts:
        return LISTS[target](ctx) if target in LISTS else None
    draft = Draft(ctx)
    draft.add(render(draft, parts))
    return draft
