"""Running the service with uvicorn: bind, serve, announce, and keep tokens out of logs."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import re
import socket
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from service._app import create_app
from service._config import ApiToken, Settings, resolve_token
from service._gc import settle as settle_gc
from service._loop import running_loop_name
from service._manager import SourceFactory
from service._store import Store

_TOKEN_IN_TEXT = re.compile(r"(token=)[^&\s\"']+", re.IGNORECASE)


class RedactTokens(logging.Filter):
    """Replace ``token=...`` (a WebSocket URL's query) in log records with ``token=***``.

    uvicorn logs the path and query of every WebSocket handshake; a client that passes
    the token as ``?token=`` would otherwise have it written to the log.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact, never drop."""
        text = record.getMessage()
        redacted = _TOKEN_IN_TEXT.sub(r"\1***", text)
        if redacted != text:
            record.msg, record.args = redacted, ()
        return True


class DropDenialNoise(logging.Filter):
    """Drop uvicorn's false alarm after a WebSocket handshake answered with an HTTP status.

    uvicorn's sans-I/O WebSocket protocol (0.3x) sends the denial response correctly but
    then logs "ASGI callable returned without completing handshake." at ERROR, because
    it only counts an accepted handshake as complete. Our WebSocket routes always accept
    or deny, so the message carries no information here.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """False for that one message."""
        return record.msg != "ASGI callable returned without completing handshake."


def _install_log_filters() -> None:
    filters: list[logging.Filter] = [RedactTokens(), DropDenialNoise()]
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for target in (logger, *logger.handlers):
            for f in filters:
                if not any(type(g) is type(f) for g in target.filters):
                    target.addFilter(f)


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host`:`port` (0: a free port), ready for uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def bind_socket_or_free(host: str, port: int) -> socket.socket:
    """Like :func:`bind_socket`, falling back to a free port when `port` is taken."""
    try:
        return bind_socket(host, port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        return bind_socket(host, 0)


def make_server(app: FastAPI, *, log_level: str = "info") -> uvicorn.Server:
    """A uvicorn server for `app` (sans-I/O websockets, lifespan on, tokens redacted)."""
    config = uvicorn.Config(
        app,
        ws="websockets-sansio",
        # Live messages are small JSON (an angle frame is ~0.3 kB, 20 a second per
        # client): compressing each cost the server more than 1/4 of its send time
        # and saves no bandwidth worth having on a gym's network.
        ws_per_message_deflate=False,
        lifespan="on",
        log_level=log_level,
        timeout_graceful_shutdown=10,
    )
    server = uvicorn.Server(config)
    _install_log_filters()  # after Config: it (re)configures uvicorn's loggers
    return server


async def wait_started(server: uvicorn.Server, serving: asyncio.Task[None]) -> bool:
    """Wait until `server` accepts connections; False if it stopped first."""
    while not server.started:
        if serving.done():
            return False
        await asyncio.sleep(0.02)
    return True


async def serve(
    settings: Settings,
    *,
    token: ApiToken | None = None,
    announce: Callable[[str], None] = print,
    log_level: str = "info",
    source_factory: SourceFactory | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM stop the live sessions cleanly).

    Announces ``squatsense: serving on http://HOST:PORT`` once requests are accepted.
    `source_factory` as for :func:`create_app` (the benchmark passes one).

    Raises
    ------
    StoreError
        The database cannot be used (checked before serving, for a one-line error).
    OSError
        The address cannot be bound.
    """
    # Open (and migrate) once up front, so a bad database is one clear error.
    await asyncio.to_thread(lambda: Store.open(settings.database_path).close())
    token = token or await asyncio.to_thread(resolve_token, settings)
    sock = bind_socket(settings.host, settings.port)
    host, port = sock.getsockname()[:2]
    app = create_app(settings, token=token, source_factory=source_factory)
    server = make_server(app, log_level=log_level)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        if await wait_started(server, serving):
            # Everything built so far (modules, the app, the database) lives as long as
            # the server: keep it out of the collector, whose full collections would
            # otherwise walk it all and stop the event loop for ~0.1 s; and space them.
            settle_gc()
            shown = f"[{host}]" if ":" in host else host
            announce(
                f"squatsense: serving on http://{shown}:{port} "
                f"(data: {settings.data_dir}; event loop: {running_loop_name()})"
            )
        await serving
    finally:
        if not serving.done():
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        sock.close()
