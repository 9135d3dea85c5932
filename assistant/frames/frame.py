"""The question frame: what a question asks (operation), about what (entities), with which
filters, in which language — and how a follow-up inherits the slots it does not name.

`FrameParser.parse` builds a frame from a question and its embedding; `Frame.follow` merges an
elliptical follow-up into the previous turn's frame ("Und in P4?" keeps the operation and topic and
replaces the phase; "Gibt es dafür ein Beispiel?" keeps topic and phase and asks for an example;
"Welche davon sind Meilensteine?" filters the previous list).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from assistant.domain import DEVELOPMENT_PHASES, Operation, PhaseId
from assistant.frames.lexicon import KIND_TERMS, STOPWORDS, Lexicon, Linked, content_stems, context_only, fold_text, stem, tokens
from assistant.frames.operations import YES_NO, OperationClassifier
from assistant.frames.operations import cued as has_cue


class Target(StrEnum):
    """What a list or count question enumerates."""

    CRITERIA = "criteria"
    PHASES = "phases"
    DRIVERS = "drivers"
    GOOD_PRACTICES = "good_practices"
    MECHANISMS = "mechanisms"
    KEY_FINDINGS = "key_findings"
    OPERATOR_TYPES = "operator_types"
    WORKSTREAMS = "workstreams"
    STAKEHOLDERS = "stakeholders"
    GLOSSARY = "glossary"


class Frame(BaseModel):
    """A parsed question. Part of the JSON answer contract (field `frame`), for debugging."""

    operation: Operation
    target: Target | None = None
    phases: list[PhaseId] = Field(default_factory=list)
    drivers: list[str] = Field(default_factory=list)
    workstreams: list[str] = Field(default_factory=list)
    criteria: list[str] = Field(default_factory=list)
    good_practices: list[str] = Field(default_factory=list)
    mechanisms: list[str] = Field(default_factory=list)
    terms: list[str] = Field(default_factory=list)
    operator_types: list[str] = Field(default_factory=list)
    milestone: bool | None = None  # filter: only milestone criteria (False: only those marked "no")
    topic: list[str] = Field(default_factory=list)  # content words beyond the named entities
    own_topic: list[str] = Field(default_factory=list)  # a follow-up's own topic words (before inheriting)
    inherited: list[str] = Field(default_factory=list)  # slots a follow-up took from the previous turn, and "milestone" when it kept the milestone filter
    lang: Literal["de", "en"] = "de"
    confidence: float = 0.0  # margin of the operation decision
    cued: bool = False  # a cue word decided the operation
    follow_up: bool = False  # merged with the previous turn's frame
    # "Welcher Treiber rät zu …?", "Which criterion is about …?": one entry of the list target,
    # chosen by what the question describes
    which_one: bool = False
    # "Welche Arten gibt es?": the kinds of what the previous turn named (a follow-up lists them)
    asks_kinds: bool = False
    # "Geht das überhaupt mit dem Haushaltsrecht?", "Does that work with budget law?": a yes/no
    # question of its own; after a list it asks about what was listed, it does not list again
    asks_yes_no: bool = False
    # The catalogue entries a list answer named, in the order shown ("the second one" picks one)
    listed: list[str] = Field(default_factory=list)
    # "Kannst du das in einem Satz sagen?", "In short?": the previous answer, as short as it gets
    brief: bool = False
    # "Was hat das mit Skaleneffekten zu tun?", "How does that relate to …?": how two things relate
    asks_relation: bool = False
    # "Welcher davon dreht sich ums Geld?", "Which one of those is about open source?": one entry of
    # the list the previous answer showed, chosen by what the question describes
    picks_one: bool = False
    # "Was muss ich in P3 beachten?" (asks_what_to_mind); a bare follow-up ("Und in P4?") keeps it
    asks_what_to_mind: bool = False
    # "Wer hat das begleitet?", "Was hat man daraus gelernt?": refers to the previous turn (points_back)
    refers_back: bool = False
    # "Welche Kriterien nennt die Roadmap für P3 außer der Durchführung des Pilotprojekts?": catalogue
    # entries named after "außer"/"except", left out of a list (and not asked about)
    excluded: list[str] = Field(default_factory=list)

    @property
    def asked_topic(self) -> list[str]:
        """The words the question itself asks about: a follow-up's own words, else its topic."""
        return self.own_topic if self.follow_up else self.topic

    @property
    def names_an_entry(self) -> bool:
        """Does the question name one good practice or criterion of its own?"""
        return len(self.good_practices) + len(self.criteria) == 1

    @property
    def single_listed(self) -> bool:
        """Did this (list) frame end up about exactly one entry of its target (see Draft.focus)?"""
        slot = ENTRY_SLOT_OF_TARGET.get(self.target) if self.target else None
        return slot is not None and len(getattr(self, slot)) == 1

    @property
    def entity_count(self) -> int:
        return sum(
            len(x)
            for x in (self.phases, self.drivers, self.workstreams, self.criteria, self.good_practices, self.mechanisms, self.terms, self.operator_types)
        )

    def follow(self, previous: "Frame") -> "Frame":
        """This follow-up's frame with every slot it leaves open taken from `previous`.

        Two exceptions: a follow-up that moves to another phase ("And for the Verstetigung phase?")
        does not inherit the previous phase's good practices and criteria; and a question of its own
        about the one entry a list named ("Who developed it, and when?") keeps its own operation
        instead of listing again."""
        if self.brief and not self.entity_count:
            # the same question again, answered in one sentence
            kept = [slot for slot in _SLOTS if getattr(previous, slot)]
            return previous.model_copy(
                update={"follow_up": True, "brief": True, "lang": self.lang, "own_topic": [], "inherited": kept}
            )
        operation = self.operation if self.cued else previous.operation
        if not self.cued and operation == Operation.META and (self.entity_count or self.topic) and not (previous.operation == Operation.META and previous.cued):
            # "Thema Weiterbildung – wo taucht das in der Roadmap auf?" – "Gibt's dazu auch nen
            # Fördermechanismus?": near questions about the study only by its words ("Roadmap",
            # "Studie"); a follow-up with words of its own asks about them. After a question that
            # asked about the study ("Who wrote the roadmap study?" – "Which organisations are they
            # from?") it stays one. Stop 35: probe 12 and probe 17 one turn each, nothing else moves.
            operation = Operation.LIST if self.target is not None else Operation.EXPLAIN
        if not self.cued and previous.operation == Operation.DEFINE and self.topic and not self.brief:
            # "Was ist ein MVP?" … "Und was hat Hamburg da gemacht?": a question about the thing just
            # defined, not its definition again
            operation = Operation.EXPLAIN
        new_phase = bool(self.phases) and set(self.phases) != set(previous.phases)
        if not self.cued and self.topic and previous.operation in (Operation.LIST, Operation.COUNT) and not new_phase and (
            previous.single_listed or self.names_an_entry
        ):
            # the question is about that entry ("Und wer betreibt das dann bei kulturis?" after a list
            # of operator types): never about the study itself or a new list
            # (a comparison needs its cue word and two sides)
            operation = Operation.EXPLAIN if self.operation in (*_NOT_ABOUT_AN_ENTRY, Operation.COMPARE) else self.operation
        if not self.cued and self.topic and self.target is None and previous.operation == Operation.LIST and previous.target not in ENTRY_SLOT_OF_TARGET and not new_phase:
            # "What are the main takeaways?" – "what about funding?": a list of no catalogue entries
            # (key findings) has no entry to pick; the topic, explained
            operation = Operation.EXPLAIN
        if not self.cued and self.asks_yes_no and self.topic and operation in (Operation.LIST, Operation.COUNT):
            operation = Operation.EXPLAIN
        if not self.cued and self.asks_relation and self.target is None and operation in (Operation.LIST, Operation.COUNT, Operation.EXAMPLE):
            # "Und was hat das mit Skaleneffekten zu tun?" after a list, "Und was hat CI/CD damit zu
            # tun?" after an example: how the two relate, not the list or the example again
            operation = Operation.EXPLAIN
        picks = self.picks_one and (self.topic or self.terms) and len(previous.listed) > 1 and (previous.target in ENTRY_SLOT_OF_TARGET or previous.target == Target.PHASES)
        if picks and not self.cued and self.target in (None, previous.target):
            # "Welcher davon dreht sich ums Geld?" after a list: the entry of that list it describes
            operation = Operation.LIST
        if self.asks_kinds and self.target is None and previous.target is not None:
            # "Was sind Fördermechanismen?" – "Welche Arten gibt es?", "Welche sind das in P1?": the list of them
            operation = Operation.LIST
        # "Was versteht die Roadmap unter einem Kriterium?" – "Und Meilensteine?": what milestones
        # are, not the criterion's definition again
        defines_filter = not self.cued and previous.operation == Operation.DEFINE and self.milestone and not previous.milestone and not self.entity_count
        if self.target == Target.OPERATOR_TYPES and operation == Operation.LIST and not self.operator_types and len(previous.good_practices) == 1:
            # "Wer betreibt das dann?" after one good practice: who runs that one
            operation = Operation.EXPLAIN
        if operation == Operation.META and len(previous.good_practices) == 1 and not self.entity_count and self.refers_back:
            # "Und wer hat das wissenschaftlich begleitet?" after one good practice: about that one,
            # not about the study's own scientific supervision
            operation = Operation.EXPLAIN
        if operation == Operation.PHASE and not (self.phases or previous.phases):
            operation = Operation.EXPLAIN
        merged = self.model_copy(update={"operation": operation, "follow_up": True})
        for slot in _SLOTS:
            if new_phase and slot in _PHASE_BOUND or defines_filter and slot == "terms":
                continue
            if not getattr(self, slot) and getattr(previous, slot):
                setattr(merged, slot, list(getattr(previous, slot)))
                merged.inherited.append(slot)
        if merged.target is None and operation in (Operation.LIST, Operation.COUNT):
            merged.target = previous.target
        if merged.milestone is None and operation in (Operation.LIST, Operation.COUNT) and previous.milestone is not None:
            merged.milestone = previous.milestone
            merged.inherited.append("milestone")
        merged.listed = list(previous.listed)  # "the first one" may point past an answer about one of them
        merged.which_one = merged.which_one or bool(picks and operation == Operation.LIST)
        # "Und in P4?" after "Was ist in P3 wichtig?": what matters there too
        merged.asks_what_to_mind = self.asks_what_to_mind or (previous.asks_what_to_mind and not self.topic and operation == previous.operation)
        merged.own_topic = list(self.topic)
        merged.topic = list(dict.fromkeys(self.topic + previous.topic))
        merged.lang = self.lang
        return merged


