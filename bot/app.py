"""The gateway: a FastAPI app (webhooks, chat API, NLG endpoint, health) plus, by default, the
worker loops in the same process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from bot import __version__
from bot.api import chat, health, metrics, nlg, webhooks
from bot.config import Settings, load_settings
from bot.headers import SecurityHeaders
from bot.inbox.routes import router as inbox_router
from bot.inbox.routes import static_app as inbox_static
from bot.metrics import DatabaseCollector
from bot.request_ids import RequestIdMiddleware
from bot.services import build_services
from bot.storage.db import migrate
from bot.worker import Worker


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        migrate(settings.database_url)
        services = build_services(settings)
        app.state.services = services
        app.state.metrics = DatabaseCollector(services.sessions)
        worker = Worker(services) if settings.run_worker_in_gateway else None
        if worker:
            worker.start()
        try:
            yield
        finally:
            if worker:
                worker.stop()
            services.close()

    app = FastAPI(title="Baken gateway", version=__version__, lifespan=lifespan)
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(chat.router)
    app.include_router(nlg.router)
    app.include_router(inbox_router)
    app.mount("/inbox/static", inbox_static, name="inbox-static")
    app.include_router(webhooks.router)
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.startswith("https://"))
    return app
