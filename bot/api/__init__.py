"""HTTP routes of the gateway."""

from __future__ import annotations

import logging
import time

from fastapi import Request

from bot.messages import InboundMessage
from bot.metrics import WEBHOOK_ACK
from bot.services import Services
from bot.storage.repo import store_inbound

log = logging.getLogger(__name__)


async def services(request: Request) -> Services:
    # async: FastAPI would run a plain function in its thread pool, a hop per request.
    svc: Services = request.app.state.services
    return svc


def accept(svc: Services, inbound: InboundMessage, started: float) -> int:
    """Store an inbound message once (its commit wakes the worker: bot/wakeup.py); the stored
    message's id.

    ``started`` is when the request reached its route: the acknowledgement time is measured
    from there. The log line pairs the request id (from the log context) with the message id,
    which the worker's lines carry, so a message can be followed from webhook to reply.
    """
    with svc.sessions.begin() as session:
        message_id = store_inbound(session, svc.keys, inbound).id
    WEBHOOK_ACK.labels(inbound.channel).observe(time.perf_counter() - started)
    log.info("inbound stored", extra={"message_id": message_id, "channel": inbound.channel})
    return message_id
