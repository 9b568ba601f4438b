"""Content metadata: where each reply's facts come from, when a person last checked it, and in
which languages it is translated (``baken content``; docs/content.md).

Reads ``dialogues/domain.yml`` (the replies), ``dialogues/sources.yml`` (sources and review
dates) and the reply catalogs ``locales/<lang>/LC_MESSAGES/replies.po``. No Rasa import.

A reply's review *expires* ``BAKEN_CONTENT_REVIEW_DAYS`` days (default 365) after its
``reviewed`` date; a date in the future is an error too (a typo, or a review not yet done).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from babel.messages.pofile import read_po

from bot.i18n.catalog import DOMAIN
from bot.i18n.check import SOURCE_LANG, source_messages

DEFAULT_REVIEW_DAYS = 365


@dataclass
class ReplyContent:
    name: str
    sources: list[str]
    reviewed: str | None
    age_days: int | None
    languages: list[str]
    missing_languages: list[str]
    note: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def factual(self) -> bool:
        return bool(self.sources)


def _translated_languages(
    project_dir: Path, messages: list[tuple[str, str]]
) -> dict[str, set[str]]:
    """Reply name -> languages in which *every* text of the reply (and its buttons) is
    translated (not missing, empty or fuzzy). English always counts: it is the source."""
    names = {context.removesuffix(":button") for context, _ in messages}
    result: dict[str, set[str]] = {name: {SOURCE_LANG} for name in names}
    for po_path in sorted((project_dir / "locales").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po_path.parent.parent.name
        if lang == SOURCE_LANG:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=lang)
        incomplete: set[str] = set()
        for context, msgid in messages:
            entry = catalog.get(msgid, context=context)
            if entry is None or not entry.string or entry.fuzzy:
                incomplete.add(context.removesuffix(":button"))
        for name in names - incomplete:
            result[name].add(lang)
    return result


def _languages(project_dir: Path) -> list[str]:
    found = {
        p.parent.parent.name for p in (project_dir / "locales").glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    }
    return sorted(found | {SOURCE_LANG})


def report(
    project_dir: Path, review_days: int = DEFAULT_REVIEW_DAYS, today: dt.date | None = None
) -> list[ReplyContent]:
    """One entry per reply in the domain, in domain order, with its problems (if any)."""
    today = today or dt.date.today()
    domain_file = project_dir / "dialogues" / "domain.yml"
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    sources: dict[str, Any] = (
        yaml.safe_load((project_dir / "dialogues" / "sources.yml").read_text(encoding="utf-8"))
        or {}
    )
    translated = _translated_languages(project_dir, source_messages(domain_file))
    all_langs = _languages(project_dir)

    entries: list[ReplyContent] = []
    for name in domain.get("responses") or {}:
        entry = sources.get(name)
        problems: list[str] = []
        urls: list[str] = []
        reviewed: str | None = None
        age: int | None = None
        note: str | None = None
        if not isinstance(entry, dict):
            problems.append("no entry in dialogues/sources.yml")
        else:
            raw_sources = entry.get("sources")
            if not isinstance(raw_sources, list):
                problems.append("sources is not a list")
            else:
                urls = [str(url) for url in raw_sources]
                bad = [u for u in urls if not u.startswith(("http://", "https://"))]
                if bad:
                    problems.append(f"not a URL: {', '.join(bad)}")
            note = entry.get("note")
            reviewed = None if entry.get("reviewed") is None else str(entry.get("reviewed"))
            try:
                date = dt.date.fromisoformat(reviewed or "")
            except ValueError:
                problems.append(f"reviewed is not a date (YYYY-MM-DD): {reviewed!r}")
            else:
                age = (today - date).days
                if age < 0:
                    problems.append(f"reviewed date {reviewed} is in the future")
                elif age > review_days:
                    problems.append(
                        f"review expired: reviewed {reviewed}, {age} days ago "
                        f"(limit {review_days} days, BAKEN_CONTENT_REVIEW_DAYS)"
                    )
        langs = sorted(translated.get(name, {SOURCE_LANG}))
        entries.append(
            ReplyContent(
                name=name,
                sources=urls,
                reviewed=reviewed,
                age_days=age,
                languages=langs,
                missing_languages=[lang for lang in all_langs if lang not in langs],
                note=note,
                problems=problems,
            )
        )
    for name in sorted(set(sources) - set(domain.get("responses") or {})):
        entries.append(
            ReplyContent(
                name=name,
                sources=[],
                reviewed=None,
                age_days=None,
                languages=[],
                missing_languages=[],
                problems=["in dialogues/sources.yml but not a reply in dialogues/domain.yml"],
            )
        )
    return entries


def as_json(entries: list[ReplyContent], review_days: int) -> dict[str, Any]:
    return {
        "review_days": review_days,
        "responses": [asdict(entry) | {"factual": entry.factual} for entry in entries],
        "problems": sum(len(entry.problems) for entry in entries),
    }


def as_text(entries: list[ReplyContent], review_days: int) -> str:
    lines = [f"{len(entries)} replies; a review expires after {review_days} days."]
    for entry in entries:
        age = "-" if entry.age_days is None else f"{entry.age_days} d"
        lines.append(
            f"{entry.name}: reviewed {entry.reviewed or '-'} ({age}); "
            f"languages {','.join(entry.languages) or '-'}"
            + (f" (missing {','.join(entry.missing_languages)})" if entry.missing_languages else "")
        )
        for url in entry.sources:
            lines.append(f"    source {url}")
        if not entry.sources:
            lines.append("    no factual claims (no sources)")
        for problem in entry.problems:
            lines.append(f"    PROBLEM {problem}")
    problems = sum(len(entry.problems) for entry in entries)
    lines.append(f"{problems} problem(s).")
    return "\n".join(lines)
