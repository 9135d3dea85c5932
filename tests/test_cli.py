"""The CLI contract as outside tools use it: real subprocesses (each in a loopback-only network
namespace), real model and index."""

from __future__ import annotations

import json
import os
import sys

import pytest

from tests.conftest import ROOT, offline_namespace

CITATION_KEYS = {"n", "source", "kind", "title", "section", "page", "phase", "criteria", "text", "score"}
ANSWER_KEYS = {"id", "question", "answer", "abstained", "phases", "criteria", "citations", "retrieved", "timings_ms"}


def run_cli(settings, *args, stdin: str | None = None, extra_env: dict | None = None):
    env = dict(os.environ)
    env.update(
        ASSISTANT_INDEX_DIR=str(settings.index_dir),
        ASSISTANT_CORPUS_DIR=str(settings.corpus_dir),
        ASSISTANT_USER_DOCS_DIR=str(settings.user_docs_dir),
        HF_HUB_OFFLINE="1",
    )
    env.update(extra_env or {})
    ns = offline_namespace()
    try:
        proc = ns.run(
            [sys.executable, "-m", "assistant", *args],
            cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=600,
        )
        ns.assert_offline(f"assistant {' '.join(args)[:80]}")
    finally:
        ns.close()
    return proc


def check_contract(obj: dict):
    assert ANSWER_KEYS <= set(obj)
    assert isinstance(obj["answer"], str) and isinstance(obj["abstained"], bool)
    assert all(p in ("P1", "P2", "P3", "P4", "P5", "D") for p in obj["phases"])
    for ref in obj["criteria"]:
        assert set(ref) >= {"id", "name", "phase"}
    for cit in obj["citations"] + obj["retrieved"]:
        assert CITATION_KEYS <= set(cit)
        assert cit["source"] in ("dossier", "catalogue", "user")
        assert cit["page"] is None or isinstance(cit["page"], int)
    assert [c["n"] for c in obj["citations"]] == list(range(1, len(obj["citations"]) + 1))
    assert set(obj["timings_ms"]) >= {"retrieve", "answer", "total"}


def test_ask_json_masterportal(settings, built_index):
    proc = run_cli(settings, "ask", "Was ist das Masterportal und in welcher Phase wird es als Beispiel genannt?", "--json")
    assert proc.returncode == 0, proc.stderr
    obj = json.loads(proc.stdout)
    check_contract(obj)
    assert not obj["abstained"]
    assert "P2" in obj["phases"]
    master = [c for c in obj["citations"] if "das Masterportal, eine Open-Source-Software" in c["text"]]
    assert master and master[0]["phase"] == "P2" and master[0]["page"] == 21
    assert f"[{master[0]['n']}]" in obj["answer"]
    # every marker in the answer points at a citation
    import re

    markers = {int(m) for m in re.findall(r"\[(\d+)\]", obj["answer"])}
    assert markers and markers <= {c["n"] for c in obj["citations"]}


def test_ask_plain_text_is_german_with_citations(settings, built_index):
    proc = run_cli(settings, "ask", "Was muss ich in der Pilotphase beachten?")
    assert proc.returncode == 0, proc.stderr
    assert "[1]" in proc.stdout and "Phase: P3 – Pilotphase" in proc.stdout and "Quellen:" in proc.stdout


def test_ask_jsonl_keeps_order_and_ids(settings, built_index, tmp_path):
    lines = [
        {"id": "a", "question": "Was ist ein Minimum Viable Product?"},
        {"id": 7, "question": "Wer hat die Fußball-WM 2014 gewonnen?"},
        "kein json",
        {"id": "c", "question": "   "},
    ]
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(l if isinstance(l, str) else json.dumps(l, ensure_ascii=False) for l in lines), encoding="utf-8")
    proc = run_cli(settings, "ask", "--jsonl", str(path), "--top-k", "3")
    out = [json.loads(l) for l in proc.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a", 7, None, "c"]
    check_contract(out[0])
    assert len(out[0]["retrieved"]) == 3 and not out[0]["abstained"]
    assert out[1]["abstained"] is True
    assert "error" in out[2]
    assert out[3]["abstained"] is True and out[3]["error"] == "invalid_question"


@pytest.mark.parametrize("question", ["", "   ", "\x01\x02\x1b[31m\x7f"])  # argv cannot carry NUL; the jsonl and API tests do
@pytest.mark.unit
def test_bad_input_json_stays_valid(settings, question):
    proc = run_cli(settings, "ask", question, "--json")
    assert proc.returncode == 2
    obj = json.loads(proc.stdout)
    assert obj["abstained"] is True and "Frage" in obj["answer"]
    assert "Traceback" not in proc.stderr


def test_overlong_question_is_trimmed_with_notice(service):
    answer = service.ask("Was ist das Masterportal? " + "bitte " * 1000)
    assert answer.notice and "gekürzt" in answer.notice
    assert len(answer.question) <= 2000


@pytest.mark.unit
def test_missing_index_message(settings, tmp_path):
    proc = run_cli(settings, "ask", "Was ist das Masterportal?", "--json", extra_env={"ASSISTANT_INDEX_DIR": str(tmp_path / "none")})
    assert proc.returncode == 3
    assert "assistant build-index" in proc.stderr and "Traceback" not in proc.stderr
    assert "error" in json.loads(proc.stdout)


def test_status_and_criteria(settings, built_index):
    proc = run_cli(settings, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["index_ok"] and status["model_ok"]
    assert status["catalogue_criteria"] == 48 and status["study_criteria"] == 76
    proc = run_cli(settings, "criteria", "--phase", "P3", "--json")
    rows = json.loads(proc.stdout)
    assert rows and all("P3" in r["phases"] for r in rows)
    assert any(r["id"] == "K18" for r in rows)
    proc = run_cli(settings, "criteria", "--driver", "T2")
    assert "K01" in proc.stdout and "48 der 76" in proc.stdout


def test_ask_jsonl_applies_the_source_filter_to_every_line(settings, built_index, tmp_path):
    path = tmp_path / "q.jsonl"
    questions = ["Was ist ein Minimum Viable Product?", "Was bedeutet Proof of Concept?"]
    path.write_text("\n".join(json.dumps({"id": i, "question": q}, ensure_ascii=False) for i, q in enumerate(questions)), encoding="utf-8")
    proc = run_cli(settings, "ask", "--jsonl", str(path), "--source", "catalogue")
    out = [json.loads(l) for l in proc.stdout.splitlines()]
    assert len(out) == 2
    for answer in out:
        assert answer["retrieved"] and {r["source"] for r in answer["retrieved"]} == {"catalogue"}
