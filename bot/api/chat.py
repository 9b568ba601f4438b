"""The web chat API (design.md §5): the ``web`` channel, also used to try the bot.

``POST /api/chat/{session}/messages`` stores the message, wakes the worker and waits until it
has been processed (at most ``BAKEN_CHAT_WAIT_SECONDS``). If the engine is down the message is
kept: the answer is 202 with ``"pending": true`` and the replies arrive later through
``GET /api/chat/{session}/messages``. ``?wait=N`` waits at most N seconds (0: do not wait).
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.api import accept, services
from bot.channels.web import ChatRequest, WebChannel
from bot.services import Services
from bot.storage.models import Contact, Direction, InStatus, Message
from bot.storage.repo import find_contact, open_handoff
from bot.urn import InvalidURN, normalize

router = APIRouter(prefix="/api/chat")
web = WebChannel()
POLL_SECONDS = 0.03
ANSWERED = (InStatus.HANDLED, InStatus.HELD, InStatus.AWAITING_CONSENT)


class ButtonOut(BaseModel):
    title: str
    payload: str


class ReplyOut(BaseModel):
    id: int
    text: str
    buttons: list[ButtonOut]


class ChatResponse(BaseModel):
    replies: list[ReplyOut]
    topic: str | None
    urgent: bool
    handoff: bool
    lang: str
    pending: bool = False


def _reply(message: Message) -> ReplyOut:
    return ReplyOut(
        id=message.id,
        text=message.text or "",
        buttons=[ButtonOut(**b) for b in message.buttons or []],
    )


def _answer(session: Session, svc: Services, inbound: Message) -> ChatResponse:
    replies = session.scalars(
        select(Message)
        .where(Message.in_reply_to_id == inbound.id, Message.direction == Direction.OUT)
        .order_by(Message.id)
    ).all()
    contact = session.get_one(Contact, inbound.contact_id)
    return ChatResponse(
        replies=[_reply(m) for m in replies],
        topic=inbound.topic,
        urgent=inbound.urgent,
        handoff=open_handoff(session, inbound.conversation_id) is not None,
        lang=contact.lang or svc.settings.default_lang,
        pending=inbound.status not in ANSWERED,
    )


def _session_urn(session_id: str) -> str:
    try:
        return normalize(f"web:{session_id}")
    except InvalidURN as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


@router.post("/{session_id}/messages", response_model=ChatResponse)
def post_message(
    session_id: str,
    body: ChatRequest,
    svc: Annotated[Services, Depends(services)],
    wait: Annotated[float | None, Query(ge=0, description="Seconds to wait for replies")] = None,
) -> Any:
    started = time.perf_counter()
    _session_urn(session_id)
    if body.lang is not None and body.lang not in svc.renderer.catalogs.languages:
        raise HTTPException(
            status_code=422,
            detail=f"unsupported language; choose one of {svc.renderer.catalogs.languages}",
        )
    message_id = accept(svc, web.parse_inbound(session_id, body), started)
    limit = svc.settings.chat_wait_seconds
    deadline = time.monotonic() + (limit if wait is None else min(wait, limit))
    while True:
        with svc.sessions() as session:
            message = session.get_one(Message, message_id)
            if message.status in ANSWERED or (time.monotonic() >= deadline):
                answer = _answer(session, svc, message)
                break
        time.sleep(POLL_SECONDS)
    if answer.pending:
        return JSONResponse(answer.model_dump(), status_code=202)
    return answer


@router.get("/{session_id}/messages", response_model=list[ReplyOut])
def get_messages(
    session_id: str,
    svc: Annotated[Services, Depends(services)],
    after: Annotated[int, Query(ge=0)] = 0,
) -> list[ReplyOut]:
    """Replies to this session with an id greater than ``after`` (for late or pushed replies)."""
    urn = _session_urn(session_id)
    with svc.sessions() as session:
        contact = find_contact(session, svc.keys, urn)
        if contact is None:
            return []
        rows = session.scalars(
            select(Message)
            .where(
                Message.contact_id == contact.id,
                Message.direction == Direction.OUT,
                Message.id > after,
            )
            .order_by(Message.id)
        ).all()
        return [_reply(m) for m in rows]
