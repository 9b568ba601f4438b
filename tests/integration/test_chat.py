"""One message end to end through the real Rasa model, through the chat API."""

from __future__ import annotations

from typing import Any

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
    answer = stack.say(session_id, "hello there", lang="en")
    assert answer["topic"] == "greeting"
    assert texts(answer) == [rendered("utter_greeting", "en")]
    assert answer["replies"][0]["buttons"]  # type: ignore[index]
    assert answer["handoff"] is False
    assert answer["urgent"] is False
    assert answer["lang"] == "en"


def test_factual_question_in_english(stack: Stack, session_id: str) -> None:
    answer = stack.say(session_id, "how does going back to my country with iom work", lang="en")
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
    answer = stack.say(session_id, "/contact", lang="en")
    assert answer["topic"] == "contact"
    assert rendered("utter_contact", "en") in texts(answer)


def _answer(stack: Stack, session_id: str, text: str, expected_last: str, lang: str) -> list[str]:
    replies = texts(stack.say(session_id, text))
    assert replies[-1] == rendered(expected_last, lang), (text, replies)
    return replies


def test_intake_form_rejects_wrong_answers_and_submits_after_confirm_and_consent(
    stack: Stack, session_id: str
) -> None:
    answer = stack.say(session_id, "i want to apply for return", lang="en")
    assert answer["topic"] == "apply"
    assert texts(answer)[-1] == rendered("utter_ask_intake_service", "en")
    _answer(stack, session_id, "1", "utter_ask_intake_country", "en")
    bad = _answer(stack, session_id, "narnia", "utter_ask_intake_country", "en")
    assert rendered("utter_invalid_intake_country", "en") in bad
    _answer(stack, session_id, "iraq", "utter_ask_intake_residence", "en")
    _answer(stack, session_id, "skip", "utter_ask_intake_age", "en")
    bad = _answer(stack, session_id, "banana", "utter_ask_intake_age", "en")
    assert rendered("utter_invalid_intake_age", "en") in bad
    _answer(stack, session_id, "34", "utter_ask_intake_household", "en")
    _answer(stack, session_id, "we are 3", "utter_ask_intake_documents", "en")
    _answer(stack, session_id, "expired", "utter_ask_intake_health", "en")
    _answer(stack, session_id, "no", "utter_ask_intake_phone", "en")
    bad = _answer(stack, session_id, "12345", "utter_ask_intake_phone", "en")
    assert rendered("utter_invalid_intake_phone", "en") in bad
    _answer(stack, session_id, "06 12345678", "utter_ask_intake_contact_time", "en")
    summary = texts(stack.say(session_id, "morning"))[-1]
    assert "Country: Iraq" in summary and "Service: Return home" in summary
    assert "Living in: —" in summary and "Phone: +31612345678" in summary
    _answer(stack, session_id, "yes", "utter_ask_intake_consent", "en")
    _answer(stack, session_id, "yes", "utter_intake_submitted", "en")
    with stack.sessions()() as db:
        intake = db.scalars(select(Intake).order_by(Intake.id.desc())).first()
    assert intake is not None
    assert intake.answers["service"] == "return"
    assert intake.answers["country"] == "IQ"
    assert intake.answers["age"] == 34
    assert intake.answers["minor"] is False
    assert intake.answers["household"] == 3
    assert intake.answers["travel_documents"] == "expired"
    assert intake.answers["special_needs"] is False
    assert intake.answers["phone"] == "+31612345678"
    assert intake.answers["consent"] is True
    # The submitted intake is a case in the counsellors' queue.
    with stack.sessions()() as db:
        case = db.scalars(
            select(Handoff).where(Handoff.conversation_id == intake.conversation_id)
        ).one()
    assert case.reason == "intake"


