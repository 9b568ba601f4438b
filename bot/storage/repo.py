"""Queries the pipeline, the worker and the API share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.messages import InboundMessage
from bot.privacy.crypto import keyed_hash
from bot.storage.models import (
    Author,
    Contact,
    Conversation,
    Direction,
    Handoff,
    InStatus,
    Message,
)
from bot.urn import identity, scheme_of

# A message with its contact, or with its conversation and contact, in one statement (bind
# ``message_id``). Built once: building SQLAlchemy expressions costs more than running them, and
# one joined read costs less than loading the three rows one by one.
MESSAGE_WITH_CONTACT = (
    select(Message, Contact)
    .join(Contact, Message.contact_id == Contact.id)
    .where(Message.id == bindparam("message_id"))
)
MESSAGE_WITH_PARENTS = (
    select(Message, Conversation, Contact)
    .join(Conversation, Message.conversation_id == Conversation.id)
    .join(Contact, Message.contact_id == Contact.id)
    .where(Message.id == bindparam("message_id"))
)


class ContactKeys:
    """The two keyed hashes of a URN: the lookup key and the pseudonymous id Rasa sees."""

    def __init__(self, lookup_key: bytes, pseudonym_key: bytes) -> None:
        self._lookup_key = lookup_key
        self._pseudonym_key = pseudonym_key

    def lookup(self, urn: str) -> str:
        return keyed_hash(self._lookup_key, urn)

    def pseudonym(self, urn: str) -> str:
        return "p" + keyed_hash(self._pseudonym_key, urn)[:32]


def find_contact(session: Session, keys: ContactKeys, urn: str) -> Contact | None:
    return session.scalar(select(Contact).where(Contact.urn_hash == keys.lookup(identity(urn))))


def get_or_create_contact(session: Session, keys: ContactKeys, urn: str) -> Contact:
    """The contact for a channel URN; WhatsApp and SMS from one number share one contact."""
    contact = find_contact(session, keys, urn)
    if contact is None:
        key = identity(urn)
        contact = Contact(
            urn_hash=keys.lookup(key),
            urn=key,
            scheme=scheme_of(key),
            rasa_sender_id=keys.pseudonym(key),
        )
        session.add(contact)
        session.flush()
    return contact


def open_conversation(session: Session, contact: Contact) -> Conversation:
    conversation = session.scalar(
        select(Conversation)
        .where(Conversation.contact_id == contact.id, Conversation.closed_at.is_(None))
        .order_by(Conversation.id.desc())
    )
    if conversation is None:
        conversation = Conversation(contact_id=contact.id)
        session.add(conversation)
        session.flush()
    return conversation


def open_handoff(session: Session, conversation_id: int) -> Handoff | None:
    return session.scalar(
        select(Handoff).where(
            Handoff.conversation_id == conversation_id,
            Handoff.is_open,
        )
    )


def store_inbound(session: Session, keys: ContactKeys, inbound: InboundMessage) -> Message:
    """Store an inbound message once: a redelivered one returns the stored row unchanged."""
    existing = session.scalar(
        select(Message).where(
            Message.channel == inbound.channel,
            Message.channel_message_id == inbound.channel_message_id,
        )
    )
    if existing is not None:
        return existing
    contact = get_or_create_contact(session, keys, inbound.urn)
    # Read before the first write: on SQLite the write lock is then held from the contact's
    # update to the commit only, not across the conversation's query (an autoflush there would
    # have taken it), and webhooks wait less behind one another and the worker.
    conversation = open_conversation(session, contact)
    if inbound.lang:
        contact.lang = inbound.lang
    contact.last_inbound_at = inbound.received_at
    message = Message(
        direction=Direction.IN,
        status=InStatus.PENDING,
        author=Author.PERSON,
        conversation_id=conversation.id,
        contact_id=contact.id,
        channel=inbound.channel,
        channel_message_id=inbound.channel_message_id,
        text=inbound.text,
        payload=inbound.payload,
        media=inbound.media or None,
        lang=contact.lang,
        created_at=inbound.received_at,
    )
    session.add(message)
    try:
        session.flush()
    except IntegrityError:  # the same delivery raced us: keep theirs
        session.rollback()
        stored = session.scalar(
            select(Message).where(
                Message.channel == inbound.channel,
                Message.channel_message_id == inbound.channel_message_id,
            )
        )
        assert stored is not None
        return stored
    return message


def now() -> datetime:
    return datetime.now(UTC)


def rowcount(result: Result[Any]) -> int:
    """Rows changed by an UPDATE (a conditional update is how a claim is won)."""
    return cast(CursorResult[Any], result).rowcount
