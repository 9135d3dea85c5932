"""Where an extract may start, without the model: which sentences need the one before them."""

from __future__ import annotations

import pytest

from assistant.answer.extract import needs_predecessor
from assistant.settings import Settings

pytestmark = pytest.mark.unit


def test_references_back_need_their_predecessor():
    settings = Settings()
    assert needs_predecessor(settings, "Dieser Wissenstransfer sollte auch implizites Wissen umfassen.")
    assert needs_predecessor(settings, "Dabei unterscheidet man zwischen zwei Arten.")
    assert needs_predecessor(settings, "Damit wird die Lösung tragfähig.")
    assert not needs_predecessor(settings, "Die Kommune klärt zuerst den Bedarf.")
    # a condition that refers to what came before
    assert needs_predecessor(settings, "Sollte dies nicht der Fall sein, so ist der Mehrwert herauszuarbeiten.")
    assert not needs_predecessor(settings, "Ist die Lösung reif, folgt der Transfer.")


def test_connectives_and_final_clauses_may_open_an_extract_unless_switched_off():
    settings = Settings()
    connective = "Zudem sollten Schulungsprogramme zur Einführung der Lösung mitgeliefert werden."
    final_clause = "Damit die Lösung im neuen Kontext funktioniert, müssen Standards früh gelegt werden."
    assert not needs_predecessor(settings, connective)
    assert not needs_predecessor(settings, final_clause)
    strict = Settings(extract_connectives_stand=False)
    assert needs_predecessor(strict, connective) and needs_predecessor(strict, final_clause)
