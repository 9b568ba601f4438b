"""Content guards that need no server: every response has its sources entry, and the texts keep
to the rules in docs/content.md (no money amounts, short enough for a phone, buttons fit)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
import yaml
from conftest import ROOT

SOURCES_FILE = ROOT / "dialogues" / "sources.yml"


@pytest.fixture(scope="module")
def sources() -> dict[str, Any]:
    with open(SOURCES_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_every_response_has_sources_and_review_date(domain: Any, sources: Any) -> None:
    assert set(sources) == set(domain["responses"])
    for name, entry in sources.items():
        assert isinstance(entry["sources"], list), name
        assert all(re.match(r"https?://\S+$", url) for url in entry["sources"]), name
        dt.date.fromisoformat(entry["reviewed"])


def test_no_amounts_of_money_are_stated(domain: Any) -> None:
    # All amounts in our facts are old or disputed: a counsellor explains them, the bot never does.
    for name, variations in domain["responses"].items():
        for variation in variations:
            assert not re.search(r"€|\beur\b|\beuro", variation.get("text", ""), re.I), name


def test_texts_and_buttons_fit_a_phone_screen(domain: Any) -> None:
    for name, variations in domain["responses"].items():
        for variation in variations:
            assert len(variation["text"]) <= 330, name
            buttons = variation.get("buttons") or []
            # Topic menus: at most 3 (one screen). A form question may list up to 6 answers: on
            # SMS and WhatsApp they become a numbered list, on Telegram one button per row.
            assert len(buttons) <= (6 if name.startswith("utter_ask_") else 3), name
            for button in buttons:
                assert len(button["title"]) <= 20, (name, button["title"])


def test_button_payloads_name_known_intents(domain: Any) -> None:
    intents = set(domain["intents"])
    for name, variations in domain["responses"].items():
        for variation in variations:
            for button in variation.get("buttons") or []:
                payload = button["payload"]
                if payload.startswith("/"):
                    assert payload[1:] in intents, (name, payload)
