"""The service's exception tree, and nothing else.

::

    ServiceError                  root; .detail: one line for people
     ├── Unauthorized             missing or wrong API token
     ├── NotFound                 .what: the kind of thing
     │    ├── SessionNotFound     .session_id
     │    └── AthleteNotFound     .athlete_id
     ├── SessionStateError        .session_id, .state: not allowed in this state
     │                            (already stopped, not a relay session, ...)
     ├── BadSource                .key: a source spec the service cannot run
     │    └── ReplayUnreadable    .path: the replay file cannot be read as a recording
     ├── TooManySessions          .limit: the live-session limit is reached
     └── StoreError               .path: the database cannot be used (e.g. too new)

Errors from other packages are translated where they enter the service:
:class:`ingest.SourceSpecError` becomes :class:`BadSource` (in the session manager),
``sqlite3`` errors during migration become :class:`StoreError`. The HTTP status of each
class is decided in one place, the exception handler of :mod:`service._app`; the
WebSocket close codes in :mod:`service._live`.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Root of every exception the service raises on purpose.

    Attributes
    ----------
    detail : str
        One line that says what was wrong, for the JSON error body.
    """

    #: Stable snake_case name, the ``error`` field of the JSON error body.
    code = "service_error"

    def __init__(self, detail: str) -> None:
        self.detail = detail
        super().__init__(detail)


class Unauthorized(ServiceError):
    """The request carries no API token, or the wrong one."""

    code = "unauthorized"


class NotFound(ServiceError):
    """Something the request names does not exist.

    Attributes
    ----------
    what : str
        The kind of thing (``"session"``, ``"athlete"``).
    """

    code = "not_found"

    def __init__(self, what: str, detail: str) -> None:
        self.what = what
        super().__init__(detail)


class SessionNotFound(NotFound):
    """No session has this id (never created, or deleted).

    Attributes
    ----------
    session_id : str
    """

    code = "session_not_found"

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        super().__init__("session", f"unknown session {session_id!r}")


class AthleteNotFound(NotFound):
    """No athlete has this id.

    Attributes
    ----------
    athlete_id : int
    """

    code = "athlete_not_found"

    def __init__(self, athlete_id: int) -> None:
        self.athlete_id = athlete_id
        super().__init__("athlete", f"unknown athlete {athlete_id}")


class SessionStateError(ServiceError):
    """The session exists but cannot do this in its current state.

    Attributes
    ----------
    session_id : str
    state : str
        The session's state (``finished``, ``interrupted``, ...).
    """

    code = "session_state"

    def __init__(self, session_id: str, state: str, detail: str) -> None:
        self.session_id = session_id
        self.state = state
        super().__init__(f"session {session_id!r} is {state}: {detail}")


class BadSource(ServiceError):
    """The ``source`` of a new session describes nothing the service can run.

    Attributes
    ----------
    key : str or None
        The entry of the source spec that was wrong (``"kind"``, ``"profile"``,
        ``"speed"``, ``"path"``), or None.
    """

    code = "bad_source"

    def __init__(self, detail: str, *, key: str | None = None) -> None:
        self.key = key
        super().__init__(detail)


class ReplayUnreadable(BadSource):
    """A replay file that does not exist, cannot be opened, or holds no usable samples.

    Attributes
    ----------
    path : str
    """

    code = "replay_unreadable"

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(f"replay file {path!r}: {detail}", key="path")


class TooManySessions(ServiceError):
    """As many sessions are running as the service allows (``max_live_sessions``).

    Attributes
    ----------
    limit : int
    """

    code = "too_many_sessions"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"{limit} sessions are running already; stop one first")


class StoreError(ServiceError):
    """The database cannot be used by this version of squatsense.

    Attributes
    ----------
    path : str
        The database file.
    """

    code = "store_error"

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        super().__init__(f"{path}: {detail}")
