"""WhatsApp and SMS through Twilio, Telegram through python-telegram-bot: signed webhooks into the
real stack, replies through the real client libraries to local fake APIs."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from twilio.request_validator import RequestValidator

from bot.fakes.twilio_api import AUTH_TOKEN, twilio_error
from bot.storage.models import Author, Contact, Direction, Message, OutStatus
from bot.storage.repo import open_conversation

from .conftest import SMS_FROM, TELEGRAM_SECRET, WHATSAPP_FROM, Stack

pytestmark = pytest.mark.stack

PAYLOADS = Path(__file__).resolve().parent.parent / "fixtures" / "payloads"
_numbers = itertools.count(10)
_sids = itertools.count(100)
_updates = itertools.count(800000000)


def payload(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text())
    return data


def new_phone() -> str:
    return f"+316000{next(_numbers):05d}"


def twilio_form(name: str, phone: str, **changes: str) -> dict[str, str]:
    form = payload(f"twilio/{name}.json")
    sid = f"SM{next(_sids):032d}"
    prefix = "whatsapp:" if form["From"].startswith("whatsapp:") else ""
    form.update(MessageSid=sid, SmsSid=sid, SmsMessageSid=sid, From=f"{prefix}{phone}")
    if "WaId" in form:
        form["WaId"] = phone.lstrip("+")
    form.update(changes)
    return form


def signed_post(
    stack: Stack, path: str, form: dict[str, str], signature: str | None = None
) -> httpx.Response:
    url = stack.settings.public_url.rstrip("/") + path
    if signature is None:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    return stack.http.post(path, data=form, headers={"X-Twilio-Signature": signature})


def telegram_post(stack: Stack, update: dict[str, Any], secret: str = TELEGRAM_SECRET) -> Any:
    return stack.http.post(
        "/webhooks/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}
    )


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def sent_to(stack: Stack, to: str) -> list[dict[str, str]]:
    return [m for m in stack.twilio.messages() if m.get("To") == to]


def stored_count(stack: Stack) -> int:
    """Inbound messages stored (replies to earlier tests may still be going out)."""
    with stack.sessions()() as db:
        return len(db.scalars(select(Message.id).where(Message.direction == Direction.IN)).all())


# -- WhatsApp --------------------------------------------------------------------------------
def test_whatsapp_message_gets_a_reply_through_twilio(stack: Stack) -> None:
    phone = new_phone()
    response = signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response>" in response.text
    # First contact: the privacy notice; its buttons become numbered options.
    [notice] = wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    assert notice["From"] == WHATSAPP_FROM
    assert notice["Body"].startswith("Before we start")
    assert "\n1. I agree\n2. Talk to a person\n3. Language" in notice["Body"]
    assert notice["StatusCallback"].endswith("/webhooks/twilio/status")
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="1"))
    thanks, reply = wait_for(
        lambda: (
            len(sent_to(stack, f"whatsapp:{phone}")) >= 3 and sent_to(stack, f"whatsapp:{phone}")
        )
    )[1:3]
    assert thanks["Body"].startswith("Thank you")
    assert reply["Body"].startswith("Hello")  # the "hello" that waited for consent
    assert "\n1. Return home" in reply["Body"]


def test_whatsapp_language_choice_before_consent(stack: Stack) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone))
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="3"))
    picker = wait_for(lambda: sent_to(stack, f"whatsapp:{phone}")[1:])[0]
    assert picker["Body"].startswith("Which language")
    assert "\n1. English\n2. Nederlands\n3. العربية" in picker["Body"]  # in their own script
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="2"))
    notice = wait_for(lambda: sent_to(stack, f"whatsapp:{phone}")[2:])[0]
    assert notice["Body"].startswith("Voordat we beginnen")
    assert "\n1. Ik ga akkoord" in notice["Body"]


def test_whatsapp_numbered_answer_maps_to_the_offered_option(stack: Stack) -> None:
    phone = new_phone()
    greeting = onboard_whatsapp(stack, phone)
    assert greeting["Body"].startswith("Hello")  # "1" accepted the notice; "hello" is answered
    assert "\n1. Return home" in greeting["Body"]
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="1"))
    replies = wait_for(lambda: sent_to(stack, f"whatsapp:{phone}")[3:])
    with stack.sessions()() as db:
        last_in = db.scalars(
            select(Message).where(Message.direction == Direction.IN).order_by(Message.id.desc())
        ).first()
    assert last_in is not None and last_in.text == "1"
    assert last_in.topic == "return_info"  # option 1 of the greeting is "Return home"
    assert replies[0]["Body"]


def test_whatsapp_button_reply_and_voice_note(stack: Stack) -> None:
    phone = new_phone()
    onboard_whatsapp(stack, phone)
    button = twilio_form("whatsapp_button", phone)
    signed_post(stack, "/webhooks/twilio", button)
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}")[3:])
    voice = twilio_form("whatsapp_voice", phone)
    assert signed_post(stack, "/webhooks/twilio", voice).status_code == 200
    with stack.sessions()() as db:
        rows = db.scalars(
            select(Message).where(Message.channel_message_id.in_([voice["MessageSid"]]))
        ).all()
    assert len(rows) == 1
    assert rows[0].media == [{"url": voice["MediaUrl0"], "type": "audio/ogg"}]
    with stack.sessions()() as db:
        pressed = db.scalars(
            select(Message).where(Message.channel_message_id == button["MessageSid"])
        ).one()
    assert pressed.topic == "contact"  # ButtonPayload "/contact" skipped understanding
    media_reply = wait_for(lambda: sent_to(stack, f"whatsapp:{phone}")[4:])
    assert media_reply[0]["Body"].startswith("I cannot listen")


def onboard_whatsapp(stack: Stack, phone: str) -> dict[str, str]:
    """First contact: "hello" gets the privacy notice, answered with 1 (I agree); returns the
    greeting that then answers the "hello" (after the notice and the thanks)."""
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone))
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="1"))
    return wait_for(lambda: sent_to(stack, f"whatsapp:{phone}")[2:])[0]  # type: ignore[no-any-return]


def test_redelivered_webhook_gets_one_reply(stack: Stack) -> None:
    phone = new_phone()
    form = twilio_form("whatsapp_text", phone, Body="English")
    for _ in range(3):
        assert signed_post(stack, "/webhooks/twilio", form).status_code == 200
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    time.sleep(2)  # give a wrong second reply every chance to appear
    assert len(sent_to(stack, f"whatsapp:{phone}")) == 1


@pytest.mark.parametrize("how", ["forged", "missing", "body-changed", "wrong-url"])
def test_unauthentic_twilio_webhooks_are_refused_and_not_stored(stack: Stack, how: str) -> None:
    form = twilio_form("whatsapp_text", new_phone())
    url = stack.settings.public_url.rstrip("/") + "/webhooks/twilio"
    good = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
    before = stored_count(stack)
    if how == "forged":
        response = signed_post(stack, "/webhooks/twilio", form, signature="bm90IGEgc2lnbmF0dXJl")
    elif how == "missing":
        response = stack.http.post("/webhooks/twilio", data=form)
    elif how == "body-changed":
        response = signed_post(stack, "/webhooks/twilio", {**form, "Body": "other"}, good)
    else:
        other = RequestValidator(AUTH_TOKEN).compute_signature("https://evil.example/x", form)
        response = signed_post(stack, "/webhooks/twilio", form, other)
    assert response.status_code == 403
    assert stored_count(stack) == before


def test_signed_but_malformed_webhook_gets_400(stack: Stack) -> None:
    before = stored_count(stack)
    response = signed_post(stack, "/webhooks/twilio", {"Body": "no sender"})
    assert response.status_code == 400
    assert stored_count(stack) == before


# -- SMS -------------------------------------------------------------------------------------
def test_sms_gets_a_reply_and_shares_the_contact_with_whatsapp(stack: Stack) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone))
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    signed_post(stack, "/webhooks/twilio", twilio_form("sms_text", phone))
    [reply] = wait_for(lambda: sent_to(stack, phone))
    assert reply["From"] == SMS_FROM
    assert reply["Body"]
    with stack.sessions()() as db:
        contacts = [c for c in db.scalars(select(Contact)).all() if c.urn == f"tel:{phone}"]
    assert len(contacts) == 1


def test_stop_means_no_more_sms(stack: Stack) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("sms_text", phone, Body="Stop"))

    def opted_out() -> bool:
        with stack.sessions()() as db:
            return any(
                c.opted_out_at is not None and c.urn == f"tel:{phone}"
                for c in db.scalars(select(Contact)).all()
            )

    wait_for(opted_out)
    queued = queue_outbound(stack, phone, "sms", "a counsellor message")
    status = wait_for(lambda: outbound_status(stack, queued) in ("failed",) and "failed")
    assert status == "failed"
    assert outbound_error(stack, queued) == "opted-out"
    assert sent_to(stack, phone) == []  # not the STOP, not the later message


def test_sms_help_is_answered_before_understanding(stack: Stack) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("sms_text", phone, Body="HULP"))
    [reply] = wait_for(lambda: sent_to(stack, phone))
    assert "IOM" in reply["Body"]


def test_twilio_failing_for_a_while_delivers_exactly_once(stack: Stack) -> None:
    phone = new_phone()
    stack.twilio.fail_next.extend([twilio_error(500, 20500, "Internal Server Error")] * 2)
    signed_post(stack, "/webhooks/twilio", twilio_form("sms_text", phone, Body="English"))
    [reply] = wait_for(lambda: sent_to(stack, phone), timeout=90)
    refused = [c for c in stack.twilio.calls if c.form.get("To") == phone and c.status == 500]
    assert len(refused) == 2  # it really failed twice before it got through
    time.sleep(2)
    assert len(sent_to(stack, phone)) == 1
    assert reply["Body"]


# -- WhatsApp window, status callbacks -------------------------------------------------------
def queue_outbound(stack: Stack, phone: str, channel: str, text: str, lang: str = "en") -> int:
    """A message queued as a counsellor's reply would be (the inbox issue adds the UI)."""
    with stack.sessions().begin() as db:
        contact = next(c for c in db.scalars(select(Contact)).all() if c.urn == f"tel:{phone}")
        conversation = open_conversation(db, contact)
        row = Message(
            direction=Direction.OUT,
            status=OutStatus.QUEUED,
            author=Author.COUNSELLOR,
            conversation_id=conversation.id,
            contact_id=contact.id,
            channel=channel,
            text=text,
            lang=lang,
        )
        db.add(row)
        db.flush()
        return row.id


