"""The embedded database: SQLite (stdlib) in WAL mode, one writer thread, many readers.

What is kept, per session: the athlete, the source spec, the state, every raw sample
(float64 blocks of ``time_s, acc (m/s²), gyr (rad/s)`` per sensor), the six angles at
the processing grid rate (float64 blocks of ``time_s`` + ``ANGLE_COLUMNS`` in deg),
the reps, the cues and the summary (JSON documents as the processing core produces
them), so that every export can be rebuilt from the database alone.

Concurrency and durability
--------------------------
Writes never run on the event loop: :meth:`Store.post` (fire and forget) and
:meth:`Store.call` (awaitable) queue an operation for the writer thread, which applies
operations in order and commits at most every ``commit_interval_s`` (0.1 s) while
busy, at once when idle or when someone awaits. With ``synchronous=NORMAL`` in WAL
mode a committed transaction survives a killed process; the session task hands samples
over at least every ``Settings.raw_flush_s`` (0.4 s), so a server killed mid-session
keeps all but its last half second (with worker processes, which send raw samples and
angles every 0.2 s, its last 0.7 s). Reads open their own short-lived connection
(WAL lets them run beside the writer) and are meant to be called through
``asyncio.to_thread``.

Schema versions
---------------
``PRAGMA user_version`` holds the schema version; :data:`MIGRATIONS` is the ordered
list of steps from an empty database, each applied in its own transaction together
with the version bump, so a failed step leaves the database at the previous version.
A database newer than the code is refused (:class:`~service.StoreError`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from processing import ANGLE_COLUMNS, ImuSamples, Placement
from service._errors import StoreError

_log = logging.getLogger("service.store")

T = TypeVar("T")


@dataclass(frozen=True)
class Migration:
    """One step of the schema.

    Attributes
    ----------
    version : int
        The schema version after this step (1, 2, ... in order).
    description : str
    statements : tuple of str
        SQL statements, run in one transaction.
    """

    version: int
    description: str
    statements: tuple[str, ...]


#: The schema, step by step. Append; never edit a released step.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "athletes, sessions, raw samples, angles, reps, cues, summaries",
        (
            """CREATE TABLE athletes (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                athlete_id INTEGER NOT NULL REFERENCES athletes(id),
                kind TEXT NOT NULL,
                source TEXT NOT NULL,
                state TEXT NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL,
                ended_at TEXT,
                placements TEXT NOT NULL DEFAULT '[]',
                duration_s REAL NOT NULL DEFAULT 0,
                sensors TEXT NOT NULL DEFAULT '[]'
            )""",
            "CREATE INDEX sessions_by_athlete ON sessions (athlete_id, created_at)",
            """CREATE TABLE samples (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                sensor TEXT NOT NULL,
                t_first_s REAL NOT NULL,
                t_last_s REAL NOT NULL,
                n INTEGER NOT NULL,
                data BLOB NOT NULL
            )""",
            "CREATE INDEX samples_by_session ON samples (session_id, sensor, t_first_s)",
            """CREATE TABLE angles (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                t_first_s REAL NOT NULL,
                n INTEGER NOT NULL,
                data BLOB NOT NULL
            )""",
            "CREATE INDEX angles_by_session ON angles (session_id, t_first_s)",
            """CREATE TABLE reps (
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                set_no INTEGER NOT NULL,
                rep_no INTEGER NOT NULL,
                t_end_s REAL,
                data TEXT NOT NULL,
                PRIMARY KEY (session_id, set_no, rep_no)
            )""",
            """CREATE TABLE cues (
                id INTEGER PRIMARY KEY,
                session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                set_no INTEGER NOT NULL,
                rep_no INTEGER NOT NULL,
                code TEXT NOT NULL,
                t_s REAL,
                data TEXT NOT NULL
            )""",
            "CREATE INDEX cues_by_session ON cues (session_id, t_s)",
            """CREATE TABLE summaries (
                session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
                computed_from TEXT NOT NULL,
                data TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
        ),
    ),
)

#: Session states that mean "was running": found on start, they were interrupted.
UNFINISHED_STATES: tuple[str, ...] = ("starting", "running", "stopping")


