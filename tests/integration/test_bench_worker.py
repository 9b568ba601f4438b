"""``baken bench worker`` on a few messages: a real worker process against the fake Rasa and the
fake Twilio API answers every message exactly once. Correctness only: the CPU it reports is for
docs/performance.md, not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

BENCH = [sys.executable, "-m", "bot.cli", "bench", "worker", "--json"]


def bench(*args: str) -> dict[str, Any]:
    # A temporary SQLite file and keys of its own: none of the test run's BAKEN_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    done = subprocess.run(
        [*BENCH, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_bench_worker_answers_every_message_once() -> None:
    result = bench("--messages", "60", "--contacts", "12", "--history", "3")
    assert result["lost"] == 0
    assert result["duplicate_replies"] == 0
    assert result["messages"] == 60 and result["history"] == 3
    assert result["worker_cpu_ms_per_msg"] > 0
    assert result["msgs_per_s"] > 0


def test_every_inbound_loop_sends_its_replies() -> None:
    """Against a slow Twilio API, sends from the four inbound loops overlap: replies do not
    queue behind one sender (before 7 Dec 2026 one outbox loop sent them all, one at a time)."""
    slow = bench(
        "--messages", "24", "--contacts", "12", "--history", "1", "--twilio-latency-ms", "300"
    )
    assert (slow["lost"], slow["duplicate_replies"]) == (0, 0)
    assert slow["twilio_most_in_flight"] > 1
