"""Wiring: builds the long-lived objects a gateway or worker process needs, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import ChannelRegistry
from bot.channels.telegram import TelegramChannel
from bot.channels.twilio_common import TwilioAccount
from bot.channels.twilio_sms import TwilioSMS
from bot.channels.twilio_whatsapp import TwilioWhatsApp
from bot.channels.web import WebChannel
from bot.config import Settings
from bot.engine.nlg import Renderer
from bot.engine.rasa import RasaClient
from bot.pipeline import Pipeline
from bot.privacy import crypto
from bot.reminders import ReminderQueue
from bot.sender import Sender
from bot.storage.db import make_engine, make_sessionmaker
from bot.storage.repo import ContactKeys
from bot.wakeup import Wakeups, watch


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
    reminders: ReminderQueue
    twilio: TwilioAccount | None
    wakeups: Wakeups

    def close(self) -> None:
        telegram = self.channels.get("telegram")
        if isinstance(telegram, TelegramChannel):
            telegram.close()
        self.rasa.close()
        self.engine.dispose()


def twilio_account(settings: Settings) -> TwilioAccount | None:
    if not settings.twilio_on:
        return None
    return TwilioAccount(
        settings.twilio_account_sid,
        settings.twilio_auth_token,
        settings.twilio_api_base,
        status_callback=f"{settings.public_url.rstrip('/')}/webhooks/twilio/status",
        mps=settings.twilio_mps,
    )


def build_channels(settings: Settings, account: TwilioAccount | None) -> ChannelRegistry:
    """The web channel always; Twilio and Telegram when their credentials are set."""
    channels = ChannelRegistry()
    channels.register(WebChannel())
    if account is not None:
        if settings.twilio_whatsapp_from:
            channels.register(
                TwilioWhatsApp(account, settings.twilio_whatsapp_from, settings.twilio_templates)
            )
        if settings.twilio_sms_from or settings.twilio_messaging_service_sid:
            channels.register(
                TwilioSMS(account, settings.twilio_sms_from, settings.twilio_messaging_service_sid)
            )
    if settings.telegram_on:
        channels.register(
            TelegramChannel(
                settings.telegram_token, settings.telegram_api_base, settings.telegram_secret_token
            )
        )
    return channels


def build_services(settings: Settings) -> Services:
    settings.ensure_keys()
    crypto.configure(settings.data_keys)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    wakeups = Wakeups()
    watch(sessions, wakeups)
    renderer = Renderer(
        settings.project_dir / "dialogues" / "domain.yml",
        settings.project_dir / "locales",
        default_lang=settings.default_lang,
    )
    rasa = RasaClient(
        settings.rasa_url, settings.internal_token, timeout=settings.rasa_timeout_seconds
    )
    account = twilio_account(settings)
    channels = build_channels(settings, account)
    sender = Sender(
        sessions,
        channels,
        templates=settings.twilio_templates,
        default_lang=settings.default_lang,
        lease=timedelta(seconds=settings.send_claim_lease_seconds),
    )
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
            sender,
            default_lang=settings.default_lang,
            retry_max_seconds=settings.retry_max_seconds,
            lease=timedelta(seconds=settings.inbound_claim_lease_seconds),
        ),
        twilio=account,
        reminders=ReminderQueue(sessions, renderer, default_lang=settings.default_lang),
        sender=sender,
        wakeups=wakeups,
    )
