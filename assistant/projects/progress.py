"""Project progress: which criteria a project ticks, how far each phase is, and what comes next.

Owns the scope of a check (the criteria of the current and every earlier phase plus the
"durchgehend" ones), the criterion cards (catalogue summary, milestone flag, driver, workstreams,
the dossier passage and linked good practices, with a German note for every field the catalogue
lacks), the progress per phase with its milestones, the open milestones, the next steps (open
criteria of the current phase, milestones first) and the fitting good practices. Everything is
read from the catalogue and the dossier index; no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.corpus import Catalogue, CatalogueEntry
from assistant.domain import CONTINUOUS_PHASE, DEVELOPMENT_PHASES, PhaseId
from assistant.projects.model import CriterionStatus, Project
from assistant.projects.sources import PassageRef, PassageSource, passage_for
from assistant.views import GoodPracticeCard, criterion_detail, good_practice_card

MILESTONE_BASIS_LABELS = {
    "site": "Feld „Meilenstein“ der Kriterienseite der Online-Roadmap",
    "dossier": "im Dossier ausdrücklich als Meilenstein genannt",
}


@dataclass(frozen=True)
class CriterionCard:
    """One criterion as the check shows it, with the project's status."""

    id: str
    name: str
    summary: str
    phases: tuple[str, ...]
    group: PhaseId  # the phase it is listed under (its earliest phase in scope)
    status: CriterionStatus
    milestone: bool | None  # None: the catalogue does not say
    milestone_basis: str | None
    driver_id: str | None
    driver_name: str | None
    workstreams: tuple[str, ...]
    passage: PassageRef | None
    good_practices: tuple[GoodPracticeCard, ...]

    @property
    def milestone_label(self) -> str:
        if self.milestone is True:
            return "Meilenstein"
        if self.milestone is False:
            return "kein Meilenstein"
        return "Meilenstein-Status im Katalog nicht angegeben"

    @property
    def milestone_short(self) -> str:
        return {True: "ja", False: "nein"}.get(self.milestone, "unbekannt")  # type: ignore[arg-type]

    @property
    def driver_label(self) -> str:
        if self.driver_id:
            return f"{self.driver_id} – {self.driver_name}" if self.driver_name else self.driver_id
        return "Treiber im Katalog nicht angegeben"

    @property
    def workstreams_label(self) -> str:
        return ", ".join(self.workstreams) if self.workstreams else "Workstreams im Katalog nicht angegeben"

    @property
    def passage_label(self) -> str:
        return self.passage.citation if self.passage else "Im Dossier nicht namentlich behandelt"

    @property
    def gaps(self) -> list[str]:
        """What the catalogue does not say about this criterion (shown, never filled in)."""
        notes = []
        if self.milestone is None:
            notes.append("Meilenstein-Status unbekannt")
        if not self.driver_id:
            notes.append("kein Treiber angegeben")
        if not self.workstreams:
            notes.append("keine Workstreams angegeben")
        if self.passage is None:
            notes.append("keine Dossier-Stelle")
        return notes


@dataclass(frozen=True)
class PhaseSection:
    """A part of the check that belongs to one phase, with the phase's German label."""

    phase: PhaseId
    label: str


@dataclass(frozen=True)
class CriterionGroup(PhaseSection):
    summary: str
    cards: tuple[CriterionCard, ...]


@dataclass(frozen=True)
class PhaseProgress(PhaseSection):
    criteria: tuple[CriterionCard, ...]  # every criterion of the phase (multi-phase ones in each)
    milestones_in_catalogue: int  # how many the catalogue lists for the phase

    def count(self, status: CriterionStatus) -> int:
        return sum(1 for c in self.criteria if c.status == status)

    @property
    def total(self) -> int:
        return len(self.criteria)

    @property
    def relevant(self) -> int:
        return self.total - self.count(CriterionStatus.NOT_RELEVANT)

    @property
    def done(self) -> int:
        return self.count(CriterionStatus.DONE)

    @property
    def open(self) -> int:
        """Open or in progress."""
        return sum(1 for c in self.criteria if c.status.is_open)

    @property
    def share_done(self) -> float:
        return self.done / self.relevant if self.relevant else 1.0

    @property
    def milestones(self) -> tuple[CriterionCard, ...]:
        return tuple(c for c in self.criteria if c.milestone is True)

    @property
    def open_milestones(self) -> tuple[CriterionCard, ...]:
        return tuple(c for c in self.milestones if c.status.is_open)

    @property
    def unknown_milestone_status(self) -> int:
        return sum(1 for c in self.criteria if c.milestone is None)

    @property
    def summary_line(self) -> str:
        """'4 von 10 erledigt, 1 in Arbeit, 4 offen, 1 nicht relevant; Meilensteine: 2 von 4 offen'."""
        parts = [
            f"{self.done} von {self.relevant} erledigt",
            f"{self.count(CriterionStatus.IN_PROGRESS)} in Arbeit",
            f"{self.count(CriterionStatus.OPEN)} offen",
        ]
        if self.count(CriterionStatus.NOT_RELEVANT):
            parts.append(f"{self.count(CriterionStatus.NOT_RELEVANT)} nicht relevant")
        if self.milestones:
            milestones = f"Meilensteine: {len(self.open_milestones)} von {len(self.milestones)} offen"
        else:
            milestones = "der Katalog nennt für diese Phase keine Meilensteine"
        return ", ".join(parts) + "; " + milestones


