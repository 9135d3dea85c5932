"""Onboarding: the guided path P1 → P5 → durchgehend and its self-check, all from the catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.corpus import PHASE_IDS
from assistant.onboarding import OnboardingProgress, check_answer, onboarding_path

pytestmark = pytest.mark.unit  # needs neither the model nor an index (make test-fast)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def path(catalogue):
    return onboarding_path(catalogue)


def test_path_runs_p1_to_p5_then_d(path, catalogue):
    assert [s.phase for s in path] == list(PHASE_IDS)
    assert [s.number for s in path] == [1, 2, 3, 4, 5, 6]
    for step in path:
        assert step.title == catalogue.phase_label(step.phase)
        assert step.purpose == catalogue.get(step.phase).summary
        assert [m.id for m in step.milestones] == [m.id for m in catalogue.milestones(step.phase)]
        assert 1 <= len(step.key_criteria) <= 4
        assert all(step.phase in c.phases for c in step.key_criteria)
        # milestones come first among the key criteria
        assert [c.id for c in step.key_criteria[: len(step.milestones)]] == [m.id for m in step.milestones][:4]
        if catalogue.good_practices_of_phase(step.phase):
            assert step.example.phase == step.phase
        assert 2 <= len(step.questions) <= 3


def test_every_answer_key_agrees_with_the_catalogue(path, catalogue):
    ids = [q.id for s in path for q in s.questions]
    assert len(ids) == len(set(ids))
    for step in path:
        for q in step.questions:
            assert q.correct in q.options
            assert len(set(q.options)) == len(q.options) >= 3
            named = re.search(r"„(.+)“\?$", q.prompt)
            if q.prompt.startswith("Zu welcher Phase gehört"):
                entry = next(c for c in catalogue.criteria if c.name == named.group(1))
                assert entry.phases == [entry.phase]  # unambiguous
                assert q.correct == catalogue.phase_label(entry.phase)
            elif "Meilenstein" in q.prompt:
                right = [c for c in catalogue.milestones(step.phase) if c.name in q.options]
                assert [r.name for r in right] == [q.correct]
            else:
                assert "Praxisbeispiel" in q.prompt
                right = [g for g in catalogue.good_practices if g.name in q.options and g.phase == step.phase]
                assert [g.name for g in right] == [q.correct]


def test_later_steps_review_earlier_phases(path, catalogue):
    assert not any("-review-" in q.id for q in path[0].questions)
    for i, step in enumerate(path[1:], 1):
        reviews = [q for q in step.questions if "-review-" in q.id]
        assert len(reviews) == 1
        earlier = {catalogue.phase_label(s.phase) for s in path[:i]}
        assert reviews[0].correct in earlier


def test_the_example_question_is_in_the_catalogue(path):
    prompts = [q.prompt for s in path for q in s.questions]
    assert "Zu welcher Phase gehört „Durchführung eines Pilotprojektes“?" in prompts


def test_generation_is_deterministic(catalogue, path):
    again = onboarding_path(catalogue)
    assert [(q.id, q.options, q.correct) for s in again for q in s.questions] == [
        (q.id, q.options, q.correct) for s in path for q in s.questions
    ]


def test_check_answer_gives_immediate_explanation(path):
    q = path[2].questions[0]
    right = check_answer(q, q.correct)
    assert right.correct and right.message.startswith("Richtig!")
    wrong_choice = next(o for o in q.options if o != q.correct)
    wrong = check_answer(q, wrong_choice)
    assert not wrong.correct and f"richtig ist „{q.correct}“" in wrong.message
    assert not check_answer(q, None).correct
    assert not check_answer(q, "erfunden").correct


def test_progress_tracks_steps_and_score(path):
    progress = OnboardingProgress()
    assert progress.fraction_done(path) == 0 and not progress.finished(path)
    first = path[0]
    result = progress.answer(first.questions[0], first.questions[0].correct)
    assert result.correct and not progress.step_done(first)
    wrong = next(o for o in first.questions[1].options if o != first.questions[1].correct)
    progress.answer(first.questions[1], wrong)
    assert progress.step_done(first)
    assert progress.score(path) == (1, sum(len(s.questions) for s in path))
    assert progress.fraction_done(path) == pytest.approx(1 / 6)
    assert progress.result(first.questions[1]).correct is False
    progress.answer(first.questions[1], "erfunden")  # invalid choices are not stored
    assert progress.answers[first.questions[1].id] == wrong

    progress.go(99, path)
    assert progress.current == len(path) - 1
    progress.go(-3, path)
    assert progress.current == 0
    for step in path:
        for q in step.questions:
            progress.answer(q, q.correct)
    assert progress.finished(path) and progress.score(path)[0] == progress.score(path)[1]
    restored = OnboardingProgress.model_validate(progress.model_dump())
    assert restored.finished(path)
    progress.reset()
    assert progress.answers == {} and progress.current == 0
