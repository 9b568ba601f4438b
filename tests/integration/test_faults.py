"""Several processes on PostgreSQL, and faults: every WhatsApp message is answered exactly once,
in order per conversation, whatever dies or fails under load.

One cluster for the module (tests/integration/cluster.py): a private PostgreSQL and Redis, two
Rasa servers with the production endpoints (tracker store on PostgreSQL, lock store on Redis), a
gateway without worker, two ``baken worker`` processes (one per Rasa server), the action server and
the fake Twilio API. Each test writes new conversations; the contacts first accept the privacy
notice, and only the questions after that are measured. "Lost": a measured message without a
reply accepted by the fake Twilio; "duplicate": a reply accepted twice, or a turn answered twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.models import OutStatus

from .cluster import Cluster, Report, start_cluster

pytestmark = [pytest.mark.stack, pytest.mark.processes]

CONVERSATIONS = 10  # per fault test; the test without faults writes twice as many
ROUNDS = 4


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from start_cluster(tmp_path_factory.mktemp("cluster"))


def processed_by(log: Path) -> int:
    """Inbound messages a worker process completed, from its JSON log."""
    return log.read_text(errors="replace").count('"inbound processed"')


def clean(sids: list[str]) -> Report:
    return Report(measured=len(sids))


def test_two_workers_and_two_rasa_servers_answer_each_message_once_in_order(
    cluster: Cluster,
) -> None:
    phones = cluster.new_phones(2 * CONVERSATIONS)
    cluster.accept_privacy(phones)
    sids = cluster.load(phones, range(ROUNDS))
    cluster.wait_settled(sids)
    assert cluster.report(sids) == clean(sids)
    logs = [w.log_path for w in cluster.workers]
    assert all(processed_by(log) > 0 for log in logs), "both workers (and Rasa servers) worked"
    for log in logs[0].parent.glob("*.log"):  # no phone number in any log of any process
        assert "+3162" not in log.read_text(errors="replace"), log.name


def test_idle_workers_hear_of_a_new_message_at_once(cluster: Cluster) -> None:
    """Workers apart from the gateway learn of a stored message from PostgreSQL (LISTEN/NOTIFY,
    bot/wakeup.py), not at their next poll: with the poll at ten minutes, the idle workers still
    answer within seconds."""
    for process in cluster.workers:
        process.stop()
        process.env["BAKEN_WORKER_POLL_SECONDS"] = "600"
        cluster.restart(process)
    try:
        phones = cluster.new_phones(1)
        cluster.accept_privacy(phones, timeout=30)
        sids = cluster.load(phones, range(1))
        cluster.wait_replied(sids, 1, timeout=30)
    finally:
        for process in cluster.workers:
            process.stop()
            del process.env["BAKEN_WORKER_POLL_SECONDS"]
            cluster.restart(process)


def test_rasa_killed_mid_load_and_restarted(cluster: Cluster) -> None:
    phones = cluster.new_phones(CONVERSATIONS)
    cluster.accept_privacy(phones)
    sids = cluster.load(phones, range(ROUNDS // 2))
    cluster.wait_replied(sids, len(sids) // 3)
    cluster.kill(cluster.rasa[0])  # its worker's turns fail and wait; the other worker goes on
    sids += cluster.load(phones, range(ROUNDS // 2, ROUNDS))
    cluster.restart(cluster.rasa[0])
    cluster.wait_settled(sids)
    assert cluster.report(sids) == clean(sids)


def test_twilio_failing_30_percent_of_sends(cluster: Cluster) -> None:
    phones = cluster.new_phones(CONVERSATIONS)
    cluster.accept_privacy(phones)
    refused_before = len([c for c in cluster.twilio.calls if c.status >= 400])
    cluster.twilio.failure_rate = 0.3
    try:
        sids = cluster.load(phones, range(ROUNDS))
        cluster.wait_settled(sids)
    finally:
        cluster.twilio.failure_rate = 0.0
    assert cluster.report(sids) == clean(sids)
    refused = len([c for c in cluster.twilio.calls if c.status >= 400]) - refused_before
    assert refused >= 5, "the fake Twilio really refused sends"
    retried = [m for m in cluster.rows() if m.status == OutStatus.SENT and m.attempts > 1]
    assert retried, "refused sends were retried"


def test_gateway_holding_the_worker_killed_mid_load(cluster: Cluster) -> None:
    """The workers are stopped: the only worker runs inside a second gateway, which is killed
    with SIGKILL while it holds claims; a new one takes over what it left."""
    for process in cluster.workers:
        process.stop()
    second, second_url = cluster.gateway_with_worker()
    cluster.restart(second)
    cluster.gateways.append(second_url)
    try:
        phones = cluster.new_phones(CONVERSATIONS)
        cluster.accept_privacy(phones)
        sids = cluster.load(phones, range(ROUNDS // 2))
        cluster.wait_replied(sids, len(sids) // 3)
        cluster.wait_for_claims()
        cluster.kill(second)  # mid-turn or mid-send, without warning
        sids += cluster.load(phones, range(ROUNDS // 2, ROUNDS))  # the first gateway takes them
        cluster.restart(second)
        cluster.wait_settled(sids)
        assert cluster.report(sids) == clean(sids)
    finally:
        cluster.gateways.remove(second_url)
        second.stop()
        for process in cluster.workers:
            cluster.restart(process)


def test_postgresql_restarted_mid_load(cluster: Cluster) -> None:
    phones = cluster.new_phones(CONVERSATIONS)
    cluster.accept_privacy(phones)
    sids = cluster.load(phones, range(ROUNDS // 2))
    cluster.wait_replied(sids, len(sids) // 3)
    cluster.postgres.restart()  # every connection of every process is cut
    sids += cluster.load(phones, range(ROUNDS // 2, ROUNDS))
    cluster.wait_settled(sids)
    assert cluster.report(sids) == clean(sids)
