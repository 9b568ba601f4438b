"""The inbox with a real channel: a person on Telegram asks for a counsellor, the counsellor's
reply and the "bot is back" message reach the fake Telegram API, and the bot answers again."""

from __future__ import annotations

import itertools

import pytest

from bot.config import PROJECT_DIR
from bot.engine.nlg import Renderer

from .conftest import Stack
from .inbox import add_user, conversation_id, csrf_of, login
from .test_channels import telegram_post, telegram_sent, telegram_update, wait_for

pytestmark = pytest.mark.stack

RENDERER = Renderer(PROJECT_DIR / "dialogues" / "domain.yml", PROJECT_DIR / "locales")
_chats = itertools.count(731000001)


def texts(stack: Stack, chat_id: int) -> list[str]:
    return [str(m.get("text")) for m in telegram_sent(stack, chat_id)]


def test_counsellor_reply_reaches_the_person_on_telegram(stack: Stack) -> None:
    chat_id = next(_chats)
    pick = telegram_update("message_text", chat_id, text="English")  # the first-contact choice
    assert telegram_post(stack, pick).status_code == 200
    accept = telegram_update("message_text", chat_id, text="consent:yes")  # "I agree"
    assert telegram_post(stack, accept).status_code == 200
    greeting = RENDERER.render("utter_greeting", "en")["text"]
    wait_for(lambda: greeting in texts(stack, chat_id))
    ask = telegram_update("message_text", chat_id, text="I want to talk to a person")
    assert telegram_post(stack, ask).status_code == 200
    handoff_text = RENDERER.render("utter_handoff", "en")["text"]
    wait_for(lambda: handoff_text in texts(stack, chat_id))
    marker = f"telegram question {chat_id}"
    assert telegram_post(stack, telegram_update("message_text", chat_id, text=marker)).status_code
    username, _ = add_user()
    http = login(stack, username)
    wait_for(lambda: marker in http.get("/inbox/queue").text)
    conversation = conversation_id(http, marker)
    token = csrf_of(http)
    page = http.get(f"/inbox/conversations/{conversation}").text
    assert "telegram" in page

    reply = f"Hello from your IOM counsellor ({chat_id})."
    sent = http.post(
        f"/inbox/conversations/{conversation}/reply", data={"text": reply, "csrf": token}
    )
    assert sent.status_code == 303
    wait_for(lambda: reply in texts(stack, chat_id))

    closed = http.post(
        f"/inbox/conversations/{conversation}/close", data={"outcome": "answered", "csrf": token}
    )
    assert closed.status_code == 303
    back = RENDERER.render("utter_handoff_closed", "en")["text"]
    wait_for(lambda: back in texts(stack, chat_id))

    before = len(texts(stack, chat_id))
    again = telegram_update("message_text", chat_id, text="how does going back to my country work")
    assert telegram_post(stack, again).status_code == 200
    answer = RENDERER.render("utter_return_info", "en")["text"]
    wait_for(lambda: answer in texts(stack, chat_id)[before:])