# The slots that name what a question is about (a follow-up inherits those it leaves open).
_SLOTS = ("phases", "drivers", "workstreams", "criteria", "good_practices", "mechanisms", "terms", "operator_types")
_NOT_ABOUT_AN_ENTRY = (Operation.META, Operation.ONBOARDING, Operation.LIST, Operation.COUNT)
# Entities that belong to one phase: a follow-up that names another phase does not inherit them.
_PHASE_BOUND = ("criteria", "good_practices")
# The frame slot of the entries a list target names (the catalogue keeps its entries of that kind
# under the same name; a list that names one of them asks about it).
ENTRY_SLOT_OF_TARGET = {
    Target.CRITERIA: "criteria",
    Target.DRIVERS: "drivers",
    Target.GOOD_PRACTICES: "good_practices",
    Target.MECHANISMS: "mechanisms",
}

_TARGET_OF_LINK = {
    "criteria": Target.CRITERIA,
    "milestones": Target.CRITERIA,
    "phases": Target.PHASES,
    "drivers": Target.DRIVERS,
    "good_practices": Target.GOOD_PRACTICES,
    "mechanisms": Target.MECHANISMS,
    "key_findings": Target.KEY_FINDINGS,
    "operator_types": Target.OPERATOR_TYPES,
    "workstreams": Target.WORKSTREAMS,
    "stakeholders": Target.STAKEHOLDERS,
    "glossary": Target.GLOSSARY,
}

