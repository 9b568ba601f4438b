"""The ``baken`` command."""

from __future__ import annotations

import getpass
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import click
import httpx

from bot.config import ConfigError, Settings, load_settings
from bot.inbox.cli import users as inbox_users
from bot.logs import configure_logging


def _settings() -> Settings:
    try:
        settings = Settings()
        if settings.ensure_keys():
            click.echo(
                f"Created local encryption keys in {settings.keys_file} "
                "(keep this file private and back it up: without it the data cannot be read)."
            )
        return settings
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Baken: a messaging counselling assistant for IOM Netherlands."""


@main.command()
def up() -> None:
    """Start everything locally (Rasa, action server, gateway with worker) and wait until ready."""
    from bot import up as up_module

    settings = _settings()
    try:
        up_module.main(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--no-worker", is_flag=True, help="Serve HTTP only; run `baken worker` apart.")
def serve(no_worker: bool) -> None:
    """Run the gateway (webhooks, chat API, NLG endpoint; the worker too unless --no-worker)."""
    import uvicorn

    from bot.app import create_app

    settings = _settings()
    if no_worker:
        settings.run_worker_in_gateway = False
    configure_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
    )


@main.command()
@click.option(
    "--metrics-port",
    type=int,
    default=None,
    help="Serve this worker's latency metrics (Prometheus) on this port at BAKEN_HOST.",
)
def worker(metrics_port: int | None) -> None:
    """Run only the worker loops (process inbound messages, send the outbox)."""
    from bot.services import build_services
    from bot.storage.db import migrate
    from bot.worker import Worker

    settings = _settings()
    configure_logging(settings.log_level)
    migrate(settings.database_url)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from bot.metrics import LOCAL

        start_http_server(metrics_port, addr=settings.host, registry=LOCAL)
    Worker(build_services(settings)).run_forever()


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    from bot.storage.db import migrate as run_migrations

    settings = _settings()
    run_migrations(settings.database_url)
    click.echo("Database schema is up to date.")


@main.command()
@click.option("--force", is_flag=True, help="Train even if a model for these inputs exists.")
def train(force: bool) -> None:
    """Train the Rasa model, only if the training data, domain or pipeline changed."""
    from bot.train import ensure_model

    try:
        ensure_model(_settings(), force=force)
    except (ConfigError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc


@main.command()
@click.option("--url", default=None, help="Gateway URL (default: this machine's BAKEN_PORT).")
@click.option("--session", default=None, help="Chat session id (default: a new one).")
@click.option("--lang", default=None, help="Language to chat in, e.g. nl.")
def chat(url: str | None, session: str | None, lang: str | None) -> None:
    """Chat with the running bot in the terminal (type /quit to leave)."""
    base = (url or load_settings().local_url).rstrip("/")
    session = session or f"term-{uuid.uuid4().hex[:12]}"
    click.echo(f"Chatting as session {session} with {base}. Buttons: type their number.")
    buttons: list[dict[str, str]] = []
    with httpx.Client(base_url=base, timeout=120) as client:
        while True:
            try:
                line = input("you> ").strip()
            except (EOFError, KeyboardInterrupt):
                click.echo("")
                return
            if line in {"/quit", "/exit"}:
                return
            if not line:
                continue
            if line.isdigit() and 0 < int(line) <= len(buttons):
                line = buttons[int(line) - 1]["payload"]
            body: dict[str, str] = {"text": line}
            if lang:
                body["lang"] = lang
                lang = None
            try:
                response = client.post(f"/api/chat/{session}/messages", json=body)
            except httpx.HTTPError as exc:
                click.echo(f"(the gateway at {base} is not reachable: {type(exc).__name__})")
                continue
            if response.status_code >= 400:
                click.echo(f"(error {response.status_code}: {response.text})")
                continue
            data = response.json()
            buttons = []
            for reply in data["replies"]:
                click.echo(f"bot> {reply['text']}")
                for button in reply["buttons"]:
                    buttons.append(button)
                    click.echo(f"     [{len(buttons)}] {button['title']}")
            if data.get("pending"):
                click.echo("(the assistant is busy; your message is kept and will be answered)")
            elif data["handoff"] and not data["replies"]:
                click.echo("(a counsellor has this conversation; the bot stays silent)")


@main.command(name="telegram-webhook")
def telegram_webhook() -> None:
    """Register BAKEN_PUBLIC_URL/webhooks/telegram with Telegram, with the secret token."""
    from bot.channels.telegram import TelegramChannel

    settings = _settings()
    if not (settings.telegram_token and settings.telegram_secret_token):
        raise click.ClickException("set BAKEN_TELEGRAM_TOKEN and BAKEN_TELEGRAM_SECRET_TOKEN first")
    channel = TelegramChannel(
        settings.telegram_token, settings.telegram_api_base, settings.telegram_secret_token
    )
    url = f"{settings.public_url.rstrip('/')}/webhooks/telegram"
    try:
        channel.set_webhook(url)
    finally:
        channel.close()
    click.echo(f"Telegram will deliver updates to {url}")


def _operator() -> str:
    """Who ran an export or erasure, for the audit log: the operating-system account."""
    try:
        return f"cli:{getpass.getuser()}"[:200]
    except (OSError, KeyError):
        return "cli:unknown"


@main.command()
@click.argument("urn")
def export(urn: str) -> None:
    """Print everything held about a person (URN such as web:s1, whatsapp:+316…) as JSON."""
    from bot.inbox.conversation import audit
    from bot.privacy.subject import UnknownPerson
    from bot.privacy.subject import export as export_person
    from bot.services import build_services

    services = build_services(_settings())
    try:
        with services.sessions.begin() as session:
            data = export_person(session, services.keys, urn)
            audit(session, None, "export", None, _operator())
    except (UnknownPerson, ValueError) as exc:
        raise click.ClickException(f"no person with that URN ({type(exc).__name__})") from exc
    finally:
        services.close()
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@main.command()
@click.argument("urn")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(urn: str, yes: bool) -> None:
    """Remove a person everywhere (gateway tables, Rasa's tracker, reminders); keep a tombstone."""
    from bot.inbox.conversation import audit
    from bot.privacy.subject import UnknownPerson
    from bot.privacy.subject import erase as erase_person
    from bot.services import build_services

    if not yes:
        click.confirm("Erase everything about this person? This cannot be undone", abort=True)
    settings = _settings()
    services = build_services(settings)
    try:
        with services.sessions.begin() as session:
            erase_person(session, services.keys, urn, settings.tracker_url, reason="operator")
            audit(session, None, "erase", None, _operator())
    except (UnknownPerson, ValueError) as exc:
        raise click.ClickException(f"no person with that URN ({type(exc).__name__})") from exc
    finally:
        services.close()
    click.echo("Erased. A tombstone without personal data keeps the statistics.")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the records as one JSON object.")
def purge(as_json: bool) -> None:
    """Run retention now: close idle conversations, purge those past their period."""
    from bot.privacy.retention import retention_for
    from bot.services import build_services
    from bot.storage.repo import now

    settings = _settings()
    services = build_services(settings)
    try:
        records = retention_for(settings, services.sessions).run(now())
    finally:
        services.close()
    summary = {
        r.service: {"conversations": r.conversations, "messages": r.messages, "people": r.contacts}
        for r in records
    }
    if as_json:
        click.echo(json.dumps({"purged": summary}))
        return
    for service, counts in summary.items():
        click.echo(f"{service}: {counts['conversations']} conversations purged")
    if not summary:
        click.echo("Nothing is past its retention period.")


@main.group()
def keys() -> None:
    """Encryption keys for personal data (docs/privacy.md)."""


@keys.command(name="rotate")
@click.option("--new-key", is_flag=True, help="First add a new key to var/keys.json (embedded).")
def keys_rotate(new_key: bool) -> None:
    """Re-encrypt every personal field (and Rasa's tracker events) with the newest data key."""
    from cryptography.fernet import Fernet

    from bot.privacy.crypto import DataCipher
    from bot.privacy.rotation import rotate
    from bot.storage.db import make_engine

    settings = _settings()
    if new_key:
        if "BAKEN_DATA_KEYS" in os.environ or not settings.keys_file.exists():
            raise click.ClickException(
                "--new-key only edits var/keys.json; put the new key first in BAKEN_DATA_KEYS"
            )
        stored = json.loads(settings.keys_file.read_text())
        stored["data_keys"].insert(0, Fernet.generate_key().decode())
        settings.keys_file.write_text(json.dumps(stored))
        settings.data_keys = stored["data_keys"]
        click.echo("Added a new data key to var/keys.json (first = used for writing).")
    engine = make_engine(settings.database_url)
    try:
        done = rotate(engine, settings.tracker_url, DataCipher(settings.data_keys))
    finally:
        engine.dispose()
    click.echo(
        f"Re-encrypted {done.fields} fields and {done.tracker_events} tracker events with the "
        "newest key. Restart Baken; older keys can then be removed."
    )


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    """A benchmark's result: one JSON object, or one aligned line per field."""
    if as_json:
        click.echo(json.dumps(result))
        return
    width = max(map(len, result), default=0)
    for key, value in result.items():
        click.echo(f"{key:>{width}}: {value}")


# The benchmarks that send through the fake Twilio API can make it as slow as the real one.
TWILIO_LATENCY = click.option(
    "--twilio-latency-ms",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="How long the fake Twilio API takes to accept each message, as the real one over a WAN.",
)


@main.group()
def bench() -> None:
    """Benchmarks against local fakes (results: docs/performance.md)."""


@bench.command(name="reminders")
@click.option("--count", default=2000, show_default=True, help="Due reminders to send.")
@click.option("--rate", default=100.0, show_default=True, help="Target messages per second.")
@TWILIO_LATENCY
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--plot",
    "plot_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also draw the send timeline to this PNG (needs matplotlib).",
)
def bench_reminders(
    count: int, rate: float, twilio_latency_ms: float, as_json: bool, plot_to: Path | None
) -> None:
    """Send N due reminders with a worker killed halfway; count lost and duplicate messages."""
    import os

    from bot.bench.reminders import run

    database_url = os.environ.get("BAKEN_DATABASE_URL")
    result = run(count, rate, database_url, plot_to, twilio_latency_ms / 1000)
    _print_result(result, as_json)


