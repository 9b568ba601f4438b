"""``baken bench pipeline``: signed Twilio WhatsApp webhooks at a chosen offered load into a real
stack (Rasa with the trained model, the action server, ``baken serve --no-worker`` and
``baken worker`` as deploy/ runs them, or the worker inside ``baken serve``; a fake Twilio API),
compared with bare Rasa serving the same model.

1. **Bare Rasa**: a second Rasa server on the same model, with the same action server and tracker
   store but no NLG endpoint (it renders its domain responses itself), is sent the benchmark
   messages on its REST channel at concurrency 1, 2, 4, … to find its best concurrency; at that
   concurrency it then gets the gateway's conversations (the same people, the same messages in
   the same order), whose throughput is the capacity. That run is made once before the
   gateway's and once after it, on new people, and the capacity is their mean: this machine's
   speed drifts by more than the differences measured.
2. **Gateway**: each contact first writes once and accepts the privacy notice (``consent:yes``;
   harmless before the consent gate exists), not measured. Then ``messages`` webhooks from
   ``contacts`` people are sent open-loop at ``load`` per second (default: ``load_factor`` ×
   bare capacity): at their scheduled time, without waiting for anything. Measured per message:
   the webhook's HTTP answer (ack), and from sending it to the fake Twilio API accepting the last
   reply of that turn (end to end). Replies are matched to their message through the database
   (reply → ``in_reply_to`` → the webhook's MessageSid) and the SID the fake handed out.

``lost``: messages not fully answered once the replies stop coming (``drain_s``);
``duplicate_replies``: turns answered twice (a repeated reply text), plus sends Twilio accepted
that the database does not know (a resend). Throughput is answered turns per second from the
first webhook to the last reply; ``throughput_ratio`` divides it by bare Rasa's.
``rasa_thread``: how Rasa's main thread, which runs every turn, spent the measured time (running,
waiting for a CPU, asleep), to tell a Rasa short of work from one short of CPU.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, sessionmaker
from twilio.request_validator import RequestValidator

from bot.bench import cpu_seconds, percentile
from bot.bench.messages import MESSAGES
from bot.config import Settings
from bot.fakes.server import Call
from bot.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from bot.privacy import crypto
from bot.stack import ManagedProcess, action_server, gateway, rasa_server
from bot.storage.db import make_engine, make_sessionmaker, migrate
from bot.storage.models import UNPROCESSED, UNSENT, Direction, Message
from bot.train import ensure_model

WHATSAPP_FROM = "whatsapp:+31970100000"
LEVELS = (1, 2, 4, 8, 16, 32, 64)
CONSENT = "consent:yes"  # the privacy notice's "I agree" button (consent gate, issue 7)


@dataclass
class TimedTwilio(FakeTwilio):
    """The fake Twilio API, also noting when it accepted each message (by SID)."""

    accepted_at: dict[str, float] = field(default_factory=dict)

    def answer(self, call: Call) -> tuple[int, dict[str, Any]]:
        status, body = super().answer(call)
        if status == 201:
            self.accepted_at[body["sid"]] = call.at
        return status, body


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def contact_and_text(n: int, contacts: int) -> tuple[int, str]:
    """Who sends the n-th message of a run, and what: each contact goes through the list from
    its own starting place."""
    contact, turn = n % contacts, n // contacts
    return contact, MESSAGES[(contact * 7 + turn) % len(MESSAGES)]


def bare_endpoints(project_dir: Path, target: Path) -> Path:
    """endpoints.yml without its ``nlg:`` block: Rasa then renders its domain responses."""
    kept: list[str] = []
    skipping = False
    for line in (project_dir / "endpoints.yml").read_text().splitlines():
        if line.startswith("nlg:"):
            skipping = True
            continue
        if skipping and (line.startswith((" ", "\t")) or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    target.write_text("\n".join(kept) + "\n")
    return target


@dataclass
class Stack:
    settings: Settings
    bare_url: str
    parts: dict[str, ManagedProcess]  # gateway, actions, rasa, bare and, if apart, worker
    twilio: TimedTwilio
    sessions: sessionmaker[Session]

    def stop(self) -> None:
        for part in self.parts.values():
            part.stop()
        self.twilio.stop()

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each process of the stack (not bare Rasa) and this one."""
        used = {name: part_cpu_seconds(p) for name, p in self.parts.items() if name != "bare"}
        return {**used, "bench": sum(os.times()[:2])}


