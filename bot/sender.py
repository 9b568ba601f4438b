"""The outbox sender (design.md §2, step 3): delivers queued messages through their channel, in
order per conversation, with retries and backoff; permanent failures are recorded, not dropped.

Two ways in, one way out (``send``): the outbox loop claims the oldest due message of a
conversation (``send_next``); and a turn's replies are taken in the transaction that writes them
(``take_replies``, from the pipeline's ``complete``) when nothing earlier of their conversation
waits to go out, and sent by the inbound loop that answered, at once. That saves a claim
transaction per reply and the wait for an outbox loop (docs/performance.md). A taken reply
that is never recorded (its worker died) is found by the outbox loop after the lease, like any
interrupted send.

Routing rules live here, not in the channels: an SMS to an opted-out number is never sent; a
WhatsApp message outside the 24-hour window goes out as an approved template, or by SMS where the
person agreed to SMS, or fails visibly.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import ChannelRegistry, Outgoing, SendResult
from bot.errors import PermanentSendError, RateLimitedError, SendError, TemporarySendError
from bot.messages import Button, Reply
from bot.metrics import SEND, timed
from bot.pipeline import due, first_unfinished, skip_locked
from bot.storage.db import is_postgresql
from bot.storage.models import UNSENT, Contact, Direction, Message, OutStatus
from bot.storage.repo import MESSAGE_WITH_CONTACT, now, rowcount
from bot.urn import address

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
WHATSAPP_WINDOW = timedelta(hours=24)
DEFAULT_TEMPLATE = "reply_waiting"  # "You have a new message from IOM; reply to read it"


@dataclass(frozen=True)
class Claimed:
    """A won claim with what sending needs, read in the claim's own transaction."""

    message_id: int
    token: str
    attempts: int  # sends tried before this one
    in_reply_to: int | None
    interrupted: datetime | None  # when a dead worker had claimed it, if it had
    channel: str
    out: Outgoing
    opted_out: bool
    expired: bool


@dataclass(frozen=True)
class Taken:
    """A turn's replies taken in the transaction that writes them (``Sender.take_replies``)."""

    replies: list[Message]
    contact: Contact
    token: str
    window_open: bool


@dataclass(frozen=True)
class Route:
    channel: str
    out: Outgoing


