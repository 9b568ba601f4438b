"""Every topic through the chat API in English, Dutch and Arabic: the message is understood as
its topic and answered in the person's language from the catalogs (the phrasing is each
language's first training example for the topic; generalisation is measured by baken eval)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import yaml

from bot.engine.nlg import Renderer
from bot.topics import TOPICS

from .conftest import Stack

pytestmark = pytest.mark.stack
NLU = Path(__file__).resolve().parent.parent.parent / "dialogues" / "nlu"
# Topics the gateway answers before Rasa (safety triage) or with its own picker.
GATEWAY_TOPICS = {"urgent_safety", "change_language"}
ANSWERED_WITH = {"request_human": "utter_handoff", "change_language": "utter_change_language"}


def first_examples(lang: str) -> dict[str, str]:
    data = yaml.safe_load((NLU / f"{lang}.yml").read_text(encoding="utf-8"))
    examples = {}
    for block in data["nlu"]:
        if "intent" in block and block["intent"] in TOPICS:
            first = block["examples"].strip().splitlines()[0]
            examples[block["intent"]] = first.removeprefix("- ").strip()
    return examples


@pytest.mark.parametrize("lang", ["en", "nl", "ar"])
def test_every_topic_is_understood_and_answered_in_the_language(stack: Stack, lang: str) -> None:
    examples = first_examples(lang)
    assert set(examples) == set(TOPICS)
    renderer = Renderer(NLU.parent / "domain.yml", NLU.parent.parent / "locales")
    wrong = {}
    for topic, text in examples.items():
        answer = stack.say(f"topics-{lang}-{uuid.uuid4().hex[:8]}", text, lang=lang)
        assert answer["lang"] == lang
        texts = [r["text"] for r in answer["replies"]]  # type: ignore[union-attr]
        if answer["topic"] != topic and not (topic in GATEWAY_TOPICS and answer["urgent"]):
            wrong[topic] = answer["topic"]
            continue
        response = ANSWERED_WITH.get(topic, f"utter_{topic}")
        expected = renderer.render(response, lang)["text"]
        assert expected in texts, (topic, lang, texts)
    assert wrong == {}
