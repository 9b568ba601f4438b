"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from bot.api import services
from bot.services import Services
from bot.storage.db import ping

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(svc: Annotated[Services, Depends(services)]) -> JSONResponse:
    """200 only when the database and Rasa (with a model loaded) both answer."""
    checks = {"database": ping(svc.engine), "rasa": svc.rasa.ready()}
    return JSONResponse(checks, status_code=200 if all(checks.values()) else 503)