# Words that only carry the operation or point back; they are not part of a question's topic.
_FRAME_WORDS = frozenset(
    fold_text(w)
    for w in """
    erklare erklaer erklär erklaren erklären beschreibe nenne nenn liste zähle zaehle aufzählen gib zeig zeige
    unterschied unterschiede unterscheiden unterscheidet vergleich vergleiche beispiel beispiele example examples
    good practice practices best definition define bedeutet bedeutung heißt meint versteht verstehen
    wichtig wichtige beachten beachte achten berücksichtigen passiert geht gehen ziel ziele aufgabe aufgaben tun
    vordergrund kommt jetzt gerade now stehen things thing stuff keep eye during not just
    roadmap fahrplan studie dossier katalog kriterienkatalog laut steht sagt sagen nennt nennen gemeint darunter
    wirklich konkret kurz knapp einfach bitte danke difference explain describe list name tell show important
    happens happen focus matter matters study catalogue say says mean means meant
    empfiehlt empfehlen rät raten recommend recommends recommended suggest suggests advise advises
    davon dafür dazu hierzu darin damit dabei darum darauf dagegen diese dieser dieses diesen das es it this these those that them
    und and what about auch noch worin beiden beide both sinne welchem welcher welches welchen zwischen between
    danach davor vorher anschließend after before next previous then comes come
    kommune kommunen municipality municipalities
    gibt geben there any one eins einem dort dorthin
    arten art formen typen varianten kategorien gruppen kinds types sorts categories groups
    gehoren gehort zahlen zahlt fallen fallt betreffen betrifft zugeordnet belong belongs fall falls under
    taucht tauchen auftauchen vorkommen erscheint appear appears bringt bringen folgt folgen daraus
    erste ersten erster erstes zweite zweiten zweiter zweites dritte dritten dritter drittes letzte letzten letzter letztes
    überhaupt besonders typischerweise grundsätzlich insgesamt actually exactly really just overall
    woher begriff begriffs wort term word markiert markierte gekennzeichnet marked flagged
    kannst könntest konntest würdest could would please zusammenfassen zusammen fasse fass summarize summarise
    first second third fourth fifth last
    gibts gibt's ungefähr ungefaehr circa etwa rund approximately roughly
    """.split()
)


