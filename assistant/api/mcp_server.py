"""MCP: Roadmap-Lotse's tools for MCP clients, built with the official `mcp` SDK (`MCPServer`).

Tools: `ask_roadmap`, `search_passages`, `get_criterion`, `list_criteria`, `list_good_practices`.
Each returns structured content (typed models or the answer contract) and carries a description in
German and English. The tools call the same `Gateway` as the HTTP API; a refused request becomes a
tool error with the German message. Served over stdio by `assistant mcp`, and over streamable HTTP
at /mcp of `assistant serve` (mounted by `assistant.api.app`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Callable

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from assistant import __version__
from assistant.api.gateway import ApiProblem, Gateway
from assistant.api.models import AskRequest, CriteriaList, CriterionDetail, GoodPracticeList, SearchRequest, SearchResponse
from assistant.domain import PhaseId

INSTRUCTIONS = (
    "Roadmap-Lotse beantwortet Fragen zur BBSR-Studie „Smart-City-Lösungen skalieren“ (Dossier und Kriterienkatalog) "
    "mit wörtlichen Belegen, Phasen (P1–P5, D) und Kriterien (K01 …). Antworten stammen nur aus der Studie. / "
    "Roadmap-Lotse answers questions about the BBSR study 'Smart-City-Lösungen skalieren' (scaling smart-city "
    "solutions) with verbatim citations, phases and criteria, from the study only."
)

Phase = Annotated[PhaseId | None, Field(description="Phase P1–P5 oder D (durchgehend) / phase P1–P5 or D (continuous)")]
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ApiProblem as exc:
        raise ToolError(exc.message) from exc


@dataclass(frozen=True)
class ToolSpec:
    """One MCP tool: `build` makes the tool function for a gateway (the function's name is the
    tool's name, its parameters and return type its schemas); title and description are shown to
    clients."""

    build: Callable[[Gateway], Callable[..., Any]]
    title: str
    description: str


TOOLS: list[ToolSpec] = []  # in the order clients list them


def _tool(title: str, description: str) -> Callable:
    """Register a tool builder in TOOLS."""

    def register(build: Callable[[Gateway], Callable[..., Any]]) -> Callable[[Gateway], Callable[..., Any]]:
        TOOLS.append(ToolSpec(build, title, description))
        return build

    return register


@_tool(
    "Frage zur Roadmap stellen / Ask the roadmap",
    "Beantwortet eine Frage zur Roadmap „Smart-City-Lösungen skalieren“ mit belegter Antwort: Text mit [n]-Verweisen, "
    "Zitate (Titel, Abschnitt, Seite, wörtlicher Text), Phasen und Kriterien (JSON-Vertrag wie /v1/ask). "
    "Findet die Studie nichts, ist abstained=true. / Answers a question about the roadmap with a cited answer "
    "(text with [n] markers, citations with title, section, page and verbatim text, phases, criteria); "
    "abstained=true when the study does not cover it.",
)
def _ask_tool(gateway: Gateway) -> Callable[..., dict[str, Any]]:
    def ask_roadmap(
        question: Annotated[str, Field(description="Frage auf Deutsch oder Englisch / question in German or English")],
        phase: Phase = None,
    ) -> dict[str, Any]:
        return _call(gateway.ask, AskRequest(question=question, phase=phase)).to_contract()

    return ask_roadmap


@_tool(
    "Textstellen suchen / Search passages",
    "Sucht die passendsten Abschnitte aus Dossier und Kriterienkatalog (hybride Suche), bestes Ergebnis zuerst, "
    "mit wörtlichem Text, Seite und Phase – ohne eine Antwort zu formulieren. / Searches the dossier and the "
    "criteria catalogue (hybrid search) and returns the best passages with verbatim text, page and phase.",
)
def _search_tool(gateway: Gateway) -> Callable[..., SearchResponse]:
    def search_passages(
        query: Annotated[str, Field(description="Suchtext / search text")],
        top_k: Annotated[int | None, Field(ge=1, le=50, description="Anzahl Treffer, 1–50 (Vorgabe 10) / number of hits")] = None,
    ) -> SearchResponse:
        return _call(gateway.search, SearchRequest(query=query, top_k=top_k))

    return search_passages


@_tool(
    "Kriterium nachschlagen / Get a criterion",
    "Liefert ein Kriterium des Katalogs (z. B. K14): Name, Phase(n), Skalierungstreiber, Handlungsfelder, "
    "Meilenstein, Kurzfassung, Good Practices, Link zur Online-Roadmap und die Dossier-Abschnitte, die es nennen. / "
    "Returns one catalogue criterion (e.g. K14) with its phases, scaling driver, workstreams, milestone flag, "
    "summary, good practices, roadmap link and the dossier passages that mention it.",
)
def _criterion_tool(gateway: Gateway) -> Callable[..., CriterionDetail]:
    def get_criterion(id: Annotated[str, Field(description="Kennung, z. B. K14 / criterion id, e.g. K14")]) -> CriterionDetail:
        return _call(gateway.criterion, id)

    return get_criterion


@_tool(
    "Kriterien auflisten / List criteria",
    "Listet die Kriterien des Katalogs, gefiltert nach Phase, Skalierungstreiber (T1–T7), Handlungsfeld "
    "(wirtschaftlich, organisatorisch, finanziell, technisch) und Meilenstein. Der Katalog kennt nicht alle 76 "
    "Kriterien der Studie namentlich (coverage_note). / Lists catalogue criteria filtered by phase, scaling driver, "
    "workstream and milestone; the catalogue names only part of the study's 76 criteria (see coverage_note).",
)
def _criteria_tool(gateway: Gateway) -> Callable[..., CriteriaList]:
    def list_criteria(
        phase: Phase = None,
        driver: Annotated[str | None, Field(description="Skalierungstreiber, z. B. T2 / scaling driver, e.g. T2")] = None,
        workstream: Annotated[
            str | None, Field(description="wirtschaftlich | organisatorisch | finanziell | technisch (workstream)")
        ] = None,
        milestone: Annotated[bool | None, Field(description="true: nur Meilensteine / only milestones")] = None,
    ) -> CriteriaList:
        return _call(gateway.criteria, phase=phase, driver=driver, workstream=workstream, milestone=bool(milestone))

    return list_criteria


@_tool(
    "Good Practices auflisten / List good practices",
    "Listet die Good-Practice-Beispiele der Roadmap (Ort, Phase, Kurzfassung, Kriterien, Link), optional nur einer Phase. / "
    "Lists the roadmap's good-practice examples (place, phase, summary, criteria, link), optionally of one phase.",
)
def _good_practices_tool(gateway: Gateway) -> Callable[..., GoodPracticeList]:
    def list_good_practices(phase: Phase = None) -> GoodPracticeList:
        return _call(gateway.good_practices, phase=phase)

    return list_good_practices


def build_mcp(gateway: Gateway) -> MCPServer:
    mcp = MCPServer(name="roadmap-lotse", title="Roadmap-Lotse", instructions=INSTRUCTIONS, version=__version__)
    for tool in TOOLS:
        mcp.add_tool(tool.build(gateway), title=tool.title, description=tool.description, annotations=_READ_ONLY)
    return mcp


def run_stdio(gateway: Gateway) -> None:
    """Serve the tools over stdin/stdout until the client closes the pipe. Nothing else may write
    to stdout: logs and progress bars go to stderr."""
    build_mcp(gateway).run("stdio")
