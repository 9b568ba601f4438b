"""The real stack, once per test session: the trained Rasa model in a real Rasa server, the real
action server and the gateway as its own process (``baken serve``), on free local ports, with a
fresh SQLite database in a temporary folder (or a throwaway PostgreSQL database when the suite runs
on PostgreSQL, ``make test-pg``). Nothing of our own is mocked."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from bot.config import Settings
from bot.fakes.telegram_api import BOT_TOKEN, FakeTelegram
from bot.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio
from bot.privacy import crypto
from bot.stack import ManagedProcess, action_server, gateway, rasa_server
from bot.storage.db import make_engine, make_sessionmaker
from bot.train import ensure_model
from tests.conftest import OUTER_DATABASE_URL, on_postgresql, throwaway_database

TELEGRAM_SECRET = "test-secret-token_123"
WHATSAPP_FROM = "whatsapp:+31970100000"
SMS_FROM = "+31970100001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    settings: Settings
    model: Path
    rasa: ManagedProcess
    actions: ManagedProcess
    gateway: ManagedProcess
    http: httpx.Client
    twilio: FakeTwilio
    telegram: FakeTelegram

    accepted: set[str] = field(default_factory=set)

    def accept(self, session: str, lang: str | None = None) -> None:
        """The person accepts the privacy notice (its "I agree" button), as every chat starts."""
        body = {"text": "consent:yes", **({"lang": lang} if lang else {})}
        response = self.http.post(f"/api/chat/{session}/messages", json=body)
        assert response.status_code == 200, response.text
        self.accepted.add(session)

    def chat(
        self,
        session: str,
        text: str,
        lang: str | None = None,
        wait: float | None = None,
        *,
        consent: bool = True,
    ) -> httpx.Response:
        """Post a message; unless ``consent=False``, a new session first accepts the notice."""
        if consent and session not in self.accepted:
            self.accept(session, lang)
        body: dict[str, str] = {"text": text}
        if lang:
            body["lang"] = lang
        params = {} if wait is None else {"wait": wait}
        return self.http.post(f"/api/chat/{session}/messages", json=body, params=params)

    def say(self, session: str, text: str, lang: str | None = None) -> dict[str, object]:
        response = self.chat(session, text, lang)
        assert response.status_code == 200, response.text
        data: dict[str, object] = response.json()
        return data

    def stop_rasa(self) -> None:
        self.rasa.stop()

    def start_rasa(self) -> None:
        self.rasa.start()
        self.rasa.wait_ready(timeout=600)

    def sessions(self):  # type: ignore[no-untyped-def]
        crypto.configure(self.settings.data_keys)
        return make_sessionmaker(make_engine(self.settings.database_url))


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("stack") / "var"
    port = free_port()
    twilio = FakeTwilio().start()
    telegram = FakeTelegram().start()
    env = {
        "BAKEN_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "BAKEN_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "BAKEN_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "BAKEN_TWILIO_WHATSAPP_FROM": WHATSAPP_FROM,
        "BAKEN_TWILIO_SMS_FROM": SMS_FROM,
        "BAKEN_TWILIO_API_BASE": twilio.url,
        "BAKEN_TWILIO_TEMPLATES": '{"reply_waiting": {"en": "HX' + "0" * 32 + '"}}',
        "BAKEN_TELEGRAM_TOKEN": BOT_TOKEN,
        "BAKEN_TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "BAKEN_TELEGRAM_API_BASE": telegram.url,
        "BAKEN_VAR_DIR": str(var_dir),
        "BAKEN_PORT": str(port),
        "BAKEN_RASA_URL": f"http://127.0.0.1:{free_port()}",
        "BAKEN_ACTIONS_URL": f"http://127.0.0.1:{free_port()}",
        "BAKEN_CHAT_WAIT_SECONDS": "60",
        "BAKEN_RETRY_MAX_SECONDS": "2",
        "BAKEN_ERASE_DELAY_SECONDS": "2",
        "BAKEN_LOG_LEVEL": "DEBUG",
    }
    cleanup = ExitStack()
    if on_postgresql():
        env["BAKEN_DATABASE_URL"] = cleanup.enter_context(throwaway_database(OUTER_DATABASE_URL))
        env["BAKEN_SECRET_KEY"] = Fernet.generate_key().decode()
        env["BAKEN_DATA_KEYS"] = Fernet.generate_key().decode()
    saved = {k: os.environ.get(k) for k in env}
    for name in ("BAKEN_DATABASE_URL", "BAKEN_SECRET_KEY", "BAKEN_DATA_KEYS"):
        saved.setdefault(name, os.environ.pop(name, None))
    os.environ.update(env)
    settings = Settings()
    settings.ensure_keys()
    model = ensure_model(settings, echo=False)
    parts = [gateway(settings), action_server(settings), rasa_server(settings, model)]
    try:
        for part in parts:
            part.start()
        for part in parts:
            part.wait_ready(timeout=600)
        with httpx.Client(base_url=settings.local_url, timeout=120) as http:
            yield Stack(settings, model, parts[2], parts[1], parts[0], http, twilio, telegram)
    finally:
        for part in parts:
            part.stop()
        twilio.stop()
        telegram.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        cleanup.close()


@pytest.fixture
def session_id() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"
