"""Entity linking: which phases, drivers, workstreams, criteria, good practices, mechanisms,
glossary terms, operator types and list targets a question names.

Surface forms come from the catalogue (names, `name_variants`, ids such as K14 or GP03), from the
dossier's glossary and from `assistant/data/lexicon.yaml` (everyday and English wording). Matching
works on folded tokens (case, umlaut spellings, gender forms, hyphens) and German Snowball stems, so
inflections meet ("Meilensteine" ~ "Meilenstein"); a single long form also matches inside a compound
("Pilotphasen-Kriterien", "Verstetigungsphase"). Long catalogue names also match when nearly all
their content words occur in the question.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from assistant.catalogue import Catalogue

LEXICON_FILE = Path(__file__).resolve().parent.parent / "data" / "lexicon.yaml"

ENTITY_TYPES = ("phase", "driver", "workstream", "criterion", "good_practice", "mechanism", "term", "operator_type", "target")

# Function words that never carry a topic (German and English). Tokens are folded (ü → u), so the
# folded spellings ("fur", "uber", "konnen") are added below, after fold_text.
_STOPWORDS_WRITTEN = frozenset(
    """
    der die das den dem des ein eine einer eines einem einen kein keine und oder aber zu zum zur von vom mit
    für fuer in im an am auf aus bei nach über ueber unter vor durch ist sind war waren wird werden wurde wurden
    wie was welche welcher welches welchen wer wem wen wo woran worauf worum wozu wann warum weshalb wieso gibt
    es ich wir sie man mich mir uns unsere unser unseren unserer muss müssen muessen soll sollte sollten kann
    können koennen darf dürfen nicht auch als dass so sich noch schon bitte denn doch mal eigentlich genau kurz
    etwa dabei dazu dafür dafuer davon damit darin darüber daran hierzu hierbei dies diese dieser dieses diesen
    das hat haben habe hast gibt geben gib mehr sehr viele viel wie viele wieviele ganz eher ob wenn dann
    the a an of to in on for and or is are was were be been what which how who whom does do did can could
    should would about there this that these those it its with from by at as me my we our us you your please
    tell give explain any some more many much when where why whose have has had will got get also than then
    nächste nächsten nächster folgende folgenden vorherige vorherigen next following previous
    """.split()
)

_GENDER = re.compile(r"(\w)(?:\*|:|_|/-?|\u00b7)(innen|in)\b", re.IGNORECASE)
_SPLIT = re.compile(r"[^\w]+")
FOLD_CACHE_SIZE = 1 << 16  # folded texts kept: the corpus has ~1 000 sentences plus names and questions
DISTINCTIVE_MAX_PASSAGES = 3  # a "distinctive" word occurs in at most this many passages of the corpus
# A loosely named long name ("Finanzierung der vertikalen Skalierung") has its words close together:
# at most this many other words inside its span, beyond the name's own length. Without it, "nicht alle
# 76 Kriterien … Wie viele … zur Phase P1?" named the cross-phase group ("alle Phasen") across two sentences.
FUZZY_MAX_EXTRA_WORDS = 3
# A name word ending in "-ierung" is read as a noun (a distinctive word of its entry) only from this
# length on: a compound ("Wirkungsorientierung", 20), not a plain verbal noun ("Positionierung", 14).
IERUNG_COMPOUND_MIN_LETTERS = 16
# Words that say where the user looks, not what is asked ("laut Roadmap", "der im Katalog erfassten
# Kriterien"): never the defined term (answer/define.py), never what is counted (answer/listing.py).
CONTEXT_WORDS = frozenset({"roadmap", "studie", "dossier", "katalog", "kriterienkatalog", "tool", "study", "catalogue"})
# Colloquial placeholders closing a compound ("das Kultur-Ding", "die App-Sache"): the word before
# them says what is meant; the placeholder itself names nothing (refusal, conversation).
PLACEHOLDER_PARTS = frozenset({"ding", "dings", "teil", "sache", "zeug"})


def without_placeholder(folded_word: str) -> str | None:
    """"kultur-ding" → "kultur": the hyphenated word without its closing placeholder, else None."""
    parts = folded_word.split("-")
    if len(parts) >= 2 and parts[-1] in PLACEHOLDER_PARTS and parts[-2]:
        return "-".join(parts[:-1])
    return None


# Glossary terms (keys of data/lexicon.yaml) that name a kind of catalogue entry: "der Treiber X" is
# about X, not the word "Treiber" (answer/define.py); they narrow no list (answer/listing.py).
KIND_TERMS = frozenset({"Skalierungstreiber", "Erfolgskriterien", "Phasen", "Fördermechanismen"})


def context_only(question: str, term: str) -> bool:
    """Is the term named in the question only by a word that says where the user looks ("laut
    Roadmap", "im Sinne der Studie"), not by its own name ("digitale Roadmap")?"""
    words = fold_text(term).split()
    return bool(words) and words[-1] in CONTEXT_WORDS and fold_text(term) not in fold_text(question)


ID_PATTERN = re.compile(r"\b(?:(P|T|K|GP|M)\s?(\d{1,2}))\b", re.IGNORECASE)
# "Phase 3" misspelt ("Phse 1", "Phasse 2", "phase4"): a word starting with "ph" and a phase number
PHASE_NUMBER = re.compile(r"\b(ph[a-z]{1,5})\s?([1-5])\b", re.IGNORECASE)


_WORD = re.compile(r"[\wÄÖÜäöüß]+")
# A run of letters only (no digits): the words casing and spelling repair work on (frames/casing.py, frames/spelling.py)
LETTERS = re.compile(r"[A-Za-zÄÖÜäöüß]+")
_WORD_HYPHENATED = re.compile(r"[\wÄÖÜäöüß-]+")


def capitalised_words(text: str, hyphenated: bool = True) -> list[str]:
    """The words after the first that start with a capital letter: in German the nouns and names
    a question asks about ("Wie binde ich die Bürgerinnen und Bürger ein?"). Hyphenated compounds
    stay one word ("McKinsey-Studie") unless `hyphenated` is False."""
    pattern = _WORD_HYPHENATED if hyphenated else _WORD
    # a function word opening a later sentence ("… towns. What should we …") is capitalised by position only
    opening = {m.end() - 1 for m in re.finditer(r"(?<=[.!?:])\s+\S", text)}
    found = [(m.group(0), m.start()) for m in pattern.finditer(text)][1:]
    return [
        w for w, start in found
        if w[0].isupper() and not (start in opening and fold_text(w) in STOPWORDS)
    ]


@lru_cache(maxsize=FOLD_CACHE_SIZE)
def fold_text(text: str) -> str:
    """Lower case, gender forms joined ("Bürger*innen" → "bürgerinnen"), umlauts as base letters.

    Cached: the answer composers fold the same corpus sentences for every question (profiling the
    cached-question path showed folding as over half of its CPU time)."""
    text = _GENDER.sub(r"\1\2", text).casefold().replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in text if not unicodedata.combining(ch))


