"""``baken up``: the whole local stack in one command (what ``make run`` runs).

Starts the gateway, the action server and Rasa, waits until each is ready (showing progress while
Rasa loads), prints the URLs, and supervises: Ctrl-C or SIGTERM stops every child cleanly; a child
that dies stops the rest and says which part failed. Needs no terminal.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType

from bot.config import Settings
from bot.stack import ManagedProcess, StartError, action_server, gateway, rasa_server
from bot.storage.db import migrate
from bot.train import ensure_model


def say(line: str) -> None:
    print(line, flush=True)


def run(settings: Settings) -> int:
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    migrate(settings.database_url)
    model = ensure_model(settings)
    children: list[ManagedProcess] = [
        gateway(settings),
        action_server(settings),
        rasa_server(settings, model),
    ]
    try:
        for child in children:
            child.start()
        say("Starting the gateway, the action server and Rasa (Rasa needs about a minute)...")
        for child in children:
            child.wait_ready(timeout=600, progress=say)
            say(f"  {child.name} is ready")
            if stop.is_set():
                break
    except StartError as exc:
        say(f"FAILED: {exc}")
        for child in children:
            if child.log_path.exists() and not child.alive():
                say(f"--- last lines of {child.log_path} ---\n{child.tail()}")
        _stop_all(children)
        return 1
    if not stop.is_set():
        url = settings.public_url.rstrip("/")
        say("")
        say("Baken is ready.")
        say(f'  Chat API:      POST {url}/api/chat/<session>/messages  {{"text": "hello"}}')
        say("  Terminal chat: .venv/bin/baken chat")
        say(f"  Inbox:         {url}/inbox/  (add an account: .venv/bin/baken users add NAME)")
        say(f"  Health:        {url}/healthz   Readiness: {url}/readyz")
        say("  Stop with Ctrl-C.")
    code = 0
    while not stop.is_set():
        dead = [c for c in children if not c.alive()]
        if dead:
            for child in dead:
                say(f"FAILED: {child.name} stopped unexpectedly; see {child.log_path}")
                say(child.tail())
            code = 1
            break
        stop.wait(1.0)
    say("Stopping...")
    _stop_all(children)
    say("Stopped.")
    return code


def _stop_all(children: list[ManagedProcess]) -> None:
    for child in reversed(children):
        child.stop()


def main(settings: Settings) -> None:
    try:
        code = run(settings)
    except StartError as exc:
        say(f"FAILED: {exc}")
        code = 1
    sys.exit(code)
