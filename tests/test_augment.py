"""`assistant add --questions`: questions for the city's own documents, made by the configured
language model (here a scripted OpenAI-compatible server over real HTTP), stored verbatim-checked
and used by the next index build."""

from __future__ import annotations

import json

import pytest

from assistant import augment, cli
from assistant.chunking import chunk_sentences
from assistant.index import open_index
from assistant.service import AssistantService
from assistant.userdocs import chunks_for_file, list_files
from tests.conftest import make_settings
from tests.fake_llm import FakeLLM
from tests.test_index import clone_index
from tests.test_userdocs import _cli_env, _write

DOC = "Die Quartierslotsen von Lotsenhausen beraten ältere Menschen zu digitalen Angeboten. Der Gemeinderat stellt dafür 120.000 Euro pro Jahr bereit.\n"


@pytest.mark.unit
def test_only_questions_with_existing_sentences_are_kept():
    sentences = ["Satz eins ist hier.", "Satz zwei ist dort."]
    reply = '{"frage": "Was steht im zweiten Satz?", "saetze": [2]}\nKein JSON\n{"frage": "Und im fünften?", "saetze": [5]}\n{"question": "What is in the first?", "sentences": [1]}'
    kept = augment.parse_reply(reply, sentences)
    assert [q.text for q in kept] == ["Was steht im zweiten Satz?", "What is in the first?"]
    assert kept[0].answer == ["Satz zwei ist dort."] and kept[1].lang == "en" and kept[1].style == "english"


@pytest.mark.unit
def test_questions_without_a_language_model_are_refused_before_anything_changes(tmp_path, monkeypatch, capsys):
    settings = make_settings(tmp_path)
    _cli_env(monkeypatch, settings)
    monkeypatch.setenv("ASSISTANT_LLM", "none")
    doc = _write(tmp_path / "quartierslotsen.md", DOC)
    assert cli.main(["add", str(doc), "--questions"]) == cli.EXIT_INPUT
    assert "ASSISTANT_LLM" in capsys.readouterr().err
    assert not list_files(settings)


def test_generated_questions_are_stored_and_indexed(settings, built_index, tmp_path, monkeypatch, capsys, netns):
    local = clone_index(settings, tmp_path / "clone")
    _cli_env(monkeypatch, local)
    doc = _write(tmp_path / "quartierslotsen.md", DOC)
    with FakeLLM() as fake:
        monkeypatch.setenv("ASSISTANT_LLM", "openai-compatible")
        monkeypatch.setenv("ASSISTANT_LLM_BASE_URL", fake.url)
        monkeypatch.setenv("ASSISTANT_LLM_MODEL", "questions")
        assert cli.main(["add", str(doc), "--questions"]) == cli.EXIT_OK, capsys.readouterr().err
        assert fake.requests, "the model was never asked"
    out = capsys.readouterr().out
    assert "Fragen erzeugt: 2" in out and "Index gebaut" in out

    # stored: two questions, each answer verbatim in the passage its anchor names
    lines = [json.loads(line) for line in augment.questions_file(local, doc.name).read_text(encoding="utf-8").splitlines()]
    (chunk,) = chunks_for_file(local.user_dir / doc.name, local_catalogue(local))
    assert [g["anchor"]["document"] for g in lines] == [doc.name]
    questions = lines[0]["questions"]
    assert len(questions) == 2 and all(s in chunk_sentences(chunk) for q in questions for s in q["answer"])

    # indexed: the user passage owns the questions; a paraphrase of one finds that passage
    index = open_index(local)
    user_ids = {c.id for c in index.chunks.values() if c.source == "user"}
    owned = [text for owner, text in zip(index.query_owner, index.query_texts) if owner in user_ids]
    assert sorted(owned) == sorted(q["text"] for q in questions)
    answer = AssistantService(local).ask("Wie viel Geld bekommen die Quartierslotsen jedes Jahr?")
    assert not answer.abstained and "120.000 Euro" in answer.answer
    assert any(c.source == "user" and c.file == doc.name for c in answer.citations)

    # removing the document removes its questions
    assert cli.main(["remove", doc.name]) == cli.EXIT_OK
    assert not augment.questions_file(local, doc.name).exists()


def local_catalogue(settings):
    from assistant.corpus import Catalogue

    return Catalogue.load(settings.catalogue_path)
