"""Inbox pieces without the stack: catalogs complete, argon2id hashes, throttle, and a close
that Rasa cannot hear about yet (it is kept and retried, never lost)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from sqlalchemy import select

from bot.config import PROJECT_DIR
from bot.inbox import conversation as conv
from bot.inbox import security
from bot.inbox.i18n import UiCatalogs
from bot.inbox.web import Actor
from bot.messages import InboundMessage
from bot.services import Services
from bot.storage.models import Author, Handoff, HandoffStatus, InboxUser, Message, Role
from bot.storage.repo import store_inbound

INBOX_DIR = PROJECT_DIR / "bot" / "inbox"


def extracted() -> set[str]:
    methods = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    return {str(msg[2]) for msg in extract_from_dir(str(INBOX_DIR), methods) if msg[2]}


def test_every_inbox_text_has_a_dutch_translation() -> None:
    path = PROJECT_DIR / "locales" / "nl" / "LC_MESSAGES" / "inbox.po"
    catalog = read_po(io.BytesIO(path.read_bytes()), locale="nl")
    translated = {str(m.id) for m in catalog if m.id and m.string and not m.fuzzy}
    missing = extracted() - translated
    assert not missing, f"run `make i18n-inbox` and translate: {sorted(missing)[:10]}"
    dutch = UiCatalogs(PROJECT_DIR / "locales").gettext("nl")
    assert dutch("Log in") == "Inloggen"
    assert dutch("last %(n)s days", n=7) == "laatste 7 dagen"


def test_passwords_are_argon2id_and_short_ones_are_refused() -> None:
    stored = security.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert security.verify_password(stored, "correct horse battery")
    assert not security.verify_password(stored, "wrong")
    assert not security.verify_password(None, "anything")
    with pytest.raises(security.PasswordTooWeak):
        security.hash_password("short")


def test_throttle_counts_failures_per_address() -> None:
    throttle = security.Throttle(limit=2, window=60)
    throttle.failed("10.0.0.1")
    assert not throttle.blocked("10.0.0.1")
    throttle.failed("10.0.0.1")
    assert throttle.blocked("10.0.0.1")
    assert not throttle.blocked("10.0.0.2")


def test_close_while_rasa_is_down_is_kept_and_the_person_is_told(services: Services) -> None:
    inbound = InboundMessage(
        urn="web:s-close", channel="web", channel_message_id="m1",
        received_at=datetime.now(UTC), text="help",
    )  # fmt: skip
    with services.sessions.begin() as db:
        message = store_inbound(db, services.keys, inbound)
        user = InboxUser(
            username="carla", role=Role.COUNSELLOR, password_hash=security.hash_password("x" * 12)
        )
        db.add(user)
        db.add(Handoff(conversation_id=message.conversation_id, reason="request_human"))
        db.flush()
        actor = Actor(user.id, "carla", Role.COUNSELLOR, 0, "", "en")
        conversation_id = message.conversation_id
    with services.sessions.begin() as db:
        conv.claim(db, actor, conversation_id)
        conv.reply(db, services, actor, conversation_id, "Hello from IOM")
        handoff_id = conv.close(db, services, actor, conversation_id, "answered")
    assert conv.resume(services, handoff_id) is False  # Rasa is down in unit tests
    conv.retry_resumes(services)
    with services.sessions() as db:
        handoff = db.get_one(Handoff, handoff_id)
        assert handoff.status == HandoffStatus.CLOSED
        assert handoff.resume_pending is True
        assert handoff.outcome == "answered" and handoff.first_response_at is not None
        out = db.scalars(
            select(Message).where(Message.direction == "out").order_by(Message.id)
        ).all()
    assert [(m.author, m.channel, m.in_reply_to_id) for m in out] == [
        (Author.COUNSELLOR, "web", None),
        (Author.BOT, "web", None),
    ]
    assert out[0].text == "Hello from IOM"
    assert out[1].text == services.renderer.render(conv.CLOSED_RESPONSE, "en")["text"]
    with services.sessions.begin() as db, pytest.raises(conv.Conflict, match="closed"):
        conv.reply(db, services, actor, conversation_id, "too late")
