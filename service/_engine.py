"""The compute of one live session: its source, ingest and processing, in coalesced steps.

A :class:`SessionEngine` enters the session's source, takes its batches and status
events, and feeds the samples to a :class:`~processing.SessionProcessor`. It reports
everything, in order, to an :class:`EngineSink`: the :class:`~service.LiveSession`
that stores and publishes it, either directly (in the server's event loop) or through
a worker process's pipe (:mod:`service._workers`); the engine is the same code both
ways, and knows nothing of the database, the clients or the session's state.

The source hands each item to the engine as it produces it
(:meth:`~ingest.SensorSource.set_consumer`: no queue in between). Processing is
coalesced: a batch only queues its samples, and one processing step (one
``SessionProcessor.feed_batch`` of everything queued, all sensors at once) runs on the
next turn of the event loop, after every source that woke in this one has handed
over what it had (with ``SourceParams.tick_s`` set, one step per source tick). Idle,
that is at once; busy, sources and steps run late and
each step covers whatever accumulated meanwhile, so the per-call cost of ingest and of
the processing core is paid less often exactly when CPU is short. Steps can be spaced
further with ``Settings.feed_interval_s``. While the core is still calibrating (it
releases nothing until it knows the flexion axes), steps run at most every 0.5 s; while
no rep is under way (the athlete stands, most of a session), at most every 40 ms, one
live angle frame's worth at 25 Hz: nothing waits on them but those frames, and a rep's
start is seen within 40 ms, long before its bottom. In a rep every step runs at once.

Every step that produces events stamps them for the latency metrics
(:class:`~service._metrics.StepStamps`) with the host time stamp of the oldest
notification it processed: for a BLE source the monotonic time its callback ran, for
a simulated one in real time the time its notification was due. Sources on another
clock (a relay, a replay, a simulation faster than real time) are stamped when their
batch is taken instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import numpy as np

from ingest import RelaySource, SensorBatch, SensorSource, SourceItem, StatusKind
from ingest import StatusEvent as SensorStatus
from processing import (
    REQUIRED_PLACEMENTS,
    Event,
    ImuSamples,
    Placement,
    ProcessingParams,
    SessionProcessor,
)
from service._metrics import StepStamps

_log = logging.getLogger("service.session")

#: Shortest time between processing steps while the core calibrates, s. It holds all
#: data back until it has seen two squats, then releases the backlog piece by piece;
#: fewer, larger pieces make that release cheap, and nothing is delayed that would
#: otherwise have been shown.
CALIBRATING_STEP_S = 0.5

#: Shortest time between processing steps while no rep is under way, s: one live angle
#: frame at the default 25 Hz. Measured side by side: 0.89x the service's CPU at 15 athletes.
RESTING_STEP_S = 0.04


class CoreState(NamedTuple):
    """What the session's status shows of the processing core."""

    calibrated: bool
    set_number: int


class EngineSink(Protocol):
    """What a :class:`SessionEngine` reports, in order (the LiveSession implements it)."""

    def on_batch(self, placement: Placement, samples: ImuSamples) -> None:
        """New samples of one sensor (every batch, processed or not): to store."""

    def on_sensor(self, event: SensorStatus) -> None:
        """A sensor's status changed."""

    def on_waiting(self, missing: Sequence[Placement]) -> None:
        """Processing waits for these required sensors (reported once)."""

    def on_processing(self, placements: tuple[Placement, ...]) -> None:
        """Processing started, with these sensors."""

    def on_events(self, events: list[Event], stamps: StepStamps | None, core: CoreState) -> None:
        """What a processing step produced; `stamps` None: not a live latency to measure."""

    def on_step(self, ns: int) -> None:
        """A processing step took `ns`."""


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


def is_paced(kind: str, spec: Mapping[str, Any]) -> bool:
    """True if a source's arrival times are host time stamps (real time, this clock)."""
    return kind == "ble" or (kind == "simulated" and spec.get("speed", 1.0) == 1.0)


