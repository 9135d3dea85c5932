"""Views: Markdown safety, highlighting, timeline, cards and details (no Streamlit involved)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant import views
from assistant.domain import PHASE_IDS
from assistant.schema import Chunk, Citation

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)

ROOT = Path(__file__).resolve().parent.parent


def unescape(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)


# -- Markdown safety ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "**fett** und _kursiv_ und ~~weg~~",
        "[Klick](javascript:alert(1)) ![bild](http://x/y.png)",
        "<script>alert(1)</script> <b>fett</b> &lt;",
        ":red[rot] :orange-background[markiert] :material/home: :blue-badge[x]",
        "# Überschrift\n- Liste\n1. Nummer\n> Zitat\n---\n===",
        "$x^2$ und $$y$$ und `code` | Tabelle |",
        "    eingerückter Code",
    ],
)
def test_md_escape_leaves_no_markdown_syntax(text):
    escaped = views.md_escape(text)
    # every syntax character is escaped; unescaping gives back the text (minus leading indentation)
    assert unescape(escaped) == "\n".join(line.lstrip() for line in text.split("\n"))
    for char in "*_[]()<>`#$:|~!":
        assert re.search(rf"(?<!\\){re.escape(char)}", escaped) is None, (char, escaped)
    assert not re.search(r"^\s{4}", escaped, re.M)


def test_answer_markdown_keeps_citation_markers():
    md = views.answer_markdown("Der Fokus liegt auf Akzeptanz. [1] Mehr dazu: [2] P3 (S. 23)\n\nPhase: P3")
    assert "**\\[1\\]**" in md and "**\\[2\\]**" in md
    assert unescape(md.replace("**", "")) == "Der Fokus liegt auf Akzeptanz. [1] Mehr dazu: [2] P3 (S. 23)\n\nPhase: P3"


def test_highlight_finds_quote_across_line_breaks():
    text = "Erster Satz.\n\nDer Fokus der Pilotphase liegt\nauf Akzeptanz. Danach folgt mehr."
    spans = views.highlight_spans(text, "Der Fokus der Pilotphase liegt auf Akzeptanz.")
    assert len(spans) == 1
    assert text[spans[0][0] : spans[0][1]] == "Der Fokus der Pilotphase liegt\nauf Akzeptanz."
    md, found = views.highlighted_markdown(text, "Der Fokus der Pilotphase liegt auf Akzeptanz.")
    assert found
    # one highlight per line, never across a line break
    assert md.count(":orange-background[") == 2
    assert md.startswith("Erster Satz\\.\n\n:orange-background[**Der Fokus der Pilotphase liegt**]  \n")


def test_highlight_of_several_quoted_sentences_and_misses():
    text = "A ist wichtig. B ist auch wichtig. C nicht."
    spans = views.highlight_spans(text, "A ist wichtig. C nicht.")
    assert [text[s:e] for s, e in spans] == ["A ist wichtig.", "C nicht."]
    assert views.highlight_spans(text, None) == []
    assert views.highlight_spans(text, "Steht nicht im Text.") == []
    md, found = views.highlighted_markdown(text, None)
    assert not found and md == views.md_inline(text)


def test_highlight_cannot_be_broken_by_passage_markup():
    text = "Eine Zeile mit ] und [x](y) und :red[z] darin."
    md, found = views.highlighted_markdown(text, text)
    assert found
    inner = md[len(":orange-background[**") : -len("**]")]
    assert md.startswith(":orange-background[**") and md.endswith("**]")
    assert unescape(inner) == text
    assert re.search(r"(?<!\\)[\[\]]", inner) is None


# -- phases and timeline ---------------------------------------------------------------------------


def test_timeline_has_five_phases_in_a_row_and_d_beneath(catalogue):
    segments, marks = views.roadmap_timeline(catalogue)
    assert [s.phase for s in segments] == list(PHASE_IDS)
    row_phases = [s for s in segments if s.row == views.TIMELINE_ROWS[0]]
    assert [(s.start, s.end) for s in row_phases] == [(float(i), float(i + 1)) for i in range(5)]
    d = segments[-1]
    assert (d.row, d.start, d.end) == (views.TIMELINE_ROWS[1], 0.0, 5.0)
    for seg in segments:
        assert seg.n_criteria == len(catalogue.criteria_of_phase(seg.phase))
        assert seg.n_milestones == len(catalogue.milestones(seg.phase))
        assert seg.color == views.PHASE_HEX[seg.phase]
    assert [m.id for m in marks] == [m.id for p in PHASE_IDS for m in catalogue.milestones(p)]
    for m in marks:
        seg = next(s for s in segments if s.phase == m.phase)
        assert seg.start < m.x < seg.end


def test_phase_labels_show_d_as_durchgehend(catalogue):
    """The compact rule lives in assistant.domain; views and pages only use it."""
    from assistant.domain import phase_short_label

    assert [phase_short_label(p) for p in PHASE_IDS] == ["P1", "P2", "P3", "P4", "P5", "durchgehend"]
    assert [views.phase_choice_label(catalogue, p) for p in PHASE_IDS] == [
        "P1 Ideenfindung", "P2 Prototypentwicklung", "P3 Pilotphase", "P4 Verstetigung", "P5 Transfer", "durchgehend",
    ]
    segments, _ = views.roadmap_timeline(catalogue)
    assert [(s.label, s.name) for s in segments][2:] == [
        ("P3 Pilotphase", "Pilotphase"), ("P4 Verstetigung", "Verstetigung"), ("P5 Transfer", "Transfer"),
        ("Durchgehend über alle Phasen", "durchgehend über alle Phasen"),
    ]  # fmt: skip


def _contrast(hex_a: str, hex_b: str) -> float:
    """WCAG 2 contrast ratio of two sRGB colours."""

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(hex_a), luminance(hex_b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_timeline_colours_carry_white_text():
    """The timeline writes white labels on the phase colours (canvas, out of axe's reach)."""
    assert _contrast("#000000", "#ffffff") == pytest.approx(21.0)
    for phase, colour in views.PHASE_HEX.items():
        assert _contrast(colour, "#ffffff") >= 4.5, phase


def test_phase_overview_lists_milestones_first(catalogue):
    overview = views.phase_overview(catalogue, "P1")
    milestone_ids = [m.id for m in catalogue.milestones("P1")]
    assert [c.id for c in overview.criteria[: len(milestone_ids)]] == sorted(milestone_ids)
    assert {c.id for c in overview.criteria} == {c.id for c in catalogue.criteria_of_phase("P1")}
    assert overview.label == "P1 – Ideenfindung"
    assert [g.id for g in overview.good_practices] == [g.id for g in catalogue.good_practices_of_phase("P1")]


def test_phase_badges():
    assert views.phase_badge("P3") == ("P3", "orange")
    assert views.phase_badge(None) == ("ohne Phase", "gray")
    assert views.phase_badge_markdown("D") == ":gray-badge[D]"
    assert len(set(views.PHASE_BADGE_COLOR.values())) == 6


# -- criteria and good practices ------------------------------------------------------------------


def test_criterion_detail(catalogue):
    detail = views.criterion_detail(catalogue, "K18")
    assert detail.row.name == "Durchführung eines Pilotprojektes"
    assert detail.row.phases == ["P3"]
    assert [g.id for g in detail.good_practices] == ["GP03"]
    assert views.criterion_detail(catalogue, "GP03") is None
    assert views.criterion_detail(catalogue, "K99") is None
    k01 = views.criterion_detail(catalogue, "K01")
    assert k01.milestone_of == ["P1"] and k01.driver.id == "T2"


def test_criterion_table_rows(catalogue):
    from assistant.browse import filter_criteria

    rows = views.criterion_table(filter_criteria(catalogue))
    assert len(rows) == len(catalogue.criteria)
    assert set(rows[0]) == {"ID", "Kriterium", "Phase", "Treiber", "Workstreams", "Meilenstein"}
    assert {r["Meilenstein"] for r in rows} <= {"ja", "nein", "unbekannt"}


def test_good_practice_cards_and_search(catalogue):
    cards = views.good_practice_cards(catalogue)
    assert [c.id for c in cards] == [g.id for g in catalogue.good_practices]
    masterportal = cards[0]
    assert masterportal.name == "Masterportal" and masterportal.phase == "P2"
    assert ("K16", catalogue.get("K16").name) in masterportal.criteria
    assert masterportal.chat_question == "Was können wir vom Beispiel „Masterportal“ lernen?"
    assert [c.id for c in views.good_practice_cards(catalogue, text="münster")] == ["GP03"]
    assert [c.id for c in views.good_practice_cards(catalogue, text="Hamburg Open")] == ["GP01"]
    assert [c.id for c in views.good_practice_cards(catalogue, phase="P4")] == ["GP04", "GP05"]
    assert views.good_practice_cards(catalogue, text="gibt es nicht") == []
    # criteria names are searchable too
    assert "GP03" in [c.id for c in views.good_practice_cards(catalogue, text="Pilotprojektes")]


# -- source cards and errors -------------------------------------------------------------------


def test_source_card_for_dossier_passage(catalogue):
    citation = Citation(
        n=2,
        source="dossier",
        kind="passage",
        title="P3 – Pilotphase",
        section="4 Entwicklungsphasen > P3 – Pilotphase",
        page=23,
        phase="P3",
        criteria=["K18", "K99"],
        text="Einleitung. Der Fokus liegt auf Akzeptanz.",
        score=0.4,
        good_practices=["GP03"],
        quote="Der Fokus liegt auf Akzeptanz.",
    )
    card = views.source_card(citation, catalogue)
    assert (card.badge, card.badge_color) == ("P3", "orange")
    assert card.where == "4 Entwicklungsphasen > P3 – Pilotphase" and card.page == 23
    assert card.criteria == [("K18", "Durchführung eines Pilotprojektes")]  # unknown ids dropped
    assert card.good_practices == [("GP03", "DIGIFARM.MS")]
    assert card.has_highlight and ":orange-background[**Der Fokus liegt auf Akzeptanz\\.**]" in card.passage_markdown
    assert card.header == ":orange-badge[P3] **\\[2\\]** P3 – Pilotphase · S\\. 23"


def test_source_card_for_catalogue_criterion(catalogue):
    citation = Citation(
        n=1, source="catalogue", kind="criterion", title="Kriterium K05: Proof of Value", section="Kriterienkatalog",
        page=None, phase="P1", criteria=[], text="Kriterium K05: Proof of Value\nKurzfassung: …", score=0.3, ref_id="K05",
    )
    card = views.source_card(citation, catalogue)
    assert card.where == "Kriterienkatalog" and card.source_label == "Kriterienkatalog"
    assert card.criteria == [("K05", "Proof of Value")]
    assert "  \n" in card.passage_markdown  # catalogue lines stay lines
    assert "S\\." not in card.header


def test_group_by_section():
    chunks = [
        Chunk(id="a", text="eins", source="dossier", kind="passage", title="P3", section="4 > P3", page=23),
        Chunk(id="b", text="zwei", source="dossier", kind="passage", title="P3", section="4 > P3", page=23),
        Chunk(id="c", text="drei", source="dossier", kind="passage", title="GP", section="4 > P3 > GP", page=23),
    ]
    groups = views.group_by_section(chunks)
    assert [(g.title, g.texts) for g in groups] == [("P3", ["eins", "zwei"]), ("GP", ["drei"])]
