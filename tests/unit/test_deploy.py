"""deploy/: the compose file, the images and the env example agree with the code.

Docker is not needed: the compose file is read as YAML (and checked with `docker compose config`
where that exists). Every BAKEN_ variable a service is given must be a real setting
(bot/config.py) or one that Rasa's endpoints file reads; every variable the production endpoints
file reads must be given to Rasa.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from bot.config import PROJECT_DIR, Settings

DEPLOY = PROJECT_DIR / "deploy"
BAKEN_SERVICES = ("migrate", "gateway", "worker")  # run the gateway image (`baken …`)
RASA_SERVICES = ("train", "rasa", "actions")
LONG_RUNNING = ("gateway", "worker", "rasa", "actions", "postgres", "redis")
# What the Rasa image's entry point makes from the keys (deploy/rasa-entrypoint.sh).
ENTRYPOINT_MAKES = {"BAKEN_INTERNAL_TOKEN", "BAKEN_RASA_TRACKER_KEYS"}
ENTRYPOINT_TAKES = {"BAKEN_SECRET_KEY", "BAKEN_DATA_KEYS"}
SETTINGS = {f"BAKEN_{name.upper()}" for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yml").read_text())
    return data


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def endpoint_variables(path: Path) -> set[str]:
    return set(re.findall(r"\$\{(BAKEN_\w+)\}", path.read_text()))


def test_the_services_are_all_there(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {*BAKEN_SERVICES, *RASA_SERVICES, "postgres", "redis"}
    for name in LONG_RUNNING:
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
        assert services[name].get("restart") == "unless-stopped", name
    assert "/healthz" in str(services["gateway"]["healthcheck"]["test"])
    assert services["gateway"]["command"] == ["baken", "serve", "--no-worker"]
    assert services["worker"]["command"][:2] == ["baken", "worker"]
    assert {"pgdata", "models"} <= set(compose["volumes"])


def test_start_order(compose: dict[str, Any]) -> None:
    services = compose["services"]

    def after(name: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in services[name]["depends_on"].items()}

    assert after("migrate") == {"postgres": "service_healthy"}
    assert after("gateway")["migrate"] == "service_completed_successfully"
    assert after("worker")["migrate"] == "service_completed_successfully"
    assert after("rasa")["train"] == "service_completed_successfully"


def test_gateway_services_get_only_real_settings(compose: dict[str, Any]) -> None:
    given = set(env_example())
    for name in BAKEN_SERVICES:
        service = compose["services"][name]
        assert service["env_file"] == ".env"
        given |= set(environment(service))
    unknown = {v for v in given if v.startswith("BAKEN_")} - SETTINGS
    assert not unknown, f"not settings in bot/config.py: {sorted(unknown)}"
    # The gateway on PostgreSQL with the worker apart, reaching Rasa by its service name.
    env = environment(compose["services"]["gateway"])
    assert env["BAKEN_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert env["BAKEN_RUN_WORKER_IN_GATEWAY"] == "false"
    assert env["BAKEN_RASA_URL"] == "http://rasa:5005"


def test_rasa_gets_what_its_endpoints_file_reads(compose: dict[str, Any]) -> None:
    rasa = compose["services"]["rasa"]
    mount = "./rasa/endpoints.yml:/app/deploy/rasa/endpoints.yml:ro"
    assert mount in rasa["volumes"]
    assert "--endpoints deploy/rasa/endpoints.yml" in " ".join(rasa["command"])
    given = set(environment(rasa))
    assert given >= ENTRYPOINT_TAKES
    production = DEPLOY / "rasa" / "endpoints.yml"
    if not production.exists():
        pytest.skip("deploy/rasa/endpoints.yml comes with the scaling work (issue 8)")
    needed = endpoint_variables(production)
    missing = needed - given - ENTRYPOINT_MAKES
    assert not missing, f"Rasa is not given {sorted(missing)}"
    extra = {v for v in given - needed - ENTRYPOINT_TAKES if v.startswith("BAKEN_")}
    assert not extra - SETTINGS, f"given to Rasa but read by nothing: {sorted(extra)}"


def test_the_action_server_gets_no_secrets(compose: dict[str, Any]) -> None:
    actions = compose["services"]["actions"]
    assert "env_file" not in actions
    assert not any(k.startswith("BAKEN_") for k in environment(actions))


def test_the_env_example_holds_no_secrets() -> None:
    example = env_example()
    for name, value in example.items():
        if re.search(r"KEY|TOKEN|PASSWORD|SID", name):
            assert value == "", f"{name} must be an empty placeholder"
    # Every variable compose.yml interpolates is listed there for the operator to fill in.
    interpolated = set(re.findall(r"\$\{(\w+)", (DEPLOY / "compose.yml").read_text()))
    assert interpolated <= set(example), sorted(interpolated - set(example))


def test_the_entrypoint_derives_the_internal_token_as_the_gateway_does(tmp_path: Path) -> None:
    secret, data_key = "a-long-random-secret-for-the-test", Fernet.generate_key().decode()
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BAKEN_SECRET_KEY": secret,
        "BAKEN_DATA_KEYS": data_key,
    }
    shown = subprocess.run(
        [str(DEPLOY / "rasa-entrypoint.sh"), "env"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    made = dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)
    assert made["BAKEN_INTERNAL_TOKEN"] == Settings(secret_key=secret).internal_token
    assert made["BAKEN_RASA_TRACKER_KEYS"] == data_key
    assert "BAKEN_SECRET_KEY" not in made
    assert "BAKEN_DATA_KEYS" not in made


@pytest.mark.parametrize("dockerfile", ["gateway.Dockerfile", "rasa.Dockerfile"])
def test_the_images_copy_files_that_exist(dockerfile: str) -> None:
    text = (DEPLOY / dockerfile).read_text()
    for line in re.findall(r"^COPY (.+)$", text, flags=re.MULTILINE):
        *sources, _target = line.split()
        for source in sources:
            assert (PROJECT_DIR / source).exists(), f"{dockerfile}: {source} does not exist"
    base = "python:3.11-slim" if dockerfile.startswith("gateway") else "python:3.10-slim"
    assert f"FROM {base}" in text
    lock = "gateway.lock" if dockerfile.startswith("gateway") else "rasa.lock"
    assert f"-c requirements/{lock}" in text


def test_the_rasa_image_holds_the_reply_catalogs() -> None:
    """The processes of this image read the reply catalogs (actions/catalog.py) from locales/
    beside actions/; without them every translated word fell back to English."""
    copied = re.findall(r"^COPY (\S+) (\S+)$", (DEPLOY / "rasa.Dockerfile").read_text(), re.M)
    assert ("actions", "actions") in copied
    assert ("locales", "locales") in copied


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    """Docker Compose validates the file (the daemon is not needed). `make test` installs Debian's
    docker-compose where no Compose is installed; a bare `pytest` elsewhere skips."""
    if (
        shutil.which("docker")
        and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, check=False
        ).returncode
        == 0
    ):
        command = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        command = ["docker-compose"]
    else:
        pytest.skip("Docker Compose is not installed here")
    # A copy with a filled-in .env beside it (compose needs the env file to exist).
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    shutil.copy(DEPLOY / "compose.yml", deploy / "compose.yml")
    filled = {k: v or "placeholder" for k, v in env_example().items()}
    (deploy / ".env").write_text("".join(f"{k}={v}\n" for k, v in filled.items()))
    done = subprocess.run(
        [*command, "-f", str(deploy / "compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
        cwd=deploy,
    )
    assert done.returncode == 0, done.stderr
