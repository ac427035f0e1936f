"""One live session: a task pumping source → SessionProcessor → store + broadcaster.

Life cycle (:class:`~service.SessionState`)::

    starting ──► running ──► stopping ──► finished
        │           │            │
        │           ├──► finished (the source ended: replay/simulation complete)
        └───────────┴────────────┴──► failed (the source raised; data kept)

``interrupted`` is never entered here: it is what a restart finds a session that was
running when the server died (see :mod:`service._manager`).

Processing is coalesced: a batch only queues its samples, and one processing step per
session feeds everything queued (one ``feed`` per sensor) once the pump has taken all
the items the source had ready. Idle, that is at once (each batch is processed as it
comes); busy, steps are spaced so that processing takes at most half of the event loop
(:data:`PROCESSING_SHARE_INV`), and each covers whatever accumulated meanwhile, so the
per-call cost of the processing core is spread over more samples exactly when CPU is
short. While the core is
still calibrating (it releases nothing until it knows the flexion axes), steps run at
most every 0.5 s. Angle frames are built only while someone listens, decimated to
``Settings.angle_rate_hz``. Raw samples and angles are buffered and handed to the
database writer every ``Settings.raw_flush_s`` by a small flusher task, so that a quiet
stream is saved too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ingest import IngestError, RecordingError, SensorBatch, SensorSource, StatusKind
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
    ProcessingParams,
    RepCancelled,
    RepMetrics,
    SessionProcessor,
    StatusEvent,
    summarize,
)
from service._broadcast import Broadcaster, CloseReason
from service._config import Settings
from service._errors import SessionStateError
from service._messages import angles_message, encode, sensor_message
from service._metrics import ServiceMetrics
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

#: Shortest time between processing steps while the core calibrates, s. It holds all
#: data back until it has seen two squats, then releases the backlog piece by piece;
#: fewer, larger pieces make that release cheap, and nothing is delayed that would
#: otherwise have been shown.
CALIBRATING_STEP_S = 0.5

#: Processing may take at most 1/PROCESSING_SHARE_INV of the event loop's time: with N
#: live sessions whose steps cost c each, a session steps at most every
#: PROCESSING_SHARE_INV * N * c. Idle that is ~2 ms (every batch at once); loaded, each
#: step covers more samples, and the processing core's cost per call is paid less often.
PROCESSING_SHARE_INV = 2.0

#: How each source kind ends on its own, for the session's ``reason``.
_ENDED = {
    "simulated": "simulation complete",
    "replay": "replay complete",
    "relay": "relay closed",
    "ble": "sensors stopped",
}


def sensor_stats_public(source: SensorSource) -> list[dict[str, Any]]:
    """Each sensor's counters as ``SensorPublic`` fields."""
    out = []
    for p, s in source.stats().items():
        out.append(
            {
                "placement": str(p),
                "connected": s.connected,
                "samples": s.samples,
                "lost": s.lost,
                "loss_ratio": round(s.loss_ratio, 5),
                "rate_hz": round(s.rate_hz, 2) if math.isfinite(s.rate_hz) else 0.0,
                "battery_pct": s.battery_pct,
                "reconnects": s.reconnects,
                "outage_s": round(s.outage_s, 3),
            }
        )
    return out


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
    source : SensorSource
        Not yet entered; the session enters it.
    store : Store
    settings : Settings
    metrics : ServiceMetrics
    params : ProcessingParams, optional
        Per-athlete processing overrides.
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
        source: SensorSource,
        store: Store,
        settings: Settings,
        metrics: ServiceMetrics,
        params: ProcessingParams | None = None,
        created_at: str,
    ) -> None:
        self.id = session_id
        self.athlete = athlete
        self.athlete_id = athlete_id
        self.kind = kind
        self.spec = dict(spec)
        self.source = source
        self.created_at = created_at
        self.ended_at: str | None = None
        self._store = store
        self._settings = settings
        self._metrics = metrics
        self._params = params
        self.broadcaster = Broadcaster(
            metrics, settings.client_angle_frames, settings.client_max_pending
        )
        self.state = SessionState.STARTING
        self.reason = ""
        self.processor: SessionProcessor | None = None
        self.reps: list[RepMetrics] = []
        self.cues: list[Cue] = []
        self.t_s = 0.0
        self._raw: dict[Placement, list[ImuSamples]] = {}
        # Samples waiting for the next processing step, and when the oldest entered.
        self._todo: dict[Placement, list[ImuSamples]] = {}
        self._todo_entered_ns = 0
        self._step: asyncio.Handle | None = None
        self._last_step = 0.0
        self._step_failure: BaseException | None = None
        self._finished = False
        self._angles: list[NDArray[np.float64]] = []
        self._angle_bucket = -1
        self._angle_rate = settings.angle_rate_hz
        # Paced sources: a batch's arrival time on the session clock is when its newest
        # sample entered the service. Otherwise (as fast as possible, a relay on the
        # remote clock) the moment the batch is taken from the source is.
        speed = self.spec.get("speed", 1.0)
        self._paced = kind == "ble" or (kind == "simulated" and speed == 1.0)
        self._stop_reason: tuple[CloseReason, str] | None = None
        self._waiting_logged = False
        #: Which relay connection may feed the source (a newer one takes over).
        self.relay_owner = 0
        self._task: asyncio.Task[None] | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self.done = asyncio.Event()

    # ------------------------------------------------------------------ control

    @property
    def live(self) -> bool:
        """True until the session has ended."""
        return self.state in LIVE_STATES

    @property
    def placements(self) -> tuple[str, ...]:
        """The sensors processed (or, before processing starts, those the source knows)."""
        if self.processor is not None:
            return tuple(str(p) for p in self.processor.placements)
        return tuple(str(p) for p in self.source.placements)

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
        if self._pump_task is not None:
            self._pump_task.cancel()
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
        proc = self.processor
        return {
            "type": "status",
            "event": event,
            "detail": detail,
            "state": str(self.state),
            "reason": self.reason,
            "t_s": round(self.t_s, 3),
            "calibrated": bool(proc is not None and proc.calibrated),
            "set": proc.set_number if proc is not None else 0,
            "rep_count": len(self.reps),
            "cue_count": len(self.cues),
        }

    def snapshot_text(self) -> str:
        """What a client joining now gets first: the state, sensors, reps and cues so far."""
        doc = self.status_doc("snapshot")
        doc["session_id"] = self.id
        doc["athlete"] = self.athlete
        doc["placements"] = list(self.placements)
        doc["sensors"] = sensor_stats_public(self.source)
        doc["reps"] = [_without_type(r.to_dict()) for r in self.reps]
        doc["cues"] = [_without_type(c.to_dict()) for c in self.cues]
        return encode(doc)

    def _publish_status(self, event: str, detail: str = "") -> None:
        self.broadcaster.publish("status", encode(self.status_doc(event, detail)))

    # ------------------------------------------------------------------ the task

    async def _main(self) -> None:
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        flusher = asyncio.get_running_loop().create_task(self._flush_periodically())
        failure: BaseException | None = None
        try:
            await asyncio.wait({self._pump_task})
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            if not self._pump_task.done():  # we were cancelled ourselves
                self._pump_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._pump_task
        if self._step_failure is not None:
            failure = self._step_failure
        elif not self._pump_task.cancelled():
            failure = self._pump_task.exception()
        await self._finish(failure)

    async def _pump(self) -> None:
        async with self.source:
            async for item in self.source:
                if isinstance(item, SensorBatch):
                    self._on_batch(item)
                else:
                    self._on_sensor_status(item)

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._settings.raw_flush_s)
            self._flush()

    def _flush(self) -> None:
        for placement, parts in self._raw.items():
            if parts:
                samples = parts[0] if len(parts) == 1 else _concat(parts)
                self._store.add_samples(self.id, placement, samples)
        self._raw = {}
        if self._angles:
            self._store.add_angles(self.id, np.concatenate(self._angles))
            self._angles = []

    # ------------------------------------------------------------------ hot path

    def _on_batch(self, batch: SensorBatch) -> None:
        if len(batch) == 0:
            return
        now = time.monotonic_ns()
        if self._paced:
            entered = min(now, self.source.t0_ns + int(batch.arrival_s * 1e9))
        else:
            entered = now
        placement = batch.placement
        self._raw.setdefault(placement, []).append(batch.samples)
        self.t_s = max(self.t_s, float(batch.samples.time_s[-1]))
        if self.state is SessionState.STARTING:
            self._transition(SessionState.RUNNING)
        proc = self.processor or self._start_processor()
        if proc is None or placement not in proc.placements:
            return
        self._todo.setdefault(placement, []).append(batch.samples)
        if not self._todo_entered_ns:
            self._todo_entered_ns = entered
        self._schedule_step(proc)

    def _schedule_step(self, proc: SessionProcessor) -> None:
        if self._step is not None:
            return
        loop = asyncio.get_running_loop()
        m = self._metrics
        if proc.calibrated:
            share = PROCESSING_SHARE_INV * m.live_sessions * m.step_cost_s
            interval = max(self._settings.feed_interval_s, share)
        else:
            interval = CALIBRATING_STEP_S
        delay = self._last_step + interval - loop.time()
        # call_soon runs after the pump has taken every item already waiting (a ready
        # queue does not suspend it), so one step covers all of them.
        if delay <= 0:
            self._step = loop.call_soon(self._run_step)
        else:
            self._step = loop.call_later(delay, self._run_step)

    def _run_step(self) -> None:
        self._step = None
        try:
            self._process_todo()
        except Exception as exc:  # a processing bug: fail the session, keep its data
            self._step_failure = exc
            if self._pump_task is not None:
                self._pump_task.cancel()

    def _process_todo(self) -> None:
        proc = self.processor
        if proc is None or not self._todo or self._finished:
            return
        todo, self._todo = self._todo, {}
        entered, self._todo_entered_ns = self._todo_entered_ns, 0
        self._last_step = asyncio.get_running_loop().time()
        calibrated = proc.calibrated
        events: list[Event] = []
        t0 = time.perf_counter_ns()
        for placement in proc.placements:
            parts = todo.get(placement)
            if parts:
                events += proc.feed(placement, parts[0] if len(parts) == 1 else _concat(parts))
        self._metrics.add_step(time.perf_counter_ns() - t0)
        if events:
            # What the step that completed calibration releases was held back by the
            # core for seconds: it has no meaningful live latency, so it is not measured.
            self._handle(events, entered if calibrated else 0)

    def _start_processor(self) -> SessionProcessor | None:
        known = self.source.placements
        missing = [p for p in REQUIRED_PLACEMENTS if p not in known]
        if missing:
            if not self._waiting_logged:
                self._waiting_logged = True
                self._publish_status(
                    "waiting", f"waiting for sensor(s): {', '.join(str(p) for p in missing)}"
                )
            return None
        self.processor = SessionProcessor(known, self._params)
        self._store.update_session(self.id, placements=[str(p) for p in known])
        return self.processor

    def _handle(self, events: Sequence[Event], entered_ns: int) -> None:
        publish = self.broadcaster.publish
        for e in events:
            if isinstance(e, AngleBlock):
                self._on_angles(e, entered_ns)
            elif isinstance(e, Cue):
                self.cues.append(e)
                doc = e.to_dict()
                self._store.add_cue(self.id, doc)
                publish("cue", encode(doc), entered_ns=entered_ns)
            elif isinstance(e, RepMetrics):
                self.reps.append(e)
                doc = e.to_dict()
                self._store.add_rep(self.id, doc)
                publish("rep", encode(doc), entered_ns=entered_ns)
            elif isinstance(e, BottomReached):
                publish("bottom", encode(e.to_dict()), entered_ns=entered_ns)
            elif isinstance(e, RepCancelled):
                publish("rep_cancelled", encode(e.to_dict()), entered_ns=entered_ns)
            elif isinstance(e, StatusEvent):
                self._publish_status(e.kind, e.detail)

    def _on_angles(self, block: AngleBlock, entered_ns: int) -> None:
        n = len(block)
        if n == 0:
            return
        angles = np.column_stack([block.angles_deg[c] for c in ANGLE_COLUMNS])
        self._angles.append(np.column_stack([block.time_s, angles]))
        if not self.broadcaster.has_subscribers:
            return
        # Decimate on session time: the first grid sample of each 1/angle_rate_hz bucket.
        bucket = np.floor(block.time_s * self._angle_rate).astype(np.int64)
        keep = bucket > self._angle_bucket
        keep[1:] &= bucket[1:] != bucket[:-1]
        if not keep.any():
            return
        self._angle_bucket = int(bucket[keep][-1])
        self.broadcaster.publish(
            "angles",
            angles_message(block.time_s[keep], angles[keep]),
            droppable=True,
            entered_ns=entered_ns,
        )

    def _on_sensor_status(self, event: SensorStatus) -> None:
        self.broadcaster.publish("sensor", sensor_message(event))
        if (
            event.kind is StatusKind.DISCONNECTED
            and event.placement is not None
            and self.processor is not None
            and event.placement in self.processor.placements
        ):
            self._process_todo()  # what arrived before the silence comes first
            events = self.processor.mark_disconnected(event.placement)
            if events:
                self._handle(events, time.monotonic_ns())

    # ------------------------------------------------------------------ the end

    async def _finish(self, failure: BaseException | None) -> None:
        if self._step is not None:
            self._step.cancel()
            self._step = None
        proc = self.processor
        if proc is not None:
            try:
                if failure is None:
                    self._process_todo()
                self._finished = True
                self._handle(proc.finish(), 0)
            except Exception:  # a processing bug must not lose the session's data
                _log.exception("session %s: processing could not finish", self.id)
        self._flush()
        close, reason = self._stop_reason or (CloseReason.SESSION_ENDED, "")
        if failure is not None:
            new = SessionState.FAILED
            reason = _failure_text(failure)
            if not isinstance(failure, IngestError | RecordingError):
                _log.error("session %s failed", self.id, exc_info=failure)
        else:
            new = SessionState.FINISHED
            if self._stop_reason is None:
                reason = _ENDED.get(self.kind, "source ended")
                if proc is None and not self.reps:
                    missing = [p for p in REQUIRED_PLACEMENTS if p not in self.source.placements]
                    if missing:
                        new = SessionState.FAILED
                        reason = f"no samples from sensor(s): {', '.join(map(str, missing))}"
        has_lumbar = proc is not None and Placement.LUMBAR in proc.placements
        summary = summarize(self.reps, self.cues, has_lumbar=has_lumbar).to_dict()
        try:
            sensors = sensor_stats_public(self.source)
        except Exception:  # a source that never started has no stats to give
            sensors = []
        await self._store.finish_session(
            self.id,
            state=str(new),
            reason=reason,
            summary=summary,
            duration_s=self.t_s,
            sensors=sensors,
            placements=list(self.placements),
        )
        self._transition(new, reason)
        self.broadcaster.close(close)
        self.done.set()


def _without_type(doc: dict[str, object]) -> dict[str, object]:
    doc.pop("type", None)
    return doc


def _concat(parts: list[ImuSamples]) -> ImuSamples:
    return ImuSamples(
        np.concatenate([p.time_s for p in parts]),
        np.concatenate([p.acc_mps2 for p in parts]),
        np.concatenate([p.gyr_rps for p in parts]),
    )


def _failure_text(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, IngestError | RecordingError):
        return text
    return f"internal error: {type(exc).__name__}: {text}"
