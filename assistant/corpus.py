"""Corpus: read the dossier and the criteria catalogue, and undo the dossier's conversion artefacts.

Owns everything about the *source material*: cleaning (page-break hyphenation, `[Text](#)` links,
HTML tables), the section tree with printed page numbers from the table of contents, the phase of
each section, and matching names (criteria, good practices, …) against the catalogue.
The dossier file itself is never edited; cleaning is reproducible code.
"""

from __future__ import annotations

import difflib
import hashlib
import html
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

from assistant.domain import PHASE_IDS

# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueEntry:
    """One named thing of the catalogue: a phase, driver, criterion, mechanism or good practice."""

    id: str
    kind: str  # phase | driver | criterion | mechanism | good_practice
    name: str
    variants: tuple[str, ...] = ()
    data: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def phase(self) -> str | None:
        if self.kind == "phase":
            return self.id
        return self.data.get("phase")

    @property
    def phases(self) -> list[str]:
        if self.kind == "phase":
            return [self.id]
        return list(self.data.get("phases") or ([self.phase] if self.phase else []))

    @property
    def summary(self) -> str:
        return (self.data.get("summary") or "").strip()

    @property
    def display_name(self) -> str:
        """Name as users see it; mechanisms without a readable title get their category."""
        if self.name:
            return self.name
        return f"Mechanismus ohne lesbaren Titel ({self.data.get('category', 'ohne Kategorie')})"


_SOURCE_NOTE = re.compile(
    r"\s*\((?:[^()]*\b(?:Dossier|URL-Slug|Slug|Seite|Feldwert|Schreibweise|Website|Linktext)\b[^()]*)\)\s*$"
)


def _strip_source_note(variant: str) -> str:
    """Catalogue variants carry a note on where they were seen, e.g. '… (URL-Slug)'; drop it."""
    return _SOURCE_NOTE.sub("", variant).strip()


class Catalogue:
    """The criteria catalogue (criteria.yaml) with lookups by id and by (fuzzy) name."""

    def __init__(self, raw: dict, path: Path | None = None):
        self.raw = raw
        self.path = path
        self.entries: dict[str, CatalogueEntry] = {}
        for kind, key in (
            ("phase", "phases"),
            ("driver", "drivers"),
            ("criterion", "criteria"),
            ("mechanism", "mechanisms"),
            ("good_practice", "good_practices"),
        ):
            for item in raw.get(key) or []:
                variants = tuple(
                    v for v in (_strip_source_note(x) for x in item.get("name_variants") or []) if v
                )
                entry = CatalogueEntry(
                    id=item["id"], kind=kind, name=item.get("name") or "", variants=variants, data=item
                )
                self.entries[entry.id] = entry

    @classmethod
    def load(cls, path: Path) -> "Catalogue":
        with open(path, encoding="utf-8") as fh:
            return cls(yaml.safe_load(fh), path)

    def of_kind(self, kind: str) -> list[CatalogueEntry]:
        return [e for e in self.entries.values() if e.kind == kind]

    @property
    def criteria(self) -> list[CatalogueEntry]:
        return self.of_kind("criterion")

    @property
    def phases(self) -> list[CatalogueEntry]:
        return self.of_kind("phase")

    @property
    def drivers(self) -> list[CatalogueEntry]:
        return self.of_kind("driver")

    @property
    def good_practices(self) -> list[CatalogueEntry]:
        return self.of_kind("good_practice")

    @property
    def mechanisms(self) -> list[CatalogueEntry]:
        return self.of_kind("mechanism")

    def get(self, entry_id: str) -> CatalogueEntry | None:
        return self.entries.get(entry_id)

    @property
    def stated_criteria_total(self) -> int:
        """How many criteria the study says it has (read from the data, not assumed)."""
        return int((self.raw.get("stated_totals") or {}).get("criteria") or 0)

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
        ids = (phase.data.get("milestones") or []) if phase else []
        return [self.entries[i] for i in ids if i in self.entries]

    def criteria_of_phase(self, phase_id: str) -> list[CatalogueEntry]:
        return [c for c in self.criteria if phase_id in c.phases]

    def good_practices_of_phase(self, phase_id: str) -> list[CatalogueEntry]:
        return [g for g in self.good_practices if g.data.get("phase") == phase_id]

    def criteria_of_driver(self, driver_id: str) -> list[CatalogueEntry]:
        return [c for c in self.criteria if c.data.get("driver") == driver_id]

    @cached_property
    def _name_index(self) -> list[tuple[str, CatalogueEntry]]:
        index = []
        for entry in self.entries.values():
            names = {entry.name, *entry.variants}
            names |= {re.sub(r"\s*\([^()]*\)\s*$", "", n) for n in names}  # "X (Venture Capital Strategy)"
            if entry.kind == "phase":
                names |= {f"{entry.id} – {entry.name}", entry.data.get("site_label") or ""}
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


