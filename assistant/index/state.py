"""Corpus state: what the index should contain right now (chunks, question-side texts) and the
fingerprint that tells whether a build is still current."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from assistant import chunking
from assistant.corpus import Catalogue, corpus_hash, find_dossier, load_dossier
from assistant.index.layout import OPERATION_OWNER
from assistant.schema import Chunk
from assistant.settings import Settings


@dataclass
class CorpusState:
    chunks: list[Chunk]
    corpus_hash: str
    catalogue: Catalogue
    queries: list[tuple[str, str]]  # (owner, text): stored questions of passages, operation examples


def _query_texts_fingerprint(settings: Settings) -> str:
    """Hash of the question-side texts (question bank and operation examples): part of the corpus hash."""
    from assistant.frames.operations import BANK_FILE
    from assistant.questions import load_question_bank

    bank = load_question_bank(settings.corpus_dir)
    user = _user_questions(settings)
    return hashlib.sha256((bank.fingerprint + user.fingerprint + hashlib.sha256(BANK_FILE.read_bytes()).hexdigest()).encode()).hexdigest()


def _user_questions(settings: Settings):
    """Questions made for the user's documents (`assistant add --questions`)."""
    from assistant.augment import user_question_files
    from assistant.questions import load_question_files

    return load_question_files(user_question_files(settings))


def load_corpus_chunks(settings: Settings) -> CorpusState:
    from assistant import userdocs  # local import: optional formats pull in pypdf/docx lazily
    from assistant.frames.operations import load_bank
    from assistant.questions import load_question_bank, resolve_bank

    catalogue = Catalogue.load(settings.catalogue_path)
    dossier = load_dossier(find_dossier(settings.dossier_dir))
    user = userdocs.load_user_chunks(settings, catalogue)
    chunks = chunking.build_chunks(dossier, catalogue) + user.chunks
    stored = resolve_bank(load_question_bank(settings.corpus_dir), chunks) + resolve_bank(_user_questions(settings), chunks)
    queries = [(q.chunk_id, q.text) for q in stored] + [(OPERATION_OWNER + op.value, text) for text, op in load_bank()]
    extra = user.fingerprint + chunking.CHUNKER_VERSION + _query_texts_fingerprint(settings)
    return CorpusState(chunks=chunks, corpus_hash=corpus_hash(dossier, catalogue, extra=extra), catalogue=catalogue, queries=queries)


def current_corpus_hash(settings: Settings) -> str:
    """Cheap fingerprint of the corpus files, used to detect a stale index without chunking."""
    from assistant import userdocs

    catalogue = Catalogue.load(settings.catalogue_path)
    dossier_path = find_dossier(settings.dossier_dir)
    h = hashlib.sha256()
    h.update(hashlib.sha256(dossier_path.read_bytes()).hexdigest().encode())
    h.update(catalogue.content_hash.encode())
    h.update((userdocs.fingerprint(settings) + chunking.CHUNKER_VERSION + _query_texts_fingerprint(settings)).encode())
    return h.hexdigest()
