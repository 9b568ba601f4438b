"""GET /metrics: Prometheus text that parses, numbers that follow real activity (the gateway app
in process, its own pipeline and sender, Rasa down), optional bearer token, no personal data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from bot.app import create_app
from bot.config import Settings
from bot.engine.rasa import _call_name
from bot.metrics import DatabaseCollector, render
from bot.reminders import QuietHours, schedule
from bot.services import Services
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Reminder
from bot.storage.repo import get_or_create_contact
from tests.unit.test_sender import queue


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample as {(name, sorted labels): value}; fails on text Prometheus cannot read."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def gateway(settings: Settings) -> Iterator[TestClient]:
    settings.run_worker_in_gateway = False  # the test runs the pipeline and sender itself
    with TestClient(create_app(settings)) as client:
        client.app.state.metrics.counts_ttl = 0  # type: ignore[attr-defined]
        yield client


def total(samples: Samples, name: str) -> float:
    """A sample summed over all its label values."""
    return sum(v for (n, _labels), v in samples.items() if n == name)


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def services_of(client: TestClient) -> Services:
    svc: Services = client.app.state.services  # type: ignore[attr-defined]
    return svc


def test_numbers_follow_real_activity(gateway: TestClient) -> None:
    svc = services_of(gateway)
    before = scrape(gateway)
    assert value(before, "baken_database_up") == 1
    assert value(before, "baken_inbound_queue", status="pending") == 0
    assert value(before, "baken_handoffs_waiting", urgent="true") == 0

    # A message is stored and waits for the worker.
    stored = gateway.post("/api/chat/m-one/messages?wait=0", json={"text": "hello"})
    assert stored.status_code == 202
    waiting = scrape(gateway)
    assert value(waiting, "baken_messages", direction="in", channel="web", status="pending") == 1
    assert value(waiting, "baken_inbound_queue", status="pending") == 1
    assert value(waiting, "baken_inbound_oldest_pending_seconds") >= 0
    ack = "baken_webhook_ack_seconds_count"
    assert value(waiting, ack, channel="web") == value(before, ack, channel="web") + 1

    # An urgent message is answered without Rasa: its reply sent at once by the loop that
    # answered, an urgent handoff waiting.
    # (Whatever the first message's turn was, Rasa down or a consent notice, it was one turn.)
    gateway.post("/api/chat/m-two/messages?wait=0", json={"text": "please help he beats me"})
    assert svc.pipeline.process_next() is True
    assert svc.pipeline.process_next() is True
    handled = scrape(gateway)
    turns = "baken_pipeline_turn_seconds_count"
    assert total(handled, turns) == total(before, turns) + 2  # whatever their outcomes
    assert value(handled, turns, outcome="handled") >= value(before, turns, outcome="handled") + 1
    assert value(handled, "baken_handoffs_waiting", urgent="true") == 1
    replied = value(handled, "baken_messages", direction="out", channel="web", status="sent")
    assert replied >= 1
    send = "baken_send_seconds_count"
    assert value(handled, send, channel="web", outcome="ok") == (
        value(before, send, channel="web", outcome="ok") + replied
    )
    assert value(handled, "baken_outbox_queue", status="queued") == 0

    # A message for the outbox loop (a counsellor's, say) waits until that loop sends it.
    queue(svc, "web", ["A counsellor writes"])
    queued = scrape(gateway)
    assert value(queued, "baken_outbox_queue", status="queued") == 1
    assert value(queued, "baken_outbox_oldest_queued_seconds") >= 0
    assert svc.sender.send_next() is True
    sent = scrape(gateway)
    assert value(sent, "baken_outbox_queue", status="queued") == 0
    assert value(sent, "baken_messages", direction="out", channel="web", status="sent") == (
        replied + 1
    )
    assert value(sent, send, channel="web", outcome="ok") == (
        value(handled, send, channel="web", outcome="ok") + 1
    )

    # A Rasa call (here: the readiness probe, Rasa being down) is timed with its outcome.
    rasa = "baken_rasa_call_seconds_count"
    assert svc.rasa.ready() is False
    assert value(scrape(gateway), rasa, call="status", outcome="error") == (
        value(sent, rasa, call="status", outcome="error") + 1
    )


def test_reminder_lag_is_the_age_of_the_oldest_due_reminder(gateway: TestClient) -> None:
    svc = services_of(gateway)
    with svc.sessions.begin() as db:
        contact = get_or_create_contact(db, svc.keys, "sms:+31600000077")
        appointment = schedule(
            db,
            contact,
            kind="appointment",
            starts_at=datetime.now(UTC) + timedelta(hours=5),
            offsets_hours=[2],
            quiet=QuietHours.parse("00:00", "00:00"),
            timezone="Europe/Amsterdam",
            channel="sms",
        )
    assert value(scrape(gateway), "baken_reminders_due") == 0
    with svc.sessions.begin() as db:
        db.execute(
            update(Reminder)
            .where(Reminder.appointment_id == appointment.id)
            .values(due_at=datetime.now(UTC) - timedelta(minutes=10))
        )
    late = scrape(gateway)
    assert value(late, "baken_reminders_due") == 1
    assert 600 <= value(late, "baken_reminder_lag_seconds") < 3600
    assert svc.reminders.queue_due() == 1
    assert value(scrape(gateway), "baken_reminder_lag_seconds") == 0


def test_message_counts_are_kept_for_a_while_the_queues_are_live(gateway: TestClient) -> None:
    gateway.app.state.metrics.counts_ttl = 3600  # type: ignore[attr-defined]
    first = scrape(gateway)
    gateway.post("/api/chat/m-ttl/messages?wait=0", json={"text": "hello"})
    second = scrape(gateway)
    pending = {"direction": "in", "channel": "web", "status": "pending"}
    assert value(second, "baken_messages", **pending) == value(first, "baken_messages", **pending)
    assert value(second, "baken_inbound_queue", status="pending") == (
        value(first, "baken_inbound_queue", status="pending") + 1
    )


def test_no_personal_data_in_the_metrics(gateway: TestClient) -> None:
    gateway.post("/api/chat/person-7f3a/messages?wait=0", json={"text": "my name is Amina"})
    services_of(gateway).pipeline.process_next()
    text = gateway.get("/metrics").text
    assert "person-7f3a" not in text
    assert "Amina" not in text


def test_the_token_protects_metrics_when_set(settings: Settings) -> None:
    settings.run_worker_in_gateway = False
    settings.metrics_token = "scrape-secret-1"
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        right = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-1"})
        assert right.status_code == 200
        assert value(parse(right.text), "baken_database_up") == 1


def test_a_database_outage_is_reported_not_raised() -> None:
    engine = make_engine("postgresql+psycopg://baken@127.0.0.1:9/none?connect_timeout=2")
    try:
        samples = parse(render(DatabaseCollector(make_sessionmaker(engine))).decode())
    finally:
        engine.dispose()
    assert value(samples, "baken_database_up") == 0
    assert ("baken_inbound_queue", (("status", "pending"),)) not in samples
    assert any(name.startswith("baken_rasa_call_seconds") for name, _ in samples)


def test_the_shared_numbers_on_postgresql(pg_url: str, settings: Settings) -> None:
    """The same queries on the production database (the grouped counts, booleans, ages)."""
    settings.database_url = pg_url
    from bot.services import build_services

    svc = build_services(settings)
    try:
        with svc.sessions.begin() as db:
            contact = get_or_create_contact(db, svc.keys, "sms:+31600000078")
            schedule(
                db,
                contact,
                kind="callback",
                starts_at=datetime.now(UTC) + timedelta(hours=5),
                offsets_hours=[2],
                quiet=QuietHours.parse("00:00", "00:00"),
                timezone="Europe/Amsterdam",
                channel="sms",
            )
            db.execute(update(Reminder).values(due_at=datetime.now(UTC) - timedelta(seconds=90)))
        collector = DatabaseCollector(svc.sessions)
        samples = parse(render(collector).decode())
        assert value(samples, "baken_database_up") == 1
        assert value(samples, "baken_reminders_due") == 1
        assert value(samples, "baken_reminder_lag_seconds") >= 90
        assert value(samples, "baken_handoffs_waiting", urgent="false") == 0
        assert list(collector.collect())  # no error on a second scrape
    finally:
        svc.close()


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/webhooks/rest/webhook", "message"),
        ("/conversations/p0123456789abcdef/tracker", "tracker"),
        ("/conversations/p0123456789abcdef/tracker/events", "resume"),
        ("/status", "status"),
        ("/model/parse", "parse"),
        ("/conversations/p0123456789abcdef/execute", "other"),
    ],
)
def test_rasa_calls_are_named_without_the_sender_id(path: str, name: str) -> None:
    assert _call_name(path) == name


def test_the_scrape_bench_runs() -> None:
    from bot.bench.metrics import run

    result = run(messages=3000, scrapes=2, database_url=None)
    assert result["backend"] == "sqlite"
    assert result["messages"] == 3000
    assert result["usual_ms_median"] > 0 and result["counting_ms_median"] > 0


def test_a_separate_worker_serves_its_latencies(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "BAKEN_VAR_DIR": str(tmp_path / "var"),
        "BAKEN_RASA_URL": "http://127.0.0.1:9",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker", "--metrics-port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
                break
            except httpx.HTTPError:
                assert worker.poll() is None, "the worker exited"
                assert time.monotonic() < deadline, "no metrics from the worker"
                time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"baken_pipeline_turn_seconds", "baken_send_seconds"} <= names
    assert "baken_inbound_queue" not in names  # the shared numbers come from the gateways