# ---------------------------------------------------------------------------------------------
# Dossier cleaning
# ---------------------------------------------------------------------------------------------

_LINK = re.compile(r"\[((?:[^\[\]\\]|\\.)+)\]\(#\)")
_HTML_LINK = re.compile(r"<a href=\"#\">(?:<u>)?(.*?)(?:</u>)?</a>")
_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|])")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_EMPH = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
_BLANK_RUN = re.compile(r"\n[ \t\u00a0]*\n(?:[ \t\u00a0]*\n)*")
# A word broken at a page break: "inter-" + blank line(s) + "kommunalem". The next part starts
# lower-case, so the hyphen is a line-break hyphen, not a real one ("Smart-City-" + "Lösungen").
_PAGE_BREAK_HYPHEN = re.compile(r"(\w)-\n[ \t\u00a0]*\n(?:[ \t\u00a0]*\n)*[ \t\u00a0]*([a-zäöüß])")


def _is_block_line(line: str) -> bool:
    s = line.strip()
    return (
        not s
        or s.startswith(("#", "<", "|", "**Abbildung", "**Tabelle", "Abbildung ", "Tabelle ", "- ", "• "))
        or "\t" in s
        or re.match(r"^\d+\.\s", s) is not None
    )


_FUNCTION_WORDS = set(
    "ein eine einem einen einer eines der die das den dem des und oder sowie zu zum zur von vom mit für in im "
    "an am auf aus bei nach über unter vor durch gegen ohne um als wie dass sich sie es wir ihre ihren ihrem "
    "seine seinen sowohl auch nicht nur zwischen so".split()
)


def _join_split_paragraphs(text: str) -> str:
    """Re-join paragraphs that a page break cut mid-sentence ("… Die" + blank + "Beschaffung …")."""
    paragraphs = _BLANK_RUN.split(text)
    out: list[str] = []
    for para in paragraphs:
        if out:
            prev = out[-1]
            prev_last = prev.rstrip().splitlines()[-1] if prev.strip() else ""
            starts_lower = bool(re.match(r"^\s*[a-zäöüß]", para))
            # German sentences end in punctuation; a long line ending in a lower-case word or a
            # comma was cut by the page break ("… zwischen einem" + "Geschäftsmodell …").
            last_word = re.findall(r"[\wäöüß]+,?$", prev_last.rstrip())
            prev_unfinished = bool(last_word) and (
                (len(prev_last) >= 200 and re.search(r"[a-zäöüß,]$", prev_last.rstrip()) is not None)
                or last_word[0].rstrip(",") in _FUNCTION_WORDS
            )
            if (
                prev_last
                and not _is_block_line(prev_last)
                and not _is_block_line(para.splitlines()[0] if para.strip() else "")
                and (starts_lower or prev_unfinished)
                and not re.search(r"[.!?:“\"]$", prev_last.rstrip())
            ):
                out[-1] = prev.rstrip() + " " + para.lstrip()
                continue
        out.append(para)
    return "\n\n".join(out)


