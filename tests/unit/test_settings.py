from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings


def test_defaults_use_sqlite_under_var(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'baken.db'}"
    assert settings.is_embedded


def test_settings_come_from_baken_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAKEN_PORT", "8123")
    monkeypatch.setenv("BAKEN_RASA_URL", "http://rasa.internal:5005")
    monkeypatch.setenv("BAKEN_DATA_KEYS", "k1, k2")
    settings = Settings()
    assert settings.port == 8123
    assert settings.public_url == "http://127.0.0.1:8123"
    assert settings.rasa_url == "http://rasa.internal:5005"
    assert settings.data_keys == ["k1", "k2"]


def test_local_keys_are_created_once_and_private(tmp_path: Path) -> None:
    first = Settings(var_dir=tmp_path)
    assert first.ensure_keys() is True
    assert stat.S_IMODE(first.keys_file.stat().st_mode) == 0o600
    second = Settings(var_dir=tmp_path)
    assert second.ensure_keys() is False
    assert (second.secret_key, second.data_keys) == (first.secret_key, first.data_keys)
    assert json.loads(first.keys_file.read_text())["data_keys"] == first.data_keys


def test_production_database_refuses_to_start_without_keys(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, database_url="postgresql+psycopg://db/baken")
    with pytest.raises(ConfigError, match="BAKEN_SECRET_KEY"):
        settings.ensure_keys()
    assert not settings.keys_file.exists()


def test_derived_keys_differ_by_purpose(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    settings.ensure_keys()
    assert settings.derive("urn-lookup") != settings.derive("rasa-sender")
    assert len(settings.internal_token) == 40
