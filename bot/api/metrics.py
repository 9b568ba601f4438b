"""``GET /metrics``: Prometheus text exposition (see bot/metrics.py for what is in it).

Nothing in it is personal (counts, ages and latencies with fixed labels), so it is open by
default, like /healthz; with ``BAKEN_METRICS_TOKEN`` set it needs ``Authorization: Bearer …``,
for a gateway whose port is reachable from outside the operator's network.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from bot import metrics as collected
from bot.api import services
from bot.services import Services

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(
    request: Request,
    svc: Annotated[Services, Depends(services)],
    authorization: Annotated[str, Header()] = "",
) -> Response:
    token = svc.settings.metrics_token
    if token and not hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        raise HTTPException(
            status_code=401, detail="bearer token required", headers={"WWW-Authenticate": "Bearer"}
        )
    body = await run_in_threadpool(collected.render, request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