def utc_now() -> str:
    """The current time as ISO 8601 UTC with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version``."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    conn: sqlite3.Connection,
    migrations: Sequence[Migration] = MIGRATIONS,
    *,
    path: str = ":memory:",
) -> int:
    """Bring the database to the newest schema version; return that version.

    Parameters
    ----------
    conn : sqlite3.Connection
        In autocommit mode (``isolation_level=None``).
    migrations : sequence of Migration
        Versions 1, 2, ... in order.
    path : str
        For error messages.

    Raises
    ------
    StoreError
        The database is newer than `migrations` know, or a step failed (the database
        is left at the last step that succeeded).
    ValueError
        `migrations` are not numbered 1, 2, ... (a programming error).
    """
    for i, m in enumerate(migrations, start=1):
        if m.version != i:
            raise ValueError(f"migration #{i} has version {m.version}; expected {i}")
    latest = len(migrations)
    current = schema_version(conn)
    if current > latest:
        raise StoreError(
            path,
            f"database schema version {current} is newer than this squatsense knows "
            f"({latest}); upgrade squatsense",
        )
    for m in migrations[current:]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if schema_version(conn) >= m.version:
                conn.execute("COMMIT")
                continue
            for statement in m.statements:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {int(m.version)}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(
                path, f"schema migration {m.version} ({m.description}) failed: {exc}"
            ) from exc
        _log.info("database %s: schema version %d (%s)", path, m.version, m.description)
    return latest


# ------------------------------------------------------------------------- row types


@dataclass(frozen=True)
class SessionRow:
    """A session as stored.

    Attributes
    ----------
    id, athlete, kind, state, reason : str
    athlete_id : int
    source : dict
        The source spec the session was created with.
    created_at, ended_at : str or None
        ISO 8601 UTC.
    placements : tuple of str
        The sensors of the session (known once they streamed).
    duration_s : float
        Session time covered by the samples received, s.
    sensors : list of dict
        Each sensor's last counters (``SensorPublic`` fields).
    rep_count, cue_count : int
    last_set : int
        The highest set number of the reps (0 without reps).
    """

    id: str
    athlete_id: int
    athlete: str
    kind: str
    source: dict[str, Any]
    state: str
    reason: str
    created_at: str
    ended_at: str | None
    placements: tuple[str, ...]
    duration_s: float
    sensors: list[dict[str, Any]]
    rep_count: int
    cue_count: int
    last_set: int


@dataclass(frozen=True)
class AthleteRow:
    """An athlete and how many sessions they have."""

    id: int
    name: str
    created_at: str
    sessions: int


@dataclass(frozen=True)
class StoredSummary:
    """A session's summary document and how it was obtained.

    Attributes
    ----------
    data : dict
        ``processing.SessionSummary.to_dict()``.
    computed_from : str
        ``"live"`` (from the reps of the live session) or ``"recovered"`` (recomputed
        from the stored raw samples after an interruption).
    """

    data: dict[str, Any]
    computed_from: str


_SESSION_SELECT = """
    SELECT s.id, s.athlete_id, a.name, s.kind, s.source, s.state, s.reason, s.created_at,
           s.ended_at, s.placements, s.duration_s, s.sensors,
           (SELECT COUNT(*) FROM reps r WHERE r.session_id = s.id),
           (SELECT COUNT(*) FROM cues c WHERE c.session_id = s.id),
           (SELECT COALESCE(MAX(set_no), 0) FROM reps r WHERE r.session_id = s.id)
    FROM sessions s JOIN athletes a ON a.id = s.athlete_id
