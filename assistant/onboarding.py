"""Onboarding: a guided path for new staff through P1 → P5 → durchgehend, built from the catalogue.

Owns the content of each step (what the phase is for, its milestones, key criteria, one good
practice) and a short self-check per step whose questions are generated from the catalogue
(e.g. "Zu welcher Phase gehört „Durchführung eines Pilotprojektes“?"), the checking of answers
with an explanation, and the learner's progress. Deterministic: the same catalogue always gives
the same questions and option order, so reruns of the app never reshuffle them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from pydantic import BaseModel, Field

from assistant.corpus import Catalogue, CatalogueEntry
from assistant.domain import PHASE_IDS

MAX_KEY_CRITERIA = 4


@dataclass(frozen=True)
class SelfCheckQuestion:
    id: str
    prompt: str
    options: tuple[str, ...]
    correct: str
    explanation: str  # shown after answering, right or wrong


@dataclass(frozen=True)
class CheckResult:
    correct: bool
    message: str


@dataclass
class OnboardingStep:
    number: int  # 1-based
    phase: str
    title: str
    purpose: str
    milestones: list[CatalogueEntry]
    key_criteria: list[CatalogueEntry]
    example: CatalogueEntry | None
    questions: list[SelfCheckQuestion]


def onboarding_path(catalogue: Catalogue) -> list[OnboardingStep]:
    """Six steps, P1 … P5 and then the cross-phase criteria (D)."""
    steps: list[OnboardingStep] = []
    phases = [p for p in PHASE_IDS if catalogue.get(p) is not None]
    for number, pid in enumerate(phases, 1):
        phase = catalogue.get(pid)
        milestones = catalogue.milestones(pid)
        key = _key_criteria(catalogue, pid, milestones)
        examples = catalogue.good_practices_of_phase(pid)
        steps.append(
            OnboardingStep(
                number=number,
                phase=pid,
                title=catalogue.phase_label(pid),
                purpose=phase.summary,
                milestones=milestones,
                key_criteria=key,
                example=examples[0] if examples else None,
                questions=_questions(catalogue, pid, key, previous=phases[: number - 1]),
            )
        )
    return steps


def _key_criteria(catalogue: Catalogue, pid: str, milestones: list[CatalogueEntry]) -> list[CatalogueEntry]:
    ids = [m.id for m in milestones]
    rest = [c for c in catalogue.criteria_of_phase(pid) if c.id not in ids and c.summary]
    return (milestones + rest)[:MAX_KEY_CRITERIA]


def _single_phase(catalogue: Catalogue, pid: str) -> list[CatalogueEntry]:
    """Criteria that belong to this phase only (questions about them have one right answer)."""
    return [c for c in catalogue.criteria_of_phase(pid) if c.phases == [pid]]


def _one_right_two_wrong(
    rng: random.Random, right_pool: list[CatalogueEntry], wrong_pool: list[CatalogueEntry]
) -> tuple[CatalogueEntry, list[CatalogueEntry], list[str]]:
    """A right answer, two wrong ones, and the three names in shuffled order."""
    right = rng.choice(right_pool)
    wrong = rng.sample(wrong_pool, 2)
    options = [right.name, *(w.name for w in wrong)]
    rng.shuffle(options)
    return right, wrong, options


def _questions(catalogue: Catalogue, pid: str, key: list[CatalogueEntry], previous: list[str]) -> list[SelfCheckQuestion]:
    rng = random.Random(f"roadmap-lotse-onboarding-{pid}")
    questions: list[SelfCheckQuestion] = []
    phase_options = tuple(catalogue.phase_label(p) for p in PHASE_IDS if catalogue.get(p) is not None)

    # 1. which phase does a criterion belong to? Prefer one the step did not show.
    candidates = _single_phase(catalogue, pid)
    unseen = [c for c in candidates if c not in key]
    pick = unseen or candidates
    if pick:
        criterion = rng.choice(pick)
        questions.append(_phase_of_question(catalogue, criterion, phase_options, f"{pid}-phase-{criterion.id}"))

    # 2. a milestone of this phase, or else its good practice
    second = _milestone_question(catalogue, rng, pid) or _example_question(catalogue, rng, pid)
    if second is not None:
        questions.append(second)

    # 3. review: a criterion from an earlier step
    if previous:
        earlier = rng.choice(previous)
        pool = [c for c in _single_phase(catalogue, earlier) if not any(q.id.endswith(c.id) for q in questions)]
        if pool:
            criterion = rng.choice(pool)
            questions.append(_phase_of_question(catalogue, criterion, phase_options, f"{pid}-review-{criterion.id}"))
    return questions


def _choice_question(
    rng: random.Random,
    right_pool: list[CatalogueEntry],
    wrong_pool: list[CatalogueEntry],
    id_prefix: str,
    prompt: str,
    explain: Callable[[CatalogueEntry, list[CatalogueEntry]], str],
) -> SelfCheckQuestion:
    """A question with one right and two wrong names; `explain(right, wrong)` gives the explanation."""
    right, wrong, options = _one_right_two_wrong(rng, right_pool, wrong_pool)
    return SelfCheckQuestion(
        id=f"{id_prefix}-{right.id}", prompt=prompt, options=tuple(options), correct=right.name, explanation=explain(right, wrong)
    )


def _milestone_question(catalogue: Catalogue, rng: random.Random, pid: str) -> SelfCheckQuestion | None:
    """Which of three criteria is a milestone of the phase? None without a milestone and two others."""
    milestones = catalogue.milestones(pid)
    others = [c for c in catalogue.criteria_of_phase(pid) if c not in milestones and c.milestone is not True]
    if not milestones or len(others) < 2:
        return None
    label = catalogue.phase_label(pid)
    return _choice_question(
        rng,
        milestones,
        others,
        f"{pid}-milestone",
        f"Welches dieser Kriterien ist ein Meilenstein der Phase {label}?",
        lambda right, wrong: (
            f"„{right.name}“ ({right.id}) ist laut Kriterienkatalog ein Meilenstein von "
            f"{label}. Meilensteine markieren, was eine Phase erreicht haben sollte."
        ),
    )


def _example_question(catalogue: Catalogue, rng: random.Random, pid: str) -> SelfCheckQuestion | None:
    """Which of three good practices belongs to the phase? None without one here and two elsewhere."""
    examples = catalogue.good_practices_of_phase(pid)
    elsewhere = [g for g in catalogue.good_practices if g.phase and g.phase != pid]
    if not examples or len(elsewhere) < 2:
        return None
    label = catalogue.phase_label(pid)

    def explain(right: CatalogueEntry, wrong: list[CatalogueEntry]) -> str:
        place = right.place
        return (
            f"„{right.name}“" + (f" ({place})" if place else "") + f" ist das Beispiel für {label}. "
            + "Die anderen: "
            + "; ".join(f"{w.name} → {catalogue.phase_label(w.phase)}" for w in wrong)
            + "."
        )

    return _choice_question(
        rng, examples, elsewhere, f"{pid}-example", f"Welches Praxisbeispiel ordnet die Roadmap der Phase {label} zu?", explain
    )


def _phase_of_question(catalogue: Catalogue, criterion: CatalogueEntry, options: tuple[str, ...], qid: str) -> SelfCheckQuestion:
    label = catalogue.phase_label(criterion.phase)
    summary = f" {criterion.summary}" if criterion.summary else ""
    return SelfCheckQuestion(
        id=qid,
        prompt=f"Zu welcher Phase gehört „{criterion.name}“?",
        options=options,
        correct=label,
        explanation=f"„{criterion.name}“ ({criterion.id}) gehört laut Kriterienkatalog zu {label}.{summary}",
    )


def check_answer(question: SelfCheckQuestion, choice: str | None) -> CheckResult:
    if choice is None or choice not in question.options:
        return CheckResult(False, "Bitte wählen Sie eine der Antworten aus.")
    if choice == question.correct:
        return CheckResult(True, f"Richtig! {question.explanation}")
    return CheckResult(False, f"Nicht ganz – richtig ist „{question.correct}“. {question.explanation}")


class OnboardingProgress(BaseModel):
    """Where a learner is on the path and what they answered (kept in the app session)."""

    current: int = 0  # index into the path
    answers: dict[str, str] = Field(default_factory=dict)  # question id → chosen option

    def answer(self, question: SelfCheckQuestion, choice: str | None) -> CheckResult:
        result = check_answer(question, choice)
        if choice in question.options:
            self.answers[question.id] = choice
        return result

    def result(self, question: SelfCheckQuestion) -> CheckResult | None:
        choice = self.answers.get(question.id)
        return None if choice is None else check_answer(question, choice)

    def step_done(self, step: OnboardingStep) -> bool:
        return all(q.id in self.answers for q in step.questions)

    def score(self, path: list[OnboardingStep]) -> tuple[int, int]:
        """(correct answers, questions) over the whole path."""
        questions = [q for s in path for q in s.questions]
        return sum(self.answers.get(q.id) == q.correct for q in questions), len(questions)

    def fraction_done(self, path: list[OnboardingStep]) -> float:
        return sum(self.step_done(s) for s in path) / len(path) if path else 0.0

    def finished(self, path: list[OnboardingStep]) -> bool:
        return bool(path) and all(self.step_done(s) for s in path)

    def go(self, index: int, path: list[OnboardingStep]) -> None:
        self.current = max(0, min(index, len(path) - 1))

    def reset(self) -> None:
        self.current = 0
        self.answers.clear()
