"""The privacy notice and "delete my data" through the chat API, with the real model."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select, text

from bot import consent
from bot.privacy.subject import tracker_engine
from bot.storage.models import Tombstone
from bot.storage.repo import ContactKeys

from .conftest import Stack
from .test_subject_rights import baken, files_holding

pytestmark = pytest.mark.stack


def payloads(reply: dict[str, object]) -> list[object]:
    buttons = reply["buttons"]
    assert isinstance(buttons, list)
    return [b["payload"] for b in buttons]


def test_the_first_question_waits_for_consent_then_is_answered(
    stack: Stack, session_id: str
) -> None:
    first = stack.chat(session_id, "How can I return to Iraq?", lang="en", consent=False).json()
    [notice] = first["replies"]
    assert notice["text"].startswith("Before we start")
    assert payloads(notice) == [consent.ACCEPT, consent.HUMAN, "lang:pick"]
    assert first["topic"] is None and first["handoff"] is False
    exported = baken("export", f"web:{session_id}")
    assert '"version": null' in exported.stdout  # nothing accepted yet
    accepted = stack.chat(session_id, "1", consent=False).json()  # "I agree", by its number
    thanks, *answer = accepted["replies"]
    assert thanks["text"].startswith("Thank you")
    assert answer and accepted["topic"] in ("return_info", "return_eligibility")
    exported = baken("export", f"web:{session_id}")
    assert f'"version": "{consent.NOTICE_VERSION}"' in exported.stdout


@pytest.mark.parametrize(
    "words",
    [
        "he is hitting me, help",  # caught by the safety patterns
        "i am scared he will kill me",  # missed by the patterns, caught by the model's parse
    ],
)
def test_without_consent_danger_is_still_answered_at_once(
    stack: Stack, session_id: str, words: str
) -> None:
    reply = stack.chat(session_id, words, lang="en", consent=False).json()
    assert reply["urgent"] is True and reply["handoff"] is True
    assert "112" in reply["replies"][0]["text"]


def test_delete_my_data_in_the_chat_erases_everything(stack: Stack, session_id: str) -> None:
    stack.say(session_id, "Yusuf from Mosul asks about family reunification", lang="en")
    asked = stack.say(session_id, "please delete all my data")
    assert asked["topic"] == "delete_data"
    [question] = asked["replies"]
    assert payloads(question) == [consent.ERASE_CONFIRM, consent.ERASE_CANCEL]
    done = stack.say(session_id, "1")
    assert done["replies"][0]["text"].startswith("Done.")
    keys = ContactKeys(stack.settings.derive("urn-lookup"), stack.settings.derive("rasa-sender"))
    sender = keys.pseudonym(f"web:{session_id}")
    deadline = time.monotonic() + 60
    while baken("export", f"web:{session_id}").returncode == 0:
        assert time.monotonic() < deadline, "the erasure was not carried out"
        time.sleep(1)
    with stack.sessions()() as db:
        assert db.scalars(select(Tombstone.reason).order_by(Tombstone.id.desc())).first() == "chat"
    engine = tracker_engine(stack.settings.tracker_url)
    assert engine is not None
    with engine.connect() as conn:
        query = text("SELECT COUNT(*) FROM events WHERE sender_id = :s")
        assert conn.execute(query, {"s": sender}).scalar() == 0  # Rasa forgot the person too
    engine.dispose()
    assert files_holding(stack.settings.var_dir, b"Yusuf") == []
    assert files_holding(stack.settings.var_dir, b"Mosul") == []
