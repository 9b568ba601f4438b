"""``baken bench pipeline`` end to end on a few messages: it starts its own stack (two Rasa
servers, the action server, the gateway, a fake Twilio API) and every message is answered
exactly once. Correctness only: the speed it reports is for docs/performance.md, not asserted."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.stack
BENCH = [sys.executable, "-m", "bot.cli", "bench", "pipeline"]
KEYS = {"throughput_ratio", "ack_p99_ms", "e2e_p95_ms", "msgs_per_s", "lost", "duplicate_replies"}


def test_bench_pipeline_answers_every_message_once() -> None:
    # Its own stack and settings: none of the test stack's BAKEN_* variables.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAKEN_")}
    # Rasa on CPUs of its own where there are two: the pinning moves every thread of every part.
    pinned = len(os.sched_getaffinity(0)) >= 2
    done = subprocess.run(
        [
            *BENCH,
            *(["--pin-rasa"] if pinned else []),
            *("--json", "--messages", "24", "--contacts", "6", "--drain", "30"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert set(result) >= KEYS
    assert result["lost"] == 0
    assert result["duplicate_replies"] == 0
    assert result["non_2xx_acks"] == 0
    assert result["msgs_per_s"] > 0
    assert result["bare_msgs_per_s"] > 0
    assert len(result["bare_before_after"]) == 2 and min(result["bare_before_after"]) > 0
    # Rasa's main thread did the turns: it ran, and the shares account for the whole time.
    for thread in (result["rasa_thread"], result["bare_rasa_thread"]):
        assert thread["running"] > 0
        assert abs(sum(thread.values()) - 1) <= 0.02
    if pinned:
        cpus = result["cpus"]
        assert cpus["rasa"] and cpus["others"] and not set(cpus["rasa"]) & set(cpus["others"])
