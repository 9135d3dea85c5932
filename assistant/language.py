"""Language of a question: German or English, from function words (the answer follows it)."""

from __future__ import annotations

import re

_EN_WORDS = set(
    "the what which how is are does do can should about example examples phase phases criteria criterion "
    "who why when where there this that of for in to a an and with city cities municipality municipalities "
    "roadmap study please tell me give explain you we our i my it be have has was were will would could any from by "
    "at on or but not if than they their its into did".split()
)
_DE_WORDS = set(
    "der die das was wie welche welcher welches ist sind gibt es ein eine für in zu und mit kommune kommunen "
    "ich wir muss müssen soll sollte beispiel phase kriterien kriterium bedeutet heißt nicht auch dem den des "
    "von im bei auf wann warum wieso weshalb wer wo wem wen man einen einem einer eines sich oder aber wird werden "
    "wurde hat haben hatte kann können könnte sie er uns unser unsere unseren dass wenn als nach vor über unter "
    "durch ohne um noch schon nur welchen dieser diese dieses dabei dafür darf gut".split()
)


def detect_language(text: str) -> str:
    words = re.findall(r"[a-zäöüß]+", text.lower())
    en = sum(w in _EN_WORDS for w in words)
    de = sum(w in _DE_WORDS for w in words)
    if re.search(r"[äöüß]", text.lower()):
        de += 1
    return "en" if en > de else "de"
