"""Auth: bearer tokens for the HTTP server, and the rule that only loopback may run without them.

Tokens come from `ASSISTANT_API_TOKENS` (comma-separated) and/or the file named by
`ASSISTANT_API_TOKENS_FILE` (one per line, `#` starts a comment). A request's token is compared
with every configured token in constant time (`hmac.compare_digest`), so timing does not reveal
how much of a guess was right. Tokens are never logged or echoed; requests are told apart only by
a short hash of their token (to keep one client's conversations from another's).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from assistant.settings import Settings

# Reachable without a token even when tokens are set: liveness, and the API description (no data).
PUBLIC_PATHS = frozenset({"/healthz", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json"})
PUBLIC_PREFIXES = ("/static-offline-docs/",)

UNAUTHORIZED_MESSAGE = (
    "Zugang verweigert: Bitte ein gültiges Zugangstoken mitsenden (Kopfzeile „Authorization: Bearer <Token>“). "
    "Das Token vergibt, wer den Roadmap-Lotse-Server betreibt."
)


class TokenConfigError(ValueError):
    """The configured tokens cannot be used; the message (German) says why and what to do."""


@dataclass(frozen=True)
class TokenSet:
    tokens: tuple[bytes, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.tokens)

    def match(self, presented: str) -> str | None:
        """A short fingerprint of the matching token, or None. Every token is compared, always."""
        candidate = presented.encode("utf-8")
        found = None
        for token in self.tokens:
            if hmac.compare_digest(candidate, token):
                found = token
        return hashlib.sha256(found).hexdigest()[:12] if found is not None else None


def load_tokens(settings: Settings) -> TokenSet:
    values: list[str] = []
    if settings.api_tokens is not None:
        values += [v.strip() for v in settings.api_tokens.get_secret_value().split(",")]
    if settings.api_tokens_file is not None:
        path = settings.api_tokens_file
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise TokenConfigError(
                f"Die Token-Datei {path} (ASSISTANT_API_TOKENS_FILE) ist nicht lesbar ({exc.strerror or exc})."
            ) from exc
        values += [line.split("#", 1)[0].strip() for line in lines]
    values = [v for v in values if v]
    short = sum(1 for v in values if len(v) < settings.api_min_token_chars)
    if short:
        raise TokenConfigError(
            f"{short} Zugangstoken ist/sind kürzer als {settings.api_min_token_chars} Zeichen und damit zu leicht zu erraten. "
            "Bitte längere Token verwenden, z. B. erzeugt mit: openssl rand -hex 32"
        )
    if any(any(ch.isspace() or ord(ch) < 33 for ch in v) for v in values):
        raise TokenConfigError("Zugangstoken dürfen keine Leer- oder Steuerzeichen enthalten.")
    return TokenSet(tuple(dict.fromkeys(v.encode("utf-8") for v in values)))


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, 'localhost')."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything


def refuse_open_bind_message(host: str) -> str:
    return (
        f"Der Server soll auf {host} lauschen und wäre damit von anderen Rechnern erreichbar – dafür ist ein Zugangstoken nötig. "
        "Bitte ASSISTANT_API_TOKENS (kommagetrennt) oder ASSISTANT_API_TOKENS_FILE (eine Datei, ein Token je Zeile) setzen, "
        "oder nur lokal starten mit --host 127.0.0.1."
    )


class BearerAuthMiddleware:
    """Pure ASGI middleware (streams pass through untouched): every HTTP request outside the public
    paths needs `Authorization: Bearer <token>`; otherwise 401 with a German message. The matching
    token's fingerprint is put into `scope["state"]["client"]`."""

    def __init__(self, app: ASGIApp, tokens: TokenSet):
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        client = ""
        if self.tokens and path not in PUBLIC_PATHS and not path.startswith(PUBLIC_PREFIXES):
            header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            scheme, _, presented = header.partition(" ")
            fingerprint = self.tokens.match(presented.strip()) if scheme.lower() == "bearer" else None
            if fingerprint is None:
                await _send_401(send)
                return
            client = fingerprint
        scope.setdefault("state", {})["client"] = client
        await self.app(scope, receive, send)


async def _send_401(send: Send) -> None:
    body = json.dumps(
        {"detail": UNAUTHORIZED_MESSAGE, "error": {"message": UNAUTHORIZED_MESSAGE, "type": "authentication_error", "code": "unauthorized"}},
        ensure_ascii=False,
    ).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="roadmap-lotse"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
