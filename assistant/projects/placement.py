"""Phase placement: seven short questions that lead to the likely phase of a project, with reasons.

Each question asks for the outcome that the catalogue and the dossier name for a phase — its
milestones (Proof of Value and Proof of Concept in P1, the strategic vision in P2), the prototype
(MVP) of P2, the successful pilot that the dossier names as the entry to P4, regular operation
with financing and stable cooperation as the aim of P4, and the transfer to other municipalities
that defines P5. A question stands for named catalogue criteria (`basis`), so its reason can
quote the catalogue and cite the dossier passage; no criterion is invented here.

The phases follow each other: a project works in the highest phase whose every earlier step was
answered "yes". An answer of "weiß nicht" or a missing answer counts as "not yet"; a "yes" after
an earlier gap is reported as a contradiction, not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from assistant.catalogue import Criterion
from assistant.corpus import Catalogue, CatalogueEntry
from assistant.domain import DEVELOPMENT_PHASES, PhaseId
from assistant.projects.model import ANSWER_LABELS, PlacementAnswer
from assistant.projects.sources import PassageRef, PassageSource, passage_for


@dataclass(frozen=True)
class PlacementQuestion:
    id: str
    text: str  # German, answerable with yes / no / don't know
    phase: PhaseId  # the phase whose definition the question tests
    basis: tuple[str, ...]  # catalogue criteria the question stands for
    reached_if_yes: PhaseId  # a "yes" (with all earlier steps) means the project works at least here


# Ordered along the roadmap. The basis ids are checked against the catalogue by the tests.
# id, the phase whose definition it tests, its catalogue basis, the phase a "yes" reaches, the question:
_QUESTION_ROWS: tuple[tuple[str, PhaseId, tuple[str, ...], PhaseId, str], ...] = (
    ("nutzen", "P1", ("K05",), "P2", "Ist belegt, welchen konkreten Nutzen die Lösung der Kommune bringt (Proof of Value)?"),
    ("machbarkeit", "P1", ("K06",), "P2", "Ist die Umsetzbarkeit geprüft – Technik, Ressourcen, Akzeptanz und ein mögliches Betreibermodell (Proof of Concept)?"),
    ("vision", "P2", ("K11",), "P3", "Hat die Kommune eine strategische Vision mit Umsetzungsplan für die Lösung beschlossen?"),
    ("prototyp", "P2", ("K12",), "P3", "Gibt es einen getesteten Prototyp (MVP), der unter realen Bedingungen erprobt wurde?"),
    ("pilot", "P3", ("K18",), "P4", "Hat ein Pilotprojekt mit einer größeren Gruppe von Nutzenden seinen Mehrwert anhand vorher festgelegter Erfolgskriterien belegt?"),
    ("regelbetrieb", "P4", ("K26", "K27"), "P5", "Läuft die Lösung im regulären Betrieb der Kommune und nach Ende der Förderung weiter (Finanzierung und Trägerschaft gesichert)?"),
    ("transfer", "P5", ("K31",), "P5", "Wird die Lösung bereits auf andere Kommunen übertragen und an deren Rahmenbedingungen angepasst?"),
)
QUESTIONS: tuple[PlacementQuestion, ...] = tuple(
    PlacementQuestion(qid, text, phase, basis, reached_if_yes) for qid, phase, basis, reached_if_yes, text in _QUESTION_ROWS
)

QUESTION_IDS = tuple(q.id for q in QUESTIONS)


def question(question_id: str) -> PlacementQuestion | None:
    return next((q for q in QUESTIONS if q.id == question_id), None)


@dataclass(frozen=True)
class PlacementStep:
    """One question with its answer and the reason it gives for the phase."""

    question: PlacementQuestion
    answer: PlacementAnswer | None
    basis: tuple[CatalogueEntry, ...]
    passage: PassageRef | None  # where the dossier discusses the basis
    fulfilled: bool  # "yes", and every earlier step is fulfilled too
    contradiction: bool  # "yes", but a step of an earlier phase is still open
    reason: str

    @property
    def answer_label(self) -> str:
        return ANSWER_LABELS[self.answer] if self.answer else "nicht beantwortet"


@dataclass(frozen=True)
class Placement:
    phase: PhaseId
    steps: tuple[PlacementStep, ...]
    first_gap: PlacementStep | None  # the step that keeps the project in `phase`
    answered: int

    @property
    def complete(self) -> bool:
        return self.answered == len(self.steps)

    @property
    def contradictions(self) -> list[PlacementStep]:
        return [s for s in self.steps if s.contradiction]


def _index(phase: PhaseId) -> int:
    return DEVELOPMENT_PHASES.index(phase)


def place(
    answers: Mapping[str, PlacementAnswer | None],
    catalogue: Catalogue,
    passages: PassageSource | None = None,
    excerpt_chars: int = 320,
) -> Placement:
    """The likely phase for these answers, each answer with its reason."""
    phase: PhaseId = DEVELOPMENT_PHASES[0]
    gap: PlacementQuestion | None = None
    for target in DEVELOPMENT_PHASES[1:]:
        needed = [q for q in QUESTIONS if q.reached_if_yes == target]
        missing = next((q for q in needed if answers.get(q.id) != "yes"), None)
        if missing is not None:
            gap = missing
            break
        phase = target
    steps = []
    for q in QUESTIONS:
        basis = tuple(e for e in (catalogue.get(i) for i in q.basis) if e is not None)
        answer = answers.get(q.id)
        moved = answer == "yes" and _index(q.reached_if_yes) <= _index(phase)
        # a "yes" next to the first gap (same step) is progress, not a contradiction
        partial = answer == "yes" and gap is not None and q.reached_if_yes == gap.reached_if_yes
        contradiction = answer == "yes" and not (moved or partial)
        steps.append(
            PlacementStep(
                question=q,
                answer=answer,
                basis=basis,
                passage=passage_for(basis[0], passages, excerpt_chars) if basis else None,
                fulfilled=moved or partial,
                contradiction=contradiction,
                reason=_reason(q, answer, basis, catalogue, moved, partial, gap),
            )
        )
    first_gap = next((s for s in steps if gap is not None and s.question.id == gap.id), None)
    return Placement(
        phase=phase,
        steps=tuple(steps),
        first_gap=first_gap,
        answered=sum(1 for q in QUESTIONS if answers.get(q.id) is not None),
    )


def _basis_text(basis: tuple[CatalogueEntry, ...], catalogue: Catalogue, q: PlacementQuestion) -> str:
    """'„Proof of Value“ (K05) ist laut Kriterienkatalog ein Meilenstein der Phase P1 – Ideenfindung'."""
    if not basis:
        return f"Die Frage beruht auf der Phasenbeschreibung von {catalogue.phase_label(q.phase)}"
    names = " und ".join(f"„{e.name}“ ({e.id})" for e in basis)
    milestone = [e for e in basis if isinstance(e, Criterion) and e.milestone is True]
    plural = len(basis) > 1
    if milestone and len(milestone) == len(basis):
        kind = "Meilensteine" if plural else "ein Meilenstein"
    else:
        kind = "Kriterien" if plural else "ein Kriterium"
    verb = "sind" if plural else "ist"
    return f"{names} {verb} laut Kriterienkatalog {kind} der Phase {catalogue.phase_label(q.phase)}"


def _reason(
    q: PlacementQuestion,
    answer: PlacementAnswer | None,
    basis: tuple[CatalogueEntry, ...],
    catalogue: Catalogue,
    moved: bool,
    partial: bool,
    gap: PlacementQuestion | None,
) -> str:
    about = _basis_text(basis, catalogue, q)
    at_most = catalogue.phase_label(DEVELOPMENT_PHASES[_index(q.reached_if_yes) - 1])
    if answer == "yes" and partial and gap is not None:
        return f"Ja: {about}. Für {catalogue.phase_label(q.reached_if_yes)} fehlt noch: „{gap.text}“"
    if answer == "yes" and moved:
        if q.reached_if_yes == q.phase:
            return f"Ja: {about}. Die Lösung steht damit in {catalogue.phase_label(q.phase)}."
        return f"Ja: {about}. Diese Voraussetzung für {catalogue.phase_label(q.reached_if_yes)} ist erfüllt."
    if answer == "yes":
        open_step = f"„{gap.text}“" if gap else "eine frühere Frage"
        return (
            f"Ja – zählt aber noch nicht: {about}, und die Phasen bauen aufeinander auf. "
            f"Zuerst ist {open_step} offen; die Einordnung folgt dem ersten offenen Schritt."
        )
    prefix = {"no": "Nein", "unsure": "Weiß nicht – zählt wie „noch nicht“", None: "Nicht beantwortet – zählt vorerst wie „noch nicht“"}[answer]
    return f"{prefix}: {about}. Solange das fehlt, steht die Lösung höchstens in {at_most}."
