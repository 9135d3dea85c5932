"""The answer-usefulness test set and the blind retrieval split: format, facts against the sources,
coverage, and that no question is a near-copy of another set's question."""

from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
import pytest

from assistant.evaluation import (
    ANSWER_KINDS,
    ANSWER_TESTSET,
    BLIND_TESTSET,
    DEFAULT_TESTSET,
    AnswerItem,
    ConversationItem,
    TestsetError,
    is_catalogue_id,
    load_answer_set,
    load_testset,
)
from assistant.settings import PROJECT_ROOT

CORPUS = PROJECT_ROOT / "corpus"


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def token_set(question: str) -> frozenset[str]:
    return frozenset(re.findall(r"\w+", question.casefold()))


@pytest.fixture(scope="module")
def answers():
    return load_answer_set()


@pytest.fixture(scope="module")
def blind():
    return load_testset(BLIND_TESTSET)


def all_turns(answers):
    """(id, lang, turn) for every single question and every conversation turn."""
    rows = [(s.id, s.lang, s) for s in answers.singles]
    rows += [(f"{c.id}#{n}", c.lang, t) for c in answers.conversations for n, t in enumerate(c.turns, 1)]
    return rows


# -- answer set: format and size ------------------------------------------------------------------


@pytest.mark.unit
def test_answer_set_sizes_and_coverage(answers):
    singles = answers.singles
    kinds = Counter(s.kind for s in singles)
    assert len(singles) >= 220 and len(answers.conversations) >= 30
    assert all(2 <= len(c.turns) <= 4 for c in answers.conversations)
    assert set(kinds) == set(ANSWER_KINDS), f"kinds without items: {set(ANSWER_KINDS) - set(kinds)}"
    assert sum(1 for s in singles if s.lang == "en") >= 30
    assert kinds["out_of_scope"] >= 15
    for split in ("dev", "test"):
        half = answers.split(split)
        assert len(half.singles) >= 110 and len(half.conversations) >= 14, split  # 30 in all (two dev ones removed as near-copies)
        assert {s.kind for s in half.singles} == set(ANSWER_KINDS), split


@pytest.mark.unit
def test_answer_set_ids_are_unique_and_match_their_split(answers):
    ids = [s.id for s in answers.singles] + [c.id for c in answers.conversations]
    assert len(ids) == len(set(ids))
    for item in [*answers.singles, *answers.conversations]:
        assert item.id.startswith("d" if item.split == "dev" else "t"), item.id


@pytest.mark.unit
def test_invalid_answer_items_are_rejected(tmp_path):
    good = {"id": "t999", "split": "test", "question": "Wie viele Kriterien hat die Roadmap?", "lang": "de",
            "kind": "count", "must_include": [["76"]], "must_not_include": [], "evidence": ["K01"],
            "phase": None, "answerable": True}
    AnswerItem.model_validate(good)
    for change in (
        {"kind": "smalltalk"},
        {"must_include": []},
        {"must_include": [[]]},
        {"evidence": []},
        {"answerable": False},
        {"kind": "out_of_scope", "answerable": False},  # out_of_scope must have no facts
        {"split": "blind"},
        {"id": "q001"},
        {"extra": 1},
    ):
        with pytest.raises(ValueError):
            AnswerItem.model_validate({**good, **change})
    turn = {k: v for k, v in good.items() if k not in ("id", "split", "lang")}
    with pytest.raises(ValueError):  # one turn is not a conversation
        ConversationItem.model_validate({"id": "tc999", "split": "test", "lang": "de", "turns": [turn]})
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(good, ensure_ascii=False) + "\n" + json.dumps(good, ensure_ascii=False) + "\n")
    with pytest.raises(TestsetError, match="doppelte id"):
        load_answer_set(broken)


# -- answer set: facts against the sources ---------------------------------------------------------


@pytest.mark.unit
def test_answer_evidence_is_verbatim_in_the_cleaned_dossier_or_a_catalogue_id(answers, dossier, catalogue):
    clean = collapse(dossier.clean.text)
    bad = []
    checked = 0
    for item_id, _, turn in all_turns(answers):
        for evidence in turn.evidence:
            checked += 1
            if is_catalogue_id(evidence):
                if catalogue.get(evidence) is None:
                    bad.append((item_id, evidence))
            elif collapse(evidence) not in clean:
                bad.append((item_id, evidence))
    assert checked > 300
    assert not bad, f"evidence not in the sources: {bad[:10]}"


