"""Service: the one interface the CLI, the app and the benchmarks call.

It owns the long-lived objects (embedding model, open index, catalogue), loads them once, checks
and trims the question, runs retrieval and the answer engine, and turns every known failure into
an `AssistantUnavailable` (assistant.errors) whose German message and `.command` name the repair.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections import deque
from typing import Callable, Iterator
import unicodedata
from dataclasses import dataclass
from functools import partial

from assistant.answer import AnswerEngine, detect_language, is_manipulation, refusal_answer
from assistant.conversation import Conversation
from assistant.corpus import Catalogue
from assistant.frames import Frame, about_the_earlier_topic
from assistant.domain import SOURCES, phase_or_none
from assistant.embedding import Embedder, shared_embedder
from assistant.errors import BUILD_INDEX_FORCE, STATUS, AssistantUnavailable, IndexUnavailable, InvalidQuestion, ModelMissingError
from assistant.index import open_index, read_manifest, validate_index
from assistant.retrieval import Filters, HybridRetriever, blend
from assistant.schema import Answer, Chunk, Citation, Manifest, Passage, Status, Timings
from assistant.settings import Settings, get_settings


log = logging.getLogger(__name__)


def _invalid_question_answer(question: object, question_id: str | int | None, exc: InvalidQuestion) -> Answer:
    return Answer(
        id=question_id,
        question="" if question is None else str(question)[:200],
        answer=str(exc),
        abstained=True,
        intent="invalid",
        error="invalid_question",
    )


@dataclass
class CleanQuestion:
    text: str
    notice: str | None = None


def clean_question(raw: object, max_chars: int) -> CleanQuestion:
    """Drop control characters and ANSI escapes, collapse whitespace, trim overlong questions."""
    if raw is None:
        raise InvalidQuestion("Bitte geben Sie eine Frage ein.")
    text = str(raw)
    import re

    text = re.sub(r"\x1b\[[0-9;?]*[ -/]*[@-~]", " ", text)  # ANSI escape sequences
    text = "".join(
        ch if (unicodedata.category(ch)[0] != "C" or ch in "\n\t") else " " for ch in text
    )
    text = re.sub(r"\s+", " ", text).strip()
    if not text or not any(ch.isalnum() for ch in text):
        raise InvalidQuestion("Bitte geben Sie eine Frage ein – die Eingabe war leer.")
    notice = None
    if len(text) > max_chars:
        text = text[:max_chars].rsplit(" ", 1)[0] or text[:max_chars]
        notice = f"Die Frage war sehr lang und wurde auf {len(text)} Zeichen gekürzt."
    return CleanQuestion(text=text, notice=notice)


class FairSlots:
    """At most `n` holders at a time, admitted strictly in arrival order: a released slot is handed
    to the longest waiter. (`threading.Semaphore` lets a thread that just released overtake the
    sleeping waiters; under load some askers waited seconds while others went round again.)"""

    def __init__(self, n: int):
        self._free = n
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()

    def __enter__(self) -> None:
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # the releasing thread hands its slot over

    def __exit__(self, *exc) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1


@dataclass
class _Reading:
    """One reading of a question: its frame, the search text, the passages found and the answer."""

    frame: Frame
    query: str
    passages: list[Passage]
    answer: Answer


class _SearchFailed(Exception):
    """The search of a second reading failed (the cause is chained)."""


class AssistantService:
    _shared: "AssistantService | None" = None
    _shared_lock = threading.Lock()

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.catalogue = Catalogue.load(self.settings.catalogue_path)
        self._lock = threading.Lock()
        # At most this many searches run their Python part at once (see settings.parallel_searches).
        self._search_slots = FairSlots(self.settings.parallel_searches)
        self._embedder: Embedder | None = None
        self._retriever: HybridRetriever | None = None
        self._engine: AnswerEngine | None = None

    @classmethod
    def shared(cls, settings: Settings | None = None) -> "AssistantService":
        """One service per process (the app and load tests share the loaded model)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls(settings)
            return cls._shared

    # -- loading -----------------------------------------------------------------------------

    def _ensure_loaded(self) -> tuple[HybridRetriever, AnswerEngine]:
        with self._lock:
            if self._retriever is None or self._engine is None:
                try:
                    validate_index(self.settings)  # cheap: fail fast before loading the model
                    index = open_index(self.settings)  # a broken or unreachable store also fails before it
                    if self._embedder is None:
                        self._embedder = shared_embedder(self.settings)
                        self._embedder.start_query_encoder()  # loads its model while the index loads
                except (ModelMissingError, IndexUnavailable) as exc:
                    raise AssistantUnavailable.from_error(exc) from exc
                self._retriever = HybridRetriever(index, self._embedder, self.settings, self.catalogue)
                # Build the retriever's lazily built sentence matrix here, under the lock: built on
                # first use, concurrent first queries could see it half-built (owners set, vectors not).
                if hasattr(self._retriever, "_sentence_matrix"):
                    self._retriever.warm_up()
                self._engine = AnswerEngine(self.catalogue, self._embedder, index, self.settings)
                if self.settings.llm != "none":
                    from assistant.llm import LLMEngine

                    self._engine = LLMEngine(self.settings, self._engine)
            return self._retriever, self._engine

    def reload(self) -> None:
        """Pick up a rebuilt index (the model stays loaded)."""
        with self._lock:
            self._retriever = None
            self._engine = None

    def warm_up(self) -> None:
        self._ensure_loaded()
        assert self._embedder is not None
        self._embedder.wait_query_encoder()
        # Model, index and libraries leave ~600k long-lived objects; a full collection walks all
        # of them (~0.4 s). Frozen, they are skipped by every later collection. Unfreezing first
        # lets a reload's discarded index be collected instead of staying frozen for good.
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    @property
    def index_chunks(self) -> dict[str, Chunk]:
        retriever, _ = self._ensure_loaded()
        return retriever.index.chunks

    # -- asking ------------------------------------------------------------------------------

    def ask(
        self,
        question: object,
        *,
        top_k: int | None = None,
        phase: str | None = None,
        source: str | None = None,
        conversation: Conversation | None = None,
        question_id: str | int | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        """Answer one question. `on_token` receives streamed text when an LLM engine streams."""
        started = time.perf_counter()
        try:
            cleaned = clean_question(question, self.settings.max_question_chars)
        except InvalidQuestion as exc:
            return _invalid_question_answer(question, question_id, exc)
        retriever, engine = self._ensure_loaded()
        lang = detect_language(cleaned.text)
        extractive = getattr(engine, "extractive", engine)  # the LLM engine wraps the extractive one
        phase = phase_or_none(phase)
        filters = Filters(phase=phase, source=source if source in SOURCES else None)
        t0 = time.perf_counter()
        k = top_k or self.settings.top_k
        if is_manipulation(cleaned.text):
            answer = refusal_answer(cleaned.text, lang, intent="refused_manipulation")
            return self._finish(answer, question_id, cleaned, [], k, started, t0, t0, conversation, None, cleaned.text)
        # typing slips and a question typed in lower case are read as meant; the user's text stays in the answer
        text = extractive.normalised(cleaned.text, lang) if hasattr(extractive, "normalised") else cleaned.text
        frame, query = self._frame(extractive, text, lang, phase, conversation)
        search = partial(self._search, retriever, top_k=max(k, engine.pool_size), filters=filters)
        try:
            passages = search(query)
            if frame.follow_up and frame.own_topic and self.settings.follow_up_own_words_weight > 0 and not about_the_earlier_topic(text):
                # a follow-up with words of its own ("und wie halten wir die Geldgeber bei Laune?"):
                # what those words find on their own counts beside the search with the earlier turn
                # (not when they only qualify it: "Was heißt das für kleine Kommunen?")
                passages = blend(passages, search(extractive.spelled_out(text)), self.settings.follow_up_own_words_weight)
        except Exception as exc:  # e.g. the Chroma server went away after start-up
            return self._search_failed(cleaned.text, question_id, exc)
        t1 = time.perf_counter()
        # "Kannst du das in einem Satz sagen?": the previous question, answered again in one sentence
        asked = conversation.turns[-1].question if frame.brief and conversation is not None and conversation.turns else text
        compose_args = dict(question=asked)
        if on_token is not None and hasattr(engine, "extractive"):
            compose_args["on_token"] = on_token

        def read(frame: Frame, query: str, passages: list[Passage] | None = None) -> _Reading:
            """The question answered as `frame` over the passages found for `query`."""
            if passages is None:
                try:
                    passages = search(query)
                except Exception as exc:
                    raise _SearchFailed() from exc
            return _Reading(frame, query, passages, engine.compose(**compose_args, frame=frame, passages=passages, query=query))

        reading = read(frame, query, passages)
        try:
            if frame.follow_up and reading.answer.abstained and reading.answer.intent != "refused_manipulation":
                # Read as a follow-up, the question found nothing; read on its own it may well.
                reading = read(extractive.parse(text, lang), text)
            elif reading.answer.abstained and reading.answer.intent == "refused" and self._may_continue(extractive, text, lang, frame, conversation):
                # Read on its own the question found nothing; read as continuing the last answer it may
                # ("What is a proof of value?" … "Any real example for the concept part?").
                follow, follow_query = conversation.resolve(text, extractive.parse(text, lang), self.catalogue, continues=True)
                reread = read(follow, extractive.spelled_out(follow_query))
                if not reread.answer.abstained:
                    reading = reread
        except _SearchFailed as failed:
            return self._search_failed(cleaned.text, question_id, failed.__cause__)
        answer, frame, query, passages = reading.answer, reading.frame, reading.query, reading.passages
        answer.question = cleaned.text
        return self._finish(answer, question_id, cleaned, passages, k, started, t0, t1, conversation, frame, query)

    def _may_continue(self, extractive, text: str, lang: str, frame, conversation: Conversation | None) -> bool:
        """May a refused question that did not look like a follow-up be read as one? Only a short one
        whose nouns all occur in the sources ("Any real example for the concept part?"), not one that
        brings a word of its own ("Und wie wird das Wetter morgen?")."""
        if not self.settings.refused_reread_as_follow_up or frame.follow_up or conversation is None or conversation.last_frame is None:
            return False
        vocabulary = getattr(extractive, "vocabulary", None)
        return vocabulary is not None and len(text.split()) <= self.settings.reread_follow_up_max_words and not vocabulary.unused_nouns(text)

    def _frame(self, extractive, text: str, lang: str, phase: str | None, conversation: Conversation | None):
        """The question's frame and the search query. The caller's phase filter is the asked phase;
        in a conversation, a follow-up is resolved against the earlier turns."""
        frame = extractive.parse(text, lang)
        if phase and phase not in frame.phases:
            frame = frame.model_copy(update={"phases": [phase]})
        if conversation is None:
            return frame, extractive.spelled_out(text)
        frame, query = conversation.resolve(text, frame, self.catalogue, by_last_answer=self.settings.follow_up_by_last_answer)
        return frame, extractive.spelled_out(query)

    def _search(self, retriever: HybridRetriever, text: str, *, top_k: int, filters: Filters) -> list[Passage]:
        # Encode first, outside the search slots: questions asked together meet in the embedder's
        # batcher. The retrieval then finds the vector in the question cache.
        retriever.embedder.embed_query(text)
        with self._search_slots:
            return retriever.retrieve(text, top_k=top_k, filters=filters)

    @staticmethod
    def _finish(answer, question_id, cleaned, passages, k, started, t0, t1, conversation, frame, query) -> Answer:
        t2 = time.perf_counter()
        answer.id = question_id
        answer.retrieved = [Citation.from_passage(i + 1, p) for i, p in enumerate(passages[:k])]
        answer.notice = " ".join(x for x in (cleaned.notice, answer.notice) if x) or None
        answer.timings_ms = Timings(
            retrieve=round((t1 - t0) * 1000, 2),
            answer=round((t2 - t1) * 1000, 2),
            total=round((t2 - started) * 1000, 2),
        )
        if frame is not None and answer.frame is None and not answer.abstained:
            answer.frame = frame
        if conversation is not None:
            conversation.add(cleaned.text, frame, query, answer)
        return answer

    def _search_failure(self, exc: Exception) -> AssistantUnavailable:
        """The German message (and repair command) for a search that failed at run time; details go to the log."""
        from assistant.index import is_connection_error

        log.error("retrieval failed: %s", exc, exc_info=exc)
        if self.settings.chroma_url and is_connection_error(exc):
            return AssistantUnavailable(
                f"Die Suche ist gerade nicht erreichbar: Der Chroma-Server unter {self.settings.chroma_url} antwortet nicht. "
                f"Bitte später erneut fragen. Betrieb: Server starten und prüfen mit {STATUS}",
                STATUS,
            )
        return AssistantUnavailable(
            "Die Suche ist gerade fehlgeschlagen. Bitte erneut fragen. Hält der Fehler an, den Index neu bauen mit: "
            f"{BUILD_INDEX_FORCE}",
            BUILD_INDEX_FORCE,
        )

    def _search_failed(self, question: str, question_id, exc: Exception) -> Answer:
        """A calm answer when the search itself fails at run time."""
        message = str(self._search_failure(exc))
        return Answer(id=question_id, question=question, answer=message, abstained=True, intent="error", error="search_unavailable")

    def search(
        self, query: object, *, top_k: int | None = None, phase: str | None = None, source: str | None = None
    ) -> list[Citation]:
        """Ranked passages for a query, without composing an answer (the same retrieval `ask` uses).

        Raises `InvalidQuestion` for an empty query and `AssistantUnavailable` when model, index
        or search cannot be used; both carry a German message."""
        cleaned = clean_question(query, self.settings.max_question_chars)
        retriever, _ = self._ensure_loaded()
        k = top_k or self.settings.top_k
        filters = Filters(phase=phase_or_none(phase), source=source if source in SOURCES else None)
        try:
            retriever.embedder.embed_query(cleaned.text)  # batched with concurrent questions, as in `ask`
            with self._search_slots:
                passages = retriever.retrieve(cleaned.text, top_k=k, filters=filters)
        except Exception as exc:  # e.g. the Chroma server went away after start-up
            raise self._search_failure(exc) from exc
        return [Citation.from_passage(i + 1, p) for i, p in enumerate(passages[:k])]

    def ask_stream(self, question: object, **kwargs) -> Iterator[str | Answer]:
        """Yield streamed text pieces (only with an LLM engine) and finally the complete Answer."""
        pieces: queue.Queue = queue.Queue()
        done = object()
        result: dict[str, object] = {}

        def work():
            try:
                result["answer"] = self.ask(question, on_token=pieces.put, **kwargs)
            except BaseException as exc:  # re-raised in the caller's thread
                result["error"] = exc
            finally:
                pieces.put(done)

        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        while (item := pieces.get()) is not done:
            yield item
        worker.join()
        if "error" in result:
            raise result["error"]  # type: ignore[misc]
        yield result["answer"]  # type: ignore[misc]

    @property
    def streams(self) -> bool:
        return self.settings.llm != "none"

    # -- status ------------------------------------------------------------------------------

    def status(self) -> Status:
        from assistant.embedding import check_model

        try:
            folder = check_model(self.settings)
            model_ok, model_message = True, f"Embedding-Modell bereit: {folder}"
        except ModelMissingError as exc:
            model_ok, model_message = False, str(exc)
        manifest: Manifest | None = None
        try:
            manifest = validate_index(self.settings)
            if self.settings.chroma_url:
                from assistant.index import check_vector_store

                check_vector_store(self.settings, manifest)  # the server is up and holds the collection
            index_ok, index_message = True, f"Index aktuell ({manifest.chunks} Abschnitte, gebaut {manifest.built_at})"
        except IndexUnavailable as exc:
            index_ok, index_message = False, str(exc)
            try:
                manifest = read_manifest(self.settings)
            except IndexUnavailable:
                manifest = None
        named, total = self.catalogue.coverage
        return Status(
            model_ok=model_ok,
            model_message=model_message,
            index_ok=index_ok,
            index_message=index_message,
            manifest=manifest,
            catalogue_criteria=named,
            study_criteria=total,
            coverage_note=self.catalogue.coverage_note(),
        )

    # -- browsing helpers for the app ------------------------------------------------------------

    def passages_mentioning(self, entry_id: str) -> list[Chunk]:
        """Dossier passages that refer to a criterion or good practice."""
        return [
            c
            for c in self.index_chunks.values()
            if c.source == "dossier" and (entry_id in c.criteria or entry_id in c.good_practices)
        ]

    def passages_of_phase(self, phase_id: str) -> list[Chunk]:
        return [c for c in self.index_chunks.values() if c.source == "dossier" and c.phase == phase_id]

    def refusal(self, question: str) -> Answer:
        return refusal_answer(question, detect_language(question), self.catalogue)

