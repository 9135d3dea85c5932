"""Spelling: typing slips in a question are repaired towards words the sources use.

"kennst du ein beispeil …" misses the example cue, the lexicon and the stored questions, though
every reader sees "Beispiel". A word of the question the sources never use is replaced by a source
word one slip away, when exactly one such word is the most frequent. Only slips that rarely turn
one real word into another count: two neighbouring letters swapped ("beispeil"), and in words of at
least `Settings.spelling_min_letters_indel` letters of a German question one letter missing or
doubled inside the word ("Kritrien", "Pillotphase"; the ending is inflection). A changed letter ("Wetter" → "weiter") is never a slip here: it too often makes a
different word.
"""

from __future__ import annotations

from collections import Counter

from assistant.frames.lexicon import LETTERS

_LETTERS = "abcdefghijklmnopqrstuvwxyzäöüß"


class SpellingRepair:
    """Repairs swapped, missing and doubled letters towards the words of the sources."""

    def __init__(self, texts: list[str], min_letters: int, min_letters_indel: int, min_count: int):
        self.counts: Counter[str] = Counter(m.group(0).lower() for text in texts for m in LETTERS.finditer(text))
        self.min_letters = min_letters
        self.min_letters_indel = min_letters_indel
        self.min_count = min_count

    def repaired(self, text: str, lang: str) -> str:
        """The text with each repairable slip replaced (the typed first letter's case kept). Missing
        and doubled letters only in German: an English word one letter from a German one of the
        sources ("platform", "Plattform") is no slip."""
        return LETTERS.sub(lambda m: self._word(m.group(0), lang == "de"), text)

    def _word(self, word: str, indel: bool) -> str:
        lower = word.lower()
        if len(lower) < self.min_letters or lower in self.counts:
            return word
        candidates = Counter({c: self.counts[c] for c in self._slips(lower, indel) if self.counts[c] >= self.min_count})
        best = candidates.most_common(2)
        if not best or len(best) == 2 and best[0][1] == best[1][1]:
            return word  # no source word one slip away, or no clear one
        fixed = best[0][0]
        return fixed[:1].upper() + fixed[1:] if word[:1].isupper() else fixed

    def _slips(self, word: str, indel: bool) -> set[str]:
        out = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
        if indel and len(word) >= self.min_letters_indel:
            # not in the last two letters: there German inflects ("Varianten", "Gemeinden"), it does not slip
            inner = range(1, len(word) - 2)
            out |= {word[:i] + word[i + 1 :] for i in inner}  # a letter too many
            out |= {word[:i] + ch + word[i:] for i in inner for ch in _LETTERS}  # a letter missing
        out.discard(word)
        return out
