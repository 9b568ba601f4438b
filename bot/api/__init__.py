"""HTTP routes of the gateway."""

from __future__ import annotations

from fastapi import Request

from bot.services import Services


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc
