"""One live session: its engine (source → ingest → processing) feeding store and clients.

Life cycle (:class:`~service.SessionState`)::

    starting ──► running ──► stopping ──► finished
        │           │            │
        │           ├──► finished (the source ended: replay/simulation complete)
        └───────────┴────────────┴──► failed (the source raised; data kept)

``interrupted`` is never entered here: it is what a restart finds a session that was
running when the server died (see :mod:`service._manager`).

The session's compute runs in a :class:`~service._engine.SessionEngine` (processing
steps coalesced over what the source had ready; see there), in the server's event loop
or in a worker process (:mod:`service._workers`); the session is its
:class:`~service._engine.EngineSink`: it keeps the state, stores what the engine reports
and publishes it to the clients. Angle
frames go live decimated to ``Settings.angle_rate_hz`` (:class:`AngleDecimator`), and
only while someone listens. From a worker, angles come as rows to store
(:meth:`LiveSession.on_angles`, with the raw samples) and as the decimated live frames
(:meth:`LiveSession.on_live_angles`, at once).
Raw samples and angles are buffered and handed to the database writer every
``Settings.raw_flush_s`` by a small flusher task, so that a quiet stream is saved too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ingest import IngestError, RecordingError
from ingest import StatusEvent as SensorStatus
from processing import (
    ANGLE_COLUMNS,
    REQUIRED_PLACEMENTS,
    AngleBlock,
    BottomReached,
    Cue,
    Event,
    ImuSamples,
    Placement,
    RepCancelled,
    RepMetrics,
    StatusEvent,
    of_cancelled,
    summarize,
)
from service._broadcast import Broadcaster, CloseReason
from service._config import Settings
from service._engine import CoreState, concat_samples
from service._errors import SessionStateError
from service._messages import angles_message, encode, sensor_message
from service._metrics import ServiceMetrics, StepStamps
from service._schemas import SessionState
from service._store import Store

_log = logging.getLogger("service.session")

#: Legal state changes of a live session.
TRANSITIONS: dict[SessionState, frozenset[SessionState]] = {
    SessionState.STARTING: frozenset(
        {SessionState.RUNNING, SessionState.STOPPING, SessionState.FINISHED, SessionState.FAILED}
    ),
    SessionState.RUNNING: frozenset(
        {SessionState.STOPPING, SessionState.FINISHED, SessionState.FAILED}
    ),
    SessionState.STOPPING: frozenset({SessionState.FINISHED, SessionState.FAILED}),
    SessionState.FINISHED: frozenset(),
    SessionState.FAILED: frozenset(),
    SessionState.INTERRUPTED: frozenset(),
}

#: States in which a session streams and can be stopped.
LIVE_STATES = frozenset({SessionState.STARTING, SessionState.RUNNING, SessionState.STOPPING})

#: How each source kind ends on its own, for the session's ``reason``.
_ENDED = {
    "simulated": "simulation complete",
    "replay": "replay complete",
    "relay": "relay closed",
    "ble": "sensors stopped",
}


class Engine(Protocol):
    """What a session needs of its engine.

    A :class:`~service._engine.SessionEngine`, or the stand-in for one running in a
    worker process (:class:`~service._workers.RemoteEngine`).
    """

    @property
    def placements(self) -> tuple[Placement, ...]:
        """The sensors processed (before processing starts: those the source knows)."""

    def sensors(self) -> list[dict[str, Any]]:
        """Each sensor's counters (``SensorPublic`` fields)."""

    @property
    def is_relay(self) -> bool:
        """True if the source is fed over the relay WebSocket."""

    def feed_relay(self, data: bytes) -> None:
        """Bytes received from the relay."""

    async def run(self) -> None:
        """Stream until the source ends or :meth:`stop`; raise what ended it."""

    def stop(self) -> None:
        """Stop streaming (:meth:`run` then finishes processing and returns)."""


#: Builds a session's engine, given the session to report to.
EngineFactory = Callable[["LiveSession"], Engine]


