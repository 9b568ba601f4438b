"""``baken bench model``: the shipped Rasa pipeline against other configurations on the same
training data: training time, parse latency and dev-set accuracy.

Each configuration is trained from scratch and timed, by the same code as ``baken train``, in a
scratch project that links to this one's domain and training data and has only its own
``config.yml``; the shared model cache is neither read nor written. A Rasa server is started
on the model; every dev message is parsed once to warm up and then timed one at a time
(``/model/parse``, NLU only), and scored like ``baken eval`` (safety triage first, then the model).
"""

from __future__ import annotations

import json
import shutil
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.bench import percentile
from bot.config import Settings
from bot.engine.rasa import RasaClient
from bot.evaluate import classify, score
from bot.stack import rasa_server
from bot.train import ensure_model

CONFIGS = Path(__file__).resolve().parent / "configs"
# What a Rasa project needs besides config.yml; linked, never copied or changed.
LINKED = ("dialogues", "requirements", "actions", "endpoints.yml", "credentials.yml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def variants(project_dir: Path) -> dict[str, Path]:
    """The shipped config.yml, Rasa's default and the trimmed candidates in bench/configs."""
    found = {"shipped": project_dir / "config.yml"}
    found.update({path.stem: path for path in sorted(CONFIGS.glob("*.yml"))})
    return found


def scratch_project(project_dir: Path, config: Path, where: Path) -> Path:
    where.mkdir(parents=True)
    for name in LINKED:
        (where / name).symlink_to(project_dir / name)
    shutil.copyfile(config, where / "config.yml")
    return where


def measure(name: str, config: Path, rows: list[dict[str, Any]], workdir: Path) -> dict[str, Any]:
    base = Settings()
    project = scratch_project(base.project_dir, config, workdir / name)
    settings = Settings(
        project_dir=project,
        var_dir=project / "var",
        rasa_venv=base.rasa_venv,
        model_cache_dir=project / "cache",
        rasa_url=f"http://127.0.0.1:{free_port()}",
        actions_url="http://127.0.0.1:9",
        port=9,
    )
    settings.ensure_keys()
    started = time.monotonic()
    model = ensure_model(settings, echo=False)
    train_s = time.monotonic() - started
    server = rasa_server(settings, model)
    server.start()
    rasa = RasaClient(settings.rasa_url, settings.internal_token, timeout=60)
    try:
        server.wait_ready(timeout=600)
        for row in rows:
            rasa.parse(row["text"])  # warm-up: first calls pay for lazy loading
        latencies = []
        for row in rows:
            before = time.perf_counter()
            rasa.parse(row["text"])
            latencies.append((time.perf_counter() - before) * 1000)
        cases = []
        for row in rows:
            predicted, urgent = classify(rasa, row["text"])
            cases.append(
                {
                    "lang": row["lang"],
                    "expected": row["topic"],
                    "predicted": predicted,
                    "urgent": urgent,
                }
            )
    finally:
        rasa.close()
        server.stop()
    report = score(cases)
    return {
        "train_s": round(train_s, 1),
        "model_mb": round(model.stat().st_size / 1e6, 1),
        "parse_p50_ms": round(statistics.median(latencies), 2),
        "parse_p95_ms": round(percentile(latencies, 95), 2),
        "accuracy": round(report["overall"]["accuracy"], 4),
        "by_lang": {lang: round(r["accuracy"], 4) for lang, r in report["by_lang"].items()},
        "urgent_recall": report["urgent"]["recall"],
        "urgent_false_positive_rate": report["urgent"]["false_positive_rate"],
        "errors": [
            f"{c['lang']}:{c['expected']}->{c['predicted']}"
            for c in cases
            if c["expected"] != c["predicted"]
        ],
    }


def run(dev_files: list[Path], names: list[str] | None) -> dict[str, Any]:
    rows = [
        json.loads(line)
        for path in sorted(dev_files)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    available = variants(Settings().project_dir)
    unknown = set(names or []) - set(available)
    if unknown:
        raise ValueError(f"unknown configurations: {sorted(unknown)}; known: {sorted(available)}")
    workdir = Path(tempfile.mkdtemp(prefix="baken-bench-model-"))
    try:
        return {
            name: measure(name, path, rows, workdir)
            for name, path in available.items()
            if not names or name in names
        }
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
