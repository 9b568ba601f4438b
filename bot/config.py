"""Settings: every value comes from a ``BAKEN_*`` environment variable (or a ``.env`` file).

Secrets follow design.md §6: in the embedded default (SQLite under ``var/``) missing keys are
created once in ``var/keys.json``; with any other database the gateway refuses to start without
``BAKEN_SECRET_KEY`` and ``BAKEN_DATA_KEYS`` from the environment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from functools import cached_property
from pathlib import Path
from typing import Annotated

from cryptography.fernet import Fernet
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BAKEN_", env_file=".env", extra="ignore")

    project_dir: Path = PROJECT_DIR
    var_dir: Path = PROJECT_DIR / "var"
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    # Rasa's SQL tracker store, for erasure (default: the SQLite file `baken up` gives Rasa).
    rasa_tracker_url: str = ""
    actions_url: str = "http://127.0.0.1:5055"
    rasa_venv: Path = PROJECT_DIR / ".venv-rasa"
    model_cache_dir: Path = (
        Path(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))) / "baken" / "models"
    )
    secret_key: str = ""
    data_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    default_lang: str = "en"
    rasa_timeout_seconds: float = 30.0
    chat_wait_seconds: float = 30.0
    worker_poll_seconds: float = 0.5
    # Inbound loops per worker process; each conversation is still handled one message at a time.
    worker_concurrency: int = Field(default=4, ge=1)
    outbox_concurrency: int = Field(default=2, ge=1)
    retry_max_seconds: float = 15.0
    run_worker_in_gateway: bool = True
    # Privacy (issue 7, docs/privacy.md): "delete my data" is carried out this long after the
    # confirmation, once it has been sent; conversations close after this many idle days and
    # are purged after their service's retention period (JSON overrides per service, e.g.
    # {"return": 730}); people who never accepted the notice are purged sooner.
    erase_delay_seconds: float = 10.0
    conversation_idle_days: int = 30
    retention_days: int = 365
    retention_days_by_service: dict[str, int] = Field(default_factory=dict)
    unconsented_retention_days: int = 30
    retention_interval_minutes: float = 60.0
    log_level: str = "INFO"
    # GET /metrics: open when empty, else it needs "Authorization: Bearer <token>".
    metrics_token: str = ""
    # Reminders: hours before an appointment; no reminders in the quiet hours of the person's zone.
    reminder_offsets_hours: list[float] = Field(default_factory=lambda: [24.0, 2.0])
    reminder_quiet_start: str = "21:00"
    reminder_quiet_end: str = "08:00"
    default_timezone: str = "Europe/Amsterdam"
    # Twilio's per-sender pace (messages per second); the sender never exceeds it.
    twilio_mps: float = 10.0
    send_claim_lease_seconds: float = 30.0
    # After this an inbound message claimed by a worker that died is taken over by another.
    inbound_claim_lease_seconds: float = 300.0
    # Channels (issue 3 wires them); a channel without credentials is simply off.
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_whatsapp_from: str = ""
    twilio_sms_from: str = ""
    twilio_messaging_service_sid: str = ""
    twilio_api_base: str = "https://api.twilio.com"
    # Approved WhatsApp templates: {"reply_waiting": {"en": "HX…", "nl": "HX…"}, …} (JSON).
    twilio_templates: dict[str, dict[str, str]] = Field(default_factory=dict)
    telegram_token: str = ""
    telegram_secret_token: str = ""
    telegram_api_base: str = "https://api.telegram.org"
    # Counsellor inbox (issue 5): SLA targets per priority, session and lockout limits.
    sla_urgent_minutes: int = 15
    sla_normal_minutes: int = 240
    inbox_idle_minutes: int = 30
    inbox_session_hours: int = 12
    inbox_max_failed_logins: int = 5
    inbox_lockout_minutes: int = 15
    # Content (issue 4): a reply's review (dialogues/sources.yml) expires after this many days.
    content_review_days: int = 365

    @field_validator("data_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    def model_post_init(self, __context: object) -> None:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'baken.db'}"
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"

    @property
    def is_embedded(self) -> bool:
        """True for the local default: a SQLite file, where local keys may be generated."""
        return self.database_url.startswith("sqlite")

    @property
    def local_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def twilio_on(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def telegram_on(self) -> bool:
        return bool(self.telegram_token)

    @property
    def rasa_tracker_db(self) -> Path:
        return self.var_dir / "rasa" / "tracker.db"

    @property
    def tracker_url(self) -> str:
        return self.rasa_tracker_url or f"sqlite:///{self.rasa_tracker_db}"

    @property
    def keys_file(self) -> Path:
        return self.var_dir / "keys.json"

    def ensure_keys(self) -> bool:
        """Fill missing keys from ``var/keys.json`` (creating it) in the embedded default.

        Returns True when a new key file was written, so the caller can say so.
        """
        if self.secret_key and self.data_keys:
            return False
        if not self.is_embedded:
            raise ConfigError(
                "BAKEN_SECRET_KEY and BAKEN_DATA_KEYS must be set when the database is not the "
                "embedded SQLite default (see the Settings in README.md)."
            )
        created = False
        if not self.keys_file.exists():
            self.keys_file.parent.mkdir(parents=True, exist_ok=True)
            stored = {
                "secret_key": Fernet.generate_key().decode(),
                "data_keys": [Fernet.generate_key().decode()],
            }
            fd = os.open(self.keys_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh)
            created = True
        stored = json.loads(self.keys_file.read_text())
        self.secret_key = self.secret_key or stored["secret_key"]
        self.data_keys = self.data_keys or list(stored["data_keys"])
        return created

    def derive(self, purpose: str) -> bytes:
        """A sub-key of the secret key for one purpose (URN lookup, Rasa ids, internal token)."""
        if not self.secret_key:
            raise ConfigError("secret key not loaded; call ensure_keys() first")
        return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha256).digest()

    @cached_property
    def internal_token(self) -> str:
        """Shared token for the gateway's internal routes (NLG) and Rasa's HTTP API."""
        return self.derive("internal-token").hex()[:40]


def load_settings(**overrides: object) -> Settings:
    settings = Settings(**overrides)  # type: ignore[arg-type]
    settings.ensure_keys()
    return settings
