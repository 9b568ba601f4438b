"""Observability against the real stack: /metrics follows a real conversation (Rasa, the
worker, the Twilio client and its fake API), and the gateway's log file lets a request be
followed from its id to the stored message and the worker's turn."""

from __future__ import annotations

import json
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import WHATSAPP_FROM, Stack
from .test_channels import new_phone, sent_to, signed_post, twilio_form, wait_for

pytestmark = pytest.mark.stack


def scrape(stack: Stack) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = stack.http.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str) -> float:
    return sum(v for (n, _labels), v in samples.items() if n == name)


def accept_privacy_notice(stack: Stack, session: str) -> None:
    """A first message, then the consent button: the start of a conversation with or without the
    consent gate. Replies unused: without the gate Rasa reads "consent:yes" as request_human
    and hands the conversation off, so nothing here asserts on what follows in the chat."""
    for text in ("hello", "consent:yes"):  # raw posts: exactly two requests, either way
        stack.http.post(f"/api/chat/{session}/messages", json={"text": text})


def test_metrics_follow_a_web_conversation(stack: Stack, session_id: str) -> None:
    before = scrape(stack)
    # Counted over the whole start of a conversation: with the consent gate the first message
    # waits for the acceptance and then goes to Rasa; without it, it goes to Rasa at once.
    accept_privacy_notice(stack, session_id)
    after = scrape(stack)
    rasa = "baken_rasa_call_seconds_count"
    assert value(after, rasa, call="message", outcome="ok") >= (
        value(before, rasa, call="message", outcome="ok") + 1
    )
    turns = "baken_pipeline_turn_seconds_count"
    assert total(after, turns) >= total(before, turns) + 2  # handled, or held for consent
    ack = "baken_webhook_ack_seconds_count"
    assert value(after, ack, channel="web") == value(before, ack, channel="web") + 2
    assert value(after, "baken_database_up") == 1


def test_metrics_follow_a_whatsapp_message(stack: Stack) -> None:
    phone = new_phone()
    before = scrape(stack)
    response = signed_post(stack, "/webhooks/twilio", twilio_form("whatsapp_text", phone))
    assert response.status_code == 200
    wait_for(lambda: sent_to(stack, f"whatsapp:{phone}"))
    after = wait_for(
        lambda: (
            (s := scrape(stack))
            and value(s, "baken_send_seconds_count", channel="whatsapp", outcome="ok")
            > value(before, "baken_send_seconds_count", channel="whatsapp", outcome="ok")
            and s
        )
    )
    ack = "baken_webhook_ack_seconds_count"
    assert value(after, ack, channel="whatsapp") == value(before, ack, channel="whatsapp") + 1
    assert WHATSAPP_FROM not in stack.http.get("/metrics").text


def test_a_request_is_followed_through_the_gateway_log(stack: Stack, session_id: str) -> None:
    request_id = f"it-{uuid.uuid4().hex[:16]}"
    response = stack.http.post(
        f"/api/chat/{session_id}/messages",
        json={"text": "hello"},
        headers={"X-Request-ID": request_id},
    )
    assert response.headers["X-Request-ID"] == request_id
    log_file = stack.settings.var_dir / "log" / "gateway.log"

    def lines() -> list[dict[str, object]]:
        return [
            json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")
        ]

    [stored] = [
        line
        for line in lines()
        if line["event"] == "inbound stored" and line.get("request_id") == request_id
    ]
    processed = wait_for(
        lambda: [
            line
            for line in lines()
            if line["event"] == "inbound processed" and line["message_id"] == stored["message_id"]
        ]
    )
    assert "request_id" not in processed[0]
    assert "hello" not in log_file.read_text()
