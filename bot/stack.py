"""Starting and stopping the processes of a local stack: the Rasa server, the action server and the
gateway. Used by ``baken up``, ``baken eval`` and the integration tests, so all three start the
stack the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bot.config import Settings
from bot.engine.rasa import RasaClient
from bot.train import rasa_env, rasa_executable


class StartError(RuntimeError):
    """A part of the stack did not come up; the message names it and where its log is."""


def _port(url: str) -> int:
    return urlsplit(url).port or 80


def _http_ok(url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return check


@dataclass
class ManagedProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log_path: Path
    ready: Callable[[], bool]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        # A session of its own: Ctrl-C reaches only the supervisor, which stops us in order.
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, timeout: float, progress: Callable[[str], None] | None = None) -> None:
        started = time.monotonic()
        last_note = started
        while True:
            if not self.alive():
                code = self.process.returncode if self.process else None
                raise StartError(
                    f"{self.name} exited (code {code}) while starting; see {self.log_path}"
                )
            if self.ready():
                return
            now = time.monotonic()
            if now - started > timeout:
                raise StartError(
                    f"{self.name} was not ready after {timeout:.0f} s; see {self.log_path}"
                )
            if progress and now - last_note >= 5:
                progress(f"  waiting for {self.name}... {now - started:.0f} s")
                last_note = now
            time.sleep(0.5)

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def component_env(settings: Settings) -> dict[str, str]:
    """Environment for Rasa and the action server: what endpoints.yml interpolates."""
    env = rasa_env(settings)
    env.update(
        BAKEN_ACTIONS_URL=settings.actions_url.rstrip("/"),
        BAKEN_NLG_URL=f"{settings.local_url}/nlg",
        BAKEN_INTERNAL_TOKEN=settings.internal_token,
        BAKEN_RASA_TRACKER_DB=str(settings.rasa_tracker_db),
        BAKEN_RASA_TRACKER_KEYS=",".join(settings.data_keys),
        # So that Rasa finds actions.tracker_store (the encrypting tracker store).
        PYTHONPATH=os.pathsep.join(
            p for p in (str(settings.project_dir), os.environ.get("PYTHONPATH", "")) if p
        ),
    )
    return env


def action_server(settings: Settings) -> ManagedProcess:
    rasa = rasa_executable(settings)
    return ManagedProcess(
        name="action server",
        argv=[
            str(rasa),
            "run",
            "actions",
            "--actions",
            "actions",
            "--port",
            str(_port(settings.actions_url)),
        ],
        env=component_env(settings),
        cwd=settings.project_dir,
        log_path=settings.var_dir / "log" / "actions.log",
        ready=_http_ok(f"{settings.actions_url.rstrip('/')}/health"),
    )


def rasa_server(
    settings: Settings, model: Path, endpoints: Path | None = None, name: str = "rasa"
) -> ManagedProcess:
    """Rasa with ``endpoints.yml`` (SQLite tracker store, no lock store) unless another endpoints
    file is given, e.g. the production one, ``deploy/rasa/endpoints.yml``; ``name`` names its log
    when several run side by side."""
    rasa = rasa_executable(settings)
    settings.rasa_tracker_db.parent.mkdir(parents=True, exist_ok=True)
    probe = RasaClient(settings.rasa_url, settings.internal_token, timeout=2.0)
    return ManagedProcess(
        name="Rasa server",
        argv=[
            str(rasa),
            "run",
            "--model",
            str(model),
            "--enable-api",
            "--auth-token",
            settings.internal_token,
            "--endpoints",
            str(endpoints or settings.project_dir / "endpoints.yml"),
            "--credentials",
            str(settings.project_dir / "credentials.yml"),
            "--logging-config-file",
            str(settings.project_dir / "rasa-logging.yml"),
            "--interface",
            urlsplit(settings.rasa_url).hostname or "127.0.0.1",
            "--port",
            str(_port(settings.rasa_url)),
        ],
        env=component_env(settings),
        cwd=settings.project_dir,
        log_path=settings.var_dir / "log" / f"{name}.log",
        ready=probe.ready,
    )


def gateway(settings: Settings) -> ManagedProcess:
    env = dict(os.environ)
    env.update(
        BAKEN_HOST=settings.host,
        BAKEN_PORT=str(settings.port),
        BAKEN_VAR_DIR=str(settings.var_dir),
        BAKEN_DATABASE_URL=settings.database_url,
        BAKEN_RASA_URL=settings.rasa_url,
        BAKEN_RUN_WORKER_IN_GATEWAY=str(settings.run_worker_in_gateway).lower(),
    )
    return ManagedProcess(
        name="gateway",
        argv=[sys.executable, "-m", "bot.cli", "serve"],
        env=env,
        cwd=settings.project_dir,
        log_path=settings.var_dir / "log" / "gateway.log",
        ready=_http_ok(f"{settings.local_url}/healthz"),
    )


def worker(settings: Settings, name: str = "worker") -> ManagedProcess:
    """``baken worker`` on its own (next to a gateway started with the worker off)."""
    env = dict(os.environ)
    env.update(
        BAKEN_VAR_DIR=str(settings.var_dir),
        BAKEN_DATABASE_URL=settings.database_url,
        BAKEN_RASA_URL=settings.rasa_url,
    )
    process = ManagedProcess(
        name=name,
        argv=[sys.executable, "-m", "bot.cli", "worker"],
        env=env,
        cwd=settings.project_dir,
        log_path=settings.var_dir / "log" / f"{name}.log",
        ready=lambda: process.alive(),  # it serves no HTTP; alive after its start is enough
    )
    return process
