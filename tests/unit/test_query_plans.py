"""The statements run for every message use indexes: none reads a whole table.

A message goes the whole way (webhook store, claim, read, decide, complete with its reply taken,
send attempt; then a counsellor's message through the outbox claim) on SQLite while every
statement is captured; each is then explained with its own parameters. A full scan here costs
nothing on a test database and a great deal on one with a million messages: the claim queries
and the WhatsApp window check once read every inbound message ever stored, for every message
(docs/performance.md)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from bot.messages import InboundMessage
from bot.services import Services
from bot.storage.repo import store_inbound
from tests.conftest import on_postgresql
from tests.statements import recorded
from tests.unit.test_sender import queue

pytestmark = pytest.mark.skipif(
    on_postgresql(), reason="SQLite's query plans; PostgreSQL plans by table statistics"
)
# A table scan, or an index search on the message direction alone (two values: half the table).
# ("SCAN CONSTANT ROW" is a SELECT of subqueries without a table of its own.)
FULL_SCAN = re.compile(
    r"^SCAN (?!CONSTANT ROW$)(\w+)|^SEARCH (\w+) USING (?:COVERING )?INDEX \w+ \(direction=\?\)$"
)


def test_one_message_end_to_end_scans_no_table(services: Services) -> None:
    engine: Engine = services.sessions.kw["bind"]
    inbound = InboundMessage(
        urn="whatsapp:+31612345678",
        channel="whatsapp",
        channel_message_id="SM0001",
        received_at=datetime.now(UTC),
        text="please help he beats me every night",  # answered without Rasa
        lang="en",
    )
    with recorded(engine) as sent:
        with services.sessions.begin() as db:
            store_inbound(db, services.keys, inbound)
        assert services.pipeline.process_next() is True  # its reply taken and tried at once
        queue(services, "whatsapp", ["Another message"])  # for the outbox loop
        assert services.sender.send_next() is True  # no Twilio here: fails, after the checks
    reads = ("SELECT", "UPDATE", "DELETE")
    seen = [(s, params) for s, params in sent if s.lstrip().upper().startswith(reads)]

    assert any("max(messages.created_at)" in s for s, _ in seen)  # the window check ran
    with engine.connect() as conn:
        plans = [
            (s, [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {s}", params)])
            for s, params in seen
        ]
    scans = [(step, s) for s, plan in plans for step in plan if FULL_SCAN.match(step)]
    assert scans == []

    # Both claims (the pipeline's and the sender's) take only a conversation's first unfinished
    # message. They find those in one search of the unfinished messages by the queue index, not
    # by reading each candidate's conversation, once per queued message.
    claims = [plan for s, plan in plans if "GROUP BY messages.conversation_id" in s]
    assert len(claims) == 2
    for plan in claims:
        assert "SEARCH messages USING INDEX ix_messages_queue (direction=? AND status=?)" in plan
        assert not any("CORRELATED" in step for step in plan), plan