@dataclass(frozen=True)
class GoodPracticeMatch:
    card: GoodPracticeCard
    reason: str  # why it fits: linked to a next step, or an example of the phase


@dataclass(frozen=True)
class ChartCell:
    """One square of the progress chart: a criterion in its phase row, coloured by status."""

    phase_label: str
    position: int
    id: str
    name: str
    status: str  # German label
    milestone: str  # "Meilenstein" | "kein Meilenstein" | "Meilenstein-Status unbekannt"


@dataclass(frozen=True)
class ProjectCheck:
    """Everything the page and the memo show for one project."""

    project: Project
    phase: PhaseId
    scope: tuple[PhaseId, ...]
    groups: tuple[CriterionGroup, ...]
    progress: tuple[PhaseProgress, ...]
    open_milestones: tuple[CriterionCard, ...]
    next_steps: tuple[CriterionCard, ...]
    good_practices: tuple[GoodPracticeMatch, ...]
    without_phase: tuple[CatalogueEntry, ...]  # criteria the catalogue gives no phase
    phases_without_milestones: tuple[PhaseId, ...]
    coverage_note: str
    named_criteria: int
    stated_criteria: int
    data_notes: tuple[str, ...] = field(default=())

    @property
    def cards(self) -> list[CriterionCard]:
        return [c for g in self.groups for c in g.cards]


def scope_of(phase: PhaseId) -> tuple[PhaseId, ...]:
    """The current and every earlier development phase, then "durchgehend"."""
    return (*DEVELOPMENT_PHASES[: DEVELOPMENT_PHASES.index(phase) + 1], CONTINUOUS_PHASE)


def criterion_card(
    catalogue: Catalogue,
    entry: CatalogueEntry,
    status: CriterionStatus,
    group: PhaseId,
    passages: PassageSource | None,
    excerpt_chars: int,
) -> CriterionCard:
    detail = criterion_detail(catalogue, entry.id)
    driver = catalogue.get(entry.driver or "")
    milestone = entry.milestone
    return CriterionCard(
        id=entry.id,
        name=entry.name,
        summary=entry.summary,
        phases=tuple(entry.phases),
        group=group,
        status=status,
        milestone=milestone if isinstance(milestone, bool) else None,
        milestone_basis=entry.milestone_basis,
        driver_id=entry.driver,
        driver_name=driver.name if driver else entry.driver_name,
        workstreams=entry.workstreams,
        passage=passage_for(entry, passages, excerpt_chars),
        good_practices=tuple(good_practice_card(catalogue, g) for g in (detail.good_practices if detail else [])),
    )


def build_check(
    project: Project,
    catalogue: Catalogue,
    passages: PassageSource | None = None,
    excerpt_chars: int = 320,
    phase: PhaseId | None = None,
) -> ProjectCheck:
    """The check for `project` in its phase (or `phase`, e.g. a preview before saving)."""
    phase = phase or project.phase
    if phase not in DEVELOPMENT_PHASES:
        raise ValueError("Das Projekt ist noch keiner Phase zugeordnet.")
    scope = scope_of(phase)
    cards: dict[str, CriterionCard] = {}
    groups = []
    for pid in scope:
        entries = [e for e in catalogue.criteria_of_phase(pid) if e.id not in cards]
        group_cards = []
        for entry in entries:
            card = criterion_card(catalogue, entry, project.status(entry.id), pid, passages, excerpt_chars)
            cards[entry.id] = card
            group_cards.append(card)
        phase_entry = catalogue.get(pid)
        groups.append(
            CriterionGroup(
                phase=pid,
                label=catalogue.phase_label(pid),
                summary=phase_entry.summary if phase_entry else "",
                cards=tuple(group_cards),
            )
        )
    progress = tuple(
        PhaseProgress(
            phase=pid,
            label=catalogue.phase_label(pid),
            criteria=tuple(cards[e.id] for e in catalogue.criteria_of_phase(pid)),
            milestones_in_catalogue=len(catalogue.milestones(pid)),
        )
        for pid in scope
    )
    open_milestones = tuple(c for p in progress for c in p.open_milestones if c.group == p.phase)
    steps = next_steps(progress[scope.index(phase)])
    named, stated = catalogue.coverage
    without = tuple(e for e in catalogue.criteria if not e.phases)
    no_milestones = tuple(p.phase for p in progress if p.phase != CONTINUOUS_PHASE and not p.milestones_in_catalogue)
    return ProjectCheck(
        project=project,
        phase=phase,
        scope=scope,
        groups=tuple(groups),
        progress=progress,
        open_milestones=open_milestones,
        next_steps=steps,
        good_practices=fitting_good_practices(catalogue, steps, phase),
        without_phase=without,
        phases_without_milestones=no_milestones,
        coverage_note=catalogue.coverage_note(),
        named_criteria=named,
        stated_criteria=stated,
        data_notes=tuple(data_notes(catalogue, list(cards.values()), without, no_milestones)),
    )


