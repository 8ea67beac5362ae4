"""rollout-service answers its health check with its own name."""

from fastapi.testclient import TestClient

from rollout_service.app import create_app
from rollout_service.config import Settings


def test_health_check_names_the_service() -> None:
    settings = Settings(kafka_bootstrap_servers="127.0.0.1:1", mongodb_url="mongodb://127.0.0.1:1/")
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"service": "rollout-service", "status": "ok"}
