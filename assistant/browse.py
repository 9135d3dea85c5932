"""Browse: the catalogue as filterable rows — criteria by phase, scaling driver, workstream and
milestone, like the online roadmap's table, and the good practices by phase. Used by
`assistant criteria`, the app and the HTTP/MCP interfaces (assistant/api)."""

from __future__ import annotations

from pydantic import BaseModel

from assistant.catalogue import Catalogue, Criterion, GoodPractice, normalize_name


class CriterionRow(BaseModel):
    id: str
    name: str
    phase: str | None
    phases: list[str]
    phase_label: str
    driver: str | None
    driver_name: str | None
    workstreams: list[str]
    milestone: bool | None
    summary: str
    good_practices: list[str]
    related: list[str]
    url: str | None


def criterion_row(entry: Criterion, catalogue: Catalogue) -> CriterionRow:
    driver = catalogue.get(entry.driver or "")
    return CriterionRow(
        id=entry.id,
        name=entry.name,
        phase=entry.phase,
        phases=entry.phases,
        phase_label=", ".join(catalogue.phase_label(p) for p in entry.phases),
        driver=entry.driver,
        driver_name=driver.name if driver else None,
        workstreams=list(entry.workstreams),
        milestone=entry.milestone,
        summary=entry.summary,
        good_practices=list(entry.good_practices),
        related=list(entry.related),
        url=entry.url,
    )


def filter_criteria(
    catalogue: Catalogue,
    phase: str | None = None,
    driver: str | None = None,
    workstream: str | None = None,
    milestone: bool = False,
    text: str | None = None,
) -> list[CriterionRow]:
    rows = [criterion_row(e, catalogue) for e in catalogue.criteria]
    if phase:
        rows = [r for r in rows if phase in r.phases]
    if driver:
        rows = [r for r in rows if (r.driver or "").upper() == driver.upper()]
    if workstream:
        rows = [r for r in rows if workstream.lower() in r.workstreams]
    if milestone:
        rows = [r for r in rows if r.milestone is True]
    if text:
        needle = normalize_name(text)
        rows = [r for r in rows if needle in normalize_name(f"{r.id} {r.name} {r.summary}")]
    return rows


class GoodPracticeRow(BaseModel):
    id: str
    name: str
    place: str | None
    phase: str | None
    phase_label: str
    summary: str
    criteria: list[str]
    url: str | None


def good_practice_row(entry: GoodPractice, catalogue: Catalogue) -> GoodPracticeRow:
    return GoodPracticeRow(
        id=entry.id,
        name=entry.name,
        place=entry.place,
        phase=entry.phase,
        phase_label=catalogue.phase_label(entry.phase),
        summary=entry.summary,
        criteria=list(entry.criteria),
        url=entry.url,
    )


def filter_good_practices(catalogue: Catalogue, phase: str | None = None) -> list[GoodPracticeRow]:
    entries = catalogue.good_practices_of_phase(phase) if phase else catalogue.good_practices
    return [good_practice_row(e, catalogue) for e in entries]
