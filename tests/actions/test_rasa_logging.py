"""Rasa's own logs hold no message text: the REST channel's failure and timeout events (which
carry the person's words) are silenced by rasa-logging.yml, configured the way ``rasa run
--logging-config-file`` does it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import structlog
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog

PROJECT = Path(__file__).resolve().parents[2]


def test_the_rest_channel_never_logs_the_message(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging_and_warnings(
        logging.INFO, logging_config_file=str(PROJECT / "rasa-logging.yml")
    )
    configure_structlog(logging.INFO)
    rest = structlog.get_logger("rasa.core.channels.rest")
    rest.error("rest.message.received.failure", text="Amina from Asmara")
    rest.error("rest.message.received.timeout", text="Amina from Asmara")
    structlog.get_logger("rasa.core.processor").error("processor.check", detail="still logged")
    assert "Amina" not in caplog.text
    assert "processor.check" in caplog.text  # the rest of Rasa still logs its errors
