"""Erasure at the provider: Twilio keeps every message's body and media until it is told to
delete them (deleting a Message also deletes its media). An erasure or a retention purge queues
the person's Twilio message ids here in the same transaction; the worker deletes them at Twilio
with backoff until Twilio confirms. Telegram offers no such deletion for a bot: see
docs/privacy.md.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.twilio_common import TwilioAccount
from bot.errors import SendError
from bot.storage.models import Message, ProviderDeletion

log = logging.getLogger(__name__)

TWILIO_CHANNELS = ("whatsapp", "sms")
BATCH = 50


def queue_deletions(session: Session, messages: ColumnElement[bool]) -> int:
    """Queue the Twilio ids of the messages matching ``messages`` (call before deleting them)."""
    ids = session.scalars(
        select(Message.channel_message_id).where(
            messages,
            Message.channel.in_(TWILIO_CHANNELS),
            Message.channel_message_id.is_not(None),
        )
    ).all()
    session.add_all(ProviderDeletion(channel="twilio", provider_id=sid) for sid in ids if sid)
    return len(ids)


class ProviderCleanup:
    def __init__(self, sessions: sessionmaker[Session], twilio: TwilioAccount | None) -> None:
        self.sessions = sessions
        self.twilio = twilio

    def run(self, at: datetime) -> int:
        """Delete what is due at Twilio; returns how many were deleted."""
        if self.twilio is None:
            return 0  # Twilio is off here: the ids wait until it is configured again
        with self.sessions() as session:
            due: list[Any] = list(
                session.execute(
                    select(ProviderDeletion.id, ProviderDeletion.provider_id)
                    .where(ProviderDeletion.next_attempt_at <= at)
                    .order_by(ProviderDeletion.id)
                    .limit(BATCH)
                ).all()
            )
        done: list[int] = []
        for row_id, provider_id in due:
            try:
                self.twilio.delete(provider_id)
            except SendError as exc:
                self._later(row_id, at, str(exc))
                continue
            done.append(row_id)
        if done:
            with self.sessions.begin() as session:
                session.execute(delete(ProviderDeletion).where(ProviderDeletion.id.in_(done)))
        return len(done)

    def _later(self, row_id: int, at: datetime, reason: str) -> None:
        with self.sessions.begin() as session:
            row = session.get(ProviderDeletion, row_id)
            if row is None:
                return
            row.attempts += 1
            row.next_attempt_at = at + timedelta(seconds=min(3600, 30 * 2 ** min(row.attempts, 7)))
        log.warning("provider deletion failed", extra={"reason": reason, "attempts": row.attempts})