@dataclass
class CleanDossier:
    text: str  # cleaned Markdown-like text
    mentions: list[str]  # every link text, in order of appearance


def clean_dossier(raw: str) -> CleanDossier:
    """Undo conversion artefacts. Body wording, quotes and dashes stay exactly as in the dossier."""
    text = raw.replace("\r\n", "\n")
    text = _PAGE_BREAK_HYPHEN.sub(r"\1\2", text)
    text = _join_split_paragraphs(text)
    mentions: list[str] = []

    def _link(match: re.Match) -> str:
        label = _MD_ESCAPE.sub(r"\1", match.group(1)).strip()
        mentions.append(label)
        return label

    text = _HTML_LINK.sub(_link, text)
    text = _LINK.sub(_link, text)
    text = _render_tables(text)
    text = _MD_ESCAPE.sub(r"\1", text)
    text = _BOLD.sub(r"\1", text)
    text = _EMPH.sub(r"\1", text)
    text = text.replace("<b>", "").replace("</b>", "")
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text)
    text = _BLANK_RUN.sub("\n\n", text)
    return CleanDossier(text=text.strip() + "\n", mentions=mentions)


def _render_tables(text: str) -> str:
    """Turn the tab-separated and HTML tables into readable text rows."""
    lines = text.split("\n")
    out: list[str] = []
    header: list[str] | None = None
    for line in lines:
        if "\t" not in line:
            header = None
            out.append(line)
            continue
        cells = [c.strip() for c in line.split("\t")]
        plain = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]
        if len(plain) == 2 and plain[1].isdigit():  # table of contents line "Title<TAB>5"
            out.append("\t".join(plain))
            header = None
            continue
        if header is None and not any("<" in c for c in cells) and all(len(c) < 60 for c in cells):
            header = cells
            continue
        if any("<li>" in c or "<p>" in c for c in cells) and header:
            for name, cell in zip(header, cells):
                items = [html.unescape(re.sub(r"<[^>]+>", "", i)).strip(" •") for i in re.findall(r"<li>(.*?)</li>", cell)]
                desc = " ".join(html.unescape(re.sub(r"<[^>]+>", "", p)).strip() for p in re.findall(r"<p>(.*?)</p>", cell))
                out.append(f"{name}: {', '.join(i for i in items if i)} – {desc}".strip())
                out.append("")
            continue
        if header and len(cells) == 2:
            out.append(f"{cells[0]}: {cells[1]}")
            out.append("")
            continue
        out.append(" ".join(html.unescape(re.sub(r"<[^>]+>", "", c)) for c in cells if c))
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Sections, pages, phases
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TocEntry:
    title: str
    page: int
    chapter: bool


@dataclass
class Section:
    """A run of body text under one heading, with its place in the document."""

    path: tuple[str, ...]  # e.g. ("4 Entwicklungsphasen …", "P3 – Pilotphase", "Good Practices für Pilotprojekte")
    page: int | None
    phase: str | None
    paragraphs: list[str]

    @property
    def title(self) -> str:
        return self.path[-1] if self.path else ""

    @property
    def path_str(self) -> str:
        return " > ".join(self.path)


def parse_toc(clean_text: str) -> list[TocEntry]:
    entries = []
    in_toc = False
    for line in clean_text.splitlines():
        if re.match(r"^#\s+Inhalt\s*$", line):
            in_toc = True
            continue
        if in_toc and line.startswith("#"):
            break
        if in_toc and "\t" in line:
            title, page = line.rsplit("\t", 1)
            if page.strip().isdigit():
                title = title.strip()
                chapter = bool(re.match(r"^\d+\s", title)) or title in ("Glossar", "Literatur")
                entries.append(TocEntry(title=title, page=int(page), chapter=chapter))
    return entries


def phase_of_title(title: str) -> str | None:
    m = re.match(r"^\s*(P[1-5])\s*[–-]", title)
    if m:
        return m.group(1)
    lowered = title.lower()
    if lowered.startswith("durchgehend über alle phasen") or lowered.startswith("betreibermodelle"):
        # The dossier treats operator models as a consideration across all phases.
        return "D"
    return None


