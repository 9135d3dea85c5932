"""OpenAI compatibility: `POST /v1/chat/completions` (plain or streamed) and `GET /v1/models`, so
Open WebUI, LibreChat or any OpenAI client can add Roadmap-Lotse as a "model".

The last user message is the question, earlier messages give the conversation (see
`Gateway.ask_chat`). The reply is the cited answer followed by its sources list
(`assistant.api.render`). With `stream: true` the reply is sent as server-sent events in the
OpenAI chunk format (`chat.completion.chunk`, ending with `data: [DONE]`). The answer is complete
before the first chunk is sent: with a language model its streamed draft is renumbered and checked
afterwards, and a chunk once sent cannot be taken back — so every chunk is final text.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Iterator, Literal

from fastapi import APIRouter, Request
from fastapi.sse import EventSourceResponse, format_sse_event
from pydantic import BaseModel, ConfigDict, Field

from assistant.api.gateway import ApiProblem, ChatTurn, Gateway
from assistant.domain import PhaseId

MODEL_ID = "roadmap-lotse"
_CREATED = 1_733_000_000  # fixed "created" of the model card (the API has no model versions)


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's request body; fields Roadmap-Lotse does not use (temperature, max_tokens …) are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(description=f"Immer „{MODEL_ID}“.", examples=[MODEL_ID])
    messages: list[ChatMessageIn] = Field(min_length=1, description="Verlauf; die letzte Nachricht (Rolle user) ist die Frage.")
    stream: bool = Field(default=False, description="true: Antwort als Server-Sent Events im Chunk-Format von OpenAI.")
    phase: PhaseId | None = Field(default=None, description="Erweiterung: nur Abschnitte dieser Phase durchsuchen (P1–P5, D).")


class ChatMessageOut(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: ChatMessageOut
    finish_reason: Literal["stop"] = "stop"


class _CompletionHead(BaseModel):
    """The fields a completion and each of its streamed chunks start with, in OpenAI's order; a
    subclass narrows `object` to its constant and adds its `choices`."""

    id: str
    object: str
    created: int
    model: str = MODEL_ID


class ChatCompletion(_CompletionHead):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[Choice]
    answer: dict = Field(description="Erweiterung: die Antwort im JSON-Vertrag von /v1/ask (OpenAI-Clients ignorieren das Feld).")


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(_CompletionHead):
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    choices: list[ChunkChoice]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int = _CREATED
    owned_by: str = "roadmap-lotse"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def text_pieces(text: str, words: int) -> list[str]:
    """The reply cut after every few words; joined again they give exactly `text`."""
    tokens = re.findall(r"\s*\S+\s*", text) or [text]
    return ["".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]


def _sse(chunk: BaseModel | str) -> bytes:
    """One server-sent event; `data` is the chunk's JSON (or the closing `[DONE]`)."""
    return format_sse_event(data_str=chunk if isinstance(chunk, str) else chunk.model_dump_json(exclude_none=True))


def build_router(gateway: Gateway) -> APIRouter:
    router = APIRouter(tags=["OpenAI-kompatibel"])

    @router.get("/v1/models", response_model=ModelList, summary="Verfügbare Modelle (OpenAI-Format)")
    def list_models() -> ModelList:
        """Listet das eine „Modell“ `roadmap-lotse`. OpenAI-kompatible Oberflächen (Open WebUI, LibreChat) lesen diese Liste beim Einrichten der Verbindung."""
        return ModelList(data=[ModelCard(id=MODEL_ID)])

    @router.post(
        "/v1/chat/completions",
        response_model=ChatCompletion,
        summary="Chat-Antwort im OpenAI-Format (auch gestreamt)",
        responses={200: {"content": {"text/event-stream": {"description": "mit stream=true: chat.completion.chunk-Ereignisse, zuletzt [DONE]"}}}},
    )
    def chat_completions(body: ChatCompletionRequest, request: Request):
        """Beantwortet die letzte Nutzerfrage des Verlaufs mit belegter Antwort und Quellenliste (Titel, Abschnitt, Seite, Link).
        Frühere Nachrichten geben den Gesprächszusammenhang, etwa für „Und in P4?“."""
        if body.model != MODEL_ID:
            raise ApiProblem(404, "model_not_found", f"Unbekanntes Modell „{body.model[:60]}“. Verfügbar ist nur „{MODEL_ID}“.")
        turns = [ChatTurn(m.role, m.text()) for m in body.messages]
        reply = gateway.ask_chat(turns, owner=request.scope.get("state", {}).get("client", ""), phase=body.phase)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if not body.stream:
            return ChatCompletion(
                id=completion_id,
                created=created,
                choices=[Choice(message=ChatMessageOut(content=reply.text))],
                answer=reply.answer.to_contract(),
            )

        def events() -> Iterator[bytes]:
            def chunk(delta: ChunkDelta, finish: Literal["stop"] | None = None) -> bytes:
                return _sse(ChatCompletionChunk(id=completion_id, created=created, choices=[ChunkChoice(delta=delta, finish_reason=finish)]))

            yield chunk(ChunkDelta(role="assistant", content=""))
            for piece in text_pieces(reply.text, gateway.settings.api_stream_words_per_chunk):
                yield chunk(ChunkDelta(content=piece))
            yield chunk(ChunkDelta(), finish="stop")
            yield _sse("[DONE]")

        return EventSourceResponse(events())

    return router