def outbound_status(stack: Stack, message_id: int) -> str:
    with stack.sessions()() as db:
        return str(db.get_one(Message, message_id).status)


def outbound_error(stack: Stack, message_id: int) -> str | None:
    with stack.sessions()() as db:
        return db.get_one(Message, message_id).error


def age_whatsapp_inbound(stack: Stack, phone: str, hours: float) -> None:
    with stack.sessions().begin() as db:
        ids = [c.id for c in db.scalars(select(Contact)).all() if c.urn == f"tel:{phone}"]
        db.execute(
            update(Message)
            .where(Message.contact_id.in_(ids), Message.direction == Direction.IN)
            .values(created_at=datetime.now(UTC) - timedelta(hours=hours))
        )


def test_outside_the_window_a_template_is_sent(stack: Stack) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="English"))
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    age_whatsapp_inbound(stack, phone, hours=25)
    message_id = queue_outbound(stack, phone, "whatsapp", "Your appointment is confirmed.")
    sent = wait_for(lambda: sent_to(stack, f"whatsapp:{phone}")[1:])
    assert sent[0]["ContentSid"].startswith("HX")
    assert "Body" not in sent[0]
    assert json.loads(sent[0]["ContentVariables"]) == {"1": "Your appointment is confirmed."}
    with stack.sessions()() as db:
        assert db.get_one(Message, message_id).template == "reply_waiting"


