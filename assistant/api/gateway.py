"""Gateway: the one place the HTTP API, the OpenAI-compatible endpoint and the MCP tools call.

It checks the limits every surface shares (question length, empty questions), holds the
server-side conversations, and delegates to `AssistantService` (answers, search, status) and to
`assistant.browse` (catalogue). Failures become an `ApiProblem` with an HTTP status, a code and a
German message; each surface renders it in its own way (JSON error, OpenAI error, MCP tool error).
No answer logic lives here.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from typing import Iterable

from assistant.api.conversations import ConversationStore
from assistant.api.models import (
    AskRequest,
    CriteriaList,
    CriterionDetail,
    GoodPracticeList,
    PassageRef,
    SearchRequest,
    SearchResponse,
    StatusResponse,
)
from assistant.api.render import reply_text
from assistant.browse import criterion_row, filter_criteria, filter_good_practices
from assistant.conversation import Conversation
from assistant.domain import phase_or_none
from assistant.schema import Answer
from assistant.errors import AssistantUnavailable, InvalidQuestion
from assistant.service import AssistantService, clean_question
from assistant.settings import Settings


class ApiProblem(Exception):
    """A request that cannot be served: HTTP status, machine-readable code, German message and,
    for a server-side failure, the command that repairs it."""

    def __init__(self, status: int, code: str, message: str, command: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.command = command

    @classmethod
    def unavailable(cls, exc: AssistantUnavailable) -> "ApiProblem":
        return cls(503, "unavailable", str(exc), exc.command)


@dataclass(frozen=True)
class ChatReply:
    answer: Answer
    text: str  # the answer with its sources list, as chat clients show it


@dataclass(frozen=True)
class ChatTurn:
    """One message of an OpenAI-style history, reduced to what the follow-up logic needs."""

    role: str
    content: str


class Gateway:
    def __init__(self, service: AssistantService, settings: Settings, *, auth_required: bool = False):
        self.service = service
        self.settings = settings
        self.catalogue = service.catalogue
        self.auth_required = auth_required
        self.conversations = ConversationStore(settings.api_conversations_max, settings.api_conversation_max_age_s)

    # -- checks ------------------------------------------------------------------------------

    def check_question(self, text: str, what: str = "Die Frage") -> str:
        limit = self.settings.max_question_chars
        if len(text) > limit:
            raise ApiProblem(
                413,
                "question_too_long",
                f"{what} ist zu lang: {len(text)} Zeichen, erlaubt sind höchstens {limit}. Bitte kürzer fassen.",
            )
        try:
            return clean_question(text, limit).text
        except InvalidQuestion as exc:
            raise ApiProblem(422, "invalid_question", str(exc)) from exc

    def _ask(self, question: str, **kwargs) -> Answer:
        try:
            return self.service.ask(question, **kwargs)
        except AssistantUnavailable as exc:
            raise ApiProblem.unavailable(exc) from exc

    # -- answers -----------------------------------------------------------------------------

    def ask(self, request: AskRequest, owner: str = "") -> Answer:
        """Answer one question; with a conversation id, follow-ups resolve against its earlier turns."""
        self.check_question(request.question)
        kwargs = dict(top_k=request.top_k, phase=request.phase, source=request.source)
        if request.conversation_id is None:
            return self._ask(request.question, **kwargs)
        with self.conversations.use(f"id:{owner}:{request.conversation_id}") as conversation:
            return self._ask(request.question, conversation=conversation, **kwargs)

    def ask_chat(self, turns: list[ChatTurn], owner: str = "", phase: str | None = None) -> ChatReply:
        """Answer the last user message of an OpenAI-style history; earlier messages give the
        conversation. A history answered here before continues its stored conversation; an
        unknown one (server restarted, messages edited) is rebuilt by asking its last earlier user
        questions again. The reply is stored under the history that now ends with it."""
        dialogue = [t for t in turns if t.role in ("user", "assistant") and t.content.strip()]
        if not dialogue or dialogue[-1].role != "user":
            raise ApiProblem(422, "no_question", "Die letzte Nachricht muss eine Frage der Rolle „user“ mit Text sein.")
        question, earlier = dialogue[-1].content, dialogue[:-1]
        self.check_question(question)
        phase = phase_or_none(phase)
        conversation: Conversation | None = None
        if any(t.role == "user" for t in earlier):
            # a copy: the stored history stays as it was, so a regenerated reply starts from it too
            with self.conversations.take(_history_key(owner, earlier)) as known:
                conversation = copy.deepcopy(known) if known is not None else None
        if conversation is None:
            conversation = Conversation()
            turns_back = self.settings.api_replay_turns
            replay = [t.content for t in earlier if t.role == "user"][-turns_back:] if turns_back else []
            for old in replay:
                if len(old) <= self.settings.max_question_chars:
                    self._ask(old, phase=phase, conversation=conversation)
        answer = self._ask(question, phase=phase, conversation=conversation)
        text = reply_text(answer, self.catalogue)
        self.conversations.put(_history_key(owner, [*dialogue, ChatTurn("assistant", text)]), conversation)
        return ChatReply(answer=answer, text=text)

    # -- search and catalogue ----------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResponse:
        query = self.check_question(request.query, what="Der Suchtext")
        try:
            passages = self.service.search(query, top_k=request.top_k, phase=request.phase, source=request.source)
        except AssistantUnavailable as exc:
            raise ApiProblem.unavailable(exc) from exc
        return SearchResponse(query=query, passages=passages)

    def criteria(
        self,
        phase: str | None = None,
        driver: str | None = None,
        workstream: str | None = None,
        milestone: bool = False,
        search: str | None = None,
    ) -> CriteriaList:
        rows = filter_criteria(self.catalogue, phase=phase, driver=driver, workstream=workstream, milestone=milestone, text=search)
        return CriteriaList(count=len(rows), coverage_note=self.catalogue.coverage_note(), criteria=rows)

    def criterion(self, criterion_id: str) -> CriterionDetail:
        key = criterion_id.strip().upper()
        entry = self.catalogue.get(key)
        if entry is None or entry.kind != "criterion":
            raise ApiProblem(
                404,
                "unknown_criterion",
                f"Kein Kriterium mit der Kennung „{criterion_id[:40]}“ im Katalog. Alle Kennungen liefert GET /v1/criteria "
                f"(MCP: list_criteria). {self.catalogue.coverage_note()}",
            )
        row = criterion_row(entry, self.catalogue)
        try:
            mentions = self.service.passages_mentioning(entry.id)
        except AssistantUnavailable:
            mentions = []  # the catalogue facts stand without the index
        refs = [PassageRef(chunk_id=c.id, title=c.title, section=c.section, page=c.page, phase=c.phase, text=c.text) for c in mentions]
        return CriterionDetail(**row.model_dump(), mentioned_in=refs)

    def good_practices(self, phase: str | None = None) -> GoodPracticeList:
        rows = filter_good_practices(self.catalogue, phase=phase)
        return GoodPracticeList(count=len(rows), good_practices=rows)

    def status(self, ready: bool) -> StatusResponse:
        status = self.service.status()
        return StatusResponse(
            ready=ready and status.model_ok and status.index_ok,
            model_ok=status.model_ok,
            model=status.model_message,
            index_ok=status.index_ok,
            index=status.index_message,
            chunks=status.manifest.chunks if status.manifest else None,
            built_at=status.manifest.built_at if status.manifest else None,
            catalogue_criteria=status.catalogue_criteria,
            study_criteria=status.study_criteria,
            coverage_note=status.coverage_note,
            engine=self.settings.llm,
            conversations=len(self.conversations),
            auth=self.auth_required,
        )


def _history_key(owner: str, turns: Iterable[ChatTurn]) -> str:
    """Stable key of a history: its user and assistant texts in order (whitespace-trimmed)."""
    body = json.dumps([[t.role, t.content.strip()] for t in turns if t.role in ("user", "assistant")], ensure_ascii=False)
    return f"chat:{owner}:" + hashlib.sha256(body.encode("utf-8")).hexdigest()
