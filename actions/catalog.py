"""Words that actions must put *inside* a rendered reply: button titles and summary values.

The gateway renders every reply (Rasa's NLG endpoint) from the domain's English text and the
gettext catalogs. Two things it cannot render by itself, because they are chosen at run time by an
action: the topic buttons of ``action_clarify`` (Rasa appends an action's buttons verbatim after
the rendered reply) and the values in the intake summary (``{s_service}`` and friends). For
those, actions look up the *same* catalog entries the gateway uses:

- ``text("utter_topic_return_info", lang)``: the translated text of a domain response;
- ``button_title("utter_ask_intake_documents", "expired", lang)``: the translated title of the
  button with that payload.

So every visible word still lives in ``dialogues/domain.yml`` and ``locales/<lang>/.../replies.po``
and translators see one catalog. Missing, empty or fuzzy translations fall back to English, as in
the gateway. The catalogs are re-read when a file changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_FILE = ROOT / "dialogues" / "domain.yml"
LOCALES_DIR = ROOT / "locales"
DOMAIN = "replies"

_cache: dict[Path, tuple[float, Any]] = {}


def _load(path: Path, loader: Any) -> Any:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    cached = _cache.get(path)
    if cached and cached[0] == mtime:
        return cached[1]
    value = loader(path)
    _cache[path] = (mtime, value)
    return value


def _read_domain(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    responses: dict[str, Any] = data.get("responses") or {}
    return responses


def _read_catalog(path: Path) -> dict[tuple[str, str], str]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {
        (str(m.context), str(m.id)): str(m.string)
        for m in catalog
        if m.id and m.context and m.string and not m.fuzzy
    }


def responses() -> dict[str, Any]:
    return _load(DOMAIN_FILE, _read_domain) or {}


def translate(lang: str | None, context: str, msgid: str) -> str:
    if not lang or lang == "en" or not lang.isalpha():
        return msgid
    path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    catalog = _load(path, _read_catalog) or {}
    return catalog.get((context, msgid)) or msgid


def text(name: str, lang: str | None) -> str:
    """The translated text of the domain response ``name`` ('' if it has none)."""
    variations = responses().get(name) or []
    english = str(variations[0].get("text") or "") if variations else ""
    return translate(lang, name, english) if english else ""


def button_payloads(name: str) -> list[str]:
    variations = responses().get(name) or []
    buttons = (variations[0].get("buttons") or []) if variations else []
    return [str(b["payload"]) for b in buttons]


def button_title(name: str, payload: str, lang: str | None) -> str | None:
    """The translated title of the button of response ``name`` with this payload, if any."""
    variations = responses().get(name) or []
    for button in (variations[0].get("buttons") or []) if variations else []:
        if str(button["payload"]) == payload:
            return translate(lang, f"{name}:button", str(button["title"]))
    return None
