"""ChatSession: turns, filters, follow-up context, feedback and export — without Streamlit."""

from __future__ import annotations

import pytest

from assistant.chat import STARTER_QUESTIONS, ChatSession
from assistant.feedback import FeedbackStore
from assistant.schema import Answer, Citation


class FakeService:
    """Records calls; answers with one citation (the real service is covered in test_app)."""

    def __init__(self):
        self.calls = []

    def ask(self, question, *, phase=None, source=None, conversation=None, top_k=None):
        self.calls.append({"question": question, "phase": phase, "source": source, "conversation": conversation})
        if not str(question).strip():
            return Answer(question="", answer="Bitte geben Sie eine Frage ein.", abstained=True, error="invalid_question")
        citation = Citation(n=1, source="dossier", kind="passage", title="T", section="S", page=1, phase=phase, criteria=[], text="X.", score=1.0)
        answer = Answer(question=question, answer="X. [1]", abstained=False, citations=[citation])
        if conversation is not None:
            conversation.add(question, None, question, answer)
        return answer


@pytest.mark.unit
def test_starters_cover_the_issue_examples():
    for q in ("Worum geht es in der Roadmap?", "Was muss ich in der Pilotphase beachten?", "Zeig mir Beispiele für Betreibermodelle"):
        assert q in STARTER_QUESTIONS


@pytest.mark.unit
def test_ask_passes_filters_and_keeps_context():
    svc, chat = FakeService(), ChatSession()
    first = chat.ask(svc, "Was ist in P3 wichtig?", phase="P3", source="dossier")
    assert (first.phase_filter, first.source_filter) == ("P3", "dossier")
    assert svc.calls[0]["phase"] == "P3" and svc.calls[0]["source"] == "dossier"
    chat.ask(svc, "Und in P4?", phase="bogus", source="anything")
    assert svc.calls[1]["phase"] is None and svc.calls[1]["source"] is None
    assert svc.calls[1]["conversation"] is chat.conversation and len(chat.conversation.turns) == 2
    assert [t.question for t in chat.turns] == ["Was ist in P3 wichtig?", "Und in P4?"]
    assert len({t.id for t in chat.turns}) == 2


@pytest.mark.unit
def test_reset_starts_a_new_anonymous_session():
    svc, chat = FakeService(), ChatSession()
    chat.ask(svc, "Frage")
    old = chat.session_id
    chat.reset()
    assert chat.turns == [] and chat.conversation.turns == [] and chat.session_id != old


@pytest.mark.unit
def test_rate_records_once_then_updates(tmp_path):
    svc, chat = FakeService(), ChatSession()
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    turn = chat.ask(svc, "Frage")
    assert chat.rate(store, turn.id, None, comment="ohne Bewertung") is turn  # a comment needs a rating first
    assert store.count() == 0
    chat.rate(store, turn.id, 1)
    chat.rate(store, turn.id, None, comment="gut")
    chat.rate(store, turn.id, 0)
    assert store.count() == 1
    row = store.get(turn.feedback_id)
    assert (row.rating, row.comment, row.session_id) == (0, "gut", chat.session_id)
    assert (turn.rating, turn.comment) == (0, "gut")
    assert chat.rate(store, "unbekannt", 1) is None


@pytest.mark.unit
def test_invalid_input_is_not_rateable(tmp_path):
    svc, chat = FakeService(), ChatSession()
    turn = chat.ask(svc, "   ")
    assert not turn.rateable
    assert chat.rate(FeedbackStore(tmp_path / "fb.sqlite3"), turn.id, 1) is None


@pytest.mark.unit
def test_export_uses_the_turns():
    svc, chat = FakeService(), ChatSession()
    chat.ask(svc, "Frage eins")
    md = chat.export_markdown()
    assert "## Frage 1: Frage eins" in md and "- [1] T – S, S. 1" in md
    assert chat.export_filename().endswith(".md")


@pytest.mark.parametrize("phase", ["P1", "P5", "D", None])
def test_real_service_honours_the_phase_filter(service, phase):
    chat = ChatSession()
    turn = chat.ask(service, "Welche Rolle spielt die Finanzierung?", phase=phase)
    if phase:
        assert {c.phase for c in turn.answer.retrieved} == {phase}
    assert turn.answer.retrieved


class StreamingService(FakeService):
    streams = True

    def ask_stream(self, question, **kwargs):
        answer = self.ask(question, **kwargs)
        for piece in ("X", ". ", "[1]"):
            yield piece
        yield answer


@pytest.mark.unit
def test_ask_stream_yields_text_then_stores_the_turn():
    svc, chat = StreamingService(), ChatSession()
    stream = chat.ask_stream(svc, "Frage", phase="P2", source="bogus")
    assert next(stream) == "X"
    assert chat.turns == []  # the turn exists only once the answer is complete
    assert list(stream) == [". ", "[1]"]
    turn = chat.turns[-1]
    assert turn.answer.answer == "X. [1]" and turn.phase_filter == "P2" and turn.source_filter is None
    assert svc.calls[0]["conversation"] is chat.conversation


@pytest.mark.unit
def test_ask_stream_without_final_answer_fails_loudly():
    class Broken(StreamingService):
        def ask_stream(self, question, **kwargs):
            yield "halb"

    chat = ChatSession()
    with pytest.raises(RuntimeError):
        list(chat.ask_stream(Broken(), "Frage"))
    assert chat.turns == []