class Sender:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        channels: ChannelRegistry,
        *,
        templates: dict[str, dict[str, str]] | None = None,
        default_lang: str = "en",
        lease: timedelta = timedelta(seconds=30),
    ) -> None:
        self.sessions = sessions
        self.channels = channels
        self.lease = lease  # a send older than this was interrupted (its worker died)
        self.templates = templates or {}  # WhatsApp: template name -> language -> content SID
        self.default_lang = default_lang

    # The claim statements are built once: building SQLAlchemy expressions per message costs
    # more than running them.
    _due = due([OutStatus.QUEUED, OutStatus.ERRORED], OutStatus.SENDING)
    _candidates = (
        select(Message.id, Message.status, Message.claimed_at)
        .where(
            Message.id.in_(first_unfinished(Direction.OUT, UNSENT)),
            _due,
        )
        .order_by(Message.id)
        .limit(20)
    )
    _locked_candidates = skip_locked(_candidates)
    _take = (
        update(Message)
        .where(Message.id == bindparam("message_id"), _due)
        .values(
            status=OutStatus.SENDING, claim_token=bindparam("token"), claimed_at=bindparam("now")
        )
        .execution_options(synchronize_session=False)  # as the pipeline's take
    )

    # Anything of a conversation that has not gone out yet (ix_messages_conversation).
    _unsent = (
        select(Message.id)
        .where(
            Message.conversation_id == bindparam("conversation_id"),
            Message.direction == Direction.OUT,
            Message.status.in_(UNSENT),
        )
        .limit(1)
    )

    # When this person last wrote on WhatsApp: its 24-hour window (ix_messages_contact).
    _last_whatsapp_inbound = select(func.max(Message.created_at)).where(
        Message.contact_id == bindparam("contact_id"),
        Message.direction == Direction.IN,
        Message.channel == "whatsapp",
    )

    def _claim(self) -> Claimed | None:
        current = now()
        times = {"now": current, "stale_before": current - self.lease}
        with self.sessions.begin() as session:
            query = self._locked_candidates if is_postgresql(session) else self._candidates
            candidates = session.execute(query, times).all()
            for message_id, status, claimed_at in candidates:
                # Read first, then take: on SQLite the write lock is held from the take to the
                # commit only, so webhooks wait less. What is read does not change while the
                # message is queued, and the take still checks that it is due.
                message, contact = session.execute(
                    MESSAGE_WITH_CONTACT, {"message_id": message_id}
                ).one()
                window_open = self._window_open(session, message.channel, contact)
                token = uuid.uuid4().hex
                params = {**times, "message_id": message_id, "token": token}
                if rowcount(session.execute(self._take, params)):
                    interrupted = claimed_at if status == OutStatus.SENDING else None
                    return self._claimed(message, contact, token, window_open, interrupted)
        return None

    def _claimed(
        self,
        message: Message,
        contact: Contact,
        token: str,
        window_open: bool,
        interrupted: datetime | None = None,
    ) -> Claimed:
        return Claimed(
            message.id,
            token,
            attempts=message.attempts,
            in_reply_to=message.in_reply_to_id,
            interrupted=interrupted,
            channel=message.channel,
            out=self._outgoing(message, contact, window_open),
            opted_out=contact.opted_out_at is not None,
            expired=message.expires_at is not None and message.expires_at <= now(),
        )

    def take_replies(
        self, session: Session, replies: list[Message], contact: Contact
    ) -> Taken | None:
        """In the transaction that adds a turn's queued ``replies``, before they are flushed: take
        them for the caller to send (``send_taken``) right after its commit, if nothing earlier of
        their conversation waits to go out (else None: they are left to the outbox loops). Only
        reads here, so SQLite's write lock is not held any longer for it."""
        if not replies:
            return None
        first = replies[0]
        with session.no_autoflush:
            if session.scalar(self._unsent, {"conversation_id": first.conversation_id}) is not None:
                return None
            window_open = self._window_open(session, first.channel, contact)
        token, taken_at = uuid.uuid4().hex, now()
        for reply in replies:
            reply.status, reply.claim_token, reply.claimed_at = OutStatus.SENDING, token, taken_at
        return Taken(replies, contact, token, window_open)

    def send_taken(self, taken: Taken | None) -> None:
        """Send what ``take_replies`` took, once its transaction has committed (ids assigned)."""
        if taken is None:
            return
        claims = [
            self._claimed(r, taken.contact, taken.token, taken.window_open) for r in taken.replies
        ]
        self.send(claims)

    def _window_open(self, session: Session, channel: str, contact: Contact) -> bool:
        """Whether a free-form WhatsApp message may go: the person wrote in the last 24 hours."""
        if channel != "whatsapp":
            return True
        last = session.scalar(self._last_whatsapp_inbound, {"contact_id": contact.id})
        return last is not None and now() - last < WHATSAPP_WINDOW

    def _outgoing(self, message: Message, contact: Contact, window_open: bool) -> Outgoing:
        return Outgoing(
            message_id=message.id,
            address=address(contact.urn, message.channel),
            reply=Reply(
                text=message.text or "",
                buttons=tuple(Button(**b) for b in message.buttons or []),
            ),
            lang=message.lang or contact.lang or self.default_lang,
            template=message.template,
            window_open=window_open,
            sms_allowed=contact.sms_consent
            and contact.opted_out_at is None
            and contact.urn.startswith("tel:"),
        )

    def route(self, channel: str, out: Outgoing, opted_out: bool) -> Route:
        """Where this message may go, or PermanentSendError if nowhere."""
        if channel == "sms" and opted_out:
            raise PermanentSendError("opted-out")
        if channel == "whatsapp" and not out.window_open:
            template = out.template or DEFAULT_TEMPLATE
            if out.lang in self.templates.get(template, {}):
                return Route("whatsapp", replace(out, template=template))
            if out.sms_allowed and self.channels.get("sms") is not None:
                return Route("sms", replace(out, address=out.address.replace("whatsapp:", "sms:")))
            raise PermanentSendError("window-closed")
        return Route(channel, out)

    def send_next(self) -> bool:
        claimed = self._claim()
        if claimed is None:
            return False
        self.send([claimed])
        return True

    def send(self, claims: list[Claimed]) -> None:
        """Send claimed messages of one conversation in order, outside any transaction; then
        record what happened in one, each guarded by its claim token. After a failure the rest
        go back to the queue, behind the failed one."""
        records: list[tuple[Claimed, dict[str, Any]]] = []
        for claimed in claims:
            values = self._attempt(claimed)
            records.append((claimed, values))
            if values["status"] != OutStatus.SENT:
                break
        unsent = claims[len(records) :]
        with self.sessions.begin() as session:
            for claimed, values in records:
                session.execute(self._recorded(claimed, values))
            for claimed in unsent:
                values = {"status": OutStatus.QUEUED, "claimed_at": None}
                session.execute(self._recorded(claimed, values))

    @staticmethod
    def _recorded(claimed: Claimed, values: dict[str, Any]) -> Any:
        """One guarded UPDATE: written only if the claim is still ours."""
        return (
            update(Message)
            .where(Message.id == claimed.message_id, Message.claim_token == claimed.token)
            .values(claim_token=None, **values)
            .execution_options(synchronize_session=False)
        )

    def _attempt(self, claimed: Claimed) -> dict[str, Any]:
        """Try one send; returns the columns this attempt changes."""
        result: SendResult | None = None
        failure: Exception | None = None
        route = Route(claimed.channel, claimed.out)
        try:
            if claimed.expired:
                raise PermanentSendError("expired")  # e.g. a reminder after the appointment
            route = self.route(claimed.channel, claimed.out, claimed.opted_out)
            channel = self.channels.get(route.channel)
            if channel is None:
                raise PermanentSendError("channel-off")
            result = self._already_sent(channel, route.out, claimed.interrupted)
            if result is None:
                with timed(SEND, route.channel):
                    result = channel.send(route.out)
        except Exception as exc:
            failure = exc
        return self._record(claimed, route, result, failure)

    @staticmethod
    def _already_sent(
        channel: object, out: Outgoing, interrupted: datetime | None
    ) -> SendResult | None:
        """After a worker died mid-send, ask the provider whether the message went out."""
        find_sent = getattr(channel, "find_sent", None)
        if interrupted is None or find_sent is None:
            return None
        sid = find_sent(out, interrupted)
        if sid:
            log.info("interrupted send had gone out", extra={"message_id": out.message_id})
            return SendResult(provider_id=str(sid))
        return None

    def _record(
        self, claimed: Claimed, route: Route, result: SendResult | None, failure: Exception | None
    ) -> dict[str, Any]:
        """The columns this attempt changes."""
        message_id = claimed.message_id
        if isinstance(failure, RateLimitedError):
            retry_at = now() + timedelta(seconds=failure.retry_after)
            return {"status": OutStatus.QUEUED, "next_attempt_at": retry_at}
        attempts = claimed.attempts + 1
        if isinstance(failure, PermanentSendError):
            log.warning("outbound failed", extra={"message_id": message_id, "code": failure.code})
            return {"attempts": attempts, "status": OutStatus.FAILED, "error": failure.code}
        if isinstance(failure, TemporarySendError):
            return self._retry(message_id, attempts, failure.code)
        if failure is not None:
            code = failure.code if isinstance(failure, SendError) else type(failure).__name__
            log.error("outbound send crashed", extra={"message_id": message_id, "error": code})
            return self._retry(message_id, attempts, code)
        assert result is not None
        log.info(
            "outbound sent",
            extra={
                "message_id": message_id,
                "channel": route.channel,
                "in_reply_to": claimed.in_reply_to,
            },
        )
        sent = {
            "attempts": attempts,
            "status": OutStatus.SENT,
            "channel": route.channel,
            "channel_message_id": result.provider_id,
            "error": None,
        }
        if not route.out.window_open and route.channel == "whatsapp":
            sent["template"] = route.out.template
        return sent

    @staticmethod
    def _retry(message_id: int, attempts: int, code: str) -> dict[str, Any]:
        if attempts >= MAX_ATTEMPTS:
            log.error("outbound gave up", extra={"message_id": message_id, "code": code})
            return {"attempts": attempts, "status": OutStatus.FAILED, "error": code[:200]}
        log.warning("outbound will retry", extra={"message_id": message_id, "code": code})
        return {
            "attempts": attempts,
            "status": OutStatus.ERRORED,
            "error": code[:200],
            "next_attempt_at": now() + timedelta(seconds=min(300, 2**attempts)),
        }