@pytest.mark.unit
def test_every_must_include_alternative_occurs_in_the_sources(answers, dossier):
    sources = collapse(dossier.clean.text) + " " + collapse((CORPUS / "catalogue" / "criteria.yaml").read_text("utf-8"))
    missing = []
    checked = 0
    for item_id, _, turn in all_turns(answers):
        for group in turn.must_include:
            for alternative in group:
                checked += 1
                if collapse(alternative) not in sources:
                    missing.append((item_id, alternative))
    assert checked > 500
    assert not missing, f"alternatives found in neither dossier nor catalogue: {missing[:10]}"


# -- blind retrieval split ------------------------------------------------------------------------


@pytest.mark.unit
def test_blind_split_format_size_and_coverage(blind, catalogue):
    lines = [line for line in BLIND_TESTSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert all(set(json.loads(line)) == {"id", "question", "lang", "kind", "evidence", "phase", "answer_terms",
                                         "answerable"} for line in lines)
    kinds = Counter(i.kind for i in blind)
    assert len(blind) >= 150
    assert sum(1 for i in blind if i.lang == "en") >= 40
    assert kinds["multi_hop"] >= 20
    assert all(i.id.startswith("b") for i in blind)
    assert len({i.id for i in blind}) == len(blind)
    assert all(len(i.evidence) >= 2 for i in blind if i.kind == "multi_hop")
    assert not [e for i in blind for e in i.catalogue_evidence if catalogue.get(e) is None]


@pytest.mark.unit
def test_blind_evidence_follows_the_readme_rules(blind, dossier):
    raw = re.sub(r"\s+", " ", dossier.raw)
    clean = re.sub(r"\s+", " ", dossier.clean.text)
    checked = 0
    for item in blind:
        for evidence in item.text_evidence:
            checked += 1
            text = re.sub(r"\s+", " ", evidence).strip()
            assert 33 <= len(evidence) <= 95, (item.id, evidence)
            assert not re.search(r"[\[\]*<>|]|\(#\)", evidence), (item.id, evidence)
            assert raw.count(text) == 1, f"{item.id}: not unique in the raw dossier: {evidence}"
            assert text in clean, f"{item.id}: not in the cleaned dossier: {evidence}"
    assert checked > 150


# -- no near-copies -------------------------------------------------------------------------------


def other_questions() -> dict[str, list[str]]:
    """The questions the sets must not copy: the dev/test retrieval items (and, where present, the
    augmentation questions of the index)."""
    from assistant.questions import load_question_bank  # the augmentation questions (corpus/questions)

    return {
        "retrieval_testset": [i.question for i in load_testset(DEFAULT_TESTSET)],
        "augmentation": [q.text for q in load_question_bank(CORPUS).questions],
    }


@pytest.mark.unit
def test_no_question_has_the_same_words_as_another_sets_question(answers, blind):
    others = other_questions()
    assert others["augmentation"], "the augmentation questions must be present"
    forbidden = {token_set(q): (name, q) for name, qs in others.items() for q in qs if len(token_set(q)) > 2}
    copies = [(q, forbidden[token_set(q)]) for q in answers.questions() + [i.question for i in blind]
              if token_set(q) in forbidden]
    assert not copies, copies[:5]


@pytest.mark.slow
def test_no_question_is_a_near_copy_by_embedding(answers, blind):
    """Cosine ≥ 0.95 between question embeddings counts as a near-copy (issue: blind split)."""
    from assistant.embedding import shared_embedder
    from assistant.settings import get_settings

    embedder = shared_embedder(get_settings())
    ours = answers.questions() + [i.question for i in blind]
    theirs = [q for qs in other_questions().values() for q in qs]
    a = np.asarray(embedder.embed_queries(ours))
    b = np.asarray(embedder.embed_queries(theirs))
    sims = a @ b.T
    i, j = np.unravel_index(int(np.argmax(sims)), sims.shape)
    assert sims[i, j] < 0.95, f"near-copy ({sims[i, j]:.3f}): {ours[i]!r} ~ {theirs[j]!r}"
