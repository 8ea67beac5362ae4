"""Every service answers its public health check with its own name, from its own app factory."""

from __future__ import annotations

import importlib

import pytest
from fastapi.testclient import TestClient

from buybutton.auth import generate_signing_key
from devstack.components.service import PLATFORM_SERVICES, ServiceSpec
from devstack.testing import offline_service_settings


@pytest.mark.parametrize("spec", PLATFORM_SERVICES, ids=lambda s: s.name)
def test_health_check_names_the_service(spec: ServiceSpec) -> None:
    create_app = importlib.import_module(f"{spec.package}.app").create_app
    settings = offline_service_settings(spec.package)
    client = TestClient(create_app(settings))  # no lifespan: the health check needs nothing else
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"service": spec.name, "status": "ok"}
    assert settings.http_port == spec.port


def test_a_service_that_names_a_problem_answers_503_with_it() -> None:
    spec = PLATFORM_SERVICES[0]
    settings_type = importlib.import_module(f"{spec.package}.config").Settings
    create_app = importlib.import_module(f"{spec.package}.app").create_app
    app = create_app(
        settings_type(
            environment="test",
            kafka_bootstrap_servers="127.0.0.1:1",
            mongodb_url="mongodb://127.0.0.1:1/",
            auth_public_key=generate_signing_key()[1],
        )
    )
    app.state.health_problem = lambda: "the rules processor crashed"
    response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "service": spec.name,
        "status": "failing",
        "problem": "the rules processor crashed",
    }
    app.state.health_problem = lambda: None
    assert TestClient(app).get("/healthz").status_code == 200
