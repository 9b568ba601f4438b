"""Baken as production runs it, on this machine: several processes sharing one PostgreSQL database.

A private PostgreSQL cluster and a private Redis server (so that a test may restart them without
touching the machine's shared servers), two Rasa servers started with the production endpoints file
``deploy/rasa/endpoints.yml`` (the encrypted tracker store on PostgreSQL, the lock store on Redis),
one action server, one gateway without its worker (``BAKEN_RUN_WORKER_IN_GATEWAY=false``) and two
``baken worker`` processes, each asking its own Rasa server. WhatsApp goes through signed Twilio
webhooks; replies go through the real twilio client to the fake Twilio API, which counts them.

``load`` writes many conversations fast; ``report`` counts, per inbound message, the replies the
fake Twilio accepted: lost (none), duplicated (sent twice), out of order, left pending.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, inspect, select, text
from twilio.request_validator import RequestValidator

from bot.config import Settings
from bot.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from bot.privacy import crypto
from bot.stack import ManagedProcess, action_server, gateway, rasa_server, worker
from bot.storage.db import make_engine, make_sessionmaker, migrate
from bot.storage.models import UNPROCESSED, Direction, InStatus, Message, OutStatus
from bot.train import ensure_model

from .conftest import WHATSAPP_FROM, free_port

PROJECT = Path(__file__).resolve().parents[2]
PRODUCTION_ENDPOINTS = PROJECT / "deploy" / "rasa" / "endpoints.yml"
# Questions with different answers, so each reply of a conversation has its own text.
QUESTIONS = [
    "how can i go back to my country",
    "who can get help with reintegration",
    "what is family reunification",
    "can you help me find work",
    "what is cd4d",
]
REDIS_OPTIONS = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
DONE_OUT = {OutStatus.SENT, OutStatus.DELIVERED, OutStatus.READ, OutStatus.FAILED}


def postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own in a temporary folder (Debian's initdb and pg_ctl, run as
    the ``postgres`` user when we are root), on a free port, with trust authentication."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="baken-pg-"))
        self.data = self.root / "data"
        self.port = free_port()

    def _run(self, *argv: str) -> None:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._run(*self._ctl("start"))

    def _ctl(self, action: str) -> list[str]:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "postgres.log")
        return [
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            log,
            "-o",
            options,
            "-m",
            "fast",
            "-w",
            action,
        ]

    def restart(self) -> None:
        """Stop (fast: every connection is cut) and start again."""
        self._run(*self._ctl("restart"))

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)


def redis_ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """The process environment while the processes are built (each copies it): no BAKEN_* from
    outside, only ``values``."""
    saved = dict(os.environ)
    for name in [n for n in os.environ if n.startswith("BAKEN_")]:
        del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Report:
    measured: int
    lost: list[str] = field(default_factory=list)  # inbound ids that never got a reply
    duplicates: int = 0  # replies the fake accepted more than once
    out_of_order: list[str] = field(default_factory=list)  # phones whose replies came unordered
    unfinished: int = 0  # inbound messages still pending or processing


@dataclass
class Cluster:
    settings: Settings
    env: dict[str, str]
    postgres: PrivatePostgres
    twilio: FakeTwilio
    rasa: list[ManagedProcess]
    rasa_urls: list[str]
    gateway: ManagedProcess
    workers: list[ManagedProcess]
    others: list[ManagedProcess]
    http: httpx.Client
    gateways: list[str] = field(default_factory=list)  # base URLs that take webhooks
    _sids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _phones: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # -- sending ---------------------------------------------------------------------------
    def post(self, phone: str, body: str, payload: str | None = None) -> str:
        """One WhatsApp message as a signed Twilio webhook; returns its MessageSid. Like Twilio,
        tries again (on the next gateway) until a gateway has stored it."""
        number = next(self._sids)
        sid = f"SM{uuid.uuid4().hex}"  # never one of the fake's own (SM000…n) reply sids
        form = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": ACCOUNT_SID,
            "From": f"whatsapp:{phone}",
            "To": WHATSAPP_FROM,
            "Body": body,
            "NumMedia": "0",
            "WaId": phone.lstrip("+"),
            "ProfileName": "Test Person",
            "MessageType": "button" if payload else "text",
        }
        if payload:
            form["ButtonPayload"] = payload
        url = self.settings.public_url.rstrip("/") + "/webhooks/twilio"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        deadline = time.monotonic() + 60
        first = number % len(self.gateways)  # spread over the gateways, as a load balancer does
        for base in itertools.cycle(self.gateways[first:] + self.gateways[:first]):
            try:
                response = self.http.post(
                    f"{base}/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature}
                )
                if response.status_code == 200:
                    return sid
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("no gateway stored the message")
            time.sleep(0.2)
        raise AssertionError("unreachable")

    def new_phones(self, count: int) -> list[str]:
        return [f"+3162{next(self._phones):07d}" for _ in range(count)]

    def accept_privacy(self, phones: list[str], timeout: float = 120.0) -> None:
        """Each contact's first message and, where it was answered with the privacy notice (the
        consent gate), the acceptance of the notice. Neither is measured."""
        first = {self.post(phone, "hello"): phone for phone in phones}
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows()
            conversation = {
                m.conversation_id: first[m.channel_message_id]
                for m in rows
                if m.channel_message_id in first
            }
            offered: dict[str, set[str]] = {}
            for m in rows:
                if m.direction == Direction.OUT and m.conversation_id in conversation:
                    payloads = {str(b["payload"]) for b in m.buttons or []}
                    offered.setdefault(conversation[m.conversation_id], set()).update(payloads)
            if len(offered) == len(phones):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"first messages unanswered after {timeout:.0f} s")
            time.sleep(0.2)
        for phone in phones:
            if "consent:yes" in offered[phone]:
                self.post(phone, "I agree", payload="consent:yes")

    def load(self, phones: list[str], rounds: range) -> list[str]:
        """One question from each phone per round, written fast; returns the measured sids."""
        return [self.post(phone, QUESTIONS[n % len(QUESTIONS)]) for n in rounds for phone in phones]

    def wait_replied(self, sids: list[str], count: int, timeout: float = 120.0) -> None:
        """Until ``count`` of these messages have a reply the fake Twilio accepted."""
        deadline = time.monotonic() + timeout
        while self.replied(sids) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} replies after {timeout:.0f} s")
            time.sleep(0.2)

    # -- observing -------------------------------------------------------------------------
    def rows(self) -> list[Message]:
        crypto.configure(self.settings.data_keys)
        engine = make_engine(self.settings.database_url)
        try:
            with make_sessionmaker(engine)() as db:
                return list(db.scalars(select(Message).order_by(Message.id)).all())
        finally:
            engine.dispose()

    def replied(self, sids: list[str]) -> int:
        """How many of these inbound messages have a reply the fake Twilio accepted."""
        rows = self.rows()
        inbound = {m.id: m.channel_message_id for m in rows if m.direction == Direction.IN}
        accepted = {m["sid"] for m in self.twilio.created}
        answered = {
            inbound[m.in_reply_to_id]
            for m in rows
            if m.in_reply_to_id in inbound and m.channel_message_id in accepted
        }
        return len(answered & set(sids))

    def settled(self, sids: list[str]) -> bool:
        rows = self.rows()
        mine = [m for m in rows if m.direction == Direction.IN and m.channel_message_id in sids]
        return (
            len(mine) == len(sids)
            and all(m.status in (InStatus.HANDLED, InStatus.HELD) for m in mine)
            and all(m.status in DONE_OUT for m in rows if m.direction == Direction.OUT)
        )

    def wait_settled(self, sids: list[str], timeout: float = 150.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.settled(sids):
            if time.monotonic() > deadline:
                raise AssertionError(f"not settled after {timeout:.0f} s: {self.report(sids)}")
            time.sleep(0.5)
        time.sleep(1.0)  # let a late duplicate show itself

    def report(self, sids: list[str]) -> Report:
        rows = self.rows()
        inbound = {m.id: m for m in rows if m.direction == Direction.IN}
        outbound = [m for m in rows if m.direction == Direction.OUT]
        by_sid = {m.channel_message_id: m for m in outbound if m.channel_message_id}
        accepted = list(self.twilio.created)  # in the order the fake accepted them
        result = Report(measured=len(sids))
        # A send repeated: accepted twice for one row (only one SID recorded), or one turn
        # answered twice (the same reply text twice for one inbound message).
        result.duplicates = sum(1 for m in accepted if m["sid"] not in by_sid)
        texts: dict[int, list[str | None]] = {}
        for m in outbound:
            if m.in_reply_to_id is not None:
                texts.setdefault(m.in_reply_to_id, []).append(m.text)
        result.duplicates += sum(len(t) - len(set(t)) for t in texts.values())
        delivered = {by_sid[m["sid"]].in_reply_to_id for m in accepted if m["sid"] in by_sid}
        result.lost = [
            m.channel_message_id
            for m in inbound.values()
            if m.channel_message_id in sids and m.id not in delivered
        ]
        result.lost += [
            s for s in sids if s not in {m.channel_message_id for m in inbound.values()}
        ]
        order: dict[str, list[int]] = {}
        for m in accepted:
            if m["sid"] in by_sid:
                order.setdefault(m["to"], []).append(by_sid[m["sid"]].id)
        result.out_of_order = [to for to, ids in order.items() if ids != sorted(ids)]
        result.unfinished = sum(1 for m in inbound.values() if m.status in UNPROCESSED)
        return result

    # -- faults ----------------------------------------------------------------------------
    def kill(self, process: ManagedProcess) -> None:
        """SIGKILL, without warning (the whole process group: Rasa has children)."""
        assert process.process is not None
        os.killpg(process.process.pid, signal.SIGKILL)
        process.process.wait()

    def restart(self, process: ManagedProcess) -> None:
        process.start()
        process.wait_ready(timeout=300)

    def gateway_with_worker(self) -> tuple[ManagedProcess, str]:
        """A second gateway on its own port running the worker loops in its process (the local
        default), asking the second Rasa server; behind the same public URL as the first.
        Returns the process (not started) and its URL."""
        port = free_port()
        with environment({**self.env, "BAKEN_PORT": str(port)}):
            settings = Settings()
            settings.run_worker_in_gateway = True
            settings.rasa_url = self.rasa_urls[1]
            return gateway(settings), settings.local_url

    def wait_for_claims(self, timeout: float = 60.0) -> None:
        """Until some worker holds a claim: a message being processed or being sent."""
        busy = {InStatus.PROCESSING, OutStatus.SENDING}
        deadline = time.monotonic() + timeout
        while not any(m.status in busy for m in self.rows()):
            if time.monotonic() > deadline:
                raise AssertionError("no claim held")
            time.sleep(0.02)


def start_cluster(root: Path) -> Iterator[Cluster]:
    """Generator for a fixture: the whole cluster, stopped and removed afterwards."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Rasa's lock store needs Redis)")
    postgres = PrivatePostgres(bindir)
    twilio = FakeTwilio().start()
    redis_port, gateway_port = free_port(), free_port()
    keys = {
        "BAKEN_SECRET_KEY": Fernet.generate_key().decode(),
        "BAKEN_DATA_KEYS": Fernet.generate_key().decode(),
    }
    processes: list[ManagedProcess] = []
    try:
        postgres.start()
        env = {
            **keys,
            "BAKEN_VAR_DIR": str(root / "var"),
            "BAKEN_PORT": str(gateway_port),
            "BAKEN_PUBLIC_URL": f"http://127.0.0.1:{gateway_port}",
            "BAKEN_DATABASE_URL": postgres.create_database("baken"),
            "BAKEN_ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
            "BAKEN_RUN_WORKER_IN_GATEWAY": "false",
            "BAKEN_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "BAKEN_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "BAKEN_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
            "BAKEN_TWILIO_API_BASE": twilio.url,
            "BAKEN_TWILIO_MPS": "100",
            # Short leases and timeouts, so a test sees a dead process's work taken over.
            "BAKEN_RASA_TIMEOUT_SECONDS": "10",
            "BAKEN_INBOUND_CLAIM_LEASE_SECONDS": "15",
            "BAKEN_SEND_CLAIM_LEASE_SECONDS": "5",
            "BAKEN_RETRY_MAX_SECONDS": "2",
            "BAKEN_LOG_LEVEL": "INFO",
            # Rasa's production endpoints (deploy/rasa/endpoints.yml).
            "BAKEN_RASA_DB_HOST": "127.0.0.1",
            "BAKEN_RASA_DB_PORT": str(postgres.port),
            "BAKEN_RASA_DB_NAME": "rasa",
            "BAKEN_RASA_DB_USER": "postgres",
            "BAKEN_RASA_DB_PASSWORD": "",
            "BAKEN_RASA_REDIS_HOST": "127.0.0.1",
            "BAKEN_RASA_REDIS_PORT": str(redis_port),
            "BAKEN_RASA_REDIS_DB": "1",
            "BAKEN_RASA_REDIS_PASSWORD": "",
        }
        postgres.create_database("rasa")
        rasa_urls = [f"http://127.0.0.1:{free_port()}" for _ in range(2)]
        with environment(env):
            settings = Settings()
            settings.ensure_keys()
            model = ensure_model(settings, echo=False)
            migrate(settings.database_url)
            redis = ManagedProcess(
                name="redis",
                argv=["redis-server", "--port", str(redis_port), *REDIS_OPTIONS],
                env=dict(os.environ),
                cwd=root,
                log_path=settings.var_dir / "log" / "redis.log",
                ready=lambda: redis_ready(redis_port),
            )
            front = gateway(settings)
            rasa = [
                rasa_server(
                    settings.model_copy(update={"rasa_url": url}),
                    model,
                    PRODUCTION_ENDPOINTS,
                    name=f"rasa-{n}",
                )
                for n, url in enumerate(rasa_urls, 1)
            ]
            workers = [
                worker(settings.model_copy(update={"rasa_url": url}), name=f"worker-{n}")
                for n, url in enumerate(rasa_urls, 1)
            ]
            actions = action_server(settings)
        processes = [redis, actions, front, rasa[0]]
        for process in processes:
            process.start()
        redis.wait_ready(timeout=30)
        # The first Rasa creates the tracker table; the second starts once it is there.
        tracker_db = create_engine(postgres.url("rasa"))
        deadline = time.monotonic() + 300
        while "events" not in inspect(tracker_db).get_table_names():
            assert rasa[0].alive() and time.monotonic() < deadline, rasa[0].tail()
            time.sleep(0.5)
        tracker_db.dispose()
        processes += [rasa[1], *workers]
        for process in processes[4:]:
            process.start()
        for process in processes:
            process.wait_ready(timeout=600)
        with httpx.Client(timeout=30) as http:
            yield Cluster(
                settings=settings,
                env=env,
                postgres=postgres,
                twilio=twilio,
                rasa=rasa,
                rasa_urls=rasa_urls,
                gateway=front,
                workers=workers,
                others=[redis, actions],
                http=http,
                gateways=[settings.local_url],
            )
    finally:
        for process in reversed(processes):
            process.stop()
        twilio.stop()
        postgres.stop()
