"""Models: the typed request and response bodies of the HTTP API and the MCP tools.

Descriptions are German: they are what users of /docs and of MCP clients read. The answer itself
is not modelled here: /v1/ask returns `Answer.to_contract()` unchanged (the CLI's JSON contract).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.browse import CriterionRow, GoodPracticeRow
from assistant.domain import PhaseId, Source
from assistant.schema import Citation

CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"


class _Strict(BaseModel):
    """Request bodies refuse unknown fields: a misspelt `top_k` should not pass silently."""

    model_config = ConfigDict(extra="forbid")


class AskRequest(_Strict):
    question: str = Field(description="Die Frage in natürlicher Sprache (Deutsch oder Englisch).", examples=["Was muss ich in der Pilotphase beachten?"])
    top_k: int | None = Field(default=None, ge=1, le=50, examples=[5], description="Wie viele gefundene Abschnitte in `retrieved` zurückkommen (1–50, Vorgabe 10).")
    phase: PhaseId | None = Field(default=None, examples=[None], description="Nur Abschnitte dieser Phase durchsuchen (P1–P5, D = durchgehend).")
    source: Source | None = Field(default=None, examples=[None], description="Nur diese Quelle durchsuchen: dossier, catalogue (Kriterienkatalog) oder user (eigene Dokumente).")
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID_PATTERN,
        examples=["amt-42"],
        description="Frei gewählte Kennung einer Unterhaltung (1–128 Zeichen: Buchstaben, Ziffern, _ . : -). "
        "Rückfragen wie „Und in P4?“ beziehen sich auf die vorige Frage mit derselben Kennung.",
    )


class SearchRequest(_Strict):
    query: str = Field(description="Suchtext (Frage oder Stichworte).", examples=["Betreibermodelle Verstetigung"])
    top_k: int | None = Field(default=None, ge=1, le=50, description="Anzahl der Treffer (1–50, Vorgabe 10).")
    phase: PhaseId | None = Field(default=None, description="Nur Abschnitte dieser Phase (P1–P5, D).")
    source: Source | None = Field(default=None, description="Nur diese Quelle: dossier, catalogue oder user.")


class SearchResponse(BaseModel):
    query: str = Field(description="Der Suchtext, wie er gesucht wurde (bereinigt).")
    passages: list[Citation] = Field(description="Gefundene Abschnitte, bestes Ergebnis zuerst; `text` ist der wörtliche Quelltext.")


class CriteriaList(BaseModel):
    count: int = Field(description="Anzahl der Kriterien in `criteria`.")
    coverage_note: str = Field(description="Wie viele der Kriterien der Studie der Katalog namentlich kennt.")
    criteria: list[CriterionRow]


class PassageRef(BaseModel):
    chunk_id: str
    title: str
    section: str
    page: int | None
    phase: str | None
    text: str = Field(description="Wörtlicher Text des Dossier-Abschnitts.")


class CriterionDetail(CriterionRow):
    mentioned_in: list[PassageRef] = Field(default_factory=list, description="Dossier-Abschnitte, die das Kriterium nennen.")


class GoodPracticeList(BaseModel):
    count: int
    good_practices: list[GoodPracticeRow]


class StatusResponse(BaseModel):
    ready: bool = Field(description="Modell und Index sind geladen und Fragen werden beantwortet.")
    model_ok: bool
    model: str = Field(description="Zustand des Embedding-Modells (bei Fehlern mit dem Befehl, der ihn behebt).")
    index_ok: bool
    index: str = Field(description="Zustand des Suchindex (bei Fehlern mit dem Befehl, der ihn behebt).")
    chunks: int | None = Field(default=None, description="Anzahl der Abschnitte im Index.")
    built_at: str | None = Field(default=None, description="Bauzeitpunkt des Index.")
    catalogue_criteria: int
    study_criteria: int
    coverage_note: str
    engine: str = Field(description="Antwortweg: none = extraktiv (ohne Sprachmodell), sonst das angebundene Sprachmodell.")
    conversations: int = Field(description="Zurzeit gehaltene Unterhaltungen.")
    auth: bool = Field(description="Der Server verlangt ein Zugangstoken.")


class Health(BaseModel):
    status: Literal["ok", "starting", "unavailable"]
    detail: str | None = None


class ErrorInfo(BaseModel):
    message: str
    type: str
    code: str


class ErrorBody(BaseModel):
    """Every error: `detail` is the German message (FastAPI style), `error` the same in the
    shape OpenAI clients read."""

    detail: str
    error: ErrorInfo
    command: str | None = Field(default=None, description="Bei 503: der Befehl auf dem Server, der den Fehler behebt.")
