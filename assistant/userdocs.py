"""User documents: the city's own files (PDF, DOCX, Markdown, text) added next to the study.

`assistant add PATH…` checks each file (type, size, name, readable text), copies it into the user
folder (default `corpus/user/`, or `ASSISTANT_USER_DOCS_DIR`) and rebuilds the index; the build
chunks the files like dossier passages with `source: "user"`, file name and page. Unchanged files
keep their embeddings between builds (the index reuses vectors by text hash), so adding or changing
one document only embeds that document's chunks. `assistant remove NAME` takes a file out again.

Only plain files directly inside the user folder count: no subfolders, no hidden files, no symbolic
links (a link could point anywhere on the server). A file that cannot be read at build time is
skipped with a warning instead of breaking the whole index.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from assistant.chunking import MAX_PASSAGE_CHARS, PassagePlace, pack, split_sentences
from assistant.corpus import Catalogue
from assistant.schema import Chunk
from assistant.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED = {".pdf", ".docx", ".md", ".markdown", ".txt"}
MAX_NAME_CHARS = 150


class UserDocError(ValueError):
    """A file that cannot be added; the message says why, in German."""


@dataclass
class UserChunks:
    chunks: list[Chunk]
    fingerprint: str
    skipped: dict[str, str] = field(default_factory=dict)  # file name → why it was left out


def _files(settings: Settings) -> list[Path]:
    folder = settings.user_dir
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if not p.name.startswith(".") and not p.is_symlink() and p.is_file() and p.suffix.lower() in SUPPORTED
    )


def list_files(settings: Settings) -> list[Path]:
    """The user documents the next index build will contain."""
    return _files(settings)


def fingerprint(settings: Settings) -> str:
    h = hashlib.sha256()
    for path in _files(settings):
        h.update(path.name.encode())
        h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
    return h.hexdigest()


def _pages(path: Path) -> list[tuple[int | None, str]]:
    """(page, text) pieces of a document; page is None where the format has none."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise UserDocError(f"{path.name} ist verschlüsselt; bitte eine ungeschützte Fassung hinzufügen.")
        return [(i + 1, _unwrap_pdf_lines(page.extract_text() or "")) for i, page in enumerate(reader.pages)]
    if suffix == ".docx":
        import docx

        document = docx.Document(str(path))
        parts = [p.text for p in document.paragraphs]
        for table in document.tables:  # tables are common in municipal reports
            for row in table.rows:
                cells = [c.text.strip() for c in row.cells if c.text.strip()]
                if cells:
                    parts.append(" | ".join(dict.fromkeys(cells)))  # merged cells repeat their text
        return [(None, "\n\n".join(parts))]
    text = path.read_text(encoding="utf-8", errors="replace")
    if suffix in (".md", ".markdown"):
        text = re.sub(r"^\s{0,3}#{1,6}\s+", "", text, flags=re.MULTILINE)  # heading marks are not content
    return [(None, text)]


def _unwrap_pdf_lines(text: str) -> str:
    """PDF text comes with the layout's line breaks: join hyphenated words ("Bürger-\nbeteiligung")
    and lines of one paragraph; blank lines stay paragraph breaks."""
    text = re.sub(r"(\w)-\n(?=[a-zäöüß])", r"\1", text)
    return re.sub(r"(?<!\n)\n(?!\n)", " ", text)


def _clean(text: str) -> str:
    """Drop NUL and other control characters (keeping line breaks and tabs)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)


def _paragraphs(text: str) -> list[str]:
    text = _clean(text)
    return [re.sub(r"[ \t]+", " ", p).strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def _hard_wrap(text: str, limit: int) -> list[str]:
    """Split a run of text without sentence ends (tables, lists, minified text) at spaces, or
    anywhere when there are none, so that no piece exceeds `limit`."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind(" ", 0, limit + 1)
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].strip())
        text = text[cut:].strip()
    if text:
        pieces.append(text)
    return pieces


def _pieces(paragraph: str) -> list[str]:
    if len(paragraph) <= MAX_PASSAGE_CHARS:
        return [paragraph]
    sentences: list[str] = []
    for sentence in split_sentences(paragraph):
        sentences.extend(_hard_wrap(sentence, MAX_PASSAGE_CHARS))
    return pack(sentences, MAX_PASSAGE_CHARS, " ")


def chunks_for_file(path: Path, catalogue: Catalogue) -> list[Chunk]:
    # The id covers name and content: two copies of one file under different names stay distinct.
    digest = hashlib.sha256(path.name.encode() + b"\0" + path.read_bytes()).hexdigest()[:12]
    chunks: list[Chunk] = []
    for page, text in _pages(path):
        place = PassagePlace("user", path.name, f"Eigene Dokumente > {path.name}", page, file=path.name)
        pieces: list[str] = []
        for paragraph in _paragraphs(text):
            pieces.extend(_pieces(paragraph))
        for piece in pack(pieces, MAX_PASSAGE_CHARS, "\n\n"):
            refs = catalogue.find_in_text(piece, ("criterion",)), catalogue.find_in_text(piece, ("good_practice",))
            chunks.append(place.chunk(f"user-{digest}-{len(chunks):03d}", piece, refs, path.stem))
    return chunks


