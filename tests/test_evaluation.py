"""Evaluation: the hit rule and metrics on hand-made examples, then the quality floors of issues #3
and #4 measured on the `test` split with the real model and index (evaluated once per module)."""

from __future__ import annotations

import argparse
import json
import re

import pytest

from assistant.answer.refusal import is_manipulation
from assistant.evaluation import (
    BLIND_TESTSET,
    AnswerTurn,
    EvalItem,
    answer_body,
    body_refs,
    build_usefulness,
    contains_term,
    fold,
    grade_answer,
    build_report,
    evaluate,
    evaluate_answers,
    evidence_matches,
    first_hit_rank,
    load_answer_set,
    load_split,
    load_testset,
    ndcg,
    passage_matches,
    render_markdown,
    run_cli,
    score_answer,
    split_items,
    usefulness_metrics,
    write_outputs,
)
from assistant.schema import Answer, Citation, Timings

PASSAGE = (
    "In der Pilotphase wird der Prototyp\nzu einem reiferen   Pilotprojekt weiterentwickelt, "
    "das eine größere Nutzergruppe erprobt."
)


# -- hit rule -------------------------------------------------------------------------------------


@pytest.mark.unit
def test_text_evidence_ignores_case_and_whitespace():
    assert evidence_matches("der Prototyp zu einem reiferen Pilotprojekt", PASSAGE)
    assert evidence_matches("DER PROTOTYP ZU EINEM REIFEREN  PILOTPROJEKT", PASSAGE)
    assert evidence_matches("reiferen Pilotprojekt weiterentwickelt, das", PASSAGE)


@pytest.mark.unit
def test_text_evidence_must_occur_completely():
    assert not evidence_matches("der Prototyp zu einem reifen Pilotprojekt", PASSAGE)  # one letter differs
    assert not evidence_matches("Nutzergruppe erprobt. In der nächsten Phase", PASSAGE)  # runs past the end
    assert not evidence_matches("Pilotprojekt-weiterentwickelt", PASSAGE)  # hyphen is not whitespace
    assert not evidence_matches("", PASSAGE)


@pytest.mark.unit
def test_catalogue_evidence_needs_the_entry_itself():
    assert evidence_matches("K14", "Kriterium K14: Standardisierung …", "K14")
    assert evidence_matches("GP03", "irrelevant text", "GP03")
    assert evidence_matches("D", "Phase D", "D")
    # a passage that merely names the id, or a different entry, is no hit
    assert not evidence_matches("K14", "siehe Kriterium K14", None)
    assert not evidence_matches("K14", "Kriterium K14", "K41")
    assert not evidence_matches("P3", "Good Practice GP03", "GP03")
    assert not evidence_matches("T2", "Treiber T2", "K02")


@pytest.mark.unit
def test_any_evidence_item_makes_a_passage_a_hit():
    evidence = ["gibt es nicht im Text", "K25"]
    assert passage_matches(evidence, "Kriterium K25: Exit-Strategie", "K25")
    assert not passage_matches(evidence, "Kriterium K25: Exit-Strategie", "K24")


@pytest.mark.unit
def test_first_hit_rank_and_ndcg():
    ranking = [("ganz anderer Text", None), ("Kriterium", "K12"), (PASSAGE, None), ("x", "K14")]
    assert first_hit_rank(["reiferen Pilotprojekt"], ranking) == 3
    assert first_hit_rank(["K14", "reiferen Pilotprojekt"], ranking) == 3
    assert first_hit_rank(["K13"], ranking) is None
    assert ndcg([1], 1, 10) == pytest.approx(1.0)
    assert ndcg([2], 1, 10) == pytest.approx(1 / 1.584962500721156)
    assert ndcg([1], 2, 10) == pytest.approx(1 / (1 + 1 / 1.584962500721156))
    assert ndcg([11], 1, 10) == 0.0
    assert ndcg([], 0, 10) == 0.0


# -- scoring of one answer and of a report ----------------------------------------------------------


def _citation(n: int, text: str, ref_id: str | None = None, phase: str | None = None) -> Citation:
    return Citation(
        n=n, source="catalogue" if ref_id else "dossier", kind="passage", title=f"t{n}", section="s",
        page=None, phase=phase, criteria=[], text=text, score=0.1, chunk_id=f"c{n}", ref_id=ref_id,
    )


