"""Catalogue: the criteria catalogue (`corpus/catalogue/criteria.yaml`) as typed entries.

Owns the catalogue's data model and its lookups: one pydantic model per kind of entry (`Phase`,
`Driver`, `Criterion`, `Mechanism`, `GoodPractice`), the file as a whole (`CatalogueFile`), and
`Catalogue` with lookups by id and by (fuzzy) name. Every field of the YAML has an attribute here;
a field is optional exactly where the catalogue does not know it for every entry (see
`corpus/catalogue/README.md`), and nothing is filled in that the data does not say. An unknown
field in the YAML is an error, so a new field is added here first (see docs/architecture.md).
Totals such as "48 of 76 criteria" are read from the data, never assumed.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import unicodedata
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Literal, TypeAlias, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.domain import PhaseId

EntryKind = Literal["phase", "driver", "criterion", "mechanism", "good_practice"]
ENTRY_KINDS: tuple[EntryKind, ...] = get_args(EntryKind)

_SOURCE_NOTE = re.compile(
    r"\s*\((?:[^()]*\b(?:Dossier|URL-Slug|Slug|Seite|Feldwert|Schreibweise|Website|Linktext)\b[^()]*)\)\s*$"
)


def _strip_source_note(variant: str) -> str:
    """Catalogue variants carry a note on where they were seen, e.g. '… (URL-Slug)'; drop it."""
    return _SOURCE_NOTE.sub("", variant).strip()


# ---------------------------------------------------------------------------------------------
# Entries
# ---------------------------------------------------------------------------------------------


class _Record(BaseModel):
    """A part of the YAML: immutable, and every key of the file must be a declared field."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Entry(_Record):
    """What every named thing of the catalogue has: an id, a name, a short summary of our own."""

    kind: ClassVar[EntryKind]

    id: str
    name: str
    summary: str
    url: str | None = None  # its page on the online roadmap (or Notion mirror), where one was found
    name_variants: tuple[str, ...] = ()  # other spellings seen, each with a note where (dropped in `variants`)

    @field_validator("summary")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @cached_property
    def variants(self) -> tuple[str, ...]:
        """Other spellings of the name, without the note on where they were seen."""
        return tuple(v for v in (_strip_source_note(x) for x in self.name_variants) if v)

    @property
    def display_name(self) -> str:
        """Name as users see it."""
        return self.name

    @property
    def phase(self) -> PhaseId | None:
        """The phase the entry belongs to, if it belongs to one."""
        return None

    @property
    def phases(self) -> list[PhaseId]:
        """Every phase the entry belongs to (criteria may name more than one)."""
        return [self.phase] if self.phase else []


class Phase(Entry):
    kind: ClassVar[EntryKind] = "phase"

    id: PhaseId
    site_label: str | None = None  # the phase value as written on the website
    notion_url: str | None = None  # Notion mirror page (only where found)
    milestones: tuple[str, ...]  # ids of the criteria marked as milestones of this phase
    funding_examples_named: tuple[str, ...] = ()

    @property
    def phase(self) -> PhaseId:
        return self.id


class Driver(Entry):
    """A scaling driver T1–T7 (names as in table 1 of the dossier)."""

    kind: ClassVar[EntryKind] = "driver"

    sub_drivers: tuple[str, ...] = ()  # sub-drivers seen on criterion pages


