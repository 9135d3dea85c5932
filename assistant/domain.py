"""Domain vocabulary: the ids and names every stage shares, declared once.

Phases (P1–P5 and D for "durchgehend über alle Phasen"), sources and kinds of chunks, and the
operations a question can ask for. Other modules import these instead of spelling them out.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args

PhaseId = Literal["P1", "P2", "P3", "P4", "P5", "D"]
PHASE_IDS: tuple[PhaseId, ...] = get_args(PhaseId)
CONTINUOUS_PHASE: PhaseId = "D"  # criteria that apply in every phase
DEVELOPMENT_PHASES: tuple[PhaseId, ...] = tuple(p for p in PHASE_IDS if p != CONTINUOUS_PHASE)

Source = Literal["dossier", "catalogue", "user"]
SOURCES: tuple[Source, ...] = get_args(Source)

Kind = Literal["passage", "criterion", "phase", "driver", "mechanism", "good_practice"]

# Number format of the vectors an index build makes for passages and sentences (Settings).
VectorPrecision = Literal["float32", "bfloat16"]
KINDS: tuple[Kind, ...] = get_args(Kind)


# The frame slot that holds named entries of each kind: the catalogue's kinds, and the operator
# types of the dossier's Abbildung 3 (no catalogue entries, but listed and picked like them).
SLOT_OF_KIND: dict[str, str] = {
    "criterion": "criteria", "driver": "drivers", "good_practice": "good_practices", "mechanism": "mechanisms",
    "phase": "phases", "operator_type": "operator_types",
}


class Operation(StrEnum):
    """What a question asks the assistant to do (chosen per question, see `assistant.frames`)."""

    DEFINE = "define"
    LIST = "list"
    COUNT = "count"
    COMPARE = "compare"
    EXPLAIN = "explain"  # explain / how-to
    EXAMPLE = "example"
    PHASE = "phase"  # phase overview
    META = "meta"  # about the study itself
    ONBOARDING = "onboarding"


def is_phase_id(value: object) -> bool:
    return value in PHASE_IDS


def phase_or_none(value: object) -> PhaseId | None:
    """A valid phase id, or None for anything else (empty, unknown, wrong type)."""
    return value if is_phase_id(value) else None  # type: ignore[return-value]


def phase_short_label(phase_id: str) -> str:
    """How a phase id is shown in compact places: 'P3', and 'durchgehend' for D."""
    return "durchgehend" if phase_id == CONTINUOUS_PHASE else phase_id
