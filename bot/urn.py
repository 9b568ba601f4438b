"""Contact addresses as URNs: ``web:<session>``, ``telegram:<chat id>``, ``whatsapp:+316…``,
``sms:+316…``. One person on WhatsApp and SMS with the same number is one contact (issue 3), so
phone URNs are normalised to E.164 with ``phonenumbers``."""

from __future__ import annotations

import re

import phonenumbers

SCHEMES = ("web", "telegram", "whatsapp", "sms")
PHONE_SCHEMES = ("whatsapp", "sms")
_WEB_SESSION = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TELEGRAM_ID = re.compile(r"^-?\d{1,20}$")


class InvalidURN(ValueError):
    pass


def normalize(urn: str) -> str:
    scheme, _, path = urn.partition(":")
    if scheme not in SCHEMES or not path:
        raise InvalidURN("unknown scheme or empty address")
    if scheme == "web":
        if not _WEB_SESSION.match(path):
            raise InvalidURN("a web session id is 1-64 letters, digits, '-' or '_'")
        return urn
    if scheme == "telegram":
        if not _TELEGRAM_ID.match(path):
            raise InvalidURN("a telegram id is a number")
        return urn
    try:
        number = phonenumbers.parse(path, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidURN("not a phone number in international format") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidURN("not a possible phone number")
    return f"{scheme}:{phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)}"


def scheme_of(urn: str) -> str:
    return urn.partition(":")[0]


def identity(urn: str) -> str:
    """The contact a URN belongs to: WhatsApp and SMS from one number are one person (``tel:``)."""
    scheme, _, path = urn.partition(":")
    return f"tel:{path}" if scheme in PHONE_SCHEMES else urn


def address(contact_urn: str, channel: str) -> str:
    """Where to reach a contact on a channel: ``tel:+31…`` on ``sms`` is ``sms:+31…``."""
    scheme, _, path = contact_urn.partition(":")
    return f"{channel}:{path}" if scheme == "tel" else contact_urn
