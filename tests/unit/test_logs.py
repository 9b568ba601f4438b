from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter, configure_logging


def test_only_whitelisted_fields_are_written() -> None:
    record = logging.LogRecord("bot.x", logging.INFO, __file__, 1, "inbound processed", None, None)
    record.message_id = 7
    record.text = "my secret words"  # a field no code should pass, and it is not written
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["event"] == "inbound processed"
    assert entry["message_id"] == 7
    assert "secret" not in line


def test_exception_messages_are_not_written() -> None:
    try:
        raise ValueError("+31612345678 is not valid")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "bot.x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "ValueError" in line
    assert "3161234" not in line


def test_the_twilio_client_does_not_log_its_requests() -> None:
    """twilio-python writes each request's query (``To`` phone numbers) into its INFO lines."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("DEBUG")
        assert not logging.getLogger("twilio.http_client").isEnabledFor(logging.INFO)
        assert logging.getLogger("bot.sender").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
