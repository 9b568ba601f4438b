from __future__ import annotations

import pytest

from bot.urn import InvalidURN, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("web:s1", "web:s1"),
        ("telegram:123456", "telegram:123456"),
        ("whatsapp:+31 6 1234 5678", "whatsapp:+31612345678"),
        ("sms:+31612345678", "sms:+31612345678"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    "raw", ["web:", "web:../etc", "mail:x@y", "telegram:abc", "sms:0612345678", "sms:+1"]
)
def test_invalid_urns_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidURN):
        normalize(raw)
