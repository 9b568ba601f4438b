"""One conversation in the inbox: what a counsellor sees, and what they can do with it.

Every change is written with its audit event in the same transaction. A reply is an outbound
message row (the outbox) like any bot reply; closing queues the "the assistant is back" message
and tells Rasa to resume — if Rasa is down, ``resume_pending`` stays set and the background loop
(``retry_resumes``) tries again, so a close is never lost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.engine.nlg import UnknownResponse
from bot.engine.rasa import RasaUnavailable
from bot.inbox.queues import (
    FIRST_AFTER_REPLY,
    LAST_REPLY,
    display_name,
    last_person_message,
    sla_state,
    waiting_from,
    waiting_since,
)
from bot.inbox.web import Actor
from bot.services import Services
from bot.storage.models import (
    AuditEvent,
    Author,
    CannedReply,
    Contact,
    Conversation,
    Direction,
    Handoff,
    HandoffStatus,
    InboxUser,
    Intake,
    Message,
    Note,
    OutStatus,
    Role,
)
from bot.storage.repo import now

log = logging.getLogger(__name__)

OUTCOMES = ("answered", "referred", "application_started", "no_response", "not_eligible", "other")
CLOSED_RESPONSE = "utter_handoff_closed"
CLOSED_FALLBACK = (
    "The counsellor has closed this conversation. You are talking to the IOM assistant again; "
    "write at any time if you need a person."
)
WHATSAPP_WINDOW = timedelta(hours=24)
MAX_TEXT = 4000


class Conflict(Exception):
    """The action does not fit the conversation's state; ``code`` says why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class NotFound(Exception):
    pass


@dataclass(frozen=True)
class Line:
    id: int
    author: str
    text: str
    created_at: datetime
    status: str
    direction: str
    urgent: bool
    buttons: list[str]
    lang: str | None


@dataclass(frozen=True)
class View:
    conversation: Conversation
    contact: Contact
    who: str
    handoff: Handoff | None
    assignee: str | None
    channel: str
    lang: str
    lines: list[Line]
    intake: dict[str, Any] | None
    notes: list[tuple[str, datetime, str]]
    canned: list[CannedReply]
    users: list[tuple[int, str]]
    sla: str
    waiting_since: datetime | None
    window_open: bool | None  # WhatsApp 24-hour window; None on other channels

    @property
    def is_open(self) -> bool:
        return self.handoff is not None and self.handoff.is_open


def audit(
    session: Session,
    actor: Actor | None,
    action: str,
    conversation_id: int | None,
    detail: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            user_id=actor.user_id if actor else None,
            action=action,
            conversation_id=conversation_id,
            detail=detail,
        )
    )
    log.info(
        "inbox action",
        extra={
            "action": action,
            "user_id": actor.user_id if actor else None,
            "conversation_id": conversation_id,
        },
    )


def latest_handoff(session: Session, conversation_id: int) -> Handoff | None:
    return session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.id.desc())
        .limit(1)
    )


def _lines(session: Session, conversation_id: int) -> list[Line]:
    messages = session.scalars(
        select(Message).where(Message.conversation_id == conversation_id).order_by(Message.id)
    ).all()
    return [
        Line(
            id=m.id,
            author=m.author,
            text=m.text or m.payload or "",
            created_at=m.created_at,
            status=m.status,
            direction=m.direction,
            urgent=m.urgent,
            buttons=[b.get("title", "") for b in m.buttons or []],
            lang=m.lang,
        )
        for m in messages
    ]


def channel_of(session: Session, conversation: Conversation, contact: Contact) -> str:
    last = last_person_message(session, conversation.id)
    return last.channel if last else contact.scheme


def window_open(channel: str, contact: Contact) -> bool | None:
    if channel != "whatsapp":
        return None
    last = contact.last_inbound_at
    return last is not None and now() - last < WHATSAPP_WINDOW