def load_user_chunks(settings: Settings, catalogue: Catalogue) -> UserChunks:
    chunks: list[Chunk] = []
    skipped: dict[str, str] = {}
    for path in _files(settings):
        try:
            chunks.extend(chunks_for_file(path, catalogue))
        except Exception as exc:  # one unreadable file must not break the index for everyone
            skipped[path.name] = f"{type(exc).__name__}: {exc}"
            log.warning("user document %s skipped: %s", path.name, exc)
    return UserChunks(chunks=chunks, fingerprint=fingerprint(settings), skipped=skipped)


# ---------------------------------------------------------------------------------------------
# Adding and removing
# ---------------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """A file name that is safe to create inside the user folder, or UserDocError. Refuses path
    separators, `..`, hidden names, control characters and over-long names (an uploaded file's
    name comes from the browser and may be anything)."""
    if (
        not name
        or name in (".", "..")
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith(".")
        or any(unicodedata.category(ch)[0] == "C" for ch in name)
        or len(name) > MAX_NAME_CHARS
        or Path(name).name != name
    ):
        shown = name.encode("unicode_escape").decode("ascii")[:80] if name else ""
        raise UserDocError(f"Unzulässiger Dateiname: {shown!r}. Erlaubt sind einfache Namen ohne Pfadangaben, z. B. bericht.pdf.")
    if Path(name).suffix.lower() not in SUPPORTED:
        raise UserDocError(f"Format nicht unterstützt: {name} (erlaubt: PDF, DOCX, Markdown, Text)")
    return name


def _target(settings: Settings, name: str) -> Path:
    folder = settings.user_dir.resolve()
    target = folder / check_name(name)
    if target.parent != folder:
        raise UserDocError(f"Unzulässiger Zielpfad: {name}")
    return target


def _check_readable(path: Path, name: str, settings: Settings) -> None:
    """Parse the file once before accepting it, so that a broken or empty file is refused at once."""
    try:
        catalogue = Catalogue.load(settings.catalogue_path)
        chunks = chunks_for_file(path, catalogue)
    except UserDocError:
        raise
    except Exception as exc:
        raise UserDocError(f"{name} lässt sich nicht lesen ({type(exc).__name__}); ist die Datei beschädigt?") from exc
    if not chunks:
        raise UserDocError(
            f"{name} enthält keinen auslesbaren Text (z. B. ein gescanntes PDF ohne Texterkennung) und wird nicht aufgenommen."
        )


def _store(settings: Settings, name: str, write) -> Path:
    """Write a new user document atomically: temp file in the folder, checked, then renamed (never
    through a symbolic link that may sit at the target name)."""
    target = _target(settings, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".add-", suffix=target.suffix)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        _check_readable(tmp, name, settings)  # hidden temp name: not part of any build meanwhile
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target


def _limit_bytes(settings: Settings) -> int:
    return int(settings.max_user_file_mb * 1024 * 1024)


def _too_big(name: str, settings: Settings) -> UserDocError:
    return UserDocError(f"Datei zu groß: {name} (höchstens {settings.max_user_file_mb:g} MB, einstellbar mit ASSISTANT_MAX_USER_FILE_MB)")


def add_files(settings: Settings, paths: list[Path]) -> list[Path]:
    """Copy files into the user folder after checking type, size, name and content. All files are
    checked before any is copied. Returns the paths inside the user folder."""
    limit = _limit_bytes(settings)
    for path in paths:
        if path.is_dir():
            raise UserDocError(f"{path} ist ein Verzeichnis; bitte einzelne Dateien angeben.")
        if not path.is_file():
            raise UserDocError(f"Datei nicht gefunden: {path}")
        check_name(path.name)
        if path.stat().st_size > limit:
            raise _too_big(path.name, settings)
    added: list[Path] = []
    for path in paths:
        target = _target(settings, path.name)
        if target.exists() and not target.is_symlink() and target.resolve() == path.resolve():
            added.append(target)  # already in the user folder
            continue

        def copy(out, source=path):
            with open(source, "rb") as src:
                while block := src.read(1 << 20):
                    out.write(block)

        added.append(_store(settings, path.name, copy))
    return added


def add_bytes(settings: Settings, name: str, data: bytes) -> Path:
    """Store an uploaded document (name as sent by the browser; checked like any other)."""
    check_name(name)
    if len(data) > _limit_bytes(settings):
        raise _too_big(name, settings)
    return _store(settings, name, lambda out: out.write(data))


def remove_file(settings: Settings, name: str) -> None:
    target = _target(settings, name)
    if target.is_symlink() or not target.is_file():
        raise UserDocError(f"Kein eigenes Dokument mit dem Namen {name!r}. Vorhanden: " + (", ".join(p.name for p in _files(settings)) or "keine"))
    target.unlink()
    from assistant.augment import forget

    forget(settings, name)  # its generated questions, if any
