"""The conversation pipeline (design.md §2, step 2): the only place that decides what happens to
an inbound message.

Order, per message: opt-out keywords (channels, issue 3) → safety triage → consent gate (issue 7)
→ commands → held by a counsellor? store and stop → otherwise ask Rasa and act on its signals.

A message is processed in three short steps so no database transaction stays open while Rasa
thinks: claim it and read what deciding needs, in one transaction (``claim_next``), decide
(``decide``, may call Rasa), then write the outcome and its replies in one transaction
(``complete``), guarded by the claim token, and send the replies after it commits (bot/sender.py).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVarTuple

from sqlalchemy import Select, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import consent, languages, reminders
from bot.engine.nlg import Renderer
from bot.engine.rasa import RasaClient, RasaUnavailable
from bot.keywords import Keyword, choice, keyword
from bot.messages import Button, Reply
from bot.metrics import PIPELINE_TURN
from bot.safety import triage
from bot.storage.db import is_postgresql
from bot.storage.models import (
    UNPROCESSED,
    Author,
    Contact,
    Conversation,
    Direction,
    Handoff,
    InStatus,
    Intake,
    Message,
    OutStatus,
)
from bot.storage.repo import MESSAGE_WITH_CONTACT, MESSAGE_WITH_PARENTS, now, open_handoff, rowcount
from bot.topics import TOPICS

if TYPE_CHECKING:
    from bot.sender import Sender

log = logging.getLogger(__name__)
Row = TypeVarTuple("Row")

CLAIM_LEASE = timedelta(minutes=5)
URGENT_RESPONSE = "utter_urgent_safety"
SMS_HELP_RESPONSE = "utter_sms_help"
MEDIA_RESPONSE = "utter_media_received"
GREETING_RESPONSE = "utter_greeting"
PICKER_RESPONSE = "utter_change_language"


@dataclass(frozen=True)
class Claim:
    message_id: int
    token: str
    turn: Turn  # what ``decide`` needs, read in the claim's transaction


@dataclass
class Outcome:
    status: InStatus
    replies: list[Reply] = field(default_factory=list)
    topic: str | None = None
    urgent: bool = False
    handoff: dict[str, Any] | None = None  # {"urgent": bool, "reason": str}
    intake: dict[str, Any] | None = None
    sms_opt_out: bool | None = None  # True: said STOP, False: said START
    lang: str | None = None  # the language the person chose with this message
    appointment_answer: str | None = None  # a reminder's button: appt:confirm|cancel|reschedule
    resumed_handoff: int | None = None  # a closed handoff whose Rasa resume this turn delivered
    consented: bool = False  # the person accepted the privacy notice with this message
    released: int | None = None  # the message that waited for consent, answered by this turn
    erase: bool = False  # the person confirmed "delete my data"


@dataclass(frozen=True)
class Turn:
    """What ``decide`` needs to know about a claimed message, read in one short transaction."""

    text: str
    lang: str
    channel: str
    sender_id: str
    held: bool
    options: list[str] = field(default_factory=list)  # payloads of the last buttons offered
    lang_chosen: bool = True  # False until the person picked a language (first contact)
    resume_handoff: int | None = None  # closed, but Rasa was down when told to resume
    consented: bool = True  # the privacy notice was accepted (bot/consent.py)
    waiting: tuple[int, str] | None = None  # the first message kept for consent: (id, text)


def first_unfinished(direction: Direction, statuses: Sequence[str]) -> Select[int]:
    """SQL: the id of each conversation's oldest unfinished message in one direction, the only
    one of the conversation a claim may take, so that a conversation is processed (or sent) in
    order. One pass over the unfinished messages through the queue index, however long the
    conversations are. (It was a ``NOT EXISTS`` over each candidate's earlier messages, which
    PostgreSQL, with statistics from before a burst of messages, ran as a nested loop over the
    whole queue for every candidate: 100 ms per claim with 2000 queued; docs/performance.md.)"""
    return (
        select(func.min(Message.id))
        .where(Message.direction == direction, Message.status.in_(statuses))
        .group_by(Message.conversation_id)
    )


def due(waiting: list[str], in_flight: str) -> Any:
    """SQL condition: a queued message is due — waiting and its retry time has come, or in
    flight longer than the lease (its worker died). Takes ``now`` and ``stale_before``.

    It filters rows found by id (``first_unfinished``, the take by key); the queue index is used
    by ``first_unfinished`` itself."""
    return or_(
        and_(
            Message.status.in_(waiting),
            or_(Message.next_attempt_at.is_(None), Message.next_attempt_at <= bindparam("now")),
        ),
        and_(Message.status == in_flight, Message.claimed_at < bindparam("stale_before")),
    )


def skip_locked(candidates: Select[*Row]) -> Select[*Row]:
    """The PostgreSQL form of a claim's candidate query: the oldest candidate no other worker
    has locked, locked until the claim commits (``FOR UPDATE SKIP LOCKED``). N workers never
    wait for one another nor take the same row, so the claim's conditional update always wins.
    SQLite has no row locks; there the conditional update alone picks the winner."""
    return candidates.limit(1).with_for_update(skip_locked=True)


class Pipeline:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        renderer: Renderer,
        rasa: RasaClient,
        sender: Sender,
        *,
        default_lang: str = "en",
        retry_max_seconds: float = 15.0,
        lease: timedelta = CLAIM_LEASE,
    ) -> None:
        self.sessions = sessions
        self.sender = sender  # sends a turn's replies at once (``complete``)
        self.lease = lease  # a claim older than this was lost (its worker died): taken over
        self.renderer = renderer
        self.rasa = rasa
        self.default_lang = default_lang
        self.retry_max_seconds = retry_max_seconds

    # -- step 1: claim -----------------------------------------------------------------------
    # Built once, like the sender's: the loop polls even when idle, and building SQLAlchemy
    # expressions costs more than running them.
    _due = due([InStatus.PENDING], InStatus.PROCESSING)
    _candidates = (
        select(Message.id)
        .where(
            Message.id.in_(first_unfinished(Direction.IN, UNPROCESSED)),
            _due,
        )
        .order_by(Message.id)
        .limit(20)
    )
    _locked_candidates = skip_locked(_candidates)
    # No synchronize_session: nothing the claim loaded is read after the take, and by default
    # SQLAlchemy turns the WHERE clause into a Python evaluator for the loaded rows on every
    # execution (0.50 against 0.27 ms of CPU per take, docs/performance.md).
    _take = (
        update(Message)
        .where(Message.id == bindparam("message_id"), _due)
        .values(
            status=InStatus.PROCESSING, claim_token=bindparam("token"), claimed_at=bindparam("now")
        )
        .execution_options(synchronize_session=False)
    )

    def claim_next(self) -> Claim | None:
        """Claim the oldest due inbound message whose conversation has nothing earlier waiting,
        with what deciding it needs, read in the same transaction."""
        current = now()
        times = {"now": current, "stale_before": current - self.lease}
        with self.sessions.begin() as session:
            query = self._locked_candidates if is_postgresql(session) else self._candidates
            for message_id in session.scalars(query, times).all():
                # Read first, then take (as the sender does): on SQLite the write lock is then
                # held from the take to the commit only. A queued message does not change while
                # it waits, and the take still checks that it is due.
                turn = self._read_turn(session, message_id)
                token = uuid.uuid4().hex
                params = {**times, "message_id": message_id, "token": token}
                if rowcount(session.execute(self._take, params)):
                    return Claim(message_id, token, turn)
        return None

    def _read_turn(self, session: Session, message_id: int) -> Turn:
        message, contact = session.execute(MESSAGE_WITH_CONTACT, {"message_id": message_id}).one()
        offered, held, resume_handoff = session.execute(
            self._conversation_state,
            {"conversation_id": message.conversation_id, "message_id": message.id},
        ).one()
        return Turn(
            text=self._button_payload(session, message, contact)
            or message.payload
            or message.text
            or "",
            lang=contact.lang or self.default_lang,
            channel=message.channel,
            sender_id=contact.rasa_sender_id,
            held=bool(held),
            options=[b["payload"] for b in offered or []],
            lang_chosen=contact.lang is not None,
            resume_handoff=resume_handoff,
            consented=contact.consent_at is not None,
            # Only a person who has not accepted yet can have a message waiting for it.
            waiting=None if contact.consent_at else self._waiting_for_consent(session, message),
        )

    # The conversation around a message, in one statement: the buttons of the last reply
    # before it, whether a counsellor holds the conversation, and a closed handoff whose resume
    # Rasa has not had yet.
    _conversation_state = select(
        select(Message.buttons)
        .where(
            Message.conversation_id == bindparam("conversation_id"),
            Message.direction == Direction.OUT,
            Message.id < bindparam("message_id"),
        )
        .order_by(Message.id.desc())
        .limit(1)
        .scalar_subquery(),
        exists().where(
            Handoff.conversation_id == bindparam("conversation_id"),
            Handoff.is_open,
        ),
        select(Handoff.id)
        .where(
            Handoff.conversation_id == bindparam("conversation_id"),
            Handoff.resume_pending.is_(True),
        )
        .limit(1)
        .scalar_subquery(),
    )

    @staticmethod
    def _waiting_for_consent(session: Session, message: Message) -> tuple[int, str] | None:
        waiting = session.scalar(
            select(Message)
            .where(
                Message.conversation_id == message.conversation_id,
                Message.direction == Direction.IN,
                Message.status == InStatus.AWAITING_CONSENT,
            )
            .order_by(Message.id)
            .limit(1)
        )
        return (waiting.id, waiting.payload or waiting.text or "") if waiting else None

    @staticmethod
    def _button_payload(session: Session, message: Message, contact: Contact) -> str | None:
        """A pressed button referenced as ``button:<outbound id>:<index>`` (Telegram callbacks)."""
        if not (message.payload or "").startswith("button:"):
            return None
        _, _, ref = (message.payload or "").partition(":")
        out_id, _, index = ref.partition(":")
        if not (out_id.isdigit() and index.isdigit()):
            return None
        offered = session.get(Message, int(out_id))
        if offered is None or offered.contact_id != contact.id or not offered.buttons:
            return None  # not one of ours for this person: treated as empty text
        buttons = offered.buttons
        return str(buttons[int(index)]["payload"]) if int(index) < len(buttons) else None

    # -- step 2: decide ----------------------------------------------------------------------
    def decide(self, turn: Turn) -> Outcome:
        """Run the ordered steps; may raise RasaUnavailable (the message then waits)."""
        if turn.channel == "sms":
            kind = keyword(turn.text)
            if kind in (Keyword.STOP, Keyword.START):
                # Silent: Twilio confirms these itself; a reply after STOP could not be sent.
                return Outcome(status=InStatus.HANDLED, sms_opt_out=kind == Keyword.STOP)
            if kind == Keyword.HELP:
                rendered = self.renderer.render(SMS_HELP_RESPONSE, turn.lang)
                return Outcome(status=InStatus.HANDLED, replies=[self._reply(rendered)])
        text = choice(turn.text, turn.options) or turn.text
        found = triage(text)
        if found.urgent:
            # Before a language is chosen, answer in the language the danger was written in.
            lang = turn.lang
            if not turn.lang_chosen and found.matched_lang in self.languages:
                lang = str(found.matched_lang)
            return self._urgent(lang)
        command = languages.parse(text, self.languages)
        if turn.held:
            # The counsellor has the conversation: a language name is noted, never answered.
            return Outcome(status=InStatus.HELD, lang=command.code if command else None)
        if text in reminders.ANSWERS:
            # Reminders are agreed with a counsellor, so their buttons work before the notice.
            return Outcome(status=InStatus.HANDLED, appointment_answer=text)
        if not turn.consented:
            return self._consent_gate(turn, text, command)
        if text in (consent.ERASE_CONFIRM, consent.ERASE_CANCEL) and text in turn.options:
            confirmed = text == consent.ERASE_CONFIRM
            response = consent.ERASED_RESPONSE if confirmed else consent.KEPT_RESPONSE
            rendered = self.renderer.render(response, turn.lang)
            return Outcome(
                status=InStatus.HANDLED,
                replies=[self._reply(rendered)],
                topic="delete_data",
                erase=confirmed,
            )
        if command is not None and command.code:
            greeting = self.renderer.render(GREETING_RESPONSE, command.code)
            return Outcome(
                status=InStatus.HANDLED,
                replies=[self._reply(greeting)],
                lang=command.code,
                topic="change_language",
            )
        if command is not None:
            return Outcome(
                status=InStatus.HANDLED, replies=[self.picker(turn.lang)], topic="change_language"
            )
        if not text.strip():
            # A voice note, photo or document alone: kept for a counsellor, not understood.
            rendered = self.renderer.render(MEDIA_RESPONSE, turn.lang)
            return Outcome(status=InStatus.HANDLED, replies=[self._reply(rendered)])
        return self._ask_rasa(turn, text, turn.lang)

    def _ask_rasa(self, turn: Turn, text: str, lang: str) -> Outcome:
        if turn.resume_handoff is not None:
            self.rasa.resume(turn.sender_id)  # else Rasa, still paused, would swallow the turn
        result = self.rasa.send(turn.sender_id, text, lang=lang, channel=turn.channel)
        outcome = Outcome(
            status=InStatus.HANDLED,
            replies=result.replies,
            topic=result.intent if result.intent in TOPICS else None,
            resumed_handoff=turn.resume_handoff,
        )
        if outcome.topic == "change_language":
            outcome.replies = [self.picker(lang)]
        for signal in result.signals:
            if isinstance(signal.get("handoff"), dict):
                outcome.handoff = signal["handoff"]
                outcome.urgent = outcome.urgent or bool(signal["handoff"].get("urgent"))
            if isinstance(signal.get("intake_submitted"), dict):
                outcome.intake = signal["intake_submitted"]
                # A submitted intake is a case: it goes to the counsellors' queue.
                outcome.handoff = outcome.handoff or {"urgent": False, "reason": "intake"}
        outcome.urgent = outcome.urgent or outcome.topic == "urgent_safety"
        return outcome

    def _consent_gate(
        self, turn: Turn, text: str, command: languages.LanguageCommand | None
    ) -> Outcome:
        """No consent yet: offer the notice; accept, a human or another language are the ways on.

        The notice replaces the language picker of a first contact: it has a "Language" button.
        """
        lang = turn.lang
        if not turn.lang_chosen:
            lang = languages.guess(text, self.languages) or turn.lang
        if command is not None and command.code is None:
            return Outcome(status=InStatus.HANDLED, replies=[self.picker(lang)], lang=lang)
        if command is not None and command.code:
            notice = self.renderer.render(consent.NOTICE_RESPONSE, command.code)
            return Outcome(
                status=InStatus.HANDLED,
                replies=[self._reply(notice)],
                lang=command.code,
                topic="change_language",
            )
        if text == consent.HUMAN:
            rendered = self.renderer.render(consent.HUMAN_RESPONSE, lang)
            return Outcome(
                status=InStatus.HANDLED,
                replies=[self._reply(rendered)],
                topic="request_human",
                handoff={"urgent": False, "reason": "request_human"},
                lang=lang,
            )
        if text == consent.ACCEPT:
            return self._accept(turn, lang)
        if self._model_says_urgent(text):
            return self._urgent(lang)
        notice = self.renderer.render(consent.NOTICE_RESPONSE, lang)
        return Outcome(status=InStatus.AWAITING_CONSENT, replies=[self._reply(notice)], lang=lang)

    def _accept(self, turn: Turn, lang: str) -> Outcome:
        """Record the acceptance and answer the message that waited for it, if it had words."""
        thanks = self._reply(self.renderer.render(consent.THANKS_RESPONSE, lang))
        question = turn.waiting[1] if turn.waiting else ""
        if question.strip():  # never urgent: triage answered those before they could wait
            outcome = self._ask_rasa(turn, question, lang)
            outcome.replies = [thanks, *outcome.replies]
        else:
            greeting = self._reply(self.renderer.render(GREETING_RESPONSE, lang))
            outcome = Outcome(status=InStatus.HANDLED, replies=[thanks, greeting])
        outcome.consented = True
        outcome.released = turn.waiting[0] if turn.waiting else None
        outcome.lang = lang
        return outcome

    def _urgent(self, lang: str) -> Outcome:
        rendered = self.renderer.render(URGENT_RESPONSE, lang)
        return Outcome(
            status=InStatus.HANDLED,
            replies=[self._reply(rendered)],
            topic="urgent_safety",
            urgent=True,
            handoff={"urgent": True, "reason": "urgent_safety"},
        )

    def _model_says_urgent(self, text: str) -> bool:
        """Danger the patterns missed, before consent: the model's stateless parse (Rasa keeps
        nothing). Vital interests need no consent; with Rasa down the patterns stand alone."""
        if not text.strip():
            return False
        try:
            intent = self.rasa.parse(text).get("intent") or {}
        except RasaUnavailable:
            return False
        return intent.get("name") == "urgent_safety"

    @property
    def languages(self) -> list[str]:
        return self.renderer.catalogs.languages

    def picker(self, lang: str) -> Reply:
        """The language choice: the question in the current language, names in their own."""
        question = self.renderer.render(PICKER_RESPONSE, lang)["text"]
        return Reply(text=question, buttons=languages.picker_buttons(self.languages))

    def _answer_appointment(
        self, session: Session, conversation: Conversation, contact: Contact, outcome: Outcome
    ) -> None:
        """Confirm, cancel or ask for a new time; cancel and new time go to a counsellor."""
        payload = str(outcome.appointment_answer)
        response = reminders.answer(session, contact.id, payload)
        if response is None:
            return
        outcome.replies = [self._reply(self.renderer.render(response, contact.lang or "en"))]
        if payload != "appt:confirm" and response != "utter_appointment_none":
            outcome.handoff = {"urgent": False, "reason": payload.replace(":", "_")}

    @staticmethod
    def _reply(rendered: dict[str, Any]) -> Reply:
        buttons = tuple(Button(b["title"], b["payload"]) for b in rendered.get("buttons") or [])
        return Reply(text=rendered["text"], buttons=buttons)

    # -- step 3: complete --------------------------------------------------------------------
    def complete(self, claim: Claim, outcome: Outcome) -> bool:
        """Write the outcome and queue its replies atomically, then send the replies at once if
        they could be taken (bot/sender.py). False if the claim was lost."""
        with self.sessions.begin() as session:
            message, conversation, contact = session.execute(
                MESSAGE_WITH_PARENTS, {"message_id": claim.message_id}
            ).one()
            if message.status != InStatus.PROCESSING or message.claim_token != claim.token:
                return False
            message.status = outcome.status
            message.topic = outcome.topic
            message.urgent = outcome.urgent
            message.claim_token = None
            if outcome.topic:
                conversation.last_topic = outcome.topic
            if outcome.appointment_answer is not None:
                self._answer_appointment(session, conversation, contact, outcome)
            if outcome.lang is not None:
                contact.lang = outcome.lang
            if outcome.resumed_handoff is not None:
                session.get_one(Handoff, outcome.resumed_handoff).resume_pending = False
            if outcome.sms_opt_out is not None:
                contact.opted_out_at = now() if outcome.sms_opt_out else None
            if outcome.consented:
                self._record_consent(session, contact, message, outcome)
            if outcome.erase:
                contact.erase_requested_at = now()
            replies = [
                Message(
                    direction=Direction.OUT,
                    status=OutStatus.QUEUED,
                    author=Author.BOT,
                    conversation_id=conversation.id,
                    contact_id=contact.id,
                    channel=message.channel,
                    text=reply.text,
                    buttons=[{"title": b.title, "payload": b.payload} for b in reply.buttons]
                    or None,
                    in_reply_to_id=message.id,
                    lang=contact.lang or self.default_lang,
                    topic=outcome.topic,
                    urgent=outcome.urgent,
                )
                for reply in outcome.replies
            ]
            session.add_all(replies)
            taken = self.sender.take_replies(session, replies, contact)
            if outcome.handoff is not None:
                handoff = open_handoff(session, conversation.id)
                if handoff is None:
                    session.add(
                        Handoff(
                            conversation_id=conversation.id,
                            urgent=bool(outcome.handoff.get("urgent")),
                            reason=str(outcome.handoff.get("reason") or outcome.topic or "")[:40]
                            or None,
                        )
                    )
                elif outcome.handoff.get("urgent"):
                    handoff.urgent = True
            if outcome.intake is not None:
                session.add(Intake(conversation_id=conversation.id, answers=outcome.intake))
        log.info(
            "inbound processed",
            extra={
                "message_id": claim.message_id,
                "status": str(outcome.status),
                "topic": outcome.topic,
                "urgent": outcome.urgent,
                "replies": len(outcome.replies),
                "handoff": outcome.handoff is not None,
            },
        )
        self.sender.send_taken(taken)
        return True

    @staticmethod
    def _record_consent(
        session: Session, contact: Contact, message: Message, outcome: Outcome
    ) -> None:
        contact.consent_version = consent.NOTICE_VERSION
        contact.consent_at = now()
        contact.consent_channel = message.channel
        # Whatever waited for consent is now answered (the first) or seen (the rest).
        session.execute(
            update(Message)
            .where(
                Message.conversation_id == message.conversation_id,
                Message.status == InStatus.AWAITING_CONSENT,
            )
            .values(status=InStatus.HANDLED)
        )
        if outcome.released is not None:
            session.get_one(Message, outcome.released).topic = outcome.topic

    def retry_later(self, claim: Claim, reason: str) -> None:
        """Put a claimed message back with a backoff; later messages of its conversation wait."""
        with self.sessions.begin() as session:
            message = session.get_one(Message, claim.message_id)
            if message.claim_token != claim.token:
                return
            message.attempts += 1
            delay = min(self.retry_max_seconds, 0.5 * 2 ** min(message.attempts, 10))
            message.status = InStatus.PENDING
            message.next_attempt_at = now() + timedelta(seconds=delay)
            message.claim_token = None
            message.error = reason[:200]
        log.warning(
            "inbound waits for the engine",
            extra={"message_id": claim.message_id, "reason": reason, "retry_in_s": delay},
        )

    def process_next(self) -> bool:
        """Process one message if one is due. Returns False when there was nothing to do."""
        claim = self.claim_next()
        if claim is None:
            return False
        started = time.perf_counter()
        try:
            outcome = self.decide(claim.turn)
        except RasaUnavailable as exc:
            self.retry_later(claim, f"rasa: {exc}")
            PIPELINE_TURN.labels("retry").observe(time.perf_counter() - started)
            return True
        except Exception as exc:  # a bug must not lose the message: log it and retry later
            log.exception("inbound processing failed", extra={"message_id": claim.message_id})
            self.retry_later(claim, type(exc).__name__)
            PIPELINE_TURN.labels("retry").observe(time.perf_counter() - started)
            return True
        self.complete(claim, outcome)
        PIPELINE_TURN.labels(str(outcome.status)).observe(time.perf_counter() - started)
        return True
