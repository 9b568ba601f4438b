"""``baken bench worker``: what the worker costs per message, with Rasa left out.

``messages`` inbound WhatsApp messages from ``contacts`` people (the pipeline benchmark's
ordinary questions, stored as the webhook stores them) are queued at once in an empty database
where each person has already accepted the privacy notice and has ``history`` answered turns. A
real ``baken worker`` process, started and idle first, processes them: the claim, safety triage,
a fake Rasa that answers every turn at once with one reply (``bot.fakes.rasa_api``), the reply
written, sent through the real twilio client to the fake Twilio API, and recorded (by the
inbound loop at once, or by the outbox loop when the person's previous reply was still going).

``twilio_latency`` makes the fake Twilio API take that long to accept each message, as the real
one does across an ocean: then what is measured is how many sends the worker keeps in flight.

Reported: the worker's CPU per message (user + system from /proc, from queueing the messages to
the last reply recorded as sent), on PostgreSQL also the database server's when it runs on this
machine (the statements' work is done there), messages per second, ``lost`` (turns without a
reply the fake accepted) and ``duplicate_replies`` (replies the fake accepted that the database
does not hold: a resend).

``baken bench pipeline`` measures the worker beside a real Rasa on the same CPUs, where one run
differs from the next by more than most changes to the worker; here nothing else runs, so what
a change to the worker does shows. With a larger ``history`` a message must not cost more
(docs/performance.md).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import aliased

from bot.bench import cpu_seconds, prepare_database
from bot.bench.messages import MESSAGES
from bot.fakes.rasa_api import FakeRasa
from bot.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from bot.messages import InboundMessage
from bot.services import Services, build_services
from bot.storage.models import Author, Contact, Direction, InStatus, Message, OutStatus
from bot.storage.repo import store_inbound

WHATSAPP_FROM = "whatsapp:+31970100000"
MEASURED = "SMw"  # the measured messages' SIDs; the earlier turns' start with "SMh"


def _inbound(sid: str, contact: int, text: str, at: datetime) -> InboundMessage:
    return InboundMessage(f"whatsapp:+3161{contact:07d}", "whatsapp", sid, at, text=text)


def _seed(services: Services, contacts: int, history: int) -> None:
    """People who accepted the notice, each with ``history`` answered turns."""
    at = datetime.now(UTC) - timedelta(hours=1)
    with services.sessions.begin() as db:
        for turn in range(history):
            for contact in range(contacts):
                text = MESSAGES[(turn + contact) % len(MESSAGES)]
                sid = f"SMh{turn * contacts + contact:030x}"
                message = store_inbound(db, services.keys, _inbound(sid, contact, text, at))
                message.status = InStatus.HANDLED
                db.add(
                    Message(
                        direction=Direction.OUT,
                        status=OutStatus.SENT,
                        author=Author.BOT,
                        conversation_id=message.conversation_id,
                        contact_id=message.contact_id,
                        channel="whatsapp",
                        text="An earlier answer.",
                        in_reply_to_id=message.id,
                    )
                )
        db.execute(update(Contact).values(consent_at=at, consent_version="bench", lang="en"))


def _queue(services: Services, messages: int, contacts: int) -> None:
    with services.sessions.begin() as db:
        for n in range(messages):
            text = MESSAGES[n % len(MESSAGES)]
            inbound = _inbound(f"{MEASURED}{n:030x}", n % contacts, text, datetime.now(UTC))
            store_inbound(db, services.keys, inbound)


def _sent_replies(services: Services) -> dict[str, int]:
    """Provider SID -> measured turn, for the replies recorded as sent."""
    turn = aliased(Message)
    with services.sessions() as db:
        rows = db.execute(
            select(Message.channel_message_id, turn.id)
            .join(turn, Message.in_reply_to_id == turn.id)
            .where(
                turn.channel_message_id.startswith(MEASURED),
                Message.status == OutStatus.SENT,
            )
        ).all()
    return {str(sid): int(turn_id) for sid, turn_id in rows}


def _postgres_cpu_seconds() -> float | None:
    """The CPU time of a PostgreSQL server on this machine (every ``postgres`` process, with
    the connections that have ended); None where there is none that can be read."""
    total, found = 0.0, False
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and (proc / "comm").read_text().strip() == "postgres":
                total += cpu_seconds(int(proc.name), children=True)
                found = True
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return total if found else None


def _wait_idle(pid: int, timeout_s: float = 120.0) -> None:
    """Until the process has started and gone quiet: its start is not what is measured."""
    deadline = time.monotonic() + timeout_s
    last = cpu_seconds(pid)
    time.sleep(1.0)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        used = cpu_seconds(pid)
        if used - last < 0.02:
            return
        last = used
    raise RuntimeError("the worker did not go idle")


def run(
    messages: int = 2000,
    contacts: int = 100,
    history: int = 10,
    concurrency: int = 4,
    database_url: str | None = None,
    timeout_s: float = 600.0,
    twilio_latency_s: float = 0.0,
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="baken-bench-worker-"))
    rasa, twilio = FakeRasa().start(), FakeTwilio(latency=twilio_latency_s).start()
    env = {
        **os.environ,
        "BAKEN_VAR_DIR": str(workdir / "var"),
        "BAKEN_DATABASE_URL": database_url or f"sqlite:///{workdir / 'var' / 'bench.db'}",
        "BAKEN_RASA_URL": rasa.url,
        "BAKEN_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "BAKEN_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "BAKEN_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
        "BAKEN_TWILIO_API_BASE": twilio.url,
        "BAKEN_TWILIO_MPS": "1000",  # the pace never limits
        "BAKEN_WORKER_CONCURRENCY": str(concurrency),
        "BAKEN_LOG_LEVEL": "WARNING",
    }
    services = build_services(prepare_database(env, own_sqlite=database_url is None))
    _seed(services, contacts, history)
    log = (workdir / "worker.log").open("ab")
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_idle(worker.pid)
        server_before = None if database_url is None else _postgres_cpu_seconds()
        cpu_before, started = cpu_seconds(worker.pid), time.monotonic()
        _queue(services, messages, contacts)
        while time.monotonic() - started < timeout_s and worker.poll() is None:
            if len(_sent_replies(services)) >= messages:
                break
            time.sleep(0.1)
        seconds = time.monotonic() - started
        cpu = cpu_seconds(worker.pid) - cpu_before
        server_after = None if database_url is None else _postgres_cpu_seconds()
        time.sleep(1.0)  # let a late duplicate show itself
        replies = _sent_replies(services)
        accepted = {m["sid"] for m in list(twilio.created)}
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        services.close()
        rasa.stop()
        twilio.stop()
    shutil.rmtree(workdir, ignore_errors=True)  # kept when the run failed: its worker.log
    answered = {turn for sid, turn in replies.items() if sid in accepted}
    server = None
    if server_before is not None and server_after is not None:
        server = round((server_after - server_before) * 1000 / messages, 2)
    return {
        "worker_cpu_ms_per_msg": round(cpu * 1000 / messages, 2),
        # A local PostgreSQL server's CPU (the claims' queries run there); None on SQLite,
        # which runs inside the worker, or where no server can be read.
        "database_cpu_ms_per_msg": server,
        "msgs_per_s": round(len(answered) / seconds, 1),
        "lost": messages - len(answered),
        "duplicate_replies": len(accepted - set(replies)),
        "messages": messages,
        "contacts": contacts,
        "history": history,
        "worker_concurrency": concurrency,
        "twilio_latency_ms": round(twilio_latency_s * 1000, 1),
        # With a latency: the most sends the fake Twilio API had in flight at once.
        "twilio_most_in_flight": twilio.most_in_flight,
        "database": "sqlite" if database_url is None else database_url.split(":", 1)[0],
    }
