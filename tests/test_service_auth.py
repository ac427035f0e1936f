"""Authentication: every /api route and both WebSockets refuse a missing or wrong token."""

from __future__ import annotations

import os
import re
import stat

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from pydantic import SecretStr
from service_helpers import AUTH, TOKEN, make_app
from starlette.testclient import WebSocketDenialResponse

from service import Settings, TokenOrigin, create_app, resolve_token
from service._routes import ROUTERS

PARAMS = {"session_id": "0123456789ab", "athlete_id": "1"}
WRONG = [
    {},
    {"Authorization": "Bearer wrong-token"},
    {"Authorization": f"Bearer {TOKEN}x"},
    {"Authorization": f"Basic {TOKEN}"},
    {"Authorization": "Bearer"},
    {"Authorization": b"Bearer t\xe9st"},
]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("auth"))


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


def _routes(kind):
    for router in ROUTERS:
        for route in router.routes:
            if isinstance(route, kind) and route.path.startswith("/api"):
                yield route, route.path.format(**PARAMS)


def _fill(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m.group(1), "1"), path)


def test_every_api_route_refuses_a_missing_or_wrong_token(app, client):
    documented = {
        (method.upper(), _fill(path))
        for path, ops in client.get("/openapi.json").json()["paths"].items()
        if path.startswith("/api")
        for method in ops
    }
    ours = {(m, path) for route, path in _routes(APIRoute) for m in route.methods}
    assert len(ours) == 12 and ours <= documented  # every route is documented
    for method, path in sorted(documented):
        for headers in WRONG:
            r = client.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (method, path, headers, r.text)
            assert r.json()["error"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"


def test_both_websockets_refuse_a_missing_or_wrong_token(app, client):
    paths = [path for _, path in _routes(APIWebSocketRoute)]
    assert {p.rsplit("/", 1)[1] for p in paths} == {"live", "relay"}
    for path in paths:
        for headers in WRONG:
            with pytest.raises(WebSocketDenialResponse) as refused:
                with client.websocket_connect(path, headers=headers):
                    pass
            assert refused.value.status_code == 401
        with pytest.raises(WebSocketDenialResponse) as refused:
            with client.websocket_connect(f"{path}?token=wrong"):
                pass
        assert refused.value.status_code == 401
        # The right token, as a header or as a query parameter, gets past authentication
        # (to the next check: the session does not exist).
        for url, headers in ((path, AUTH), (f"{path}?token={TOKEN}", {})):
            with pytest.raises(WebSocketDenialResponse) as refused:
                with client.websocket_connect(url, headers=headers):
                    pass
            assert refused.value.status_code == 404


def test_the_right_token_is_accepted_and_healthz_needs_none(client):
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/api/sessions", headers=AUTH).status_code == 200
    assert client.get("/openapi.json").status_code == 200


def test_the_openapi_document_declares_bearer_auth(client):
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert all(
        op.get("security")
        for path, ops in doc["paths"].items()
        if path.startswith("/api")
        for op in ops.values()
    )


def test_a_token_is_generated_once_stored_privately_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("SQUATSENSE_TOKEN", raising=False)
    settings = Settings(data_dir=tmp_path / "data")
    first = resolve_token(settings)
    assert first.origin is TokenOrigin.GENERATED and first.path == tmp_path / "data" / "token"
    assert len(first.value.get_secret_value()) >= 40
    assert stat.S_IMODE(os.stat(first.path).st_mode) == 0o600
    again = resolve_token(settings)
    assert again.origin is TokenOrigin.FILE and again.value == first.value
    assert TOKEN not in repr(first) and first.value.get_secret_value() not in repr(first)


def test_the_environment_token_wins_and_nothing_is_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("SQUATSENSE_TOKEN", "from-env")
    monkeypatch.setenv("SQUATSENSE_DATA", str(tmp_path / "d"))
    settings = Settings()
    assert settings.data_dir == tmp_path / "d" and settings.host == "127.0.0.1"
    token = resolve_token(settings)
    assert token.origin is TokenOrigin.ENV and token.value.get_secret_value() == "from-env"
    assert not (tmp_path / "d" / "token").exists()


def test_tokens_are_compared_in_constant_time(tmp_path, monkeypatch):
    import service.deps

    calls = []
    real = service.deps.hmac.compare_digest

    def spy(a, b):
        calls.append((type(a), type(b)))
        return real(a, b)

    monkeypatch.setattr(service.deps.hmac, "compare_digest", spy)
    app = create_app(Settings(data_dir=tmp_path, token=SecretStr(TOKEN)))
    with TestClient(app) as c:
        assert c.get("/api/sessions", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.get("/api/sessions", headers=AUTH).status_code == 200
    assert calls == [(bytes, bytes), (bytes, bytes)]