class SessionEngine:
    """Source → ingest → processing of one session.

    Parameters
    ----------
    source : SensorSource
        Not yet entered; :meth:`run` enters it.
    sink : EngineSink
        Receives everything, in order.
    paced : bool
        The source's arrival times are host time stamps (see :func:`is_paced`).
    feed_interval_s : float
        Shortest time between two processing steps once calibrated, s.
    params : ProcessingParams, optional
    """

    def __init__(
        self,
        source: SensorSource,
        sink: EngineSink,
        *,
        paced: bool,
        feed_interval_s: float = 0.0,
        params: ProcessingParams | None = None,
    ) -> None:
        self.source = source
        self._sink = sink
        self._paced = paced
        self._feed_interval_s = feed_interval_s
        self._params = params
        self.processor: SessionProcessor | None = None
        # Samples waiting for the next processing step; the oldest notification behind
        # them (host time stamp) and when its batch was taken, ns.
        self._todo: dict[Placement, list[ImuSamples]] = {}
        self._todo_frame_in_ns = 0
        self._todo_taken_ns = 0
        self._step: asyncio.Handle | None = None
        self._last_step = 0.0
        self._step_failure: BaseException | None = None
        self._finished = False
        self._waiting_reported = False
        self._pump_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ state

    @property
    def placements(self) -> tuple[Placement, ...]:
        """The sensors processed (or, before processing starts, those the source knows)."""
        if self.processor is not None:
            return self.processor.placements
        return self.source.placements

    @property
    def core(self) -> CoreState:
        """The processing core's state, for the session's status."""
        proc = self.processor
        if proc is None:
            return CoreState(False, 0)
        return CoreState(bool(proc.calibrated), proc.set_number)

    def sensors(self) -> list[dict[str, Any]]:
        """Each sensor's counters (``SensorPublic`` fields); [] before the source runs."""
        try:
            return sensor_stats_public(self.source)
        except Exception:  # a source that never started has no stats to give
            return []

    @property
    def is_relay(self) -> bool:
        """True if the source is fed over the relay WebSocket."""
        return isinstance(self.source, RelaySource)

    def feed_relay(self, data: bytes) -> None:
        """Bytes received from the relay (see :meth:`ingest.RelaySource.feed`)."""
        assert isinstance(self.source, RelaySource)  # noqa: S101 - checked by the route
        self.source.feed(data)

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Stream until the source ends or :meth:`stop`; then finish processing.

        Raises what ended the source (an :class:`~ingest.IngestError`, a processing
        bug), after everything received before it was processed and reported.
        """
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        try:
            await asyncio.wait({self._pump_task})
        finally:
            if not self._pump_task.done():  # we were cancelled ourselves
                self._pump_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._pump_task
        failure: BaseException | None = None
        if self._step_failure is not None:
            failure = self._step_failure
        elif not self._pump_task.cancelled():
            failure = self._pump_task.exception()
        self._finish(failure)
        if failure is not None:
            raise failure

    def stop(self) -> None:
        """Stop streaming; :meth:`run` then processes what is queued and returns."""
        if self._pump_task is not None:
            self._pump_task.cancel()

    async def _pump(self) -> None:
        # Items come straight from the source's task (no queue and task switch per
        # notification); the iteration below just waits for the end of the stream.
        self.source.set_consumer(self._on_item)
        async with self.source:
            async for item in self.source:
                self._on_item(item)

    def _on_item(self, item: SourceItem) -> None:
        if isinstance(item, SensorBatch):
            self._on_batch(item)
        else:
            self._on_sensor_status(item)

    def _finish(self, failure: BaseException | None) -> None:
        if self._step is not None:
            self._step.cancel()
            self._step = None
        proc = self.processor
        if proc is None:
            return
        try:
            if failure is None:
                self._process_todo()
            self._finished = True
            events = proc.finish()
            self._sink.on_events(events, None, self.core)
        except Exception:  # a processing bug must not lose the session's data
            _log.exception("processing could not finish")

    # ------------------------------------------------------------------ hot path

    def _on_batch(self, batch: SensorBatch) -> None:
        if len(batch) == 0:
            return
        now = time.monotonic_ns()
        if self._paced:
            frame_in = min(now, self.source.t0_ns + round(batch.first_arrival_s * 1e9))
        else:
            frame_in = now
        placement = batch.placement
        self._sink.on_batch(placement, batch.samples)
        proc = self.processor or self._start_processor()
        if proc is None or placement not in proc.placements:
            return
        self._todo.setdefault(placement, []).append(batch.samples)
        if not self._todo_frame_in_ns or frame_in < self._todo_frame_in_ns:
            self._todo_frame_in_ns, self._todo_taken_ns = frame_in, now
        self._schedule_step(proc)

    def _start_processor(self) -> SessionProcessor | None:
        known = self.source.placements
        missing = [p for p in REQUIRED_PLACEMENTS if p not in known]
        if missing:
            if not self._waiting_reported:
                self._waiting_reported = True
                self._sink.on_waiting(missing)
            return None
        self.processor = SessionProcessor(known, self._params)
        self._sink.on_processing(self.processor.placements)
        return self.processor

    def _schedule_step(self, proc: SessionProcessor) -> None:
        if self._step is not None:
            return
        loop = asyncio.get_running_loop()
        if not proc.calibrated:
            interval = CALIBRATING_STEP_S
        elif proc.in_rep:
            interval = self._feed_interval_s
        else:
            interval = max(self._feed_interval_s, RESTING_STEP_S)
        delay = self._last_step + interval - loop.time()
        # call_soon runs after the callbacks already due in this turn of the loop (other
        # sensors' notifications among them), so one step covers all of them.
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
        frame_in, self._todo_frame_in_ns = self._todo_frame_in_ns, 0
        taken = self._todo_taken_ns
        self._last_step = asyncio.get_running_loop().time()
        calibrated = proc.calibrated
        t0 = time.monotonic_ns()
        events = proc.feed_batch(
            (p, concat_samples(parts)) for p in proc.placements if (parts := todo.get(p))
        )
        self._sink.on_step(time.monotonic_ns() - t0)
        if events:
            # What the step that completed calibration releases was held back by the
            # core for seconds: it has no meaningful live latency, so it is not measured.
            stamps = StepStamps(frame_in, taken, t0) if calibrated else None
            self._sink.on_events(events, stamps, self.core)

    def _on_sensor_status(self, event: SensorStatus) -> None:
        self._sink.on_sensor(event)
        proc = self.processor
        if (
            event.kind is StatusKind.DISCONNECTED
            and event.placement is not None
            and proc is not None
            and event.placement in proc.placements
        ):
            self._process_todo()  # what arrived before the silence comes first
            events = proc.mark_disconnected(event.placement)
            if events:
                self._sink.on_events(events, None, self.core)  # no frame behind these


def concat_samples(parts: list[ImuSamples]) -> ImuSamples:
    """Consecutive pieces of one sensor's samples as one (the piece itself if only one)."""
    if len(parts) == 1:
        return parts[0]
    return ImuSamples(
        np.concatenate([p.time_s for p in parts]),
        np.concatenate([p.acc_mps2 for p in parts]),
        np.concatenate([p.gyr_rps for p in parts]),
    )
