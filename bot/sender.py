"""The outbox sender (design.md §2, step 3): delivers queued replies through their channel, in
order per conversation, with retries and backoff; permanent failures are recorded, not dropped."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import ChannelRegistry, SendResult
from bot.errors import PermanentSendError, TemporarySendError
from bot.messages import Button, Reply
from bot.pipeline import CLAIM_LEASE, unfinished_before
from bot.storage.models import Contact, Direction, Message, OutStatus
from bot.storage.repo import now, rowcount

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class Sender:
    def __init__(self, sessions: sessionmaker[Session], channels: ChannelRegistry) -> None:
        self.sessions = sessions
        self.channels = channels

    def _claim(self) -> tuple[int, str] | None:
        current = now()
        due = or_(
            Message.status == OutStatus.QUEUED,
            and_(Message.status == OutStatus.ERRORED, Message.next_attempt_at <= current),
            and_(Message.status == OutStatus.SENDING, Message.claimed_at < current - CLAIM_LEASE),
        )
        with self.sessions.begin() as session:
            candidates = session.scalars(
                select(Message.id)
                .where(
                    Message.direction == Direction.OUT,
                    due,
                    ~unfinished_before(
                        Message,
                        Direction.OUT,
                        [OutStatus.QUEUED, OutStatus.SENDING, OutStatus.ERRORED],
                    ),
                )
                .order_by(Message.id)
                .limit(20)
            ).all()
            for message_id in candidates:
                token = uuid.uuid4().hex
                won = rowcount(
                    session.execute(
                        update(Message)
                        .where(Message.id == message_id, due)
                        .values(status=OutStatus.SENDING, claim_token=token, claimed_at=current)
                    )
                )
                if won:
                    return message_id, token
        return None

    def send_next(self) -> bool:
        claimed = self._claim()
        if claimed is None:
            return False
        message_id, token = claimed
        with self.sessions() as session:
            message = session.get_one(Message, message_id)
            urn = session.get_one(Contact, message.contact_id).urn
            reply = Reply(
                text=message.text or "",
                buttons=tuple(Button(**b) for b in message.buttons or []),
            )
            channel_name = message.channel
        channel = self.channels.get(channel_name)
        # Send outside any transaction; then record what happened, guarded by the claim token.
        result: SendResult | None = None
        failure: Exception | None = None
        if channel is not None:
            try:
                result = channel.send(urn, reply)
            except Exception as exc:
                failure = exc
        with self.sessions.begin() as session:
            message = session.get_one(Message, message_id)
            if message.claim_token != token:
                return True
            message.claim_token = None
            message.attempts += 1
            if channel is None:
                message.status = OutStatus.FAILED
                message.error = "channel-off"
                log.error("outbound channel is off", extra={"message_id": message_id})
            elif isinstance(failure, PermanentSendError):
                message.status = OutStatus.FAILED
                message.error = failure.code
                log.warning(
                    "outbound failed", extra={"message_id": message_id, "code": failure.code}
                )
            elif isinstance(failure, TemporarySendError):
                self._retry(message, failure.code)
            elif failure is not None:
                log.error(
                    "outbound send crashed",
                    extra={"message_id": message_id, "error": type(failure).__name__},
                )
                self._retry(message, type(failure).__name__)
            else:
                assert result is not None
                message.status = OutStatus.SENT
                message.channel_message_id = result.provider_id
                message.error = None
        return True

    @staticmethod
    def _retry(message: Message, code: str) -> None:
        message.error = code[:200]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = OutStatus.FAILED
            log.error("outbound gave up", extra={"message_id": message.id, "code": code})
            return
        message.status = OutStatus.ERRORED
        message.next_attempt_at = now() + timedelta(seconds=min(300, 2**message.attempts))
        log.warning("outbound will retry", extra={"message_id": message.id, "code": code})