"""


def _session_row(r: Sequence[Any]) -> SessionRow:
    return SessionRow(
        id=r[0],
        athlete_id=r[1],
        athlete=r[2],
        kind=r[3],
        source=json.loads(r[4]),
        state=r[5],
        reason=r[6],
        created_at=r[7],
        ended_at=r[8],
        placements=tuple(json.loads(r[9])),
        duration_s=float(r[10]),
        sensors=json.loads(r[11]),
        rep_count=int(r[12]),
        cue_count=int(r[13]),
        last_set=int(r[14]),
    )


def _dumps(doc: object) -> str:
    # allow_nan=False: a NaN that slipped through would make the stored JSON invalid.
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


_STOP = object()


class Store:
    """The service's database.

    Parameters
    ----------
    path : str or Path
        The SQLite file (created with its directory). ``":memory:"`` is not supported:
        the writer and the readers need to share a file.
    commit_interval_s : float
        Longest time a write waits in an open transaction while the writer is busy.

    Notes
    -----
    Open with :meth:`open` (migrates), call :meth:`close` when done; both block, so
    call them through ``asyncio.to_thread`` from async code.
    """

    def __init__(self, path: str | Path, *, commit_interval_s: float = 0.1) -> None:
        self.path = Path(path)
        self.commit_interval_s = commit_interval_s
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.write_errors = 0

    # ------------------------------------------------------------------ life cycle

    @classmethod
    def open(cls, path: str | Path, **kwargs: Any) -> Store:
        """Open (creating and migrating as needed) and start the writer thread."""
        store = cls(path, **kwargs)
        store.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(store._connect()) as conn:
                conn.execute("PRAGMA journal_mode = WAL")
                migrate(conn, path=str(store.path))
        except sqlite3.DatabaseError as exc:  # not a database, locked, ...
            raise StoreError(str(store.path), str(exc)) from exc
        store._thread = threading.Thread(
            target=store._writer_main, name="squatsense-store-writer", daemon=True
        )
        store._thread.start()
        return store

    def close(self) -> None:
        """Apply and commit every queued write, then stop the writer thread."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join()
        self._thread = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30.0)
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        with closing(self._connect()) as conn:
            yield conn

    # ------------------------------------------------------------------ writer

    def post(self, op: Callable[..., object], *args: Any) -> None:
        """Queue ``op(conn, *args)`` for the writer; errors are logged, not raised."""
        self._queue.put((op, args, None))

    def call(self, op: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue ``op(conn, *args)``; the future resolves once it is committed."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._queue.put((op, args, future))
        return asyncio.wrap_future(future)

    def _writer_main(self) -> None:
        with closing(self._connect()) as conn:
            waiting: list[tuple[concurrent.futures.Future[Any], object]] = []
            in_tx = False
            last_commit = time.monotonic()
            stop = False
            while not stop:
                timeout = (
                    max(0.0, last_commit + self.commit_interval_s - time.monotonic())
                    if in_tx
                    else None
                )
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    item = None
                if item is _STOP:
                    stop = True
                elif item is not None:
                    if not in_tx:
                        conn.execute("BEGIN")
                        in_tx = True
                    self._apply(conn, item, waiting)
                due = time.monotonic() - last_commit >= self.commit_interval_s
                if in_tx and (stop or due or item is None or (waiting and self._queue.empty())):
                    conn.execute("COMMIT")
                    in_tx = False
                    last_commit = time.monotonic()
                    for future, result in waiting:
                        future.set_result(result)
                    waiting.clear()

    def _apply(
        self,
        conn: sqlite3.Connection,
        item: tuple[Callable[..., object], tuple[Any, ...], Any],
        waiting: list[tuple[concurrent.futures.Future[Any], object]],
    ) -> None:
        op, args, future = item
        # A savepoint per operation: one failing write must not undo the others.
        conn.execute("SAVEPOINT op")
        try:
            result = op(conn, *args)
        except Exception as exc:
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            self.write_errors += 1
            if future is not None:
                future.set_exception(exc)
            else:
                _log.exception("database write %s failed", getattr(op, "__name__", op))
            return
        conn.execute("RELEASE op")
        if future is not None:
            waiting.append((future, result))

    async def barrier(self) -> None:
        """Wait until every write queued before this call is committed."""
        await self.call(_noop)

    # ------------------------------------------------------------------ writes (posted)

    def create_session(
        self,
        session_id: str,
        athlete: str,
        kind: str,
        source: Mapping[str, Any],
        state: str,
        created_at: str | None = None,
    ) -> asyncio.Future[int]:
        """Insert a session (and its athlete if new); resolves to the athlete id."""
        return self.call(
            _create_session, session_id, athlete, kind, dict(source), state, created_at
        )

    def add_samples(self, session_id: str, placement: Placement, samples: ImuSamples) -> None:
        """Append raw samples of one sensor (SI units)."""
        if len(samples) == 0:
            return
        block = np.column_stack([samples.time_s, samples.acc_mps2, samples.gyr_rps])
        self.post(_add_samples, session_id, str(placement), _blob(block), block[0, 0], block[-1, 0])

    def add_angles(self, session_id: str, block: NDArray[np.float64]) -> None:
        """Append angles: shape (N, 7), ``time_s`` then ``ANGLE_COLUMNS`` in deg."""
        if len(block):
            self.post(_add_angles, session_id, _blob(block), float(block[0, 0]), len(block))

    def add_rep(self, session_id: str, rep: Mapping[str, Any]) -> None:
        """Store one rep (``RepMetrics.to_dict()``)."""
        self.post(_add_rep, session_id, dict(rep))

    def add_cue(self, session_id: str, cue: Mapping[str, Any]) -> None:
        """Store one cue (``Cue.to_dict()``)."""
        self.post(_add_cue, session_id, dict(cue))

    def remove_cues(self, session_id: str, set_no: int, rep_no: int, until_s: float) -> None:
        """Remove the cues of a cancelled rep: set `set_no`, rep `rep_no`, up to `until_s`."""
        self.post(_remove_cues, session_id, int(set_no), int(rep_no), float(until_s))

    def update_session(self, session_id: str, **fields: Any) -> None:
        """Update columns of a session: state, reason, placements, duration_s, sensors."""
        self.post(_update_session, session_id, fields)

    def finish_session(
        self,
        session_id: str,
        *,
        state: str,
        reason: str,
        summary: Mapping[str, Any] | None,
        computed_from: str = "live",
        **fields: Any,
    ) -> asyncio.Future[None]:
        """Set the final state, end time and summary, in one transaction."""
        return self.call(
            _finish_session,
            session_id,
            state,
            reason,
            None if summary is None else dict(summary),
            computed_from,
            fields,
        )

    def replace_results(
        self,
        session_id: str,
        *,
        reps: Sequence[Mapping[str, Any]],
        cues: Sequence[Mapping[str, Any]],
        angles: NDArray[np.float64],
    ) -> asyncio.Future[None]:
        """Replace a session's reps, cues and angles (after recomputing them)."""
        return self.call(
            _replace_results, session_id, [dict(r) for r in reps], [dict(c) for c in cues], angles
        )

    def delete_session(self, session_id: str) -> asyncio.Future[bool]:
        """Delete a session and everything of it; resolves to False if it did not exist."""
        return self.call(_delete_session, session_id)

    # ------------------------------------------------------------------ reads (blocking)

    def get_session(self, session_id: str) -> SessionRow | None:
        """One session, or None."""
        with self._reader() as conn:
            r = conn.execute(_SESSION_SELECT + " WHERE s.id = ?", (session_id,)).fetchone()
        return None if r is None else _session_row(r)

    def list_sessions(self, athlete: str | None = None) -> list[SessionRow]:
        """Sessions, newest first; only `athlete`'s when given (exact name)."""
        with self._reader() as conn:
            if athlete is None:
                rows = conn.execute(_SESSION_SELECT + " ORDER BY s.created_at DESC, s.rowid DESC")
            else:
                rows = conn.execute(
                    _SESSION_SELECT + " WHERE a.name = ? ORDER BY s.created_at DESC, s.rowid DESC",
                    (athlete,),
                )
            return [_session_row(r) for r in rows]

    def unfinished_sessions(self) -> list[str]:
        """Ids of sessions left running by a server that stopped without finishing them."""
        marks = ",".join("?" * len(UNFINISHED_STATES))
        with self._reader() as conn:
            rows = conn.execute(
                f"SELECT id FROM sessions WHERE state IN ({marks}) ORDER BY created_at",
                UNFINISHED_STATES,
            )
            return [r[0] for r in rows]

    def list_athletes(self) -> list[AthleteRow]:
        """Every athlete, by name."""
        with self._reader() as conn:
            rows = conn.execute(
                """SELECT a.id, a.name, a.created_at,
                          (SELECT COUNT(*) FROM sessions s WHERE s.athlete_id = a.id)
                   FROM athletes a ORDER BY a.name"""
            )
            return [AthleteRow(r[0], r[1], r[2], int(r[3])) for r in rows]

    def get_athlete(self, athlete_id: int) -> AthleteRow | None:
        """One athlete, or None."""
        with self._reader() as conn:
            r = conn.execute(
                """SELECT a.id, a.name, a.created_at,
                          (SELECT COUNT(*) FROM sessions s WHERE s.athlete_id = a.id)
                   FROM athletes a WHERE a.id = ?""",
                (athlete_id,),
            ).fetchone()
        return None if r is None else AthleteRow(r[0], r[1], r[2], int(r[3]))

    def reps(self, session_id: str) -> list[dict[str, Any]]:
        """The session's reps (``RepMetrics.to_dict()``), in order."""
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT data FROM reps WHERE session_id = ? ORDER BY set_no, rep_no",
                (session_id,),
            )
            return [json.loads(r[0]) for r in rows]

    def cues(self, session_id: str) -> list[dict[str, Any]]:
        """The session's cues (``Cue.to_dict()``), in order."""
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT data FROM cues WHERE session_id = ? ORDER BY t_s, id", (session_id,)
            )
            return [json.loads(r[0]) for r in rows]

    def summary(self, session_id: str) -> StoredSummary | None:
        """The stored summary, or None (a session still running)."""
        with self._reader() as conn:
            r = conn.execute(
                "SELECT data, computed_from FROM summaries WHERE session_id = ?", (session_id,)
            ).fetchone()
        return None if r is None else StoredSummary(json.loads(r[0]), r[1])

    def samples(self, session_id: str) -> dict[Placement, ImuSamples]:
        """Every raw sample of the session, per sensor, in SI units."""
        blocks: dict[str, list[NDArray[np.float64]]] = {}
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT sensor, data FROM samples WHERE session_id = ? "
                "ORDER BY sensor, t_first_s, rowid",
                (session_id,),
            )
            for sensor, data in rows:
                blocks.setdefault(sensor, []).append(_unblob(data, 7))
        out: dict[Placement, ImuSamples] = {}
        for p in Placement:
            if p.value in blocks:
                a = np.concatenate(blocks[p.value])
                out[p] = ImuSamples(
                    np.ascontiguousarray(a[:, 0]),
                    np.ascontiguousarray(a[:, 1:4]),
                    np.ascontiguousarray(a[:, 4:7]),
                )
        return out

    def angles(self, session_id: str) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
        """The session's angles: ``time_s`` (N,) and each of ``ANGLE_COLUMNS`` (N,), deg."""
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT data FROM angles WHERE session_id = ? ORDER BY t_first_s, rowid",
                (session_id,),
            )
            parts = [_unblob(r[0], 1 + len(ANGLE_COLUMNS)) for r in rows]
        a = np.concatenate(parts) if parts else np.empty((0, 1 + len(ANGLE_COLUMNS)))
        return a[:, 0].copy(), {c: a[:, i + 1].copy() for i, c in enumerate(ANGLE_COLUMNS)}

    def athlete_reps(self, athlete_id: int) -> list[tuple[SessionRow, dict[str, Any]]]:
        """Every rep of every session of an athlete: (session, rep), oldest session first."""
        with self._reader() as conn:
            sessions = {
                r[0]: _session_row(r)
                for r in conn.execute(
                    _SESSION_SELECT + " WHERE s.athlete_id = ? ORDER BY s.created_at, s.rowid",
                    (athlete_id,),
                )
            }
            rows = conn.execute(
                """SELECT r.session_id, r.data FROM reps r JOIN sessions s ON s.id = r.session_id
                   WHERE s.athlete_id = ? ORDER BY s.created_at, s.rowid, r.set_no, r.rep_no""",
                (athlete_id,),
            )
            return [(sessions[sid], json.loads(data)) for sid, data in rows]


