"""``baken eval FILE.jsonl``: how well Baken understands labelled messages (design.md §5).

Each case goes the way a live message goes: safety triage first, then the running Rasa model.
The engine is started for the run if none is reachable.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import click

from bot.config import Settings
from bot.engine.rasa import RasaClient
from bot.safety import triage
from bot.stack import ManagedProcess, rasa_server
from bot.train import ensure_model


def classify(rasa: RasaClient, text: str) -> tuple[str | None, bool]:
    if triage(text).urgent:
        return "urgent_safety", True
    intent = (rasa.parse(text).get("intent") or {}).get("name")
    return intent, intent == "urgent_safety"


def score(cases: list[dict[str, Any]]) -> dict[str, Any]:
    by_lang: dict[str, list[bool]] = defaultdict(list)
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    urgent_hits = urgent_total = false_alarms = others = 0
    for case in cases:
        correct = case["predicted"] == case["expected"]
        by_lang[case["lang"]].append(correct)
        totals[case["expected"]] += 1
        hits[case["expected"]] += correct
        if case["expected"] == "urgent_safety":
            urgent_total += 1
            urgent_hits += case["urgent"]
        else:
            others += 1
            false_alarms += case["urgent"]
    n = len(cases)
    return {
        "overall": {"accuracy": sum(hits.values()) / n if n else 0.0, "n": n},
        "by_lang": {
            lang: {"accuracy": sum(v) / len(v), "n": len(v)} for lang, v in sorted(by_lang.items())
        },
        "by_topic": {t: {"recall": hits[t] / totals[t], "n": totals[t]} for t in sorted(totals)},
        "urgent": {
            "recall": urgent_hits / urgent_total if urgent_total else 0.0,
            "false_positive_rate": false_alarms / others if others else 0.0,
        },
        "cases": cases,
    }


def main(settings: Settings, file: Path, *, as_json: bool) -> None:
    rows = [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line]
    rasa = RasaClient(settings.rasa_url, settings.internal_token, timeout=60)
    started: ManagedProcess | None = None
    if not rasa.ready():
        started = rasa_server(settings, ensure_model(settings, echo=not as_json))
        started.start()
        started.wait_ready(timeout=600)
    try:
        cases = []
        for row in rows:
            predicted, urgent = classify(rasa, row["text"])
            cases.append(
                {
                    "text": row["text"],
                    "lang": row["lang"],
                    "expected": row["topic"],
                    "predicted": predicted,
                    "urgent": urgent,
                }
            )
    finally:
        rasa.close()
        if started:
            started.stop()
    report = score(cases)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    click.echo(f"overall accuracy {report['overall']['accuracy']:.3f} (n={report['overall']['n']})")
    for lang, row in report["by_lang"].items():
        click.echo(f"  {lang}: {row['accuracy']:.3f} (n={row['n']})")
    click.echo("per-topic recall:")
    for topic, row in report["by_topic"].items():
        click.echo(f"  {topic:24} {row['recall']:.3f} (n={row['n']})")
    click.echo(
        f"urgent recall {report['urgent']['recall']:.3f}, "
        f"false-positive rate {report['urgent']['false_positive_rate']:.3f}"
    )