def load_view(session: Session, svc: Services, conversation_id: int, *, full: bool) -> View:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound
    contact = session.get_one(Contact, conversation.contact_id)
    handoff = latest_handoff(session, conversation_id)
    lang = contact.lang or svc.settings.default_lang
    channel = channel_of(session, conversation, contact)
    since = waiting_since(session, handoff) if handoff else None
    intake = session.scalar(
        select(Intake).where(Intake.conversation_id == conversation_id).order_by(Intake.id.desc())
    )
    users = session.execute(
        select(InboxUser.id, InboxUser.username)
        .where(InboxUser.disabled.is_(False))
        .order_by(InboxUser.username)
    ).all()
    names = dict(users)
    notes = (
        [
            (names.get(n.author_id or 0, "—"), n.created_at, n.text)
            for n in session.scalars(
                select(Note).where(Note.conversation_id == conversation_id).order_by(Note.id)
            )
        ]
        if full
        else []
    )
    canned = (
        list(
            session.scalars(
                select(CannedReply).where(CannedReply.lang == lang).order_by(CannedReply.title)
            )
        )
        if full
        else []
    )
    return View(
        conversation=conversation,
        contact=contact,
        who=display_name(contact),
        handoff=handoff,
        assignee=names.get(handoff.assigned_to_id) if handoff and handoff.assigned_to_id else None,
        channel=channel,
        lang=lang,
        lines=_lines(session, conversation_id),
        intake=intake.answers if intake else None,
        notes=notes,
        canned=canned,
        users=list(users),
        sla=sla_state(svc.settings, handoff, since) if handoff else "closed",
        waiting_since=since if handoff and handoff.is_open else None,
        window_open=window_open(channel, contact),
    )


def _open_handoff(session: Session, conversation_id: int) -> Handoff:
    if session.get(Conversation, conversation_id) is None:
        raise NotFound
    handoff = latest_handoff(session, conversation_id)
    if handoff is None or not handoff.is_open:
        raise Conflict("closed")
    return handoff


def claim(session: Session, actor: Actor, conversation_id: int) -> None:
    handoff = _open_handoff(session, conversation_id)
    if handoff.assigned_to_id == actor.user_id:
        return
    if handoff.assigned_to_id is not None and not actor.can(Role.SUPERVISOR):
        raise Conflict("taken")
    handoff.assigned_to_id = actor.user_id
    handoff.status = HandoffStatus.ASSIGNED
    audit(session, actor, "claim", conversation_id)


def assign(session: Session, actor: Actor, conversation_id: int, user_id: int | None) -> None:
    """Supervisors assign anyone; a counsellor may transfer a conversation they hold."""
    handoff = _open_handoff(session, conversation_id)
    if not actor.can(Role.SUPERVISOR) and handoff.assigned_to_id != actor.user_id:
        raise Conflict("not-yours")
    if user_id is not None:
        target = session.get(InboxUser, user_id)
        if target is None or target.disabled:
            raise Conflict("no-such-user")
    handoff.assigned_to_id = user_id
    handoff.status = HandoffStatus.ASSIGNED if user_id else HandoffStatus.WAITING
    audit(session, actor, "assign", conversation_id, f"to:{user_id or 'nobody'}")


def reply(session: Session, svc: Services, actor: Actor, conversation_id: int, text: str) -> int:
    """Queue a counsellor's reply in the outbox; an unassigned conversation is claimed."""
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise Conflict("empty" if not text else "too-long")
    handoff = _open_handoff(session, conversation_id)
    if handoff.assigned_to_id is None:
        claim(session, actor, conversation_id)
    elif handoff.assigned_to_id != actor.user_id and not actor.can(Role.SUPERVISOR):
        raise Conflict("not-yours")
    conversation = session.get_one(Conversation, conversation_id)
    contact = session.get_one(Contact, conversation.contact_id)
    channel = channel_of(session, conversation, contact)
    if window_open(channel, contact) is False:
        raise Conflict("window-closed")
    message = Message(
        direction=Direction.OUT,
        status=OutStatus.QUEUED,
        author=Author.COUNSELLOR,
        conversation_id=conversation_id,
        contact_id=contact.id,
        channel=channel,
        text=text,
        in_reply_to_id=None,
        lang=contact.lang or svc.settings.default_lang,
        urgent=handoff.urgent,
    )
    session.add(message)
    if handoff.first_response_at is None:
        handoff.first_response_at = now()
    handoff.updated_at = now()
    session.flush()
    audit(session, actor, "reply", conversation_id, f"message:{message.id}")
    return message.id