class LiveSession:
    """A session while it runs.

    Parameters
    ----------
    session_id, athlete : str
    athlete_id : int
    kind : str
        The source kind (``simulated``, ``replay``, ``ble``, ``relay``).
    spec : mapping
        The source spec, as stored.
    engine : callable
        Builds the session's engine, given the session (its sink); for example
        ``lambda sink: SessionEngine(source, sink, paced=...)``.
    store : Store
    settings : Settings
    metrics : ServiceMetrics
    created_at : str
        ISO 8601 UTC.
    """

    def __init__(
        self,
        *,
        session_id: str,
        athlete: str,
        athlete_id: int,
        kind: str,
        spec: Mapping[str, Any],
        engine: EngineFactory,
        store: Store,
        settings: Settings,
        metrics: ServiceMetrics,
        created_at: str,
    ) -> None:
        self.id = session_id
        self.athlete = athlete
        self.athlete_id = athlete_id
        self.kind = kind
        self.spec = dict(spec)
        self.created_at = created_at
        self.ended_at: str | None = None
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self.broadcaster = Broadcaster(
            metrics, settings.client_angle_frames, settings.client_max_pending
        )
        self.state = SessionState.STARTING
        self.reason = ""
        #: The processing core's state as of its last step.
        self.core = CoreState(False, 0)
        self.reps: list[RepMetrics] = []
        self.cues: list[Cue] = []
        self.t_s = 0.0
        self._processing: tuple[Placement, ...] | None = None
        self._raw: dict[Placement, list[ImuSamples]] = {}
        self._angles: list[NDArray[np.float64]] = []
        self._live_angles = AngleDecimator(settings.angle_rate_hz)
        self._stop_reason: tuple[CloseReason, str] | None = None
        #: Which relay connection may feed the source (a newer one takes over).
        self.relay_owner = 0
        self._task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()
        self.engine = engine(self)

    # ------------------------------------------------------------------ control

    @property
    def live(self) -> bool:
        """True until the session has ended."""
        return self.state in LIVE_STATES

    @property
    def placements(self) -> tuple[str, ...]:
        """The sensors processed (or, before processing starts, those the source knows)."""
        if self._processing is not None:
            return tuple(str(p) for p in self._processing)
        return tuple(str(p) for p in self.engine.placements)

    @property
    def calibrated(self) -> bool:
        """True once angles flow."""
        return self.core.calibrated

    @property
    def set_number(self) -> int:
        """The current (or last) set, 1-based; 0 before the first rep."""
        return self.core.set_number

    @property
    def has_lumbar(self) -> bool:
        """True if the L1 sensor is processed."""
        return self._processing is not None and Placement.LUMBAR in self._processing

    def sensors(self) -> list[dict[str, Any]]:
        """Each sensor's counters (``SensorPublic`` fields)."""
        return self.engine.sensors()

    def summary_so_far(self) -> dict[str, Any]:
        """The summary of the reps and cues so far (``Summary.to_dict()``)."""
        return summarize(self.reps, self.cues, has_lumbar=self.has_lumbar).to_dict()

    def start(self) -> None:
        """Start the session's task."""
        self._task = asyncio.get_running_loop().create_task(self._main(), name=f"session-{self.id}")

    async def stop(
        self, close: CloseReason = CloseReason.SESSION_ENDED, reason: str = "stopped by request"
    ) -> None:
        """Stop streaming, finish the last rep, store the summary; returns when done.

        Raises
        ------
        SessionStateError
            The session is stopping or has ended already.
        """
        if self.state not in (SessionState.STARTING, SessionState.RUNNING):
            raise SessionStateError(self.id, self.state, "it is not running (already stopped?)")
        self._stop_reason = (close, reason)
        self._transition(SessionState.STOPPING, reason)
        self.engine.stop()
        await self.done.wait()

    def _transition(self, new: SessionState, reason: str = "") -> None:
        if new not in TRANSITIONS[self.state]:
            raise RuntimeError(f"session {self.id}: illegal transition {self.state} → {new}")
        self.state = new
        if reason:
            self.reason = reason
        self._store.update_session(self.id, state=str(new), reason=self.reason)
        self._publish_status("state", reason)

    # ------------------------------------------------------------------ messages

    def status_doc(self, event: str, detail: str = "") -> dict[str, Any]:
        """The session's state as a ``status`` message body."""
        return {
            "type": "status",
            "event": event,
            "detail": detail,
            "state": str(self.state),
            "reason": self.reason,
            "t_s": round(self.t_s, 3),
            "calibrated": self.core.calibrated,
            "set": self.core.set_number,
            "rep_count": len(self.reps),
            "cue_count": len(self.cues),
        }

    def snapshot_text(self) -> str:
        """What a client joining now gets first: the state, sensors, reps and cues so far."""
        doc = self.status_doc("snapshot")
        doc["session_id"] = self.id
        doc["athlete"] = self.athlete
        doc["placements"] = list(self.placements)
        doc["sensors"] = self.sensors()
        doc["reps"] = [_without_type(r.to_dict()) for r in self.reps]
        doc["cues"] = [_without_type(c.to_dict()) for c in self.cues]
        return encode(doc)

    def _publish_status(self, event: str, detail: str = "") -> None:
        self.broadcaster.publish("status", encode(self.status_doc(event, detail)))

    # ------------------------------------------------------------------ the task

    async def _main(self) -> None:
        flusher = asyncio.get_running_loop().create_task(self._flush_periodically())
        failure: BaseException | None = None
        try:
            await self.engine.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the source (or processing) failed; the data is kept
            failure = exc
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        await self._finish(failure)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._settings.raw_flush_s)
            self._flush()

    def _flush(self) -> None:
        for placement, parts in self._raw.items():
            if parts:
                samples = concat_samples(parts)
                self._store.add_samples(self.id, placement, samples)
        self._raw = {}
        if self._angles:
            self._store.add_angles(self.id, np.concatenate(self._angles))
            self._angles = []

    # ------------------------------------------------------------------ engine sink

    def on_batch(self, placement: Placement, samples: ImuSamples) -> None:
        """New samples of one sensor: buffered for the database."""
        self._raw.setdefault(placement, []).append(samples)
        self.t_s = max(self.t_s, float(samples.time_s[-1]))
        if self.state is SessionState.STARTING:
            self._transition(SessionState.RUNNING)

    def on_sensor(self, event: SensorStatus) -> None:
        """A sensor's status changed."""
        self.broadcaster.publish("sensor", sensor_message(event))

    def on_waiting(self, missing: Sequence[Placement]) -> None:
        """Processing waits for required sensors."""
        self._publish_status(
            "waiting", f"waiting for sensor(s): {', '.join(str(p) for p in missing)}"
        )

    def on_processing(self, placements: tuple[Placement, ...]) -> None:
        """Processing started with these sensors."""
        self._processing = placements
        self._store.update_session(self.id, placements=[str(p) for p in placements])

    def on_step(self, ns: int) -> None:
        """A processing step took `ns`."""
        self._metrics.add_step(ns)

    def on_angles(self, rows: NDArray[np.float64]) -> None:
        """Angles to store: rows of ``time_s`` and ANGLE_COLUMNS (deg), see :func:`angle_rows`."""
        self._angles.append(rows)

    def on_live_angles(self, rows: NDArray[np.float64], stamps: StepStamps | None) -> None:
        """An ``angles`` frame for the clients: rows already decimated."""
        if not self.broadcaster.has_subscribers:
            return
        self.broadcaster.publish(
            "angles",
            angles_message(rows[:, 0], rows[:, 1:]),
            droppable=True,
            entered_ns=stamps.frame_in_ns if stamps is not None else 0,
            stamps=stamps,
        )

    def on_events(self, events: list[Event], stamps: StepStamps | None, core: CoreState) -> None:
        """Store and publish a step's events; `stamps` None: latency not measured."""
        self.core = core
        publish = self.broadcaster.publish
        entered_ns = stamps.frame_in_ns if stamps is not None else 0
        for e in events:
            if isinstance(e, AngleBlock):
                if len(e):
                    rows = angle_rows(e)
                    self.on_angles(rows)
                    if self.broadcaster.has_subscribers:
                        live = self._live_angles.take(rows)
                        if live is not None:
                            self.on_live_angles(live, stamps)
            elif isinstance(e, Cue):
                self.cues.append(e)
                doc = e.to_dict()
                self._store.add_cue(self.id, doc)
                publish("cue", encode(doc), entered_ns=entered_ns, stamps=stamps)
            elif isinstance(e, RepMetrics):
                self.reps.append(e)
                doc = e.to_dict()
                self._store.add_rep(self.id, doc)
                publish("rep", encode(doc), entered_ns=entered_ns, stamps=stamps)
            elif isinstance(e, BottomReached):
                publish("bottom", encode(e.to_dict()), entered_ns=entered_ns, stamps=stamps)
            elif isinstance(e, RepCancelled):
                # Not a rep after all: its cues (given live, at its bottom) are not kept
                # with the session, whose set and rep numbers the next rep takes over.
                self.cues = [c for c in self.cues if not of_cancelled(c, e)]
                self._store.remove_cues(self.id, e.set, e.rep, e.t_s)
                publish("rep_cancelled", encode(e.to_dict()), entered_ns=entered_ns, stamps=stamps)
            elif isinstance(e, StatusEvent):
                self._publish_status(e.kind, e.detail)

    # ------------------------------------------------------------------ the end

    async def _finish(self, failure: BaseException | None) -> None:
        self._flush()
        close, reason = self._stop_reason or (CloseReason.SESSION_ENDED, "")
        if failure is not None:
            new = SessionState.FAILED
            reason = failure_text(failure)
            if not expected_failure(failure):
                _log.error("session %s failed", self.id, exc_info=failure)
        else:
            new = SessionState.FINISHED
            if self._stop_reason is None:
                reason = _ENDED.get(self.kind, "source ended")
                if self._processing is None and not self.reps:
                    known = self.engine.placements
                    missing = [p for p in REQUIRED_PLACEMENTS if p not in known]
                    if missing:
                        new = SessionState.FAILED
                        reason = f"no samples from sensor(s): {', '.join(map(str, missing))}"
        await self._store.finish_session(
            self.id,
            state=str(new),
            reason=reason,
            summary=self.summary_so_far(),
            duration_s=self.t_s,
            sensors=self.sensors(),
            placements=list(self.placements),
        )
        self._transition(new, reason)
        self.broadcaster.close(close)
        self.done.set()


