"""Conversation: the turns of a chat, and the frame that an elliptical follow-up inherits.

A conversation keeps the last answered turn's *frame*, not a merged string. A follow-up ("Und in
P4?", "Gibt es dafür ein Beispiel?", "Welche davon sind Meilensteine?") replaces the slots it names
and inherits the rest (`Frame.follow`); its search text adds the inherited topic and entity names
to the question. "Und danach?" / "Und davor?" step to the neighbouring development phase, and "Worin
unterscheiden sich die beiden?" compares what the last two turns were about. After a refusal the
next question stands on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.corpus import Catalogue
from assistant.domain import DEVELOPMENT_PHASES, SLOT_OF_KIND, Operation
from assistant.frames import Frame, Target, fold_text, is_follow_up, points_back
from assistant.frames.frame import ASKS_FINDINGS, FOLLOW_UP_MAX_WORDS_NAMELESS, TELL_MORE, bare_which, ordinal_reference
from assistant.frames.lexicon import capitalised_words, content_stems, criteria_naming, tokens, without_placeholder
from assistant.schema import Answer


@dataclass
class Turn:
    question: str
    frame: Frame | None
    query: str  # what was searched
    answer: Answer


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)

    @property
    def last_frame(self) -> Frame | None:
        """The frame a follow-up may inherit: the last answered turn's, with what its answer was about
        (e.g. the example it chose); None after a refusal."""
        if not self.turns or self.turns[-1].answer.abstained:
            return None
        return self.turns[-1].answer.frame or self.turns[-1].frame

    def resolve(self, question: str, frame: Frame, catalogue: Catalogue, continues: bool = False, by_last_answer: bool = False) -> tuple[Frame, str]:
        """(frame to answer, text to search) for a new question in this conversation. `continues`
        reads it as a follow-up even when it does not look like one (see AssistantService.ask);
        `by_last_answer` also when it asks about nouns of the last answer (`echoes_last_answer`)."""
        previous = self.last_frame
        if previous is None:
            return frame, question
        if not (continues or is_follow_up(question, frame, previous) or by_last_answer and echoes_last_answer(question, frame, self.turns[-1].answer.answer)):
            return frame, question
        merged = frame.follow(previous)
        if merged.operation == Operation.EXAMPLE and not frame.cued and len(previous.good_practices) == 1 and (
            frame.topic and (points_back(question) or ASKS_FINDINGS.search(fold_text(question))) or frame.terms and bare_which(question)
        ):
            # "And what did they learn from it?", "which interfaces?": about the example just shown, not another example
            merged = merged.model_copy(update={"operation": Operation.EXPLAIN})
        if merged.operation in (Operation.LIST, Operation.COUNT) and TELL_MORE.match(fold_text(question).strip()):
            # "erzähl mal mehr zu dem Kultur-Ding" after a list: about one of its entries, not the list again
            merged = merged.model_copy(update={"operation": Operation.EXPLAIN})
        merged = _listed_entry(question, merged, previous, catalogue)
        merged = _listed_entry_by_word(question, merged, previous, catalogue)
        merged = _others_of_its_phase(question, merged, catalogue)
        merged = _same_criterion_in_new_phase(frame, merged, previous, catalogue)
        merged = _neighbour_phase(question, merged, catalogue)
        if merged.operation == Operation.COMPARE and len(self.turns) >= 2:
            merged = _with_earlier_side(merged, self.turns[-2])
        last = self.turns[-1]
        if merged.brief:
            return merged, last.query  # "Kannst du das in einem Satz sagen?": the same search, a shorter answer
        asked = last.frame or previous
        if merged.operation == Operation.DEFINE and merged.milestone and previous.terms and "terms" not in merged.inherited:
            return merged, question  # "Und Meilensteine?" after a definition: what milestones are, on its own (Frame.follow)
        # a bare follow-up before ("Was bringt das?") said nothing itself: what it searched for carries the topic
        bare = last.frame is not None and last.frame.follow_up and not last.frame.own_topic
        return merged, search_text(question, merged, frame, asked, catalogue, last.query if bare else last.question)

    def add(self, question: str, frame: Frame | None, query: str, answer: Answer) -> None:
        self.turns.append(Turn(question=question, frame=frame, query=query, answer=answer))

    def clear(self) -> None:
        self.turns.clear()


def echoes_last_answer(question: str, frame: Frame, last_answer: str) -> bool:
    """A German question that names nothing of the study, has no operation cue of its own and asks
    only about nouns the last answer used ("Von wann bis wann lief die Entwicklung?" after the
    example Modul F, "developed between September 2021 and December 2022"): it continues that answer."""
    if frame.lang != "de" or frame.entity_count or frame.cued or len(tokens(question)) > FOLLOW_UP_MAX_WORDS_NAMELESS:
        return False
    nouns = [fold_text(w) for w in capitalised_words(question, hyphenated=False)]
    said = tokens(last_answer)
    # a shared word stem, or the noun's stem as the start of a word ("Entwicklung" ~ "entwickelt")
    return bool(nouns) and all(any(t.startswith(n[: max(5, len(n) - 4)]) for t in said) for n in nouns)


# "Und danach?", "Und nach dem Piloten?", "Und davor?": the phase after (before) the one in question
# ("Und was kommt danach?", "And what comes after that?": the same step, asked with a verb)
_ASKED_STEP = r"(was kommt |was passiert |what comes |what happens |what is |what about )?"
# "Und in der nächsten Phase?", "And the next phase?", "Und in der Phase davor?"
_NEXT_PHASE = r"|(?:(?:in|zur|zu|fur|bei|and|for) )?(?:der |die |den |the )?(?:nachste[nrm]?|folgende[nrm]?|next|following) (?:phase|stage|step|schritt)"
_PREVIOUS_PHASE = r"|(?:(?:in|zur|zu|fur|bei|and|for) )?(?:der |die |den |the )?(?:vorherige[nrm]?|vorige[nrm]?|previous|preceding) (?:phase|stage|step|schritt)|(?:in )?der phase davor"
_AFTER = re.compile(r"^(und |and )?" + _ASKED_STEP + r"(danach|dann|anschliessend|als nachstes|after that|and then|next|(nach|after) ((der|dem|den|die|the|that|this) )?\w+( ?phase)?" + _NEXT_PHASE + r")\W*$")
_BEFORE = re.compile(r"^(und |and )?" + _ASKED_STEP + r"(davor|vorher|before that|(vor|before) ((der|dem|den|die|the|that|this) )?\w+( ?phase)?" + _PREVIOUS_PHASE + r")\W*$")


# "after that stage", "nach dieser Etappe": the step names a phase, even when the phase is inherited
_STEP_NOUN = re.compile(r"\b(phase|stage|step|schritt|etappe|stufe)\b")


def _neighbour_phase(question: str, merged: Frame, catalogue: Catalogue | None = None) -> Frame:
    """Move a bare "and after/before that" follow-up to the neighbouring development phase — of the
    phase in question, or else of the one entry the conversation is about ("Was ist ein Proof of
    Concept?" … "Und was kommt danach?": the phase after P1)."""
    folded = fold_text(question).strip()
    match = _AFTER.match(folded) or _BEFORE.match(folded)
    step = 0 if match is None else 1 if match.re is _AFTER else -1
    if step and not merged.phases and catalogue is not None:
        entries = [catalogue.get(e) for e in merged.criteria + merged.good_practices]
        phases = {p for entry in entries if entry is not None for p in entry.phases}
        if len(phases) == 1:
            merged = merged.model_copy(update={"phases": list(phases), "operation": Operation.PHASE, "inherited": [*merged.inherited, "phases"]})
    if not step or len(merged.phases) != 1 or merged.phases[0] not in DEVELOPMENT_PHASES:
        return merged
    if match.group(4) and "phases" in merged.inherited and not _STEP_NOUN.search(match.group(3)):
        return merged  # "Und nach der Förderung?" names no phase: not a step to the next one
    i = DEVELOPMENT_PHASES.index(merged.phases[0]) + step
    if not 0 <= i < len(DEVELOPMENT_PHASES):
        return merged
    inherited = [slot for slot in merged.inherited if slot not in ("phases", "criteria", "good_practices")]
    return merged.model_copy(update={"phases": [DEVELOPMENT_PHASES[i]], "criteria": [], "good_practices": [], "inherited": inherited})


def _listed_entry(question: str, merged: Frame, previous: Frame, catalogue: Catalogue) -> Frame:
    """"Which phase does the second one belong to?", "Gibt es für das erste ein Beispiel?": the one
    entry at that position of the list the previous answer showed, instead of all it was about."""
    position = ordinal_reference(question)
    if position is None or not previous.listed or position > len(previous.listed):
        return merged
    return _focus_on(merged, previous.listed[position - 1 if position > 0 else -1], catalogue)


def _listed_entry_by_word(question: str, merged: Frame, previous: Frame, catalogue: Catalogue) -> Frame:
    """"Was heißt das mit dem Wissenstransfer genau?" after a list: the one listed entry whose name
    holds a noun of the question ("Wissenstransfer in der Skalierung"), instead of a term that only
    a part of the noun names ("Transfer")."""
    if merged.operation in (Operation.LIST, Operation.COUNT) or not previous.listed or ordinal_reference(question) is not None:
        return merged
    if merged.criteria and "criteria" not in merged.inherited or merged.good_practices and "good_practices" not in merged.inherited:
        return merged  # the question names an entry itself
    nouns = [fold_text(w) for w in capitalised_words(question) if len(w) >= _NAMING_NOUN_MIN]
    # "das Kultur-Ding": the word before the placeholder starts a word of the name ("kulturis")
    vague = [stripped for n in nouns if (stripped := without_placeholder(n)) and len(stripped) >= _VAGUE_NOUN_MIN]
    hits = []
    for listed_id in previous.listed:
        entry = catalogue.get(listed_id)
        name = fold_text(entry.name) if entry is not None and entry.name else ""
        if any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", name) for n in nouns) or any(re.search(rf"(?<!\w){re.escape(v)}", name) for v in vague):
            hits.append(listed_id)
    if len(hits) != 1:
        return merged
    focused = _focus_on(merged, hits[0], catalogue)
    return focused.model_copy(update={"terms": [t for t in focused.terms if t in focused.inherited]})


# A noun that names a listed entry has at least this many letters ("Wissenstransfer"; not "Kosten").
_NAMING_NOUN_MIN = 6
# ... and the word before a placeholder ("Kultur-Ding") at least this many.
_VAGUE_NOUN_MIN = 4


def _focus_on(merged: Frame, listed_id: str, catalogue: Catalogue) -> Frame:
    """The follow-up's frame about one entry of the list the previous answer showed."""
    entry = catalogue.get(listed_id)
    # the operator types of Abbildung 3 are the one listed kind that is not a catalogue entry
    slot = SLOT_OF_KIND.get(entry.kind) if entry is not None else SLOT_OF_KIND["operator_type"]
    entry_id = entry.id if entry is not None else listed_id
    update = {s: [] for s in SLOT_OF_KIND.values() if s in merged.inherited}
    update[slot] = [entry_id]
    update["inherited"] = [s for s in merged.inherited if s not in update]
    # "What's the milestone in the second one?" after the phases: that phase's list, not the phase explained
    lists_of_the_phase = slot == "phases" and merged.target is not None and merged.target.value in ("criteria", "good_practices")
    if merged.operation in (Operation.LIST, Operation.COUNT) and merged.target is not None and merged.target.value != slot and not lists_of_the_phase:
        update["operation"] = Operation.EXPLAIN  # "Which phase does the second one belong to?": that entry's phase
    if merged.operation in (Operation.LIST, Operation.COUNT) and merged.target is not None and merged.target.value == slot:
        # "the third option — is there a case …?": the list it was picked from is not asked again
        update["operation"], update["target"] = Operation.EXPLAIN, None
    return merged.model_copy(update=update)


# "Und welche anderen Kriterien gibt es da noch?", "Which other criteria belong there?"
_OTHERS = re.compile(r"\b(andere[nrms]?|weitere[nrms]?|sonstige[nrms]?|other|others|else)\b")


def _others_of_its_phase(question: str, merged: Frame, catalogue: Catalogue) -> Frame:
    """A list follow-up for the *other* criteria after a turn about one criterion: the criteria of
    that criterion's phase, not that one criterion again."""
    if merged.operation not in (Operation.LIST, Operation.COUNT) or merged.target != Target.CRITERIA:
        return merged
    if "criteria" not in merged.inherited or len(merged.criteria) != 1 or not _OTHERS.search(fold_text(question)):
        return merged
    entry = catalogue.get(merged.criteria[0])
    if entry is None or not entry.phases:
        return merged
    # the terms it inherited named that criterion ("Exit-Strategie"): they would narrow the list to it again
    terms = [] if "terms" in merged.inherited else merged.terms
    inherited = [slot for slot in merged.inherited if slot not in ("criteria", "terms")] + ["phases"]
    # "andere", "stehen da noch" name no topic to narrow the list by
    update = {"criteria": [], "terms": terms, "phases": list(entry.phases), "inherited": inherited, "topic": [], "own_topic": []}
    return merged.model_copy(update=update)


# Words of criterion names too common to make two criteria the same matter in different phases
_GENERIC_STEMS = frozenset(content_stems("Skalierung Strategie Aufbau Durchführung Entwicklung Lösung Kommune Smart City"))


def _same_criterion_in_new_phase(frame: Frame, merged: Frame, previous: Frame, catalogue: Catalogue) -> Frame:
    """"Wie finanziert man die Verstetigung?" (K26 Finanzierung vertikale Skalierung) – "Und beim
    Transfer?": the criterion of the new phase about the same matter (K32 Finanzierung horizontale
    Skalierung), found by a word their names share; the one of the old phase does not carry over."""
    if frame.criteria or not previous.criteria or len(merged.phases) != 1 or merged.phases == previous.phases:
        return merged
    before = [e for e in (catalogue.get(c) for c in previous.criteria) if e is not None]
    matter = {s for e in before for s in content_stems(e.name or "")} - _GENERIC_STEMS
    same = criteria_naming(catalogue, merged.phases[0], matter, besides=previous.criteria)
    if not same:
        return merged
    return merged.model_copy(update={"criteria": same, "inherited": [*merged.inherited, "criteria"]})


# The slots a comparison takes its two sides from (as in answer/define.py `_sides`).
_SIDE_SLOTS = ("phases", "operator_types", "good_practices", "criteria", "drivers", "terms")


def _with_earlier_side(merged: Frame, earlier: Turn) -> Frame:
    """"Worin unterscheiden sich die beiden?" after two turns about one thing each: the turn before
    the last one lends the second side."""
    before = earlier.answer.frame or earlier.frame
    if before is None or earlier.answer.abstained:
        return merged
    for slot in _SIDE_SLOTS:
        mine, theirs = getattr(merged, slot), getattr(before, slot)
        if len(mine) == 1 and theirs and theirs[0] not in mine:
            return merged.model_copy(update={slot: [theirs[0], *mine]})
    return merged


def search_text(question: str, merged: Frame, own: Frame, asked: Frame, catalogue: Catalogue, previous_question: str = "") -> str:
    """The follow-up's words plus what it inherited: the earlier question (without its phase words
    when the follow-up names a new phase) and the names of what the earlier *answer* was about
    beyond that question (e.g. the example it chose)."""
    names: list[str] = []
    if own.phases:
        previous_question = " ".join(w for w in previous_question.split() if not _names_a_phase(w))
    elif _stale_phase(merged, previous_question):
        # the earlier words name another phase than the one now in question (the phase moved, "Und
        # danach?"): the earlier question without its phase words, and the phase's own name
        previous_question = " ".join(w for w in previous_question.split() if not _names_a_phase(w))
        names += [entry.name for p in merged.phases if (entry := catalogue.get(p)) is not None]
    for slot in ("criteria", "good_practices", "drivers", "mechanisms", "operator_types"):  # the phase travels in the frame
        if getattr(own, slot):
            continue
        for entry_id in getattr(merged, slot):
            entry = catalogue.get(entry_id)
            # an operator type is no catalogue entry: its id is its German name ("öffentliche Hand")
            name = entry.display_name if entry is not None else entry_id if slot == "operator_types" else None
            # named unless the earlier question named it itself (it may have inherited it too)
            if name is not None and (entry_id not in getattr(asked, slot) or slot in asked.inherited):
                names.append(name)
    return " ".join([question, previous_question, *names]).strip()


_PHASE_WORD = re.compile(r"^(P\s?[1-5]|\w*(phase|prototyp|pilot|verstetigung|verfestigung|transfer|ideenfindung|skalierung)\w*)\W*$", re.IGNORECASE)


def _stale_phase(merged: Frame, previous_question: str) -> bool:
    """Do the earlier words name a phase, but not the one the conversation is now about ("Und
    danach? Was passiert in der Verstetigungsphase?" once the frame moved to P5)?"""
    if len(merged.phases) != 1:
        return False
    named = {p for w in previous_question.split() if (p := _phase_of_word(w))}
    return bool(named) and merged.phases[0] not in named


def _phase_of_word(word: str) -> str | None:
    folded = fold_text(word)
    for phase, pattern in _PHASE_OF.items():
        if re.search(pattern, folded):
            return phase
    return None


_PHASE_OF = {
    "P1": r"^p\s?1\b|ideenfindung",
    "P2": r"^p\s?2\b|prototyp",
    "P3": r"^p\s?3\b|pilot",
    "P4": r"^p\s?4\b|verstetigung|verfestigung|vertikal",
    "P5": r"^p\s?5\b|transfer|horizontal",
}


def _names_a_phase(word: str) -> bool:
    return bool(_PHASE_WORD.match(word))