def _item(**overrides) -> EvalItem:
    values = dict(id="q900", question="Was passiert in der Pilotphase?", lang="de", kind="phase",
                  evidence=["reiferen Pilotprojekt weiterentwickelt", "K20"], phase="P3",
                  answer_terms=["Pilotprojekt", "Nutzergruppe", "Skalierbarkeit"], answerable=True)
    values.update(overrides)
    return EvalItem.model_validate(values)


@pytest.mark.unit
def test_score_answer_counts_retrieval_citations_phase_and_terms():
    retrieved = [_citation(1, "Einleitung"), _citation(2, "Kriterium K20", "K20"), _citation(3, PASSAGE)]
    answer = Answer(
        question="Was passiert in der Pilotphase?",
        answer="Der Prototyp wird ein Pilotprojekt [1].\n\nMehr dazu: [2] Einleitung",
        abstained=False,
        phases=["P3"],
        citations=[_citation(1, PASSAGE), _citation(2, "Einleitung")],
        retrieved=retrieved,
        timings_ms=Timings(retrieve=12.0, total=15.0),
    )
    result = score_answer(_item(), answer, k=10)
    assert result.first_hit_rank == 2 and result.hit_ranks == [2, 3]
    assert result.evidence_ranks == [3, 2]
    assert result.citation_hit and result.citation_hit_strict
    assert result.phase_correct is True and result.phase_listed is True
    assert result.phase_named_in_question  # "Pilotphase" names P3: reported apart
    # terms count only in the answer text: "Nutzergruppe" is in the cited passage, not in the answer
    assert result.answer_terms_found == ["Pilotprojekt"]
    assert result.answer_term_coverage == pytest.approx(1 / 3, abs=1e-4)

    # the evidence only in the "Mehr dazu" line: a citation hit, but not a strict one
    answer.citations = [_citation(1, "Einleitung"), _citation(2, PASSAGE)]
    answer.phases = ["P2", "P3"]
    result = score_answer(_item(), answer, k=10)
    assert result.citation_hit and not result.citation_hit_strict
    assert result.phase_correct is False  # P3 is listed, but not as the answer's primary phase
    assert result.phase_listed is True
    # cut at k
    assert score_answer(_item(), answer, k=1).first_hit_rank is None


@pytest.mark.unit
def test_report_metrics_on_a_tiny_set():
    items = [
        _item(id="q901"),
        _item(id="q902", evidence=["K20"], lang="en"),
        _item(id="q903", evidence=["nicht auffindbar im Text"], phase=None),
        EvalItem(id="q904", question="Wie wird das Wetter?", lang="de", kind="out_of_scope", evidence=[],
                 phase=None, answer_terms=[], answerable=False),
    ]
    hit_first = [_citation(1, PASSAGE), _citation(2, "x")]
    hit_second = [_citation(1, "x"), _citation(2, "Kriterium", "K20")]
    answers = [
        Answer(question="a", answer="[1]", abstained=False, phases=["P3"], citations=hit_first[:1], retrieved=hit_first,
               timings_ms=Timings(retrieve=10, total=20)),
        Answer(question="b", answer="[1]", abstained=False, phases=["P1"], citations=hit_second[:1], retrieved=hit_second,
               timings_ms=Timings(retrieve=30, total=40)),
        Answer(question="c", answer="Dazu enthält die Roadmap keine Aussage.", abstained=True, retrieved=hit_second,
               timings_ms=Timings(retrieve=50, total=60)),
        Answer(question="d", answer="Pilotprojekt", abstained=False, retrieved=hit_first, timings_ms=Timings(retrieve=70, total=80)),
    ]
    report = build_report([score_answer(i, a, k=10) for i, a in zip(items, answers)], split="unit", k=10)
    r = report.retrieval
    assert (report.n_answerable, report.n_out_of_scope) == (3, 1)
    assert r.recall_at_1 == pytest.approx(1 / 3, abs=1e-4)
    assert r.recall_at_3 == pytest.approx(2 / 3, abs=1e-4)
    assert r.mrr_at_10 == pytest.approx((1 + 0.5 + 0) / 3, abs=1e-4)
    assert report.by_lang["en"].recall_at_1 == 0.0 and report.by_lang["en"].recall_at_3 == 1.0
    assert set(report.by_phase) == {"P3", "none"}
    a = report.answers
    assert a.citation_hit == pytest.approx(1 / 3, abs=1e-4)  # q902's citation is not the K20 entry
    assert a.phase_correct == pytest.approx(0.5)  # q901 right, q902 wrong, q903 has no phase
    assert a.false_refusal_rate == pytest.approx(1 / 3, abs=1e-4)
    assert a.refusal_rate_out_of_scope == 0.0  # q904 was answered
    assert report.latency.retrieve_p50_ms == pytest.approx(40.0)
    assert [m.id for m in report.misses] == ["q903"]
    markdown = render_markdown(report)
    assert "q903" in markdown and "nicht auffindbar im Text" in markdown and "nicht abgelehnt" in markdown


