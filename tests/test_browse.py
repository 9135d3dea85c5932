"""Browsing the catalogue (assistant/browse.py): every filter of `filter_criteria` on the real
criteria.yaml, each checked against an expectation read straight from the YAML in the test."""

from __future__ import annotations

import pytest
import yaml

from assistant.browse import filter_criteria
from tests.conftest import ROOT

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)

PATH = ROOT / "corpus" / "catalogue" / "criteria.yaml"


@pytest.fixture(scope="module")
def raw() -> list[dict]:
    return yaml.safe_load(PATH.read_text(encoding="utf-8"))["criteria"]


def ids(rows) -> list[str]:
    return [r.id for r in rows]


def test_no_filter_lists_every_criterion_in_catalogue_order(catalogue, raw):
    rows = filter_criteria(catalogue)
    assert ids(rows) == [c["id"] for c in raw] and len(rows) == 48
    k18 = next(r for r in rows if r.id == "K18")
    assert (k18.name, k18.phase, k18.phase_label) == ("Durchführung eines Pilotprojektes", "P3", "P3 – Pilotphase")


@pytest.mark.parametrize("phase", ["P1", "P2", "P3", "P4", "P5", "D"])
def test_phase_filter_includes_criteria_listed_in_several_phases(catalogue, raw, phase):
    expected = [c["id"] for c in raw if phase in (c.get("phases") or [c.get("phase")])]
    rows = filter_criteria(catalogue, phase=phase)
    assert rows and ids(rows) == expected
    assert all(phase in r.phases for r in rows)


def test_phase_filter_keeps_a_two_phase_criterion_in_both(catalogue):
    # K04 (Ausschüsse des Gemeinderats einbeziehen) belongs to P1 and P4
    assert "K04" in ids(filter_criteria(catalogue, phase="P1")) and "K04" in ids(filter_criteria(catalogue, phase="P4"))
    assert "K04" not in ids(filter_criteria(catalogue, phase="P3"))


@pytest.mark.parametrize("driver", ["T1", "t2", "T7"])
def test_driver_filter_ignores_case(catalogue, raw, driver):
    expected = [c["id"] for c in raw if c.get("driver") == driver.upper()]
    rows = filter_criteria(catalogue, driver=driver)
    assert rows and ids(rows) == expected
    names = {r.driver_name for r in rows}
    assert len(names) == 1 and names != {None}  # the driver's name comes from the catalogue


@pytest.mark.parametrize("workstream", ["finanziell", "Technisch", "organisatorisch", "wirtschaftlich"])
def test_workstream_filter(catalogue, raw, workstream):
    expected = [c["id"] for c in raw if workstream.lower() in (c.get("workstreams") or [])]
    rows = filter_criteria(catalogue, workstream=workstream)
    assert rows and ids(rows) == expected


def test_milestone_filter_matches_the_phases_milestone_lists(catalogue, raw):
    expected = [c["id"] for c in raw if c.get("milestone") is True]
    rows = filter_criteria(catalogue, milestone=True)
    assert rows and ids(rows) == expected
    # combined with a phase: exactly the milestones the phase entry of the YAML lists
    phases = yaml.safe_load(PATH.read_text(encoding="utf-8"))["phases"]
    p1 = next(p for p in phases if p["id"] == "P1")
    assert ids(filter_criteria(catalogue, phase="P1", milestone=True)) == p1["milestones"] == ["K01", "K03", "K05", "K06"]
    assert filter_criteria(catalogue, milestone=False) == filter_criteria(catalogue)  # off means no filter


@pytest.mark.parametrize(
    "text, expected",
    [
        ("k18", ["K18"]),  # the id, any case
        ("Pilotprojekt", None),  # in names and summaries
        ("Bürger*innen", None),  # gender forms match the plain word
        ("Marktanalysen", ["K02"]),
        ("gibt es nicht im Katalog", []),
    ],
)
def test_text_filter(catalogue, raw, text, expected):
    rows = filter_criteria(catalogue, text=text)
    if expected is None:  # computed here: a plain case-insensitive search in id, name and summary
        word = text.replace("*innen", "").lower()
        expected = [c["id"] for c in raw if word in f"{c['id']} {c['name']} {c.get('summary', '')}".lower()]
        assert expected, f"{text!r} should occur in the catalogue"
    assert ids(rows) == expected


def test_filters_combine(catalogue, raw):
    expected = [
        c["id"] for c in raw
        if "P4" in (c.get("phases") or [c.get("phase")]) and "finanziell" in (c.get("workstreams") or [])
    ]
    rows = filter_criteria(catalogue, phase="P4", workstream="finanziell")
    assert rows and ids(rows) == expected
    assert filter_criteria(catalogue, phase="P4", workstream="finanziell", text="gibt es nicht") == []
