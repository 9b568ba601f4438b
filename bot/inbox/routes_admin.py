"""Supervisor and admin pages: dashboard, audit log, canned replies, accounts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from bot.inbox import security
from bot.inbox.conversation import audit
from bot.inbox.dashboard import stats
from bot.inbox.i18n import N_
from bot.inbox.web import Actor, InboxRoute, admin, render, services, supervisor
from bot.storage.models import AuditEvent, CannedReply, InboxUser

router = APIRouter(route_class=InboxRoute)


@router.get("/dashboard")
def dashboard(
    request: Request,
    actor: Annotated[Actor, Depends(supervisor)],
    days: Annotated[int, Query(ge=1, le=365)] = 7,
) -> Response:
    svc = services(request)
    with svc.sessions() as db:
        numbers = stats(db, svc.settings, days)
    return render(request, "dashboard.html", {"s": numbers, "days": days}, actor=actor)


@router.get("/audit")
def audit_log(
    request: Request,
    actor: Annotated[Actor, Depends(supervisor)],
    conversation: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    svc = services(request)
    with svc.sessions() as db:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500)
        if conversation is not None:
            query = query.where(AuditEvent.conversation_id == conversation)
        events = db.scalars(query).all()
        names = dict(db.execute(select(InboxUser.id, InboxUser.username)).all())
    return render(
        request,
        "audit.html",
        {"events": events, "names": names, "conversation": conversation},
        actor=actor,
    )


@router.get("/canned")
def canned_list(request: Request, actor: Annotated[Actor, Depends(supervisor)]) -> Response:
    svc = services(request)
    with svc.sessions() as db:
        replies = db.scalars(select(CannedReply).order_by(CannedReply.lang, CannedReply.title))
        context = {
            "replies": list(replies),
            "languages": svc.renderer.catalogs.languages,
        }
    return render(request, "canned.html", context, actor=actor)


@router.post("/canned")
def canned_create(
    request: Request,
    actor: Annotated[Actor, Depends(supervisor)],
    lang: Annotated[str, Form(max_length=8)],
    title: Annotated[str, Form(min_length=1, max_length=80)],
    text: Annotated[str, Form(min_length=1, max_length=4000)],
) -> Response:
    svc = services(request)
    if lang not in svc.renderer.catalogs.languages:
        raise HTTPException(status_code=422, detail="lang")
    with svc.sessions.begin() as db:
        db.add(CannedReply(lang=lang, title=title.strip(), text=text.strip()))
        audit(db, actor, "canned-add", None, f"lang:{lang}")
    return RedirectResponse("/inbox/canned", status_code=303)


@router.post("/canned/{reply_id}/delete")
def canned_delete(
    request: Request, reply_id: int, actor: Annotated[Actor, Depends(supervisor)]
) -> Response:
    with services(request).sessions.begin() as db:
        row = db.get(CannedReply, reply_id)
        if row is None:
            raise HTTPException(status_code=404)
        db.delete(row)
        audit(db, actor, "canned-delete", None, f"canned:{reply_id}")
    return RedirectResponse("/inbox/canned", status_code=303)


@router.get("/users")
def users(request: Request, actor: Annotated[Actor, Depends(admin)]) -> Response:
    with services(request).sessions() as db:
        accounts = db.scalars(select(InboxUser).order_by(InboxUser.username)).all()
    return render(request, "users.html", {"accounts": accounts}, actor=actor)


@router.post("/users/{user_id}/disable")
def disable_user(
    request: Request, user_id: int, actor: Annotated[Actor, Depends(admin)]
) -> Response:
    if user_id == actor.user_id:
        raise HTTPException(status_code=409, detail=N_("You cannot disable your own account."))
    with services(request).sessions.begin() as db:
        user = db.get(InboxUser, user_id)
        if user is None:
            raise HTTPException(status_code=404)
        user.disabled = True
        security.revoke_sessions(db, user_id)
        audit(db, actor, "user-disable", None, f"user:{user_id}")
    return RedirectResponse("/inbox/users", status_code=303)
