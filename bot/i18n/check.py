"""Catalog coverage: which reply texts each language lacks (missing, empty, fuzzy or with broken
placeholders). ``python -m bot.i18n.check`` prints a report and exits 1 if anything is missing."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.pofile import read_po

from bot.config import PROJECT_DIR
from bot.i18n.catalog import DOMAIN
from bot.i18n.extract import extract_domain

SOURCE_LANG = "en"
_PLACEHOLDER = re.compile(r"\{\w+\}")


@dataclass
class Coverage:
    lang: str
    total: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def translated(self) -> int:
        return self.total - len(self.problems)


def source_messages(domain_file: Path) -> list[tuple[str, str]]:
    with domain_file.open("rb") as fh:
        return [msg for _, _, msg, _ in extract_domain(fh, None, None, None)]


def coverage(project_dir: Path = PROJECT_DIR) -> list[Coverage]:
    messages = source_messages(project_dir / "dialogues" / "domain.yml")
    results = []
    for po_path in sorted((project_dir / "locales").glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        lang = po_path.parent.parent.name
        if lang == SOURCE_LANG:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        result = Coverage(lang=lang, total=len(messages))
        for context, msgid in messages:
            entry = catalog.get(msgid, context=context)
            if entry is None or not entry.string:
                result.problems.append(f"missing: [{context}] {msgid[:50]}")
            elif entry.fuzzy:
                result.problems.append(f"fuzzy: [{context}] {msgid[:50]}")
            elif sorted(_PLACEHOLDER.findall(msgid)) != sorted(
                _PLACEHOLDER.findall(str(entry.string))
            ):
                result.problems.append(f"placeholders differ: [{context}]")
        results.append(result)
    return results


def main() -> int:
    results = coverage()
    for result in results:
        print(f"{result.lang}: {result.translated}/{result.total} translated")
        for problem in result.problems:
            print(f"  {problem}")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