def test_outside_the_window_without_template_falls_back_to_sms_with_consent(
    stack: Stack,
) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="English"))
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    age_whatsapp_inbound(stack, phone, hours=30)
    with stack.sessions().begin() as db:
        for contact in db.scalars(select(Contact)).all():
            if contact.urn == f"tel:{phone}":
                contact.sms_consent = True
    # No Dutch template is configured.
    message_id = queue_outbound(stack, phone, "whatsapp", "Uw afspraak staat vast.", lang="nl")
    [sms] = wait_for(lambda: sent_to(stack, phone))
    assert sms["Body"] == "Uw afspraak staat vast."
    assert outbound_status(stack, message_id) == "sent"
    with stack.sessions()() as db:
        assert db.get_one(Message, message_id).channel == "sms"


def test_outside_the_window_without_template_or_consent_fails_visibly(stack: Stack) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="English"))
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    age_whatsapp_inbound(stack, phone, hours=30)
    message_id = queue_outbound(stack, phone, "whatsapp", "Uw afspraak staat vast.", lang="nl")
    wait_for(lambda: outbound_status(stack, message_id) == "failed")
    assert outbound_error(stack, message_id) == "window-closed"


def test_status_callbacks_update_delivery_and_are_signed(stack: Stack) -> None:
    phone = new_phone()
    signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone, Body="English"))
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))

    def sent_row() -> Message | None:
        with stack.sessions()() as db:
            ids = [c.id for c in db.scalars(select(Contact)).all() if c.urn == f"tel:{phone}"]
            return db.scalars(
                select(Message).where(
                    Message.contact_id.in_(ids),
                    Message.direction == Direction.OUT,
                    Message.status == OutStatus.SENT,
                )
            ).first()

    row = wait_for(sent_row)
    callback = payload("twilio/status_delivered.json")
    callback.update(MessageSid=row.channel_message_id, SmsSid=row.channel_message_id)
    forged = signed_post(stack, "/webhooks/twilio/status", callback, signature="Zm9yZ2Vk")
    assert forged.status_code == 403
    assert signed_post(stack, "/webhooks/twilio/status", callback).status_code == 204
    assert outbound_status(stack, row.id) == "delivered"
    # A late "sent" callback never moves a delivered message back.
    late = {**callback, "MessageStatus": "sent", "SmsStatus": "sent"}
    signed_post(stack, "/webhooks/twilio/status", late)
    assert outbound_status(stack, row.id) == "delivered"


