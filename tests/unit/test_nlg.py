"""Rendering Rasa responses from the gettext catalogs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PROJECT_DIR
from bot.engine.nlg import Renderer, UnknownResponse
from bot.i18n.check import coverage

DOMAIN = """
responses:
  utter_greet:
  - text: "Hello! How can I help?"
    buttons:
    - title: "Going home"
      payload: "/return_info"
  utter_age:
  - text: "You are {intake_age}."
  utter_two:
  - id: first
    text: "First variation"
  - id: second
    text: "Second variation"
"""

PO = r"""
msgid ""
msgstr ""
"Content-Type: text/plain; charset=UTF-8\n"
"Language: nl\n"

msgctxt "utter_greet"
msgid "Hello! How can I help?"
msgstr "Hallo! Waarmee kan ik u helpen?"

msgctxt "utter_greet:button"
msgid "Going home"
msgstr "Naar huis"

msgctxt "utter_age"
msgid "You are {intake_age}."
msgstr "U bent {intake_age}."

#, fuzzy
msgctxt "utter_two"
msgid "Second variation"
msgstr "Tweede (nog niet nagekeken)"
"""


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    (tmp_path / "domain.yml").write_text(DOMAIN)
    po_dir = tmp_path / "locales" / "nl" / "LC_MESSAGES"
    po_dir.mkdir(parents=True)
    (po_dir / "replies.po").write_text(PO)
    return Renderer(tmp_path / "domain.yml", tmp_path / "locales")


def test_renders_text_and_buttons_in_the_persons_language(renderer: Renderer) -> None:
    assert renderer.render("utter_greet", "nl") == {
        "text": "Hallo! Waarmee kan ik u helpen?",
        "buttons": [{"title": "Naar huis", "payload": "/return_info"}],
    }
    assert renderer.render("utter_greet", "en")["text"] == "Hello! How can I help?"


def test_placeholders_are_filled_after_translation(renderer: Renderer) -> None:
    assert renderer.render("utter_age", "nl", values={"intake_age": 34}) == {"text": "U bent 34."}
    # A missing value leaves the placeholder visible rather than failing the reply.
    assert renderer.render("utter_age", "en")["text"] == "You are {intake_age}."


def test_variation_id_and_fuzzy_fallback(renderer: Renderer) -> None:
    assert renderer.render("utter_two", "nl", variation_id="second")["text"] == "Second variation"
    assert renderer.render("utter_two", "nl", variation_id=None)["text"] == "First variation"


def test_unknown_response_raises(renderer: Renderer) -> None:
    with pytest.raises(UnknownResponse):
        renderer.render("utter_nope", "nl")


def test_language_comes_from_message_metadata(renderer: Renderer) -> None:
    tracker = {"latest_message": {"metadata": {"lang": "nl", "channel": "web"}}}
    assert renderer.lang_of(tracker) == "nl"
    assert renderer.lang_of({"latest_message": {"metadata": {"lang": "xx"}}}) == "en"
    assert renderer.lang_of({}) == "en"


def test_every_shipped_response_renders_in_every_language() -> None:
    renderer = Renderer(PROJECT_DIR / "dialogues" / "domain.yml", PROJECT_DIR / "locales")
    assert "nl" in renderer.catalogs.languages
    for name in renderer.responses:
        for lang in renderer.catalogs.languages:
            rendered = renderer.render(name, lang)
            assert rendered["text"], (name, lang)


def test_catalogs_are_complete() -> None:
    """make test fails on a missing, empty or fuzzy translation, or a broken placeholder."""
    results = coverage()
    assert results, "no translated catalogs found"
    problems = {r.lang: r.problems for r in results if r.problems}
    assert problems == {}