def add_note(session: Session, actor: Actor, conversation_id: int, text: str) -> None:
    text = text.strip()
    if not text or len(text) > MAX_TEXT:
        raise Conflict("empty" if not text else "too-long")
    if session.get(Conversation, conversation_id) is None:
        raise NotFound
    session.add(Note(conversation_id=conversation_id, author_id=actor.user_id, text=text))
    handoff = latest_handoff(session, conversation_id)
    if handoff is not None:
        handoff.updated_at = now()
    audit(session, actor, "note", conversation_id)


def close(session: Session, svc: Services, actor: Actor, conversation_id: int, outcome: str) -> int:
    """Close the handoff, queue the "bot is back" message; returns the handoff id to resume."""
    if outcome not in OUTCOMES:
        raise Conflict("outcome")
    handoff = _open_handoff(session, conversation_id)
    if handoff.assigned_to_id not in (None, actor.user_id) and not actor.can(Role.SUPERVISOR):
        raise Conflict("not-yours")
    conversation = session.get_one(Conversation, conversation_id)
    contact = session.get_one(Contact, conversation.contact_id)
    lang = contact.lang or svc.settings.default_lang
    try:
        text = svc.renderer.render(CLOSED_RESPONSE, lang)["text"] or CLOSED_FALLBACK
    except UnknownResponse:
        text = CLOSED_FALLBACK
    channel = channel_of(session, conversation, contact)
    handoff.status = HandoffStatus.CLOSED
    handoff.closed_at = now()
    handoff.closed_by_id = actor.user_id
    handoff.outcome = outcome
    handoff.resume_pending = True
    if window_open(channel, contact) is not False:
        session.add(
            Message(
                direction=Direction.OUT,
                status=OutStatus.QUEUED,
                author=Author.BOT,
                conversation_id=conversation_id,
                contact_id=contact.id,
                channel=channel,
                text=text,
                lang=lang,
            )
        )
    audit(session, actor, "close", conversation_id, f"outcome:{outcome}")
    return handoff.id


def resume(svc: Services, handoff_id: int) -> bool:
    """Tell Rasa the conversation is the bot's again; False (kept pending) if Rasa is down."""
    with svc.sessions() as session:
        handoff = session.get_one(Handoff, handoff_id)
        if not handoff.resume_pending:
            return True
        conversation = session.get_one(Conversation, handoff.conversation_id)
        sender_id = session.get_one(Contact, conversation.contact_id).rasa_sender_id
    try:
        svc.rasa.resume(sender_id)
    except RasaUnavailable as exc:
        log.warning("rasa resume deferred", extra={"handoff_id": handoff_id, "reason": str(exc)})
        return False
    with svc.sessions.begin() as session:
        session.get_one(Handoff, handoff_id).resume_pending = False
    log.info("rasa resumed", extra={"handoff_id": handoff_id})
    return True


def retry_resumes(svc: Services) -> None:
    with svc.sessions() as session:
        pending = session.scalars(select(Handoff.id).where(Handoff.resume_pending.is_(True))).all()
    for handoff_id in pending:
        if not resume(svc, handoff_id):
            return  # Rasa is still down; try the rest next time


def escalate_breaches(svc: Services) -> int:
    """Mark open handoffs past their SLA target as escalated (supervisors see them flagged)."""
    escalated = 0
    with svc.sessions.begin() as session:
        waiting = session.execute(
            select(Handoff, LAST_REPLY, FIRST_AFTER_REPLY).where(
                Handoff.is_open, Handoff.escalated_at.is_(None)
            )
        ).all()
        for handoff, last_reply, first_after in waiting:
            since = waiting_from(handoff, last_reply, first_after)
            if sla_state(svc.settings, handoff, since) == "breached":
                handoff.escalated_at = now()
                audit(session, None, "escalate", handoff.conversation_id)
                escalated += 1
    return escalated