def part_cpu_seconds(part: ManagedProcess) -> float:
    assert part.process is not None
    return cpu_seconds(part.process.pid)


def scheduled(part: ManagedProcess) -> tuple[float, float]:
    """Seconds a process's main thread has run so far, and waited runnable for a CPU (Linux
    /proc/PID/schedstat). For Rasa, whose turns all run on that thread, the rest of the wall
    time is sleep: waiting for a request, the NLG answer or the disk."""
    assert part.process is not None
    running, waiting, _ = Path(f"/proc/{part.process.pid}/schedstat").read_text().split()
    return int(running) / 1e9, int(waiting) / 1e9


def thread_shares(
    before: tuple[float, float], after: tuple[float, float], seconds: float
) -> dict[str, float]:
    """Shares of ``seconds`` of wall time: running, waiting for a CPU, and the rest asleep."""
    running = (after[0] - before[0]) / seconds
    waiting = (after[1] - before[1]) / seconds
    return {
        "running": round(running, 2),
        "waiting_for_cpu": round(waiting, 2),
        "asleep": round(max(0.0, 1 - running - waiting), 2),
    }


def cpu_ms_per_message(
    before: dict[str, float], after: dict[str, float], n: int
) -> dict[str, float]:
    return {name: round((after[name] - before[name]) * 1000 / max(n, 1), 1) for name in after}


def start_stack(
    workdir: Path,
    concurrency: int,
    mps: float,
    separate_worker: bool,
    database_url: str | None = None,
) -> Stack:
    """The stack on free ports; ``separate_worker``: ``baken serve --no-worker`` plus
    ``baken worker`` instead of the worker inside the gateway; ``database_url``: an empty
    database for the gateway instead of a SQLite file (fresh keys are made for the run)."""
    twilio = TimedTwilio().start()
    port = free_port()
    settings = Settings(
        var_dir=workdir / "var",
        database_url=database_url or f"sqlite:///{workdir / 'var' / 'bench.db'}",
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        actions_url=f"http://127.0.0.1:{free_port()}",
        secret_key=Fernet.generate_key().decode() if database_url else "",
        data_keys=[Fernet.generate_key().decode()] if database_url else [],
    )
    settings.ensure_keys()
    migrate(settings.database_url)
    bare = settings.model_copy(
        update={"var_dir": workdir / "bare", "rasa_url": f"http://127.0.0.1:{free_port()}"}
    )
    model = ensure_model(settings, echo=False)
    web = gateway(settings)
    for secret in ("BAKEN_SECRET_KEY", "BAKEN_DATA_KEYS"):
        web.env.pop(secret, None)  # the gateway reads the bench's own var/keys.json
    if database_url:  # outside the embedded default the keys must come from the environment
        web.env.update(
            BAKEN_SECRET_KEY=settings.secret_key, BAKEN_DATA_KEYS=",".join(settings.data_keys)
        )
    web.env.update(
        BAKEN_PUBLIC_URL=settings.public_url,
        BAKEN_ACTIONS_URL=settings.actions_url,
        BAKEN_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        BAKEN_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        BAKEN_TWILIO_WHATSAPP_FROM=WHATSAPP_FROM,
        BAKEN_TWILIO_API_BASE=twilio.url,
        BAKEN_TWILIO_MPS=str(mps),
    )
    web.env["BAKEN_WORKER_CONCURRENCY"] = str(concurrency)
    bare.var_dir.mkdir(parents=True)
    parts = {
        "gateway": web,
        "actions": action_server(settings),
        "rasa": rasa_server(settings, model),
        "bare": rasa_server(
            bare, model, bare_endpoints(settings.project_dir, workdir / "bare.yml")
        ),
    }
    if separate_worker:
        web.argv.append("--no-worker")
        parts["worker"] = ManagedProcess(
            name="worker",
            argv=[sys.executable, "-m", "bot.cli", "worker"],
            env=web.env,
            cwd=settings.project_dir,
            log_path=settings.var_dir / "log" / "worker.log",
            ready=lambda: True,
        )
    stack = Stack(settings, bare.rasa_url, parts, twilio, sessions_for(settings))
    try:
        for part in parts.values():
            part.start()
        for part in parts.values():
            part.wait_ready(timeout=600)
    except BaseException:
        stack.stop()
        raise
    return stack


