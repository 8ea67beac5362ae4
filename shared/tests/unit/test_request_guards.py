"""Before any route: a body over the limit answers 413 unread (by Content-Length, or counted as a
chunked body arrives), a body within it reaches the route whole; card data in a query parameter
answers 422 naming it, never what it held; so does a path parameter typed ``CardFree``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Path, Request
from fastapi.testclient import TestClient
from starlette.types import Message

from buybutton.inputs import CardFree
from buybutton.request_guards import BodySizeLimit
from buybutton.service import service_app
from buybutton.settings import ServiceSettings

LIMIT = 64 * 1024


def app_with_an_echo() -> FastAPI:
    settings = ServiceSettings(
        environment="test",
        kafka_bootstrap_servers="127.0.0.1:1",
        mongodb_url="mongodb://127.0.0.1:1/",
        http_max_body_bytes=LIMIT,
    )
    app = service_app(settings)

    @app.post("/echo/{name}")
    async def echo(name: Annotated[str, Path(), CardFree], request: Request) -> dict[str, Any]:
        body = await request.body()
        return {"name": name, "bytes": len(body), "query": dict(request.query_params)}

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(app_with_an_echo())


def chunks(total: int, size: int = 8 * 1024) -> Iterator[bytes]:
    for start in range(0, total, size):
        yield b"x" * min(size, total - start)


def test_a_body_within_the_limit_reaches_the_route_whole(client: TestClient) -> None:
    assert client.post("/echo/a", content=b"x" * LIMIT).json()["bytes"] == LIMIT
    assert client.post("/echo/a", content=chunks(LIMIT)).json()["bytes"] == LIMIT
    assert client.post("/echo/a").json()["bytes"] == 0


@pytest.mark.parametrize("how", ["content-length", "chunked"])
def test_a_body_over_the_limit_answers_413(client: TestClient, how: str) -> None:
    body = b"x" * (5 * 1024 * 1024)
    response = client.post("/echo/a", content=body if how == "content-length" else chunks(len(body)))
    assert response.status_code == 413, response.text
    assert response.json() == {"detail": f"the request body is longer than {LIMIT} bytes"}


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit() -> None:
    """Raw ASGI, chunk by chunk: the app never runs, and nothing past the limit is read."""
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append("app")

    pieces = [b"x" * 1024] * 100
    read = 0

    async def receive() -> Message:
        nonlocal read
        read += 1
        return {"type": "http.request", "body": pieces[read - 1], "more_body": read < len(pieces)}

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    await BodySizeLimit(app, max_bytes=10 * 1024)({"type": "http", "headers": []}, receive, send)
    assert reached == [] and read == 11
    assert sent[0]["status"] == 413


CARD_URLS = [
    ("/echo/4242424242424242", ["path", "name"]),
    ("/echo/4242%204242%204242%204242", ["path", "name"]),
    ("/echo/apt-5-4242.4242.4242.4242", ["path", "name"]),
    ("/echo/a?user_id=4242424242424242", ["query", "user_id"]),
    ("/echo/a?note=amex%20378282246310005%201234", ["query", "note"]),
    ("/echo/a?4242424242424242=x", ["query", "<a name>"]),
    ("/nowhere?x=5555555555554444", ["query", "x"]),
]


@pytest.mark.parametrize(("url", "where"), CARD_URLS)
def test_card_data_in_the_url_answers_422_and_is_never_repeated(
    client: TestClient, url: str, where: list[str]
) -> None:
    response = client.post(url, content=b"{}")
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"] == where and "card data is never accepted" in problem["msg"]
    for digits in ("4242", "378282246310005", "5555555555554444"):
        assert digits not in response.text


def test_ordinary_ids_and_queries_pass(client: TestClient) -> None:
    response = client.post("/echo/tweet-0f3a9c?placed=2024-05-17%2014:30&phone=(415)%20555-0132")
    assert response.status_code == 200, response.text
    assert response.json()["query"] == {"placed": "2024-05-17 14:30", "phone": "(415) 555-0132"}
