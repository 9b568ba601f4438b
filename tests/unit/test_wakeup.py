"""Waking the worker (bot/wakeup.py): a commit that queued a message sets its queue's event in the
process; on PostgreSQL a listener in another process hears it too, and keeps hearing after its
connection was cut. A rolled-back transaction wakes nobody."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from bot.messages import InboundMessage
from bot.services import Services
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.models import Author, Direction, InStatus, Message, OutStatus
from bot.storage.repo import store_inbound
from bot.wakeup import Listener, Wakeups, watch

WAIT = 10.0  # seconds; a notification normally arrives within milliseconds


def inbound(n: int) -> InboundMessage:
    return InboundMessage(
        urn=f"web:wake-{n}",
        channel="web",
        channel_message_id=f"wake-{n}",
        received_at=datetime.now(UTC),
        text="hello",
    )


def queue_reply(session: Session, to: Message, status: str = OutStatus.QUEUED) -> None:
    session.add(
        Message(
            direction=Direction.OUT,
            status=status,
            author=Author.BOT,
            conversation_id=to.conversation_id,
            contact_id=to.contact_id,
            channel="web",
            text="hi",
        )
    )


def rolled_back(sessions: sessionmaker[Session], write: Callable[[Session], object]) -> None:
    """Run ``write`` in a transaction that then fails, so it is rolled back."""
    with sessions.begin() as session:
        write(session)
        session.flush()
        raise RuntimeError("the transaction fails after the write")


def test_a_commit_that_queued_a_message_wakes_its_queue(services: Services) -> None:
    wakeups = services.wakeups
    with services.sessions.begin() as session:
        message = store_inbound(session, services.keys, inbound(1))
        assert not wakeups.inbound.is_set(), "not before the commit"
    assert wakeups.inbound.is_set() and not wakeups.outbox.is_set()

    wakeups.inbound.clear()
    with services.sessions.begin() as session:
        queue_reply(session, message)
    assert wakeups.outbox.is_set() and not wakeups.inbound.is_set()


def test_other_writes_and_rollbacks_wake_nobody(services: Services) -> None:
    wakeups = services.wakeups
    with services.sessions.begin() as session:
        message = store_inbound(session, services.keys, inbound(2))
    wakeups.inbound.clear()

    with services.sessions.begin() as session:
        queue_reply(session, message, status=OutStatus.SENT)  # a record, not work
        session.get_one(Message, message.id).status = InStatus.HANDLED
    with pytest.raises(RuntimeError):
        rolled_back(services.sessions, lambda session: queue_reply(session, message))
    assert not wakeups.inbound.is_set() and not wakeups.outbox.is_set()


@pytest.fixture
def listener(pg_url: str) -> Iterator[tuple[Listener, Wakeups]]:
    """A worker process's listener on the database, with its own events."""
    wakeups, stop = Wakeups(), threading.Event()
    engine = make_engine(pg_url)
    listener = Listener(engine, wakeups, stop)
    thread = threading.Thread(target=listener.run, daemon=True)
    thread.start()
    assert listener.listening.wait(WAIT)
    wakeups.inbound.clear()
    wakeups.outbox.clear()  # set on subscribing, for what came before
    yield listener, wakeups
    stop.set()
    thread.join(WAIT)
    engine.dispose()


@pytest.fixture
def gateway_sessions(pg_url: str) -> Iterator[sessionmaker[Session]]:
    """Another process's sessions, with events of their own."""
    engine = make_engine(pg_url)
    sessions = make_sessionmaker(engine)
    watch(sessions, Wakeups())
    yield sessions
    engine.dispose()


def test_another_process_hears_committed_work_only(
    listener: tuple[Listener, Wakeups], gateway_sessions: sessionmaker[Session], services: Services
) -> None:
    _, wakeups = listener
    with gateway_sessions.begin() as session:
        message = store_inbound(session, services.keys, inbound(3))
    assert wakeups.inbound.wait(WAIT)
    wakeups.inbound.clear()

    with pytest.raises(RuntimeError):
        rolled_back(
            gateway_sessions, lambda session: store_inbound(session, services.keys, inbound(4))
        )
    with gateway_sessions.begin() as session:
        queue_reply(session, message)
    # Notifications arrive in commit order: once the reply's is here, the rolled-back
    # message's would have been too.
    assert wakeups.outbox.wait(WAIT)
    assert not wakeups.inbound.is_set()


def test_the_listener_reconnects_after_its_connection_was_cut(
    listener: tuple[Listener, Wakeups],
    gateway_sessions: sessionmaker[Session],
    services: Services,
    pg_url: str,
) -> None:
    watcher, wakeups = listener
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        cut = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            )
        ).scalar_one()
    admin.dispose()
    assert cut == 1
    # Subscribed again, it wakes both queues for whatever came while it was away.
    assert wakeups.inbound.wait(WAIT) and wakeups.outbox.wait(WAIT)
    assert watcher.listening.wait(WAIT)
    wakeups.inbound.clear()
    with gateway_sessions.begin() as session:
        store_inbound(session, services.keys, inbound(5))
    assert wakeups.inbound.wait(WAIT)
