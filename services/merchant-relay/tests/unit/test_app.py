"""merchant-relay answers its health check with its own name."""

from fastapi.testclient import TestClient

from merchant_relay.app import create_app
from merchant_relay.config import Settings


def test_health_check_names_the_service() -> None:
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", mongodb_url="mongodb://127.0.0.1:1/")
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"service": "merchant-relay", "status": "ok"}
