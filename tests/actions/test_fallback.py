from __future__ import annotations

from typing import Any

from action_testing import make_tracker, responses, run

from actions.fallback import ActionClarify, ActionDefaultAskAffirmation

RANKING = [
    ("nlu_fallback", 0.3),
    ("return_eligibility", 0.25),
    ("greeting", 0.2),  # never offered
    ("return_info", 0.18),
    ("apply", 0.1),
    ("contact", 0.05),
]


def _user(intent: str) -> dict[str, Any]:
    return {"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}


def test_first_miss_offers_the_three_likeliest_topics(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker(
        "hmm the thing", intent="nlu_fallback", ranking=RANKING, events=[_user("nlu_fallback")]
    )
    run(ActionClarify().run(dispatcher, tracker, domain))
    [message] = dispatcher.messages
    assert message["response"] == "utter_clarify"
    assert message["buttons"] == [
        {"title": "Who can apply?", "payload": "/return_eligibility"},
        {"title": "Return home", "payload": "/return_info"},
        {"title": "Start application", "payload": "/apply"},
    ]


def test_button_titles_are_in_the_persons_language(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("x", intent="nlu_fallback", ranking=RANKING, lang="nl")
    run(ActionClarify().run(dispatcher, tracker, domain))
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    english = ["Who can apply?", "Return home", "Start application"]
    assert all(title and title != en for title, en in zip(titles, english, strict=True))


def test_few_candidates_are_filled_with_defaults(dispatcher: Any, domain: Any) -> None:
    tracker = make_tracker("x", intent="nlu_fallback", ranking=[("greeting", 0.3)])
    run(ActionClarify().run(dispatcher, tracker, domain))
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads == ["/return_info", "/family_reunification", "/request_human"]


def test_second_miss_in_a_row_offers_a_person(dispatcher: Any, domain: Any) -> None:
    events = [
        _user("nlu_fallback"),
        {"event": "action", "name": "action_clarify"},
        _user("nlu_fallback"),
    ]
    tracker = make_tracker("???", intent="nlu_fallback", ranking=RANKING, events=events)
    run(ActionClarify().run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_fallback_offer_human"]
    buttons = domain["responses"]["utter_fallback_offer_human"][0]["buttons"]
    assert buttons == [{"title": "Talk to a person", "payload": "/request_human"}]


def test_a_miss_after_an_understood_message_is_a_first_miss(dispatcher: Any, domain: Any) -> None:
    events = [_user("nlu_fallback"), _user("return_info"), _user("nlu_fallback")]
    tracker = make_tracker("???", intent="nlu_fallback", ranking=RANKING, events=events)
    run(ActionClarify().run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_clarify"]


def test_every_offered_topic_has_a_title_response(domain: Any) -> None:
    from actions.fallback import CLARIFY_TOPICS, DEFAULT_CHOICES

    for topic in (*CLARIFY_TOPICS, *DEFAULT_CHOICES):
        assert f"utter_topic_{topic}" in domain["responses"], topic
        assert topic in domain["intents"], topic
        title = domain["responses"][f"utter_topic_{topic}"][0]["text"]
        assert len(title) <= 20, topic


def test_rasas_english_affirmation_is_replaced(dispatcher: Any, domain: Any) -> None:
    assert ActionDefaultAskAffirmation().name() == "action_default_ask_affirmation"
    tracker = make_tracker("x", intent="nlu_fallback", ranking=RANKING)
    run(ActionDefaultAskAffirmation().run(dispatcher, tracker, domain))
    assert responses(dispatcher) == ["utter_clarify"]
    assert all(not m.get("text") for m in dispatcher.messages)
