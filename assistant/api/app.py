"""App: the FastAPI application — HTTP API under /v1, health check, OpenAPI docs (German, served
from the package without a CDN), the OpenAI-compatible routes and the MCP endpoint at /mcp.

`create_app` wires everything around one `Gateway` (and so one `AssistantService`): middleware
(bearer tokens, 64 kB body limit, host check for an open loopback server, optional CORS), error
handlers that answer in German (401, 404, 413, 422, 503), and a lifespan that loads model and
index in the background (the server answers /healthz at once) and runs the MCP session manager.
Endpoints are plain `def`s: FastAPI runs them in its thread pool, so concurrent questions meet in
the embedder's batcher.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPBearer
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant import __version__
from assistant.api.auth import BearerAuthMiddleware, TokenSet, is_loopback
from assistant.api.gateway import ApiProblem, Gateway
from assistant.api.mcp_server import build_mcp
from assistant.api.models import (
    AskRequest,
    CriteriaList,
    CriterionDetail,
    ErrorBody,
    GoodPracticeList,
    Health,
    SearchRequest,
    SearchResponse,
    StatusResponse,
)
from assistant.api.openai_compat import build_router as openai_router
from assistant.domain import PhaseId
from assistant.schema import Answer
from assistant.errors import AssistantUnavailable
from assistant.service import AssistantService
from assistant.settings import Settings, get_settings

log = logging.getLogger("assistant.api")

DESCRIPTION = """
Roadmap-Lotse beantwortet Fragen zur BBSR-Studie **„Smart-City-Lösungen skalieren“** (Dossier und
Kriterienkatalog) mit wörtlichen Belegen, Phasen und Kriterien – offline, ohne Sprachmodell im Netz.

* **Fragen**: `POST /v1/ask` liefert die Antwort im JSON-Vertrag der Kommandozeile (`assistant ask --json`).
  Mit `conversation_id` beziehen sich Rückfragen („Und in P4?“) auf die vorige Frage.
* **Suchen und Nachschlagen**: Textstellen, Kriterien, Good Practices, Zustand des Dienstes.
* **OpenAI-kompatibel**: `POST /v1/chat/completions` und `GET /v1/models` (Modell `roadmap-lotse`) für Open WebUI,
  LibreChat und andere OpenAI-Clients.
* **MCP**: dieselben Werkzeuge für MCP-Clients unter `/mcp` (Streamable HTTP).