# ---------------------------------------------------------------------- blobs and ops


def _blob(block: NDArray[np.float64]) -> bytes:
    return np.ascontiguousarray(block, dtype="<f8").tobytes()


def _unblob(data: bytes, columns: int) -> NDArray[np.float64]:
    return np.frombuffer(data, dtype="<f8").reshape(-1, columns)


def _noop(conn: sqlite3.Connection) -> None:
    return None


def _create_session(
    conn: sqlite3.Connection,
    session_id: str,
    athlete: str,
    kind: str,
    source: dict[str, Any],
    state: str,
    created_at: str | None,
) -> int:
    now = created_at or utc_now()
    conn.execute(
        "INSERT INTO athletes (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        (athlete, now),
    )
    athlete_id = int(
        conn.execute("SELECT id FROM athletes WHERE name = ?", (athlete,)).fetchone()[0]
    )
    conn.execute(
        "INSERT INTO sessions (id, athlete_id, kind, source, state, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, athlete_id, kind, _dumps(source), state, now),
    )
    return athlete_id


def _add_samples(
    conn: sqlite3.Connection, session_id: str, sensor: str, data: bytes, t0: float, t1: float
) -> None:
    conn.execute(
        "INSERT INTO samples (session_id, sensor, t_first_s, t_last_s, n, data) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (session_id, sensor, float(t0), float(t1), len(data) // 56, data),
    )


