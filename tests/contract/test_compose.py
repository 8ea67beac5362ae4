"""docker-compose.yml runs what the repository holds: every service folder has a compose service
with an image of its own, built from the one service Dockerfile with that service's build args,
a health check and its endpoints from the environment; the infrastructure uses the official
images; the Dockerfile installs and runs exactly the service it is given.

The file is read as Compose itself renders it (`docker-compose config`, else `docker compose
config`), so anchors, merges and defaults are resolved exactly as Compose would run them.
"""

from __future__ import annotations

import importlib
import json
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SERVICE_DOCKERFILE = "deploy/docker/service.Dockerfile"
SERVICE_DIRS = sorted(
    p for p in (ROOT / "services").iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
)
OFFICIAL_IMAGES = {
    "kafka": "apache/kafka:3.9.2",
    "mongodb": "mongo:7.0",
    "stripe-mock": "stripe/stripe-mock:v0.203.0",
}
YAML_TO_JSON = "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"


def _compose_command() -> list[str]:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        plugin = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if plugin.returncode == 0:
            return ["docker", "compose"]
    pytest.skip("neither docker-compose nor the docker compose plugin is installed")


def _run(compose: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*compose, "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _yaml_to_data(text: str) -> Any:
    """docker-compose v1 prints YAML only; PyYAML reads it, ours if installed, else the copy
    that docker-compose v1 itself runs on (it is one of its dependencies)."""
    try:
        import yaml

        return yaml.safe_load(text)
    except ModuleNotFoundError:
        pass
    executable = shutil.which("docker-compose")
    shebang = Path(executable).read_bytes().split(b"\n", 1)[0].decode() if executable else ""
    if not (shebang.startswith("#!") and "python" in shebang):
        pytest.skip("docker-compose prints YAML only and no PyYAML is at hand to read it")
    converted = subprocess.run(
        [*shlex.split(shebang[2:]), "-c", YAML_TO_JSON],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert converted.returncode == 0, converted.stderr
    return json.loads(converted.stdout)


@pytest.fixture(scope="module")
def compose() -> list[str]:
    return _compose_command()


@pytest.fixture(scope="module")
def services(compose: list[str]) -> dict[str, Any]:
    # docker-compose v1 has no --format: it prints its usage (exit status 0) and no JSON.
    as_json = _run(compose, "config", "--format", "json")
    if as_json.returncode == 0 and as_json.stdout.lstrip().startswith("{"):
        rendered = json.loads(as_json.stdout)
    else:
        as_yaml = _run(compose, "config")
        assert as_yaml.returncode == 0, as_yaml.stderr
        rendered = _yaml_to_data(as_yaml.stdout)
    result: dict[str, Any] = rendered["services"]
    return result


def _service_facts(service_dir: Path) -> tuple[str, str, int]:
    """(console script, env prefix, HTTP port) as the service's own package declares them."""
    project = tomllib.loads((service_dir / "pyproject.toml").read_text())["project"]
    script = project["name"]
    target = project["scripts"][script]
    settings = importlib.import_module(f"{target.split('.')[0]}.config").Settings
    return script, settings.model_config["env_prefix"], settings.model_fields["http_port"].default


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("#"))
    logical = text.replace("\\\n", " ").splitlines()
    return [
        (parts[0].upper(), parts[1].strip() if len(parts) > 1 else "")
        for parts in (line.strip().split(None, 1) for line in logical if line.strip())
    ]


def test_compose_accepts_the_file(compose: list[str]) -> None:
    result = _run(compose, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_there_are_services_to_check() -> None:
    assert len(SERVICE_DIRS) >= 5, SERVICE_DIRS


@pytest.mark.parametrize("service_dir", SERVICE_DIRS, ids=lambda p: p.name)
def test_each_service_has_its_own_image_built_with_its_own_args(
    services: dict[str, Any], service_dir: Path
) -> None:
    assert service_dir.name in services, f"no compose service named {service_dir.name}"
    service = services[service_dir.name]
    build = service.get("build")
    assert build, f"{service_dir.name} is not built from the repository"
    assert Path(build["context"]).resolve() == ROOT
    assert build["dockerfile"] == SERVICE_DOCKERFILE
    _, prefix, port = _service_facts(service_dir)
    assert build["args"] == {"SERVICE": service_dir.name, "ENV_PREFIX": prefix, "PORT": str(port)}
    assert service["image"] == f"buybutton/{service_dir.name}"


@pytest.mark.parametrize("service_dir", SERVICE_DIRS, ids=lambda p: p.name)
def test_each_service_is_health_checked_on_its_port_and_configured_by_environment(
    services: dict[str, Any], service_dir: Path
) -> None:
    _, _, port = _service_facts(service_dir)
    service = services[service_dir.name]
    check = " ".join(service.get("healthcheck", {}).get("test", []))
    assert f"127.0.0.1:{port}/healthz" in check, f"{service_dir.name} health check: {check!r}"
    environment = service.get("environment", {})
    assert environment.get("KAFKA_BOOTSTRAP_SERVERS") == "kafka:9092"
    assert str(environment.get("MONGODB_URL", "")).startswith("mongodb://mongodb:27017")
    assert environment.get("ENVIRONMENT") == "development"
    assert "AUTH_PUBLIC_KEY" in environment, "tokens cannot be verified without the identity key"
    assert {int(p["target"]) for p in service.get("ports", [])} == {port}
    conditions = {name: dep.get("condition") for name, dep in service.get("depends_on", {}).items()}
    assert conditions.get("kafka") == "service_healthy"
    assert conditions.get("mongodb") == "service_healthy"
    assert conditions.get("topics") == "service_completed_successfully"


def test_checkout_pays_through_stripe_mock(services: dict[str, Any]) -> None:
    checkout = services["checkout-service"]
    assert checkout["environment"].get("STRIPE_API_BASE") == "http://stripe-mock:12111"
    assert checkout["environment"].get("CHECKOUT_STRIPE_API_BASE") == "http://stripe-mock:12111"
    assert str(checkout["environment"].get("CHECKOUT_STRIPE_SECRET_KEY")).startswith("sk_test_")
    assert str(checkout["environment"].get("CHECKOUT_STRIPE_WEBHOOK_SECRET")).startswith("whsec_")
    assert "stripe-mock" in checkout["depends_on"]


def test_infrastructure_uses_the_official_images(services: dict[str, Any]) -> None:
    images = {name: services.get(name, {}).get("image") for name in OFFICIAL_IMAGES}
    assert images == OFFICIAL_IMAGES
    assert "kafka-broker-api-versions.sh" in " ".join(services["kafka"]["healthcheck"]["test"])
    assert "mongosh" in services["mongodb"]["healthcheck"]["test"]


def test_kafka_runs_kraft_and_creates_no_topic_by_itself(services: dict[str, Any]) -> None:
    environment = {k: str(v) for k, v in services["kafka"]["environment"].items()}
    assert environment["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in environment["KAFKA_ADVERTISED_LISTENERS"].split(",")
    assert environment["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert environment["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"


def test_topics_are_provisioned_once_kafka_is_healthy(services: dict[str, Any]) -> None:
    topics = services["topics"]
    assert topics["command"][:2] == ["buybutton-topics", "provision"]
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert topics["environment"]["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"


def test_every_referenced_dockerfile_exists(services: dict[str, Any]) -> None:
    builds = {name: s["build"] for name, s in services.items() if "build" in s}
    assert len(builds) >= len(SERVICE_DIRS)
    missing = {
        name: build["dockerfile"]
        for name, build in builds.items()
        if not (Path(build["context"]) / build.get("dockerfile", "Dockerfile")).is_file()
    }
    assert not missing, f"Dockerfiles that do not exist: {missing}"


def test_the_service_dockerfile_installs_and_runs_only_the_service_it_is_given() -> None:
    instructions = _dockerfile_instructions(ROOT / SERVICE_DOCKERFILE)
    args = {keyword: [arg for k, arg in instructions if k == keyword] for keyword, _ in instructions}
    runs = [" ".join(shlex.split(arg)) for arg in args["RUN"]]
    assert {arg.split()[0] for arg in args["FROM"]} == {"python:3.11-slim"}
    assert sorted(args["ARG"]) == ["ENV_PREFIX", "PORT", "SERVICE"]
    assert any("pip install uv==0.13.9" in run for run in runs)
    install = "--constraints requirements.lock ./shared ./services/${SERVICE}"
    assert any(install in run for run in runs), "installs only shared and the service, pinned by the lock"
    assert any("ln -s /app/.venv/bin/${SERVICE} /app/service" in run for run in runs)
    assert "${ENV_PREFIX}HTTP_HOST=0.0.0.0" in shlex.split(" ".join(args["ENV"]))
    assert args["EXPOSE"] == ["${PORT}"]
    assert args["USER"] and args["USER"][-1].split(":")[0] not in {"root", "0"}
    assert json.loads(args["CMD"][-1]) == ["/app/service"]


@pytest.mark.parametrize("service_dir", SERVICE_DIRS, ids=lambda p: p.name)
def test_each_service_command_is_its_own_console_script(service_dir: Path) -> None:
    script, _, _ = _service_facts(service_dir)
    assert script == service_dir.name, "the image links /app/service to the script named SERVICE"


def test_the_services_that_sign_or_trust_get_their_keys_and_trust(services: dict[str, Any]) -> None:
    """What `eval "$(devstack keys)"` exports reaches the right service under the right name."""
    assert "TWEET_MERCHANT_TOKEN_SIGNING_KEY" in services["tweet-service"]["environment"]
    checkout = services["checkout-service"]["environment"]
    assert "CHECKOUT_SERVICE_SIGNING_KEY" in checkout
    assert "AUTH_TRUSTED_ISSUERS" in checkout
    assert "AUTH_TRUSTED_ISSUERS" in services["vault-service"]["environment"]
    relay = services["merchant-relay"]["environment"]
    assert "RELAY_SERVICE_SIGNING_KEY" in relay and "AUTH_TRUSTED_ISSUERS" in relay
    for other in ("rollout-service", "tweet-service"):
        assert "AUTH_TRUSTED_ISSUERS" not in services[other]["environment"], other