def next_steps(current: PhaseProgress) -> tuple[CriterionCard, ...]:
    """Open and in-progress criteria of the current phase: milestones first, then catalogue order
    (the order of `current.criteria`)."""
    still_open = [c for c in current.criteria if c.status.is_open]
    return tuple(sorted(still_open, key=lambda c: c.milestone is not True))  # sorted() is stable


def fitting_good_practices(catalogue: Catalogue, steps: tuple[CriterionCard, ...], phase: PhaseId) -> tuple[GoodPracticeMatch, ...]:
    """Good practices linked to a next step (in step order), then the other examples the catalogue
    places in the current phase."""
    matches: dict[str, GoodPracticeMatch] = {}
    for step in steps:
        for card in step.good_practices:
            if card.id not in matches:
                matches[card.id] = GoodPracticeMatch(card, f"Beispiel zum nächsten Schritt {step.id} „{step.name}“")
    for entry in catalogue.good_practices_of_phase(phase):
        if entry.id not in matches:
            matches[entry.id] = GoodPracticeMatch(
                good_practice_card(catalogue, entry), f"Beispiel der Phase {catalogue.phase_label(phase)}"
            )
    return tuple(matches.values())


def data_notes(
    catalogue: Catalogue,
    cards: list[CriterionCard],
    without_phase: tuple[CatalogueEntry, ...],
    no_milestones: tuple[PhaseId, ...],
) -> list[str]:
    """German notes on what the catalogue lacks for this check (shown in page and memo)."""
    notes = []
    unknown = [c for c in cards if c.milestone is None]
    if unknown:
        notes.append(
            f"Bei {len(unknown)} der {len(cards)} Kriterien dieses Checks nennt der Katalog keinen Meilenstein-Status "
            "(Feld fehlt); sie gelten hier weder als Meilenstein noch als kein Meilenstein."
        )
    if no_milestones:
        names = ", ".join(catalogue.phase_label(p) for p in no_milestones)
        notes.append(f"Für {names} nennt der Katalog keine Meilensteine.")
    no_driver = sum(1 for c in cards if not c.driver_id)
    no_workstreams = sum(1 for c in cards if not c.workstreams)
    if no_driver or no_workstreams:
        notes.append(
            f"Bei {no_driver} der {len(cards)} Kriterien nennt der Katalog keinen Skalierungstreiber, "
            f"bei {no_workstreams} keine Workstreams."
        )
    no_passage = [c.id for c in cards if c.passage is None]
    if no_passage:
        notes.append(f"Diese Kriterien werden im Dossier nicht namentlich behandelt: {', '.join(no_passage)}.")
    if without_phase:
        notes.append(
            f"{len(without_phase)} Kriterien des Katalogs haben keine Phase und erscheinen deshalb in keiner Phase dieses Checks: "
            + ", ".join(e.id for e in without_phase)
            + "."
        )
    return notes


def chart_cells(check: ProjectCheck) -> list[ChartCell]:
    """Squares for the compact progress chart: per phase row, done first, then in progress,
    open and not relevant; each criterion once per phase it belongs to."""
    order = [CriterionStatus.DONE, CriterionStatus.IN_PROGRESS, CriterionStatus.OPEN, CriterionStatus.NOT_RELEVANT]
    milestone_names = {True: "Meilenstein", False: "kein Meilenstein", None: "Meilenstein-Status unbekannt"}
    cells = []
    for p in check.progress:
        ranked = sorted(p.criteria, key=lambda c: (order.index(c.status), c.milestone is not True))
        for i, c in enumerate(ranked):
            cells.append(ChartCell(p.label, i, c.id, c.name, c.status.label, milestone_names[c.milestone]))
    return cells

