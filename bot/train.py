"""Training the Rasa model only when its inputs changed.

The model is named by a fingerprint of everything that shapes it (pipeline, domain, training data,
the pinned Rasa environment). A model with that name in ``var/models`` or in the user cache
(``~/.cache/baken/models``, shared by clones) is reused; otherwise Rasa trains a new one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bot.config import ConfigError, Settings


def training_inputs(project_dir: Path) -> list[Path]:
    dialogues = project_dir / "dialogues"
    data = sorted((dialogues / "nlu").glob("*.yml"))
    data += [p for p in (dialogues / "rules.yml", dialogues / "stories.yml") if p.exists()]
    return data


def fingerprint(project_dir: Path) -> str:
    digest = hashlib.sha256()
    files = [project_dir / "config.yml", project_dir / "dialogues" / "domain.yml"]
    files += [*training_inputs(project_dir), project_dir / "requirements" / "rasa.lock"]
    for path in files:
        digest.update(str(path.relative_to(project_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def rasa_executable(settings: Settings) -> Path:
    rasa = settings.rasa_venv / "bin" / "rasa"
    if not rasa.exists():
        raise ConfigError(
            f"the Rasa environment is missing ({settings.rasa_venv}); run `make rasa-env`"
        )
    return rasa


def rasa_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        RASA_CACHE_DIRECTORY=str(settings.var_dir / "rasa" / "cache"),
    )
    return env


def model_path(settings: Settings) -> Path:
    return settings.var_dir / "models" / f"baken-{fingerprint(settings.project_dir)}.tar.gz"


def ensure_model(settings: Settings, *, force: bool = False, echo: bool = True) -> Path:
    """Return the model for the current inputs, training it only if no copy exists."""
    target = model_path(settings)
    cached = settings.model_cache_dir / target.name
    if not force and target.exists():
        if echo:
            print(f"Rasa model is up to date: {target.name}")
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if not force and cached.exists():
        shutil.copy2(cached, target)
        if echo:
            print(f"Rasa model reused from cache: {target.name}")
        return target
    rasa = rasa_executable(settings)
    project = settings.project_dir
    if echo:
        print("Training the Rasa model (training data changed); this takes a minute or two...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=target.parent) as out:
        cmd = [
            str(rasa),
            "train",
            "--config",
            str(project / "config.yml"),
            "--domain",
            str(project / "dialogues" / "domain.yml"),
            "--data",
            *[str(p) for p in training_inputs(project)],
            "--out",
            out,
            "--fixed-model-name",
            target.name.removesuffix(".tar.gz"),
        ]
        log_path = settings.var_dir / "log" / "rasa-train.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("w") as log:
            done = subprocess.run(
                cmd,
                cwd=project,
                env=rasa_env(settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        produced = Path(out) / target.name
        if done.returncode != 0 or not produced.exists():
            raise RuntimeError(f"rasa train failed (exit {done.returncode}); see {log_path}")
        shutil.move(str(produced), target)
    settings.model_cache_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target, cached)
    for old in target.parent.glob("baken-*.tar.gz"):
        if old != target:
            old.unlink()
    if echo:
        print(f"Trained {target.name} in {time.monotonic() - started:.0f} s")
    return target
