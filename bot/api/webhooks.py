"""Provider webhooks: authenticity first, then parse, store once, answer at once.

A forged or unsigned request gets 403 and nothing is stored. Processing happens in the worker, so
Twilio's 15-second limit and Telegram's retries never depend on Rasa.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from bot.api import accept, services
from bot.channels.telegram import TelegramChannel
from bot.channels.twilio_common import parse_inbound
from bot.services import Services
from bot.storage.models import Contact, Direction, Message, OutStatus
from bot.urn import InvalidURN

log = logging.getLogger(__name__)
router = APIRouter(prefix="/webhooks", include_in_schema=False)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

# Twilio's MessageStatus values → our outbound lifecycle.
TWILIO_STATUS = {
    "sent": OutStatus.SENT,
    "delivered": OutStatus.DELIVERED,
    "read": OutStatus.READ,
    "failed": OutStatus.FAILED,
    "undelivered": OutStatus.FAILED,
}
WINDOW_CLOSED = "63016"  # Twilio: outside the WhatsApp 24-hour window
STATUS_RANK = {OutStatus.SENT: 1, OutStatus.DELIVERED: 2, OutStatus.READ: 3, OutStatus.FAILED: 4}


async def _signed_twilio_params(request: Request, svc: Services) -> dict[str, str]:
    """All posted fields, after checking X-Twilio-Signature against the public URL."""
    if svc.twilio is None:
        raise HTTPException(status_code=404, detail="Twilio is not configured")
    form = await request.form()
    params = {key: str(value) for key, value in form.multi_items()}
    url = svc.settings.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += f"?{request.url.query}"
    if not svc.twilio.verify(url, params, request.headers.get("X-Twilio-Signature", "")):
        log.warning("webhook signature rejected", extra={"channel": "twilio"})
        raise HTTPException(status_code=403, detail="invalid signature")
    return params


@router.post("/twilio")
async def twilio_inbound(request: Request, svc: Annotated[Services, Depends(services)]) -> Response:
    started = time.perf_counter()
    params = await _signed_twilio_params(request, svc)
    try:
        inbound = parse_inbound(params)
    except (ValueError, InvalidURN) as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    if svc.channels.get(inbound.channel) is None:
        raise HTTPException(status_code=404, detail=f"the {inbound.channel} channel is off")
    await run_in_threadpool(accept, svc, inbound, started)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/status")
async def twilio_status(request: Request, svc: Annotated[Services, Depends(services)]) -> Response:
    params = await _signed_twilio_params(request, svc)
    sid = params.get("MessageSid", "")
    status = TWILIO_STATUS.get(params.get("MessageStatus", ""))
    if sid and status is not None:
        await run_in_threadpool(_update_status, svc, sid, status, params.get("ErrorCode") or None)
    return Response(status_code=204)


def _update_status(svc: Services, sid: str, status: OutStatus, error: str | None) -> None:
    """Move a sent message on (callbacks can arrive out of order: never step back)."""
    with svc.sessions.begin() as session:
        message = session.scalar(
            select(Message).where(
                Message.direction == Direction.OUT, Message.channel_message_id == sid
            )
        )
        if message is None:
            return
        current = STATUS_RANK.get(OutStatus(message.status), 0)
        if STATUS_RANK[status] <= current:
            return
        message.status = status
        if error:
            message.error = error
        if status == OutStatus.FAILED and error == WINDOW_CLOSED and message.channel == "whatsapp":
            _fall_back_to_sms(session, svc, message)
        log.info(
            "delivery status",
            extra={"message_id": message.id, "status": str(status), "code": error},
        )


def _fall_back_to_sms(session: Session, svc: Services, failed: Message) -> None:
    """WhatsApp refused (outside the 24-hour window): send it by SMS if the person agreed."""
    contact = session.get_one(Contact, failed.contact_id)
    if not contact.sms_consent or contact.opted_out_at is not None:
        return
    if svc.channels.get("sms") is None:
        return
    session.add(
        Message(
            direction=Direction.OUT,
            status=OutStatus.QUEUED,
            author=failed.author,
            conversation_id=failed.conversation_id,
            contact_id=failed.contact_id,
            channel="sms",
            text=failed.text,
            buttons=failed.buttons,
            lang=failed.lang,
            topic=failed.topic,
            in_reply_to_id=failed.in_reply_to_id,
            urgent=failed.urgent,
        )
    )
    log.info("whatsapp failed, falling back to sms", extra={"message_id": failed.id})


@router.post("/telegram")
async def telegram_inbound(
    request: Request, svc: Annotated[Services, Depends(services)]
) -> dict[str, bool]:
    started = time.perf_counter()
    channel = svc.channels.get("telegram")
    if not isinstance(channel, TelegramChannel):
        raise HTTPException(status_code=404, detail="Telegram is not configured")
    if not channel.verify(request.headers.get("X-Telegram-Bot-Api-Secret-Token")):
        log.warning("webhook secret rejected", extra={"channel": "telegram"})
        raise HTTPException(status_code=403, detail="invalid secret token")
    try:
        data: Any = json.loads(await request.body())
        if not isinstance(data, dict):
            raise TypeError("an update is a JSON object")
        inbound = channel.parse_inbound(data)
    except Exception as exc:  # any shape PTB cannot read (wrong types, bad dates…) is the sender's
        log.warning("malformed telegram update", extra={"error": type(exc).__name__})
        raise HTTPException(status_code=400, detail="malformed update") from exc
    if inbound is None:
        return {"ok": True}  # an update kind we do not handle (edits, groups, stickers…)
    callback = inbound.raw.get("callback_query_id")
    if callback:
        channel.answer_callback(str(callback))
    await run_in_threadpool(accept, svc, inbound, started)
    return {"ok": True}
