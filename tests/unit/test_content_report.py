"""Content metadata (issue 4): every reply has sources and a review date that is neither expired
nor in the future; ``baken content --json`` reports it."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.config import PROJECT_DIR, Settings
from bot.content import report


def _project(tmp_path: Path) -> Path:
    (tmp_path / "dialogues").mkdir()
    for name in ("domain.yml", "sources.yml"):
        shutil.copy(PROJECT_DIR / "dialogues" / name, tmp_path / "dialogues" / name)
    for lang in ("en", "nl"):
        target = tmp_path / "locales" / lang / "LC_MESSAGES"
        target.mkdir(parents=True)
        shutil.copy(PROJECT_DIR / "locales" / lang / "LC_MESSAGES" / "replies.po", target)
    return tmp_path


def _edit_sources(project: Path, name: str, entry: dict[str, object] | None) -> None:
    path = project / "dialogues" / "sources.yml"
    sources = yaml.safe_load(path.read_text(encoding="utf-8"))
    if entry is None:
        del sources[name]
    else:
        sources[name] = entry
    path.write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")


def _problems(project: Path, today: dt.date | None = None) -> dict[str, list[str]]:
    days = Settings().content_review_days
    return {e.name: e.problems for e in report(project, days, today=today) if e.problems}


def test_every_reply_has_current_sources_and_review() -> None:
    """Fails when a reply lacks its sources entry, or its review is expired or in the future."""
    assert _problems(PROJECT_DIR) == {}


def test_factual_replies_name_their_sources() -> None:
    entries = {e.name: e for e in report(PROJECT_DIR)}
    for name in ("utter_return_info", "utter_contact", "utter_urgent_safety", "utter_intake_minor"):
        assert entries[name].sources, name
    assert "en" in entries["utter_return_info"].languages
    assert "nl" in entries["utter_return_info"].languages


def test_missing_sources_entry_is_a_problem(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _edit_sources(project, "utter_return_info", None)
    assert _problems(project) == {"utter_return_info": ["no entry in dialogues/sources.yml"]}


def test_expired_review_is_a_problem(tmp_path: Path) -> None:
    project = _project(tmp_path)
    old = (dt.date.today() - dt.timedelta(days=Settings().content_review_days + 1)).isoformat()
    _edit_sources(project, "utter_contact", {"sources": ["https://example.org"], "reviewed": old})
    [problem] = _problems(project)["utter_contact"]
    assert problem.startswith("review expired")


def test_review_in_the_future_is_a_problem(tmp_path: Path) -> None:
    project = _project(tmp_path)
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    _edit_sources(project, "utter_contact", {"sources": [], "reviewed": tomorrow})
    assert _problems(project) == {"utter_contact": [f"reviewed date {tomorrow} is in the future"]}


def test_review_days_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BAKEN_CONTENT_REVIEW_DAYS", "30")
    assert Settings().content_review_days == 30
    # Everything reviewed today is fine; in 31 days every reply has expired.
    later = dt.date.today() + dt.timedelta(days=31)
    assert len(_problems(PROJECT_DIR, today=later)) == len(report(PROJECT_DIR))


def test_cli_content_json_runs() -> None:
    result = CliRunner().invoke(main, ["content", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["problems"] == 0
    names = {r["name"] for r in data["responses"]}
    assert {"utter_return_info", "utter_clarify", "utter_ask_intake_confirm"} <= names
    entry = next(r for r in data["responses"] if r["name"] == "utter_return_info")
    assert set(entry) >= {"sources", "reviewed", "age_days", "languages", "problems"}
