"""Structured logging: one JSON object per line, made of an event name and ids.

Never pass message text, names or phone numbers to a logger; only the whitelisted ``extra``
fields below are written, so a stray field cannot leak either. Every line written while an HTTP
request is handled carries that request's id (``request_id``, set by ``bot.request_ids``).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

# The id of the HTTP request being handled in this context (None outside a request).
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)

SAFE_FIELDS = (
    "message_id",
    "status",
    "topic",
    "urgent",
    "replies",
    "handoff",
    "reason",
    "retry_in_s",
    "code",
    "error",
    "component",
    "port",
    "path",
    "method",
    "status_code",
    "duration_ms",
    "response",
    "lang",
    "channel",
    "user_id",
    "conversation_id",
    "handoff_id",
    "action",
    "role",
    "attempts",
    "closed",
    "purged",
    "request_id",
    "in_reply_to",
)


class JsonFormatter(logging.Formatter):
    @staticmethod
    def _event(record: logging.LogRecord) -> str:
        if not isinstance(record.msg, str):
            return type(record.msg).__name__
        # Our code logs constant event names. Only the web server's own start/stop lines
        # (host, port, pid) are formatted; any other logger's arguments are left out.
        if record.args and record.name.startswith("uvicorn.error"):
            return record.getMessage()
        return record.msg

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": self._event(record),
        }
        for name in SAFE_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if "request_id" not in entry and (current := request_id.get()) is not None:
            entry["request_id"] = current
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and where it happened; exception messages can hold user data.
            entry["exception"] = record.exc_info[0].__name__
            tb = record.exc_info[2]
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            if tb is not None:
                entry["at"] = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # twilio logs each request's query (phone numbers) at INFO, formatted into the message.
    for noisy in ("httpx", "httpcore", "alembic", "multipart", "twilio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn's own loggers: route them through our formatter; access lines carry only paths.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
