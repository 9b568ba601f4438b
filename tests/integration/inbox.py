"""Helpers for the inbox tests: accounts made with the real ``baken users`` command against the
stack's database, and logged-in HTTP clients."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pyotp

from .conftest import Stack

BAKEN = str(Path(sys.executable).parent / "baken")
PASSWORD = "a long test passphrase"
CSRF_META = re.compile(r'name="csrf-token" content="([^"]*)"')


def baken_users(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``baken users …`` with the stack's environment (BAKEN_VAR_DIR …)."""
    return subprocess.run(
        [BAKEN, "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )


def add_user(role: str = "counsellor", *, totp: bool = False) -> tuple[str, str | None]:
    """Create an account; returns its username and TOTP secret (if it has one)."""
    username = f"{role[:3]}-{uuid.uuid4().hex[:8]}"
    flags = ["--totp"] if totp else []
    done = baken_users(
        "add", username, "--role", role, "--password-stdin", *flags, stdin=PASSWORD + "\n"
    )
    assert done.returncode == 0, done.stderr
    match = re.search(r"otpauth://\S+", done.stdout)
    secret = pyotp.parse_uri(match.group(0)).secret if match else None
    return username, secret


def client(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.settings.local_url, timeout=60, follow_redirects=False)


def login(stack: Stack, username: str, secret: str | None = None) -> httpx.Client:
    http = client(stack)
    response = http.post("/inbox/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 303, response.text
    if secret is not None:
        assert response.headers["location"] == "/inbox/login/totp"
        page = http.get("/inbox/login/totp")
        token = re.search(r'name="csrf" value="([^"]*)"', page.text)
        assert token is not None
        code = pyotp.TOTP(secret).now()
        response = http.post("/inbox/login/totp", data={"code": code, "csrf": token.group(1)})
        assert response.status_code == 303, response.text
    assert response.headers["location"] == "/inbox/"
    return http


def csrf_of(http: httpx.Client) -> str:
    page = http.get("/inbox/")
    assert page.status_code == 200
    match = CSRF_META.search(page.text)
    assert match is not None
    return match.group(1)


def hand_off(stack: Stack, session: str, latest: str, lang: str = "en") -> None:
    """A person (language chosen) asks for a counsellor through the web chat, then writes
    ``latest``."""
    answer = stack.say(session, "I want to talk to a person", lang=lang)
    assert answer["handoff"] is True
    held = stack.say(session, latest)
    assert held["replies"] == []


def conversation_id(http: httpx.Client, marker: str, view: str = "open") -> int:
    """The conversation whose queue row shows ``marker`` in its latest-message preview."""
    page = http.get("/inbox/queue", params={"view": view})
    assert page.status_code == 200
    for row in page.text.split('<tr class="row')[1:]:
        if marker in row:
            match = re.search(r'data-conversation="(\d+)"', row)
            assert match is not None
            return int(match.group(1))
    raise AssertionError(f"no queue row shows {marker!r}")
