"""Shared web plumbing for the inbox: templates, the session guard, CSRF.

Every inbox route goes through ``InboxRoute``: it turns the guard's exceptions into answers a
browser understands (a redirect to the login page for pages, 401 for background fetches, a
readable error page otherwise). The security headers come from ``bot.headers`` (every answer).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot.config import Settings
from bot.inbox import security
from bot.inbox.i18n import N_, RTL_LANGUAGES, UiCatalogs, pick_language
from bot.services import Services
from bot.storage.models import Role
from bot.storage.repo import now

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
COOKIE = "baken_inbox"
AUTO_HEADER = "x-inbox-auto"  # set by the page's own background fetches (not user activity)

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.globals["tz"] = ZoneInfo  # local times of appointments, in the person's zone
_catalogs: UiCatalogs | None = None


def catalogs(settings: Settings) -> UiCatalogs:
    global _catalogs
    if _catalogs is None:
        _catalogs = UiCatalogs(settings.project_dir / "locales")
    return _catalogs


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def limits(settings: Settings) -> security.Limits:
    return security.Limits(
        idle=timedelta(minutes=settings.inbox_idle_minutes),
        lifetime=timedelta(hours=settings.inbox_session_hours),
        max_failures=settings.inbox_max_failed_logins,
        lockout=timedelta(minutes=settings.inbox_lockout_minutes),
    )


@dataclass(frozen=True)
class Actor:
    """The logged-in user of this request."""

    user_id: int
    username: str
    role: str
    session_id: int
    csrf: str
    lang: str

    def can(self, role: Role) -> bool:
        return security.has_role(self.role, role)


class LoginRequired(Exception):
    def __init__(self, reason: str = "") -> None:
        self.reason = reason


class Forbidden(Exception):
    pass


def is_background(request: Request) -> bool:
    return request.headers.get(AUTO_HEADER) == "1" or request.url.path.endswith("/events")


def _authenticate(request: Request, needed: Role) -> Actor:
    svc = services(request)
    token = request.cookies.get(COOKIE)
    with svc.sessions.begin() as db:
        found = security.load_session(db, token, limits(svc.settings))
        if found is None:
            raise LoginRequired("expired" if token else "")
        row, user = found
        if row.mfa_pending:
            raise LoginRequired("mfa")
        if not is_background(request):
            row.last_seen_at = now()  # idle timeout counts from the last human action
        actor = Actor(
            user_id=user.id,
            username=user.username,
            role=user.role,
            session_id=row.id,
            csrf=row.csrf_token,
            lang=pick_language(request.headers.get("accept-language"), user.ui_lang),
        )
    if not actor.can(needed):
        raise Forbidden
    return actor


async def _guard(request: Request, needed: Role) -> Actor:
    actor = await asyncio.to_thread(_authenticate, request, needed)
    if request.method == "POST":
        sent = request.headers.get("x-csrf-token")
        if sent is None:
            form = await request.form()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
        if not security.same_token(sent, actor.csrf):
            raise HTTPException(status_code=403, detail="csrf")
    return actor


async def counsellor(request: Request) -> Actor:
    return await _guard(request, Role.COUNSELLOR)


async def supervisor(request: Request) -> Actor:
    return await _guard(request, Role.SUPERVISOR)


async def admin(request: Request) -> Actor:
    return await _guard(request, Role.ADMIN)


def age(moment: datetime | None) -> str:
    """A short waiting time: 45 s, 12 min, 3 h 5 min, 2 d."""
    if moment is None:
        return ""
    seconds = max(0, int((now() - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d"


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 60 else f"{seconds / 60:.1f} min"


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    actor: Actor | None = None,
    status_code: int = 200,
    lang: str | None = None,
) -> HTMLResponse:
    svc = services(request)
    lang = lang or (actor.lang if actor else pick_language(request.headers.get("accept-language")))
    html = templates.get_template(template).render(
        _=catalogs(svc.settings).gettext(lang),
        lang=lang,
        actor=actor,
        csrf=actor.csrf if actor else "",
        age=age,
        duration=duration,
        rtl=RTL_LANGUAGES,
        Role=Role,
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


ERROR_TEXT = {
    400: N_("This request could not be understood."),
    403: N_("You are not allowed to do this."),
    404: N_("This page or conversation does not exist."),
    409: N_("This cannot be done in the conversation's current state."),
    422: N_("Some fields are missing or not valid."),
    429: N_("Too many attempts. Wait a few minutes and try again."),
}


def error_page(request: Request, status: int, detail: str | None = None) -> Response:
    if status == 403 and detail == "csrf":
        detail = N_("The form expired or came from another site. Reload the page and try again.")
    return render(
        request,
        "error.html",
        {
            "status": status,
            "message": ERROR_TEXT.get(status, N_("Something went wrong.")),
            "detail": detail,
        },
        status_code=status,
    )


class InboxRoute(APIRoute):
    """Maps guard failures to browser answers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except LoginRequired as exc:
                if is_background(request):
                    response = Response(status_code=401)
                else:
                    target = "/inbox/login/totp" if exc.reason == "mfa" else "/inbox/login"
                    if exc.reason == "expired":
                        target += "?expired=1"
                    response = RedirectResponse(target, status_code=303)
            except Forbidden:
                response = error_page(request, 403)
            except HTTPException as exc:
                detail = exc.detail if isinstance(exc.detail, str) else None
                response = error_page(request, exc.status_code, detail)
            except RequestValidationError as exc:
                fields = sorted({str(e["loc"][-1]) for e in exc.errors() if e.get("loc")})
                response = error_page(request, 422, ", ".join(fields) or None)
            return response

        return route
