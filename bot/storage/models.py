"""The gateway's tables.

One ``messages`` table holds every message in both directions (RapidPro's habit), with an explicit
status lifecycle (see ``InStatus`` and ``OutStatus``). Contacts are addressed by URN; the URN is
stored encrypted and found through its keyed hash. Personal fields use the encrypted column types.
"""

from __future__ import annotations

import enum
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.privacy.crypto import cipher


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class EncryptedText(TypeDecorator[str]):
    """A personal text field, stored as a Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return cipher().encrypt(value) if value is not None else None

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return cipher().decrypt(value) if value is not None else None


class EncryptedJSON(TypeDecorator[Any]):
    """A personal JSON value (intake answers, media references), stored as a Fernet token."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return cipher().encrypt(json.dumps(value)) if value is not None else None

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return json.loads(cipher().decrypt(value)) if value is not None else None


class Base(DeclarativeBase):
    pass


class Direction(enum.StrEnum):
    IN = "in"
    OUT = "out"


class InStatus(enum.StrEnum):
    """Lifecycle of an inbound message.

    pending ──claim──> processing ──> handled   (replies queued in the same transaction)
       ^                   │     ├──> held      (a counsellor holds it: not sent to Rasa)
       │                   │     └──> consent   (no consent yet: the notice was the answer)
       └── retry later ────┘ (Rasa down or slow: attempts+1, next_attempt_at set; nothing lost)

    A ``processing`` row whose claim is older than the lease is claimable again (a crashed worker).
    """

    PENDING = "pending"
    PROCESSING = "processing"
    HANDLED = "handled"
    HELD = "held"
    AWAITING_CONSENT = "consent"  # kept until the privacy notice is accepted (bot/consent.py)


# Inbound messages the pipeline has still to finish: the inbound queue.
UNPROCESSED = (InStatus.PENDING, InStatus.PROCESSING)


class OutStatus(enum.StrEnum):
    """Lifecycle of an outbound message.

    queued ──claim──> sending ──> sent ──> delivered ──> read   (provider callbacks move it on)
       ^                 │   └──> failed   (permanent: opted out, unreachable; recorded, visible)
       └── errored <─────┘        (temporary: retried at next_attempt_at with backoff)
    """

    QUEUED = "queued"
    SENDING = "sending"
    ERRORED = "errored"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# Outbound messages that have not gone out yet: the outbox.
UNSENT = (OutStatus.QUEUED, OutStatus.SENDING, OutStatus.ERRORED)


class Author(enum.StrEnum):
    PERSON = "person"
    BOT = "bot"
    COUNSELLOR = "counsellor"
    SYSTEM = "system"


class HandoffStatus(enum.StrEnum):
    """waiting (no counsellor yet) ──> assigned ──> closed (conversation returns to the bot)."""

    WAITING = "waiting"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    urn_hash: Mapped[str] = mapped_column(String(64), unique=True)
    urn: Mapped[str] = mapped_column(EncryptedText)
    scheme: Mapped[str] = mapped_column(String(16))  # web, telegram, tel (WhatsApp and SMS)
    rasa_sender_id: Mapped[str] = mapped_column(String(40), unique=True)
    lang: Mapped[str | None] = mapped_column(String(8))
    name: Mapped[str | None] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SMS: STOP sets opted_out_at (no SMS is sent until START); sms_consent allows SMS fallback.
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sms_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The privacy notice accepted: which version, when, on which channel (bot/consent.py).
    consent_version: Mapped[str | None] = mapped_column(String(20))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_channel: Mapped[str | None] = mapped_column(String(16))
    # "Delete my data" confirmed in the chat: erased once the last reply has gone out.
    erase_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    conversations: Mapped[list[Conversation]] = relationship(back_populates="contact")


