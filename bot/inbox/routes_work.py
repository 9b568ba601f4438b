"""The counsellor's daily work: queues, a conversation, claim/assign/reply/notes/close, and the
live event stream that tells open pages to refresh their parts."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.inbox import appointments, queues, security
from bot.inbox import conversation as conv
from bot.inbox.i18n import N_
from bot.inbox.web import COOKIE, Actor, InboxRoute, counsellor, limits, render, services
from bot.services import Services
from bot.storage.models import AuditEvent, Handoff, HandoffStatus, Message, Note

router = APIRouter(route_class=InboxRoute)
STREAM_SECONDS = 25.0  # a stream ends after this; the browser reconnects (EventSource retry)
POLL_SECONDS = 1.0
CONFLICT_TEXT = {
    "closed": N_("This conversation is closed: it is back with the bot."),
    "taken": N_("Another counsellor has already claimed this conversation."),
    "not-yours": N_("This conversation is assigned to another counsellor."),
    "no-such-user": N_("That counsellor does not exist or is disabled."),
    "empty": N_("The text is empty."),
    "too-long": N_("The text is too long."),
    "window-closed": N_("The WhatsApp 24-hour window is closed: free text cannot be sent."),
    "outcome": N_("Choose an outcome."),
    "appointment-kind": N_("Choose appointment, flight or call-back."),
    "appointment-time": N_("The date, time or time zone is not valid."),
    "appointment-past": N_("The appointment must be in the future."),
}


def _view(name: str) -> str:
    if name not in queues.VIEWS:
        raise HTTPException(status_code=404, detail="No such queue.")
    return name


def _queue_context(svc: Services, actor: Actor, view: str) -> dict[str, object]:
    with svc.sessions() as db:
        return {
            "view": view,
            "views": queues.VIEWS,
            "rows": queues.queue(db, svc.settings, view, actor.user_id),
            "counts": queues.counts(db, actor.user_id),
        }


@router.get("/")
def queue_page(
    request: Request,
    actor: Annotated[Actor, Depends(counsellor)],
    view: Annotated[str, Query(max_length=20)] = "open",
) -> Response:
    context = _queue_context(services(request), actor, _view(view))
    return render(request, "queue.html", context, actor=actor)


@router.get("/queue")
def queue_partial(
    request: Request,
    actor: Annotated[Actor, Depends(counsellor)],
    view: Annotated[str, Query(max_length=20)] = "open",
) -> Response:
    context = _queue_context(services(request), actor, _view(view))
    return render(request, "_queue_table.html", context, actor=actor)


def _fingerprint(svc: Services, token: str | None) -> str | None:
    """A value that changes whenever anything an inbox page shows changes; None: logged out."""
    with svc.sessions.begin() as db:
        found = security.load_session(db, token, limits(svc.settings))
        if found is None or found[0].mfa_pending:
            return None
        messages = db.execute(select(func.max(Message.id), func.max(Message.updated_at))).one()
        handoffs = db.execute(select(func.count(Handoff.id), func.max(Handoff.updated_at))).one()
        notes = db.scalar(select(func.max(Note.id)))
        waiting = db.scalar(
            select(func.count(Handoff.id)).where(Handoff.status == HandoffStatus.WAITING)
        )
        urgent = db.scalar(
            select(func.count(Handoff.id)).where(Handoff.is_open, Handoff.urgent.is_(True))
        )
    version = f"{tuple(messages)}{tuple(handoffs)}{notes}"
    return json.dumps({"v": version, "waiting": waiting, "urgent": urgent})


@router.get("/events")
async def events(request: Request, actor: Annotated[Actor, Depends(counsellor)]) -> Response:
    """Server-sent events: ``change`` when something changed, ``logout`` when the session ended."""
    svc = services(request)
    token = request.cookies.get(COOKIE)

    async def stream() -> AsyncIterator[str]:
        yield "retry: 1500\n\n"
        last: str | None = None
        started = time.monotonic()
        while time.monotonic() - started < STREAM_SECONDS:
            if await request.is_disconnected():
                return
            state = await asyncio.to_thread(_fingerprint, svc, token)
            if state is None:
                yield "event: logout\ndata: {}\n\n"
                return
            if state != last:
                yield f"event: change\ndata: {state}\n\n"
                last = state
            else:
                yield ": keep-alive\n\n"
            await asyncio.sleep(POLL_SECONDS)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-store"},
    )


def _load(svc: Services, actor: Actor, conversation_id: int, *, full: bool) -> conv.View:
    """A conversation for the page (``full``) or its live-refreshed transcript.

    Every page load is audited; a transcript fetched on its own is audited once per login
    session, so the live refreshes of an open page do not flood the log but a transcript read
    without the page still leaves a trace."""
    with svc.sessions.begin() as db:
        try:
            view = conv.load_view(db, svc, conversation_id, full=full)
        except conv.NotFound as exc:
            raise HTTPException(status_code=404) from exc
        session_code = f"session:{actor.session_id}"
        seen = db.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "view",
                AuditEvent.conversation_id == conversation_id,
                AuditEvent.detail == session_code,
            )
        )
        if full or seen is None:
            conv.audit(db, actor, "view", conversation_id, session_code)
        return view


@router.get("/conversations/{conversation_id}")
def conversation_page(
    request: Request, conversation_id: int, actor: Annotated[Actor, Depends(counsellor)]
) -> Response:
    svc = services(request)
    view = _load(svc, actor, conversation_id, full=True)
    with svc.sessions() as db:
        booked = appointments.listing(db, conversation_id)
    return render(
        request,
        "conversation.html",
        {
            "c": view,
            "outcomes": conv.OUTCOMES,
            "notice": request.query_params.get("done"),
            "appointments": booked,
            "kinds": appointments.KINDS,
            "default_timezone": svc.settings.default_timezone,
        },
        actor=actor,
    )


@router.get("/conversations/{conversation_id}/transcript")
def transcript_partial(
    request: Request, conversation_id: int, actor: Annotated[Actor, Depends(counsellor)]
) -> Response:
    view = _load(services(request), actor, conversation_id, full=False)
    return render(request, "_transcript.html", {"c": view}, actor=actor)


def _act(
    request: Request, conversation_id: int, action: Callable[[Session], object], done: str
) -> Response:
    svc = services(request)
    try:
        with svc.sessions.begin() as db:
            result = action(db)
    except conv.NotFound as exc:
        raise HTTPException(status_code=404) from exc
    except conv.Conflict as exc:
        raise HTTPException(status_code=409, detail=CONFLICT_TEXT.get(exc.code)) from exc
    if done == "closed" and isinstance(result, int):
        conv.resume(svc, result)
    return RedirectResponse(f"/inbox/conversations/{conversation_id}?done={done}", status_code=303)


@router.post("/conversations/{conversation_id}/claim")
def claim(
    request: Request, conversation_id: int, actor: Annotated[Actor, Depends(counsellor)]
) -> Response:
    return _act(
        request, conversation_id, lambda db: conv.claim(db, actor, conversation_id), "claimed"
    )


@router.post("/conversations/{conversation_id}/assign")
def assign(
    request: Request,
    conversation_id: int,
    actor: Annotated[Actor, Depends(counsellor)],
    user_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    if user_id and not user_id.isdigit():
        raise HTTPException(status_code=422, detail="user_id")
    target = int(user_id) if user_id else None
    return _act(
        request,
        conversation_id,
        lambda db: conv.assign(db, actor, conversation_id, target),
        "assigned",
    )


@router.post("/conversations/{conversation_id}/reply")
def reply(
    request: Request,
    conversation_id: int,
    actor: Annotated[Actor, Depends(counsellor)],
    text: Annotated[str, Form(max_length=conv.MAX_TEXT)],
) -> Response:
    svc = services(request)
    return _act(
        request,
        conversation_id,
        lambda db: conv.reply(db, svc, actor, conversation_id, text),
        "replied",
    )


@router.post("/conversations/{conversation_id}/notes")
def add_note(
    request: Request,
    conversation_id: int,
    actor: Annotated[Actor, Depends(counsellor)],
    text: Annotated[str, Form(max_length=conv.MAX_TEXT)],
) -> Response:
    return _act(
        request,
        conversation_id,
        lambda db: conv.add_note(db, actor, conversation_id, text),
        "noted",
    )


@router.post("/conversations/{conversation_id}/close")
def close(
    request: Request,
    conversation_id: int,
    actor: Annotated[Actor, Depends(counsellor)],
    outcome: Annotated[str, Form(max_length=40)],
) -> Response:
    svc = services(request)
    return _act(
        request,
        conversation_id,
        lambda db: conv.close(db, svc, actor, conversation_id, outcome),
        "closed",
    )


@router.post("/conversations/{conversation_id}/appointments")
def schedule_appointment(
    request: Request,
    conversation_id: int,
    actor: Annotated[Actor, Depends(counsellor)],
    kind: Annotated[str, Form(max_length=20)],
    day: Annotated[str, Form(max_length=10)],
    at: Annotated[str, Form(max_length=5)],
    zone: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    settings = services(request).settings
    return _act(
        request,
        conversation_id,
        lambda db: appointments.schedule(
            db, settings, actor, conversation_id, kind=kind, day=day, at=at, zone=zone
        ),
        "scheduled",
    )


@router.post("/conversations/{conversation_id}/appointments/{appointment_id}/cancel")
def cancel_appointment(
    request: Request,
    conversation_id: int,
    appointment_id: int,
    actor: Annotated[Actor, Depends(counsellor)],
) -> Response:
    return _act(
        request,
        conversation_id,
        lambda db: appointments.cancel(db, actor, conversation_id, appointment_id),
        "appointment-cancelled",
    )