STOPWORDS = _STOPWORDS_WRITTEN | frozenset(fold_text(w) for w in _STOPWORDS_WRITTEN)


_OWN = re.compile(r"\b(unser|unsere|unserer|unseren|unserem|unseres|our|my|mein|meine|meinem|meinen)\s+([\w-]+)", re.IGNORECASE)

# "die Mängelmelder-App", "eine Parkraum-Plattform": a description joined to a generic kind of
# solution names a project like the asker's, not something foreign the sources would have to know
_DESCRIBED_SOLUTION = re.compile(r"\b[\w]+-(App|Apps|Plattform|Plattformen|Portal|Portale|Projekt|Projekte|Tool|Tools|Dashboard|Lösung|Dienst|Service|Bot)\b")


# "Ich bin neu im Smart-City-Büro", "ich arbeite in der Stabsstelle Digitales", "I'm new in the
# digital unit": where the asker works describes the asker, not what the question asks about
_WORKPLACE = re.compile(
    r"\b(ich bin|ich arbeite|ich leite|wir sind|i am|i'm|i work|i lead|we are|we're)\b[^.?!]{0,25}?"
    r"\b(im|in der|in dem|beim|bei der|am|an der|in the|at the|in our|at our)\s+([\w-]+)",
    re.IGNORECASE,
)


