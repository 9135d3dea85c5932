"""Chat: one user's conversation in the app — turns with their filters and feedback state.

Owns the starter questions, asking through the service with the sidebar filters (phase, source) –
at once or streamed when an LLM engine streams –, keeping the follow-up context (`Conversation`),
starting over, recording feedback for a turn and the Markdown and Word exports. The app keeps one `ChatSession` per browser session; nothing here imports
Streamlit.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterator

from assistant.conversation import Conversation
from assistant.corpus import Catalogue
from assistant.domain import phase_or_none
from assistant.export import ExportFormat, conversation_docx, conversation_markdown, export_filename
from assistant.feedback import FeedbackStore
from assistant.schema import Answer

STARTER_QUESTIONS = (
    "Worum geht es in der Roadmap?",
    "Was muss ich in der Pilotphase beachten?",
    "Zeig mir Beispiele für Betreibermodelle",
    "Welche Meilensteine hat die Ideenfindung?",
    "Was ist ein Proof of Value?",
    "Wie gelingt der Transfer in andere Kommunen?",
)

SOURCE_FILTERS = (None, "dossier", "catalogue")


@dataclass
class ChatTurn:
    id: str
    question: str
    answer: Answer
    phase_filter: str | None = None
    source_filter: str | None = None
    asked_at: datetime = field(default_factory=datetime.now)
    feedback_id: int | None = None
    rating: int | None = None
    comment: str | None = None

    @property
    def rateable(self) -> bool:
        """Invalid inputs get a hint, not an answer: nothing to rate."""
        return self.answer.error is None


class ChatSession:
    """Turns of one conversation plus the follow-up context the service needs."""

    def __init__(self) -> None:
        self.session_id = uuid.uuid4().hex  # anonymous; only links feedback rows of one conversation
        self.turns: list[ChatTurn] = []
        self.conversation = Conversation()

    def ask(self, service, question: str, phase: str | None = None, source: str | None = None) -> ChatTurn:
        """Ask through `AssistantService.ask`; `AssistantUnavailable` propagates to the caller."""
        phase = phase_or_none(phase)
        source = source if source in (*SOURCE_FILTERS, "user") else None
        answer = service.ask(question, phase=phase, source=source, conversation=self.conversation)
        turn = ChatTurn(
            id=uuid.uuid4().hex[:12],
            question=answer.question or str(question),
            answer=answer,
            phase_filter=phase,
            source_filter=source,
        )
        self.turns.append(turn)
        return turn

    def ask_stream(self, service, question: str, phase: str | None = None, source: str | None = None) -> Iterator[str]:
        """Yield the answer text as `AssistantService.ask_stream` streams it (LLM engine); the
        finished turn is appended when the stream ends. The streamed text is a preview: the
        final answer (validated, with citations) is `self.turns[-1].answer`."""
        phase = phase_or_none(phase)
        source = source if source in (*SOURCE_FILTERS, "user") else None
        answer: Answer | None = None
        for item in service.ask_stream(question, phase=phase, source=source, conversation=self.conversation):
            if isinstance(item, Answer):
                answer = item
            elif isinstance(item, str):
                yield item
        if answer is None:  # the service ended without an answer; treat like a failed call
            raise RuntimeError("ask_stream ended without an Answer")
        self.turns.append(
            ChatTurn(
                id=uuid.uuid4().hex[:12],
                question=answer.question or str(question),
                answer=answer,
                phase_filter=phase,
                source_filter=source,
            )
        )

    def reset(self) -> None:
        self.session_id = uuid.uuid4().hex
        self.turns.clear()
        self.conversation.clear()

    def turn(self, turn_id: str) -> ChatTurn | None:
        return next((t for t in self.turns if t.id == turn_id), None)

    def rate(self, store: FeedbackStore, turn_id: str, rating: int | None, comment: str | None = None) -> ChatTurn | None:
        """Store or change the feedback of a turn. A cleared rating keeps the stored row (nothing
        is deleted); a comment is attached to the turn's row."""
        turn = self.turn(turn_id)
        if turn is None or not turn.rateable:
            return None
        if rating is None and comment is None:
            return turn
        if turn.feedback_id is None:
            if rating is None:
                return turn  # a comment needs a rating first
            turn.feedback_id = store.record(turn.question, turn.answer, rating, comment, session_id=self.session_id)
        else:
            store.update(turn.feedback_id, rating=rating, comment=comment)
        if rating is not None:
            turn.rating = rating
        if comment is not None:
            turn.comment = comment
        return turn

    def export_markdown(self, catalogue: Catalogue | None = None, when: datetime | None = None) -> str:
        return conversation_markdown(self.turns, catalogue, exported_at=when)

    def export_docx(self, catalogue: Catalogue | None = None, when: datetime | None = None) -> bytes:
        """The same conversation as a Word document (same citations and sources)."""
        return conversation_docx(self.turns, catalogue, exported_at=when)

    @staticmethod
    def export_filename(when: datetime | None = None, fmt: ExportFormat = "md") -> str:
        return export_filename(when, fmt)
