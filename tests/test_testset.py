"""The retrieval test set itself: format, evidence against the dossier and catalogue, coverage, split."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from assistant.evaluation import (
    DEFAULT_TESTSET,
    KINDS,
    EvalItem,
    TestsetError,
    assign_splits,
    is_catalogue_id,
    load_testset,
    split_items,
)

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)

ROOT = Path(__file__).resolve().parent.parent


def collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_testset(DEFAULT_TESTSET)


# -- format ---------------------------------------------------------------------------------------


def test_every_line_is_a_valid_item_with_exact_keys():
    lines = [line for line in DEFAULT_TESTSET.read_text(encoding="utf-8").splitlines() if line.strip()]
    expected = {"id", "question", "lang", "kind", "evidence", "phase", "answer_terms", "answerable"}
    for line_no, line in enumerate(lines, 1):
        raw = json.loads(line)
        assert set(raw) == expected, f"line {line_no}: keys {sorted(raw)}"
        item = EvalItem.model_validate(raw)  # kinds, langs, phases, consistency
        assert item.kind in KINDS and item.lang in ("de", "en")


def test_size_languages_and_refusal_items(items):
    langs = Counter(i.lang for i in items)
    kinds = Counter(i.kind for i in items)
    assert len(items) >= 150
    assert langs["en"] >= 20
    assert kinds["out_of_scope"] >= 15
    assert set(kinds) == set(KINDS), f"kinds without items: {set(KINDS) - set(kinds)}"
    assert all(not i.answerable for i in items if i.kind == "out_of_scope")
    assert all(i.answerable for i in items if i.kind != "out_of_scope")


def test_ids_are_unique_and_sequential(items):
    ids = [i.id for i in items]
    assert len(ids) == len(set(ids))
    assert [i.number for i in items] == list(range(1, len(items) + 1))


def test_invalid_items_are_rejected(tmp_path):
    good = {"id": "q001", "question": "Was ist ein MVP?", "lang": "de", "kind": "definition",
            "evidence": ["K12"], "phase": "P2", "answer_terms": ["MVP"], "answerable": True}
    EvalItem.model_validate(good)
    for change in (
        {"lang": "fr"},
        {"kind": "smalltalk"},
        {"phase": "P6"},
        {"evidence": []},
        {"answerable": False},  # answerable=false only for out_of_scope
        {"kind": "out_of_scope", "answerable": False},  # out_of_scope must have no evidence
        {"extra": 1},
        {"id": "x1"},
    ):
        with pytest.raises(ValueError):
            EvalItem.model_validate({**good, **change})
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(good) + "\n{not json}\n", encoding="utf-8")
    with pytest.raises(TestsetError, match="Zeile 2"):
        load_testset(broken)


# -- evidence -------------------------------------------------------------------------------------


def test_dossier_evidence_occurs_in_raw_and_cleaned_dossier(items, dossier):
    raw = collapse(dossier.raw)
    clean = collapse(dossier.clean.text)
    missing_raw, missing_clean = [], []
    for item in items:
        for evidence in item.text_evidence:
            if collapse(evidence) not in raw:
                missing_raw.append((item.id, evidence))
            if collapse(evidence) not in clean:
                missing_clean.append((item.id, evidence))
    assert not missing_raw, f"not in the dossier: {missing_raw}"
    assert not missing_clean, f"not in the cleaned dossier text: {missing_clean}"


def test_dossier_evidence_follows_the_readme_rules(items, dossier):
    raw = collapse(dossier.raw)
    for item in items:
        for evidence in item.text_evidence:
            assert 33 <= len(evidence) <= 95, (item.id, evidence)
            assert not re.search(r"[\[\]*<>|]|\(#\)", evidence), (item.id, evidence)
            assert raw.count(collapse(evidence)) == 1, f"{item.id}: not unique in the dossier: {evidence}"


def test_catalogue_ids_exist(items, catalogue):
    unknown = [(i.id, e) for i in items for e in i.catalogue_evidence if catalogue.get(e) is None]
    assert not unknown


def test_catalogue_id_pattern():
    for good in ("K14", "GP03", "T2", "P3", "D", "M05"):
        assert is_catalogue_id(good)
    for bad in ("K1", "GP3", "T8", "P6", "DD", "k14", "K14 ", "Die Kommune"):
        assert not is_catalogue_id(bad)


# -- coverage -------------------------------------------------------------------------------------


def test_every_good_practice_driver_and_phase_is_covered(items):
    evidence_ids = {e for i in items for e in i.catalogue_evidence}
    phases = {i.phase for i in items}
    assert {f"GP{n:02d}" for n in range(1, 12)} <= evidence_ids
    assert {f"T{n}" for n in range(1, 8)} <= evidence_ids
    assert {"P1", "P2", "P3", "P4", "P5", "D"} <= phases


# -- split ----------------------------------------------------------------------------------------


def test_split_is_deterministic_disjoint_and_complete(items):
    dev = split_items(items, "dev")
    test = split_items(items, "test")
    assert [i.id for i in dev] == [i.id for i in split_items(list(items), "dev")]
    assert [i.id for i in test] == [i.id for i in split_items(list(reversed(items)), "test")][::-1]
    assert not {i.id for i in dev} & {i.id for i in test}
    assert {i.id for i in dev} | {i.id for i in test} == {i.id for i in items}
    assert split_items(items, "all") == list(items)
    with pytest.raises(ValueError):
        split_items(items, "train")


def test_split_is_stratified_by_kind(items):
    halves = assign_splits(items)
    for kind in KINDS:
        counts = Counter(halves[i.id] for i in items if i.kind == kind)
        assert abs(counts["dev"] - counts["test"]) <= 1, (kind, counts)
        assert counts["dev"] >= 1 and counts["test"] >= 1


def test_appending_items_keeps_existing_assignments(items):
    before = assign_splits(items)
    extra = [
        items[0].model_copy(update={"id": f"q{len(items) + n:03d}", "kind": kind})
        for n, kind in enumerate(("phase", "definition", "driver"), 1)
    ]
    after = assign_splits(list(items) + extra)
    assert {k: after[k] for k in before} == before