class EngineFailure(Exception):
    """What ended an engine in a worker process, as text (the exception stays there).

    Attributes
    ----------
    text : str
        The session's ``reason``.
    expected : bool
        True for source failures (an :class:`~ingest.IngestError`), which are not bugs.
    """

    def __init__(self, text: str, expected: bool) -> None:
        super().__init__(text)
        self.text = text
        self.expected = expected


def _without_type(doc: dict[str, object]) -> dict[str, object]:
    doc.pop("type", None)
    return doc


def expected_failure(exc: BaseException) -> bool:
    """True if `exc` is a source failure (not a bug: no traceback in the log)."""
    if isinstance(exc, EngineFailure):
        return exc.expected
    return isinstance(exc, IngestError | RecordingError)


def failure_text(exc: BaseException) -> str:
    """A session's ``reason`` for what ended it."""
    if isinstance(exc, EngineFailure):
        return exc.text
    text = str(exc) or type(exc).__name__
    if isinstance(exc, IngestError | RecordingError):
        return text
    return f"internal error: {type(exc).__name__}: {text}"


def angle_rows(block: AngleBlock) -> NDArray[np.float64]:
    """A block's angles as stored: rows of ``time_s`` then ANGLE_COLUMNS, deg."""
    # Column by column into one array: for a step's few rows, half np.column_stack's cost.
    rows = np.empty((len(block), len(ANGLE_COLUMNS) + 1))
    rows[:, 0] = block.time_s
    for i, column in enumerate(ANGLE_COLUMNS, start=1):
        rows[:, i] = block.angles_deg[column]
    return rows


class AngleDecimator:
    """Which angle rows go live: the first grid sample of each 1/`rate_hz` of session time."""

    def __init__(self, rate_hz: float) -> None:
        self._rate_hz = rate_hz
        self._bucket = -1

    def take(self, rows: NDArray[np.float64]) -> NDArray[np.float64] | None:
        """The rows (see :func:`angle_rows`, times increasing) that start a new bucket, or None."""
        # On Python floats: a step has a few rows, and most steps give none.
        bucket, rate_hz = self._bucket, self._rate_hz
        keep = []
        for i, t in enumerate(rows[:, 0].tolist()):
            b = math.floor(t * rate_hz)
            if b > bucket:
                keep.append(i)
                bucket = b
        if not keep:
            return None
        self._bucket = bucket
        return rows[keep]