class FrameParser:
    """Turns a question (and its embedding) into a `Frame`."""

    def __init__(self, lexicon: Lexicon, classifier: OperationClassifier):
        self.lexicon = lexicon
        self.classifier = classifier

    def _excluded(self, linked: Linked, at: int, target: "Target") -> list[str]:
        """The catalogue entries named after the exception word at `at`: linked there, or (for the
        list's own kind) entries whose name has at least two of the words after it ("außer der
        Durchführung des Pilotprojekts": "Durchführung eines Pilotprojektes")."""
        kinds = ("criterion", "good_practice", "driver", "mechanism")
        out = [l.key for l in linked.links if l.type in kinds and l.start > at]
        words = {stem(t) for t in linked.tokens[at + 1 :] if t not in STOPWORDS}
        slot = ENTRY_SLOT_OF_TARGET.get(target)
        for entry in getattr(self.lexicon.catalogue, slot, ()) if slot else ():
            name = set(content_stems(entry.name or ""))
            if len(name & words) >= min(2, len(name)):
                out.append(entry.id)
        return list(dict.fromkeys(out))

    def parse(self, question: str, vector: np.ndarray | None, lang: str = "de") -> Frame:
        linked = self.lexicon.link(question)
        target_links = linked.of("target")
        target = _TARGET_OF_LINK[target_links[0]] if target_links else None
        attributes = [t for t in target_links if t in ("stakeholders", "workstreams")]
        if target == Target.CRITERIA and attributes and not _ASKS_CRITERIA.match(without_filler(fold_text(question).strip())):
            # "Welche Akteure werden bei den Kriterien als Key Stakeholder eingetragen?": the criteria
            # are where the stakeholders are recorded; what is asked for is the stakeholders
            target = _TARGET_OF_LINK[attributes[0]]
        milestone = None
        if "milestones" in target_links and not ("criteria" in target_links and _BOTH.search(fold_text(question))):
            # "Welche Kriterien und Meilensteine …" asks for all criteria (milestones marked), not a filter
            milestone = not _NEGATED_MILESTONE.search(fold_text(question))
        phases = [p for p in linked.of("phase")]
        if len(phases) == 2 and TRANSITION.search(fold_text(question)) and not re.search(r"unterschied|vergleich|differen|compare", fold_text(question)):
            # "beim Übergang vom Pilot in den Regelbetrieb": what to mind is the phase one moves into
            phases = [max(phases)]
        phases = _past_phase_moved_on(question, phases) or _situation_phase(question)
        guess = self.classifier.classify(
            question, vector, has_target=target is not None and _target_is_head(linked, question), has_phase=bool(phases)
        )
        operation = guess.operation
        if operation == Operation.COUNT and not guess.cued:
            # near count questions, but asking no number: a list of the target ("Was für Kriterien
            # hat der Katalog für P3?"), unless it asks yes or no or where ("Muss ich wirklich alle
            # 76 Kriterien abarbeiten?", "Wo finde ich die Liste aller Kriterien?"): what the sources say
            plain = without_filler(fold_text(question).strip())
            asks_other = YES_NO.match(plain) or re.match(r"(und |and )?(wo|where)\b", plain)
            operation = Operation.LIST if target is not None and not asks_other else Operation.EXPLAIN
        if operation == Operation.META and not guess.cued and any(
            linked.of(kind) for kind in ("criterion", "good_practice", "driver", "mechanism", "operator_type")
        ):
            # near a question about the study, but naming something in it ("Was macht das Research
            # Lab in Bamberg?", "Was steht in der Studie zur Datenweitergabe?"): about that thing
            operation = Operation.EXPLAIN
        if operation == Operation.META and not guess.cued and has_cue(question, Operation.EXAMPLE):
            # "Kennt die Studie ein gutes Beispiel für einen Pilot, den eine Uni wissenschaftlich
            # begleitet hat?": near questions about the study, but asking for an example
            operation = Operation.EXAMPLE
        if operation == Operation.META and not guess.cued and len(phases) == 1 and not target:
            # "What's the final phase of the roadmap about?": near questions about the study by its
            # words, but one phase is named: that phase's overview
            operation = Operation.PHASE
        if operation == Operation.ONBOARDING and any(linked.of(kind) for kind in ("criterion", "good_practice", "driver", "mechanism")):
            # "Warum sollen wir jetzt schon über einen Exit nachdenken, wir haben doch gerade erst
            # angefangen?": a question about that entry; the newcomer's words only say when it is asked
            operation = Operation.EXPLAIN
        named_terms = _named_terms(question, linked)
        if (
            operation == Operation.DEFINE and (not guess.cued or _ABOUT.search(fold_text(question))) and len(phases) == 1 and named_terms
            and all(t in KIND_TERMS for t in named_terms) and not linked.of("criterion")
        ):
            # "What do we have to demonstrate in the very first phase of the roadmap?": near definition
            # questions, but the only term is the word "phase" and one phase is named: about that phase
            operation = Operation.PHASE
        if operation == Operation.DEFINE and not guess.cued and phases and moves_on(question):
            # "Unser Pilot ist erfolgreich abgeschlossen. Was kommt laut Roadmap als Nächstes?": the
            # next phase as a whole, nothing to define
            operation = Operation.PHASE
        if (
            operation == Operation.DEFINE and target is not None and _COUNTED.search(fold_text(question))
            and not any(linked.of(kind) for kind in ("criterion", "good_practice", "driver", "mechanism", "phase"))
        ):
            # "What are the five phases of the roadmap?": a counted plural asks for the entries,
            # not what the word means
            operation = Operation.LIST
        if operation == Operation.LIST and target is None and len(phases) == 1 and not any(
            linked.of(kind) for kind in ("criterion", "good_practice", "driver", "mechanism", "operator_type")
        ):
            # "Was muss man die ganze Zeit auf dem Schirm haben, egal in welcher Phase?": near list
            # questions, but nothing to list is named, only one phase: that phase's overview
            operation = Operation.PHASE
        if target is not None and operation in (Operation.META, Operation.DEFINE) and _KINDS_OF.match(without_filler(fold_text(question).strip())):
            # "In welche Kategorien sind die Fördermechanismen in der Online-Roadmap einsortiert?":
            # the kinds of a list target, not a question about the online tool
            operation = Operation.LIST
        exception = _exception_at(linked.tokens) if target is not None else None
        excluded = self._excluded(linked, exception, target) if exception is not None else []
        if excluded:
            # the entries named after "außer" are no entities the question asks about
            linked = Linked(links=[l for l in linked.links if l.start < exception], tokens=linked.tokens[:exception])
        covered = linked.covered()
        topic = [
            t
            for i, t in enumerate(linked.tokens)
            if i not in covered and t not in STOPWORDS and t not in _FRAME_WORDS and len(t) > 2 and not t.isdigit()
        ]
        folded = fold_text(question).strip()
        which = _WHICH_ONE.search(folded)
        which_one = (
            target in ENTRY_SLOT_OF_TARGET
            and bool(topic)
            and which is not None
            and _target_follows(linked, len(tokens(folded[: which.end()])))
            and operation not in (Operation.COUNT, Operation.COMPARE, Operation.EXAMPLE)
            and not any(linked.of(kind) for kind in ("criterion", "good_practice", "driver", "mechanism", "phase"))
        )
        if which_one:
            operation = Operation.LIST  # the catalogue answers it from its entries
        if target == Target.CRITERIA and phases and not linked.of("criterion") and (
            milestone and operation in (Operation.DEFINE, Operation.EXPLAIN) or operation == Operation.PHASE
        ):
            # "Was ist in der Prototypenphase der entscheidende Meilenstein?", "Gibt es Kriterien, die
            # die ganze Zeit wichtig sind?": the criteria the catalogue files under that phase
            operation = Operation.LIST
        cued = guess.cued
        if target in _KINDS_WITH_AN_ORIGIN and ASKS_ORIGIN.search(folded) and not any(
            linked.of(kind) for kind in ("criterion", "good_practice", "driver", "mechanism", "phase")
        ):
            # "Woran orientieren sich die Phasen?", "und die Treiber, wo kommen die her?": what the
            # kind of entry is modelled on (the dossier says it where it introduces them), not a
            # list of the entries nor how the study was made
            operation, cued = Operation.EXPLAIN, True
        who_runs = _WHO_RUNS.match(without_filler(folded)) and points_back(question) or _WHO_MAY_RUN.match(without_filler(folded))
        if who_runs and not linked.of("good_practice") and not linked.of("operator_type"):
            # "Wer betreibt das dann?", "Who would run it?": who can operate a solution (Abbildung 3)
            operation, target, cued = Operation.LIST, Target.OPERATOR_TYPES, True
        return Frame(
            operation=operation,
            target=target,
            phases=phases,  # type: ignore[arg-type]
            drivers=linked.of("driver"),
            workstreams=linked.of("workstream"),
            criteria=linked.of("criterion"),
            good_practices=linked.of("good_practice"),
            mechanisms=linked.of("mechanism"),
            terms=named_terms,
            operator_types=linked.of("operator_type"),
            milestone=milestone,
            topic=list(dict.fromkeys(topic)),
            lang="en" if lang == "en" else "de",
            confidence=guess.confidence,
            cued=cued,
            which_one=which_one,
            asks_kinds=bool(_KINDS_OF.match(folded)),
            asks_yes_no=bool(YES_NO.match(folded)),
            asks_relation=bool(_RELATES.search(folded)),
            picks_one=bool(_PICKS_ONE.search(folded)),
            asks_what_to_mind=asks_what_to_mind(question),
            refers_back=points_back(question),
            excluded=excluded,
            brief=bool(_BRIEF.search(folded)) and len(tokens(folded)) <= 9,
        )


# A phase named as done ("Unser Pilot läuft richtig gut", "wenn der Pilot geklappt hat", "The pilot
# went well"): the question is about what comes next
_PHASE_DONE = re.compile(
    r"\b(?P<de>pilot\w*|prototyp\w*)\b[^.?!]{0,30}\b((lauft|lief|laufen|liefen|war|ist|sind|hat|haben)\b[^.?!]{0,20}"
    r"\b(gut|geklappt|abgeschlossen|fertig|vorbei|beendet|durch)|(war|lief|liefen|waren)\b[^.?!]{0,20}\berfolgreich)\b"
    # the participle before its verb ("wenn der Pilot geklappt hat", "nachdem der Prototyp fertig ist")
    r"|\b(?P<de3>pilot\w*|prototyp\w*)\b[^.?!]{0,30}\b((geklappt|gut gelaufen|abgeschlossen|beendet|fertig) (hat|ist|war|wurde|sind|haben)|erfolgreich (war|gewesen))\b"
    r"|\babschluss (der|des) (?P<de2>pilot\w*|prototyp\w*)"
    # "Der Prototyp steht, demnächst testen wir …", "Nach dem erfolgreichen Pilot …"
    r"|\b(?P<de4>pilot\w*|prototyp\w*) (steht|stehen)\b|\bnach (dem|einem) erfolgreichen (?P<de5>pilot\w*|prototyp\w*)"
    r"|\b(?P<en>pilot|prototype)\b[^.?!]{0,30}\b(went|worked|is|was|has been)\b[^.?!]{0,15}\b(well|successful|done|over|finished|completed?)\b"
)
_DONE_PHASE = {"pilot": "P3", "prototyp": "P2", "prototype": "P2"}


