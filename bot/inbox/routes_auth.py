"""Login (password, then TOTP when the account has one), logout and the UI language.

``POST /inbox/login`` takes the form fields ``username`` and ``password`` (design.md §5). There
is no session yet to hold a CSRF token, so a login from another site is refused by the
browser's ``Sec-Fetch-Site``/``Origin`` headers instead; the session cookie is SameSite=Strict.
"""

from __future__ import annotations

import asyncio
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from bot.inbox import security
from bot.inbox.conversation import audit
from bot.inbox.i18n import N_, UI_LANGUAGES
from bot.inbox.web import (
    COOKIE,
    Actor,
    InboxRoute,
    LoginRequired,
    counsellor,
    limits,
    render,
    services,
)
from bot.storage.models import InboxSession, InboxUser
from bot.storage.repo import now

router = APIRouter(route_class=InboxRoute)
throttle = security.Throttle()


def _set_cookie(request: Request, response: Response, token: str) -> None:
    secure = services(request).settings.public_url.startswith("https://")
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/inbox"
    )


def _same_origin(request: Request) -> bool:
    """Browsers say where a form came from (Sec-Fetch-Site, else Origin); other clients don't."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc == request.headers.get("host")


def _login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    return render(
        request,
        "login.html",
        {"error": error, "expired": request.query_params.get("expired") == "1"},
        status_code=status,
    )


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=60)],
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    if not _same_origin(request):
        raise HTTPException(status_code=403, detail=N_("This login form came from another site."))
    client = request.client.host if request.client else "?"
    if throttle.blocked(client):
        return _login_page(request, "throttled", status=429)
    svc = services(request)
    with svc.sessions.begin() as db:
        result, user = security.check_login(db, username, password, limits(svc.settings))
        if result != security.LoginResult.OK or user is None:
            throttle.failed(client)
            if user is not None:
                audit(db, None, f"login-{result}", None, f"user:{user.id}")
            error, status = {
                security.LoginResult.LOCKED: ("locked", 403),
                security.LoginResult.DISABLED: ("disabled", 403),
            }.get(result, ("bad", 401))
            return _login_page(request, error, status=status)
        token = security.start_session(db, user, request.cookies.get(COOKIE))
        audit(db, None, "login", None, f"user:{user.id}")
        needs_code = user.totp_secret is not None
    response = RedirectResponse("/inbox/login/totp" if needs_code else "/inbox/", status_code=303)
    _set_cookie(request, response, token)
    return response


def _pending_login(request: Request) -> tuple[InboxSession, InboxUser]:
    svc = services(request)
    with svc.sessions.begin() as db:
        found = security.load_session(db, request.cookies.get(COOKIE), limits(svc.settings))
        if found is None or not found[0].mfa_pending:
            raise LoginRequired
        return found


async def pending_login(request: Request) -> InboxSession:
    """The session of a login that still needs its TOTP code."""
    row, _user = await asyncio.to_thread(_pending_login, request)
    return row


@router.get("/login/totp")
def totp_form(request: Request, row: Annotated[InboxSession, Depends(pending_login)]) -> Response:
    return render(request, "totp.html", {"csrf_pending": row.csrf_token, "error": None})


@router.post("/login/totp")
def totp_check(
    request: Request,
    row: Annotated[InboxSession, Depends(pending_login)],
    code: Annotated[str, Form(max_length=12)],
    csrf: Annotated[str, Form(max_length=100)],
) -> Response:
    if not security.same_token(csrf, row.csrf_token):
        raise HTTPException(status_code=403, detail="csrf")
    svc = services(request)
    with svc.sessions.begin() as db:
        session_row = db.get_one(InboxSession, row.id)
        user = db.get_one(InboxUser, row.user_id)
        if user.totp_secret and security.verify_totp(user.totp_secret, code):
            # The full session gets a new token; the half-logged-in one dies.
            token = security.start_session(db, user, request.cookies.get(COOKIE), code_checked=True)
            user.failed_logins = 0
            response = RedirectResponse("/inbox/", status_code=303)
            _set_cookie(request, response, token)
            return response
        user.failed_logins += 1
        if user.failed_logins >= svc.settings.inbox_max_failed_logins:
            user.locked_until = now() + limits(svc.settings).lockout
            user.failed_logins = 0
            session_row.revoked_at = now()
        audit(db, None, "login-bad-code", None, f"user:{user.id}")
    return render(
        request, "totp.html", {"csrf_pending": row.csrf_token, "error": "bad"}, status_code=401
    )


@router.post("/logout")
async def logout(request: Request, actor: Annotated[Actor, Depends(counsellor)]) -> Response:
    def revoke() -> None:
        svc = services(request)
        with svc.sessions.begin() as db:
            db.get_one(InboxSession, actor.session_id).revoked_at = now()
            audit(db, actor, "logout", None)

    await asyncio.to_thread(revoke)
    response = RedirectResponse("/inbox/login", status_code=303)
    response.delete_cookie(COOKIE, path="/inbox")
    return response


@router.post("/preferences")
def preferences(
    request: Request,
    actor: Annotated[Actor, Depends(counsellor)],
    ui_lang: Annotated[str, Form(max_length=8)],
    next_path: Annotated[str, Form(alias="next", max_length=300)] = "/inbox/",
) -> Response:
    if ui_lang not in UI_LANGUAGES:
        raise HTTPException(status_code=422, detail="ui_lang")
    with services(request).sessions.begin() as db:
        db.get_one(InboxUser, actor.user_id).ui_lang = ui_lang
    safe = next_path.startswith("/inbox/") and "//" not in next_path and "\\" not in next_path
    return RedirectResponse(next_path if safe else "/inbox/", status_code=303)