def test_intake_in_dutch_minor_and_no_consent_sends_nothing(stack: Stack, session_id: str) -> None:
    answer = stack.say(session_id, "ik wil me aanmelden voor terugkeer", lang="nl")
    assert texts(answer)[-1] == rendered("utter_ask_intake_service", "nl")
    bad = _answer(stack, session_id, "banaan", "utter_ask_intake_service", "nl")
    assert rendered("utter_invalid_intake_service", "nl") in bad
    _answer(stack, session_id, "terugkeer", "utter_ask_intake_country", "nl")
    _answer(stack, session_id, "Marokko", "utter_ask_intake_residence", "nl")
    _answer(stack, session_id, "AZC Budel", "utter_ask_intake_age", "nl")
    minor = _answer(stack, session_id, "16", "utter_ask_intake_household", "nl")
    assert rendered("utter_intake_minor", "nl") in minor
    _answer(stack, session_id, "overslaan", "utter_ask_intake_documents", "nl")
    _answer(stack, session_id, "overslaan", "utter_ask_intake_health", "nl")
    _answer(stack, session_id, "ja", "utter_ask_intake_health_details", "nl")
    bad = _answer(stack, session_id, "???", "utter_ask_intake_health_details", "nl")
    assert rendered("utter_invalid_intake_text", "nl") in bad
    _answer(stack, session_id, "ik heb medicijnen nodig", "utter_ask_intake_phone", "nl")
    _answer(stack, session_id, "overslaan", "utter_ask_intake_contact_time", "nl")
    summary = texts(stack.say(session_id, "overslaan"))[-1]
    assert "Land: Marokko" in summary and "Leeftijd: 16" in summary
    _answer(stack, session_id, "ja", "utter_ask_intake_consent", "nl")
    before = _intake_count(stack)
    _answer(stack, session_id, "nee", "utter_intake_no_consent", "nl")
    assert _intake_count(stack) == before


def _intake_count(stack: Stack) -> int:
    with stack.sessions()() as db:
        return len(db.scalars(select(Intake)).all())


def test_request_for_a_person_silences_the_bot(stack: Stack, session_id: str) -> None:
    answer = stack.say(session_id, "I want to talk to a person", lang="en")
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


def before_consent(stack: Stack, session: str, text: str) -> dict[str, Any]:
    response = stack.chat(session, text, consent=False)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_first_contact_gets_the_notice_then_the_answer_in_the_chosen_language(
    stack: Stack, session_id: str
) -> None:
    answer = before_consent(stack, session_id, "hello")
    assert answer["lang"] == "en"
    [notice] = answer["replies"]
    assert notice["text"] == rendered("utter_privacy_notice", "en")
    buttons = [b["payload"] for b in notice["buttons"]]
    assert buttons == ["consent:yes", "consent:human", "lang:pick"]
    picker = before_consent(stack, session_id, "3")  # "Language"
    payloads = [b["payload"] for b in picker["replies"][0]["buttons"]]
    assert payloads[:3] == ["lang:en", "lang:nl", "lang:ar"]
    chosen = before_consent(stack, session_id, "lang:nl")
    assert chosen["lang"] == "nl"
    assert texts(chosen) == [rendered("utter_privacy_notice", "nl")]
    accepted = before_consent(stack, session_id, "1")  # "Ik ga akkoord"
    # The thanks, then the answer to the "hello" that waited, in Dutch.
    thanks, greeting = rendered("utter_consent_thanks", "nl"), rendered("utter_greeting", "nl")
    assert texts(accepted) == [thanks, greeting]
    assert accepted["topic"] == "greeting"
    answer = before_consent(stack, session_id, "hoe kan ik terug naar mijn land")
    assert answer["lang"] == "nl"
    assert answer["topic"] == "return_info"
    assert len(answer["replies"]) == 1  # no picker and no notice any more


def test_first_contact_in_arabic_script_is_answered_in_arabic(
    stack: Stack, session_id: str
) -> None:
    answer = before_consent(stack, session_id, "مرحبا")
    assert answer["lang"] == "ar"
    assert texts(answer) == [rendered("utter_privacy_notice", "ar")]


def test_first_contact_can_reach_a_person_without_consent(stack: Stack, session_id: str) -> None:
    typed = before_consent(stack, session_id, "I want to talk to a person")
    assert texts(typed) == [rendered("utter_privacy_notice", "en")]  # its button is the way
    answer = before_consent(stack, session_id, "2")  # "Talk to a person"
    assert answer["handoff"] is True
    assert texts(answer) == [rendered("utter_handoff", "en")]
    assert before_consent(stack, session_id, "hello?")["replies"] == []  # for the counsellor
