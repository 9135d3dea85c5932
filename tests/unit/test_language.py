"""Question language from function words, without the model."""

from __future__ import annotations

import pytest

from assistant.language import detect_language

pytestmark = pytest.mark.unit


def test_english_terms_in_a_german_question_do_not_make_it_english():
    assert detect_language("Wann braucht man einen Proof of Concept?") == "de"
    assert detect_language("Proof of Value oder Proof of Concept – wo liegt der Unterschied?") == "de"


def test_english_questions_stay_english():
    assert detect_language("Who developed it, and when?") == "en"
    assert detect_language("Is there a good practice from Hamburg?") == "en"
    assert detect_language("Can you list the good practices from the dossier?") == "en"
