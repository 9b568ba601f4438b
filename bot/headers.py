"""Security headers on every answer of the gateway, errors and crashes included.

A pure ASGI middleware, so it also covers what no route handles: static files, unknown paths,
405s, server-sent events and the 500 page of an unexpected error. The inbox gets a strict CSP
(scripts and styles only from our own files, no inline code, never framed); the JSON API and the
webhooks, which serve no HTML, get a CSP that allows nothing at all. Nothing that holds personal
data may be cached: everything is ``no-store`` except the inbox's static files.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INBOX_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; "
    "object-src 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
COMMON = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
INBOX = {
    **COMMON,
    "Content-Security-Policy": INBOX_CSP,
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-store",
}
API = {**COMMON, "Content-Security-Policy": API_CSP, "Cache-Control": "no-store"}
# Scripts and styles hold no personal data; the browser may keep them but must revalidate.
STATIC = {**INBOX, "Cache-Control": "no-cache"}
HSTS = "max-age=31536000"


def headers_for(path: str) -> dict[str, str]:
    if path.startswith("/inbox/static/"):
        return STATIC
    if path == "/inbox" or path.startswith("/inbox/"):
        return INBOX
    return API


class SecurityHeaders:
    """Adds the headers for the request's path unless the answer already set that header.

    ``hsts``: also send Strict-Transport-Security (when the public URL is https)."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = dict(headers_for(scope["path"]))
        if self.hsts:
            extra["Strict-Transport-Security"] = HSTS
        wanted = [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((k, v) for k, v in wanted if k not in present),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # Starlette's error middleware (outside this one) would answer without our headers:
            # answer the 500 here, then let the error travel on to be logged.
            if not started:
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                    }
                )
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
            raise
