"""User documents: the city's own files (PDF, DOCX, Markdown, text) added next to the study.

`assistant add PATH…` copies files into the user folder (default `corpus/user/`); the index build
chunks them like dossier passages with `source: "user"`, file name and page. Unchanged files keep
their embeddings between builds (the index reuses vectors by content hash).
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from assistant.chunking import MAX_PASSAGE_CHARS, pack, split_sentences
from assistant.corpus import Catalogue
from assistant.schema import Chunk
from assistant.settings import Settings

SUPPORTED = {".pdf", ".docx", ".md", ".markdown", ".txt"}


class UserDocError(ValueError):
    """A file that cannot be added; the message says why, in German."""


@dataclass
class UserChunks:
    chunks: list[Chunk]
    fingerprint: str


def _files(settings: Settings) -> list[Path]:
    folder = settings.user_dir
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUPPORTED)


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
        return [(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    if suffix == ".docx":
        import docx

        document = docx.Document(str(path))
        return [(None, "\n\n".join(p.text for p in document.paragraphs))]
    return [(None, path.read_text(encoding="utf-8", errors="replace"))]


def _paragraphs(text: str) -> list[str]:
    text = text.replace("\x00", "")
    return [re.sub(r"[ \t]+", " ", p).strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


def chunks_for_file(path: Path, catalogue: Catalogue) -> list[Chunk]:
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    chunks: list[Chunk] = []
    for page, text in _pages(path):
        pieces: list[str] = []
        for paragraph in _paragraphs(text):
            pieces.extend([paragraph] if len(paragraph) <= MAX_PASSAGE_CHARS else pack(split_sentences(paragraph), MAX_PASSAGE_CHARS, " "))
        for piece in pack(pieces, MAX_PASSAGE_CHARS, "\n\n"):
            chunks.append(
                Chunk(
                    id=f"user-{digest}-{len(chunks):03d}",
                    text=piece,
                    source="user",
                    kind="passage",
                    title=path.name,
                    section=f"Eigene Dokumente > {path.name}",
                    page=page,
                    phase=None,
                    criteria=catalogue.find_in_text(piece, ("criterion",)),
                    good_practices=catalogue.find_in_text(piece, ("good_practice",)),
                    embed_text=f"{path.stem}\n{piece}",
                    file=path.name,
                )
            )
    return chunks


def load_user_chunks(settings: Settings, catalogue: Catalogue) -> UserChunks:
    chunks: list[Chunk] = []
    for path in _files(settings):
        chunks.extend(chunks_for_file(path, catalogue))
    return UserChunks(chunks=chunks, fingerprint=fingerprint(settings))


def add_files(settings: Settings, paths: list[Path]) -> list[Path]:
    """Copy files into the user folder after checking type, size and name. Returns the new paths."""
    target_dir = settings.user_dir
    added: list[Path] = []
    limit = int(settings.max_user_file_mb * 1024 * 1024)
    for path in paths:
        if not path.is_file():
            raise UserDocError(f"Datei nicht gefunden: {path}")
        if path.suffix.lower() not in SUPPORTED:
            raise UserDocError(f"Format nicht unterstützt: {path.name} (erlaubt: PDF, DOCX, Markdown, Text)")
        if path.stat().st_size > limit:
            raise UserDocError(f"Datei zu groß: {path.name} (höchstens {settings.max_user_file_mb:g} MB)")
        name = path.name
        if name != Path(name).name or name.startswith(".") or "/" in name or "\\" in name:
            raise UserDocError(f"Unzulässiger Dateiname: {name}")
        target_dir.mkdir(parents=True, exist_ok=True)
        target = (target_dir / name).resolve()
        if target.parent != target_dir.resolve():
            raise UserDocError(f"Unzulässiger Zielpfad: {name}")
        shutil.copyfile(path, target)
        added.append(target)
    return added


def remove_file(settings: Settings, name: str) -> None:
    target = (settings.user_dir / name).resolve()
    if target.parent != settings.user_dir.resolve() or not target.is_file():
        raise UserDocError(f"Kein eigenes Dokument mit dem Namen {name!r}.")
    target.unlink()
