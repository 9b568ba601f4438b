"""Prometheus metrics (``GET /metrics``; docs/deployment.md, "Monitoring").

Two kinds, because the gateway runs as several processes:

- Shared state is read from the database at scrape time (``DatabaseCollector``): messages by
  direction, channel and status, the inbound and outbox queues, handoffs waiting, reminder lag.
  Every gateway reports the same numbers, so any one of them can be scraped.
- Latencies are process-local histograms (``LOCAL``), observed where the work happens: webhook
  acknowledgement (gateway), pipeline turn, Rasa call and provider send (wherever the worker runs;
  ``baken worker --metrics-port`` serves them for a separate worker).

Labels come from small fixed sets (channel, status, outcome); never an id, a name, a number or a
word someone wrote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.storage.models import (
    UNPROCESSED,
    UNSENT,
    Direction,
    Handoff,
    HandoffStatus,
    InStatus,
    Message,
    Reminder,
    ReminderStatus,
)
from bot.storage.repo import now

log = logging.getLogger(__name__)

LOCAL = CollectorRegistry()
ProcessCollector(registry=LOCAL)

WEBHOOK_ACK = Histogram(
    "baken_webhook_ack_seconds",
    "From a webhook or chat request reaching its route to the message being stored",
    ["channel"],
    registry=LOCAL,
)
PIPELINE_TURN = Histogram(
    "baken_pipeline_turn_seconds",
    "One inbound message from claim to its outcome written (its status) or put back (retry)",
    ["outcome"],
    registry=LOCAL,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RASA_CALL = Histogram(
    "baken_rasa_call_seconds",
    "One HTTP call to the Rasa server",
    ["call", "outcome"],
    registry=LOCAL,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
SEND = Histogram(
    "baken_send_seconds",
    "One send to a provider (Twilio, Telegram; the web channel's send is a no-op)",
    ["channel", "outcome"],
    registry=LOCAL,
)

QUEUE_STATUSES = {Direction.IN: UNPROCESSED, Direction.OUT: UNSENT}


@contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    """Observe the block's duration with the labels plus ``outcome`` ok or error."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    finally:
        histogram.labels(*labels, outcome).observe(time.perf_counter() - started)


class DatabaseCollector(Collector):
    """Shared numbers, read at scrape time with four grouped queries.

    The queues, handoffs and reminders are read through indexes on every scrape. Counting all
    messages by channel and status reads the whole table (about 0.3 s for a million messages on
    PostgreSQL, docs/performance.md), so that count is kept for ``counts_ttl`` seconds.
    """

    def __init__(self, sessions: sessionmaker[Session], counts_ttl: float = 60.0) -> None:
        self.sessions = sessions
        self.counts_ttl = counts_ttl
        self._counts: list[tuple[str, str, str, int]] = []
        self._counted_at = -float("inf")

    def _message_counts(self, session: Session) -> list[tuple[str, str, str, int]]:
        if time.monotonic() - self._counted_at >= self.counts_ttl:
            rows = session.execute(
                select(Message.direction, Message.channel, Message.status, func.count()).group_by(
                    Message.direction, Message.channel, Message.status
                )
            )
            self._counts = [(str(d), str(c), str(s), int(n)) for d, c, s, n in rows]
            self._counted_at = time.monotonic()
        return self._counts

    def collect(self) -> Iterable[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("baken_database_up", "1 if the metrics queries succeeded")
        try:
            with self.sessions() as session:
                families = self._families(session)
        except SQLAlchemyError as exc:
            log.warning("metrics query failed", extra={"error": type(exc).__name__})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families
        yield GaugeMetricFamily(
            "baken_metrics_query_seconds",
            "How long the database queries of this scrape took",
            value=time.perf_counter() - started,
        )

    def _families(self, session: Session) -> list[Metric]:
        current = now()
        messages = GaugeMetricFamily(
            "baken_messages",
            "Messages stored, by direction, channel and status (refreshed once a minute)",
            labels=["direction", "channel", "status"],
        )
        for direction, channel, status, count in self._message_counts(session):
            messages.add_metric([direction, channel, status], count)

        inbound = GaugeMetricFamily(
            "baken_inbound_queue", "Inbound messages not yet processed", labels=["status"]
        )
        outbox = GaugeMetricFamily(
            "baken_outbox_queue",
            "Outbound messages not yet sent (errored: waiting for a retry)",
            labels=["status"],
        )
        depth: dict[str, int] = {}
        oldest: dict[str, float] = {}
        rows = session.execute(
            select(Message.direction, Message.status, func.count(), func.min(Message.created_at))
            .where(
                Message.direction.in_(list(QUEUE_STATUSES)),
                Message.status.in_([s for group in QUEUE_STATUSES.values() for s in group]),
            )
            .group_by(Message.direction, Message.status)
        )
        for direction, status, count, first in rows:
            depth[f"{direction}:{status}"] = count
            if first is not None:
                oldest[f"{direction}:{status}"] = max(0.0, (current - first).total_seconds())
        for direction, family in ((Direction.IN, inbound), (Direction.OUT, outbox)):
            for status in QUEUE_STATUSES[direction]:
                family.add_metric([status], depth.get(f"{direction}:{status}", 0))
        oldest_pending = GaugeMetricFamily(
            "baken_inbound_oldest_pending_seconds",
            "Age of the oldest inbound message waiting to be processed (0: none)",
            value=oldest.get(f"{Direction.IN}:{InStatus.PENDING}", 0.0),
        )
        oldest_queued = GaugeMetricFamily(
            "baken_outbox_oldest_queued_seconds",
            "Age of the oldest outbound message waiting to be sent or retried (0: none)",
            value=max(
                (oldest.get(f"{Direction.OUT}:{s}", 0.0) for s in QUEUE_STATUSES[Direction.OUT]),
                default=0.0,
            ),
        )

        waiting = GaugeMetricFamily(
            "baken_handoffs_waiting",
            "Handoffs no counsellor has taken yet",
            labels=["urgent"],
        )
        counts = dict(
            session.execute(
                select(Handoff.urgent, func.count())
                .where(Handoff.status == HandoffStatus.WAITING)
                .group_by(Handoff.urgent)
            ).all()
        )
        waiting.add_metric(["true"], counts.get(True, 0))
        waiting.add_metric(["false"], counts.get(False, 0))

        due_count, first_due = session.execute(
            select(func.count(), func.min(Reminder.due_at)).where(
                Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= current
            )
        ).one()
        reminders_due = GaugeMetricFamily(
            "baken_reminders_due", "Reminders due but not yet queued for sending", value=due_count
        )
        lag = GaugeMetricFamily(
            "baken_reminder_lag_seconds",
            "Now minus the due time of the oldest due reminder not yet queued (0: none)",
            value=max(0.0, (current - first_due).total_seconds()) if first_due else 0.0,
        )
        return [
            messages,
            inbound,
            oldest_pending,
            outbox,
            oldest_queued,
            waiting,
            reminders_due,
            lag,
        ]


def render(shared: DatabaseCollector) -> bytes:
    """The text exposition: this process's histograms, then the shared numbers."""
    registry = CollectorRegistry()
    registry.register(shared)
    return generate_latest(LOCAL) + generate_latest(registry)