def pin(stack: Stack) -> dict[str, list[int]]:
    """Both Rasa servers on the first half of this machine's CPUs, everything else (gateway,
    worker, action server, this process with the load generator and the fake Twilio) on the
    rest: Rasa on cores of its own, as when it runs on its own machine or container. Every
    thread is moved (Linux affinity is per thread); threads made later inherit it."""
    cpus = sorted(os.sched_getaffinity(0))
    rasa_cpus, other_cpus = set(cpus[: len(cpus) // 2]), set(cpus[len(cpus) // 2 :])
    for name, part in stack.parts.items():
        assert part.process is not None
        for task in Path(f"/proc/{part.process.pid}/task").iterdir():
            os.sched_setaffinity(
                int(task.name), rasa_cpus if name in ("rasa", "bare") else other_cpus
            )
    for task in Path("/proc/self/task").iterdir():
        os.sched_setaffinity(int(task.name), other_cpus)
    return {"rasa": sorted(rasa_cpus), "others": sorted(other_cpus)}


def sessions_for(settings: Settings) -> sessionmaker[Session]:
    crypto.configure(settings.data_keys)
    return make_sessionmaker(make_engine(settings.database_url))


# -- phase 1: bare Rasa ------------------------------------------------------------------------


def conversations(prefix: str, start: int, count: int, contacts: int) -> list[tuple[str, str]]:
    """(sender, text) of messages ``start`` … ``start + count - 1`` of a run, as
    ``contact_and_text`` orders them."""
    return [
        (f"{prefix}-{contact}", text)
        for contact, text in (contact_and_text(n, contacts) for n in range(start, start + count))
    ]


def client_session(base_url: str, connections: int, timeout_s: float) -> aiohttp.ClientSession:
    """The load generators' HTTP client. It stands in for Twilio's servers and bare Rasa's
    users, which run elsewhere, yet here it shares the CPUs with what it measures, so it must
    cost little: aiohttp's client takes a fifth to a twentieth of the CPU per request of
    httpx's (0.2-0.4 against 1.3-3.9 ms, docs/performance.md)."""
    return aiohttp.ClientSession(
        base_url,
        connector=aiohttp.TCPConnector(limit=connections),
        timeout=aiohttp.ClientTimeout(total=timeout_s),
    )


async def bare_run(url: str, level: int, messages: list[tuple[str, str]]) -> float:
    """Turns per second of bare Rasa's REST channel, ``messages`` taken in order with ``level``
    requests in flight."""
    queue = iter(messages)
    async with client_session(url, level, timeout_s=120) as client:

        async def worker() -> None:
            for sender, text in queue:
                async with client.post(
                    "/webhooks/rest/webhook", json={"sender": sender, "message": text}
                ) as response:
                    response.raise_for_status()
                    answer = await response.json()
                if not any(item.get("text") for item in answer):
                    raise RuntimeError("bare Rasa answered a benchmark message without a reply")

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(level)))
        return len(messages) / (time.monotonic() - started)


@dataclass
class Bare:
    msgs_per_s: float  # at the best concurrency, on the same conversations as the gateway
    cpu_ms_per_msg: float
    rasa_thread: dict[str, float]  # Rasa's main thread during that run (``thread_shares``)


def best_level(stack: Stack, messages: int, contacts: int) -> dict[int, float]:
    """Bare Rasa's turns per second at 1, 2, 4, … requests in flight (short runs, fresh people
    at each level), doubling until two levels in a row gain nothing."""
    url = stack.bare_url
    asyncio.run(bare_run(url, 4, conversations("warm", 0, 8, contacts)))  # the first turns are slow
    levels: dict[int, float] = {}
    worse = 0
    for level in LEVELS:
        count = max(2 * level, min(messages, 200))
        levels[level] = asyncio.run(
            bare_run(url, level, conversations(f"bare{level}", 0, count, contacts))
        )
        if levels[level] > max(levels.values()) * 0.999 or len(levels) == 1:
            worse = 0
        else:
            worse += 1
            if worse == 2:
                break
    return levels


def bare_capacity(stack: Stack, level: int, prefix: str, messages: int, contacts: int) -> Bare:
    """Bare Rasa's capacity on the conversations the gateway gets: at ``level`` in flight, each
    of ``contacts`` people writes once (not measured), then the same ``messages`` in the same
    order as through the gateway. Rasa's cost per turn grows with the conversation (it loads,
    replays and saves the whole tracker), so the level runs alone, with their two-turn
    conversations, would overstate it against the gateway's ten-turn ones."""
    url, part = stack.bare_url, stack.parts["bare"]
    asyncio.run(bare_run(url, level, conversations(prefix, 0, contacts, contacts)))
    cpu_before, thread_before, started = part_cpu_seconds(part), scheduled(part), time.monotonic()
    rate = asyncio.run(bare_run(url, level, conversations(prefix, contacts, messages, contacts)))
    seconds = time.monotonic() - started
    cpu_ms = (part_cpu_seconds(part) - cpu_before) * 1000 / messages
    return Bare(rate, cpu_ms, thread_shares(thread_before, scheduled(part), seconds))


