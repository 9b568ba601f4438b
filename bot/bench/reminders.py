"""``baken bench reminders``: N due reminders through a real worker process to a fake Twilio API;
the worker is killed with SIGKILL halfway and a second one finishes the job.

Reports what the fake received: ``sent`` (people who got their reminder), ``lost`` (who did not),
``duplicates`` (extra copies), and the achieved send rate against the target (Twilio's per-sender
pace, ``BAKEN_TWILIO_MPS``). The rate is measured while a worker is sending; the pauses (the first
worker queueing the reminders, the kill and the second worker's start) are reported apart as
``pause_s``, with the whole run's ``wall_s``. ``twilio_latency`` makes the fake take that long
to accept each message, as the real API does across the internet: then the worker's outbox loops
(``BAKEN_OUTBOX_CONCURRENCY``, from the environment) decide the rate.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update

from bot.bench import prepare_database
from bot.config import Settings
from bot.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from bot.reminders import QuietHours, schedule
from bot.services import build_services
from bot.storage.models import Reminder
from bot.storage.repo import get_or_create_contact

SMS_FROM = "+31970100001"
PAUSE_INTERVALS = 20  # a gap of 20 target intervals between sends is a pause, not sending time


def _seed(settings: Settings, count: int) -> None:
    services = build_services(settings)
    with services.sessions.begin() as db:
        for n in range(count):
            contact = get_or_create_contact(db, services.keys, f"sms:+3161{n:07d}")
            contact.lang = "nl" if n % 2 else "en"
            schedule(
                db,
                contact,
                kind="appointment",
                starts_at=datetime.now(UTC) + timedelta(hours=2),
                offsets_hours=[1],
                quiet=QuietHours.parse("00:00", "00:00"),
                timezone="Europe/Amsterdam",
                channel="sms",
            )
        db.execute(update(Reminder).values(due_at=datetime.now(UTC) - timedelta(seconds=1)))
    services.close()


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def timeline(times: list[float], rate: float, latency: float = 0.0) -> tuple[float, float, float]:
    """(sends per second while sending, seconds of pauses, seconds from first to last send).
    A gap between sends is a pause when it is longer than 20 target intervals and than three
    of Twilio's answers (a loop waiting for one is sending, not paused)."""
    times = sorted(times)
    if len(times) < 2:
        return 0.0, 0.0, 0.0
    limit = max(PAUSE_INTERVALS / rate, 0.05, 3 * latency)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    busy = [g for g in gaps if g <= limit]
    achieved = len(busy) / sum(busy) if sum(busy) > 0 else 0.0
    return achieved, sum(gaps) - sum(busy), times[-1] - times[0]


def plot(times: list[float], killed_at: float, rate: float, path: Path) -> None:
    """Cumulative messages over time, the kill marked (needs matplotlib, a dev dependency)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    start = min(times)
    xs = sorted(t - start for t in times)
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=110)
    ax.plot(xs, range(1, len(xs) + 1), label="messages accepted by the fake Twilio API")
    ax.plot([0, len(xs) / rate], [0, len(xs)], "--", color="grey", label=f"target {rate:g}/s")
    ax.axvline(killed_at - start, color="red", linestyle=":", label="worker killed (SIGKILL)")
    ax.set_xlabel("seconds")
    ax.set_ylabel("reminders sent")
    ax.set_title("baken bench reminders")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(
    count: int,
    rate: float,
    database_url: str | None = None,
    plot_to: Path | None = None,
    twilio_latency_s: float = 0.0,
) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="baken-bench-"))
    fake = FakeTwilio(latency=twilio_latency_s).start()
    env = {
        **os.environ,
        "BAKEN_VAR_DIR": str(workdir / "var"),
        "BAKEN_DATABASE_URL": database_url or f"sqlite:///{workdir / 'var' / 'bench.db'}",
        "BAKEN_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "BAKEN_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "BAKEN_TWILIO_SMS_FROM": SMS_FROM,
        "BAKEN_TWILIO_API_BASE": fake.url,
        "BAKEN_TWILIO_MPS": str(rate),
        "BAKEN_SEND_CLAIM_LEASE_SECONDS": "5",
        "BAKEN_RASA_URL": "http://127.0.0.1:9",
        "BAKEN_LOG_LEVEL": "WARNING",
    }
    _seed(prepare_database(env, own_sqlite=database_url is None), count)
    log = workdir / "workers.log"
    deadline = time.monotonic() + count / rate * 3 + 90
    worker = _worker(env, log)
    try:
        while len(fake.created) < count // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(worker.pid, signal.SIGKILL)  # mid-batch, without warning
        killed_at = time.monotonic()
        worker.wait()
        worker = _worker(env, log)
        while len({m["to"] for m in fake.created}) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # let a late duplicate show itself
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        fake.stop()
    shutil.rmtree(workdir, ignore_errors=True)  # kept when the run failed: its workers.log
    per_person = Counter(m["to"] for m in fake.created)
    times = [c.at for c in fake.sent("/Messages.json") if c.method == "POST"]
    if plot_to is not None and times:
        plot(times, killed_at, rate, plot_to)
    achieved, paused, wall = timeline(times, rate, twilio_latency_s)
    return {
        "sent": len(per_person),
        "lost": count - len(per_person),
        "duplicates": sum(n - 1 for n in per_person.values()),
        "achieved_rate": round(achieved, 2),
        "target_rate": rate,
        "pause_s": round(paused, 2),
        "wall_s": round(wall, 2),
        "twilio_latency_ms": round(twilio_latency_s * 1000, 1),
        "twilio_most_in_flight": fake.most_in_flight,  # with a latency: sends that overlapped
    }
