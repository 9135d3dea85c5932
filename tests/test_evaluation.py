"""Evaluation: the hit rule and metrics on hand-made examples, then the quality floors of issues #3
and #4 measured on the `test` split with the real model and index (evaluated once per module)."""

from __future__ import annotations

import argparse
import json

import pytest

from assistant.evaluation import (
    EvalItem,
    build_report,
    evaluate,
    evidence_matches,
    first_hit_rank,
    load_testset,
    ndcg,
    passage_matches,
    render_markdown,
    run_cli,
    score_answer,
    split_items,
    write_outputs,
)
from assistant.schema import Answer, Citation, Timings

PASSAGE = (
    "In der Pilotphase wird der Prototyp\nzu einem reiferen   Pilotprojekt weiterentwickelt, "
    "das eine größere Nutzergruppe erprobt."
)


# -- hit rule -------------------------------------------------------------------------------------


def test_text_evidence_ignores_case_and_whitespace():
    assert evidence_matches("der Prototyp zu einem reiferen Pilotprojekt", PASSAGE)
    assert evidence_matches("DER PROTOTYP ZU EINEM REIFEREN  PILOTPROJEKT", PASSAGE)
    assert evidence_matches("reiferen Pilotprojekt weiterentwickelt, das", PASSAGE)


def test_text_evidence_must_occur_completely():
    assert not evidence_matches("der Prototyp zu einem reifen Pilotprojekt", PASSAGE)  # one letter differs
    assert not evidence_matches("Nutzergruppe erprobt. In der nächsten Phase", PASSAGE)  # runs past the end
    assert not evidence_matches("Pilotprojekt-weiterentwickelt", PASSAGE)  # hyphen is not whitespace
    assert not evidence_matches("", PASSAGE)


def test_catalogue_evidence_needs_the_entry_itself():
    assert evidence_matches("K14", "Kriterium K14: Standardisierung …", "K14")
    assert evidence_matches("GP03", "irrelevant text", "GP03")
    assert evidence_matches("D", "Phase D", "D")
    # a passage that merely names the id, or a different entry, is no hit
    assert not evidence_matches("K14", "siehe Kriterium K14", None)
    assert not evidence_matches("K14", "Kriterium K14", "K41")
    assert not evidence_matches("P3", "Good Practice GP03", "GP03")
    assert not evidence_matches("T2", "Treiber T2", "K02")


def test_any_evidence_item_makes_a_passage_a_hit():
    evidence = ["gibt es nicht im Text", "K25"]
    assert passage_matches(evidence, "Kriterium K25: Exit-Strategie", "K25")
    assert not passage_matches(evidence, "Kriterium K25: Exit-Strategie", "K24")


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
    assert result.phase_correct is True
    assert result.answer_terms_found == ["Pilotprojekt", "Nutzergruppe"]  # Nutzergruppe is in the cited text
    assert result.answer_term_coverage == pytest.approx(2 / 3, abs=1e-4)

    # the evidence only in the "Mehr dazu" line: a citation hit, but not a strict one
    answer.citations = [_citation(1, "Einleitung"), _citation(2, PASSAGE)]
    answer.phases = ["P2"]
    result = score_answer(_item(), answer, k=10)
    assert result.citation_hit and not result.citation_hit_strict
    assert result.phase_correct is False
    # cut at k
    assert score_answer(_item(), answer, k=1).first_hit_rank is None


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
    assert all(len(r.retrieved) == 10 for r in test_report.results)
    assert all(r.relevant_in_index >= 1 and not r.unreachable_evidence for r in test_report.results if r.answerable)
    assert test_report.latency.retrieve_p50_ms > 0
    paths = write_outputs(test_report, tmp_path)
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["split"] == "test" and len(data["results"]) == len(items)
    assert paths["chart"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    markdown = paths["md"].read_text(encoding="utf-8")
    assert "Recall@5" in markdown or "R@5" in markdown
    for miss in test_report.misses:
        assert miss.id in markdown


def test_cli_reports_missing_index_with_exit_3(settings, embedder, tmp_path, capsys):
    from assistant.service import AssistantService

    empty = settings.model_copy(update={"index_dir": tmp_path / "index"})  # no index built here
    service = AssistantService(empty)
    service._embedder = embedder  # share the loaded model
    args = argparse.Namespace(split="test", k=10, out=str(tmp_path / "out"), testset=None)
    assert run_cli(args, empty, service=service) == 3
    err = capsys.readouterr().err
    assert ".venv/bin/python -m assistant build-index" in err
    assert not (tmp_path / "out").exists()


def test_cli_rejects_a_broken_testset(settings, tmp_path, capsys):
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "q001"}\n', encoding="utf-8")
    args = argparse.Namespace(split="test", k=10, out=str(tmp_path / "out"), testset=str(broken))
    assert run_cli(args, settings) == 2
    assert "Zeile 1" in capsys.readouterr().err