@bench.command(name="metrics")
@click.option("--messages", default=1_000_000, show_default=True, help="Messages to store first.")
@click.option("--scrapes", default=50, show_default=True, help="Scrapes to time.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_metrics(messages: int, scrapes: int, as_json: bool) -> None:
    """Time the database part of GET /metrics over N stored messages (an empty database in
    BAKEN_DATABASE_URL, else a temporary SQLite file)."""
    import os

    from bot.bench.metrics import run

    result = run(messages, scrapes, os.environ.get("BAKEN_DATABASE_URL"))
    _print_result(result, as_json)


@bench.command(name="worker")
@click.option("--messages", default=2000, show_default=True, help="Messages queued at once.")
@click.option("--contacts", default=100, show_default=True, help="People they come from.")
@click.option(
    "--history",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Answered turns each person already has.",
)
@click.option(
    "--concurrency", default=4, show_default=True, help="BAKEN_WORKER_CONCURRENCY of the worker."
)
@TWILIO_LATENCY
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_worker(
    messages: int,
    contacts: int,
    history: int,
    concurrency: int,
    twilio_latency_ms: float,
    as_json: bool,
) -> None:
    """The worker's CPU per message against a fake Rasa and a fake Twilio API (an empty
    database in BAKEN_DATABASE_URL, else a temporary SQLite file)."""
    from bot.bench.worker import run

    result = run(
        messages=messages,
        contacts=contacts,
        history=history,
        concurrency=concurrency,
        database_url=os.environ.get("BAKEN_DATABASE_URL"),
        twilio_latency_s=twilio_latency_ms / 1000,
    )
    _print_result(result, as_json)


@bench.command(name="pipeline")
@click.option("--messages", default=1000, show_default=True, help="Measured messages per run.")
@click.option("--contacts", default=100, show_default=True, help="People writing at once.")
@click.option("--load", type=float, help="Offered load in messages/s (instead of a factor).")
@click.option(
    "--load-factor", default=2.0, show_default=True, help="Offered load as × bare Rasa's best."
)
@click.option("--sweep", help="Also run at these factors first, e.g. 0.5,1,1.5 (for --plot).")
@click.option("--concurrency", type=int, help="BAKEN_WORKER_CONCURRENCY of the gateway.")
@click.option(
    "--worker-inside",
    is_flag=True,
    help="The worker inside `baken serve` (default: `baken worker` apart, as in deploy/).",
)
@click.option("--mps", default=80.0, show_default=True, help="Twilio pace, messages/s.")
@click.option("--database-url", help="An empty database for the gateway (default: a SQLite file).")
@click.option("--drain", default=60.0, show_default=True, help="Seconds without a new reply.")
@click.option(
    "--pin-rasa",
    is_flag=True,
    help="Rasa on half the CPUs, the rest of the stack on the other half (Linux).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--plot",
    "plot_to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw latency and throughput against offered load to this PNG.",
)
def bench_pipeline(
    messages: int,
    contacts: int,
    load: float | None,
    load_factor: float,
    sweep: str | None,
    concurrency: int | None,
    worker_inside: bool,
    mps: float,
    database_url: str | None,
    drain: float,
    pin_rasa: bool,
    as_json: bool,
    plot_to: Path | None,
) -> None:
    """Signed Twilio webhooks into a real stack against bare Rasa: latency, throughput, loss."""
    from bot.bench.pipeline import run

    if pin_rasa and len(os.sched_getaffinity(0)) < 2:
        raise click.UsageError("--pin-rasa needs at least two CPUs")
    result = run(
        messages=messages,
        contacts=contacts,
        load=load,
        load_factor=load_factor,
        sweep=[float(f) for f in sweep.split(",")] if sweep else None,
        concurrency=concurrency,
        separate_worker=not worker_inside,
        mps=mps,
        drain_s=drain,
        plot_to=plot_to,
        database_url=database_url,
        pin_rasa=pin_rasa,
    )
    _print_result(result, as_json)


@bench.command(name="model")
@click.argument("dev_files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--config",
    "names",
    multiple=True,
    help="Only this configuration (repeatable): shipped, or a file name in bot/bench/configs.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def bench_model(dev_files: tuple[Path, ...], names: tuple[str, ...], as_json: bool) -> None:
    """Compare Rasa pipelines: training time, parse latency, accuracy on dev sets (JSONL)."""
    from bot.bench.model import run

    try:
        result = run(list(dev_files), list(names))
    except (ValueError, ConfigError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(result))
        return
    for name, row in result.items():
        click.echo(f"{name}:")
        for key, value in row.items():
            click.echo(f"  {key:>26}: {value}")


@main.command(name="eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def eval_command(file: Path, as_json: bool) -> None:
    """Classify labelled messages (JSONL: text, lang, topic) and report accuracy."""
    from bot.evaluate import main as run_eval

    try:
        run_eval(_settings(), file, as_json=as_json)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@main.command(name="content")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def content_command(as_json: bool) -> None:
    """Per reply: sources, reviewed date and age, languages translated (exit 1 on problems)."""
    from bot.content import as_json as content_json
    from bot.content import as_text, report

    settings = Settings()
    entries = report(settings.project_dir, settings.content_review_days)
    if as_json:
        click.echo(
            json.dumps(content_json(entries, settings.content_review_days), ensure_ascii=False)
        )
    else:
        click.echo(as_text(entries, settings.content_review_days))
    if any(entry.problems for entry in entries):
        sys.exit(1)


main.add_command(inbox_users)

if __name__ == "__main__":
    sys.exit(main())
