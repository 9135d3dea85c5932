"""The stored questions per passage (corpus/questions): anchors resolve, answers are verbatim,
every passage and catalogue entry has its questions."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from assistant import chunking
from assistant.corpus import Catalogue, find_dossier, load_dossier
from assistant.questions import Anchor, AnchorError, load_question_bank, resolve_anchor, resolve_bank
from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit
CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(scope="module")
def chunks():
    catalogue = Catalogue.load(CORPUS / "catalogue" / "criteria.yaml")
    return chunking.build_chunks(load_dossier(find_dossier(CORPUS / "dossier")), catalogue)


@pytest.fixture(scope="module")
def bank():
    return load_question_bank(CORPUS)


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_every_anchor_resolves_to_exactly_one_passage(bank, chunks):
    assert len(bank.groups) > 200
    unresolved = []
    for group in bank.groups:
        try:
            resolve_anchor(group.anchor, chunks)
        except AnchorError as exc:
            unresolved.append(str(exc))
    assert not unresolved, unresolved[:5]


def test_recorded_answers_are_verbatim_in_their_passage(bank, chunks):
    checked = 0
    bad = []
    for group in bank.groups:
        chunk = resolve_anchor(group.anchor, chunks)
        text = collapse(chunk.text)
        for question in group.questions:
            for sentence in question.answer:
                checked += 1
                if collapse(sentence) not in text:
                    bad.append((group.anchor.label(), sentence[:60]))
    assert checked > 1000
    assert not bad, bad[:5]


def test_every_passage_and_catalogue_entry_has_questions_of_each_style(bank, chunks):
    resolved = resolve_bank(bank, chunks, strict=True)
    per_chunk: dict[str, Counter] = {}
    for q in resolved:
        per_chunk.setdefault(q.chunk_id, Counter())[q.style] += 1
    missing = [c.id for c in chunks if c.source in ("dossier", "catalogue") and c.id not in per_chunk]
    assert not missing, missing[:5]
    for chunk_id, styles in per_chunk.items():
        # one keyword query from the first pass; the second pass (sentences no question pointed at)
        # may add more
        assert styles["everyday"] >= 2 and styles["keyword"] >= 1, (chunk_id, styles)
    assert sum(1 for q in resolved if q.lang == "en") > 200


def test_a_moved_anchor_fails_loudly(chunks):
    with pytest.raises(AnchorError):
        resolve_anchor(Anchor(section="Glossar", opens="Diese Worte stehen nirgends"), chunks)
    with pytest.raises(AnchorError):
        resolve_anchor(Anchor(entry="K99"), chunks)
    assert resolve_anchor(Anchor(entry="K14"), chunks).ref_id == "K14"


def test_the_bank_fingerprint_follows_the_files(tmp_path):
    folder = tmp_path / "questions"
    folder.mkdir()
    line = '{"anchor": {"entry": "K14"}, "questions": [{"text": "Was sind offene Schnittstellen?", "lang": "de", "style": "everyday", "answer": ["Kriterium K14"]}]}\n'
    (folder / "a.jsonl").write_text(line, encoding="utf-8")
    first = load_question_bank(tmp_path).fingerprint
    (folder / "a.jsonl").write_text(line.replace("offene", "gute"), encoding="utf-8")
    assert load_question_bank(tmp_path).fingerprint != first
    (folder / "a.jsonl").write_text("{broken\n", encoding="utf-8")
    with pytest.raises(ValueError, match="a.jsonl, Zeile 1"):
        load_question_bank(tmp_path)