# -- answer usefulness ---------------------------------------------------------------------------------


def _turn(**overrides) -> AnswerTurn:
    values = dict(question="Welche Kriterien sind in P1 Meilensteine?", kind="list",
                  must_include=[["Identifikation von Problemraum und Lösungsraum", "K01"], ["fünf", "5"]],
                  must_not_include=["Pilotprojekt"], evidence=["P1"], phase="P1", answerable=True)
    values.update(overrides)
    return AnswerTurn.model_validate(values)


@pytest.mark.unit
def test_answer_body_drops_the_closing_lines_only():
    text = ("Meilensteine in P1: K01 [1]\n\nMehr dazu: [2] Phasen (S. 17)\n\nPhase: P1 – Ideenfindung\n\n"
            "Kriterien: Durchführung eines Pilotprojektes (K18, P3)")
    body = answer_body(text)
    assert "K01 [1]" in body
    assert "Mehr dazu" not in body and "Ideenfindung" not in body and "Pilotprojektes" not in body
    assert body_refs(text) == {1}


@pytest.mark.unit
def test_short_terms_and_numbers_must_stand_as_words():
    text = fold("Bitte beachten: Es gibt 76 Kriterien – in „fünf“ Phasen.")
    assert contains_term(text, "76") and contains_term(text, "fünf") and contains_term(text, "Kriterien")
    assert not contains_term(text, "acht")  # only inside "beachten"
    assert not contains_term(text, "7")
    assert contains_term(text, "Kriterien - in")  # dashes are normalised
    assert contains_term(fold("der „Masterportal“-Ansatz"), '"Masterportal"')


def _answer(text: str, citations: list[Citation], abstained: bool = False) -> Answer:
    return Answer(question="q", answer=text, abstained=abstained, citations=citations, timings_ms=Timings(total=5.0))


@pytest.mark.unit
def test_grade_answer_needs_every_group_no_forbidden_term_and_cited_evidence():
    p1 = _citation(1, "Phase P1", "P1")
    good = _answer("Im Katalog sind 5 Meilensteine belegt, u. a. Identifikation von Problemraum und Lösungsraum (K01) [1].", [p1])
    grade = grade_answer(_turn(), good, item_id="t1", lang="de")
    assert grade.correct and grade.evidence_cited and not grade.missing
    # one group missing
    grade = grade_answer(_turn(), _answer("Identifikation von Problemraum und Lösungsraum [1]", [p1]), item_id="t1", lang="de")
    assert not grade.correct and grade.missing == [["fünf", "5"]]
    # forbidden term present
    grade = grade_answer(_turn(), _answer(good.answer + " Danach folgt ein Pilotprojekt.", [p1]), item_id="t1", lang="de")
    assert not grade.correct and grade.forbidden == ["Pilotprojekt"]
    # the facts only in the closing criteria line do not count
    closing = _answer("Siehe Katalog [1].\n\nKriterien: Identifikation von Problemraum und Lösungsraum (K01, P1); 5", [p1])
    assert not grade_answer(_turn(), closing, item_id="t1", lang="de").correct
    # evidence cited only under "Mehr dazu" does not count
    other = _citation(1, "Einleitung")
    further = _answer("5 Meilensteine, darunter K01 [1].\n\nMehr dazu: [2] Phasen", [other, _citation(2, "P1", "P1")])
    grade = grade_answer(_turn(), further, item_id="t1", lang="de")
    assert not grade.evidence_cited and not grade.correct
    # a refusal is never correct for an answerable item, and always correct for an out-of-scope one
    refusal = _answer("Dazu enthält die Roadmap keine Aussage.", [], abstained=True)
    assert not grade_answer(_turn(), refusal, item_id="t1", lang="de").correct
    oos = _turn(kind="out_of_scope", must_include=[], must_not_include=[], evidence=[], phase=None, answerable=False)
    assert grade_answer(oos, refusal, item_id="t2", lang="de").correct
    assert not grade_answer(oos, good, item_id="t2", lang="de").correct


