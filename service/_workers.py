"""Live sessions' compute in worker processes: the machine's other cores.

With ``Settings.workers = N > 0`` the server spawns N worker processes and runs each new
session's engine (:class:`~service._engine.SessionEngine`: its source, ingest and
processing, the bulk of a session's CPU) in the one with the fewest sessions. The
server process keeps everything else: HTTP, the WebSockets, the database, and each
session's state and fan-out (:class:`~service.LiveSession`), which sees a
:class:`RemoteEngine` in place of the engine::

    server process                                   worker process
    LiveSession ◄── sink calls, sensor stats, end ── SessionEngine (source, processing)
    RemoteEngine ── start, stop, relay bytes ──────► (one per session)

Wire: a socket pair; each direction carries frames of a 4-byte length and a pickle. A
worker sends, once per turn of its event loop, everything its engines reported
meanwhile, in order: the :class:`~service._engine.EngineSink` calls with their
arguments (raw samples, the angles to store and step timings gathered for up to
:data:`RAW_INTERVAL_S`, and of each step's angles only the live frames due; see
:class:`_PipeSink`), every sensor's counters (twice a second), and the end of an
engine. Time
stamps (``time.monotonic_ns``) are one system clock in every process, so latency is
measured across the hop (it falls in the ``processing`` stage: from the step in
the worker to the message published in the server).

A worker that dies takes its sessions with it: they fail with that reason, and what
they stored (raw samples, angles, reps) is kept; the raw samples and angles it still
held (≤ RAW_INTERVAL_S) are lost with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
import socket
import struct
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ingest import SensorSource, open_source
from ingest import warm_up as warm_up_ingest
from processing import AngleBlock, Event, ImuSamples, Placement, warm_up
from service._engine import CoreState, SessionEngine, concat_samples
from service._gc import settle as settle_gc
from service._loop import run as run_loop
from service._metrics import StepStamps
from service._session import (
    AngleDecimator,
    EngineFailure,
    LiveSession,
    angle_rows,
    expected_failure,
    failure_text,
)

_log = logging.getLogger("service.workers")

#: Builds a source from a spec (``ingest.open_source``); in workers it must be picklable
#: (a module-level function or a ``functools.partial`` of one).
SourceFactory = Callable[[Mapping[str, Any]], SensorSource]

_LENGTH = struct.Struct("<I")
#: How often a worker sends every sensor's counters, s.
STATS_INTERVAL_S = 0.5
#: Longest a worker holds raw samples before sending them to the server, s (the
#: server's own ``Settings.raw_flush_s``, ≤ 0.5 s, comes on top before they are stored).
RAW_INTERVAL_S = 0.2


async def _read_frame(reader: asyncio.StreamReader) -> Any:
    """The next object from the other side, or None at the end of the stream."""
    try:
        head = await reader.readexactly(_LENGTH.size)
        return pickle.loads(await reader.readexactly(_LENGTH.unpack(head)[0]))
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


def _frame(obj: Any) -> bytes:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


# ----------------------------------------------------------------------------- worker


def worker_main(sock: socket.socket, factory: SourceFactory | None) -> None:
    """Entry point of a worker process: serve the server on `sock` until told to stop."""
    warm_up()  # the core's compiled loops, before any session needs them
    warm_up_ingest()  # and ingest's
    settle_gc()  # the modules just imported (and the loops) live as long as the process
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C reaches the whole group
        run_loop(_Worker(sock, factory).run())


class _Worker:
    def __init__(self, sock: socket.socket, factory: SourceFactory | None) -> None:
        self._sock = sock
        self._factory = factory or open_source
        self._engines: dict[str, SessionEngine] = {}
        self._sinks: dict[str, _PipeSink] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outbox: list[tuple[str, tuple[Any, ...]]] = []
        self._writer: asyncio.StreamWriter | None = None

    async def run(self) -> None:
        reader, self._writer = await asyncio.open_connection(sock=self._sock)
        self._emit("", ("ready", os.getpid()))
        stats = asyncio.get_running_loop().create_task(self._push_stats())
        try:
            while (command := await _read_frame(reader)) is not None:
                name, *args = command
                if name == "shutdown":
                    break
                getattr(self, f"_on_{name}")(*args)
        finally:
            stats.cancel()
            for engine in self._engines.values():
                engine.stop()
            if self._tasks:
                await asyncio.wait(self._tasks, timeout=10)
            self._flush()
            with contextlib.suppress(ConnectionError):
                await self._writer.drain()
            self._writer.close()

    # -- commands

    def _on_start(
        self, sid: str, spec: dict[str, Any], paced: bool, interval_s: float, angle_rate_hz: float
    ) -> None:
        try:
            source = self._factory(spec)
        except Exception as exc:  # validated by the server already: unlikely
            self._emit(sid, ("end", failure_text(exc), expected_failure(exc), [], ()))
            return
        sink = _PipeSink(self, sid, angle_rate_hz)
        engine = SessionEngine(source, sink, paced=paced, feed_interval_s=interval_s)
        self._engines[sid] = engine
        self._sinks[sid] = sink
        task = asyncio.get_running_loop().create_task(self._run(sid, engine))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_stop(self, sid: str) -> None:
        engine = self._engines.get(sid)
        if engine is not None:
            engine.stop()

    def _on_relay(self, sid: str, data: bytes) -> None:
        engine = self._engines.get(sid)
        if engine is not None and engine.is_relay:
            engine.feed_relay(data)

    async def _run(self, sid: str, engine: SessionEngine) -> None:
        text, expected = None, True
        try:
            await engine.run()
        except Exception as exc:
            text, expected = failure_text(exc), expected_failure(exc)
            if not expected:
                _log.error("session %s failed", sid, exc_info=exc)
        del self._engines[sid]
        self._sinks.pop(sid).flush_raw()
        self._emit(sid, ("end", text, expected, engine.sensors(), engine.placements))

    async def _push_stats(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL_S)
            for sid, engine in list(self._engines.items()):
                if sid in self._engines:
                    self._emit(sid, ("sensors", engine.sensors(), engine.placements))
                    # One session's counters per turn of the loop: with many sessions
                    # in a worker, all of them at once held up everyone's data.
                    await asyncio.sleep(0)

    # -- to the server

    def _emit(self, sid: str, op: tuple[Any, ...]) -> None:
        if not self._outbox:
            # Once per turn of the loop: every session's step of this tick in one frame.
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append((sid, op))

    def _flush(self) -> None:
        if self._outbox and self._writer is not None and not self._writer.is_closing():
            self._writer.write(_frame(self._outbox))
        self._outbox = []


class _PipeSink:
    """An EngineSink whose calls go to the server, with their arguments.

    In order, except what is off the live path, gathered and sent at least every
    :data:`RAW_INTERVAL_S` (by a timer if no more data comes): raw samples
    (``on_batch``, only stored; one message per sensor), the angles to store
    (``on_angles``) and step timings (``on_step``, metrics). They go before any sensor
    or state report, so those stay in order with them; a step's events can reach the
    server up to RAW_INTERVAL_S before the raw samples behind them. Of a step's angles
    only the live frames due (decimated here, :class:`~service._session.AngleDecimator`) go at
    once (``on_live_angles``), so a step that produced nothing else sends nothing most
    of the time. One message per interval instead of one per notification or step:
    pickling a notification's few samples cost the worker as much as decoding them,
    and the server as much again to read them.
    """

    def __init__(self, worker: _Worker, sid: str, angle_rate_hz: float) -> None:
        self._emit = worker._emit
        self._sid = sid
        self._raw: dict[Placement, list[ImuSamples]] = {}
        self._angles: list[NDArray[np.float64]] = []
        self._live_angles = AngleDecimator(angle_rate_hz)
        self._core: CoreState | None = None
        self._steps: list[int] = []
        self._raw_due_s = 0.0  # the first batch goes at once: it starts the session
        self._raw_timer: asyncio.TimerHandle | None = None

    def on_batch(self, placement: Placement, samples: ImuSamples) -> None:
        self._raw.setdefault(placement, []).append(samples)
        self._held()

    def _held(self) -> None:
        """Something was added to what is held: send it all if due, else set the timer."""
        wait_s = self._raw_due_s - time.monotonic()
        if wait_s <= 0:
            self.flush_raw()
        elif self._raw_timer is None:  # sent on time even if no more data comes
            self._raw_timer = asyncio.get_running_loop().call_later(wait_s, self.flush_raw)

    def flush_raw(self) -> None:
        """Send the raw samples (and step timings) gathered so far."""
        if self._raw_timer is not None:
            self._raw_timer.cancel()
            self._raw_timer = None
        self._raw_due_s = time.monotonic() + RAW_INTERVAL_S
        raw, self._raw = self._raw, {}
        for placement, parts in raw.items():
            self._emit(self._sid, ("on_batch", placement, concat_samples(parts)))
        if self._angles:
            angles, self._angles = self._angles, []
            rows = angles[0] if len(angles) == 1 else np.concatenate(angles)
            self._emit(self._sid, ("on_angles", rows))
        if self._steps:
            steps, self._steps = self._steps, []
            self._emit(self._sid, ("on_steps", steps))

    def on_sensor(self, *args: Any) -> None:
        self.flush_raw()
        self._emit(self._sid, ("on_sensor", *args))

    def on_waiting(self, missing: Any) -> None:
        self.flush_raw()
        self._emit(self._sid, ("on_waiting", list(missing)))

    def on_processing(self, *args: Any) -> None:
        self.flush_raw()
        self._emit(self._sid, ("on_processing", *args))

    def on_events(self, events: list[Event], stamps: StepStamps | None, core: CoreState) -> None:
        others: list[Event] = []
        for e in events:
            if not isinstance(e, AngleBlock):
                others.append(e)
            elif len(e):
                rows = angle_rows(e)
                self._angles.append(rows)
                live = self._live_angles.take(rows)
                if live is not None:
                    if others:  # in order: what the step produced before these angles
                        self._emit(self._sid, ("on_events", others, stamps, core))
                        others, self._core = [], core
                    self._emit(self._sid, ("on_live_angles", live, stamps))
        if others or core != self._core:
            self._emit(self._sid, ("on_events", others, stamps, core))
            self._core = core
        if self._angles:
            self._held()

    def on_step(self, ns: int) -> None:
        self._steps.append(ns)  # step timings (metrics only) go with the raw samples
        self._held()


# ----------------------------------------------------------------------------- server


class RemoteEngine:
    """A session's engine running in a worker process, as the session sees it."""

    _SINK_CALLS = frozenset(
        {
            "on_batch",
            "on_angles",
            "on_sensor",
            "on_waiting",
            "on_processing",
            "on_events",
            "on_live_angles",
        }
    )

    def __init__(
        self,
        worker: _WorkerHandle,
        sid: str,
        sink: LiveSession,
        *,
        placements: tuple[Placement, ...],
        relay: bool,
    ) -> None:
        self._worker = worker
        self._sid = sid
        self._sink = sink
        self._placements = placements
        self._sensors: list[dict[str, Any]] = []
        self._relay = relay
        self._end: asyncio.Future[tuple[str | None, bool]] = (
            asyncio.get_running_loop().create_future()
        )
        self._sink_failure: BaseException | None = None

    @property
    def placements(self) -> tuple[Placement, ...]:
        """The sensors processed (before processing starts: those the source knows)."""
        return self._placements

    def sensors(self) -> list[dict[str, Any]]:
        """Each sensor's counters, as of the worker's last report (≤ 0.5 s old)."""
        return self._sensors

    @property
    def is_relay(self) -> bool:
        """True if the source is fed over the relay WebSocket."""
        return self._relay

    def feed_relay(self, data: bytes) -> None:
        """Bytes received from the relay, forwarded to the worker."""
        self._worker.send(("relay", self._sid, bytes(data)))

    async def run(self) -> None:
        """Return when the worker's engine has ended; raise what ended it."""
        text, expected = await self._end
        if self._sink_failure is not None:
            raise self._sink_failure
        if text is not None:
            raise EngineFailure(text, expected)

    def stop(self) -> None:
        """Ask the worker to stop the engine."""
        self._worker.send(("stop", self._sid))

    def apply(self, op: tuple[Any, ...]) -> None:
        """One report from the worker."""
        name = op[0]
        if name in self._SINK_CALLS:
            if name == "on_processing":
                self._placements = op[1]
            try:
                getattr(self._sink, name)(*op[1:])
            except Exception as exc:  # as in the server's own loop: the session fails
                if self._sink_failure is None:
                    self._sink_failure = exc
                    self.stop()
        elif name == "on_steps":
            for ns in op[1]:
                self._sink.on_step(ns)
        elif name == "sensors":
            self._sensors, self._placements = op[1], op[2]
        elif name == "end":
            self._sensors, self._placements = op[3], op[4] or self._placements
            if not self._end.done():
                self._end.set_result((op[1], op[2]))

    def lost(self, why: str) -> None:
        """The worker is gone: the engine ended with it."""
        if not self._end.done():
            self._end.set_result((why, False))


