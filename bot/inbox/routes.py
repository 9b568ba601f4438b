"""The ``/inbox`` router (all inbox routes) and its static files; a background loop retries
pending Rasa resumes and escalates conversations past their SLA target."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from bot.inbox import routes_admin, routes_auth, routes_work
from bot.inbox.conversation import escalate_breaches, retry_resumes
from bot.inbox.web import HERE, InboxRoute
from bot.services import Services

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 5.0


def housekeeping(svc: Services) -> None:
    retry_resumes(svc)
    escalate_breaches(svc)


async def _loop(app: FastAPI) -> None:
    while True:
        await asyncio.sleep(HOUSEKEEPING_SECONDS)
        svc: Services | None = getattr(app.state, "services", None)
        if svc is None:
            continue
        try:
            await asyncio.to_thread(housekeeping, svc)
        except Exception:
            log.exception("inbox housekeeping failed")


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    task = asyncio.create_task(_loop(app))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


router = APIRouter(prefix="/inbox", route_class=InboxRoute, lifespan=lifespan)
router.include_router(routes_auth.router)
router.include_router(routes_work.router)
router.include_router(routes_admin.router)

static_app = StaticFiles(directory=HERE / "static")