# -- phase 2: through the gateway --------------------------------------------------------------


@dataclass
class Sent:
    sid: str
    at: float
    ack_s: float | None = None
    status: int = 0


@dataclass
class Load:
    """One open-loop run of signed webhooks; ``run_id`` keeps contacts and SIDs apart."""

    stack: Stack
    run_id: int
    contacts: int
    sent: dict[str, Sent] = field(default_factory=dict)
    contact_of: dict[str, int] = field(default_factory=dict)  # MessageSid -> contact
    _sids: itertools.count[int] = field(default_factory=itertools.count)

    def phone(self, contact: int) -> str:
        return f"+3162{self.run_id:02d}{contact:05d}"

    def form(self, contact: int, text: str, **extra: str) -> dict[str, str]:
        # Twilio's SIDs are unique across directions; the fake's count up from SM000…, so ours
        # start with "b" (bench) and never meet them.
        sid = f"SMb{self.run_id:03x}{next(self._sids):028x}"
        phone = self.phone(contact)
        self.contact_of[sid] = contact
        return {
            "AccountSid": ACCOUNT_SID,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "From": f"whatsapp:{phone}",
            "To": WHATSAPP_FROM,
            "Body": text,
            "NumMedia": "0",
            "WaId": phone.lstrip("+"),
            **extra,
        }

    async def post(self, client: aiohttp.ClientSession, form: dict[str, str], at: float) -> None:
        url = self.stack.settings.public_url + "/webhooks/twilio"
        signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        record = self.sent[form["MessageSid"]] = Sent(form["MessageSid"], time.monotonic())
        try:
            async with client.post(
                "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature}
            ) as response:
                await response.read()
        except (aiohttp.ClientError, TimeoutError):
            return
        record.ack_s = time.monotonic() - record.at
        record.status = response.status

    async def send(self, forms: list[dict[str, str]], rate: float | None) -> None:
        """All forms, at ``rate`` per second from now (None: all at once)."""
        async with client_session(self.stack.settings.public_url, 500, timeout_s=60) as client:
            start = time.monotonic()
            await asyncio.gather(
                *(
                    self.post(client, form, start + (n / rate if rate else 0))
                    for n, form in enumerate(forms)
                )
            )


def settled(sessions: sessionmaker[Session]) -> bool:
    """Nothing waits to be processed or sent."""
    with sessions() as db:
        busy = db.scalar(
            select(Message.id)
            .where(
                ((Message.direction == Direction.IN) & Message.status.in_(UNPROCESSED))
                | ((Message.direction == Direction.OUT) & Message.status.in_(UNSENT))
            )
            .limit(1)
        )
    return busy is None


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return False


def warm_up(load: Load, timeout: float) -> None:
    """Every contact writes once and, where the privacy notice is offered, accepts it (the
    consent gate); not measured."""
    first = [load.form(*contact_and_text(c, load.contacts)) for c in range(load.contacts)]
    asyncio.run(load.send(first, None))
    wait_until(lambda: settled(load.stack.sessions), timeout)
    offered = [
        load.contact_of[turn.sent.sid]
        for turn in turns(load)
        if any(
            button.get("payload") == CONSENT
            for reply in turn.replies
            for button in reply.buttons or []
        )
    ]
    accept = [load.form(c, "I agree", ButtonPayload=CONSENT, ButtonText="I agree") for c in offered]
    asyncio.run(load.send(accept, None))
    wait_until(lambda: settled(load.stack.sessions), timeout)
    load.sent.clear()


@dataclass
class Turn:
    sent: Sent
    replies: list[Message]


