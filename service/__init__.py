"""The squatsense service: sessions, live cues over WebSocket, summaries, CSV exports.

One asyncio task per session pumps its source (:mod:`ingest`) through a
:class:`processing.SessionProcessor` into the SQLite store and out to the session's
WebSocket clients. The HTTP API is documented in docs/api.md and at ``/docs``.

    squatsense serve --port 8000          # or: service.serve(Settings())
    app = create_app(Settings(data_dir=...))   # an ASGI app, for uvicorn or tests

Layout: one router per resource in :mod:`service._routes`, dependencies as
``Annotated`` aliases in :mod:`service.deps`, one :class:`Settings`, request and
response bodies in :mod:`service._schemas`. Implementation lives in private modules;
the public names are the ones below.

Errors
------
::

    ServiceError                  HTTP status (decided in service._app only)
     ├── Unauthorized             401
     ├── NotFound                 404
     │    ├── SessionNotFound
     │    └── AthleteNotFound
     ├── SessionStateError        409  (already stopped, not a relay session)
     ├── BadSource                422  (.key)
     │    └── ReplayUnreadable    422  (.path)
     ├── TooManySessions          429
     └── StoreError               503  (.path: database newer than the code, ...)
"""

from service._app import HTTP_STATUS, create_app
from service._broadcast import CloseReason
from service._config import (
    ApiToken,
    Settings,
    TokenOrigin,
    default_data_dir,
    resolve_token,
)
from service._errors import (
    AthleteNotFound,
    BadSource,
    NotFound,
    ReplayUnreadable,
    ServiceError,
    SessionNotFound,
    SessionStateError,
    StoreError,
    TooManySessions,
    Unauthorized,
)
from service._live import LIVE_TRANSITIONS, LiveState
from service._manager import reanalyze
from service._schemas import SessionState
from service._server import (
    bind_socket,
    bind_socket_or_free,
    make_server,
    serve,
    wait_started,
)
from service._session import TRANSITIONS
from service._store import MIGRATIONS, Migration, Store, migrate

__all__ = [
    "HTTP_STATUS",
    "LIVE_TRANSITIONS",
    "MIGRATIONS",
    "TRANSITIONS",
    "ApiToken",
    "AthleteNotFound",
    "BadSource",
    "CloseReason",
    "LiveState",
    "Migration",
    "NotFound",
    "ReplayUnreadable",
    "ServiceError",
    "SessionNotFound",
    "SessionState",
    "SessionStateError",
    "Settings",
    "Store",
    "StoreError",
    "TokenOrigin",
    "TooManySessions",
    "Unauthorized",
    "bind_socket",
    "bind_socket_or_free",
    "create_app",
    "default_data_dir",
    "make_server",
    "migrate",
    "reanalyze",
    "resolve_token",
    "serve",
    "wait_started",
]