def moves_on(question: str) -> bool:
    """Does the question name a phase as done ("Unser Pilot läuft richtig gut …"), asking about the
    next one as a whole?"""
    return bool(_PHASE_DONE.search(fold_text(question)))


# "Wir haben bisher nur ne grobe Idee. In welcher Phase stehen wir?", "Die Nachbarkommunen fragen
# schon danach – welche Phase ist das?": the situation a "which phase" question describes, by phase
_SITUATION_PHASE = (
    (re.compile(r"\b(nur|erst|bisher|grobe|vage|just|only)\b[^.?!]{0,25}\b(idee|an idea|the idea)\b"), "P1"),
    (re.compile(r"\b(nachbar\w*|andere(n)? (kommunen|stadte|gemeinden)|(other|neighbou?ring) (towns|cities|municipalities))\b[^.?!]{0,40}"
                r"\b(fragen|wollen|mochten|ubernehmen|nutzen|ask|want|adopt|use)\b"), "P5"),
)


def _situation_phase(question: str) -> list[str]:
    """The phase a "which phase are we in" question describes by its situation (see _SITUATION_PHASE)."""
    folded = fold_text(question)
    if not WHICH_PHASE.search(folded):
        return []
    return next(([phase] for pattern, phase in _SITUATION_PHASE if pattern.search(folded)), [])


def _past_phase_moved_on(question: str, phases: list[str]) -> list[str]:
    """"Unser Pilot läuft richtig gut. Wie gehe ich vor, wenn wir die Lösung jetzt in den normalen
    Betrieb übernehmen?": the phase named as done is context; the question is about the next one."""
    match = _PHASE_DONE.search(fold_text(question))
    if match is None or re.search(r"\b(welche|which|what)\b.{0,20}\bphase\b.*\b(nach|vor|after|before|following|next|nachste|folgt|folgende)\b", fold_text(question)):
        return phases  # "Welche Phase kommt nach …": relative_phase steps from the phase named
    # "Pilot war erfolgreich, welche Phase kommt jetzt?": the phase after the one named as done
    word = next(w for w in (match.group("de"), match.group("de2"), match.group("de3"), match.group("de4"), match.group("de5"), match.group("en")) if w)
    done = next((p for stem, p in _DONE_PHASE.items() if word.startswith(stem)), None)
    if done is None or done not in phases:
        return phases
    following = DEVELOPMENT_PHASES[DEVELOPMENT_PHASES.index(done) + 1]
    rest = [p for p in phases if p != done]
    return rest if rest else [following]


# The question asks which phase ("In welcher Phase geht es um …?", "In welcher Phase sind wir da?",
# "Which phase is the one where …?").
WHICH_PHASE = re.compile(r"\b(welche[rmn]?|which|what) (phase|stage)\b")
# "What is phase 4 of the roadmap about?": what the named thing is about, not what the word means
_ABOUT = re.compile(r"^(what|was) (is|ist)\b.*\b(about|worum)\W*$")
# A move from one phase into the next ("Übergang vom Pilot in den Regelbetrieb", "from pilot to
# regular operation", "den Schritt in die Verstetigung").
TRANSITION = re.compile(
    r"ubergang|uberfuhr|uberleit|\b(wechsel|schritt|sprung)\w* (vom|von der|in den|in die|zur|zum)\b|\b(vom|von der|aus dem|aus der)\b.{0,40}\b(in|zu|zur|zum|hin zu)\b|"
    r"\btransition|\bmov(e|ing) (from|on|into)|\bfrom\b.{0,40}\b(to|into)\b"
)
# Asking what to do ("Wie kriegen wir …?", "Worauf sollte ich achten?", "Was müssen wir klären?",
# "How do we …?", "What should we prepare?"), anywhere in the (folded) question.
HOW_TO = re.compile(
    r"\bwoher\b|\b(wie|worauf|woran|womit|was)\s+(\w+\s+)?(wir|ich|man|eine kommune|die kommune|kommunen|unsere? \w+)\b|"
    r"\bhow (do|can|should|could|would|to)\b|\bwhat (should|can|must|do) (we|i|a city|a town|a municipality|municipalities)\b|"
    r"\bwhat (kind of|sort of) \w+ (should|do|can)\b|"
    # "Was tun, wenn der Pilot nicht trägt?", "Was ist zu tun, wenn …", "What to do if …"
    r"\bwas (ist )?(zu )?tun\b|\bwhat to do\b"
)


# "außer", "ausser", "abgesehen von", "except", "besides", "other than", "apart from"
_EXCEPT = frozenset({"ausser", "auser", "abgesehen", "except", "besides", "excluding"})
_EXCEPT_PAIRS = (("other", "than"), ("apart", "from"))


def _exception_at(toks: list[str]) -> int | None:
    """The token position of an exception word ("außer der Durchführung …"), if any."""
    return next((i for i, t in enumerate(toks) if t in _EXCEPT or tuple(toks[i : i + 2]) in _EXCEPT_PAIRS), None)


def asks_how_to(question: str) -> bool:
    """Does the question ask what to do (HOW_TO)?"""
    return bool(HOW_TO.search(fold_text(question)))


# "Was ist in der Pilotphase wichtig?", "Worauf kommt es jetzt an?", "What matters in P4?"
_WHAT_MATTERS = re.compile(
    r"\b(worauf|beacht\w*|achten|wichtig\w*|kommt es \w+( \w+)? an|what matters|important|keep in mind|pay attention|watch out|"
    r"keep an eye on|look out for|be aware of)\b"
)


def asks_what_to_mind(question: str) -> bool:
    """Does the question ask what to do or what to mind (HOW_TO, or "worauf kommt es an")?"""
    return asks_how_to(question) or bool(_WHAT_MATTERS.search(fold_text(question)))


