"""FastAPI dependencies, as ``Annotated`` aliases for route signatures.

Access checks live here, not in the routes: every ``/api`` router depends on
:func:`require_token` (HTTP) or :func:`require_ws_token` (WebSocket), and routes that
name a session take a :data:`SessionDep`, which answers 404 for an unknown one. The
token is compared in constant time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection
from starlette.websockets import WebSocket

from service._config import ApiToken, Settings
from service._errors import SessionNotFound, Unauthorized
from service._manager import SessionManager
from service._metrics import ServiceMetrics
from service._session import LiveSession
from service._store import SessionRow, Store


@dataclass(frozen=True)
class ServiceState:
    """What the running service is made of (``app.state.squatsense``)."""

    settings: Settings
    token: ApiToken
    store: Store
    manager: SessionManager
    metrics: ServiceMetrics


def get_state(conn: HTTPConnection) -> ServiceState:
    """The service state of the app serving this request."""
    state: ServiceState = conn.app.state.squatsense
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


def get_settings(state: StateDep) -> Settings:
    """The settings."""
    return state.settings


def get_store(state: StateDep) -> Store:
    """The database."""
    return state.store


def get_manager(state: StateDep) -> SessionManager:
    """The session manager."""
    return state.manager


def get_metrics(state: StateDep) -> ServiceMetrics:
    """The live-path metrics."""
    return state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
ManagerDep = Annotated[SessionManager, Depends(get_manager)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]

_bearer = HTTPBearer(
    auto_error=False,
    description="The API token: SQUATSENSE_TOKEN, or the one generated on first start "
    "and stored in the data directory (file `token`).",
)


def _check(given: str | None, token: ApiToken) -> None:
    if not given:
        raise Unauthorized("missing API token: send 'Authorization: Bearer <token>'")
    expected = token.value.get_secret_value().encode()
    if not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
        raise Unauthorized("wrong API token")


def require_token(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """HTTP: ``Authorization: Bearer <token>``, else 401."""
    _check(credentials.credentials if credentials is not None else None, state.token)


def require_ws_token(websocket: WebSocket, state: StateDep) -> None:
    """WebSocket: the token as ``Authorization: Bearer`` or ``?token=``, else refused (401)."""
    given = None
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        given = value.strip()
    if given is None:
        given = websocket.query_params.get("token")
    _check(given, state.token)


Authorized = Depends(require_token)
WsAuthorized = Depends(require_ws_token)


@dataclass(frozen=True)
class SessionRef:
    """A session that exists: live (in memory) or ended (a stored row).

    Attributes
    ----------
    id : str
    live : LiveSession or None
        The running session (None once it has ended).
    row : SessionRow or None
        The stored row, read only when the session is not live.
    """

    id: str
    live: LiveSession | None
    row: SessionRow | None


SessionId = Annotated[str, Path(min_length=1, max_length=64, description="The session id.")]


async def get_session_ref(session_id: SessionId, state: StateDep) -> SessionRef:
    """The named session, else 404."""
    live = state.manager.get(session_id)
    if live is not None:
        return SessionRef(session_id, live, None)
    row = await asyncio.to_thread(state.store.get_session, session_id)
    if row is None:
        raise SessionNotFound(session_id)
    return SessionRef(session_id, None, row)


SessionDep = Annotated[SessionRef, Depends(get_session_ref)]
