"""Request ids: kept when sane, made when missing or odd, returned in X-Request-ID, written on
every log line of the request; the worker's lines carry the stored message's id."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.config import Settings
from bot.logs import configure_logging
from bot.services import Services


@pytest.fixture
def gateway(settings: Settings) -> Iterator[TestClient]:
    settings.run_worker_in_gateway = False  # the test runs the pipeline itself
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The gateway's real logging set-up (JSON lines), written to a buffer; restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO")
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], root.level = saved


def log_lines(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line]


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("edge-7f3a9c2b1d", True),
        ("0123456789abcdef0123456789abcdef", True),
        ("short", False),
        ("x" * 65, False),
        ("has spaces in it", False),
        ('{"inject": "json"}', False),
        ("+31612345678", False),
    ],
)
def test_a_sane_incoming_id_is_kept_any_other_replaced(
    gateway: TestClient, incoming: str, kept: bool
) -> None:
    response = gateway.get("/healthz", headers={"X-Request-ID": incoming})
    returned = response.headers["X-Request-ID"]
    if kept:
        assert returned == incoming
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", returned)


def test_each_request_gets_its_own_id(gateway: TestClient) -> None:
    ids = {gateway.get("/healthz").headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


def test_a_message_can_be_followed_from_request_to_worker(
    gateway: TestClient, json_logs: io.StringIO
) -> None:
    response = gateway.post(
        "/api/chat/follow-me/messages?wait=0",
        json={"text": "hello"},
        headers={"X-Request-ID": "req-follow-0001"},
    )
    other = gateway.post("/api/chat/someone-else/messages?wait=0", json={"text": "hi"})
    assert response.headers["X-Request-ID"] == "req-follow-0001"
    svc: Services = gateway.app.state.services  # type: ignore[attr-defined]
    while svc.pipeline.process_next():  # the worker's turns, outside any request
        pass
    lines = log_lines(json_logs)

    [stored] = [
        line
        for line in lines
        if line["event"] == "inbound stored" and line.get("request_id") == "req-follow-0001"
    ]
    message_id = stored["message_id"]
    assert stored["channel"] == "web"
    [other_stored] = [
        line
        for line in lines
        if line["event"] == "inbound stored"
        and line.get("request_id") == other.headers["X-Request-ID"]
    ]
    assert other_stored["message_id"] != message_id
    # The worker's line for that message carries its id, and no request's id.
    turn = [
        line
        for line in lines
        if line.get("message_id") == message_id and line["event"] != "inbound stored"
    ]
    assert turn
    assert all("request_id" not in line for line in turn)
    assert "hello" not in json.dumps(lines)
