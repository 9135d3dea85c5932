"""Refusal: when the sources are silent, say so — and never refuse a question they cover.

Manipulation attempts (instructions to ignore rules, requests for prompts, settings, keys) are
refused whatever the retrieval finds. Otherwise the decision uses retrieval evidence (the cosine of
the question to its best passage or sentence, plus its cosine to the closest stored question of any
passage) and the frame: questions that name something of the study (a phase, criterion, term …) need
less evidence than those that name nothing. Questions the catalogue answers by its data (lists and
counts of criteria, phases, drivers …), questions about the study itself, onboarding questions,
bare follow-ups of an answered turn, German follow-ups that point back without a noun of their
own ("Wer hat die entwickelt?"), phase questions that name one phase and nothing else, and how-to
questions that a catalogue criterion matches well (answer/criteria_match.py) are always in scope.
A question that names something the sources never mention (a capitalised word outside their
vocabulary: another city's strategy, a product, a different study) needs more evidence. The
thresholds are calibrated on the dev splits and on helper-written probe and out-of-scope sets,
never on test (docs/benchmarks.md, refusal calibration and tuning log).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from assistant.answer.criteria_match import criterion_scores
from assistant.answer.findings import numbered_key_finding
from assistant.answer.texts import refusal_text
from assistant.domain import Operation
from assistant.frames import Frame, points_back
from assistant.frames.frame import asks_how_to, ordinal_reference
from assistant.frames.lexicon import WHEN_NOUNS, capitalised_words, fold_text, own_names, stem, tokens, without_placeholder
from assistant.retrieval.query import english_terms, everyday_terms, german_for
from assistant.schema import Answer, Passage

_MANIPULATION = re.compile(
    r"(ignor\w*|vergiss|forget|disregard|missachte)\b.{0,40}\b(anweisung|instruktion|instruction|regel|rule|prompt|vorgabe)"
    r"|system\s?-?prompt|systemnachricht|system message|developer message|entwickler-?nachricht|developer mode|entwicklermodus"
    r"|(zeig|gib|nenn|verrat|print|show|reveal|list|dump|output)\w*\b.{0,40}\b(prompt|konfiguration|configuration|einstellungen|settings|"
    r"umgebungsvariable\w*|environment|env\b|api[- ]?key|schlüssel|passw\w*|password|secret|token|credentials)"
    r"|umgebungsvariablen|environment variables|\bapi[- ]?key|jailbreak|\bDAN\b|du bist (jetzt|ab sofort|nun|ab jetzt)"
    r"|ab sofort bist du|you are now|from now on you|act as|tu so als|pretend (to be|you)",
    re.IGNORECASE,
)


def is_manipulation(text: str) -> bool:
    return bool(_MANIPULATION.search(text))


def refusal_answer(question: str, lang: str, catalogue=None, intent: str = "refused") -> Answer:
    return Answer(question=question, answer=refusal_text(lang), abstained=True, intent=intent, lang=lang)


def _best_passage_and_sentence(vector: np.ndarray, passages: list[Passage], index) -> tuple[float, float]:
    best_passage = max((float(index.vectors[p.chunk.id] @ vector) for p in passages if p.chunk.id in index.vectors), default=0.0)
    best_sentence = 0.0
    for p in passages:
        for _, v in index.sentences.get(p.chunk.id, []):
            best_sentence = max(best_sentence, float(v @ vector))
    return best_passage, best_sentence


def evidence(vector: np.ndarray, passages: list[Passage], index) -> tuple[float, float, float]:
    """(best passage cosine, best sentence cosine) among the retrieved passages, and the cosine of
    the closest stored question of any passage (corpus/questions)."""
    best_passage, best_sentence = _best_passage_and_sentence(vector, passages, index)
    _, questions = index.passage_questions
    best_question = float((questions @ vector).max()) if len(questions) else 0.0
    return best_passage, best_sentence, best_question


# "Was sagt die Studie zu …?", "Was steht im Dossier über …?", "What does the roadmap say about …?"
_WHAT_SOURCES_SAY = re.compile(
    r"\b(was|wie) (sagt|sagen|steht|schreibt|schreiben|meint|sieht)\b.{0,25}\b(studie|dossier|roadmap|katalog|autor\w*)\b"
    r"|\bwhat (does|do) (the )?(study|dossier|roadmap|catalogue|authors?) (say|write)\b"
)
_HYPHENATED = re.compile(r"\w+(?:-\w+)+")
_QUOTED = re.compile(r"['\"„“”‚‘’«»]([^'\"„“”‚‘’«»]{3,60})['\"„“”‚‘’«»]")
_COMMON_NOUN = re.compile(r"(ung|ungen|heit|keit|schaft|tion|tionen|itat|glieder|nisse?|ismus|ierung|ende|enden|ment|ments|er|ern)$")


# A possessive before a word: the asker names their own project ("unsere Parkplatz-App").


@dataclass(frozen=True)
class _AskedAbout:
    """What a "what does the study say about …" question asks about: its words, the clause's
    language, and the words after the clause (empty when none of the topic follows it)."""

    words: list[str]
    lang: str
    after_clause: set[str]


class Vocabulary:
    """The words of the sources (dossier and catalogue), to notice names the sources never use."""

    def __init__(self, texts: list[str], known_forms: list[str] = (), compound_tails: bool = False, own_names_known: bool = False):
        self.compound_tails = compound_tails
        self.own_names_known = own_names_known
        # the lexicon's surface forms count as known words too ("PoV" names Proof of Value, though
        # the sources never abbreviate it); they are no passages (passages_with counts sources only)
        self.words = {t for text in [*texts, *known_forms] for t in tokens(text)}
        self.stems = {stem(w) for w in self.words}
        # in how many source passages each word stem occurs
        self.passages_with: Counter[str] = Counter(s for text in texts for s in {stem(t) for t in tokens(text)})
        self._folded_texts = [fold_text(text) for text in texts]
        self._prefixes = {w[:5] for w in self.words if len(w) >= 5}
        # word ends of at least five letters ("beschluss" in "grundsatzbeschluss"): a compound's tail
        # may be the tail of a source word rather than a word of its own
        self._tails = {w[i:] for w in self.words for i in range(1, len(w) - 4)}

    def knows(self, word: str) -> bool:
        if stem(word) in self.stems:
            return True
        prefix = word[: max(5, len(word) - 3)]
        if len(prefix) == 5 and prefix in self._prefixes or any(w.startswith(prefix) for w in self.words if len(prefix) > 5 and w[:5] == prefix[:5]):
            return True
        for i in range(4, len(word) - 3):  # compounds: "Softwareanbieter" = "software" + "anbieter"
            head, tail = word[:i], word[i:]
            for h in (head, head[:-1] if head.endswith("s") else None):
                if h and len(h) >= 4 and stem(h) in self.stems and (stem(tail) in self.stems or self.compound_tails and stem(tail) in self._tails):
                    return True  # ("Ratsbeschlüsse" = "rat" + the end of "Grundsatzbeschluss")
        return False

    def supports(self, question: str, topic: list[str], lang: str, min_passages: int) -> bool:
        """Do the sources use every word the question asks about, each in at least `min_passages`
        passages ("Wie binde ich die Bürgerinnen und Bürger ein?")? In German these are its nouns
        (capitalised, not the first word: verbs are inflected and split, "binde … ein"); in English
        its topic words."""
        if lang == "de":
            # time nouns ("nächstes Jahr", "im Sommer") narrow no topic; nor does the unknown name
            # of the asker's own project ("unsere Mängelmelder-App": "Mängelmelder")
            # (unless nothing else is left: "am Anfang" may be what it asks about)
            own = {fold_text(part) for name in own_names(question) for part in name.split("-")} if self.own_names_known else set()
            nouns = [fold_text(w) for w in capitalised_words(question, hyphenated=False) if not w.isupper()]
            words = [w for w in nouns if w not in WHEN_NOUNS and not (w in own and not self.passages_with[stem(w)])] or nouns
        else:
            words = list(topic)
        return bool(words) and all(self._common(w, lang, min_passages) for w in words)

    def study_words(self, topic: list[str], lang: str, min_passages: int, max_share: float) -> int:
        """How many topic words are words of the study: each in at least `min_passages` source
        passages (`_passages_with`), but not in more than `max_share` of them, as "city" or "smart"
        are, which every question about a smart city uses."""
        most = max_share * max(1, len(self._folded_texts))
        return sum(1 for w in topic if min_passages <= self._passages_with(w, lang) <= most)

    def _common(self, word: str, lang: str, min_passages: int) -> bool:
        """The word occurs in at least `min_passages` source passages (`_passages_with`)."""
        return self._passages_with(word, lang) >= min_passages

    def _passages_with(self, word: str, lang: str) -> int:
        """In how many source passages the word occurs; an English one also through the study's term
        glossary ("costs" → "Kosten"), counting its best-used German form."""
        forms = [stem(word)] + ([stem(fold_text(g)) for g in german_for(word)] if lang == "en" else [])
        return max(self.passages_with[f] for f in forms)

    def asks_about_rare_source_word(self, question: str, defines: bool, min_letters: int, max_passages: int) -> bool:
        """Does the question ask what a long word means that only a few source passages use: the
        word in quotes ("Im Dossier ist von 'Schwesternprodukten' die Rede …") or in a definition
        question? (A place the sources name, "Wie viele Einwohner hat Kaiserslautern?", is neither.)"""
        if max_passages <= 0:
            return False
        quoted = " ".join(m.group(1) for m in _QUOTED.finditer(question))
        asked = question if defines else quoted
        words = tokens(asked)
        if any(len(w) >= min_letters and 1 <= self.passages_with[stem(w)] <= max_passages for w in words):
            return True
        # a hyphenated term counts as one word ("Time-to-Market"): the passages that use it as a whole
        return any(
            1 <= sum(term in text for text in self._folded_texts) <= max_passages
            for term in (fold_text(m.group(0)) for m in _HYPHENATED.finditer(asked))
            if len(term.replace("-", "")) >= min_letters
        )

    def uses_any(self, words: list[str]) -> bool:
        """Does any of the (folded) words occur in a source passage?"""
        return any(self.passages_with[stem(w)] >= 1 for w in words)

    def asked_what_sources_say(self, question: str, topic: list[str]) -> bool:
        """Does the question ask what the study says about words that all occur in it ("Was sagt
        die Studie zu Haushaltsrecht?", "What does the roadmap say about open data?")? Then the
        answer is what it says there, however few passages use the word."""
        said = self._what_sources_say_about(question, topic)
        return said is not None and all(self._common(w, said.lang, 1) for w in said.words)

    def asked_what_sources_say_unused(self, question: str, topic: list[str], terms: list[str]) -> bool:
        """Does the question ask what the study says about words none of which it uses ("Was sagt
        die Roadmap zu Fußball?")? Naming the study or the roadmap does not put a topic in scope; a
        glossary term named after the clause does ("… zum Thema Fehlerkultur?")."""
        said = self._what_sources_say_about(question, topic)
        if said is None or not said.after_clause:
            return False
        if any(set(tokens(fold_text(term))) <= said.after_clause for term in terms):
            return False
        return not any(self._common(w, said.lang, 1) for w in said.words)

    @staticmethod
    def _what_sources_say_about(question: str, topic: list[str]) -> "_AskedAbout | None":
        """For a "what does the study say about …" question: the words it asks about (those after
        the clause, else the whole topic); None for other questions."""
        folded = fold_text(question)
        match = _WHAT_SOURCES_SAY.search(folded)
        if not topic or match is None:
            return None
        # what it asks about follows the clause ("My mayor hates dropped projects. What does the
        # study say about failure?"); an English word counts through the term glossary ("failure")
        after = set(tokens(folded[match.end():]))
        asked = [w for w in topic if w in after]
        return _AskedAbout(asked or topic, "en" if match.group(0).startswith("what") else "de", after if asked else set())

    def unknown_names(self, question: str) -> list[str]:
        """Capitalised words (not the first) that the sources never use, ordinary noun forms aside."""
        out = []
        for word in capitalised_words(question):
            if len(word) < 3:
                continue
            folded = fold_text(word)
            if _COMMON_NOUN.search(folded) or _everyday_word(word) or _english_term(word):
                # an ordinary noun form, office wording for a concept of the study ("Nachbargemeinde"),
                # or an English word the term glossary translates ("German" city)
                continue
            if not all(self.knows(part) for part in (without_placeholder(folded) or folded).split("-") if part):
                out.append(word)
        return out

    def unused_nouns(self, question: str) -> list[str]:
        """Capitalised words (not the first; in German the nouns) of which some part, hyphens split,
        occurs in no source passage and is no lexicon form: "Baugenehmigung", "Zahnarzt", "Texas".
        Stricter than `unknown_names`, which forgives ordinary noun forms and compounds of known words."""
        out = []
        for word in capitalised_words(question):
            parts = [part for part in fold_text(word).split("-") if len(part) >= 3]
            if any(stem(part) not in self.stems for part in parts):
                out.append(word)
        return out

    def foreign_names(self, question: str) -> list[str]:
        """`unknown_names` without the asker's own project ("unsere Parkplatz-App", "our CityBot"),
        when `own_names_known`: names of something the sources do not know."""
        unknown = self.unknown_names(question)
        if not self.own_names_known:
            return unknown
        own = own_names(question)
        return [w for w in unknown if w not in own]

    def raises_bar(self, question: str, lang: str, share: float) -> bool:
        """Does the question name something the sources never use? In English any unknown
        capitalised word is a name; in German one that looks like a name, or unknown words making
        up at least `share` of its capitalised words (see settings.refuse_unknown_share)."""
        unknown = self.foreign_names(question)
        if not unknown:
            return False
        if lang != "de" or share <= 0 or any(looks_like_name(w) for w in unknown):
            return True
        capitalised = [w for w in capitalised_words(question) if len(w) >= 3]
        return len(unknown) >= share * max(1, len(capitalised))


def _everyday_word(word: str) -> bool:
    """Is the word everyday German for a concept of the study (retrieval's `data/de_everyday_terms.tsv`)?"""
    return any(pattern.fullmatch(word) for pattern, _ in everyday_terms())


def _english_term(word: str) -> bool:
    """Is the word one the English term glossary (retrieval's `data/en_de_terms.tsv`) translates?"""
    return any(pattern.fullmatch(word) for pattern, _ in english_terms())


def looks_like_name(word: str) -> bool:
    """A word that is a name rather than an ordinary noun the sources happen not to use ("Geld"):
    inner capitals, a hyphen or a digit ("McKinsey-Studie", "ISO37120")."""
    return any(ch.isupper() for ch in word[1:]) or "-" in word or any(ch.isdigit() for ch in word)


def coverage_score(vector: np.ndarray, passages: list[Passage], index) -> float:
    """How well the sources cover a question: best passage-or-sentence cosine plus best stored-question
    cosine. The user's own documents have no stored questions; for them the passage-or-sentence
    cosine stands in for the missing question term, so a question about an added file is not refused
    for lack of questions nobody could write in advance."""
    best_passage, best_sentence, best_question = evidence(vector, passages, index)
    score = max(best_passage, best_sentence) + best_question
    own = [p for p in passages if p.chunk.source == "user"]
    if own:
        own_passage, own_sentence = _best_passage_and_sentence(vector, own, index)
        score = max(score, 2 * max(own_passage, own_sentence))
    return score


ALWAYS_IN_SCOPE = {Operation.ONBOARDING}


@dataclass(frozen=True)
class FactKind:
    """A kind of fact a question asks for (a price, a population, a rank, a deadline, a year) and how
    a source passage states such a fact. When no retrieved passage does, the sources are silent on
    it, however close their topic ("Wie viel kostet die Smart Village App pro Jahr?")."""

    name: str
    asks: re.Pattern
    stated: Callable[[re.Match, str], bool]  # (the question's match, a folded passage text)


def _pattern(regex: str) -> Callable[[re.Match, str], bool]:
    compiled = re.compile(regex)
    return lambda _asked, text: bool(compiled.search(text))


# Patterns run on folded text (lower case, umlauts as base letters).
# A question for what holds now ("Wer ist aktuell Bürgermeister …?").
_CURRENT = re.compile(r"\b(aktuell\w*|derzeit\w*|gerade|jetzt|heute|momentan|zurzeit|current\w*|now|today|presently)\b")
# Words for a price, including sums in euros by other names (a procurement threshold, a pay grade,
# a salary); they ask for a fact only after a question word (FACT_KINDS "price").
_PRICE_WORDS = (
    r"lizenzgebuhr\w*|lizenzkosten|preis|preise|price|prices|fee|fees|"
    r"auftragswert\w*|schwellenwert\w*|entgeltgruppe\w*|gehalt|gehalter|salary|salaries|wage|wages"
)

FACT_KINDS: tuple[FactKind, ...] = (
    FactKind(
        "price",
        re.compile(r"\b(wie ?viel|was) (kostet|kosten)\b|\b(wie ?viel|was) (hat|haben|hatte|hatten)\b[^?.!]{0,60}\bgekostet\b|\bin euro\b|\bhow much (does|do|did|is|are|would|will)\b.{0,40}\bcost|"
                   # a word for a price asked for ("Welche Lizenzgebühren …?", "Preis für …?"), not one a
                   # question only mentions ("trotz geringerer Gehälter", "Wie bewerten … die Preise")
                   rf"(\b(wie hoch|wie ?viel\w*|was|welche\w*|how much|how high|what|which)\b[^?.!,;]{{0,40}}|^\W*)\b({_PRICE_WORDS})\b|"
                   # an amount of money ("Wie viel Fördergeld bekommt eine Kommune …?")
                   r"\bwie ?viel (geld|fordergeld\w*|fordermittel\w*|budget|euro|zuschuss|zuschusse)\b|"
                   r"\bwie hoch (ist|sind|war|waren) (die|das|der) (forderung|fordersumme|budget|zuschuss|betrag|fordermittel)\b|"
                   r"\bhow much (money|funding|budget|grant)\b"),
        _pattern(r"€|\beuro\b|\beur\b|\d\s?(mio|millionen|tsd|tausend)\b"),
    ),
    FactKind(
        "rate",  # a rate or share in per cent ("Wie hoch ist die Förderquote …?", "Welcher Hebesatz …?")
        re.compile(r"\b(wie hoch|welche[rnms]?|was|how high|what|which)\b[^?.!,;]{0,40}\b(\w*quote|(forder|hebe|zins|prozent|steuer|beitrags)satz\w*|anteil|rate|percentage|share)\b|"
                   r"\bwie ?viel prozent\b|\bhow many per ?cent\b"),
        _pattern(r"%|\bprozent\b|\bper ?cent\b"),
    ),
    FactKind(
        "population",
        # asked for ("Wie viele Einwohner hat …?", "Einwohnerzahl", "population"), not the asker's own
        # size given as context ("Wir sind ne kleine Gemeinde mit 8000 Einwohnern. Lohnt sich …?")
        re.compile(r"\b(wie ?viele|how many)\b[^?.!]{0,30}\b(einwohner\w*|inhabitants?)\b|\beinwohnerzahl\w*|\bbevolkerung\w*|\bpopulation\b"),
        _pattern(r"\beinwohner|\bbevolkerung|\binhabitant"),
    ),
    FactKind(
        "users",  # how many places or people use something ("Wie viele Kommunen nutzen DIGIFARM.MS inzwischen?")
        re.compile(r"\bwie ?viele (\w+ ){0,2}(kommunen|stadte|gemeinden|landkreise|nutzer\w*|nutzende\w*|menschen|burger\w*|organisationen)\b"
                   r".{0,50}\b(nutz|verwend|einsetz|setzen|eingesetzt|genutzt|verwendet|ubernommen|angeschlossen)\w*|"
                   r"\bhow many (\w+ ){0,2}(municipalities|cities|towns|users|people|organi[sz]ations)\b.{0,50}\b(use|using|used|run|adopted|joined)\b"),
        _pattern(r"\b(\d+|zwei|drei|vier|funf|sechs|sieben|acht|neun|zehn|elf|zwolf|zwanzig|dreissig|vierzig|funfzig|hundert)\b(\s+[\w-]+){0,2}\s+"
                 r"\w*(stadte|stadten|kommunen|gemeinden|organisationen|kreise|kreisen|nutzer\w*|nutzende\w*|municipalities|users)\b"),
    ),
    FactKind(
        "office_holder",  # who holds an office in a place ("Wer ist gerade Bürgermeister in Bad Belzig?")
        re.compile(r"\b(wer|who)\b.{0,30}\b(?P<office>(ober)?burgermeister\w*|landrat\w*|mayor|governor)\b"
                   r"(?: (?:von|in|of|der stadt|der gemeinde) (?P<place>[\w-]+(?: [\w-]+)?))?"),
        # stated only by a passage that names the office, and the place when the question names one;
        # a question for the current holder is not answered by a former one ("ehemaliger Bürgermeister")
        lambda asked, text: asked.group("office")[:8] in text and (not asked.group("place") or asked.group("place").split()[-1] in text)
        and not (_CURRENT.search(asked.string) and re.search(r"\b(ehemalige\w*|fruhere\w*|damalige\w*|former)\s+(\w+\s+)?" + asked.group("office")[:8], text)),
    ),
    FactKind(
        "rank",
        re.compile(r"\b(auf|an) welche[mn] (platz|rang)\b|\bwelche[nr]? (platz|rang)\b|\bplatzierung\b|\branking\b|\bwhat (place|rank)\b"),
        _pattern(r"\b(platz|rang|platzierung|ranking)\b"),
    ),
    FactKind(
        "deadline",  # a date by which something must happen ("Bis wann müssen die Mittel abgerufen sein?")
        # ("Von wann bis wann lief die Entwicklung?" asks for a period, not a deadline)
        re.compile(r"\b((?<!von wann )bis wann|bis zu welchem (datum|tag|termin)|frist|fristen|antragsfrist\w*|abgabefrist\w*|stichtag\w*|"
                   r"deadlines?|due date|by when)\b"),
        _pattern(r"\b(frist|fristen|stichtag|deadline)\b|\bbis (zum |spatestens )?\d"),
    ),
    FactKind(
        "year",  # a year the sources never mention ("… ab 2026 neu auf?")
        re.compile(r"\b(19[5-9]\d|20\d\d)\b"),
        lambda asked, text: asked.group(1) in text,
    ),
)


def unstated_fact(question: str, passages: list[Passage]) -> str | None:
    """The kind of fact the question asks for that none of the passages states, if any."""
    folded = fold_text(question)
    texts = [fold_text(p.chunk.text) for p in passages]
    for kind in FACT_KINDS:
        asked = kind.asks.search(folded)
        if asked and not any(kind.stated(asked, text) for text in texts):
            return kind.name
    return None


def _asks_how_besides(question: str) -> bool:
    """Does a part of the question that asks for no fact kind ask how to do something ("Was kostet
    uns das – wie finanziert man das?"; not "Wie viele Kommunen setzen kulturis ein?")?"""
    parts = re.split(r"\s[–—-]\s|[;?]|,\s+(?:und\s+|and\s+)?(?=wie\b|how\b)|\s+(?:und|and)\s+(?=wie\b|how\b)", question)
    return len([p for p in parts if p.strip()]) > 1 and any(
        asks_how_to(part) and not any(kind.asks.search(fold_text(part)) for kind in FACT_KINDS) for part in parts
    )


def _asks_only_about_it(question: str, lang: str) -> bool:
    """A German follow-up that points back and names no noun of its own: it asks only about what
    the previous turn was about ("Wer muss da mitmachen?"), while "Und wie wird das Wetter dort?"
    brings a word of its own and is judged by it."""
    if lang != "de" or not points_back(question):
        return False
    return not any(w not in ("Sie", "Ihnen", "Ihr", "Ihre") for w in capitalised_words(question))


def sources_silent(
    frame: Frame, vector: np.ndarray, passages: list[Passage], index, settings, question: str = "", vocabulary: "Vocabulary | None" = None,
    own_words: bool = False,
) -> bool:
    """Should this (non-manipulative) question be refused because the sources do not cover it?"""
    if frame.operation in ALWAYS_IN_SCOPE or (frame.operation == Operation.META and frame.cued):
        return False  # onboarding, and questions about the study itself ("Wer hat … geschrieben?")
    if settings.refuse_unstated_facts and unstated_fact(question, passages) and not (settings.unstated_fact_how_to_answered and _asks_how_besides(question)):
        return True  # a price, population, rank or year no retrieved passage states
    if frame.operation in (Operation.LIST, Operation.COUNT) and frame.target is not None:
        restricted = not frame.follow_up and not frame.which_one  # "Welcher Treiber rät dazu, mit wenig eigenen Anlagen …": describes an entry
        if not (settings.refuse_list_on_unused_nouns and vocabulary is not None and restricted and vocabulary.unused_nouns(question)):
            return False  # the catalogue answers it from its data
        # "Welche Kriterien gelten für eine Baugenehmigung in Bayern?": the list is restricted by
        # words the sources never use; judged like any question that names something of the study
        return coverage_score(vector, passages, index) < settings.refuse_below_linked
    if frame.operation == Operation.COMPARE and any(
        len(named) >= 2 for named in (frame.phases, frame.criteria, frame.good_practices, frame.drivers, frame.operator_types)
    ):
        return False  # "Was ist der Unterschied zwischen P3 und P4?": two catalogue entries, side by side
    if frame.operation == Operation.PHASE and len(frame.phases) >= 2:
        return False  # "Kommt P5 zwingend erst nach P4?": how two phases of the roadmap relate
    if frame.operation == Operation.PHASE and frame.phases and not frame.topic:
        return False  # "Was passiert in Phse 1?": the phase's overview, from the catalogue's data
    if settings.phase_in_scope_without_nouns and frame.operation == Operation.PHASE and len(frame.phases) == 1 and frame.lang == "de" and not frame.follow_up:
        own = {fold_text(w) for w in own_names(question)} if settings.own_names_known else set()
        nouns = {fold_text(w) for w in capitalised_words(question)} - own - WHEN_NOUNS
        if not any(t in nouns for t in frame.topic):
            return False  # "was muss ich in der verstetigungsphase alles auf dem schirm haben?": no noun narrows the phase
    if frame.follow_up and not frame.own_topic:
        return False  # a bare ellipsis ("Und in P4?") inherits an answered question
    if frame.follow_up and frame.listed and ordinal_reference(question) is not None:
        return False  # "the third option — …?": about an entry the last answer listed
    if settings.follow_up_pointer_in_scope and frame.follow_up and frame.entity_count and _asks_only_about_it(question, frame.lang):
        return False  # "Wer hat die entwickelt?", "Wo finde ich sie?": about what the last answer named
    if settings.key_finding_by_number and numbered_key_finding(index, question) is not None:
        return False  # "Welche Städte werden beim siebten Kernergebnis genannt?": a section of the study
    if settings.in_scope_what_sources_say and vocabulary is not None and vocabulary.asked_what_sources_say(question, frame.asked_topic):
        return False  # "Was sagt die Studie zu Haushaltsrecht?": what they say about a word they use
    if (
        settings.refuse_what_sources_say_unused and vocabulary is not None and frame.entity_count == len(frame.terms)
        and vocabulary.asked_what_sources_say_unused(question, frame.asked_topic, frame.terms)
    ):
        return True  # "Was sagt die Roadmap zu Fußball?": a word the sources never use
    if settings.refuse_how_to_criterion_min is not None and asks_how_to(question):
        ranked = criterion_scores(index, vector)
        if ranked and ranked[0][1] >= settings.refuse_how_to_criterion_min:
            return False  # "Worauf sollte ich bei der Ausschreibung achten?": a criterion is the advice
    score = coverage_score(vector, passages, index)
    threshold = settings.refuse_below_linked if frame.entity_count else settings.refuse_below
    topic = frame.asked_topic
    supported = settings.refuse_supported_min_passages and vocabulary is not None and vocabulary.supports(
        question, topic, frame.lang, settings.refuse_supported_min_passages
    )
    if vocabulary is not None and vocabulary.asks_about_rare_source_word(
        question, frame.operation == Operation.DEFINE, settings.refuse_source_word_min_letters, settings.refuse_source_word_max_passages
    ):
        supported = True  # a word only the study uses: the question is about it
    if supported:
        # every word it asks about is common in the sources: held to the bar of a question that
        # names something of the study
        threshold = min(threshold, settings.refuse_below_linked)
    if frame.lang == "en" and settings.refuse_below_english is not None and vocabulary is not None and vocabulary.study_words(
        frame.asked_topic, "en", settings.study_word_min_passages, settings.study_word_max_share
    ) >= settings.refuse_english_min_study_words:
        threshold = min(threshold, settings.refuse_below_english)  # an English question meets German passages: see settings
    if own_words:
        threshold = min(threshold, settings.refuse_below_own_follow_up)  # judged by its own words: see settings
    if vocabulary is not None and vocabulary.raises_bar(question, frame.lang, settings.refuse_unknown_share):
        threshold = max(threshold, settings.refuse_below_unknown_name)
    return score < threshold
