"""The inbox UI's own gettext domain, ``inbox`` (``locales/<lang>/LC_MESSAGES/inbox.po``), read
once with babel like the reply catalogs. English is the source language."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po

DOMAIN = "inbox"
UI_LANGUAGES = ("en", "nl")
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps"}


def N_(text: str) -> str:
    """Marks a text for extraction; it is translated where it is shown."""
    return text


# Texts the templates translate from data (queue names, roles, statuses, outcomes, notices).
DYNAMIC = (
    N_("unassigned"), N_("mine"), N_("open"), N_("urgent"), N_("closed"),
    N_("counsellor"), N_("supervisor"), N_("admin"),
    N_("Person"), N_("Bot"), N_("Counsellor"), N_("System"),
    N_("queued"), N_("sending"), N_("errored"), N_("sent"), N_("delivered"), N_("read"),
    N_("failed"), N_("waiting"), N_("assigned"), N_("no handoff"),
    N_("answered"), N_("referred"), N_("application_started"), N_("no_response"),
    N_("not_eligible"), N_("other"),
    N_("done:claimed"), N_("done:assigned"), N_("done:replied"), N_("done:noted"),
    N_("done:closed"),
    N_("service"), N_("age"), N_("minor"),
    N_("appointment"), N_("flight"), N_("callback"), N_("scheduled"), N_("confirmed"),
    N_("cancelled"), N_("reschedule"), N_("pending"), N_("expired"),
    N_("done:scheduled"), N_("done:appointment-cancelled"),
)  # fmt: skip


class UiCatalogs:
    def __init__(self, locales_dir: Path) -> None:
        self._messages: dict[str, dict[str, str]] = {}
        for po_path in sorted(locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            lang = po_path.parent.parent.name
            with po_path.open("rb") as fh:
                catalog = read_po(fh, locale=lang)
            self._messages[lang] = {
                str(msg.id): str(msg.string)
                for msg in catalog
                if msg.id and msg.string and not msg.fuzzy
            }

    def gettext(self, lang: str) -> Callable[..., str]:
        messages = self._messages.get(lang, {})

        def translate(msgid: str, **values: Any) -> str:
            text = messages.get(msgid, msgid)
            return text % values if values else text

        return translate


def pick_language(accept_language: str | None, preferred: str | None = None) -> str:
    """The user's saved choice, else the best match from the browser's Accept-Language."""
    if preferred in UI_LANGUAGES:
        return str(preferred)
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in UI_LANGUAGES:
            return code
    return UI_LANGUAGES[0]