@pytest.mark.unit
def test_usefulness_report_groups_by_kind_language_and_turn():
    p1 = _citation(1, "Phase P1", "P1")
    right = _answer("5 Meilensteine, darunter K01 [1].", [p1])
    wrong = _answer("Dazu enthält die Roadmap keine Aussage.", [], abstained=True)
    grades = [
        grade_answer(_turn(), right, item_id="t1", lang="de"),
        grade_answer(_turn(kind="count"), wrong, item_id="t2", lang="en"),
        grade_answer(_turn(), right, item_id="tc1#1", lang="de", conversation="tc1", turn=1),
        grade_answer(_turn(), wrong, item_id="tc1#2", lang="de", conversation="tc1", turn=2),
    ]
    report = build_usefulness(grades)
    assert report.singles.n == 2 and report.singles.correct == pytest.approx(0.5)
    assert report.turns.n == 2 and report.turns.correct == pytest.approx(0.5)
    assert report.by_kind["list"].correct == pytest.approx(2 / 3, abs=1e-4)
    assert report.by_kind["count"].false_refusals == 1.0
    assert report.by_lang["en"].correct == 0.0
    assert report.by_turn["1"].correct == 1.0 and report.by_turn["2"].correct == 0.0
    assert [g.id for g in report.failures] == ["t2", "tc1#2"]


# -- the real pipeline on the test split ------------------------------------------------------------


@pytest.fixture(scope="module")
def test_report(service):
    """One evaluation of the `test` split per session (about 1–2 minutes on CPU)."""
    items = split_items(load_testset(), "test")
    return evaluate(service, items, k=10, split="test")


@pytest.mark.slow
def test_retrieval_floors_on_test_split(test_report):
    """Issue #3: the floors started at Recall@5 ≥ 0.90 and MRR@10 ≥ 0.75 and were raised to the
    issue's target once retrieval reached it (test split: R@5 0.964, MRR@10 0.859). Never lower them."""
    r = test_report.retrieval
    misses = ", ".join(f"{m.id}({m.kind})" for m in test_report.misses)
    assert r.recall_at_5 >= 0.95, f"Recall@5 {r.recall_at_5:.3f} < 0.95; misses: {misses}"
    assert r.mrr_at_10 >= 0.85, f"MRR@10 {r.mrr_at_10:.3f} < 0.85 (R@1 {r.recall_at_1:.3f})"


@pytest.mark.slow
def test_answer_floors_on_test_split(test_report):
    """Issue #4: citation hit ≥ 0.90, phase correct ≥ 0.85, all out-of-scope refused, false refusals ≤ 5 %."""
    a = test_report.answers
    problems = []
    if a.citation_hit < 0.90:
        missed = [x.id for x in test_report.results if x.answerable and not x.citation_hit]
        problems.append(f"citation hit {a.citation_hit:.3f} < 0.90 ({missed})")
    # issue 15: the strict hit (evidence in a passage cited by a sentence of the answer, not only under
    # "Mehr dazu") and the answer terms in the answer text, floors at the values reached on 2026-12-03
    # (0.670 and 0.597; the sentence-by-sentence engine before had 0.866 and 0.671, see docs/benchmarks.md)
    if a.citation_hit_strict < 0.66:
        problems.append(f"strict citation hit {a.citation_hit_strict:.3f} < 0.66")
    if a.answer_term_coverage < 0.59:
        problems.append(f"answer terms in the answer text {a.answer_term_coverage:.3f} < 0.59")
    if a.phase_correct < 0.85:
        problems.append(f"phase correct {a.phase_correct:.3f} < 0.85")
    if a.refusal_rate_out_of_scope < 1.0:
        answered = [x.id for x in test_report.results if not x.answerable and not x.abstained]
        problems.append(f"out-of-scope refused {a.refusal_rate_out_of_scope:.3f} < 1.0 (answered: {answered})")
    if a.false_refusal_rate > 0.05:
        refused = [x.id for x in test_report.results if x.answerable and x.abstained]
        problems.append(f"false refusals {a.false_refusal_rate:.3f} > 0.05 ({refused})")
    assert not problems, "; ".join(problems)