# What a kind of catalogue entry is modelled on or where it comes from (folded text).
ASKS_ORIGIN = re.compile(
    r"\bwor(an|auf) (orientier|basier|beruh|stutz|grund)\w*|\bwonach (richt|orientier)\w*|\bwo\b.{0,60}\bher(kommen|kommt|stammen|stammt)?\b\W*$|\bwoher\b"
    r"|\b(based|modell?ed) on\b|\bwhere\b.{0,60}\bcomes? from\b|\b(origin|origins|grundlage)\b"
)
_KINDS_WITH_AN_ORIGIN = frozenset({"phases", "drivers", "criteria", "mechanisms"})

# "Was hat das mit X zu tun?", "Wie hängt das mit X zusammen?", "How does that relate to X?" (not
# "Welcher davon hat mit Geld zu tun?", which asks for one of a list)
_RELATES = re.compile(
    r"^(und |and |aber |but |also )?((was|wie|what|how)\b.{0,80}(\bzu tun\b|\bzusammen(hang|hangt|hangen)?\b|\b(have|has) to do with\b|"
    r"\brelated?s? to\b|\bconnected (to|with)\b)|inwiefern\b|inwieweit\b)"
)
# "Welche Arten gibt es?", "What kinds are there?": the kinds of what was just named; "Welche sind
# das (in P1)?", "Which ones are they?": the entries of what was just named.
_KINDS_OF = re.compile(
    r"^(und |and )?(((in|nach|into) )?(welche[n]?|what|which)|(nenn|nenne|zahl|zahle|gib|name|list|give)( mir| me| uns| us)?( mal| doch)?( ein paar| einige| die| ein paar der| some| the)?)"
    r" (arten|formen|typen|varianten|kategorien|gruppen|kinds|types|sorts|categories|groups)\b"
    r"|^(und |and )?(welche|which( ones)?)( genau| denn| konkret| exactly)? (sind|waren|are|were) (das|dies|es|these|those|they)\b"
)
# A question for one entry, in the singular ("Welcher Treiber …", "Zu welchem Kriterium …", "Which driver …").
_WHICH_ONE = re.compile(  # at the start of the question or of its last sentences ("Der Bürgermeister sagt … Zu welchem Treiber passt das?")
    r"(^|[.!?:;]\s+)(und )?((zu|bei|in|an|fur|mit|von|unter|to|in|under) )?(welcher|welches|welchem|which (driver|criterion|mechanism|funding mechanism|good practice)\b(?! examples?\b))"
)
# A counted plural: "die fünf Phasen", "the seven key findings", "alle 76 Kriterien".
_COUNTED = re.compile(r"\b(\d+|zwei|drei|vier|funf|sechs|sieben|acht|neun|zehn|two|three|four|five|six|seven|eight|nine|ten)\b")
# "Welcher davon …?", "Welches von denen …?", "Which one of those …?", "Which of them is …?" (one
# entry of a list shown before; "Welche davon …?" narrows the list instead)
_PICKS_ONE = re.compile(
    r"\b(welche[rsm]|welches)\b.{0,15}\b(davon|von (denen|diesen|ihnen)|der (genannten|aufgezahlten|aufgefuhrten))\b"
    # "welche davon ist …" (feminine singular: the verb says one)
    r"|\bwelche (davon|von (denen|diesen|ihnen)) (ist|hat|passt|betrifft|beschreibt|dreht sich|geht)\b"
    r"|\bwhich one\b|\bwhich of (them|these|those)( \w+)? (is|has|does|fits|deals|covers|concerns)\b"
)
_BOTH = re.compile(r"(kriterien|criteria) (und|and) (meilenstein|milestone)|(meilensteine|milestones) (und|and) (kriterien|criteria)")
_NEGATED_MILESTONE = re.compile(r"\b(kein|keine|keinen|nicht|not|no|non)\b[\w\s-]{0,25}(meilenstein|milestone)")


# Where a sentence starts: the text's start, or a capital after a full stop, "?" or "!" ("vs. freiwillige" is none).
_SENTENCE_START = re.compile(r"^|(?<=[.!?])\s+(?=[A-ZÄÖÜ])")
# A polite request before the question proper ("Kannst du mir die Kernergebnisse …").
_POLITE = re.compile(r"^(kannst|konntest|konnen|konnten|wurdest|wurden|could|can|would) (du|sie|you)( mir| uns| me| us)?( bitte| please)?\b")


def _named_terms(question: str, linked) -> list[str]:
    """The glossary terms the question names; one named only by a word saying where the user looks
    ("MVP – was ist das im Sinne der Roadmap?": not the term "Digitale Roadmap") is left out when
    the question names something else."""
    terms = linked.of("term")
    own = [t for t in terms if not context_only(question, t)]
    if own == terms:
        return terms
    names_other = bool(own) or any(linked.of(kind) for kind in ("criterion", "good_practice", "driver", "mechanism", "operator_type", "phase"))
    return own if names_other else terms


def _target_is_head(linked, question: str = "") -> bool:
    """Is the list target what the question asks for ("Welche Kriterien …", "Nenne die Treiber"),
    rather than a word further on ("Auf welche Quelle stützt sich die Einteilung der Treiber?")?
    It counts from the start of the question or of a later sentence ("Unsere App läuft aus.
    Welche Betreibermodelle …"), after a polite request ("Kannst du mir …")."""
    starts = [link.start for link in linked.links if link.type == "target"]
    if not starts:
        return False
    text = question.strip()
    heads = []
    for m in _SENTENCE_START.finditer(text):
        polite = _POLITE.match(fold_text(text[m.end():]))
        offset = len(tokens(polite.group(0))) if polite else 0
        heads.append(len(tokens(text[: m.end()])) + offset)
    return any(0 <= start - head <= 3 for start in starts for head in heads)  # "^" always gives one head


def _target_follows(linked, position: int) -> bool:
    """Does a list target word stand right after the which-word ending at token `position`
    ("… Zu welchem Treiber passt das?")?"""
    return any(link.type == "target" and position - 1 <= link.start <= position + 2 for link in linked.links)


# -- follow-ups ---------------------------------------------------------------------------------

# Words a reply opens with before its question ("ok and who …", "Alles klar. Und …").
_FILLER = re.compile(
    r"^((ok|okay|gut|alles klar|danke|vielen dank|thanks|thank you|right|alright|hm+|ah|aha|verstehe|i see|got it|"
    r"super|prima|cool|interessant|interesting|spannend)\b\W*)+"
)


