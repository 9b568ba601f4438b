"""A person's rights over their data: ``export`` (subject access) and ``erase`` (deletion).

Erasure removes the contact and, through the database's cascades, every conversation, message,
handoff, intake, note, appointment and reminder; it deletes the person's events from Rasa's
tracker store (overwriting the freed pages) and leaves a tombstone with counts only.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    create_engine,
    delete,
    exists,
    func,
    inspect,
    make_url,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from bot.privacy.providers import queue_deletions
from bot.storage.models import (
    UNSENT,
    Appointment,
    Contact,
    Conversation,
    Direction,
    Handoff,
    Intake,
    Message,
    Note,
    Reminder,
    Tombstone,
)
from bot.storage.repo import ContactKeys, find_contact
from bot.urn import normalize

log = logging.getLogger(__name__)


class UnknownPerson(LookupError):
    pass


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(session: Session, keys: ContactKeys, urn: str) -> dict[str, Any]:
    """Everything held about the person with this URN, as plain JSON-ready data."""
    contact = find_contact(session, keys, normalize(urn))
    if contact is None:
        raise UnknownPerson(urn)
    conversations = session.scalars(
        select(Conversation).where(Conversation.contact_id == contact.id).order_by(Conversation.id)
    ).all()
    ids = [c.id for c in conversations]
    messages = session.scalars(
        select(Message).where(Message.contact_id == contact.id).order_by(Message.id)
    ).all()
    appointments = session.scalars(
        select(Appointment).where(Appointment.contact_id == contact.id).order_by(Appointment.id)
    ).all()
    return {
        "contact": {
            "urn": contact.urn,
            "language": contact.lang,
            "name": contact.name,
            "first_contact": _iso(contact.created_at),
            "last_message": _iso(contact.last_inbound_at),
            "sms_consent": contact.sms_consent,
            "sms_opted_out": _iso(contact.opted_out_at),
            "privacy_notice_accepted": {
                "version": contact.consent_version,
                "at": _iso(contact.consent_at),
                "channel": contact.consent_channel,
            },
        },
        "conversations": [
            {"id": c.id, "opened": _iso(c.opened_at), "closed": _iso(c.closed_at)}
            for c in conversations
        ],
        "messages": [
            {
                "conversation": m.conversation_id,
                "direction": str(m.direction),
                "from": str(m.author),
                "channel": m.channel,
                "text": m.text,
                "button": m.payload,
                "media": m.media,
                "status": m.status,
                "at": _iso(m.created_at),
            }
            for m in messages
        ],
        "handoffs": [
            {
                "conversation": h.conversation_id,
                "status": str(h.status),
                "opened": _iso(h.opened_at),
            }
            for h in session.scalars(select(Handoff).where(Handoff.conversation_id.in_(ids)))
        ],
        "intakes": [
            {"answers": i.answers, "submitted": _iso(i.submitted_at)}
            for i in session.scalars(select(Intake).where(Intake.conversation_id.in_(ids)))
        ],
        "counsellor_notes": [
            {"text": n.text, "at": _iso(n.created_at)}
            for n in session.scalars(select(Note).where(Note.conversation_id.in_(ids)))
        ],
        "appointments": [
            {
                "kind": a.kind,
                "starts": _iso(a.starts_at),
                "status": str(a.status),
                "reminders": [
                    {"due": _iso(r.due_at), "status": str(r.status)}
                    for r in session.scalars(
                        select(Reminder).where(Reminder.appointment_id == a.id)
                    )
                ],
            }
            for a in appointments
        ],
    }


def erase(
    session: Session, keys: ContactKeys, urn: str, tracker_url: str | None, reason: str
) -> Tombstone:
    """Remove the person everywhere; the caller commits. Returns the tombstone left behind."""
    contact = find_contact(session, keys, normalize(urn))
    if contact is None:
        raise UnknownPerson(urn)
    return erase_contact(session, contact, tracker_url, reason)


def erase_contact(
    session: Session, contact: Contact, tracker_url: str | None, reason: str
) -> Tombstone:
    conversation_ids = select(Conversation.id).where(Conversation.contact_id == contact.id)
    tombstone = Tombstone(
        scheme=contact.scheme,
        contact_since=contact.created_at,
        messages=session.scalar(
            select(func.count(Message.id)).where(Message.contact_id == contact.id)
        ),
        handoffs=session.scalar(
            select(func.count(Handoff.id)).where(Handoff.conversation_id.in_(conversation_ids))
        ),
        reason=reason,
    )
    sender_id = contact.rasa_sender_id
    queue_deletions(session, Message.contact_id == contact.id)  # their copies at Twilio
    # Replies point at the person's messages; clear the links, then let the cascades run.
    session.execute(
        update(Message).where(Message.contact_id == contact.id).values(in_reply_to_id=None)
    )
    session.execute(delete(Contact).where(Contact.id == contact.id))
    session.expunge(contact)
    session.add(tombstone)
    if tracker_url:
        erase_from_tracker(tracker_url, sender_id)
    log.info("person erased", extra={"reason": reason})
    return tombstone


MAX_ERASE_WAIT = timedelta(hours=1)


def erase_requested(
    sessions: sessionmaker[Session], tracker_url: str | None, *, delay: timedelta, at: datetime
) -> int:
    """Carry out confirmed "delete my data" requests once their last reply has gone out.

    The confirmation is sent first (it needs the person's address); a request waits at most an
    hour for an unreachable channel, then the data goes regardless.
    """
    unsent = exists().where(
        Message.contact_id == Contact.id,
        Message.direction == Direction.OUT,
        Message.status.in_(UNSENT),
    )
    due = select(Contact).where(
        Contact.erase_requested_at <= at - delay,
        or_(~unsent, Contact.erase_requested_at <= at - MAX_ERASE_WAIT),
    )
    erased = 0
    with sessions.begin() as session:
        for contact in session.scalars(due).all():
            erase_contact(session, contact, tracker_url, "chat")
            erased += 1
    return erased


def tracker_engine(tracker_url: str) -> Engine | None:
    """An engine on Rasa's tracker store, or None when it does not exist (Rasa never ran)."""
    url = make_url(tracker_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").exists():
        return None
    engine = create_engine(url)
    if not inspect(engine).has_table("events"):
        engine.dispose()
        return None
    return engine


def erase_from_tracker(tracker_url: str, sender_id: str) -> None:
    """Delete the pseudonym's events from Rasa's SQL tracker store (its ``events`` table)."""
    engine = tracker_engine(tracker_url)
    if engine is None:
        return
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("PRAGMA secure_delete = ON"))  # zero the freed pages
            conn.execute(text("DELETE FROM events WHERE sender_id = :s"), {"s": sender_id})
    finally:
        engine.dispose()
