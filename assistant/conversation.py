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
    r"and|what about|how about)\b",
    re.IGNORECASE,
)
_POINTER = re.compile(r"\b(dafür|dazu|hierzu|davon|damit|dabei|darin|darüber|daran|dies|diese[rsmn]?|it|this|these|that)\b", re.IGNORECASE)
# "das" and "es" point back only when they stand alone: before a capitalised word "das" is the
# article of a topic the question names itself ("das Glossar"). No IGNORECASE on the look-ahead.
_PRONOUN = re.compile(r"(?i:\b(das|es)\b)(?!\s+[A-ZÄÖÜ])")
# Expletive "es"/"there" carries no reference: "Gibt es ein Beispiel für …?", "Is there …?"
_EXPLETIVE = re.compile(r"\b(gibt|geht|steht|gab) es\b|\b(is|are) there\b", re.IGNORECASE)
_NO_TOPIC_WORDS = frozenset(
    "gibt es ein eine einen beispiel beispiele noch mehr genauer details dazu bitte und auch was "
    "wie ist sind is are there an a any example examples more please what about how".split()
)


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
        """Elliptical questions only: a follow-up marker at the start, a short question that points
        back, or one without a topic of its own ("Gibt es ein Beispiel?"). Only an answered turn
        can lend its topic: after a refusal the next question stands on its own."""
        if not self.turns or self.turns[-1].answer.abstained:
            return False
        text = question.strip()
        if _FOLLOW_UP_START.match(text):
            return True
        words = re.findall(r"\w+", text)
        if not any(w.lower() not in _NO_TOPIC_WORDS for w in words):
            return True
        unreferenced = _EXPLETIVE.sub(" ", text)
        return len(words) <= 7 and bool(_POINTER.search(unreferenced) or _PRONOUN.search(unreferenced))

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

    def treat_as_new_topic(self, question: str) -> None:
        """The carried topic led nowhere: the turn is recorded as a question of its own."""
        self._pending_query = question

    def add(self, question: str, answer: Answer) -> None:
        self.turns.append(Turn(question=question, query=self._pending_query or question, answer=answer))
        self._pending_query = None

    def clear(self) -> None:
        self.turns.clear()
        self._pending_query = None
