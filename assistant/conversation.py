"""Conversation: keeps the turns of a chat and resolves elliptical follow-ups without an LLM.

"Und in P4?", "Gibt es dafür ein Beispiel?" or "Was heißt das für kleine Kommunen?" only make
sense with the previous turn: we carry its topic (question, phase, cited criteria) into the
retrieval query of the follow-up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from assistant.intent import detect_phase, strip_phase_words
from assistant.schema import Answer

_FOLLOW_UP_START = re.compile(
    r"^(und|aber|also|auch|dazu|dafür|hierzu|was heißt das|was bedeutet das|gibt es dafür|gibt es hierzu|"
    r"and|what about|how about|is there an example|any example)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(r"\b(dafür|dazu|hierzu|davon|damit|das|dies|diese[rsmn]?|es|it|this|that|there)\b", re.IGNORECASE)


@dataclass
class Turn:
    question: str
    query: str  # what was actually searched (the resolved topic)
    answer: Answer


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    _pending_query: str | None = None

    def is_follow_up(self, question: str) -> bool:
        if not self.turns:
            return False
        words = re.findall(r"\w+", question)
        return bool(_FOLLOW_UP_START.match(question.strip())) or (len(words) <= 7 and bool(_ANAPHORA.search(question)))

    def resolve(self, question: str) -> tuple[str, str | None]:
        """(query to search, phase carried from earlier turns or named in the follow-up)."""
        phase = detect_phase(question)
        if not self.is_follow_up(question):
            self._pending_query = question
            return question, phase
        previous = self.turns[-1]
        topic = strip_phase_words(previous.query) if phase else previous.query
        cited = [c.name for c in previous.answer.criteria[:2]]
        carried_phase = phase or (previous.answer.phases[0] if len(previous.answer.phases) == 1 else None)
        query = " ".join(x for x in (question, topic, *cited) if x)
        self._pending_query = query
        return query, carried_phase

    def add(self, question: str, answer: Answer) -> None:
        self.turns.append(Turn(question=question, query=self._pending_query or question, answer=answer))
        self._pending_query = None

    def clear(self) -> None:
        self.turns.clear()
        self._pending_query = None