def turns(load: Load) -> list[Turn]:
    """Each measured message with the replies the database holds for it."""
    with load.stack.sessions() as db:
        inbound = dict(
            db.execute(
                select(Message.channel_message_id, Message.id).where(
                    Message.direction == Direction.IN,
                    Message.channel_message_id.in_(list(load.sent)),
                )
            ).all()
        )
        replies: dict[int, list[Message]] = defaultdict(list)
        for reply in db.scalars(
            select(Message).where(Message.in_reply_to_id.in_(list(inbound.values())))
        ):
            replies[int(reply.in_reply_to_id or 0)].append(reply)
    return [Turn(s, replies.get(inbound.get(sid, -1), [])) for sid, s in load.sent.items()]


def answered(load: Load, accepted_at: dict[str, float]) -> int:
    """How many measured messages have all their replies accepted by Twilio: the progress poll,
    two plain columns (``turns`` loads and decrypts every reply, too much twice a second)."""
    inbound = aliased(Message)
    with load.stack.sessions() as db:
        rows = db.execute(
            select(Message.in_reply_to_id, Message.channel_message_id)
            .join(inbound, Message.in_reply_to_id == inbound.id)
            .where(inbound.channel_message_id.in_(list(load.sent)))
        ).all()
    complete: dict[int | None, bool] = {}
    for turn, sid in rows:
        complete[turn] = complete.get(turn, True) and (sid or "") in accepted_at
    return sum(complete.values())


def answered_at(turn: Turn, accepted_at: dict[str, float]) -> float | None:
    """When Twilio accepted the last reply of the turn; None while one is missing."""
    times = [accepted_at.get(r.channel_message_id or "") for r in turn.replies]
    if not times or None in times:
        return None
    return max(t for t in times if t is not None)


def measure(
    stack: Stack, run_id: int, messages: int, contacts: int, rate: float, drain_s: float
) -> dict[str, Any]:
    load = Load(stack, run_id, contacts)
    warm_up(load, timeout=max(120.0, drain_s))
    known_sids = set(stack.twilio.accepted_at)
    cpu_before, started = stack.cpu(), time.monotonic()
    rasa_before = scheduled(stack.parts["rasa"])
    forms = [load.form(*contact_and_text(n + contacts, contacts)) for n in range(messages)]
    asyncio.run(load.send(forms, rate))
    accepted = stack.twilio.accepted_at

    def done() -> int:
        return answered(load, accepted)

    progress, last_change = done(), time.monotonic()
    while progress < messages and time.monotonic() - last_change < drain_s:
        time.sleep(0.5)
        now_done = done()
        if now_done != progress:
            progress, last_change = now_done, time.monotonic()
    cpu_after = stack.cpu()
    rasa_thread = thread_shares(
        rasa_before, scheduled(stack.parts["rasa"]), time.monotonic() - started
    )
    time.sleep(1.0)  # let a late duplicate show itself
    result = turns(load)
    finished = [(t, answered_at(t, accepted)) for t in result]
    complete = [(t, at) for t, at in finished if at is not None]
    acks = [t.sent.ack_s * 1000 for t in result if t.sent.ack_s is not None]
    e2e = [(at - t.sent.at) * 1000 for t, at in complete]
    first_sent = min(t.sent.at for t in result)
    last_done = max((at for _, at in complete), default=first_sent)
    ours = {r.channel_message_id for t in result for r in t.replies}
    # Accepted by Twilio for this run's people but unknown to the database: a resend.
    resends = [
        m["sid"]
        for m in list(stack.twilio.created)
        if m["sid"] not in known_sids
        and m["sid"] not in ours
        and str(m["to"]).startswith(f"whatsapp:{load.phone(0)[:-5]}")
    ]
    doubled = sum(any(n > 1 for n in Counter(r.text for r in t.replies).values()) for t in result)
    return {
        "msgs_per_s": len(complete) / (last_done - first_sent) if last_done > first_sent else 0.0,
        "offered_per_s": rate,
        "ack_p50_ms": percentile(acks, 50),
        "ack_p99_ms": percentile(acks, 99),
        "e2e_p50_ms": percentile(e2e, 50),
        "e2e_p95_ms": percentile(e2e, 95),
        "lost": messages - len(complete),
        "duplicate_replies": doubled + len(resends),
        "non_2xx_acks": sum(not 200 <= t.sent.status < 300 for t in result),
        "replies_per_turn": sum(len(t.replies) for t, _ in complete) / max(len(complete), 1),
        "cpu_ms_per_msg": cpu_ms_per_message(cpu_before, cpu_after, messages),
        "rasa_thread": rasa_thread,
    }


