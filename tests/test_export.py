"""Export: the conversation as Markdown, with every answer's citations."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from assistant.chat import ChatTurn
from assistant.export import conversation_markdown, export_filename
from assistant.schema import Answer, Citation

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)

ROOT = Path(__file__).resolve().parent.parent


def turn(question: str, **kwargs) -> ChatTurn:
    citations = [
        Citation(
            n=1, source="catalogue", kind="phase", title="Phase P3: Pilotphase", section="Kriterienkatalog > Phase",
            page=None, phase="P3", criteria=[], text="Phase P3 – Pilotphase\nKurzfassung: Der Prototyp wird erprobt.", score=0.2,
        ),
        Citation(
            n=2, source="dossier", kind="passage", title="P3 – Pilotphase",
            section="4 Entwicklungsphasen digitaler Lösungen > P3 – Pilotphase", page=23, phase="P3",
            criteria=["K18"], text="Der Fokus der Pilotphase liegt auf Akzeptanz.\nMehr Text.", score=0.5,
            quote="Der Fokus der Pilotphase liegt auf Akzeptanz.",
        ),
    ]
    answer = Answer(
        question=question,
        answer="P3 – Pilotphase: Der Prototyp wird erprobt. [1]\n\nDer Fokus der Pilotphase liegt auf Akzeptanz. [2]",
        abstained=False,
        phases=["P3"],
        citations=citations,
    )
    return ChatTurn(id="t1", question=question, answer=answer, **kwargs)


def test_markdown_has_questions_answers_and_citations(catalogue):
    md = conversation_markdown([turn("Was ist in der Pilotphase wichtig?", phase_filter="P3")], catalogue, datetime(2026, 3, 5, 9, 7))
    assert md.startswith("# Roadmap-Lotse – Gesprächsprotokoll\n")
    assert "Exportiert am 05.03.2026 um 09:07 Uhr" in md
    assert "48 der 76" in md
    assert "## Frage 1: Was ist in der Pilotphase wichtig?" in md
    assert "_Filter: Phase P3 – Pilotphase_" in md
    assert "Der Fokus der Pilotphase liegt auf Akzeptanz. [2]" in md
    assert "- [1] Phase P3: Pilotphase – Kriterienkatalog (Phase P3 – Pilotphase)" in md
    assert (
        "- [2] P3 – Pilotphase – 4 Entwicklungsphasen digitaler Lösungen > P3 – Pilotphase, S. 23 "
        "(Phase P3 – Pilotphase; Kriterien: K18 Durchführung eines Pilotprojektes)"
    ) in md
    assert "  > Zitiert: „Der Fokus der Pilotphase liegt auf Akzeptanz.“" in md
    assert "  > Auszug: „Phase P3 – Pilotphase Kurzfassung: Der Prototyp wird erprobt.“" in md
    assert md.endswith("\n") and "\n\n\n" not in md


def test_several_turns_are_numbered_and_refusals_have_no_sources(catalogue):
    refusal = ChatTurn(
        id="t2", question="Wie wird das Wetter?",
        answer=Answer(question="Wie wird das Wetter?", answer="Dazu enthält die Roadmap keine Aussage.", abstained=True),
        source_filter="dossier",
    )
    md = conversation_markdown([turn("Erste Frage"), refusal], catalogue)
    assert "## Frage 1: Erste Frage" in md and "## Frage 2: Wie wird das Wetter?" in md
    second = md.split("## Frage 2")[1]
    assert "Quellen" not in second and "_Filter: nur Dossier_" in second


def test_empty_conversation_and_filename():
    md = conversation_markdown([], None, datetime(2026, 1, 2, 3, 4))
    assert "noch keine Fragen" in md
    assert export_filename(datetime(2026, 1, 2, 3, 4)) == "roadmap-lotse-unterhaltung-20260102-0304.md"


def test_word_export_has_the_same_questions_answers_and_sources(catalogue):
    import io

    import docx

    from assistant.export import conversation_docx

    turns = [turn("Was ist in der Pilotphase wichtig?", phase_filter="P3")]
    md = conversation_markdown(turns, catalogue, datetime(2026, 3, 5, 9, 7))
    doc = docx.Document(io.BytesIO(conversation_docx(turns, catalogue, datetime(2026, 3, 5, 9, 7))))
    paragraphs = [(p.style.name, p.text) for p in doc.paragraphs]
    assert paragraphs[0] == ("Title", "Roadmap-Lotse – Gesprächsprotokoll")
    assert ("Heading 1", "Frage 1: Was ist in der Pilotphase wichtig?") in paragraphs
    assert ("Heading 2", "Quellen") in paragraphs
    texts = [t for _, t in paragraphs]
    assert "Filter: Phase P3 – Pilotphase" in texts
    assert any("Exportiert am 05.03.2026 um 09:07 Uhr" in t for t in texts)
    assert any("48 der 76" in t for t in texts)
    assert "Der Fokus der Pilotphase liegt auf Akzeptanz. [2]" in texts
    # every source entry of the Markdown export, word for word
    sources = [t for s, t in paragraphs if s == "List Bullet"]
    quotes = [t for s, t in paragraphs if s == "Quote"]
    md_sources = [line[2:] for line in md.splitlines() if line.startswith("- [")]
    md_quotes = [line[4:] for line in md.splitlines() if line.startswith("  > ")]
    assert sources == md_sources and len(sources) == 2
    assert quotes == md_quotes and quotes[1] == "Zitiert: „Der Fokus der Pilotphase liegt auf Akzeptanz.“"
    assert doc.core_properties.language == "de-DE"
    assert export_filename(datetime(2026, 1, 2, 3, 4), "docx") == "roadmap-lotse-unterhaltung-20260102-0304.docx"


def test_word_export_of_an_empty_conversation_and_control_characters(catalogue):
    import io

    import docx

    from assistant.export import conversation_docx

    empty = docx.Document(io.BytesIO(conversation_docx([], None)))
    assert "Die Unterhaltung enthält noch keine Fragen." in [p.text for p in empty.paragraphs]
    odd = turn("Frage mit \x07Klingel und \x1b Escape")
    doc = docx.Document(io.BytesIO(conversation_docx([odd], catalogue)))
    assert "Frage 1: Frage mit Klingel und Escape" in [p.text for p in doc.paragraphs]
