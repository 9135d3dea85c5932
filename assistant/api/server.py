"""Server: the `assistant serve` and `assistant mcp` commands.

`serve` checks the token configuration first — a non-loopback address without tokens is refused
with a German message and exit code 2, before anything is loaded — then runs the FastAPI app with
uvicorn. `mcp` serves the MCP tools over stdin/stdout for MCP clients that start the server
themselves; model and index load in the background so the client's handshake is answered at once.
"""

from __future__ import annotations

import logging
import sys
import threading

from assistant.settings import Settings

EXIT_OK, EXIT_INPUT = 0, 2


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    from assistant.api.auth import TokenConfigError, is_loopback, load_tokens, refuse_open_bind_message

    host = host or settings.api_host
    port = port or settings.api_port
    try:
        tokens = load_tokens(settings)
    except TokenConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    if not tokens and not is_loopback(host):
        print(refuse_open_bind_message(host), file=sys.stderr)
        return EXIT_INPUT

    import uvicorn

    from assistant.api.app import create_app

    app = create_app(settings, tokens=tokens, host=host)
    shown = f"[{host}]" if ":" in host else host
    print(
        f"Roadmap-Lotse-API auf http://{shown}:{port} – Dokumentation /docs, OpenAI-kompatibel /v1, MCP /mcp"
        + (" – Zugang nur mit Token" if tokens else " – ohne Token (nur von diesem Rechner erreichbar)"),
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)  # exits 1 if the port is taken
    return EXIT_OK


def mcp_stdio(settings: Settings) -> int:
    from assistant.api.gateway import Gateway
    from assistant.api.mcp_server import run_stdio
    from assistant.errors import AssistantUnavailable
    from assistant.service import AssistantService

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    service = AssistantService(settings)

    def warm() -> None:
        try:
            service.warm_up()
        except AssistantUnavailable as exc:  # each tool call then reports it
            print(str(exc), file=sys.stderr, flush=True)

    threading.Thread(target=warm, name="warm-up", daemon=True).start()
    run_stdio(Gateway(service, settings))
    return EXIT_OK
