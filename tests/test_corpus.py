"""Cleaning, sections, phases and catalogue matching on the real dossier and catalogue."""

from __future__ import annotations

import re

import pytest

from assistant.corpus import clean_dossier, normalize_name, parse_toc
from tests.conftest import ROOT

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)


def test_page_break_hyphenation_is_joined(dossier):
    text = dossier.clean.text
    assert "interkommunalem Austausch" in text
    assert "Anwendungs- oder Marktvolumen" in text  # real suspended hyphen kept
    assert "Kommunikation einer Wachstums- und Skalierungsstrategie" in text
    assert "inter-\n" not in text and "Anwen-\n" not in text


def test_real_hyphens_are_kept(dossier):
    text = dossier.clean.text
    assert "Smart-City-Lösungen" in text
    assert "Proof-of-Concept" in text
    assert "Public-Private-Partnerships" in text


def test_hyphen_joining_on_synthetic_text():
    cleaned = clean_dossier("Ein Satz über inter-\n\n kommunale Arbeit und Smart-City-\n\nLösungen.\n").text
    assert "interkommunale Arbeit" in cleaned
    # an upper-case continuation is a real compound hyphen: keep it
    assert "Smart-City-" in cleaned


def test_links_become_text_and_mentions(dossier):
    assert "](#)" not in dossier.clean.text
    assert "Durchführung eines Pilotprojekts" in dossier.clean.mentions
    assert "Masterportal" in dossier.clean.mentions
    cleaned = clean_dossier("Siehe [Exit-Strategie](#) und [Lange et al. \\(2023\\)](#).")
    assert cleaned.text.strip() == "Siehe Exit-Strategie und Lange et al. (2023)."
    assert cleaned.mentions == ["Exit-Strategie", "Lange et al. (2023)"]


def test_tables_become_readable_rows(dossier):
    text = dossier.clean.text
    assert "<a href" not in text and "<li>" not in text and "<ul" not in text
    assert re.search(r"^Umgebung scannen und Chancen erkennen: Das Beobachten", text, re.M)
    assert re.search(r"^öffentliche Hand: Kommune, öffentliche Unternehmen wie Stadtwerke", text, re.M)
    assert re.search(r"^zivilgesellschaftliche Organisation/Initiative: Vereine, Stiftungen", text, re.M)


def test_body_text_stays_verbatim(dossier):
    """Outside artefacts, the wording (quotes, dashes) is untouched."""
    assert "„Proof of Value“" in dossier.clean.text
    assert "P3 – Pilotphase" in dossier.clean.text


def test_toc_pages(dossier):
    toc = {t.title: t.page for t in parse_toc(dossier.clean.text)}
    assert toc["P3 – Pilotphase"] == 23
    assert toc["Betreibermodelle"] == 30
    assert toc["Glossar"] == 35


def _section_with(dossier, needle):
    return next(s for s in dossier.sections if any(needle in p for p in s.paragraphs))


@pytest.mark.parametrize(
    "needle, phase, page, title",
    [
        ("Ein Beispiel für die erfolgreiche Berücksichtigung von Systeminteroperabilität ist das Masterportal", "P2", 21, "Good Practices für Minimum Viable Products"),
        ("niedersächsischen Kulturplattform kulturis", "P4", 25, "Good Practices für nachhaltige Betreibermodelle"),
        ("Open-Government-Kollaborations-Plattform DIGIFARM.MS", "P3", 23, "Good Practices für Pilotprojekte"),
        ("Smart City Research Lab Bamberg", "P1", 19, None),
        ("Smart Village App", "P5", 27, "Good Practices für den Transfer digitaler Lösungen"),
        ("Cyber Innovation Hub", "D", 28, "Good Practice für Innovationsförderung"),
        ("Weiterbildungsprogramme für Beschäftigte", "D", 28, "Durchgehend über alle Phasen"),
    ],
)
def test_phase_attribution(dossier, needle, phase, page, title):
    section = _section_with(dossier, needle)
    assert section.phase == phase
    assert section.page == page
    if title:
        assert section.title == title


def test_chapter_title_uses_body_spelling(dossier):
    paths = {s.path[0] for s in dossier.sections}
    assert "2 Kernergebnisse" in paths  # the TOC misspells it "Knergebnisse"
    assert not any(s.phase for s in dossier.sections if s.path[0] == "2 Kernergebnisse")


def test_catalogue_coverage_read_from_data(catalogue, dossier):
    # counted independently: criterion entries in the YAML text, and the total the study states
    yaml_text = (ROOT / "corpus" / "catalogue" / "criteria.yaml").read_text(encoding="utf-8")
    named = len(set(re.findall(r"^- id: (K\d+)$", yaml_text, re.M)))
    assert named == 48
    assert "76 Kriterien in fünf Phasen" in " ".join(dossier.clean.text.split())
    assert catalogue.coverage == (named, 76)
    assert "48 der 76" in catalogue.coverage_note() and "übrigen 28" in catalogue.coverage_note()
    assert "48 of the study's 76" in catalogue.coverage_note("en")


@pytest.mark.parametrize(
    "mention, expected",
    [
        ("Durchführung eines Pilotprojekts", ["K18"]),  # inflection differs from catalogue name
        ("Finanzierung vertikaler Skalierung", ["K26"]),
        ("Überwachung sich ändernder Kundenbedürfnisse (Bürgerinnen und Bürger, Mandatsträger, Fachabteilungen etc.)", ["K19"]),
        ("Wagniskapital-Strategie", ["K24"]),
        ("Zusammenstellung eines flexiblen und integrierbaren Technologie-Stacks; flexible und agile Verwaltungsstrukturen", ["K22", "K23"]),
        ("P3 – Pilotphase", ["P3"]),
        ("Cyber Innovation Hub", ["GP07"]),
        ("kulturis", ["GP04"]),
        ("Ringwald et al. 2024", []),
    ],
)
def test_mention_matching(catalogue, mention, expected):
    assert [e.id for e in catalogue.match_name(mention)] == expected


def test_normalize_name_handles_gender_forms_and_dashes():
    assert normalize_name("Bürger*innen") == normalize_name("Bürger:innen") == normalize_name("Bürger")
    assert normalize_name("Vendor–Lock–In") == normalize_name("Vendor-Lock-In")