Ist der Server mit Zugangstoken gestartet, braucht jede Anfrage außer `/healthz` und dieser Dokumentation die
Kopfzeile `Authorization: Bearer <Token>` (Schaltfläche „Authorize“).
"""

TAGS = [
    {"name": "Fragen", "description": "Belegte Antworten auf Fragen zur Roadmap."},
    {"name": "Suchen und Nachschlagen", "description": "Textstellen, Kriterien und Good Practices des Katalogs."},
    {"name": "Betrieb", "description": "Zustand des Dienstes."},
    {"name": "OpenAI-kompatibel", "description": "Für Oberflächen, die OpenAI-kompatible Modelle einbinden."},
]

_bearer = HTTPBearer(auto_error=False, description="Zugangstoken des Servers (nur nötig, wenn der Server mit Token gestartet ist)")
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Zugangstoken fehlt oder ist falsch."},
    413: {"model": ErrorBody, "description": "Frage oder Anfrage zu lang."},
    422: {"model": ErrorBody, "description": "Ungültiger Anfrageinhalt."},
    503: {"model": ErrorBody, "description": "Modell oder Index nicht verfügbar (die Meldung nennt den Befehl, der es behebt)."},
}


# -- readiness ---------------------------------------------------------------------------------


class Readiness:
    """Loads model and index once in the background; /healthz reports the state."""

    def __init__(self, service: AssistantService):
        self.service = service
        self.state: Literal["starting", "ok", "unavailable"] = "starting"
        self.detail: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._load, name="warm-up", daemon=True)
            self._thread.start()

    def _load(self) -> None:
        try:
            self.service.warm_up()
            self.state, self.detail = "ok", None
        except AssistantUnavailable as exc:
            self.state, self.detail = "unavailable", str(exc)
            log.error("Roadmap-Lotse nicht bereit: %s", exc)
        except Exception as exc:  # logged with traceback; requests then get the service's own error
            self.state, self.detail = "unavailable", "Das Laden von Modell und Index ist fehlgeschlagen (Details im Server-Log)."
            log.exception("warm-up failed: %s", exc)

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state == "ok"


# -- body limit ----------------------------------------------------------------------------------


class BodyLimitMiddleware:
    """Refuses request bodies above `limit` bytes with 413: at once by Content-Length; a body sent
    in chunks without a length is read first (at most `limit` bytes are held) and then passed on."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"Die Anfrage ist zu groß: höchstens {self.limit // 1024} kB sind erlaubt."
        await _problem_response(ApiProblem(413, "body_too_large", message))(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.limit:
                await self._refuse(scope, receive, send)
                return
            await self.app(scope, receive, send)  # the server never reads past Content-Length
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)  # no body (GET, the MCP event stream)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


# -- errors -------------------------------------------------------------------------------------

_ERROR_TYPES = {401: "authentication_error", 404: "not_found_error", 413: "invalid_request_error", 422: "invalid_request_error", 503: "service_unavailable"}

_VALIDATION_TEXT = {
    "missing": "fehlt",
    "extra_forbidden": "ist unbekannt",
    "string_type": "muss ein Text sein",
    "int_type": "muss eine ganze Zahl sein",
    "int_parsing": "muss eine ganze Zahl sein",
    "bool_type": "muss true oder false sein",
    "bool_parsing": "muss true oder false sein",
    "list_type": "muss eine Liste sein",
    "model_type": "muss ein JSON-Objekt sein",
    "dict_type": "muss ein JSON-Objekt sein",
    "json_invalid": "ist kein gültiges JSON",
    "string_pattern_mismatch": "hat ein ungültiges Format",
    "too_short": "ist zu kurz oder leer",
    "greater_than_equal": "ist zu klein",
    "less_than_equal": "ist zu groß",
    "literal_error": "hat einen unbekannten Wert",
    "enum": "hat einen unbekannten Wert",
}


def _problem_response(problem: ApiProblem, headers: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorBody(
        detail=problem.message,
        error={"message": problem.message, "type": _ERROR_TYPES.get(problem.status, "api_error"), "code": problem.code},
        command=problem.command,
    )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=problem.status, headers=headers)


def validation_message(errors: list[dict[str, Any]]) -> str:
    """One German sentence naming each bad field and what is wrong with it."""
    parts = []
    for err in errors[:5]:
        loc = [str(x) for x in err.get("loc", ()) if x not in ("body", "query", "path")]
        where = "Anfrageinhalt" if not loc else f"Feld „{'.'.join(loc)}“"
        what = _VALIDATION_TEXT.get(err.get("type", ""), err.get("msg", "ist ungültig"))
        if err.get("type") == "literal_error" and (expected := (err.get("ctx") or {}).get("expected")):
            what += f" (erlaubt: {expected})"
        elif err.get("type") in ("greater_than_equal", "less_than_equal") and err.get("ctx"):
            limit = next(iter(err["ctx"].values()))
            what += f" (Grenze: {limit})"
        parts.append(f"{where} {what}")
    more = f" (und {len(errors) - 5} weitere)" if len(errors) > 5 else ""
    return "Ungültige Anfrage: " + "; ".join(parts) + more + "."


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _problem(_: Request, exc: ApiProblem):
        return _problem_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError):
        return _problem_response(ApiProblem(422, "invalid_request", validation_message(list(exc.errors()))))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        messages = {
            404: "Diese Adresse gibt es nicht. Die verfügbaren Endpunkte stehen unter /docs.",
            405: "Diese Methode ist hier nicht erlaubt. Die verfügbaren Endpunkte stehen unter /docs.",
        }
        message = messages.get(exc.status_code, str(exc.detail))
        return _problem_response(ApiProblem(exc.status_code, "http_error", message), headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception):
        log.exception("unexpected error: %s", exc)
        return _problem_response(ApiProblem(500, "internal_error", "Interner Fehler im Roadmap-Lotse-Server. Details stehen im Server-Log."))


# -- routes ----------------------------------------------------------------------------------------


def _client(request: Request) -> str:
    return request.scope.get("state", {}).get("client", "")