@pytest.mark.slow
def test_report_covers_every_item_and_writes_outputs(test_report, tmp_path):
    items = split_items(load_testset(), "test")
    assert [r.id for r in test_report.results] == [i.id for i in items]
    questions = {i.id: i.question for i in items}
    # every question is searched (top 10), except manipulation attempts: those are refused before any search
    assert all(len(r.retrieved) == (0 if is_manipulation(questions[r.id]) else 10) for r in test_report.results)
    assert any(is_manipulation(q) for q in questions.values())
    assert all(r.relevant_in_index >= 1 and not r.unreachable_evidence for r in test_report.results if r.answerable)
    assert test_report.latency.retrieve_p50_ms > 0
    paths = write_outputs(test_report, tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["split"] == "test" and len(data["results"]) == len(items)
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = paths["md"].read_text(encoding="utf-8")
    assert "Recall@5" in markdown or "R@5" in markdown
    # every retrieval miss (no evidence in the top 5, counted here from the results) gets its own
    # entry, and nothing else does
    expected = [r.id for r in test_report.results if r.answerable and not (r.first_hit_rank and r.first_hit_rank <= 5)]
    assert f"(kein Treffer unter den Top 5): {len(expected)}" in markdown
    listed = re.findall(r"^### (q\d+) \(", markdown, re.M)
    assert listed == expected


@pytest.mark.unit
def test_cli_reports_missing_index_with_exit_3(settings, tmp_path, capsys):
    from assistant.service import AssistantService
    from tests.fakes import FakeEmbedder

    empty = settings.model_copy(update={"index_dir": tmp_path / "index"})  # no index built here
    service = AssistantService(empty)
    service._embedder = fake = FakeEmbedder()  # the missing index stops the run before any vector
    args = argparse.Namespace(split="test", k=10, out=str(tmp_path / "out"), testset=None)
    assert run_cli(args, empty, service=service) == 3
    err = capsys.readouterr().err
    assert ".venv/bin/python -m assistant build-index" in err
    assert not (tmp_path / "out").exists()
    assert sum(fake.calls.values()) == 0


@pytest.mark.unit
def test_cli_rejects_a_broken_testset(settings, tmp_path, capsys):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "q001"}\n', encoding="utf-8")
    args = argparse.Namespace(split="test", k=10, out=str(tmp_path / "out"), testset=str(broken))
    assert run_cli(args, settings) == 2
    assert "Zeile 1" in capsys.readouterr().err


