"""Rasa stopped mid-conversation and restarted: nothing lost, nothing answered twice.
Also: no personal words or phone numbers in any log of the stack."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from bot.storage.models import Direction, InStatus, Message

from .conftest import Stack

pytestmark = pytest.mark.stack

SECRET_NAME = "Zarifa Okonkwo-Haddad"
SECRET_PHONE = "+31 6 9876 5432"


def test_rasa_down_then_back_loses_nothing_and_answers_once(stack: Stack, session_id: str) -> None:
    assert stack.say(session_id, "hello", lang="en")["topic"] == "greeting"
    stack.stop_rasa()
    try:
        assert stack.http.get("/readyz").status_code == 503
        first = stack.chat(session_id, "how can i go back to my country", wait=1)
        second = stack.chat(session_id, "who can get help with reintegration", wait=0)
        assert first.status_code == 202 and first.json()["pending"] is True
        assert second.status_code == 202 and second.json()["replies"] == []
    finally:
        stack.start_rasa()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with stack.sessions()() as db:
            inbound = db.scalars(
                select(Message).where(Message.direction == Direction.IN).order_by(Message.id)
            ).all()
            mine = [m for m in inbound if m.channel_message_id.startswith(session_id)]
            mine = mine[1:]  # after the acceptance of the privacy notice
            if all(m.status == InStatus.HANDLED for m in mine):
                break
        time.sleep(1)
    assert [m.status for m in mine] == [InStatus.HANDLED] * 3
    assert mine[1].attempts >= 1  # it really waited for Rasa
    with stack.sessions()() as db:
        replies = {
            m.id: db.scalars(
                select(Message).where(Message.in_reply_to_id == m.id).order_by(Message.id)
            ).all()
            for m in mine
        }
    for inbound_id, rows in replies.items():
        assert rows, f"message {inbound_id} got no reply"
        assert len({r.text for r in rows}) == len(rows), "a reply was queued twice"
    # Order is kept: every reply to the earlier message comes before any to the later one.
    assert max(r.id for r in replies[mine[1].id]) < min(r.id for r in replies[mine[2].id])
    assert mine[1].topic == "return_info"
    # The client can fetch the late replies.
    late = stack.http.get(f"/api/chat/{session_id}/messages").json()
    expected = sorted(r.id for rows in replies.values() for r in rows)
    assert [r["id"] for r in late][-len(expected) :] == expected  # after the notice's replies


def test_logs_hold_no_message_text_or_phone_number(stack: Stack, session_id: str) -> None:
    stack.say(session_id, f"my name is {SECRET_NAME} and my number is {SECRET_PHONE}", lang="en")
    stack.say(session_id, "i want to apply")
    stack.say(session_id, f"call me on {SECRET_PHONE}")
    stack.say(session_id, "I want to talk to a person")
    log_dir = stack.settings.var_dir / "log"
    logs = {p.name: p.read_text(errors="replace") for p in log_dir.glob("*.log")}
    assert {"gateway.log", "rasa.log", "actions.log"} <= set(logs)
    assert logs["gateway.log"].strip(), "the gateway wrote no log at all"
    digits = SECRET_PHONE.replace(" ", "")
    for name, content in logs.items():
        assert "Zarifa" not in content, name
        assert "Okonkwo" not in content, name
        assert digits not in content and digits[1:] not in content, name
        assert "9876 5432" not in content and "98765432" not in content, name
        assert "talk to a person" not in content, name
