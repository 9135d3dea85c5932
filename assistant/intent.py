"""Intent: deterministic reading of a question — its language, the phase it names, and what kind
of answer it wants (definition, phase overview, criterion, good practice, driver, operator model,
general) or whether it must be refused outright (instructions, configuration, secrets)."""

from __future__ import annotations

import re

PHASE_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("P1", re.compile(r"\bP\s?1\b|ideenfindung|ideenphase|idea(tion)? phase|konzeptionsphase", re.I)),
    ("P2", re.compile(r"\bP\s?2\b|prototyp|\bmvp\b|minimum viable|prototyp(e|ing)", re.I)),
    ("P3", re.compile(r"\bP\s?3\b|pilotphase|pilotprojekt|\bpilot(ing)?\b|pilot phase", re.I)),
    ("P4", re.compile(r"\bP\s?4\b|verstetigung|vertikale[nr]? skalierung|vertical scaling|consolidation", re.I)),
    ("P5", re.compile(r"\bP\s?5\b|transferphase|horizontale[nr]? skalierung|horizontal scaling|transfer phase", re.I)),
    ("D", re.compile(
        r"durchgehend|durchgängig|phasenübergreifend|(über|durch|in|für) alle\w* (entwicklungs)?phasen|"
        r"(across|throughout|in) (all|every) (the )?(development )?phases|cross-phase|throughout", re.I)),
]

_EN_WORDS = set(
    "the what which how is are does do can should about example examples phase phases criteria criterion "
    "who why when where there this that of for in to a an and with city cities municipality municipalities "
    "roadmap study please tell me give explain".split()
)
_DE_WORDS = set(
    "der die das was wie welche welcher welches ist sind gibt es ein eine für in zu und mit kommune kommunen "
    "ich wir muss müssen soll sollte beispiel phase kriterien kriterium bedeutet heißt nicht auch dem den des "
    "von im bei auf".split()
)


def detect_language(text: str) -> str:
    words = re.findall(r"[a-zäöüß]+", text.lower())
    en = sum(w in _EN_WORDS for w in words)
    de = sum(w in _DE_WORDS for w in words)
    if re.search(r"[äöüß]", text.lower()):
        de += 1
    return "en" if en > de else "de"


def detect_phase(text: str) -> str | None:
    found = [pid for pid, pattern in PHASE_PATTERNS if pattern.search(text)]
    return found[0] if len(found) == 1 else (found[0] if found and found[0] != "D" else None)


def strip_phase_words(text: str) -> str:
    for _, pattern in PHASE_PATTERNS:
        text = pattern.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


# Requests that try to change the assistant's behaviour or read its configuration. These are
# refused whatever the retrieval finds (the sources never answer them).
_MANIPULATION = re.compile(
    r"(ignor\w*|vergiss|forget|disregard|missachte)\b.{0,40}\b(anweisung|instruktion|instruction|regel|rule|prompt|vorgabe)"
    r"|system\s?-?prompt|systemnachricht|system message|developer message|entwickler-?nachricht"
    r"|(zeig|gib|nenn|verrat|print|show|reveal|list|dump|output)\w*\b.{0,40}\b(prompt|konfiguration|configuration|einstellungen|settings|"
    r"umgebungsvariable\w*|environment|env\b|api[- ]?key|schlüssel|passw\w*|password|secret|token|credentials)"
    r"|umgebungsvariablen|environment variables|\bapi[- ]?key|jailbreak|\bDAN\b|du bist jetzt|you are now|act as|tu so als",
    re.IGNORECASE,
)


def is_manipulation(text: str) -> bool:
    return bool(_MANIPULATION.search(text))


INTENTS = ("key_findings", "phase", "criteria_list", "driver", "good_practice", "operator_model", "criterion", "definition", "general")

_LIST = r"(welche|alle|liste|list|which|what are|nenne|nennen|überblick|übersicht|aufzählen)"


def detect_intent(text: str) -> str:
    t = text.lower()
    if re.search(r"(kernergebnis|key findings?|main findings|zentralen? ergebnisse|wichtigsten ergebnisse|ergebnisse der studie)", t):
        return "key_findings"
    names_criterion = re.search(r"(kriterium\b|criterion\b|das kriterium|dem kriterium)", t)
    if re.search(r"(skalierungstreiber|\btreiber|scaling driver|\bdrivers?\b)", t):
        # "Welchem Treiber ist das Kriterium X zugeordnet?" asks about one criterion
        return "criterion" if names_criterion else "driver"
    if re.search(r"(beispiel|good practice|best practice|praxisbeispiel|example|vorbild|wer hat|welche stadt|welche kommune)", t):
        return "good_practice"
    if re.search(r"(betreibermodell|betreiber\b|betreiber[ -]|operator|operating model|betrieb\w* durch)", t):
        return "operator_model"
    if re.search(_LIST + r".{0,40}(kriterien|criteria|meilenstein|milestone)", t) or re.search(r"(meilenstein|milestone)", t):
        return "criteria_list"
    if detect_phase(text) and re.search(
        r"(wichtig|beachten|worum|passiert|geht es|ziel|aufgabe|tun|schritte|important|happen|about|focus|überblick|was muss|what should|what do)", t
    ):
        return "phase"
    if re.search(r"(kriterium|criterion|erfolgskriterium)", t):
        return "criterion"
    if re.search(r"^(was ist|was sind|was bedeutet|was heißt|was versteht man|definition|define|what is|what are|what does|erkläre|explain)", t.strip()):
        return "definition"
    return "general"
