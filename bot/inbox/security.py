"""Accounts and sessions: argon2id password hashes, TOTP, server-side sessions, lockout.

The session cookie holds a random token; the database keeps only its SHA-256, so a leaked
database does not leak sessions. Logout, disabling an account or a password reset revoke rows.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.models import InboxSession, InboxUser, Role
from bot.storage.repo import now

HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the username is unknown, so both cases take the same time.
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 12
ROLE_RANK = {Role.COUNSELLOR: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}
TOTP_ISSUER = "Baken inbox"


class PasswordTooWeak(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooWeak(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=TOTP_ISSUER)


def verify_totp(secret: str, code: str) -> bool:
    code = "".join(code.split())
    return code.isdigit() and pyotp.TOTP(secret).verify(code, valid_window=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def has_role(role: str, needed: Role) -> bool:
    return ROLE_RANK.get(Role(role), 0) >= ROLE_RANK[needed]


@dataclass(frozen=True)
class Limits:
    idle: timedelta
    lifetime: timedelta
    max_failures: int
    lockout: timedelta


class LoginResult:
    OK = "ok"
    BAD = "bad"  # wrong username or password (never says which)
    LOCKED = "locked"
    DISABLED = "disabled"


def check_login(
    session: Session, username: str, password: str, limits: Limits
) -> tuple[str, InboxUser | None]:
    """Verify a password, counting failures; the account locks after ``max_failures``."""
    user = session.scalar(select(InboxUser).where(InboxUser.username == username.strip()))
    current = now()
    if user is not None and user.locked_until is not None and user.locked_until > current:
        verify_password(None, password)  # same work as a real check
        return LoginResult.LOCKED, user
    if not verify_password(user.password_hash if user else None, password) or user is None:
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= limits.max_failures:
                user.locked_until = current + limits.lockout
                user.failed_logins = 0
                return LoginResult.LOCKED, user
        return LoginResult.BAD, user
    if user.disabled:
        return LoginResult.DISABLED, user
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = current
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    return LoginResult.OK, user


def start_session(
    session: Session, user: InboxUser, previous: str | None, *, code_checked: bool = False
) -> str:
    """Create a session row with a new random token and CSRF token; returns the cookie token.

    The session the browser held before (``previous``: its cookie, if any) is revoked, so a
    token planted before login is never the logged-in session (session fixation). TOTP users
    start ``mfa_pending`` until ``code_checked``."""
    revoke_token(session, previous)
    token = secrets.token_urlsafe(32)
    session.add(
        InboxSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            mfa_pending=user.totp_secret is not None and not code_checked,
        )
    )
    return token


def revoke_token(session: Session, token: str | None) -> None:
    if token:
        session.execute(
            update(InboxSession)
            .where(InboxSession.token_hash == token_hash(token), InboxSession.revoked_at.is_(None))
            .values(revoked_at=now())
        )


def load_session(
    session: Session, token: str | None, limits: Limits
) -> tuple[InboxSession, InboxUser] | None:
    """The live session for a cookie token, or None (unknown, revoked, idle, expired, disabled)."""
    if not token:
        return None
    row = session.scalar(select(InboxSession).where(InboxSession.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return None
    current = now()
    if row.last_seen_at < current - limits.idle or row.created_at < current - limits.lifetime:
        row.revoked_at = current
        return None
    user = session.get(InboxUser, row.user_id)
    if user is None or user.disabled:
        row.revoked_at = current
        return None
    return row, user


def revoke_sessions(session: Session, user_id: int) -> None:
    session.execute(
        update(InboxSession)
        .where(InboxSession.user_id == user_id, InboxSession.revoked_at.is_(None))
        .values(revoked_at=now())
    )


def same_token(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class Throttle:
    """At most ``limit`` failed logins per client address in ``window`` seconds (this process).

    The per-account lockout (in the database) is the real guard; this slows down trying many
    usernames from one address."""

    def __init__(self, limit: int = 30, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, current: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] < current - self.window:
            failures.popleft()
        return failures

    def blocked(self, client: str) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= self.limit

    def failed(self, client: str) -> None:
        current = time.monotonic()
        with self._lock:
            self._recent(client, current).append(current)
