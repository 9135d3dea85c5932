"""The typed catalogue: every YAML field has an attribute, unknown fields fail loudly, nothing is
filled in that the data does not say, and totals are read from the data."""

from __future__ import annotations

import copy

import pytest
import yaml
from pydantic import ValidationError

from assistant.catalogue import Catalogue, Criterion, Driver, GoodPractice, Mechanism, Phase
from assistant.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

CATALOGUE_FILE = PROJECT_ROOT / "corpus" / "catalogue" / "criteria.yaml"


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(CATALOGUE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load(CATALOGUE_FILE)


def test_every_entry_is_typed_by_its_kind(catalogue, raw):
    expected = {Phase: "phases", Driver: "drivers", Criterion: "criteria", Mechanism: "mechanisms", GoodPractice: "good_practices"}
    for model, key in expected.items():
        ids = [item["id"] for item in raw[key]]
        assert [e.id for e in catalogue.entries.values() if isinstance(e, model)] == ids
        assert all(catalogue.get(i).kind == model.kind for i in ids)
    assert list(catalogue.entries) == [item["id"] for key in expected.values() for item in raw[key]]


def test_totals_are_read_from_the_data(catalogue, raw):
    assert catalogue.coverage == (len(raw["criteria"]), raw["stated_totals"]["criteria"])
    changed = copy.deepcopy(raw)
    changed["stated_totals"]["criteria"] = 90
    changed["criteria"] = changed["criteria"][:10]
    assert Catalogue(changed).coverage == (10, 90)
    assert catalogue.workstreams == raw["workstreams"]


def test_unknown_fields_stay_unknown(catalogue, raw):
    """Fields the YAML leaves out are None or empty, never guessed."""
    by_id = {item["id"]: item for key in ("criteria", "good_practices") for item in raw[key]}
    for criterion in catalogue.criteria:
        item = by_id[criterion.id]
        assert criterion.milestone == item.get("milestone")
        assert criterion.driver == item.get("driver")
        assert criterion.phase == item.get("phase")
        assert list(criterion.workstreams) == item.get("workstreams", [])
    k04 = catalogue.get("K04")
    assert k04.phase == "P1" and k04.phases == ["P1", "P4"]  # both phases the sources name
    assert catalogue.get("K39").phases == []
    unnamed = [m for m in catalogue.mechanisms if not m.name]
    assert unnamed and all(m.display_name.startswith("Mechanismus ohne lesbaren Titel") for m in unnamed)
    for gp in catalogue.good_practices:
        assert gp.phase == by_id[gp.id].get("phase") and list(gp.criteria) == by_id[gp.id]["criteria"]


def test_a_field_without_an_attribute_is_an_error(raw):
    changed = copy.deepcopy(raw)
    changed["criteria"][0]["transfer"] = True
    with pytest.raises(ValidationError, match="transfer"):
        Catalogue(changed)


def test_variants_drop_the_note_where_they_were_seen(catalogue, raw):
    for key in ("criteria", "drivers", "good_practices"):
        for item in raw[key]:
            entry = catalogue.get(item["id"])
            assert len(entry.variants) <= len(item.get("name_variants", []))
            assert not any(v.endswith(("(URL-Slug)", "(Dossier)")) for v in entry.variants)


def test_the_parts_of_an_entry_are_the_criteria_whose_name_marks_them_as_its_part():
    from assistant.corpus import Catalogue
    from assistant.settings import PROJECT_ROOT

    catalogue = Catalogue.load(PROJECT_ROOT / "corpus" / "catalogue" / "criteria.yaml")
    marked = {c.id for c in catalogue.criteria if "(Teil des PoC)" in c.name}
    assert len(marked) >= 2 and {c.id for c in catalogue.parts_of("K06")} == marked
    assert catalogue.parts_of("K05") == [] and catalogue.parts_of("nope") == []
