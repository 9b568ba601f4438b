"""``baken eval`` on the public dev sets (tests/data/dev/<lang>.jsonl, none used in training),
through the same path as a live message: safety triage, then the running Rasa model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.topics import TOPICS

from .conftest import Stack

pytestmark = pytest.mark.stack
DEV = Path(__file__).resolve().parent.parent / "data" / "dev"
LANGUAGES = {"en", "nl", "ar", "fa", "fr", "tr", "ru", "so", "ti"}


def test_dev_sets_cover_every_language_and_topic() -> None:
    rows = [
        json.loads(line) for path in DEV.glob("*.jsonl") for line in path.open() if line.strip()
    ]
    assert {r["lang"] for r in rows} == LANGUAGES
    for lang in LANGUAGES:
        mine = [r for r in rows if r["lang"] == lang]
        assert len(mine) >= 25, lang
        assert {r["topic"] for r in mine} <= set(TOPICS)


def test_eval_meets_the_understanding_targets(stack: Stack, tmp_path: Path) -> None:
    dev = tmp_path / "dev.jsonl"
    dev.write_text("".join(path.read_text() for path in sorted(DEV.glob("*.jsonl"))))
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "eval", str(dev), "--json"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert set(report) >= {"overall", "by_lang", "urgent", "cases"}
    assert report["overall"]["n"] == len(report["cases"])
    assert set(report["cases"][0]) >= {"text", "lang", "expected", "predicted", "urgent"}
    for lang, row in report["by_lang"].items():
        assert row["accuracy"] >= 0.90, (lang, row)
    assert report["urgent"]["recall"] == 1.0
    assert report["urgent"]["false_positive_rate"] <= 0.02
