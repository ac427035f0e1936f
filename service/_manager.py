"""The sessions of one server: create, find, stop, delete, recover after a crash.

This is where source specs enter the service, so it is where their errors are
translated: :class:`ingest.SourceSpecError` becomes :class:`~service.BadSource` (or
:class:`~service.ReplayUnreadable` for a replay path), with ``raise ... from``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ingest import SensorSource, SourceSpecError, open_source
from ingest import warm_up as warm_up_ingest
from processing import (
    ANGLE_COLUMNS,
    REQUIRED_PLACEMENTS,
    ImuSamples,
    Placement,
    ProcessingParams,
    analyze,
    summarize,
    warm_up,
)
from service._broadcast import CloseReason
from service._config import Settings
from service._engine import SessionEngine, is_paced
from service._errors import (
    BadSource,
    ReplayUnreadable,
    SessionNotFound,
    SessionStateError,
    TooManySessions,
)
from service._metrics import ServiceMetrics
from service._schemas import SessionState
from service._session import EngineFactory, LiveSession
from service._store import Store, utc_now
from service._workers import WorkerPool

_log = logging.getLogger("service.sessions")

#: Builds a source from a spec (``ingest.open_source``; tests and benchmarks pass others).
SourceFactory = Callable[[Mapping[str, Any]], SensorSource]


def _new_id() -> str:
    return secrets.token_hex(6)


class SessionManager:
    """Every session of this server: the live ones in memory, all of them in the store.

    Parameters
    ----------
    store : Store
    settings : Settings
    metrics : ServiceMetrics
    source_factory : callable, optional
        Spec → source; default :func:`ingest.open_source`. With ``Settings.workers``,
        the workers build the sources with it too: it must then be picklable (a
        module-level function or a ``functools.partial`` of one).
    """

    def __init__(
        self,
        store: Store,
        settings: Settings,
        metrics: ServiceMetrics,
        source_factory: SourceFactory | None = None,
    ) -> None:
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._source_factory = source_factory or open_source
        self._live: dict[str, LiveSession] = {}
        # Strong references: the loop keeps only weak ones to tasks.
        self._tasks: set[asyncio.Task[None]] = set()
        self._pool: WorkerPool | None = None

    async def start(self) -> None:
        """Start the worker processes (``Settings.workers``), if any.

        Without workers, sessions run here: the processing core's compiled loops are
        loaded now (~0.2 s) rather than in the first session's first step.
        """
        if self._settings.workers == 0:
            await asyncio.to_thread(warm_up)
            await asyncio.to_thread(warm_up_ingest)
        if self._settings.workers > 0 and self._pool is None:
            pool = WorkerPool(self._settings.workers, self._source_factory)
            await pool.start()
            self._pool = pool

    @property
    def live_count(self) -> int:
        """Sessions in memory (starting, running or stopping)."""
        return len(self._live)

    def get(self, session_id: str) -> LiveSession | None:
        """The live session with this id, or None (ended, or unknown)."""
        return self._live.get(session_id)

    # ------------------------------------------------------------------ create

    async def create(self, athlete: str, spec: Mapping[str, Any]) -> LiveSession:
        """Create and start a session.

        Raises
        ------
        BadSource, ReplayUnreadable
            The spec names nothing that can run.
        TooManySessions
            ``Settings.max_live_sessions`` are running.
        """
        if len(self._live) >= self._settings.max_live_sessions:
            raise TooManySessions(self._settings.max_live_sessions)
        kind = str(spec["kind"])
        if kind == "replay":
            source = await asyncio.to_thread(self._open_replay, spec)
        else:
            source = self._open(spec)
        session_id = _new_id()
        created_at = utc_now()
        athlete_id = await self._store.create_session(
            session_id, athlete, kind, spec, str(SessionState.STARTING), created_at
        )
        session = LiveSession(
            session_id=session_id,
            athlete=athlete,
            athlete_id=athlete_id,
            kind=kind,
            spec=spec,
            engine=self._engine_factory(session_id, kind, spec, source),
            store=self._store,
            settings=self._settings,
            metrics=self._metrics,
            created_at=created_at,
        )
        self._live[session_id] = session
        self._metrics.live_sessions = len(self._live)
        session.start()
        task = asyncio.get_running_loop().create_task(self._forget_when_done(session))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        _log.info("session %s started: athlete id %d, source %s", session_id, athlete_id, kind)
        return session

    def _engine_factory(
        self, session_id: str, kind: str, spec: Mapping[str, Any], source: SensorSource
    ) -> EngineFactory:
        paced = is_paced(kind, spec)
        interval = self._settings.feed_interval_s
        pool = self._pool
        if pool is None:
            return lambda sink: SessionEngine(source, sink, paced=paced, feed_interval_s=interval)
        # The source was built here to validate the spec; the worker builds its own.
        placements = source.placements
        return lambda sink: pool.open(
            sink,
            session_id,
            spec,
            placements=placements,
            paced=paced,
            feed_interval_s=interval,
            angle_rate_hz=self._settings.angle_rate_hz,
        )

    async def _forget_when_done(self, session: LiveSession) -> None:
        await session.done.wait()
        self._live.pop(session.id, None)
        self._metrics.live_sessions = len(self._live)
        _log.info("session %s %s: %s", session.id, session.state, session.reason)

    def _open(self, spec: Mapping[str, Any]) -> SensorSource:
        try:
            return self._source_factory(spec)
        except SourceSpecError as exc:
            if spec.get("kind") == "replay" and exc.key == "path":
                raise ReplayUnreadable(str(spec.get("path")), exc.detail) from exc
            raise BadSource(str(exc), key=exc.key) from exc

    def _open_replay(self, spec: Mapping[str, Any]) -> SensorSource:
        path = str(spec["path"])
        # Only regular files: a FIFO or a device would block or never end.
        if not os.path.isfile(path):
            detail = "is not a regular file" if os.path.exists(path) else "does not exist"
            raise ReplayUnreadable(path, detail)
        source = self._open(spec)
        missing = [str(p) for p in REQUIRED_PLACEMENTS if p not in source.placements]
        if missing:
            raise ReplayUnreadable(
                path,
                f"no samples of {', '.join(missing)} at its start; expected a recording CSV "
                "(time_s,sensor,acc_x..gyr_z) or a raw frame log with the sacrum and both shins",
            )
        return source

    # ------------------------------------------------------------------ stop, delete

    async def _state_of_ended(self, session_id: str) -> str:
        row = await asyncio.to_thread(self._store.get_session, session_id)
        if row is None:
            raise SessionNotFound(session_id)
        return row.state

    async def stop(self, session_id: str) -> None:
        """Stop a live session and wait until its summary is stored.

        Raises
        ------
        SessionNotFound
        SessionStateError
            It has ended (or is stopping) already.
        """
        session = self._live.get(session_id)
        if session is None:
            state = await self._state_of_ended(session_id)
            raise SessionStateError(session_id, state, "it has ended already")
        await session.stop()

    async def delete(self, session_id: str) -> None:
        """Delete a session and all its data, stopping it first if it runs.

        Raises
        ------
        SessionNotFound
        """
        session = self._live.get(session_id)
        if session is not None:
            if session.state in (SessionState.STARTING, SessionState.RUNNING):
                await session.stop(CloseReason.SESSION_DELETED, "deleted")
            else:
                await session.done.wait()
        if not await self._store.delete_session(session_id):
            raise SessionNotFound(session_id)
        _log.info("session %s deleted", session_id)

    async def shutdown(self) -> None:
        """Stop every live session (their summaries are stored); for server shutdown."""
        sessions = list(self._live.values())
        await asyncio.gather(
            *(self._stop_for_shutdown(s) for s in sessions), return_exceptions=True
        )
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _stop_for_shutdown(self, session: LiveSession) -> None:
        if session.state in (SessionState.STARTING, SessionState.RUNNING):
            await session.stop(CloseReason.SERVER_SHUTDOWN, "stopped: the server shut down")
        else:
            await session.done.wait()

    # ------------------------------------------------------------------ recovery

    async def recover(self) -> list[str]:
        """Mark sessions left running by a server that died as interrupted.

        Their raw samples (committed at least every second) are kept; their reps, cues,
        angles and summary are recomputed from those samples with
        :func:`processing.analyze`. Returns the ids recovered.
        """
        ids = await asyncio.to_thread(self._store.unfinished_sessions)
        for session_id in ids:
            raw = await asyncio.to_thread(self._store.samples, session_id)
            result = await asyncio.to_thread(reanalyze, raw)
            await self._store.replace_results(
                session_id, reps=result.reps, cues=result.cues, angles=result.angles
            )
            await self._store.finish_session(
                session_id,
                state=str(SessionState.INTERRUPTED),
                reason=(
                    f"the server stopped during the session; {result.duration_s:.1f} s of "
                    "samples were kept and the reps and summary recomputed from them"
                ),
                summary=result.summary,
                computed_from="recovered",
                duration_s=result.duration_s,
                placements=result.placements,
            )
            _log.warning(
                "session %s was interrupted; recovered %d reps from %.1f s of samples",
                session_id,
                len(result.reps),
                result.duration_s,
            )
        return ids


@dataclass(frozen=True)
class Reanalysis:
    """What :func:`reanalyze` recomputed from stored raw samples.

    Attributes
    ----------
    reps, cues : list of dict
        ``to_dict()`` of each rep and cue.
    angles : ndarray, shape (N, 7)
        ``time_s`` then ``ANGLE_COLUMNS``, deg.
    summary : dict
    duration_s : float
    placements : list of str
    """

    reps: list[dict[str, Any]]
    cues: list[dict[str, Any]]
    angles: NDArray[np.float64]
    summary: dict[str, Any]
    duration_s: float
    placements: list[str]


def reanalyze(
    raw: Mapping[Placement, ImuSamples], params: ProcessingParams | None = None
) -> Reanalysis:
    """Recompute a session's results from its raw samples (blocking; CPU work)."""
    present = {p: s for p, s in raw.items() if len(s)}
    duration = max((float(s.time_s[-1]) for s in present.values()), default=0.0)
    empty = np.empty((0, 1 + len(ANGLE_COLUMNS)))
    reps, cues, angles = [], [], empty
    if all(p in present for p in REQUIRED_PLACEMENTS):
        result = analyze(present, params)
        reps, cues = result.reps, result.cues
        if len(result.time_s):
            angles = np.column_stack(
                [result.time_s, *(result.angles_deg[c] for c in ANGLE_COLUMNS)]
            )
    summary = summarize(reps, cues, has_lumbar=Placement.LUMBAR in present).to_dict()
    return Reanalysis(
        reps=[r.to_dict() for r in reps],
        cues=[c.to_dict() for c in cues],
        angles=angles,
        summary=summary,
        duration_s=duration,
        placements=[str(p) for p in Placement if p in present],
    )
