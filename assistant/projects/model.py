"""Project model: the typed data the Projekt-Check stages share.

Owns the criterion statuses (with their German labels), the answers to the placement questions,
how a phase was determined, the `Project` record as the store returns it, and the cleaning of
project names (no control characters, bounded length; HTML stays literal text and is escaped
wherever it is shown).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Literal, get_args

from assistant.domain import DEVELOPMENT_PHASES, PhaseId


class CriterionStatus(StrEnum):
    """How far a project is with one criterion. Not ticked means OPEN."""

    DONE = "done"
    IN_PROGRESS = "in_progress"
    OPEN = "open"
    NOT_RELEVANT = "not_relevant"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        """Still to do: open or in progress (not relevant counts as neither done nor open)."""
        return self in (CriterionStatus.OPEN, CriterionStatus.IN_PROGRESS)


STATUS_LABELS: dict[CriterionStatus, str] = {
    CriterionStatus.DONE: "erledigt",
    CriterionStatus.IN_PROGRESS: "in Arbeit",
    CriterionStatus.OPEN: "offen",
    CriterionStatus.NOT_RELEVANT: "nicht relevant",
}

PlacementAnswer = Literal["yes", "no", "unsure"]
PLACEMENT_ANSWERS: tuple[PlacementAnswer, ...] = get_args(PlacementAnswer)
ANSWER_LABELS: dict[PlacementAnswer, str] = {"yes": "Ja", "no": "Nein", "unsure": "Weiß nicht"}

PhaseSource = Literal["direct", "questions"]
PHASE_SOURCES: tuple[PhaseSource, ...] = get_args(PhaseSource)


class ProjectError(RuntimeError):
    """A project action failed; `str(exc)` is a German message for the user."""


class InvalidProjectName(ProjectError, ValueError):
    """The name is empty after cleaning."""


class ProjectNameTaken(ProjectError):
    """Another project already has this name (case is ignored)."""


class ProjectNotFound(ProjectError):
    """The project no longer exists (e.g. deleted in another tab)."""


@dataclass(frozen=True)
class Project:
    """One saved project with its phase, its ticks and its placement answers."""

    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    phase: PhaseId | None = None
    phase_source: PhaseSource | None = None
    statuses: dict[str, CriterionStatus] = field(default_factory=dict)
    answers: dict[str, PlacementAnswer] = field(default_factory=dict)

    def status(self, criterion_id: str) -> CriterionStatus:
        return self.statuses.get(criterion_id, CriterionStatus.OPEN)


def is_development_phase(value: object) -> bool:
    """P1–P5: the phases a project can stand in ("durchgehend" is not a place on the roadmap)."""
    return value in DEVELOPMENT_PHASES


def clean_project_name(raw: object, max_chars: int) -> str:
    """A project name as stored: control and format characters (incl. bidi overrides, NUL, ANSI
    escapes) become spaces, whitespace is collapsed, the result is cut to `max_chars`.
    Markup such as `<b>` is kept as literal text; every view escapes it."""
    if raw is None:
        raise InvalidProjectName("Bitte geben Sie einen Projektnamen ein.")
    text = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", " ", str(raw))
    text = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text)
    text = unicodedata.normalize("NFC", re.sub(r"\s+", " ", text).strip())
    if not any(ch.isalnum() for ch in text):
        raise InvalidProjectName("Bitte geben Sie einen Projektnamen mit mindestens einem Buchstaben oder einer Ziffer ein.")
    if len(text) > max_chars:
        text = text[:max_chars].rstrip()
    return text


def name_key(name: str) -> str:
    """Key for uniqueness: names that differ only in case are the same project."""
    return name.casefold()