class Conversation(Base):
    """One thread between a contact and IOM; a new one opens after the previous is closed."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_contact", "contact_id", "closed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_topic: Mapped[str | None] = mapped_column(String(40))

    contact: Mapped[Contact] = relationship(back_populates="conversations")
    handoffs: Mapped[list[Handoff]] = relationship(back_populates="conversation")


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "channel_message_id", name="uq_messages_channel_msg"),
        Index("ix_messages_queue", "direction", "status", "next_attempt_at"),
        Index("ix_messages_conversation", "conversation_id", "id"),
        # The WhatsApp window (latest inbound per contact and channel) and erasure by contact.
        Index("ix_messages_contact", "contact_id", "direction", "channel", "created_at"),
        # Deleting a message checks the replies that point at it (foreign key).
        Index("ix_messages_in_reply_to", "in_reply_to_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[Direction] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(12))
    author: Mapped[Author] = mapped_column(String(12))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    # Inbound: the provider's id (idempotency). Outbound: the provider's id once sent.
    channel_message_id: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str | None] = mapped_column(EncryptedText)
    payload: Mapped[str | None] = mapped_column(EncryptedText)  # button payload pressed
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)  # bot content only
    media: Mapped[Any] = mapped_column(EncryptedJSON, nullable=True)
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    lang: Mapped[str | None] = mapped_column(String(8))
    template: Mapped[str | None] = mapped_column(String(60))  # WhatsApp template used, if any
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # not sent after this
    topic: Mapped[str | None] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(String(200))  # a code or class name, never text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Handoff(Base):
    """A request for a human (a ticket); an open one silences the bot for its conversation."""

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_conversation", "conversation_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    status: Mapped[HandoffStatus] = mapped_column(String(10), default=HandoffStatus.WAITING)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(String(40))  # the topic that led here
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The counsellor inbox (issue 5): who holds it, first reply, SLA escalation, how it ended.
    assigned_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_users.id", name="fk_handoffs_assigned_to", ondelete="SET NULL")
    )
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(String(40))
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_users.id", name="fk_handoffs_closed_by", ondelete="SET NULL")
    )
    # Closed, but Rasa has not yet been told to resume the conversation (retried until done).
    resume_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    updated_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    conversation: Mapped[Conversation] = relationship(back_populates="handoffs")

    @hybrid_property
    def is_open(self) -> bool:
        """Waiting or assigned: the bot stays silent and the handoff is in the queues. Also a
        SQL condition (``where(Handoff.is_open)``)."""
        return self.status != HandoffStatus.CLOSED


class Intake(Base):
    """Answers collected by the intake form, for the counsellor."""

    __tablename__ = "intakes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    answers: Mapped[Any] = mapped_column(EncryptedJSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# -- The counsellor inbox (issue 5) ----------------------------------------------------------


class Role(enum.StrEnum):
    """Inbox roles, each including the one before: counsellor < supervisor < admin."""

    COUNSELLOR = "counsellor"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class InboxUser(Base):
    """A counsellor's account: argon2id password hash, optional TOTP secret, lockout state."""

    __tablename__ = "inbox_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(60), unique=True)
    role: Mapped[Role] = mapped_column(String(12))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ui_lang: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboxSession(Base):
    """A login, server-side so logout and disabling revoke it. The cookie holds a random token;
    only its SHA-256 is stored. ``mfa_pending``: password given, TOTP code still due."""

    __tablename__ = "inbox_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("inbox_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    mfa_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Note(Base):
    """An internal note on a conversation: counsellors only, never sent to the person."""

    __tablename__ = "inbox_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_users.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(Base):
    """A ready-made answer in one language (RapidPro's "shortcuts"), managed by supervisors."""

    __tablename__ = "inbox_canned_replies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lang: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(Base):
    """Who did what to which conversation (views included). ``detail`` holds codes, not text."""

    __tablename__ = "inbox_audit"
    __table_args__ = (Index("ix_inbox_audit_conversation", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    detail: Mapped[str | None] = mapped_column(String(200))


class AppointmentStatus(enum.StrEnum):
    """scheduled ──> confirmed (the person pressed Confirm) ──> done
    scheduled/confirmed ──> cancelled (by the person or a counsellor)
    scheduled/confirmed ──> reschedule_requested (the person asked for a new time; a counsellor
    picks one, which schedules a new appointment)"""

    SCHEDULED = "scheduled"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    RESCHEDULE_REQUESTED = "reschedule"
    DONE = "done"


class Appointment(Base):
    """An appointment, flight or call-back the person is reminded of."""

    __tablename__ = "appointments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # appointment, flight, callback
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(40))  # the person's IANA zone
    channel: Mapped[str] = mapped_column(String(16))  # where reminders go first
    status: Mapped[AppointmentStatus] = mapped_column(
        String(12), default=AppointmentStatus.SCHEDULED
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbox_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ReminderStatus(enum.StrEnum):
    """pending ──claim──> queued (its message is in the outbox; delivery is tracked there)
    pending ──> cancelled (appointment cancelled or moved) | expired (due after it started)"""

    PENDING = "pending"
    QUEUED = "queued"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Reminder(Base):
    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_due", "status", "due_at"),
        Index("ix_reminders_message", "message_id"),  # checked when a message is deleted
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appointment_id: Mapped[int] = mapped_column(ForeignKey("appointments.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[ReminderStatus] = mapped_column(String(10), default=ReminderStatus.PENDING)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tombstone(Base):
    """What remains of an erased person: when, and counts for the statistics. No personal data."""

    __tablename__ = "tombstones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    scheme: Mapped[str] = mapped_column(String(16))
    contact_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    handoffs: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(20))  # chat (the person), operator, retention


class RetentionPurge(Base):
    """One retention run's effect, for the record: counts per service, no personal data."""

    __tablename__ = "retention_purges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    service: Mapped[str] = mapped_column(String(30))
    retention_days: Mapped[int] = mapped_column(Integer)
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    messages: Mapped[int] = mapped_column(Integer, default=0)
    contacts: Mapped[int] = mapped_column(Integer, default=0)


class ProviderDeletion(Base):
    """A message to delete at the provider after an erasure or purge (Twilio keeps bodies and
    media until told). Only the provider's opaque id is kept, until the deletion succeeds."""

    __tablename__ = "provider_deletions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(80))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