class Criterion(Entry):
    """A criterion K01…; most fields are known only where the criterion's page showed them."""

    kind: ClassVar[EntryKind] = "criterion"

    phase_id: PhaseId | None = Field(default=None, alias="phase")  # "(ab) Phase"; None: not known
    listed_phases: tuple[PhaseId, ...] = Field(default=(), alias="phases")  # only where more than one is known
    workstreams: tuple[str, ...] = ()
    driver: str | None = None  # driver id
    driver_name: str | None = None
    sub_drivers: tuple[str, ...] = ()
    milestone: bool | None = None  # None: the status is not known
    milestone_basis: Literal["site", "dossier"] | None = None
    stakeholders: tuple[str, ...] = ()
    mechanism_categories: tuple[str, ...] = ()
    mechanisms: tuple[str, ...] = ()  # funding mechanisms linked by name
    good_practices: tuple[str, ...] = ()  # good-practice ids
    related: tuple[str, ...] = ()  # criterion ids ("Rel. V&T Kriterien")
    in_dossier: bool  # the name (or a variant) occurs verbatim in the dossier
    field_source: str  # where the fields were read (site, page-text, dossier, …)
    confidence: Literal["medium", "low"]
    note: str | None = None

    @property
    def phase(self) -> PhaseId | None:
        return self.phase_id

    @property
    def phases(self) -> list[PhaseId]:
        return list(self.listed_phases or ([self.phase_id] if self.phase_id else []))


class Mechanism(Entry):
    """A funding-mechanism category (M01–M08) or a single mechanism (M09 ff.)."""

    kind: ClassVar[EntryKind] = "mechanism"

    level: Literal["Kategorie", "Mechanismus"] = Field(alias="kind")
    name: str = ""  # some titles were not readable: no name rather than an invented one
    category: str | None = None
    criteria_with_category: tuple[str, ...] = ()  # criteria whose page names this category
    linked_criteria: tuple[str, ...] = ()
    confidence: Literal["medium", "low"] | None = None
    note: str | None = None

    @property
    def is_category(self) -> bool:
        return self.level == "Kategorie"

    @property
    def criteria(self) -> tuple[str, ...]:
        """Criteria the catalogue links to this mechanism."""
        return self.criteria_with_category or self.linked_criteria

    @property
    def display_name(self) -> str:
        """Mechanisms without a readable title get their category."""
        if self.name:
            return self.name
        return f"Mechanismus ohne lesbaren Titel ({self.category or 'ohne Kategorie'})"


class GoodPractice(Entry):
    """A good-practice example GP01…, with the phase the dossier discusses it in."""

    kind: ClassVar[EntryKind] = "good_practice"

    place: str
    phase_id: PhaseId | None = Field(default=None, alias="phase")
    criteria: tuple[str, ...]  # criterion ids
    mechanisms: tuple[str, ...] = ()
    note: str | None = None

    @property
    def phase(self) -> PhaseId | None:
        return self.phase_id


CatalogueEntry: TypeAlias = Phase | Driver | Criterion | Mechanism | GoodPractice


class SourceUrls(_Record):
    roadmap: str
    criteria_table: str
    notion_mirror: str
    dossier_doi: str


class StatedTotals(_Record):
    """How many criteria, phases and drivers the study itself says it has."""

    criteria: int
    phases: int
    drivers: int


class CatalogueFile(_Record):
    """The whole YAML file. The order of the entry lists is the order of `Catalogue.entries`."""

    source: str  # the study, its online roadmap and dossier
    source_urls: SourceUrls
    stated_totals: StatedTotals
    coverage_note: str
    phases: tuple[Phase, ...]  # P1–P5 and D ("durchgehend über alle Phasen")
    drivers: tuple[Driver, ...]  # T1–T7
    workstreams: tuple[str, ...]  # the four workstream values of the criteria
    stakeholder_values_seen: tuple[str, ...]  # "Key Stakeholder" values seen on criterion pages
    criteria: tuple[Criterion, ...]  # the named criteria (fewer than `stated_totals.criteria`)
    mechanisms: tuple[Mechanism, ...]  # categories first, then single mechanisms
    good_practices: tuple[GoodPractice, ...]


# ---------------------------------------------------------------------------------------------
# The catalogue with its lookups
# ---------------------------------------------------------------------------------------------