def without_filler(folded: str) -> str:
    """The folded question without the acknowledgement it opens with ("ok and …" → "and …")."""
    return _FILLER.sub("", folded)


# Follow-ups are short: a question of up to this many words that points back continues the
# conversation; up to the second number when it also names nothing of its own.
FOLLOW_UP_MAX_WORDS = 8
FOLLOW_UP_MAX_WORDS_NAMELESS = 14
# German particles that presuppose what was said before ("Welche Geldquellen werden denn genannt?",
# "Wie läuft das dann?"), inside a short question.
_CONTINUES = re.compile(r"(?<!^)\b(denn|dann)\b")
_FOLLOW_UP_START = re.compile(
    r"^(und|aber|also|auch|dazu|dafur|hierzu|davon|welche davon|was davon|wie viele davon|was heisst das|"
    r"was bedeutet das|gibt es dafur|gibt es dazu|gibt es hierzu|and|what about|how about|and what|and how|"
    r"which of (these|them|those)|which ones?|welche[rs]? davon|how many of)\b"
)
# "Tell me more about the Vienna example.", "Erzähl mir mehr über …": more on something the last
# answer said, when it names no entry of its own (is_follow_up)
TELL_MORE = re.compile(
    r"^((tell|show) (me|us) more|more (on|about)|erzahl (mal )?(mir |uns )?(mal )?(noch )?mehr|mehr (dazu|daruber|uber))\b"
)
_POINTER = re.compile(
    r"\b(dafur|dazu|hierzu|davon|damit|dabei|darin|daruber|daran|darum|darauf|dagegen|dahinter|daraus|dies|diese[rsmn]?|it|its|this|these|those|them|that|they|their)\b"
    # "Welches Kriterium zeigt das Beispiel?": the example the conversation is about
    r"|\b(das|dem|des) beispiels?\b|\bthe example\b"
    # "Wer ist bei dem Kriterium als Stakeholder eingetragen?": the entry the conversation is about
    # (not "der Treiber T3", which names one)
    r"|\b(dem|den|der|des|das|diesem|diesen) (kriteriums?|treibers?|skalierungstreibers?|mechanismus|fordermechanismus)\b(?!\s+([a-z]\d|[„\"']))"
    r"|\bthe (criterion|driver|mechanism)\b(?!\s+([a-z]\d|[\"']))"
)
# "da"/"dort" inside a question ("Wer muss da mitmachen?") point back; at the start "Da …" is "since".
_THERE = re.compile(r"(?<!^)\b(da|dort|dorthin)\b")
# A demonstrative "die"/"der"/"den"/"dem" with no noun after it ("Wer hat die entwickelt?", "Worin
# unterscheiden sich die beiden?"): only lower-case words follow it up to the question's end.
# A superlative after it is a noun left out, not a pointer ("Welche Phase ist … die wichtigste?").
_DEMONSTRATIVE = re.compile(r"(?<!^)\b(die|der|den|dem|denen)(?!\s+\w+(ste|sten|ster)\b)(\s+[a-zäöüß][\w-]*){0,3}\s*[?.!]*\s*$")
# "das"/"es" point back only when they stand alone ("Was heißt das?"), not as an article ("das Glossar").
_PRONOUN = re.compile(r"(?i:\b(das|es)\b)(?!\s+[A-ZÄÖÜ])")
# Lower-case "sie"/"ihn"/"ihm"/"ihnen" inside a question point back ("Wer hat sie entwickelt?"); not
# the possessive "ihren", which usually refers within the question. A capital "Sie" is the polite
# "you" ("Können Sie …"), so this pattern is case-sensitive.
_PERSONAL = re.compile(r"(?<!^)\b(sie|ihn|ihm|ihnen)\b")
# "Gibt es …", "Wie steht es um …" use "es" without pointing back; "Unter welcher Lizenz steht es?" does.
_EXPLETIVE = re.compile(r"\b(gibt|gab) es\b|\b(geht|steht|stand) es\s+(um|mit)\b|\b(is|are) there\b", re.IGNORECASE)


# "Kannst du das in einem Satz sagen?", "Geht das kürzer?", "In short?", "Can you sum that up?"
_BRIEF = re.compile(
    r"\bin (einem|1|zwei|2|wenigen|kurzen) (satz|satzen|worten)\b|\bkurzer\b|\bkurz und knapp\b|\bkurz zusammen|"
    r"\bzusammenfassen\b|\bfass\w* (das|es|mal|bitte)\b.{0,20}zusammen|\bauf den punkt\b|\bin (one|a) (sentence|nutshell)\b|"
    r"\bin short\b|\bshorter\b|\bsum (it|that|this) up\b|\bsummari[sz]e (it|that|this)\b|\btl;? ?dr\b"
)
# One attribute asked in the singular, nothing named ("In welcher Phase?", "Zu welchem Treiber gehört das?").
_ONE_ATTRIBUTE = re.compile(
    r"^(und |and )?((in|zu|an|bei|fur) welche[rm]? (phase|treiber|skalierungstreiber|kategorie|workstream)\b(?!n)|"
    r"(in )?(which|what) (phase|stage|driver|category|workstream)\b(?!s))"
)
# "Wer betreibt das dann?", "Who would run it?": who operates a solution.
_WHO_RUNS = re.compile(r"^(und |and )?(wer|who)\b[^?]{0,40}\b(betreibt|betreiben|betreiber|runs?|operates?|running|operating)\b")
# "Wer kommt als Betreiber in Frage?", "Who could be the operator?": who may run a solution at all
_WHO_MAY_RUN = re.compile(r"^(und |and )?(wer|who)\b[^?]{0,30}\b(als betreiber (in ?frage|infrage)|(kann|konnte|durfte) [^?]{0,50}betreiben|(could|can|might) (be )?(the )?(operator|run|operate))\b")

_TRAILING_PRONOUN = re.compile(r"\b(die|der|den|sie|they|them|it)\W*$")


def points_back(question: str) -> bool:
    """Does the question refer to the previous turn ("Aus welchen Jahren stammen die?", "Wer hat es
    entwickelt?")? Then its own words alone do not say what it is about."""
    unreferenced = _EXPLETIVE.sub(" ", question)
    folded = fold_text(unreferenced)
    return bool(
        _POINTER.search(folded)
        or about_the_earlier_topic(question)
        or _PERSONAL.search(unreferenced)
        or _TRAILING_PRONOUN.search(folded)
        or _THERE.search(fold_text(question).strip())
        or _DEMONSTRATIVE.search(unreferenced.strip())
    )