# -- Telegram --------------------------------------------------------------------------------
def telegram_update(name: str, chat_id: int, **message_changes: Any) -> dict[str, Any]:
    update_ = payload(f"telegram/{name}.json")
    update_["update_id"] = next(_updates)
    body = update_.get("message") or update_["callback_query"]["message"]
    body["chat"]["id"] = chat_id
    if "message" in update_:
        update_["message"]["from"]["id"] = chat_id
        update_["message"].update(message_changes)
    else:
        update_["callback_query"]["from"]["id"] = chat_id
    return update_


def telegram_sent(stack: Stack, chat_id: int) -> list[dict[str, Any]]:
    return [m for m in stack.telegram.messages() if int(m["chat_id"]) == chat_id]


def test_telegram_message_gets_a_reply_with_inline_buttons(stack: Stack) -> None:
    chat_id = 555000000 + next(_numbers)
    assert telegram_post(stack, telegram_update("message_text", chat_id)).status_code == 200
    notice = wait_for(lambda: telegram_sent(stack, chat_id))[0]
    assert notice["text"].startswith("Before we start")
    keyboard = json.loads(notice["reply_markup"])["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard] == ["I agree", "Talk to a person", "Language"]
    data = [row[0]["callback_data"] for row in keyboard]
    assert all(len(d.encode()) <= 64 for d in data)
    press = telegram_update("callback_query", chat_id)
    press["callback_query"]["data"] = data[2]  # Language
    assert telegram_post(stack, press).status_code == 200
    picker = wait_for(lambda: telegram_sent(stack, chat_id)[1:])[0]
    keyboard = json.loads(picker["reply_markup"])["inline_keyboard"]
    assert [row[0]["text"] for row in keyboard][:3] == ["English", "Nederlands", "العربية"]
    press = telegram_update("callback_query", chat_id)
    press["callback_query"]["data"] = keyboard[0][0]["callback_data"]  # English
    assert telegram_post(stack, press).status_code == 200
    notice = wait_for(lambda: telegram_sent(stack, chat_id)[2:])[0]
    press = telegram_update("callback_query", chat_id)
    press["callback_query"]["data"] = json.loads(notice["reply_markup"])["inline_keyboard"][0][0][
        "callback_data"
    ]  # I agree
    assert telegram_post(stack, press).status_code == 200
    thanks, greeting = wait_for(
        lambda: len(telegram_sent(stack, chat_id)) >= 5 and telegram_sent(stack, chat_id)
    )[3:5]
    assert thanks["text"].startswith("Thank you")
    assert greeting["text"].startswith("Hello")  # the "hello" that waited is answered
    data = [
        row[0]["callback_data"] for row in json.loads(greeting["reply_markup"])["inline_keyboard"]
    ]
    # Pressing the last button ("Talk to a person") is mapped back to its payload.
    press = telegram_update("callback_query", chat_id)
    press["callback_query"]["data"] = data[-1]
    assert telegram_post(stack, press).status_code == 200
    replies = wait_for(lambda: telegram_sent(stack, chat_id)[5:])
    assert replies[0]["text"]
    wait_for(lambda: stack.telegram.sent("/answerCallbackQuery"))
    with stack.sessions()() as db:
        last_in = db.scalars(
            select(Message).where(Message.direction == Direction.IN).order_by(Message.id.desc())
        ).first()
    assert last_in is not None and last_in.topic == "request_human"


def test_telegram_paces_replies_in_one_chat(stack: Stack) -> None:
    chat_id = 555000000 + next(_numbers)
    # The notice, then the thanks and the answer to "hello": three messages at once.
    telegram_post(stack, telegram_update("message_text", chat_id, text="hello"))
    telegram_post(stack, telegram_update("message_text", chat_id, text="consent:yes"))

    def calls() -> list[Any]:
        return [
            c
            for c in stack.telegram.sent("/sendMessage")
            if int((c.json or c.form)["chat_id"]) == chat_id
        ]

    burst = wait_for(lambda: len(calls()) >= 3 and calls())
    gaps = [b.at - a.at for a, b in itertools.pairwise(burst)]
    assert all(gap >= 0.9 for gap in gaps), gaps  # Telegram: about one message a second per chat


def test_telegram_voice_note_is_kept_as_a_reference(stack: Stack) -> None:
    chat_id = 555000000 + next(_numbers)
    voice = telegram_update("voice", chat_id)
    assert telegram_post(stack, voice).status_code == 200
    with stack.sessions()() as db:
        row = db.scalars(
            select(Message).where(Message.channel_message_id == f"u{voice['update_id']}")
        ).one()
    assert row.media == [{"type": "voice", "file_id": voice["message"]["voice"]["file_id"]}]


@pytest.mark.parametrize("secret", ["wrong", ""])
def test_telegram_without_the_secret_is_refused(stack: Stack, secret: str) -> None:
    before = stored_count(stack)
    response = telegram_post(stack, telegram_update("message_text", 555999999), secret=secret)
    assert response.status_code == 403
    assert stored_count(stack) == before


def test_telegram_malformed_update_gets_400(stack: Stack) -> None:
    response = stack.http.post(
        "/webhooks/telegram",
        content=b"[1, 2",
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code == 400


def test_baken_telegram_webhook_registers_with_the_secret(stack: Stack) -> None:
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "telegram-webhook"],
        env={**os.environ, "BAKEN_VAR_DIR": str(stack.settings.var_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [call] = stack.telegram.sent("/setWebhook")[-1:]
    params = call.json or call.form
    assert params["url"] == stack.settings.public_url.rstrip("/") + "/webhooks/telegram"
    assert params["secret_token"] == TELEGRAM_SECRET
    allowed = params["allowed_updates"]
    assert (json.loads(allowed) if isinstance(allowed, str) else allowed) == [
        "message",
        "callback_query",
    ]