def plot(runs: list[dict[str, Any]], bare: float, path: Path) -> None:
    """Latency and throughput against offered load (needs matplotlib, a dev dependency)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted(runs, key=lambda r: r["offered_per_s"])
    offered = [r["offered_per_s"] for r in runs]
    fig, (lat, thr) = plt.subplots(1, 2, figsize=(10, 4), dpi=110)
    lat.plot(offered, [r["ack_p99_ms"] for r in runs], "o-", label="webhook ack p99")
    lat.plot(offered, [r["e2e_p50_ms"] for r in runs], "s-", label="end to end p50")
    lat.plot(offered, [r["e2e_p95_ms"] for r in runs], "^-", label="end to end p95")
    lat.axhline(50, color="grey", linestyle=":", label="ack target 50 ms")
    lat.set_yscale("log")
    lat.set_xlabel("offered load (messages/s)")
    lat.set_ylabel("ms")
    lat.set_title("latency")
    lat.legend(fontsize=8)
    thr.plot(offered, [r["msgs_per_s"] for r in runs], "o-", label="through the gateway")
    thr.axhline(bare, color="red", linestyle="--", label=f"bare Rasa best ({bare:.1f}/s)")
    thr.axhline(0.9 * bare, color="red", linestyle=":", label="90 % of bare Rasa")
    thr.plot(offered, offered, color="grey", linewidth=0.8, label="offered")
    thr.set_xlabel("offered load (messages/s)")
    thr.set_ylabel("answered messages/s")
    thr.set_title("throughput")
    thr.legend(fontsize=8)
    fig.suptitle("baken bench pipeline (signed WhatsApp webhooks, real Rasa, fake Twilio)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(
    *,
    messages: int = 1000,
    contacts: int = 100,
    load: float | None = None,
    load_factor: float = 2.0,
    sweep: list[float] | None = None,
    concurrency: int | None = None,
    separate_worker: bool = True,
    mps: float = 80.0,
    drain_s: float = 60.0,
    plot_to: Path | None = None,
    database_url: str | None = None,
    pin_rasa: bool = False,
) -> dict[str, Any]:
    """Bare Rasa's capacity, then the gateway at ``load`` (or ``load_factor`` × capacity); with
    ``sweep``, at each of those factors too (the last result is the one reported on top)."""
    workdir = Path(tempfile.mkdtemp(prefix="baken-bench-pipeline-"))
    concurrency = concurrency or Settings().worker_concurrency
    stack = start_stack(workdir, concurrency, mps, separate_worker, database_url)
    try:
        cpus = pin(stack) if pin_rasa else None
        levels = best_level(stack, messages, contacts)
        level = max(levels, key=lambda n: levels[n])
        before = bare_capacity(stack, level, "before", messages, contacts)
        factors = [*(sweep or []), load_factor]
        runs = []
        for run_id, factor in enumerate(factors):
            rate = (
                load
                if load is not None and run_id == len(factors) - 1
                else factor * before.msgs_per_s
            )
            runs.append(measure(stack, run_id, messages, contacts, rate, drain_s))
        # Again after the gateway, on new people: the machine's speed drifts by more than the
        # differences measured here, and the mean of a run before and one after cancels a
        # steady drift.
        after = bare_capacity(stack, level, "after", messages, contacts)
    finally:
        stack.stop()
    capacity = (before.msgs_per_s + after.msgs_per_s) / 2
    if plot_to is not None:
        plot(runs, capacity, plot_to)
    shutil.rmtree(workdir, ignore_errors=True)
    main = runs[-1]
    rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in main.items()}
    return {
        "throughput_ratio": round(main["msgs_per_s"] / capacity, 3),
        **rounded,
        "bare_msgs_per_s": round(capacity, 2),
        "bare_before_after": [round(before.msgs_per_s, 2), round(after.msgs_per_s, 2)],
        "bare_best_concurrency": level,
        "bare_by_concurrency": {str(k): round(v, 2) for k, v in levels.items()},
        "bare_rasa_cpu_ms_per_msg": round((before.cpu_ms_per_msg + after.cpu_ms_per_msg) / 2, 1),
        "bare_rasa_thread": before.rasa_thread,
        "messages": messages,
        "contacts": contacts,
        "worker_concurrency": concurrency,
        "separate_worker": separate_worker,
        "database": "sqlite" if database_url is None else database_url.split(":", 1)[0],
        "cpus": cpus,
        "sweep": [
            {k: round(v, 2) if isinstance(v, float) else v for k, v in r.items()} for r in runs[:-1]
        ],
    }
