"""Casing: German questions typed all in lower case get their nouns capitalised back.

Much of the question reading leans on German capitalisation: the nouns a question asks about
(`lexicon.capitalised_words`), the refusal's test whether the sources use them, and the embedding
model, which reads "verstetigungsphase" less well than "Verstetigungsphase". People type fast, and
"was muss ich in der verstetigungsphase alles auf dem schirm haben?" arrives without a capital.

The casing of a word is learned from the sources themselves: a word the sources write capitalised
(away from a sentence start) at least `Settings.truecase_min_share` of the time is a noun there.
A compound the sources never use takes the casing of its longest known tail ("spielplatz-app" →
"Spielplatz-App", "bürgerapp" → "Bürgerapp"). Words the sources never use stay as typed. Only a
question with no capital letter past its sentence openings is recased: a question typed with
capitals keeps the user's casing.
"""

from __future__ import annotations

import re
from collections import Counter

from assistant.frames.lexicon import LETTERS

_SENTENCE_OPENING = re.compile(r"(?:^|[.!?:]\s+)[\W\d_]*(\w)")


class Truecaser:
    """Capitalises, in a lower-case German question, the words the sources write as nouns."""

    def __init__(self, texts: list[str], min_share: float, min_tail: int):
        upper: Counter[str] = Counter()
        lower: Counter[str] = Counter()
        for text in texts:
            openings = {m.start(1) for m in _SENTENCE_OPENING.finditer(text)}
            for m in LETTERS.finditer(text):
                if m.start() in openings:
                    continue  # capitalised by position, not by kind
                word = m.group(0)
                (upper if word[0].isupper() else lower)[word.lower()] += 1
        self.nouns = {w for w, n in upper.items() if len(w) >= 2 and n >= min_share * (n + lower[w])}
        self.min_tail = min_tail

    def recased(self, text: str, lang: str) -> str:
        """The question with its nouns capitalised, when it was typed without capitals (German only)."""
        if lang != "de" or not self.nouns or not _typed_lower(text):
            return text
        return LETTERS.sub(lambda m: self._word(m.group(0)) if m.start() > 0 else m.group(0), text)

    def _word(self, word: str) -> str:
        lower = word.lower()
        if lower in self.nouns or self._known_tail(lower):
            return word[:1].upper() + word[1:]
        return word

    def _known_tail(self, word: str) -> bool:
        """A compound whose tail (at least `min_tail` letters, after a head of 3) is a noun of the sources."""
        return any(word[i:] in self.nouns for i in range(3, len(word) - self.min_tail + 1))


def _typed_lower(text: str) -> bool:
    """No capital letter except at the opening of a sentence."""
    openings = {m.start(1) for m in _SENTENCE_OPENING.finditer(text)}
    return not any(ch.isupper() and i not in openings for i, ch in enumerate(text))