def own_names(question: str) -> set[str]:
    """The words right after a possessive, described solutions ("die Mängelmelder-App") and the
    asker's workplace ("Ich bin neu im Smart-City-Büro"): what the asker calls their own."""
    return (
        {m.group(2) for m in _OWN.finditer(question)}
        | {m.group(0) for m in _DESCRIBED_SOLUTION.finditer(question)}
        | {m.group(3) for m in _WORKPLACE.finditer(question)}
    )


# Nouns that only say when ("nächsten Monat", "Ende des Jahres", "im Herbst"): they narrow no topic
WHEN_NOUNS = frozenset(
    "tag tage tagen woche wochen monat monate monaten quartal quartals jahr jahre jahres jahren "
    "fruhjahr fruhling sommer herbst winter ende anfang beginn".split()
)


def tokens(text: str) -> list[str]:
    return [t for t in _SPLIT.split(fold_text(text)) if t]


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("german")


@lru_cache(maxsize=20000)
def stem(token: str) -> str:
    return _stemmer().stemWord(token)


def stems(text: str) -> list[str]:
    return [stem(t) for t in tokens(text)]


def content_stems(text: str) -> list[str]:
    return [stem(t) for t in tokens(text) if t not in STOPWORDS and len(t) > 1]


def criteria_naming(catalogue: Catalogue, phase: str, stems: set[str], besides: list[str] = ()) -> list[str]:
    """The criteria of `phase` (other than `besides`) whose name holds one of the word stems: "the
    criterion of P4 about Finanzierung" (answer/explain.py, conversation.py)."""
    return [c.id for c in catalogue.criteria if phase in c.phases and c.id not in besides and stems & set(content_stems(c.name or ""))]


@dataclass(frozen=True)
class Link:
    """One entity the question names, with the token positions of the words that named it."""

    type: str
    key: str  # phase id, driver/criterion/... id, workstream name, term key, target name
    start: int
    end: int  # exclusive


@dataclass
class Linked:
    """Everything entity linking found in one question."""

    links: list[Link] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)

    def of(self, type_: str) -> list[str]:
        out: list[str] = []
        for link in sorted(self.links, key=lambda l: l.start):
            if link.type == type_ and link.key not in out:
                out.append(link.key)
        return out

    def covered(self, types: tuple[str, ...] = ENTITY_TYPES) -> set[int]:
        return {i for link in self.links if link.type in types for i in range(link.start, link.end)}


@dataclass(frozen=True)
class _Form:
    type: str
    key: str
    stems: tuple[str, ...]
    folded: str  # single-token forms: the folded word, for compound matching
    fuzzy: bool = False  # long catalogue names: also match by content-word coverage


class TermSpec(BaseModel):
    """A concept of `lexicon.yaml`: its wordings, its glossary entry and its catalogue entry."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    forms: tuple[str, ...] = ()
    glossary: str | None = None  # title of the dossier's glossary entry
    entry: str | None = None  # id of the catalogue entry about the same concept


class LexiconFile(BaseModel):
    """`assistant/data/lexicon.yaml`: everyday and English wordings, keyed by what they name."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True)

    phases: dict[str, tuple[str, ...]] = {}  # phase id → wordings
    workstreams: dict[str, tuple[str, ...]] = {}  # workstream → wordings (besides its name)
    targets: dict[str, tuple[str, ...]] = {}  # list target → wordings
    terms: dict[str, TermSpec] = {}
    operator_types: dict[str, tuple[str, ...]] = {}  # operator type → wordings (besides its name)

    @classmethod
    def load(cls, path: Path = LEXICON_FILE) -> "LexiconFile":
        return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


_LINKED_TYPES = ("criterion", "driver", "mechanism", "good_practice")  # catalogue kinds named by distinctive words