def _core_router(gateway: Gateway, readiness: Readiness) -> APIRouter:
    router = APIRouter(prefix="/v1", dependencies=[Security(_bearer)], responses=_ERRORS)

    @router.post(
        "/ask",
        tags=["Fragen"],
        summary="Frage stellen",
        response_model=Answer,
        response_description="Die Antwort im JSON-Vertrag von `assistant ask --json` (unverändert).",
    )
    def ask(body: AskRequest, request: Request):
        """Beantwortet eine Frage mit Text, nummerierten Belegen (`citations`: Titel, Abschnitt, Seite, wörtlicher Text),
        Phasen und Kriterien. Findet die Studie keine Antwort, ist `abstained` wahr und der Text sagt es.
        Mit `conversation_id` wird die Unterhaltung auf dem Server gehalten (Kopfzeile `X-Conversation-Id` in der Antwort)."""
        answer = gateway.ask(body, owner=_client(request))
        headers = {"X-Conversation-Id": body.conversation_id} if body.conversation_id else None
        return JSONResponse(answer.to_contract(), headers=headers)

    @router.post("/search", tags=["Suchen und Nachschlagen"], summary="Textstellen suchen", response_model=SearchResponse)
    def search(body: SearchRequest) -> SearchResponse:
        """Die passendsten Abschnitte aus Dossier und Kriterienkatalog (hybride Suche), bestes Ergebnis zuerst – ohne Antworttext."""
        return gateway.search(body)

    @router.get("/criteria", tags=["Suchen und Nachschlagen"], summary="Kriterien auflisten", response_model=CriteriaList)
    def criteria(
        phase: PhaseId | None = Query(default=None, description="Phase P1–P5 oder D (durchgehend)"),
        driver: str | None = Query(default=None, max_length=10, description="Skalierungstreiber, z. B. T2"),
        workstream: str | None = Query(default=None, max_length=40, description="wirtschaftlich | organisatorisch | finanziell | technisch"),
        milestone: bool = Query(default=False, description="nur Meilensteine"),
        search: str | None = Query(default=None, max_length=200, description="Text in Kennung, Name oder Kurzfassung"),
    ) -> CriteriaList:
        """Die Kriterien des Katalogs wie in der Tabelle der Online-Roadmap, gefiltert nach Phase, Treiber, Handlungsfeld und Meilenstein.
        Der Katalog kennt nicht alle Kriterien der Studie namentlich (`coverage_note`)."""
        return gateway.criteria(phase=phase, driver=driver, workstream=workstream, milestone=milestone, search=search)

    @router.get(
        "/criteria/{criterion_id}",
        tags=["Suchen und Nachschlagen"],
        summary="Kriterium nachschlagen",
        response_model=CriterionDetail,
        responses={404: {"model": ErrorBody, "description": "Kein Kriterium mit dieser Kennung."}},
    )
    def criterion(criterion_id: str) -> CriterionDetail:
        """Ein Kriterium (z. B. `K14`) mit Phase(n), Treiber, Handlungsfeldern, Kurzfassung, Good Practices, Link zur Online-Roadmap
        und den Dossier-Abschnitten, die es nennen."""
        return gateway.criterion(criterion_id)

    @router.get("/good-practices", tags=["Suchen und Nachschlagen"], summary="Good Practices auflisten", response_model=GoodPracticeList)
    def good_practices(phase: PhaseId | None = Query(default=None, description="nur Beispiele dieser Phase")) -> GoodPracticeList:
        """Die Good-Practice-Beispiele der Roadmap mit Ort, Phase, Kurzfassung, Kriterien und Link."""
        return gateway.good_practices(phase=phase)

    @router.get("/status", tags=["Betrieb"], summary="Zustand des Dienstes", response_model=StatusResponse)
    def status() -> StatusResponse:
        """Ob Modell und Index bereit sind (mit dem Befehl, der einen Fehler behebt), Größe und Alter des Index, Katalogabdeckung."""
        return gateway.status(ready=readiness.state == "ok")

    return router


# -- factory ---------------------------------------------------------------------------------------


def create_app(
    settings: Settings | None = None,
    *,
    service: AssistantService | None = None,
    tokens: TokenSet = TokenSet(),
    host: str = "127.0.0.1",
) -> FastAPI:
    settings = settings or get_settings()
    service = service or AssistantService(settings)
    gateway = Gateway(service, settings, auth_required=bool(tokens))
    readiness = Readiness(service)
    mcp = build_mcp(gateway)
    # Stateless: each MCP request stands alone (the tools keep no state), so nothing to expire.
    mcp_app = mcp.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, host=host)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        readiness.start()
        async with mcp.session_manager.run():
            yield

    app = FastAPIOffline(
        title="Roadmap-Lotse API",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        swagger_ui_parameters={"defaultModelsExpandDepth": 0},
    )
    app.state.gateway = gateway
    app.state.readiness = readiness
    _install_error_handlers(app)

    @app.get("/healthz", tags=["Betrieb"], summary="Lebenszeichen (ohne Token)", response_model=Health, responses={503: {"model": Health}})
    def healthz(response: Response) -> Health:
        """200 mit `ok`, sobald Modell und Index geladen sind; davor 503 mit `starting`, bei einem Fehler 503 mit `unavailable` und der Meldung."""
        if readiness.state != "ok":
            response.status_code = 503
        return Health(status=readiness.state, detail=readiness.detail)

    app.include_router(_core_router(gateway, readiness))
    app.include_router(openai_router(gateway), dependencies=[Security(_bearer)], responses=_ERRORS)
    app.router.routes.extend(mcp_app.routes)  # POST/GET/DELETE /mcp (streamable HTTP)

    # Middleware: the last added runs first. Order of a request: CORS → host check → auth → body limit → route.
    app.add_middleware(BodyLimitMiddleware, limit=settings.api_max_body_bytes)
    app.add_middleware(BearerAuthMiddleware, tokens=tokens)
    if not tokens and is_loopback(host):
        # An open loopback server must not be reachable through a foreign host name (DNS rebinding).
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "::1", "[::1]"])
    origins = [o.strip() for o in (settings.api_cors_origins or "").split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version", "Last-Event-ID"],
            expose_headers=["X-Conversation-Id", "Mcp-Session-Id"],
        )
    return app
