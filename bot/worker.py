"""The worker: ``BAKEN_WORKER_CONCURRENCY`` loops processing inbound messages (each sends its
turn's replies itself), ``BAKEN_OUTBOX_CONCURRENCY`` sending the rest of the outbox (counsellors'
messages, reminders, retries), one queueing due reminders, one carrying out erasure requests and
retention (bot/privacy).

The loops sleep between polls until their queue's event is set (bot/wakeup.py): by a commit in
this process that queued work, or on PostgreSQL by a listener thread hearing another process's.

Several inbound loops keep Rasa as busy as its best concurrency (docs/performance.md): while one
loop waits for a turn, another claims the next conversation. Claims are exclusive per
conversation, so each conversation is still processed one message at a time, in order.

Runs inside the gateway process by default (``baken serve``) or on its own (``baken worker``).
Both loops resume from the database after a crash: nothing is kept in memory between turns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.privacy import subject
from bot.privacy.providers import ProviderCleanup
from bot.privacy.retention import retention_for
from bot.services import Services
from bot.storage.repo import now
from bot.wakeup import Listener

log = logging.getLogger(__name__)


def _loop(
    name: str, step: Callable[[], bool], wake: threading.Event, stop: threading.Event, poll: float
) -> None:
    while not stop.is_set():
        try:
            busy = step()
        except Exception:
            log.exception("worker step failed", extra={"component": name})
            stop.wait(1.0)
            continue
        if not busy:
            wake.wait(poll)
            wake.clear()


class Worker:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_retention: datetime | None = None
        self._provider_cleanup = ProviderCleanup(services.sessions, services.twilio)
        self._retention = retention_for(services.settings, services.sessions)

    def _queue_reminders(self) -> bool:
        return self.services.reminders.queue_due() > 0

    def _privacy(self) -> bool:
        """Confirmed "delete my data" requests and deletions at Twilio, at every poll; retention,
        at its interval."""
        settings = self.services.settings
        at = now()
        subject.erase_requested(
            self.services.sessions,
            settings.tracker_url,
            delay=timedelta(seconds=settings.erase_delay_seconds),
            at=at,
        )
        self._provider_cleanup.run(at)
        if self._next_retention is None or at >= self._next_retention:
            self._retention.run(at)
            self._next_retention = at + timedelta(minutes=settings.retention_interval_minutes)
        return False

    def start(self) -> None:
        poll = self.services.settings.worker_poll_seconds
        inbound = self.services.settings.worker_concurrency
        outbox = self.services.settings.outbox_concurrency
        wakeups = self.services.wakeups
        process = self.services.pipeline.process_next
        loops: list[tuple[str, Callable[[], bool], threading.Event]] = [
            *((f"inbound-{n}", process, wakeups.inbound) for n in range(1, inbound + 1)),
            *(
                (f"outbox-{n}", self.services.sender.send_next, wakeups.outbox)
                for n in range(1, outbox + 1)
            ),
            ("reminders", self._queue_reminders, threading.Event()),
            ("privacy", self._privacy, threading.Event()),
        ]
        for name, step, wake in loops:
            thread = threading.Thread(
                target=_loop,
                args=(name, step, wake, self.stop_event, poll),
                name=f"baken-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        if self.services.engine.dialect.name == "postgresql":
            listener = Listener(self.services.engine, wakeups, self.stop_event)
            thread = threading.Thread(target=listener.run, name="baken-listener", daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("worker started")

    def stop(self) -> None:
        self.stop_event.set()
        self.services.wakeups.set_all()
        for thread in self._threads:
            thread.join(timeout=self.services.settings.rasa_timeout_seconds + 5)
        log.info("worker stopped")

    def run_forever(self) -> None:
        self.start()
        try:
            self.stop_event.wait()
        finally:
            self.stop()
