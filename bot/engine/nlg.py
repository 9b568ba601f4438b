"""Rendering Rasa responses in the person's language (Rasa's NLG-server protocol).

Rasa decides *which* response (``utter_x``); this module decides *how it reads*: the English
default text and buttons from ``dialogues/domain.yml``, translated through the reply catalogs,
with ``{slot}`` placeholders filled from the tracker after translation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from bot.i18n.catalog import Catalogs

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class UnknownResponse(KeyError):
    pass


def load_responses(domain_file: Path) -> dict[str, list[dict[str, Any]]]:
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    responses: dict[str, list[dict[str, Any]]] = domain.get("responses") or {}
    return responses


def fill(text: str, values: dict[str, Any]) -> str:
    def sub(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return match.group(0) if value is None else str(value)

    return _PLACEHOLDER.sub(sub, text)


class Renderer:
    def __init__(self, domain_file: Path, locales_dir: Path, default_lang: str = "en") -> None:
        self.responses = load_responses(domain_file)
        self.catalogs = Catalogs(locales_dir)
        self.default_lang = default_lang

    def render(
        self,
        name: str,
        lang: str,
        *,
        variation_id: str | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Return an NLG response object: ``{"text", "buttons"}`` in ``lang``."""
        variations = self.responses.get(name)
        if not variations:
            raise UnknownResponse(name)
        chosen = next((v for v in variations if v.get("id") == variation_id), variations[0])
        values = values or {}
        text = chosen.get("text")
        rendered: dict[str, Any] = {
            "text": fill(self.catalogs.translate(lang, name, text), values) if text else None
        }
        buttons = [
            {
                "title": self.catalogs.translate(lang, f"{name}:button", b["title"]),
                "payload": b["payload"],
            }
            for b in chosen.get("buttons") or []
        ]
        if buttons:
            rendered["buttons"] = buttons
        return rendered

    def lang_of(self, tracker: dict[str, Any]) -> str:
        """The conversation's language: the gateway sends it as message metadata every turn."""
        latest = tracker.get("latest_message") or {}
        lang = (latest.get("metadata") or {}).get("lang")
        if lang in self.catalogs.languages:
            return str(lang)
        return self.default_lang
