"""Reply catalogs: ``locales/<lang>/LC_MESSAGES/replies.po``, read once with babel.

Messages are keyed by context and English text: the context is the Rasa response name (or
``<response>:button`` for a button title), the msgid is the English default text from the domain.
Fuzzy or empty translations fall back to English, and ``missing()`` reports them.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po

DOMAIN = "replies"


class Catalogs:
    def __init__(self, locales_dir: Path, domain: str = DOMAIN) -> None:
        self._messages: dict[str, dict[tuple[str | None, str], str]] = {}
        for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{domain}.po")):
            lang = po_path.parent.parent.name
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            self._messages[lang] = {
                (msg.context, str(msg.id)): str(msg.string)
                for msg in catalog
                if msg.id and msg.string and not msg.fuzzy
            }

    @property
    def languages(self) -> list[str]:
        return sorted(self._messages)

    def translate(self, lang: str, context: str, msgid: str) -> str:
        return self._messages.get(lang, {}).get((context, msgid), msgid)
