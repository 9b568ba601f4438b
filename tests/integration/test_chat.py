"""One message end to end through the real Rasa model, through the chat API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import PROJECT_DIR
from bot.engine.nlg import Renderer
from bot.storage.models import Direction, Handoff, InStatus, Intake, Message

from .conftest import Stack

pytestmark = pytest.mark.stack

RENDERER = Renderer(PROJECT_DIR / "dialogues" / "domain.yml", PROJECT_DIR / "locales")


def rendered(response: str, lang: str) -> str:
    text = RENDERER.render(response, lang)["text"]
    assert isinstance(text, str)
    return text


def texts(answer: dict[str, object]) -> list[str]:
    replies = answer["replies"]
    assert isinstance(replies, list)
    return [r["text"] for r in replies]


def test_greeting(stack: Stack, session_id: str) -> None:
    answer = stack.say(session_id, "hello there")
    assert answer["topic"] == "greeting"
    assert texts(answer) == [rendered("utter_greeting", "en")]
    assert answer["replies"][0]["buttons"]  # type: ignore[index]
    assert answer["handoff"] is False
    assert answer["urgent"] is False
    assert answer["lang"] == "en"


def test_factual_question_in_english(stack: Stack, session_id: str) -> None:
    answer = stack.say(session_id, "how does going back to my country with iom work")
    assert answer["topic"] == "return_info"
    assert rendered("utter_return_info", "en") in texts(answer)


def test_factual_question_in_dutch_is_answered_in_dutch(stack: Stack, session_id: str) -> None:
    answer = stack.say(session_id, "hoe werkt terugkeer naar mijn land met iom", lang="nl")
    assert answer["topic"] == "return_info"
    assert answer["lang"] == "nl"
    dutch = rendered("utter_return_info", "nl")
    assert dutch != rendered("utter_return_info", "en")
    assert dutch in texts(answer)


def test_button_payload_skips_understanding(stack: Stack, session_id: str) -> None:
    answer = stack.say(session_id, "/contact")
    assert answer["topic"] == "contact"
    assert rendered("utter_contact", "en") in texts(answer)


def test_intake_form_rejects_a_wrong_answer_and_takes_the_correction(
    stack: Stack, session_id: str
) -> None:
    answer = stack.say(session_id, "i want to apply for return")
    assert answer["topic"] == "apply"
    assert rendered("utter_ask_intake_service", "en") in texts(answer)
    answer = stack.say(session_id, "return")
    assert texts(answer)[-1] == rendered("utter_ask_intake_age", "en")
    answer = stack.say(session_id, "banana")
    assert rendered("utter_invalid_intake_age", "en") in texts(answer)
    assert texts(answer)[-1] == rendered("utter_ask_intake_age", "en")
    answer = stack.say(session_id, "34")
    assert rendered("utter_intake_submitted", "en") in texts(answer)
    with stack.sessions()() as db:
        intake = db.scalars(select(Intake).order_by(Intake.id.desc())).first()
    assert intake is not None
    assert intake.answers["service"] == "return"
    assert intake.answers["age"] == 34
    assert intake.answers["minor"] is False


def test_request_for_a_person_silences_the_bot(stack: Stack, session_id: str) -> None:
    answer = stack.say(session_id, "I want to talk to a person")
    assert answer["handoff"] is True
    assert answer["topic"] == "request_human"
    assert rendered("utter_handoff", "en") in texts(answer)
    later = stack.say(session_id, "hello? how do i go home")
    assert later["replies"] == []
    assert later["handoff"] is True
    with stack.sessions()() as db:
        last = db.scalars(select(Message).order_by(Message.id.desc())).first()
        handoffs = db.scalars(select(Handoff)).all()
    assert last is not None and last.status == InStatus.HELD
    assert last.text == "hello? how do i go home"  # stored for the counsellor
    assert any(h.reason == "request_human" for h in handoffs)


def test_urgent_message_gets_emergency_numbers_and_an_urgent_handoff(
    stack: Stack, session_id: str
) -> None:
    answer = stack.say(session_id, "mijn man slaat me en ik ben bang", lang="nl")
    assert answer["urgent"] is True
    assert answer["handoff"] is True
    assert texts(answer) == [rendered("utter_urgent_safety", "nl")]
    assert "112" in texts(answer)[0]


def test_ready_when_database_and_rasa_answer(stack: Stack) -> None:
    response = stack.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"database": True, "rasa": True}
    assert stack.http.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/chat/bad%20id/messages", {"text": "hi"}, 400),
        ("/api/chat/s1/messages", {"text": ""}, 422),
        ("/api/chat/s1/messages", {"text": "hi", "lang": "xx"}, 422),
        ("/api/chat/s1/messages", {"nottext": 1}, 422),
    ],
)
def test_bad_input_gets_a_clear_answer_and_stores_nothing(
    stack: Stack, path: str, body: dict[str, object], status: int
) -> None:
    inbound = select(Message.id).where(Message.direction == Direction.IN)
    with stack.sessions()() as db:
        before = len(db.scalars(inbound).all())
    response = stack.http.post(path, json=body)
    assert response.status_code == status
    assert response.json()["detail"]
    with stack.sessions()() as db:
        assert len(db.scalars(inbound).all()) == before


def test_malformed_json_is_rejected(stack: Stack) -> None:
    response = stack.http.post(
        "/api/chat/s1/messages", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_nlg_endpoint_refuses_without_the_internal_token(stack: Stack) -> None:
    body = {"response": "utter_greeting", "tracker": {}, "arguments": {}}
    assert stack.http.post("/nlg", json=body).status_code == 403
    assert stack.http.post("/nlg", params={"token": "wrong"}, json=body).status_code == 403