class Catalogue:
    """The criteria catalogue (criteria.yaml) with lookups by id and by (fuzzy) name."""

    def __init__(self, raw: dict, path: Path | None = None):
        self.raw = raw  # the file as read; only its hash is used (index manifest)
        self.path = path
        self.data = CatalogueFile.model_validate(raw)
        self.phases: list[Phase] = list(self.data.phases)
        self.drivers: list[Driver] = list(self.data.drivers)
        self.criteria: list[Criterion] = list(self.data.criteria)
        self.mechanisms: list[Mechanism] = list(self.data.mechanisms)
        self.good_practices: list[GoodPractice] = list(self.data.good_practices)
        self.workstreams: list[str] = list(self.data.workstreams)  # the values criteria use
        self.stakeholders: list[str] = list(self.data.stakeholder_values_seen)  # "Key Stakeholder" values criteria use
        self.entries: dict[str, CatalogueEntry] = {
            entry.id: entry for entry in (*self.phases, *self.drivers, *self.criteria, *self.mechanisms, *self.good_practices)
        }

    @classmethod
    def load(cls, path: Path) -> "Catalogue":
        with open(path, encoding="utf-8") as fh:
            return cls(yaml.safe_load(fh), path)

    def get(self, entry_id: str) -> CatalogueEntry | None:
        return self.entries.get(entry_id)

    def criterion(self, entry_id: str) -> Criterion | None:
        entry = self.entries.get(entry_id)
        return entry if isinstance(entry, Criterion) else None

    @property
    def stated_criteria_total(self) -> int:
        """How many criteria the study says it has (read from the data, not assumed)."""
        return self.data.stated_totals.criteria

    @property
    def coverage(self) -> tuple[int, int]:
        """(criteria named in the catalogue, criteria the study states)."""
        return len(self.criteria), self.stated_criteria_total

    def coverage_note(self, lang: str = "de") -> str:
        named, total = self.coverage
        if lang == "en":
            return (
                f"The catalogue names {named} of the study's {total} criteria; "
                f"the other {total - named} are not known by name and are not invented here."
            )
        return (
            f"Der Katalog enthält {named} der {total} Kriterien der Studie mit Namen; "
            f"die übrigen {total - named} sind nicht namentlich bekannt und werden nicht erfunden."
        )

    def phase_label(self, phase_id: str | None) -> str:
        if not phase_id:
            return ""
        entry = self.get(phase_id)
        if entry is None:
            return phase_id
        return f"{phase_id} – {entry.name}" if phase_id != "D" else entry.name

    def milestones(self, phase_id: str) -> list[CatalogueEntry]:
        phase = self.get(phase_id)
        ids = phase.milestones if isinstance(phase, Phase) else ()
        return [self.entries[i] for i in ids if i in self.entries]

    def criteria_of_phase(self, phase_id: str) -> list[Criterion]:
        return [c for c in self.criteria if phase_id in c.phases]

    def good_practices_of_phase(self, phase_id: str) -> list[GoodPractice]:
        return [g for g in self.good_practices if g.phase == phase_id]

    def parts_of(self, entry_id: str) -> list[Criterion]:
        """The criteria whose name says they are part of the entry: "Data Governance Strategie (Teil
        des PoC)" is part of "Proof of Concept" (by its name or the initials of its words)."""
        entry = self.get(entry_id)
        if entry is None:
            return []
        initials = "".join(word[0] for word in entry.name.split())
        marks = {f"(teil des {entry.name.lower()})", f"(teil des {initials.lower()})"}
        return [c for c in self.criteria if c.id != entry_id and any(m in n.lower() for n in (c.name, *c.variants) for m in marks)]

    def criteria_of_driver(self, driver_id: str) -> list[Criterion]:
        return [c for c in self.criteria if c.driver == driver_id]

    @cached_property
    def _name_index(self) -> list[tuple[str, CatalogueEntry]]:
        index = []
        for entry in self.entries.values():
            names = {entry.name, *entry.variants}
            names |= {re.sub(r"\s*\([^()]*\)\s*$", "", n) for n in names}  # "X (Venture Capital Strategy)"
            if isinstance(entry, Phase):
                names |= {f"{entry.id} – {entry.name}", entry.site_label or ""}
            for name in names:
                key = normalize_name(name)
                if key:
                    index.append((key, entry))
        return index

    def match_name(self, text: str, kinds: tuple[str, ...] | None = None) -> list[CatalogueEntry]:
        """Catalogue entries a name (e.g. a dossier link text) refers to; tolerant to case,
        gender forms, dashes, inflection and combined names ("A, B" or "A; B")."""
        key = normalize_name(text)
        if not key:
            return []
        candidates = [(k, e) for k, e in self._name_index if kinds is None or e.kind in kinds]
        found: dict[str, CatalogueEntry] = {}
        for k, entry in candidates:
            if k == key:
                found[entry.id] = entry
        if not found:
            for k, entry in candidates:
                ratio = difflib.SequenceMatcher(None, k, key).ratio()
                if ratio >= 0.9 and min(len(k), len(key)) >= 8:
                    found[entry.id] = entry
        if not found:
            # combined link texts name several entries: accept names contained in the text
            for k, entry in candidates:
                if len(k) >= 12 and (k in key):
                    found[entry.id] = entry
        if not found and len(key) >= 10:
            # a short form of a longer name: "Cyber Innovation Hub" → "… der Bundeswehr"
            for k, entry in candidates:
                if k.startswith(key + " "):
                    found[entry.id] = entry
        if not found and re.search(r"[,;]", text):
            for part in re.split(r"[,;]", text):
                if len(part.strip()) >= 8:
                    for entry in self.match_name(part, kinds):
                        found[entry.id] = entry
        return sorted(found.values(), key=lambda e: e.id)

    @cached_property
    def _text_patterns(self) -> list[tuple[re.Pattern, CatalogueEntry]]:
        """Patterns to find good practices and criteria named verbatim in running text."""
        patterns = []
        for entry in self.entries.values():
            if entry.kind not in ("good_practice", "criterion"):
                continue
            names = {entry.name, *entry.variants}
            if entry.kind == "good_practice":
                # short forms people use: "DIGIFARM" for "DIGIFARM.MS", "Smart City Research Lab"
                names |= {n.split(".")[0] for n in names if "." in n}
                names |= {re.sub(r"\s+(Bamberg|der Bundeswehr)$", "", n) for n in names}
            for name in names:
                if not name or len(name) < 4 or name.lower() in {"bergkamen"} and entry.kind != "good_practice":
                    continue
                if entry.kind == "criterion" and len(name) < 12 and name not in ("Exit-Strategie",):
                    continue  # short criterion names ("PoC") are too ambiguous in running text
                pattern = r"(?<![\w-])" + r"\s+".join(re.escape(w) for w in name.split()) + r"(?![\w])"
                patterns.append((re.compile(pattern, re.IGNORECASE), entry))
        return patterns

    def find_in_text(self, text: str, kinds: tuple[str, ...]) -> list[str]:
        ids = {e.id for p, e in self._text_patterns if e.kind in kinds and p.search(text)}
        return sorted(ids)

    @cached_property
    def content_hash(self) -> str:
        return hashlib.sha256(yaml.safe_dump(self.raw, allow_unicode=True, sort_keys=True).encode()).hexdigest()


_GENDER = re.compile(r"(\w)(?:\*|:|_|/-?|\u00b7)(innen|in)\b", re.IGNORECASE)


def normalize_name(text: str) -> str:
    """Canonical key for names: lowercase, no gender markers, unified dashes/quotes, no punctuation."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\\", "")
    text = _GENDER.sub(r"\1", text)  # Bürger*innen → Bürger
    text = re.sub(r"innen und (\w+)", r"\1", text)  # Bürgerinnen und Bürger → Bürger
    text = re.sub(r"[\u2010-\u2015\-]", " ", text)
    text = re.sub(r"[„“”\"'‚‘’«»()\[\]]", "", text)
    text = re.sub(r"[^\w\s&/]", " ", text.lower())
    return re.sub(r"\s+", " ", text).strip()
