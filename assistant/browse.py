"""Browse: the catalogue as filterable rows — criteria by phase, scaling driver, workstream and
milestone, like the online roadmap's table. Used by `assistant criteria` and the app."""

from __future__ import annotations

from pydantic import BaseModel

from assistant.corpus import Catalogue, CatalogueEntry, normalize_name


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


def criterion_row(entry: CatalogueEntry, catalogue: Catalogue) -> CriterionRow:
    d = entry.data
    driver = catalogue.get(d.get("driver") or "")
    return CriterionRow(
        id=entry.id,
        name=entry.name,
        phase=entry.phase,
        phases=entry.phases,
        phase_label=", ".join(catalogue.phase_label(p) for p in entry.phases),
        driver=d.get("driver"),
        driver_name=driver.name if driver else None,
        workstreams=list(d.get("workstreams") or []),
        milestone=d.get("milestone"),
        summary=entry.summary,
        good_practices=list(d.get("good_practices") or []),
        related=list(d.get("related") or []),
        url=d.get("url"),
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
