"""API: Roadmap-Lotse as a service for other tools — one FastAPI server with three surfaces.

- `app`            the FastAPI app factory: HTTP API under /v1, health check, docs, middleware
- `gateway`        the one place all surfaces call: limits, conversations, AssistantService, catalogue
- `openai_compat`  POST /v1/chat/completions (plain and streamed) and GET /v1/models
- `mcp_server`     the MCP tools (official `mcp` SDK), over stdio or streamable HTTP at /mcp
- `auth`           bearer tokens: loading, constant-time check, the loopback rule
- `conversations`  server-side conversations, capped in number and age
- `models`         typed request and response bodies
- `render`         the cited answer as chat text with its sources list
- `server`         `assistant serve` and `assistant mcp`
"""