def about_the_earlier_topic(question: str) -> bool:
    """Is a stand-alone "das"/"es" what the question is about ("Was heißt das für kleine Kommunen?",
    "Woran hakt das in der Praxis?")? Then its other words only qualify the earlier topic."""
    return bool(_PRONOUN.search(_EXPLETIVE.sub(" ", question)))


_ORDINALS = {
    "erste": 1, "first": 1, "zweite": 2, "second": 2, "dritte": 3, "third": 3, "vierte": 4, "fourth": 4,
    "funfte": 5, "fifth": 5, "letzte": -1, "last": -1,
}
# "der/die/das zweite (davon)", "zum ersten", "the second one", "the first of them", "Nummer 2":
# one entry of the list the previous answer showed. A German ordinal before a noun ("der erste
# Schritt") is no reference; that is checked on the unfolded text (nouns are capitalised).
# Nouns that name a place in a list rather than a thing ("die dritte Option", "the third option").
_LIST_NOUNS_DE = r"Option|Variante|Möglichkeit|Alternative|Punkt|Gruppe|Form|Typ|Art|Kategorie|Eintrag"
_ORDINAL_DE = re.compile(
    r"\b(der|die|das|den|dem|zum|zur|beim|vom)\s+(?P<n>erste|zweite|dritte|vierte|fünfte|funfte|letzte)[nrms]?\b"
    rf"(?!\s+(?!({_LIST_NOUNS_DE})\b)[A-ZÄÖÜ])"
)
_ORDINAL_EN = re.compile(
    r"\bthe (?P<n>first|second|third|fourth|fifth|last)( one| of (them|these|those)| entry| item| option| variant| type| kind| group| form| category| alternative| point)\b",
    re.IGNORECASE,
)
_NUMBERED = re.compile(r"\b(nummer|nr\.?|punkt|number|no\.|item|#)\s?([1-9])\b", re.IGNORECASE)


def ordinal_reference(question: str) -> int | None:
    """The position (1-based, -1 for the last) of the listed entry a question refers to, if any."""
    for pattern in (_ORDINAL_DE, _ORDINAL_EN):
        m = pattern.search(question)
        if m:
            return _ORDINALS[fold_text(m.group("n")).lower()]
    m = _NUMBERED.search(question)
    return int(m.group(2)) if m else None


# Words of an example request that say where or how real the example should be, not what it is
# about ("Kennst du ein Beispiel aus einer Stadt?", "Is there a real example from a town?").
_EXAMPLE_SETTING = frozenset(
    """stadt stadte kommune kommunen gemeinde gemeinden region regionen deutschland praxis echtes echte echten
    konkretes konkrete konkreten kennst kennt kennen kenne nennen nenne city cities town towns municipality
    municipalities region germany real concrete practice know world life reale realen realer""".split()
)


# "Was hat man daraus gelernt?", "Und was kam bei der Begleitforschung raus?", "What were the
# results?": what an example (or anything explained) brought out; its findings
ASKS_FINDINGS = re.compile(
    r"\b(gelernt|lernen|lehren?|learn\w*|lessons?|erkenntnis\w*|erfahrungen|takeaways?|ergebnis\w*|results?|outcomes?|findings?)\b"
    r"|\b(kam|kommt|ist|sind|kamen)\b.{0,40}\b(raus|heraus|rausgekommen|herausgekommen)\b|\bcame out of\b"
)


# "Welche Kriterien …", "Wie viele der Kriterien …", "Which criteria …": the criteria themselves are asked for
_ASKS_CRITERIA = re.compile(r"^(und |and )?((bei|in|zu|an|von|mit|for|of|to) )?(welche[rsmn]?|which|wie ?viele[nr]?|how many|nenn\w*|list\w*)\s+(der |of the |die |the )?(\w+ )?(kriterien|criteria|criterion|kriterium)\b")


# "Welche Schnittstellen?", "which interfaces?", "Was für Kriterien?": a which-word and a noun, nothing else
_BARE_WHICH = re.compile(r"^(und |and )?(welche[rsmn]?|which|what|was fur)( [\w-]+){1,2}\W*$")


def bare_which(question: str) -> bool:
    """"which interfaces?": a which-word and a noun, nothing else (see _BARE_WHICH)."""
    return bool(_BARE_WHICH.match(without_filler(fold_text(question).strip())))


def is_follow_up(question: str, frame: Frame, previous: Frame | None) -> bool:
    """Elliptical questions only: a follow-up marker at the start, a short question that points
    back, or a question with no topic and no entity of its own ("Gibt es ein Beispiel?")."""
    if previous is None:
        return False
    folded = without_filler(fold_text(question).strip())
    if _FOLLOW_UP_START.match(folded) or TELL_MORE.match(folded) and frame.entity_count == 0:
        return True
    words = tokens(question)
    if not frame.topic and frame.entity_count == 0:
        return True
    if frame.operation == Operation.EXAMPLE and frame.entity_count == 0 and all(t in _EXAMPLE_SETTING for t in frame.topic):
        return True  # "Kennst du ein Beispiel aus einer Stadt?": an example of what was just discussed
    if (not frame.topic or points_back(question) or ordinal_reference(question)) and _ONE_ATTRIBUTE.match(folded) and not (
        frame.criteria or frame.good_practices or frame.mechanisms or frame.drivers or frame.phases
    ):
        return True  # "In welcher Phase (taucht das auf)?": the phase of what was just named
    if ordinal_reference(question):
        return True  # "Is there an example for the first one?"
    if bare_which(question) and frame.entity_count <= 1 and not (frame.criteria or frame.good_practices or frame.phases or frame.drivers):
        return True  # "which interfaces?" after the Masterportal: which of them it has
    if len(words) > FOLLOW_UP_MAX_WORDS_NAMELESS:
        return False
    if len(words) > FOLLOW_UP_MAX_WORDS:
        # "ok and who could actually run a solution like that?", "Wo hakt es da bei uns in der
        # Verwaltung typischerweise?": longer, but pointing back and naming nothing of its own
        return frame.entity_count == 0 and points_back(question)
    return points_back(question) or bool(_CONTINUES.search(folded))