class Lexicon:
    """All surface forms, indexed for linking (built once per catalogue and glossary)."""

    def __init__(
        self,
        catalogue: Catalogue,
        glossary_terms: list[str] | None = None,
        data: LexiconFile | None = None,
        corpus_texts: list[str] | None = None,
    ):
        self.catalogue = catalogue
        self.term_glossary: dict[str, str] = {}
        self.term_entry: dict[str, str] = {}  # term → catalogue entry about the same concept
        self._surfaces: dict[tuple[str, str], list[str]] = {}
        self.forms: list[_Form] = []
        self._add_lexicon_file(data if data is not None else LexiconFile.load())
        self._add_glossary(glossary_terms or [])
        self._add_catalogue(catalogue)
        self._by_first: dict[str, list[_Form]] = {}
        for f in self.forms:
            self._by_first.setdefault(f.stems[0], []).append(f)
        # (a workstream adjective opening a compound is no workstream: "Wirtschaftlichkeitsmodell")
        self._compound_forms = [f for f in self.forms if f.folded and len(f.folded) >= 6 and not f.fuzzy and f.type != "workstream"]
        self._fuzzy_forms = [f for f in self.forms if f.fuzzy]
        self._distinctive = self._distinctive_stems(corpus_texts or [])
        self._driver_words = self._driver_word_owners(catalogue)

    def _add(self, type_: str, key: str, surface: str, fuzzy: bool = False) -> None:
        ts = tokens(surface)
        if not ts:
            return
        self._surfaces.setdefault((type_, key), [])
        if surface not in self._surfaces[(type_, key)]:
            self._surfaces[(type_, key)].append(surface)
        self.forms.append(_Form(type_, key, tuple(stem(t) for t in ts), ts[0] if len(ts) == 1 else "", fuzzy))

    def _add_lexicon_file(self, data: LexiconFile) -> None:
        for pid, surfaces in data.phases.items():
            for s in surfaces:
                self._add("phase", pid, s)
        for name, surfaces in data.workstreams.items():
            for s in [name, *surfaces]:
                self._add("workstream", name, s)
        for target, surfaces in data.targets.items():
            for s in surfaces:
                self._add("target", target, s)
        for key, spec in data.terms.items():
            for s in [key, *spec.forms]:
                self._add("term", key, s)
            if spec.glossary:
                self.term_glossary[key] = spec.glossary
            if spec.entry:
                self.term_entry[key] = spec.entry
        for key, surfaces in data.operator_types.items():
            for s in [key, *surfaces]:
                self._add("operator_type", key, s)

    def _add_glossary(self, glossary_terms: list[str]) -> None:
        for term in glossary_terms:
            if not any(f.type == "term" and f.key == term for f in self.forms):
                self._add("term", term, term)
                self.term_glossary.setdefault(term, term)

    def _add_catalogue(self, catalogue: Catalogue) -> None:
        """Names and name variants of every entry; the entry kind is the link type."""
        for entry in catalogue.entries.values():
            for name in {entry.name, *entry.variants}:
                if not name:
                    continue
                plain = re.sub(r"\s*\([^()]*\)\s*$", "", name)  # "Wagniskapital-Strategie (Venture Capital Strategy)"
                for surface in {name, plain}:
                    self._add(entry.kind, entry.id, surface, fuzzy=len(content_stems(surface)) >= 3)
            if entry.kind == "good_practice":
                for short in {n.split(".")[0] for n in (entry.name, *entry.variants) if "." in n}:
                    self._add(entry.kind, entry.id, short)

    def _distinctive_stems(self, corpus_texts: list[str]) -> dict[str, tuple[str, str]]:
        """Long words that occur in the name of exactly one catalogue entry, and rarely in the
        dossier, name that entry on their own ("Marktanalysen" → K02); needs the corpus texts to
        judge "rarely" (none given: no distinctive words)."""
        if not corpus_texts:
            return {}
        document_frequency: dict[str, int] = {}
        for text in corpus_texts:
            for st in set(stems(text)):
                document_frequency[st] = document_frequency.get(st, 0) + 1
        owners, nouns = self._name_word_owners()
        other = {st for f in self.forms if f.type not in _LINKED_TYPES for st in f.stems}
        return {
            st: next(iter(entries)) for st, entries in owners.items()
            if st in nouns and len(entries) == 1 and len(st) >= 9 and document_frequency.get(st, 0) <= DISTINCTIVE_MAX_PASSAGES
            and st not in other and st not in _GENERIC_STEMS and st not in _STOP_STEMS
        }

    @staticmethod
    def _driver_word_owners(catalogue: Catalogue) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
        """Stem → the drivers whose name (first map) or description (second) holds the word, for
        "der Treiber Team" (T3) or "der Treiber Finanzierung" (T6)."""
        names: dict[str, set[str]] = {}
        described: dict[str, set[str]] = {}
        for entry in catalogue.entries.values():
            if entry.kind != "driver":
                continue
            for text, owners in ((" ".join([entry.name, *entry.variants]), names),
                                 (" ".join([entry.summary or "", *entry.sub_drivers]), described)):
                for st in stems(text):
                    if st not in _STOP_STEMS and st not in _GENERIC_STEMS and len(st) >= 4:
                        owners.setdefault(st, set()).add(entry.id)
        return names, described

    def _driver_named_by_word(self, toks: list[str], sts: list[str], taken: set[int]) -> list[Link]:
        """"Treiber Team", "Team-Treiber", "driver team": the word next to the kind word that only one
        driver's name (or else only one driver's description) contains names that driver."""
        out = []
        for i, s in enumerate(sts):
            if s not in _DRIVER_WORDS:
                continue
            for j in (i + 1, i - 1, i + 2):
                if not (0 <= j < len(sts)) or j in taken or sts[j] in _STOP_STEMS or len(toks[j]) < 4:
                    continue
                owners = self._driver_words[0].get(sts[j]) or self._driver_words[1].get(sts[j])
                if owners and len(owners) == 1:
                    out.append(Link("driver", next(iter(owners)), min(i, j), max(i, j) + 1))
                    break
        return out

    def _name_word_owners(self) -> tuple[dict[str, set[tuple[str, str]]], set[str]]:
        """Stem → the catalogue entries whose names contain the word, and the stems of capitalised
        words (German nouns) in those names."""
        owners: dict[str, set[tuple[str, str]]] = {}
        nouns: set[str] = set()
        for (type_, key), surfaces in self._surfaces.items():
            if type_ not in _LINKED_TYPES:
                continue
            for surface in surfaces:
                for word in re.findall(r"[\wÄÖÜäöüß]+", surface):
                    owners.setdefault(stem(fold_text(word)), set()).add((type_, key))
                    # "Positionierung" ~ "positionieren" share a stem; a long compound ("Wirkungsorientierung")
                    # stays a noun (its verb forms, "wirkungsorientiert", mean the same thing)
                    if word[0].isupper() and (not word.endswith("ierung") or len(word) >= IERUNG_COMPOUND_MIN_LETTERS):
                        nouns.add(stem(fold_text(word)))
        return owners, nouns

    @property
    def operator_type_keys(self) -> list[str]:
        """The operator types of Abbildung 3 ("öffentliche Hand", …), as the lexicon names them."""
        return [key for type_, key in self._surfaces if type_ == "operator_type"]

    def all_surfaces(self) -> list[str]:
        """Every surface form of every entity: the study's vocabulary as people write it ("PoV")."""
        return [surface for forms in self._surfaces.values() for surface in forms]

    def surfaces(self, type_: str, key: str) -> list[str]:
        """Every surface form of one entity (as written in the lexicon or catalogue)."""
        return list(self._surfaces.get((type_, key), []))

    # -- linking ---------------------------------------------------------------------------------

    def link(self, text: str) -> Linked:
        toks = tokens(text)
        sts = [stem(t) for t in toks]
        links: list[Link] = []
        for i, s in enumerate(sts):
            for form in self._by_first.get(s, ()):
                n = len(form.stems)
                if tuple(sts[i : i + n]) == form.stems:
                    links.append(Link(form.type, form.key, i, i + n))
        direct = {i for link in links for i in range(link.start, link.end)}
        for i, tok in enumerate(toks):
            if i in direct:
                continue  # a word the lexicon knows as a whole is not read as a compound
            for form in self._compound_forms:
                if tok != form.folded and len(tok) - len(form.folded) >= 3 and (
                    tok.startswith(form.folded) or tok.endswith(form.folded)
                ):
                    links.append(Link(form.type, form.key, i, i + 1))
        links += self._ids(text, toks)
        links += self._fuzzy(sts, {i for link in links for i in range(link.start, link.end)})
        taken = {i for link in links for i in range(link.start, link.end)}
        links += [Link(*self._distinctive[s], i, i + 1) for i, s in enumerate(sts) if s in self._distinctive and i not in taken]
        if not any(link.type == "driver" for link in links):
            links += self._driver_named_by_word(toks, sts, taken)
        # a concept names its catalogue entry too ("MVP" → K12)
        for link in list(links):
            entry = self.term_entry.get(link.key) if link.type == "term" else None
            if entry and self.catalogue.get(entry) is not None:
                links.append(Link(self.catalogue.get(entry).kind, entry, link.start, link.end))
        return Linked(links=_prefer_longest(links), tokens=toks)

    def _fuzzy(self, sts: list[str], covered: set[int]) -> list[Link]:
        """Long names named loosely: most of their distinctive words occur in the question, and at
        least one of them is not already part of another link ("vertikale Skalierung" alone names
        the phase, not the criterion "Finanzierung vertikale Skalierung")."""
        present = {s: i for i, s in enumerate(sts)}
        out = []
        for form in self._fuzzy_forms:
            content = [s for s in form.stems if s not in _STOP_STEMS and s not in _GENERIC_STEMS]
            hits = [present[s] for s in content if s in present]
            if (
                content
                and len(hits) >= 2
                and len(hits) / len(content) >= 0.66
                and any(i not in covered for i in hits)
                and max(hits) - min(hits) < len(form.stems) + FUZZY_MAX_EXTRA_WORDS
            ):
                out.append(Link(form.type, form.key, min(hits), max(hits) + 1))
        return out

    def _ids(self, text: str, toks: list[str]) -> list[Link]:
        out = []
        for match in ID_PATTERN.finditer(text):
            prefix, number = match.group(1).upper(), int(match.group(2))
            if prefix == "P" and 1 <= number <= 5:
                key, type_ = f"P{number}", "phase"
            elif prefix == "T" and 1 <= number <= 7:
                key, type_ = f"T{number}", "driver"
            elif prefix in ("K", "GP", "M"):
                key = f"{prefix}{number:02d}"
                entry = self.catalogue.get(key)
                if entry is None:
                    continue
                type_ = entry.kind
            else:
                continue
            position = _token_index(text, match.start(), toks)
            out.append(Link(type_, key, position, position + (2 if " " in match.group(0) else 1)))
        for match in PHASE_NUMBER.finditer(text):
            position = _token_index(text, match.start(), toks)
            out.append(Link("phase", f"P{match.group(2)}", position, position + (2 if " " in match.group(0) else 1)))
        return out


