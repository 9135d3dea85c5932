"""Question generation for the city's own documents (doc2query with the configured language model).

Optional and off by default: `assistant add FILE --questions` works only when an LLM is configured
(`ASSISTANT_LLM`). For every passage of the added file the model is shown the passage's numbered
sentences and asked for questions the passage answers, each with the numbers of the sentences that
answer it. Only questions whose sentence numbers exist are kept, so every recorded answer is verbatim
text of the passage. The questions are stored like the reviewed question bank (`assistant/questions.py`),
keyed by the file name and the passage's opening words, in a hidden folder of the user folder
(`.questions/<file>.jsonl`); the next index build embeds them and retrieval uses them like the
study's stored questions. Removing the file removes its questions.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path

from assistant.chunking import chunk_sentences
from assistant.corpus import Catalogue
from assistant.language import detect_language
from assistant.llm import LLMUnavailable, build_client, prompt
from assistant.questions import Anchor, QuestionGroup, StoredQuestion
from assistant.schema import Chunk
from assistant.settings import Settings
from assistant.userdocs import chunks_for_file

QUESTIONS_FOLDER = ".questions"  # inside the user folder; hidden, so never read as a document
OPENS_WORDS = 8  # words of a passage that make its anchor


def questions_file(settings: Settings, document: str) -> Path:
    return settings.user_dir / QUESTIONS_FOLDER / f"{document}.jsonl"


def anchor_of(chunk: Chunk) -> Anchor:
    return Anchor(document=chunk.file, opens=" ".join(chunk.text.split()[:OPENS_WORDS]))


def parse_reply(reply: str, sentences: list[str]) -> list[StoredQuestion]:
    """The questions of one model reply: JSON lines with a question and the numbers of the sentences
    that answer it. Lines that are no such object, and sentence numbers that do not exist, are
    dropped; a question without any valid sentence is dropped."""
    out: list[StoredQuestion] = []
    for line in reply.splitlines():
        line = line.strip().rstrip(",")
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if not isinstance(item, dict):
            continue
        text = item.get("frage") or item.get("question")
        numbers = item.get("saetze") or item.get("sentences") or []
        if not isinstance(text, str) or len(text.strip()) < 3 or not isinstance(numbers, list):
            continue
        answer = [sentences[n - 1] for n in numbers if isinstance(n, int) and 1 <= n <= len(sentences)]
        if not answer:
            continue
        lang = detect_language(text)
        out.append(StoredQuestion(text=text.strip(), lang=lang, style="english" if lang == "en" else "everyday", answer=answer))
    return out


def generate(settings: Settings, path: Path, catalogue: Catalogue, client=None) -> list[QuestionGroup]:
    """Questions for every passage of one user document. Raises `LLMUnavailable` when no model is
    configured, and whatever the client raises when the model cannot be reached."""
    if settings.llm == "none":
        raise LLMUnavailable("Kein Sprachmodell eingestellt (ASSISTANT_LLM).")
    client = client or build_client(settings)
    groups: list[QuestionGroup] = []
    for chunk in chunks_for_file(path, catalogue):
        sentences = chunk_sentences(chunk)
        if not sentences:
            continue
        numbered = "\n".join(f"{i}. {s}" for i, s in enumerate(sentences, 1))
        reply = client.complete(prompt("questions_de").format(sentences=numbered, n=settings.augment_questions_per_passage)).text
        questions = parse_reply(reply, sentences)[: settings.augment_questions_per_passage]
        if questions:
            groups.append(QuestionGroup(anchor=anchor_of(chunk), questions=questions))
    return groups


def store(settings: Settings, document: str, groups: list[QuestionGroup]) -> Path:
    """Write a document's questions atomically (one JSON line per passage)."""
    target = questions_file(settings, document)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".jsonl")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        for group in groups:
            out.write(group.model_dump_json(exclude_none=True) + "\n")
    os.replace(tmp, target)
    return target


def forget(settings: Settings, document: str) -> None:
    """Remove a document's questions (when the document is removed)."""
    questions_file(settings, document).unlink(missing_ok=True)


def user_question_files(settings: Settings) -> list[Path]:
    """The question files of documents that are still in the user folder."""
    folder = settings.user_dir / QUESTIONS_FOLDER
    if not folder.is_dir():
        return []
    present = {p.name for p in settings.user_dir.iterdir() if p.is_file()}
    return sorted(p for p in folder.glob("*.jsonl") if not p.is_symlink() and re.sub(r"\.jsonl$", "", p.name) in present)
