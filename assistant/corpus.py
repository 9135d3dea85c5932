"""Corpus: read the dossier, undo its conversion artefacts, and cut it into sections.

Owns everything about the dossier as *source material*: cleaning (page-break hyphenation,
`[Text](#)` links, HTML tables), the section tree with printed page numbers from the table of
contents, and the phase of each section. The dossier file itself is never edited; cleaning is
reproducible code. The criteria catalogue lives in `assistant.catalogue` (re-exported here for
older imports).
"""

from __future__ import annotations

import difflib
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.catalogue import Catalogue, CatalogueEntry, normalize_name
from assistant.domain import PHASE_IDS

__all__ = [
    "PHASE_IDS",
    "Catalogue",
    "CatalogueEntry",
    "CleanDossier",
    "Dossier",
    "Section",
    "TocEntry",
    "clean_dossier",
    "corpus_hash",
    "find_dossier",
    "load_dossier",
    "normalize_name",
    "parse_toc",
    "phase_of_title",
    "split_sections",
]

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


def _phase_of_path(path: tuple[str, ...]) -> str | None:
    """The phase of the innermost heading that names one."""
    for part in reversed(path):
        phase = phase_of_title(part)
        if phase:
            return phase
    return None


class _SectionCutter:
    """Walks the cleaned dossier paragraph by paragraph and cuts it into sections.

    Heading levels in the converted text are unreliable (P4 is `###`, P5 is `##`), so the table of
    contents decides what is a chapter and a section; every other heading is a subsection of the
    current section. Everything before the first chapter is front matter; the TOC itself is skipped."""

    def __init__(self, clean_text: str):
        self.toc = parse_toc(clean_text)
        self.chapters = [t for t in self.toc if t.chapter]
        self.sections: list[Section] = []
        self.chapter: TocEntry | None = None  # as written in the body
        self.chapter_in_toc: TocEntry | None = None
        self.section: TocEntry | None = None
        self.sub: str | None = None
        self.front_matter = True
        self.skip = False
        self.current: list[str] = []

    def flush(self) -> None:
        """Close the running section (if it has text and is not skipped)."""
        if self.current and not self.skip:
            path, page = self._place()
            self.sections.append(Section(path=path, page=page, phase=_phase_of_path(path), paragraphs=list(self.current)))
        self.current.clear()

    def _place(self) -> tuple[tuple[str, ...], int | None]:
        if self.front_matter:
            return tuple(x for x in ("Titelei und Impressum", self.sub) if x), None
        titles = (self.chapter.title if self.chapter else None, self.section.title if self.section else None, self.sub)
        where = self.section or self.chapter
        return tuple(x for x in titles if x), where.page if where else None

    def heading(self, title: str) -> None:
        self.flush()
        self.sub = None
        if title == "Inhalt":
            self.skip = True
            return
        toc_chapter = self._toc_chapter(title)
        if toc_chapter is not None:
            self.front_matter, self.skip = False, False
            # the body heading wins over the TOC's spelling ("Kernergebnisse" vs "Knergebnisse")
            self.chapter, self.section = TocEntry(title=title, page=toc_chapter.page, chapter=True), None
            self.chapter_in_toc = toc_chapter
            return
        if self.skip:
            return
        if self.front_matter:
            self.sub = title
            return
        toc_section = next((t for t in self._toc_sections() if _similar(t.title, title)), None)
        if toc_section is not None:
            self.section = toc_section
        else:
            self.sub = title

    def _toc_chapter(self, title: str) -> TocEntry | None:
        number = re.match(r"^(\d+)\s", title)
        for c in self.chapters:
            if number and c.title.startswith(number.group(1) + " ") and not re.match(r"^\d+\.", title):
                return c
            if not number and _similar(c.title, title):
                return c
        return None

    def _toc_sections(self) -> list[TocEntry]:
        """The TOC entries of the current chapter (up to the next chapter)."""
        in_chapter = self.toc[self.toc.index(self.chapter_in_toc) + 1 :] if self.chapter else []
        return in_chapter[: next((i for i, t in enumerate(in_chapter) if t.chapter), len(in_chapter))]


def split_sections(clean_text: str) -> list[Section]:
    """Cut the cleaned dossier into sections (see `_SectionCutter` for how headings are read)."""
    cutter = _SectionCutter(clean_text)
    for para in re.split(r"\n\s*\n", clean_text):
        para = para.strip()
        if not para:
            continue
        heading = re.match(r"^#{1,6}\s+(.*)$", para)
        if heading and "\n" not in para:
            cutter.heading(heading.group(1).strip())
        else:
            cutter.current.append(para)
    cutter.flush()
    return cutter.sections


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