def _add_angles(conn: sqlite3.Connection, session_id: str, data: bytes, t0: float, n: int) -> None:
    conn.execute(
        "INSERT INTO angles (session_id, t_first_s, n, data) VALUES (?, ?, ?, ?)",
        (session_id, t0, n, data),
    )


def _add_rep(conn: sqlite3.Connection, session_id: str, rep: dict[str, Any]) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO reps (session_id, set_no, rep_no, t_end_s, data) "
        "VALUES (?, ?, ?, ?, ?)",
        (session_id, int(rep["set"]), int(rep["rep"]), rep.get("t_end_s"), _dumps(rep)),
    )


def _add_cue(conn: sqlite3.Connection, session_id: str, cue: dict[str, Any]) -> None:
    conn.execute(
        "INSERT INTO cues (session_id, set_no, rep_no, code, t_s, data) VALUES (?, ?, ?, ?, ?, ?)",
        (
            session_id,
            int(cue["set"]),
            int(cue["rep"]),
            str(cue["code"]),
            cue.get("t_s"),
            _dumps(cue),
        ),
    )


def _remove_cues(
    conn: sqlite3.Connection, session_id: str, set_no: int, rep_no: int, until_s: float
) -> None:
    conn.execute(
        "DELETE FROM cues WHERE session_id = ? AND set_no = ? AND rep_no = ? AND t_s <= ?",
        (session_id, set_no, rep_no, until_s),
    )


