"""``baken users``: inbox accounts (add, list, disable, enable, reset)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import ConfigError, Settings
from bot.inbox import security
from bot.privacy import crypto
from bot.storage.db import make_engine, make_sessionmaker, migrate
from bot.storage.models import InboxUser, Role

ROLES = [r.value for r in Role]


@contextmanager
def _database() -> Iterator[Session]:
    try:
        settings = Settings()
        settings.ensure_keys()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    crypto.configure(settings.data_keys)
    migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            yield session
    finally:
        engine.dispose()


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < security.MIN_PASSWORD_LENGTH:
        raise click.ClickException(
            f"The password needs at least {security.MIN_PASSWORD_LENGTH} characters."
        )
    return password


def _user(session: Session, username: str) -> InboxUser:
    user = session.scalar(select(InboxUser).where(InboxUser.username == username))
    if user is None:
        raise click.ClickException(f"No account named {username!r}.")
    return user


def _show_totp(user: InboxUser) -> None:
    assert user.totp_secret is not None
    click.echo("Second factor: add this to an authenticator app (or scan it as a QR code):")
    click.echo(f"  {security.totp_uri(user.totp_secret, user.username)}")


@click.group(name="users")
def users() -> None:
    """Counsellor inbox accounts (roles: counsellor, supervisor, admin)."""


@users.command()
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), default="counsellor", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--totp", is_flag=True, help="Require a TOTP code at login (always for admins).")
def add(username: str, role: str, password_stdin: bool, totp: bool) -> None:
    """Create an account. Admins always get a TOTP second factor."""
    username = username.strip()
    if not username or len(username) > 60 or not username.isprintable() or " " in username:
        raise click.ClickException("A username is 1-60 characters without spaces.")
    password = _read_password(password_stdin)
    with _database() as session:
        if session.scalar(select(InboxUser.id).where(InboxUser.username == username)):
            raise click.ClickException(f"An account named {username!r} exists already.")
        user = InboxUser(
            username=username,
            role=Role(role),
            password_hash=security.hash_password(password),
            totp_secret=security.new_totp_secret() if totp or role == Role.ADMIN else None,
        )
        session.add(user)
        session.flush()
        click.echo(f"Created {role} {username!r}.")
        if user.totp_secret:
            _show_totp(user)


@users.command(name="list")
def list_users() -> None:
    """List accounts."""
    with _database() as session:
        for user in session.scalars(select(InboxUser).order_by(InboxUser.username)):
            state = "disabled" if user.disabled else "active"
            factor = "totp" if user.totp_secret else "password only"
            click.echo(f"{user.username}\t{user.role}\t{state}\t{factor}")


@users.command()
@click.argument("username")
def disable(username: str) -> None:
    """Disable an account and end its sessions at once."""
    with _database() as session:
        user = _user(session, username)
        user.disabled = True
        security.revoke_sessions(session, user.id)
    click.echo(f"Disabled {username!r}; its sessions are ended.")


@users.command()
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled account again."""
    with _database() as session:
        user = _user(session, username)
        user.disabled = False
        user.locked_until = None
        user.failed_logins = 0
    click.echo(f"Enabled {username!r}.")


@users.command()
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
@click.option("--totp", is_flag=True, help="Also issue a new TOTP secret.")
def reset(username: str, password_stdin: bool, totp: bool) -> None:
    """Set a new password, lift a lockout and end the account's sessions."""
    password = _read_password(password_stdin)
    with _database() as session:
        user = _user(session, username)
        user.password_hash = security.hash_password(password)
        user.failed_logins = 0
        user.locked_until = None
        if totp:
            user.totp_secret = security.new_totp_secret()
        security.revoke_sessions(session, user.id)
        click.echo(f"Reset {username!r}; its sessions are ended.")
        if totp:
            _show_totp(user)