class _WorkerHandle:
    """The server's end of one worker process."""

    def __init__(self, process: multiprocessing.process.BaseProcess, sock: socket.socket):
        self.process = process
        self._sock = sock
        self.engines: dict[str, RemoteEngine] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(sock=self._sock)
        ready = await _read_frame(self._reader)
        if not ready or ready[0][1][0] != "ready":
            raise RuntimeError(f"worker process {self.process.pid} did not start")
        self._reading = asyncio.get_running_loop().create_task(self._read())

    def send(self, command: tuple[Any, ...]) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(_frame(command))

    async def _read(self) -> None:
        assert self._reader is not None
        while (ops := await _read_frame(self._reader)) is not None:
            for sid, op in ops:
                engine = self.engines.get(sid)
                if engine is not None:
                    engine.apply(op)
                    if op[0] == "end":
                        del self.engines[sid]
        for engine in list(self.engines.values()):
            engine.lost(f"internal error: the worker process (pid {self.process.pid}) stopped")
        self.engines.clear()

    async def close(self, timeout_s: float) -> None:
        self.send(("shutdown",))
        if self._reading is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reading), timeout_s)
        await asyncio.to_thread(self.process.join, timeout_s)
        if self.process.is_alive():
            self.process.kill()
            await asyncio.to_thread(self.process.join, 5)
        if self._writer is not None:
            self._writer.close()