_UPDATABLE = {"state", "reason", "placements", "duration_s", "sensors", "ended_at"}


def _update_session(conn: sqlite3.Connection, session_id: str, fields: dict[str, Any]) -> None:
    unknown = set(fields) - _UPDATABLE
    if unknown:
        raise ValueError(f"cannot update session column(s) {sorted(unknown)}")
    if not fields:
        return
    values = [_dumps(v) if k in ("placements", "sensors") else v for k, v in sorted(fields.items())]
    sets = ", ".join(f"{k} = ?" for k in sorted(fields))
    conn.execute(f"UPDATE sessions SET {sets} WHERE id = ?", (*values, session_id))


def _finish_session(
    conn: sqlite3.Connection,
    session_id: str,
    state: str,
    reason: str,
    summary: dict[str, Any] | None,
    computed_from: str,
    fields: dict[str, Any],
) -> None:
    _update_session(conn, session_id, {**fields, "state": state, "reason": reason})
    conn.execute(
        "UPDATE sessions SET ended_at = COALESCE(ended_at, ?) WHERE id = ?",
        (utc_now(), session_id),
    )
    if summary is not None:
        conn.execute(
            "INSERT OR REPLACE INTO summaries (session_id, computed_from, data, created_at) "
            "VALUES (?, ?, ?, ?)",
            (session_id, computed_from, _dumps(summary), utc_now()),
        )


def _replace_results(
    conn: sqlite3.Connection,
    session_id: str,
    reps: list[dict[str, Any]],
    cues: list[dict[str, Any]],
    angles: NDArray[np.float64],
) -> None:
    for table in ("reps", "cues", "angles"):
        conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
    for rep in reps:
        _add_rep(conn, session_id, rep)
    for cue in cues:
        _add_cue(conn, session_id, cue)
    # Blocks of 10 s at 100 Hz: reads stay cheap, rows stay few.
    for start in range(0, len(angles), 1000):
        block = angles[start : start + 1000]
        _add_angles(conn, session_id, _blob(block), float(block[0, 0]), len(block))


def _delete_session(conn: sqlite3.Connection, session_id: str) -> bool:
    cur = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
    return cur.rowcount > 0
