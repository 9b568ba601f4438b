"""Several inbound loops (``BAKEN_WORKER_CONCURRENCY``) on one database: every message is answered
exactly once and each conversation's replies come in the order of its messages.

Rasa is down here, so the messages are urgent ones: safety triage answers them without Rasa (and
before any consent gate), which makes every message produce exactly one reply."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.messages import InboundMessage
from bot.services import Services, build_services
from bot.storage.db import migrate
from bot.storage.models import Direction, InStatus, Message
from bot.storage.repo import store_inbound
from bot.worker import Worker

_ids = itertools.count(1)
URGENT = ("he beats me every night", "i want to kill myself", "help me please he hits me")


def receive_many(svc: Services, conversations: int, per_conversation: int) -> None:
    with svc.sessions.begin() as db:
        for n in range(per_conversation):
            for c in range(conversations):
                inbound = InboundMessage(
                    urn=f"web:conc-{c}",
                    channel="web",
                    channel_message_id=f"c{next(_ids)}",
                    received_at=datetime.now(UTC),
                    text=f"{URGENT[n % len(URGENT)]} ({n})",
                    lang="en",
                )
                store_inbound(db, svc.keys, inbound)


def all_handled(svc: Services) -> bool:
    with svc.sessions() as db:
        waiting = db.scalar(
            select(Message.id)
            .where(Message.direction == Direction.IN, Message.status != InStatus.HANDLED)
            .limit(1)
        )
    return waiting is None


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_concurrent_loops_answer_once_and_in_order(
    settings: Settings, request: pytest.FixtureRequest, database: str
) -> None:
    if database == "postgresql":
        settings.database_url = request.getfixturevalue("pg_url")
    else:
        migrate(settings.database_url)
    settings.worker_concurrency = 4
    settings.worker_poll_seconds = 0.05
    svc = build_services(settings)
    conversations, per_conversation = 3, 12
    receive_many(svc, conversations, per_conversation)
    worker = Worker(svc)
    worker.start()
    try:
        deadline = time.monotonic() + 120
        while not all_handled(svc) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        worker.stop()
    assert sum(t.name.startswith("baken-inbound-") for t in worker._threads) == 4
    with svc.sessions() as db:
        inbound = db.scalars(
            select(Message).where(Message.direction == Direction.IN).order_by(Message.id)
        ).all()
        replies = db.scalars(
            select(Message).where(Message.direction == Direction.OUT).order_by(Message.id)
        ).all()
    svc.close()
    assert [m.status for m in inbound] == [InStatus.HANDLED] * conversations * per_conversation
    asked: dict[int, list[int]] = defaultdict(list)
    answered: dict[int, list[int]] = defaultdict(list)
    for message in inbound:
        asked[message.conversation_id].append(message.id)
    for reply in replies:
        answered[reply.conversation_id].append(int(reply.in_reply_to_id or 0))
    # Exactly one reply per message, queued in the order the messages came in.
    assert answered == asked