# -- floors on the blind-written halves (issues 10 and 11) ----------------------------------------------
# Set at the values reached on 2026-12-03 with the command in docs/benchmarks.md ("Antworten" and
# "Retrieval auf allen drei Splits"), rounded down to two decimals. The issues' targets (answers:
# 0.90 singles, 0.85 turns, 0.80 per kind; blind retrieval: R@1 0.85, R@5 0.97, MRR@10 0.90) are
# not reached yet. Raise a floor whenever the engine improves; never lower one.
# singles raised at stop 34: 0.839 (99 of 118); the one more answer counted is the new grading (a cited
# passage read with its heading), the engine's own test result is unchanged since stop 32
ANSWER_FLOORS = {"singles": 0.855, "turns": 0.79}  # reached 0.8559 (101 of 118, stop 36) and 0.792 (38 of 48); raised stop 36 (0.847 before), stop 35 (0.838 before)
ANSWER_MAX_FALSE_REFUSALS = 0.007  # reached 1 of 155 answerable = 0.0065 at stop 25 (2 at stop 22, 5 before; target ≤ 0.01)
ANSWER_MIN_OUT_OF_SCOPE_REFUSED = 1.0  # reached 11 of 11 at stop 24 (target 1.0)
ANSWER_KIND_FLOORS = {  # reached values per kind, rounded down (target 0.80 each); driver, phase, out_of_scope raised at stop 25, how_to and onboarding at stop 30, count, meta, onboarding at stop 31, how_to and phase at stop 32, key_finding at stop 34 (grading), definition at stop 35 (10 of 12, reached at stop 34), driver at stop 36 (9 of 10)
    "compare": 0.75, "count": 0.92, "definition": 0.83, "driver": 0.90, "example": 1.0, "how_to": 0.64,
    "key_finding": 0.70, "list": 0.84, "meta": 1.0, "onboarding": 0.83, "operator_model": 0.70,
    "out_of_scope": 1.0, "phase": 0.68,
}
BLIND_RETRIEVAL_FLOORS = {"recall_at_1": 0.739, "recall_at_5": 0.97, "mrr_at_10": 0.85}  # reached .7397 (108 of 146)/.973/.855 at stop 30 (.733/.952/.831 at stop 29)


@pytest.fixture(scope="module")
def answer_report(service):
    """The test half of tests/data/answer_testset.jsonl, as `assistant eval --split test --only answers`."""
    return evaluate_answers(service, load_answer_set().split("test"))


@pytest.mark.slow
def test_answer_usefulness_floors_on_test_split(answer_report):
    u = answer_report
    problems = [f"{group} {getattr(u, group).correct:.3f} < {floor}" for group, floor in ANSWER_FLOORS.items()
                if getattr(u, group).correct < floor]
    problems += [f"kind {kind} {u.by_kind[kind].correct:.3f} < {floor}" for kind, floor in ANSWER_KIND_FLOORS.items()
                 if u.by_kind[kind].correct < floor]
    every = usefulness_metrics(u.grades)
    if every.false_refusals > ANSWER_MAX_FALSE_REFUSALS:
        problems.append(f"false refusals {every.false_refusals:.3f} > {ANSWER_MAX_FALSE_REFUSALS}")
    if every.refused_out_of_scope < ANSWER_MIN_OUT_OF_SCOPE_REFUSED:
        problems.append(f"out of scope refused {every.refused_out_of_scope:.3f} < {ANSWER_MIN_OUT_OF_SCOPE_REFUSED}")
    failures = ", ".join(g.id for g in u.failures)
    assert not problems, "; ".join(problems) + f" (failures: {failures})"


@pytest.mark.slow
def test_retrieval_floors_on_blind_split(service):
    report = evaluate(service, load_split("blind", BLIND_TESTSET), k=10, split="blind")
    r = report.retrieval
    reached = {"recall_at_1": r.recall_at_1, "recall_at_5": r.recall_at_5, "mrr_at_10": r.mrr_at_10}
    low = {name: round(value, 3) for name, value in reached.items() if value < BLIND_RETRIEVAL_FLOORS[name]}
    assert not low, f"blind retrieval below its floors {BLIND_RETRIEVAL_FLOORS}: {low}"


@pytest.mark.unit
def test_a_cited_passage_is_read_with_its_section_heading():
    title = "Auch ein verantwortungsvoller Umgang mit Wagnis erfordert eine neue Fehlerkultur"
    turn = _turn(question="Was sind die Kernergebnisse?", must_include=[["Fehlerkultur"]], must_not_include=[], evidence=[title], phase=None)
    under = _citation(1, "Ausstiege müssen selbstverständlicher Bestandteil werden.")
    under.section = f"2 Kernergebnisse > 5. {title}"
    assert grade_answer(turn, _answer(f"- 5. {title} [1]", [under]), item_id="t1", lang="de").evidence_cited
    elsewhere = _citation(1, "Ausstiege müssen selbstverständlicher Bestandteil werden.")
    elsewhere.section = "2 Kernergebnisse > 6. Exit-Strategie"
    grade = grade_answer(turn, _answer(f"- 5. {title} [1]", [elsewhere]), item_id="t1", lang="de")
    assert not grade.evidence_cited and not grade.correct