def _similar(a: str, b: str) -> bool:
    a, b = normalize_name(a), normalize_name(b)
    return a == b or difflib.SequenceMatcher(None, a, b).ratio() >= 0.85


def split_sections(clean_text: str) -> list[Section]:
    """Cut the cleaned dossier into sections. Heading levels in the converted text are unreliable
    (P4 is `###`, P5 is `##`), so the table of contents decides what is a chapter and a section;
    every other heading is a subsection of the current section."""
    toc = parse_toc(clean_text)
    chapters = [t for t in toc if t.chapter]
    sections: list[Section] = []
    chapter: TocEntry | None = None
    chapter_in_toc: TocEntry | None = None
    section: TocEntry | None = None
    sub: str | None = None
    front_matter = True
    skip = False
    current: list[str] = []

    def flush():
        if not current:
            return
        if skip:
            current.clear()
            return
        if front_matter:
            path: tuple[str, ...] = tuple(x for x in ("Titelei und Impressum", sub) if x)
            page = None
        else:
            path = tuple(x for x in (chapter.title if chapter else None, section.title if section else None, sub) if x)
            page = (section or chapter).page if (section or chapter) else None
        phase = None
        for part in reversed(path):
            phase = phase_of_title(part)
            if phase:
                break
        sections.append(Section(path=path, page=page, phase=phase, paragraphs=list(current)))
        current.clear()

    for para in re.split(r"\n\s*\n", clean_text):
        para = para.strip()
        if not para:
            continue
        heading = re.match(r"^#{1,6}\s+(.*)$", para)
        if heading and "\n" not in para:
            title = heading.group(1).strip()
            flush()
            sub = None
            if title == "Inhalt":
                skip = True
                continue
            number = re.match(r"^(\d+)\s", title)
            match_chapter = next(
                (
                    c
                    for c in chapters
                    if (number and c.title.startswith(number.group(1) + " ") and not re.match(r"^\d+\.", title))
                    or (not number and _similar(c.title, title))
                ),
                None,
            )
            if match_chapter is not None:
                front_matter, skip = False, False
                # the body heading wins over the TOC's spelling ("Kernergebnisse" vs "Knergebnisse")
                chapter, section = TocEntry(title=title, page=match_chapter.page, chapter=True), None
                chapter_in_toc = match_chapter
                continue
            if skip:
                continue
            if front_matter:
                sub = title
                continue
            in_chapter = toc[toc.index(chapter_in_toc) + 1 :] if chapter else []
            in_chapter = in_chapter[: next((i for i, t in enumerate(in_chapter) if t.chapter), len(in_chapter))]
            match_section = next((t for t in in_chapter if _similar(t.title, title)), None)
            if match_section is not None:
                section = match_section
            else:
                sub = title
            continue
        current.append(para)
    flush()
    return sections


# ---------------------------------------------------------------------------------------------
# Loading everything
# ---------------------------------------------------------------------------------------------


@dataclass
class Dossier:
    path: Path
    raw: str
    clean: CleanDossier
    sections: list[Section]

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.raw.encode("utf-8")).hexdigest()


def load_dossier(path: Path) -> Dossier:
    raw = path.read_text(encoding="utf-8")
    clean = clean_dossier(raw)
    return Dossier(path=path, raw=raw, clean=clean, sections=split_sections(clean.text))


def find_dossier(dossier_dir: Path) -> Path:
    files = sorted(p for p in dossier_dir.glob("*") if p.suffix in (".txt", ".md"))
    if not files:
        raise FileNotFoundError(f"Kein Dossier unter {dossier_dir} gefunden.")
    return files[0]


def corpus_hash(dossier: Dossier, catalogue: Catalogue, extra: str = "") -> str:
    h = hashlib.sha256()
    h.update(dossier.content_hash.encode())
    h.update(catalogue.content_hash.encode())
    h.update(extra.encode())
    return h.hexdigest()
