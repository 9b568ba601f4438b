"""Rasa's NLG endpoint (``endpoints.yml: nlg``): Rasa names a response, we render it in the
person's language. Internal: protected by the shared token Rasa sends as ``?token=``.
Rendering is quick and touches no database, so it runs on the event loop, not in a thread."""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query

from bot.api import services
from bot.engine.nlg import UnknownResponse
from bot.services import Services

log = logging.getLogger(__name__)
router = APIRouter()


@router.post("/nlg", include_in_schema=False)
async def nlg(
    svc: Annotated[Services, Depends(services)],
    request: Annotated[dict[str, Any], Body()],
    token: Annotated[str, Query()] = "",
) -> dict[str, Any]:
    if not hmac.compare_digest(token.encode(), svc.settings.internal_token.encode()):
        raise HTTPException(status_code=403)
    name = str(request.get("response") or "")
    tracker = request.get("tracker") or {}
    values = dict(tracker.get("slots") or {})
    values.update(
        {
            k: v
            for k, v in (request.get("arguments") or {}).items()
            if isinstance(v, str | int | float)
        }
    )
    lang = svc.renderer.lang_of(tracker)
    try:
        rendered = svc.renderer.render(name, lang, variation_id=request.get("id"), values=values)
    except UnknownResponse:
        # Visible, not silent: the turn goes on without this one reply.
        log.error("nlg unknown response", extra={"response": name})
        return {"text": None}
    latest = tracker.get("latest_message") or {}
    intent = (latest.get("intent") or {}).get("name")
    if isinstance(intent, str):
        # What Rasa understood travels back with the reply (as custom JSON in its REST answer),
        # with the gateway's id of the turn, so the pipeline needs no tracker read per turn:
        # that read cost Rasa 8-27 ms of a 57-100 ms turn (docs/performance.md).
        rendered["custom"] = {"intent": intent, "turn": (latest.get("metadata") or {}).get("turn")}
    return rendered