class WorkerPool:
    """Worker processes that run sessions' engines.

    Parameters
    ----------
    n : int
        Worker processes (>= 1).
    factory : callable, optional
        Spec → source, in the workers (picklable); default :func:`ingest.open_source`.
    """

    def __init__(self, n: int, factory: SourceFactory | None = None) -> None:
        self._n = n
        self._factory = factory
        self._workers: list[_WorkerHandle] = []

    async def start(self) -> None:
        """Spawn the workers and wait until each is ready (a second or two).

        Raises
        ------
        ValueError
            The source factory cannot be sent to a worker (it cannot be pickled).
        """
        ctx = multiprocessing.get_context("spawn")
        try:
            for i in range(self._n):
                self._workers.append(await self._spawn(ctx, i))
        except BaseException:
            await self.close(timeout_s=5.0)
            raise
        _log.info("%d worker process(es) started", self._n)

    async def _spawn(self, ctx: Any, i: int) -> _WorkerHandle:
        ours, theirs = socket.socketpair()
        process = ctx.Process(
            target=worker_main,
            args=(theirs, self._factory),
            name=f"squatsense-worker-{i}",
            daemon=True,
        )
        try:
            await asyncio.to_thread(process.start)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            ours.close()
            raise ValueError(
                "Settings.workers needs a source factory that can be pickled "
                f"(a module-level function or a functools.partial of one): {exc}"
            ) from exc
        finally:
            theirs.close()
        handle = _WorkerHandle(process, ours)
        await handle.connect()
        return handle

    def open(
        self,
        sink: LiveSession,
        sid: str,
        spec: Mapping[str, Any],
        *,
        placements: tuple[Placement, ...],
        paced: bool,
        feed_interval_s: float,
        angle_rate_hz: float,
    ) -> RemoteEngine:
        """Start a session's engine in the least busy worker."""
        worker = min(self._workers, key=lambda w: len(w.engines))
        engine = RemoteEngine(
            worker, sid, sink, placements=placements, relay=spec.get("kind") == "relay"
        )
        worker.engines[sid] = engine
        worker.send(("start", sid, dict(spec), paced, feed_interval_s, angle_rate_hz))
        return engine

    async def close(self, timeout_s: float = 15.0) -> None:
        """Stop the workers (their sessions should have been stopped first)."""
        await asyncio.gather(*(w.close(timeout_s) for w in self._workers))
        self._workers.clear()
