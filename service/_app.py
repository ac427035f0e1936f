"""The FastAPI application: routers, lifespan (store, recovery, shutdown), error answers.

Errors become HTTP answers here, in one place: each :class:`~service.ServiceError`
class has its status in :data:`HTTP_STATUS` (most specific first), and every error
answer, ours or FastAPI's (validation, unknown route), has the same JSON body
(:class:`~service._schemas.ErrorPublic`): ``{"error": name, "detail": one line}``. On a
WebSocket handshake the same answer is sent as the HTTP denial response.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError, WebSocketRequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from service._config import ApiToken, Settings, resolve_token
from service._errors import (
    BadSource,
    NotFound,
    ServiceError,
    SessionStateError,
    StoreError,
    TooManySessions,
    Unauthorized,
)
from service._manager import SessionManager, SourceFactory
from service._metrics import ServiceMetrics
from service._routes import ROUTERS
from service._store import Store
from service.deps import ServiceState
from squatsense import __version__

_log = logging.getLogger("service")

#: HTTP status of each service error, most specific first.
HTTP_STATUS: tuple[tuple[type[ServiceError], int], ...] = (
    (Unauthorized, 401),
    (NotFound, 404),
    (SessionStateError, 409),
    (BadSource, 422),
    (TooManySessions, 429),
    (StoreError, 503),
    (ServiceError, 400),
)

_HTTP_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


def _error(status: int, error: str, detail: str, **extra: str | None) -> JSONResponse:
    body = {"error": error, "detail": detail, **{k: v for k, v in extra.items() if v is not None}}
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


async def _service_error(conn: HTTPConnection, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)  # noqa: S101 - registered for ServiceError only
    status = next(code for cls, code in HTTP_STATUS if isinstance(exc, cls))
    return _error(
        status,
        exc.code,
        exc.detail,
        key=getattr(exc, "key", None),
        state=str(exc.state) if isinstance(exc, SessionStateError) else None,
    )


def _location(loc: tuple[object, ...]) -> str:
    return ".".join(str(part) for part in loc)


async def _validation_error(conn: HTTPConnection, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError | WebSocketRequestValidationError)  # noqa: S101
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    detail = f"{_location(tuple(first.get('loc', ())))}: {first.get('msg', 'invalid')}"
    body = {"error": "invalid_request", "detail": detail, "errors": jsonable_encoder(errors)}
    return JSONResponse(body, status_code=422)


async def _http_error(conn: HTTPConnection, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # noqa: S101
    name = _HTTP_NAMES.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": name, "detail": str(exc.detail)},
        status_code=exc.status_code,
        headers=dict(exc.headers) if exc.headers else None,
    )


def create_app(
    settings: Settings | None = None,
    *,
    token: ApiToken | None = None,
    source_factory: SourceFactory | None = None,
) -> FastAPI:
    """The squatsense service as an ASGI app.

    Parameters
    ----------
    settings : Settings, optional
        Default: from the environment (``SQUATSENSE_*``).
    token : ApiToken, optional
        Default: :func:`resolve_token` on start (generated and stored on first start).
    source_factory : callable, optional
        Source spec → :class:`ingest.SensorSource`; default :func:`ingest.open_source`
        (tests and benchmarks pass their own).

    Returns
    -------
    FastAPI
        Its lifespan opens the database (migrating it), marks sessions a crashed server
        left running as interrupted (recomputing their results), and on shutdown stops
        the live sessions and closes the database.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        api_token = token or await asyncio.to_thread(resolve_token, settings)
        store = await asyncio.to_thread(Store.open, settings.database_path)
        metrics = ServiceMetrics()
        manager = SessionManager(store, settings, metrics, source_factory)
        try:
            await manager.recover()
            await manager.start()
            app.state.squatsense = ServiceState(settings, api_token, store, manager, metrics)
            yield
        finally:
            await manager.shutdown()
            await asyncio.to_thread(store.close)

    app = FastAPI(
        title="squatsense",
        version=__version__,
        summary="A squat coach from cheap Bluetooth IMUs: sessions, live cues, summaries.",
        description="Every `/api` route needs `Authorization: Bearer <token>` (WebSockets: "
        "the same header or `?token=`). Live messages: see docs/api.md.",
        lifespan=lifespan,
    )
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(WebSocketRequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    for router in ROUTERS:
        app.include_router(router)
    # The web pages and the profile list they pick from (issue 6), after the API.
    from service._routes import pages, profiles

    app.include_router(profiles.router)
    app.include_router(pages.router)
    return app
