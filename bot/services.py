"""Wiring: builds the long-lived objects a gateway or worker process needs, once."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import ChannelRegistry
from bot.channels.web import WebChannel
from bot.config import Settings
from bot.engine.nlg import Renderer
from bot.engine.rasa import RasaClient
from bot.pipeline import Pipeline
from bot.privacy import crypto
from bot.sender import Sender
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.repo import ContactKeys


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    renderer: Renderer
    rasa: RasaClient
    keys: ContactKeys
    channels: ChannelRegistry
    pipeline: Pipeline
    sender: Sender
    wake: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        self.rasa.close()
        self.engine.dispose()


def build_services(settings: Settings) -> Services:
    settings.ensure_keys()
    crypto.configure(settings.data_keys)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    renderer = Renderer(
        settings.project_dir / "dialogues" / "domain.yml",
        settings.project_dir / "locales",
        default_lang=settings.default_lang,
    )
    rasa = RasaClient(
        settings.rasa_url, settings.internal_token, timeout=settings.rasa_timeout_seconds
    )
    channels = ChannelRegistry()
    channels.register(WebChannel())
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        renderer=renderer,
        rasa=rasa,
        keys=ContactKeys(settings.derive("urn-lookup"), settings.derive("rasa-sender")),
        channels=channels,
        pipeline=Pipeline(
            sessions,
            renderer,
            rasa,
            default_lang=settings.default_lang,
            retry_max_seconds=settings.retry_max_seconds,
        ),
        sender=Sender(sessions, channels),
    )
