"""Structure-aware chunks with metadata."""

from __future__ import annotations

import pytest

from assistant.chunking import MAX_PASSAGE_CHARS, build_chunks, split_sentences
from assistant.corpus import Catalogue, find_dossier, load_dossier
from tests.conftest import ROOT

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)


@pytest.fixture(scope="module")
def corpus():
    catalogue = Catalogue.load(ROOT / "corpus" / "catalogue" / "criteria.yaml")
    dossier = load_dossier(find_dossier(ROOT / "corpus" / "dossier"))
    return dossier, catalogue, build_chunks(dossier, catalogue)


def test_passages_are_verbatim_and_bounded(corpus):
    dossier, _, chunks = corpus
    passages = [c for c in chunks if c.source == "dossier"]
    assert passages
    for chunk in passages:
        assert len(chunk.text) <= MAX_PASSAGE_CHARS
        assert chunk.text in dossier.clean.text
        assert chunk.kind == "passage"


def test_no_chunk_spans_two_sections(corpus):
    dossier, _, chunks = corpus
    for chunk in (c for c in chunks if c.source == "dossier"):
        sections = [s for s in dossier.sections if s.path_str == chunk.section]
        assert any(all(part in "\n\n".join(s.paragraphs) for part in chunk.text.split("\n\n")) for s in sections)


def test_embedded_text_carries_heading_context(corpus):
    _, _, chunks = corpus
    chunk = next(c for c in chunks if "kulturis" in c.text)
    assert chunk.embed_text.startswith("P4 – Verstetigung / vertikale Skalierung > Good Practices")
    assert chunk.text in chunk.embed_text


def test_metadata_of_known_passages(corpus):
    _, _, chunks = corpus
    master = next(c for c in chunks if c.source == "dossier" and "das Masterportal, eine Open-Source-Software" in c.text)
    assert (master.phase, master.page) == ("P2", 21)
    assert "GP01" in master.good_practices and "K16" in master.criteria
    digifarm = next(c for c in chunks if c.source == "dossier" and "DIGIFARM.MS" in c.text)
    assert digifarm.phase == "P3" and "GP03" in digifarm.good_practices and "K18" in digifarm.criteria


def test_one_catalogue_chunk_per_entry(corpus):
    _, catalogue, chunks = corpus
    catalogue_chunks = [c for c in chunks if c.source == "catalogue"]
    assert len(catalogue_chunks) == len(catalogue.entries)
    k18 = next(c for c in catalogue_chunks if c.ref_id == "K18")
    assert k18.kind == "criterion" and k18.phase == "P3"
    assert "Durchführung eines Pilotprojektes" in k18.text and "Meilenstein" in k18.text
    gp04 = next(c for c in catalogue_chunks if c.ref_id == "GP04")
    assert gp04.kind == "good_practice" and gp04.phase == "P4"


def test_chunk_ids_unique(corpus):
    _, _, chunks = corpus
    assert len({c.id for c in chunks}) == len(chunks)


def test_sentence_split_keeps_abbreviations():
    text = "Das gilt z. B. für Kommunen. Andere Städte wie Gütersloh haben Gremien. Fertig!"
    assert split_sentences(text) == ["Das gilt z. B. für Kommunen.", "Andere Städte wie Gütersloh haben Gremien.", "Fertig!"]
