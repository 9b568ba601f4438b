"""Property-based fuzzing (hypothesis) of what strangers can send: Twilio webhooks (signed, so
they pass the door), Telegram updates (with the secret) and the chat API. Whatever arrives, the
gateway answers with a clear 2xx/4xx, never a 500, and stores nothing from invalid input."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.storage.models import Direction, Message

from .conftest import TELEGRAM_SECRET, Stack
from .test_channels import signed_post

pytestmark = pytest.mark.stack
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TWILIO_KEYS = [
    "From",
    "To",
    "Body",
    "MessageSid",
    "NumMedia",
    "MediaUrl0",
    "ButtonPayload",
    "MessageStatus",
    "ErrorCode",
    "WaId",
    "ProfileName",
]
text = st.text(max_size=300)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)  # JSON has no NaN or infinity
    | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


def inbound_count(stack: Stack) -> int:
    with stack.sessions()() as db:
        return int(
            db.scalar(select(func.count(Message.id)).where(Message.direction == Direction.IN)) or 0
        )


@FUZZ
@given(form=st.dictionaries(st.sampled_from(TWILIO_KEYS), text, max_size=8))
def test_signed_twilio_webhooks_never_fail(stack: Stack, form: dict[str, str]) -> None:
    before = inbound_count(stack)
    for path in ("/webhooks/twilio", "/webhooks/twilio/status"):
        response = signed_post(stack, path, form)
        assert response.status_code in (200, 204, 400, 404), (path, response.text)
        if response.status_code >= 400:
            assert inbound_count(stack) == before


@FUZZ
@given(
    update=st.dictionaries(
        st.sampled_from(["update_id", "message", "callback_query", "edited_message"]) | text,
        json_values,
        max_size=4,
    )
)
def test_telegram_updates_never_fail(stack: Stack, update: dict[str, Any]) -> None:
    before = inbound_count(stack)
    response = stack.http.post(
        "/webhooks/telegram",
        json=update,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert inbound_count(stack) == before


@FUZZ
@given(body=json_values, session=st.text(min_size=1, max_size=80))
def test_chat_api_never_fails(stack: Stack, body: Any, session: str) -> None:
    before = inbound_count(stack)
    response = stack.http.post(
        f"/api/chat/{quote(session, safe='')}/messages",
        json=body,
        params={"wait": 0},
    )
    assert response.status_code in (200, 202, 400, 404, 405, 422), response.text
    if response.status_code >= 400:
        assert inbound_count(stack) == before
