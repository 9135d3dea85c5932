"""Define and compare: the glossary entry first, then the catalogue summary, then the sentence of
the dossier that defines the term — never an example sentence first. A comparison gives both sides,
each with its definition and citation, or the dossier passage that contrasts them."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.answer.draft import AnswerContext, Draft
from assistant.domain import SLOT_OF_KIND
from assistant.answer.findings import asked_key_finding, named_key_finding
from assistant.answer.extract import REFERRING, Scored, quotable_chunk, quotable_sentence, render, score_sentences, sentences_of, window
from assistant.frames.lexicon import CONTEXT_WORDS, KIND_TERMS, context_only, fold_text, tokens
from assistant.frames.operations import last_clause
from assistant.schema import Chunk, Passage

GLOSSARY_SECTION = "Glossar"

# Definitional wording right after the term, or the term introduced as "sogenannte …" / "unter … versteht".
_AFTER = re.compile(r"^\W{0,3}(\([^)]{0,60}\)\s*)?,?\s*((hingegen|dagegen|wiederum|also|jedoch|aber)\s+)?(ist|sind|bezeichnet|bezeichnen|beschreibt|beschreiben|bedeutet|"
                    r"bedeuten|meint|umfasst|dient|dienen|heißt|gilt|stellt|als)\b"
                    # a relative clause that says what it is ("… ein Eigenbetrieb gegründet werden, der als
                    # Sondervermögen … bewirtschaftet wird")
                    r"|^[^.,;]{0,30},\s*(der|die|das|welche[rs]?)\s+(als|ist|sind|wird|werden)\b", re.IGNORECASE)
_BEFORE = re.compile(r"(sogenannte[nmrs]?|unter (einem|einer|dem|der)?|man spricht (hier )?von (einem|einer)?|als)\s*$", re.IGNORECASE)
_EXAMPLE = re.compile(r"\b(Beispiel|zeigt|wurde|wurden|20\d\d|Stadt|Hamburg|Münster|Berlin|Bamberg)\b")


def glossary_chunk(ctx: AnswerContext, term: str) -> Chunk | None:
    name = ctx.lexicon.term_glossary.get(term)
    if not name:
        return None
    for cid in ctx.index.order:
        chunk = ctx.index.chunks[cid]
        if chunk.section == GLOSSARY_SECTION and chunk.text.startswith(name):
            return chunk
    return None


@lru_cache(maxsize=4096)
def _term_pattern(surface: str) -> re.Pattern[str] | None:
    """The folded term as a whole word with up to three inflection letters; None when too short."""
    needle = fold_text(surface)
    if len(needle) < 3:
        return None
    return re.compile(rf"(?<!\w){re.escape(needle)}\w{{0,3}}(?!\w)")


def _term_positions(sentence: str, surfaces: list[str]) -> list[tuple[int, int]]:
    folded = fold_text(sentence)
    spans = []
    for surface in surfaces:
        pattern = _term_pattern(surface)
        if pattern is not None:
            spans.extend((m.start(), m.end()) for m in pattern.finditer(folded))
    return spans


def defining_sentence(ctx: AnswerContext, surfaces: list[str], exclude: set[str]) -> Scored | None:
    """The dossier sentence that best defines a term: it names the term early, in definitional wording,
    and is not an example."""
    best: Scored | None = None
    asked = _asked_form(ctx.question, surfaces) if ctx.settings.define_asked_form_bonus else None
    for cid in ctx.index.order:
        chunk = ctx.index.chunks[cid]
        if chunk.source != "dossier" or not quotable_chunk(chunk) or chunk.section == GLOSSARY_SECTION or cid in exclude:
            continue
        for position, (text, vector) in enumerate(sentences_of(ctx, chunk)):
            if not quotable_sentence(text):
                continue
            spans = _term_positions(text, surfaces)
            if not spans:
                continue
            folded = fold_text(text)
            start, end = min(spans)
            score = 0.5 * (float(vector @ ctx.vector) if vector is not None else 0.0)
            if _AFTER.search(folded[end:]) or _BEFORE.search(folded[:start]):
                score += 0.4
            score += 0.2 * (1 - min(1.0, start / max(1, len(folded))))
            score -= 0.25 if _EXAMPLE.search(text) else 0.0
            score -= 0.1 if REFERRING.match(text) else 0.0
            if asked is not None and asked.search(folded):
                score += ctx.settings.define_asked_form_bonus  # the form the question used ("offene Schnittstellen")
            if best is None or score > best.score:
                best = Scored(Passage(chunk=chunk, score=0.0), position, text, score)
    return best


def _asked_form(question: str, surfaces: list[str]) -> re.Pattern[str] | None:
    """The longest multi-word form of the term that the question itself uses ("offene Schnittstellen"),
    as a pattern that lets each word inflect ("offener Schnittstellen"); None for a one-word term."""
    folded = fold_text(question)
    forms = [_inflecting(f) for f in sorted({fold_text(s) for s in surfaces if " " in s.strip()}, key=len, reverse=True)]
    return next((form for form in forms if form.search(folded)), None)


def _inflecting(phrase: str) -> re.Pattern[str]:
    """The folded phrase with every word free to inflect ("offene schnittstellen" ~ "offener Schnittstellen")."""
    words = phrase.split()
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w[:-1] if len(w) > 4 else w) + r"\w{0,3}" for w in words) + r"(?!\w)")


# "Was kann alles Bestandteil eines Proof of Concept sein?", "What is part of …?"
# "Welche Kriterien hängen am Machbarkeitsnachweis dran?"
_ASKS_PARTS = re.compile(r"\b(bestandteil\w*|teil (des|eines|der|einer|vom)|dazugehor\w*|gehor\w* (alles )?(zu|zum|zur)|parts? of|consists? of|include)\b"
                         r"|\bhang\w* (an|am|an der|an dem)\b|\bhang\w*\b.{0,40}\b(dran|daran)\b")


def parts_line(ctx: AnswerContext, draft: Draft) -> str | None:
    """'Als Teil von „Proof of Concept“ (K06) nennt der Katalog: … (K07) [n]; …' when the question asks
    what belongs to the one criterion it is about and the catalogue names such parts."""
    if len(ctx.frame.criteria) != 1 or not _ASKS_PARTS.search(fold_text(ctx.question)):
        return None
    entry = ctx.catalogue.get(ctx.frame.criteria[0])
    parts = [(c, p) for c in ctx.catalogue.parts_of(entry.id) if (p := ctx.catalogue_passage(c.id))] if entry else []
    if not parts:
        return None
    items = "; ".join(f"{c.name} ({c.id}) [{draft.cite(p)}]" for c, p in parts)
    return ctx.labels["parts_of"].format(name=entry.name, id=entry.id) + f": {items}"


def entry_line(ctx: AnswerContext, draft: Draft, entry_id: str, brief: bool = False) -> str | None:
    """'Laut Kriterienkatalog: „Name“ (K12, P2 – …; Skalierungstreiber …; Meilenstein …): summary [n]';
    `brief`: a criterion with its phase only (an explanation's lead, where the answer is the point)."""
    entry = ctx.catalogue.get(entry_id)
    passage = ctx.catalogue_passage(entry_id)
    if entry is None or passage is None:
        return None
    labels = ctx.labels
    facts = []
    if entry.kind == "criterion":
        facts.append(", ".join(ctx.catalogue.phase_label(p) for p in entry.phases) or labels["no_phase_known"])
    if entry.kind == "criterion" and not brief:
        driver = ctx.catalogue.get(entry.driver or "")
        if driver is not None:
            facts.append(f"{labels['driver']} {driver.id} – {driver.name}")
        milestone = entry.milestone
        facts.append(labels["is_milestone"] if milestone is True else labels["no_milestone"] if milestone is False else labels["milestone_unknown"])
        if entry.workstreams:
            facts.append(f"{labels['workstreams']}: {', '.join(entry.workstreams)}")
        if entry.stakeholders:
            facts.append(f"{labels['stakeholders']}: {', '.join(entry.stakeholders)}")
    elif entry.kind == "driver":
        if entry.sub_drivers:
            facts.append(f"{labels['sub_drivers']}: {'; '.join(entry.sub_drivers)}")
        elif _SUB_DRIVERS.search(ctx.question):
            facts.append(labels["sub_drivers_none"])  # asked for, and the catalogue has none
        criteria = ctx.catalogue.criteria_of_driver(entry.id)
        if criteria:
            facts.append(f"{labels['criteria']}: " + ", ".join(f"{c.name} ({c.id})" for c in criteria))
    elif entry.kind == "good_practice":
        facts += [x for x in (entry.place, ctx.catalogue.phase_label(entry.phase)) if x]
        if asks_linked_criteria(ctx):
            linked = [c for c in (ctx.catalogue.get(i) for i in entry.criteria) if c is not None]
            facts.append(
                f"{labels['example_of']}: " + "; ".join(f"„{c.name}“ ({c.id}, {', '.join(c.phases)})" for c in linked)
                if linked else labels["example_of_none"]
            )
    summary = f" {entry.summary}" if entry.summary else ""
    draft.focus.setdefault(SLOT_OF_KIND[entry.kind], []).append(entry.id)
    head = f"„{entry.display_name}“ ({entry.id}" + (f"; {'; '.join(facts)}" if facts else "") + ")"
    return f"{labels['catalogue_says']}: {head}.{summary} [{draft.cite(passage)}]"


def definition_parts(ctx: AnswerContext, draft: Draft, term: str | None, entry_id: str | None, budget: int) -> list[str]:
    """Lines defining one term or catalogue entry: glossary, catalogue, defining sentence."""
    lines: list[str] = []
    used = 0
    exclude: set[str] = set()
    if term:
        chunk = glossary_chunk(ctx, term)
        if chunk is not None:
            sentences = [s for s, _ in sentences_of(ctx, chunk)][:2]
            line = " ".join(draft.quote(s, chunk) for s in sentences)
            lines.append(line)
            used += len(line.split())
            exclude.add(chunk.id)
    if entry_id:
        line = entry_line(ctx, draft, entry_id)
        if line and used + len(line.split()) <= budget + 40:
            lines.append(line)
            used += len(line.split())
    if used < budget * 0.8:
        surfaces = (ctx.lexicon.surfaces("term", term) if term else []) + (
            [ctx.catalogue.get(entry_id).name] if entry_id and ctx.catalogue.get(entry_id) else []
        )
        best = defining_sentence(ctx, surfaces, exclude) if surfaces else None
        if best is not None:
            # the next sentence joins when it names the term too ("Vertikale Skalierung bedeutet …
            # Die horizontale Skalierung hingegen bedeutet …")
            naming = [best]
            if ctx.settings.define_follow_term:
                naming += [
                    Scored(best.passage, i, text, best.score)
                    for i, (text, _) in enumerate(sentences_of(ctx, best.passage.chunk))
                    if i == best.position + 1 and _term_positions(text, surfaces)
                ]
            sentences = window(ctx, best, naming, max_sentences=2, max_words=max(25, budget - used), min_sentences=1)
            lines.append(" ".join(draft.quote(s, best.passage) for s in sentences))
    return lines


_KIND_WORDS = {
    "driver": re.compile(r"treiber|driver", re.I),
    "criterion": re.compile(r"kriteri|criteri", re.I),
    "mechanism": re.compile(r"mechanism|förder", re.I),
    "good_practice": re.compile(r"good practice|beispiel|example", re.I),
}


_SUB_DRIVERS = re.compile(r"sub.?driver|unterpunkt|untertreiber", re.I)


def _subject(ctx: AnswerContext) -> tuple[str | None, str | None]:
    """The term and catalogue entry a definition is about. Without a named entry, a question that
    names the kind ("der Treiber mit der ressourcenarmen Struktur") takes the best retrieved entry of
    that kind."""
    f = ctx.frame
    entry = next(iter(f.criteria or f.good_practices or f.drivers or f.mechanisms), None)
    criterion = ctx.catalogue.get(entry) if entry and f.criteria and not f.drivers else None
    if ctx.settings.define_sub_drivers_of_its_driver and criterion is not None and criterion.driver and _SUB_DRIVERS.search(ctx.question):
        entry = criterion.driver  # "Und welche Sub-Driver hat der?" after a criterion: its driver's
    if entry is None and f.phases and not f.terms:
        entry = f.phases[0]
    # the topic words of the question itself, not of a preamble ("Ich bin neu hier – was sind …?")
    asked = set(tokens(last_clause(fold_text(ctx.question))))
    plain = ctx.settings.define_plain_terms and any(t in KIND_TERMS for t in f.terms) and len([t for t in f.topic if t in asked]) <= 1
    if entry is None and not plain:
        # (not for "Was sind Fördermechanismen?": that asks for the term, not one mechanism)
        for p in ctx.passages[:3]:
            kind_words = _KIND_WORDS.get(p.chunk.kind)
            if p.chunk.source == "catalogue" and kind_words and kind_words.search(ctx.question):
                entry = p.chunk.ref_id
                break
    terms = [t for t in f.terms if not (entry and t in KIND_TERMS)]  # "der Treiber X": X, not the word "Treiber"
    if entry and "terms" in f.inherited:
        terms = []  # "Was bedeutet der genauer?" after a list of one: that entry, not an earlier term
    if ctx.settings.define_plain_terms:
        # "Was meint die Roadmap mit Erfolgskriterien?", "Was sind Meilensteine in der Roadmap?": the
        # roadmap is where, not what, is asked — unless nothing else is named ("Was ist die Roadmap?")
        own = [t for t in terms if not context_only(ctx.question, t)]
        terms = own if own or entry or f.target is not None else terms
    term = terms[0] if terms else None
    return term, entry


# A question about one catalogue entry's attribute ("Zu welchem Treiber gehört …?", "Welche
# Stakeholder hat …?") is answered by that entry's catalogue line.
ATTRIBUTE = re.compile(
    r"treiber|driver|sub-driver|phase|meilenstein|milestone|workstream|stakeholder|beteiligt|zugeordnet|"
    r"zuständig|zustandig|verantwortlich|responsible|in charge|"
    r"gehört|gehoert|belong|kategorie|category|wo |where|ort\b", re.I
)
# "Wann sollte man ein MVP entwickeln?": a criterion's "when" is its phase
_WHEN = re.compile(r"\b(wann|when)\b", re.I)


def asks_linked_criteria(ctx: AnswerContext) -> bool:
    """"Zu welchem Kriterium gehört das Masterportal?", "Which criterion is it an example of?": one
    good practice (named or carried over), and the question asks for criteria, not a list filter."""
    f = ctx.frame
    return (
        ctx.settings.define_example_criteria
        and len(f.good_practices) == 1
        and not (f.criteria or f.drivers or f.mechanisms or f.milestone is not None)
        and bool(_KIND_WORDS["criterion"].search(ctx.question))
    )


def is_attribute_question(ctx: AnswerContext) -> bool:
    f = ctx.frame
    named = f.criteria + f.good_practices + f.mechanisms
    # a driver carried over from an earlier turn does not count when the last answer was about the
    # one entry named ("Welches Kriterium hängt daran?" … "Und in welcher Phase?": that criterion's)
    focused = f.listed == named and "drivers" in f.inherited
    if len(named) != 1 or f.drivers and not focused:
        return False
    return bool(ATTRIBUTE.search(ctx.question)) or bool(f.criteria and _WHEN.search(ctx.question))


# Derivation endings cut from a word the lexicon does not know, so that its stem also finds the
# word's other forms in the dossier ("Wirkungsorientierung" → "wirkungsorientierten").
_DERIVATIONS = ("ungen", "ung", "heiten", "heit", "keiten", "keit", "en", "er", "e", "s")
_MIN_FREE_STEM = 6
_TRAILING = re.compile(
    r"(\s+(in|im|laut|nach|according to|in the)\s+(der|dem|den|die|das|the)?\s*(roadmap|studie|dossier|katalog|study|catalogue)"
    r"|\s+(eigentlich|genau|gemeint|hier|dabei|überhaupt|actually|exactly))+\W*$",
    re.IGNORECASE,
)


def _free_word(ctx: AnswerContext) -> tuple[str, str] | None:
    """(word, stem) of the word a definition question asks about when the lexicon knows no term or
    entry for it ("Was versteht die Roadmap unter Wirkungsorientierung?"): the last capitalised word of
    the question's last clause, not a word saying where the user looks, that the dossier uses."""
    from assistant.frames.lexicon import STOPWORDS, capitalised_words

    # the word the question ends on, after any words saying where or how ("… unter X (in der Roadmap)?")
    clause = _TRAILING.sub("", ctx.question.strip().rstrip("?!. "))
    words = [w for w in capitalised_words(clause, hyphenated=False)
             if fold_text(w) not in CONTEXT_WORDS and fold_text(w) not in STOPWORDS and len(w) >= _MIN_FREE_STEM]
    last = clause.split()[-1].strip("„“\"'()") if clause.split() else ""
    if last not in words:
        return None
    folded = fold_text(last)
    needle = next((folded[: -len(e)] for e in _DERIVATIONS if folded.endswith(e) and len(folded) - len(e) >= _MIN_FREE_STEM), folded)
    pattern = re.compile(rf"(?<!\w){re.escape(needle)}")
    if any(pattern.search(text) for text in ctx.index.derive("folded_dossier", _folded_dossier)):
        return last, needle
    return None


def _folded_dossier(index) -> list[str]:
    """Every dossier passage's text, folded (lower case, no accents), in corpus order."""
    return [fold_text(index.chunks[cid].text) for cid in index.order if index.chunks[cid].source == "dossier"]


def _define_free_word(ctx: AnswerContext) -> Draft | None:
    """A word only the dossier's running text uses: its defining sentence, or — when no sentence
    defines it — the sentence that uses it, said to be a use rather than a definition."""
    found = _free_word(ctx)
    if found is None:
        return None
    word, needle = found
    best = defining_sentence(ctx, [needle], set())
    if best is None:
        return None
    draft = Draft(ctx)
    if not _defines(best.text, [needle]):
        draft.add(ctx.labels["word_used_not_defined"].format(word=word))
    sentences = window(ctx, best, [best], max_sentences=2, max_words=ctx.max_words, min_sentences=1)
    draft.add(" ".join(draft.quote(s, best.passage) for s in sentences))
    return draft


def define(ctx: AnswerContext) -> Draft | None:
    term, entry = _subject(ctx)
    if entry is None and (term is None or context_only(ctx.question, term)) and ctx.frame.target is None and asked_key_finding(ctx) is None:
        # (a key finding named by its words, "harmonisierte Entwicklung", is explained by its section)
        free = _define_free_word(ctx)
        if free is not None:
            return free
    if term is None and entry is None:
        return None
    if (
        ctx.settings.define_key_finding_term and entry is None and glossary_chunk(ctx, term) is None
        and named_key_finding(ctx) is not None
    ):
        # "Was meint die Studie mit einer neuen Fehlerkultur?": a term no glossary entry defines, named
        # in the title of a key finding, is what that finding says
        from assistant.answer.explain import explain

        return explain(ctx)
    draft = Draft(ctx)
    for line in definition_parts(ctx, draft, term, entry, ctx.max_words):
        draft.add(line)
    return None if draft.empty else draft


# -- compare ------------------------------------------------------------------------------------

def _sides(ctx: AnswerContext) -> list[tuple[str, str | None, str | None]]:
    """(label, term, entry) for the two things compared, in the question's order."""
    f = ctx.frame
    for entries in (f.phases, f.operator_types, f.good_practices, f.criteria, f.drivers):
        if len(entries) >= 2:
            return [(e, None, e) for e in entries[:2]]
    if len(f.terms) >= 2:
        return [(t, t, None) for t in f.terms[:2]]
    if f.terms and (f.phases or f.criteria):
        other = (f.criteria or f.phases)[0]
        return [(f.terms[0], f.terms[0], None), (other, None, other)]
    return []


def _contrast_passage(
    ctx: AnswerContext, surfaces_a: list[str], surfaces_b: list[str], min_defines: int = 0
) -> list[tuple[Passage, list[str]]] | None:
    """A dossier passage that speaks of both sides within a few sentences: quote that stretch.
    Best is a stretch that defines each side in a sentence of its own ("Vertikale Skalierung
    bedeutet … Die horizontale Skalierung hingegen bedeutet …"); then the shortest."""
    best = None
    best_key = None
    for p in ctx.passages[: ctx.settings.answer_pool]:
        if not quotable_chunk(p.chunk):
            continue
        sentences = [s for s, _ in sentences_of(ctx, p.chunk)]
        a = [i for i, s in enumerate(sentences) if _term_positions(s, surfaces_a)]
        b = [i for i, s in enumerate(sentences) if _term_positions(s, surfaces_b)]
        for i in a:
            for j in b:
                lo, hi = min(i, j), max(i, j)
                if hi - lo <= 3:
                    while lo > 0 and REFERRING.match(sentences[lo]) and hi - lo < 3:
                        lo -= 1
                    span = sentences[lo : hi + 1]
                    defines = 0
                    if ctx.settings.compare_contrast_first and i != j:
                        defines = int(_defines(sentences[i], surfaces_a)) + int(_defines(sentences[j], surfaces_b))
                    key = (-defines, len(span))
                    if best_key is None or key < best_key:
                        best, best_key = (p, span), key
    if best is None or -best_key[0] < min_defines:
        return None
    return [best]


def _defines(sentence: str, surfaces: list[str]) -> bool:
    """Does the sentence name the term in definitional wording ("X bedeutet …", "unter X versteht …")?"""
    folded = fold_text(sentence)
    return any(_AFTER.search(folded[end:]) or _BEFORE.search(folded[:start]) for start, end in _term_positions(sentence, surfaces))


def operator_row(ctx: AnswerContext, draft: Draft, key: str) -> str | None:
    """The row of Abbildung 3 for one operator type, cited to the figure."""
    from assistant.answer.listing import operator_figure

    figure, rows = operator_figure(ctx)
    row = next((r for r in rows if r.startswith(key.split("/")[0].split()[0])), None)
    return f"{row} [{draft.cite(figure)}]" if figure is not None and row else None


def _phase_side(ctx: AnswerContext, draft: Draft, phase: str, budget: int) -> list[str]:
    """One phase: its catalogue summary; with a topic, the phase's criteria and sentence about it.
    A topic word in the name of one of the phase's criteria ("Finanzierung in P4 und in P5"):
    that criterion's catalogue line instead of the summary (settings.compare_phase_topic_criterion)."""
    from assistant.answer.explain import phase_pool, topic_criterion
    from assistant.answer.extract import extract

    topic = ctx.frame.own_topic or ctx.frame.topic
    criterion = topic_criterion(ctx, phase, topic) if topic and ctx.settings.compare_phase_topic_criterion else None
    line = entry_line(ctx, draft, criterion or phase)
    lines = [line] if line else []
    if topic:
        parts = extract(ctx, phase_pool(ctx, phase), max_words=max(25, budget // 2), second=False, max_sentences=2)
        if parts:
            lines.append(render(draft, parts))
    return lines


# The question asks whether two phases follow each other or can run side by side (folded text) …
_ASKS_ORDER = re.compile(
    r"nacheinander|hintereinander|gleichzeitig|zeitgleich|parallel|reihenfolge|aufeinander|\berst\b.{0,40}\bdann\b|"
    r"zwingend .{0,30}\b(nach|vor)\b|\bbevor\b|\bbefore\b|same time|simultaneous|sequen|one after|\bin order\b"
)
# … and the sentences of the sources that say how phases follow each other.
_SAYS_ORDER = re.compile(r"aufeinander folgen|aufeinanderfolgend|parallel verlaufen|nacheinander|hintereinander|Reihenfolge")


def asks_order(question: str) -> bool:
    """Does the question ask whether phases follow each other ("nacheinander", "zwingend erst nach")?"""
    return bool(_ASKS_ORDER.search(fold_text(question)))


def _order_sentence(ctx: AnswerContext) -> list[tuple[Passage, list[str]]] | None:
    """The retrieved dossier sentence that says whether the phases follow each other, with its
    predecessor when it refers back ("Diese Phasen müssen nicht …")."""
    if not ctx.settings.compare_order_sentence or not asks_order(ctx.question):
        return None
    scored = [s for s in score_sentences(ctx, ctx.passages[: ctx.settings.answer_pool]) if _SAYS_ORDER.search(s.text)]
    if not scored:
        return None
    return [(scored[0].passage, window(ctx, scored[0], scored, max_sentences=2, max_words=ctx.max_words // 2, min_sentences=1))]


def compare(ctx: AnswerContext) -> Draft | None:
    sides = _sides(ctx)
    if len(sides) < 2:
        return None  # one side only ("Welche Vorteile hat ein Betrieb durch …?"): explained instead
    draft = Draft(ctx)
    f = ctx.frame
    half = max(30, ctx.max_words // 2)
    if sides[0][2] in f.operator_types:
        rows = [operator_row(ctx, draft, key) for _, _, key in sides]
        for row in rows:
            draft.add(row or "")
        return None if draft.empty else draft
    if sides[0][2] in f.phases:
        order = _order_sentence(ctx)
        if order:
            draft.add(render(draft, order))
        contrast = None
        if ctx.settings.compare_contrast_first and len(f.terms) >= 2 and not f.topic:
            # "vertikale und horizontale Skalierung": the passage that defines each apart says it
            # best; with a topic of its own ("die Finanzierung in …") each phase speaks to that topic
            surfaces = [ctx.lexicon.surfaces("term", t) for t in f.terms[:2]]
            contrast = _contrast_passage(ctx, *surfaces, min_defines=2)
        if contrast:
            draft.add(render(draft, contrast))
        for _, _, phase in sides:
            if contrast:
                draft.add(entry_line(ctx, draft, phase) or "")
                continue
            for line in _phase_side(ctx, draft, phase, half):
                draft.add(line)
        return None if draft.empty else draft
    if all(term for _, term, _ in sides):
        contrast = _contrast_passage(ctx, ctx.lexicon.surfaces("term", sides[0][1]), ctx.lexicon.surfaces("term", sides[1][1]))
        if contrast:
            draft.add(render(draft, contrast))
    for label, term, entry in sides:
        lines = definition_parts(ctx, draft, term, entry, half)
        if lines:
            draft.add(lines[0])
    return None if draft.empty else draft
