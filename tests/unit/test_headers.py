"""The security-headers middleware on its own: which headers go where, and that even the 500 of
a crashing route carries them (the full app's answers are checked in
tests/integration/test_inbox_security.py)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI, Response

from bot.headers import API_CSP, INBOX_CSP, SecurityHeaders


def make_app(hsts: bool = False) -> FastAPI:
    app = FastAPI()

    @app.get("/inbox/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    @app.get("/inbox/own")
    def own() -> Response:
        return Response("x", headers={"Cache-Control": "private, max-age=5"})

    @app.get("/api/ok")
    def ok() -> dict[str, str]:
        return {"ok": "yes"}

    app.add_middleware(SecurityHeaders, hsts=hsts)
    return app


def get(app: FastAPI, path: str, *, raise_errors: bool = False) -> httpx.Response:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=raise_errors)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.get(path)

    return asyncio.run(fetch())


def test_a_crash_is_answered_with_the_security_headers() -> None:
    response = get(make_app(), "/inbox/boom")
    assert response.status_code == 500
    assert "a bug" not in response.text
    assert response.headers["content-security-policy"] == INBOX_CSP
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_crash_still_reaches_the_error_handling() -> None:
    with pytest.raises(RuntimeError, match="a bug"):  # logged by the server, not swallowed
        get(make_app(), "/inbox/boom", raise_errors=True)


def test_api_answers_get_a_csp_that_allows_nothing_and_a_route_keeps_its_own_values() -> None:
    app = make_app()
    api = get(app, "/api/ok")
    assert api.headers["content-security-policy"] == API_CSP
    assert api.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in api.headers
    own = get(app, "/inbox/own")
    assert own.headers["cache-control"] == "private, max-age=5"
    assert own.headers.get_list("cache-control") == ["private, max-age=5"]
    assert own.headers["content-security-policy"] == INBOX_CSP


def test_hsts_only_when_served_over_https() -> None:
    response = get(make_app(hsts=True), "/inbox/own")
    assert response.headers["strict-transport-security"].startswith("max-age=")