_STOP_STEMS = frozenset(stem(w) for w in STOPWORDS)
_DRIVER_WORDS = frozenset(stem(w) for w in ("treiber", "skalierungstreiber", "driver", "drivers", "scaling"))
# Words that open many catalogue names and say little about which entry is meant ("alle": "Nenn mir
# alle Phasen" is not the cross-phase group "Durchgehend über alle Phasen").
_GENERIC_STEMS = frozenset(
    stem(w)
    for w in "alle erreichen aufbau nutzung förderung foerderung schaffung entwicklung durchführung durchfuehrung "
    "etablierung erstellung einrichtung kontinuierliche kontinuierlich identifikation definition anschließende "
    "anschliessende verbunden sowie zur smart city".split()
)


def _token_index(text: str, char_pos: int, toks: list[str]) -> int:
    return len(tokens(text[:char_pos]))


def _prefer_longest(links: list[Link]) -> list[Link]:
    """Drop a link whose span lies inside a longer link of the same type, a list target inside a
    longer link of any type ("pilot phase" names P3, not the target "phases"), and duplicates."""
    unique = list(dict.fromkeys(links))
    out = []
    for link in unique:
        inside = any(
            other is not link
            and (other.type == link.type or link.type == "target")
            and other.start <= link.start
            and link.end <= other.end
            and (other.end - other.start) > (link.end - link.start)
            for other in unique
        )
        if not inside:
            out.append(link)
    return out
