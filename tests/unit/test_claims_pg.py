"""Claims on PostgreSQL: workers skip rows another worker has locked (SKIP LOCKED) instead of
waiting for them, and two workers draining one queue process every message exactly once, in order
per conversation, and send every reply exactly once.

Urgent messages are used because safety triage answers them without Rasa (down in unit tests)."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import create_engine, select, text

from bot.config import Settings
from bot.messages import InboundMessage
from bot.pipeline import Pipeline
from bot.sender import Sender
from bot.services import Services, build_services
from bot.storage.db import make_sessionmaker
from bot.storage.models import Direction, InStatus, Message, OutStatus
from bot.storage.repo import store_inbound
from tests.unit.test_sender import queue

URGENT = "I want to kill myself"
_ids = itertools.count(1)


def receive(svc: Services, session: str) -> int:
    inbound = InboundMessage(
        urn=f"web:{session}",
        channel="web",
        channel_message_id=f"c{next(_ids)}",
        received_at=datetime.now(UTC),
        text=URGENT,
        lang="en",
    )
    with svc.sessions.begin() as db:
        return store_inbound(db, svc.keys, inbound).id


def impatient(svc: Services, url: str) -> tuple[Pipeline, Sender]:
    """A pipeline and a sender whose database sessions fail at once on a row lock instead of
    waiting: without SKIP LOCKED their claims would raise."""
    engine = create_engine(url, connect_args={"options": "-c lock_timeout=1"})
    sessions = make_sessionmaker(engine)
    sender = Sender(sessions, svc.channels)
    return Pipeline(sessions, svc.renderer, svc.rasa, sender), sender


def test_a_row_locked_by_another_worker_is_skipped(settings: Settings, pg_url: str) -> None:
    settings.database_url = pg_url
    svc = build_services(settings)
    first, second = receive(svc, "locked-a"), receive(svc, "locked-b")
    pipeline, sender = impatient(svc, pg_url)
    with svc.engine.connect() as other_worker:
        other_worker.execute(
            text("SELECT id FROM messages WHERE id = :id FOR UPDATE"), {"id": first}
        )
        claim = pipeline.claim_next()
        assert claim is not None and claim.message_id == second
        assert pipeline.claim_next() is None  # the first is locked, the second is claimed
        other_worker.rollback()
    assert pipeline.process_next() is True  # the first, now that its lock is gone
    [reply] = queue(svc, "web", ["for the outbox loop"])
    with svc.engine.connect() as other_worker:
        other_worker.execute(
            text("SELECT id FROM messages WHERE id = :id FOR UPDATE"), {"id": reply}
        )
        assert sender.send_next() is False  # nothing else to send, and no waiting for the lock
        other_worker.rollback()
    assert sender.send_next() is True
    svc.close()


def drain(step: Callable[[], bool], done: list[int]) -> None:
    while step():
        done.append(1)


def run_two(first: Callable[[], bool], second: Callable[[], bool]) -> tuple[int, int]:
    counts: tuple[list[int], list[int]] = ([], [])
    threads = [
        threading.Thread(target=drain, args=(first, counts[0])),
        threading.Thread(target=drain, args=(second, counts[1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return len(counts[0]), len(counts[1])


def test_two_workers_process_in_order_and_send_exactly_once(
    settings: Settings, pg_url: str
) -> None:
    settings.database_url = pg_url
    a, b = build_services(settings), build_services(settings)
    conversations, per_conversation = 30, 5
    inbound = {
        n: [receive(a, f"two-{n}") for _ in range(per_conversation)] for n in range(conversations)
    }
    processed = run_two(a.pipeline.process_next, b.pipeline.process_next)
    assert sum(processed) == conversations * per_conversation
    assert min(processed) > 0  # both workers really worked
    # Most replies went out from the inbound loops; those whose conversation still had one
    # being sent were left queued, for the outbox loops.
    run_two(a.sender.send_next, b.sender.send_next)
    with a.sessions() as db:
        rows = db.scalars(select(Message).order_by(Message.id)).all()
    by_inbound = {m.id: m for m in rows if m.direction == Direction.IN}
    replies = [m for m in rows if m.direction == Direction.OUT]
    assert {m.status for m in by_inbound.values()} == {InStatus.HANDLED}
    assert sorted(r.in_reply_to_id or 0 for r in replies) == sorted(by_inbound)  # one each
    assert {(r.status, r.attempts) for r in replies} == {(OutStatus.SENT, 1)}  # sent once each
    reply_of = {r.in_reply_to_id: r.id for r in replies}
    for ids in inbound.values():  # each conversation answered in the order it wrote
        assert [reply_of[i] for i in ids] == sorted(reply_of[i] for i in ids)
    a.close()
    b.close()
