"""The interface every live source implements, and the record player shared by most."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from firmware_protocol import PlacementCode, Record, RecordKind
from ingest._channel import RecordSink, SensorChannel
from ingest._clock import ClockParams
from ingest._items import SensorStats, SourceItem, StatusEvent, StatusKind
from processing import Placement

_log = logging.getLogger("ingest")

_END = object()
# Records buffered per channel before one vectorised decode when replaying fast.
_FLUSH_RECORDS = 256


@dataclass(frozen=True)
class SourceParams:
    """Parameters shared by every source.

    Attributes
    ----------
    silence_timeout_s : float
        A connected sensor that sends nothing for this long (session clock) is reported
        ``disconnected``; BLE sources then drop and re-establish its link. Default 1.5 s
        (a BLE supervision timeout is typically 2-6 s; a streaming sensor sends every
        30 ms or faster).
    clock : ClockParams
        Clock-mapping parameters.
    queue_items : int
        Items buffered between the source and a slow consumer before the source waits.
        Default 1024 (BLE notifications are buffered separately, without limit, so a
        slow consumer never loses samples).
    tick_s : float
        0 (default): each notification is decoded as soon as the source's task runs;
        when the process is busy the task runs late and one wake-up decodes everything
        that piled up meanwhile, so calls are batched exactly when CPU is short. Above
        0, live and paced sources hand over what arrived once per tick: a notification
        waits for the next multiple of `tick_s` on the host's monotonic clock (shared
        by all sources of the process, see :meth:`SensorSource.next_tick`), then every
        sensor's notifications of that tick are decoded together. With 100 Hz sensors
        and ATT MTU 247 a sensor sends ~33 notifications/s, so a 10 ms tick still
        decodes one per call; measured (docs/performance.md) it saves 20–33 % of CPU at
        low load and costs ~10 ms of latency, which is why the default is 0. A tick
        helps a single process close to saturating its core, or sensors that notify
        far more often than every 10 ms. Sources replayed as fast as possible ignore it.
    """

    silence_timeout_s: float = 1.5
    clock: ClockParams = field(default_factory=ClockParams)
    queue_items: int = 1024
    tick_s: float = 0.0

    def __post_init__(self) -> None:
        if not (self.tick_s >= 0 and math.isfinite(self.tick_s)):
            raise ValueError(f"tick_s must be a finite number >= 0, got {self.tick_s!r}")


class SensorSource(ABC):
    """A stream of sample batches and status events from the sensors of one session.

    Use it as an async context manager, then iterate::

        async with SimulatedSource("default", speed=0) as source:
            async for item in source:
                if isinstance(item, SensorBatch):
                    core.update(item.placement, item.samples)
                elif item.kind is StatusKind.DISCONNECTED:
                    core.stop_waiting_for(item.placement)

    Iteration ends when the source is exhausted (a replay or simulation reaches its end,
    a relay is closed) and never for BLE (leave the ``async with`` to stop). A failure
    that stops the whole source (Bluetooth unavailable, unreadable file) is raised from
    the iteration as an :class:`~ingest.IngestError`, after every item produced before
    it, so no data already received is lost.

    Subclasses implement :meth:`_run`, which feeds channels and calls :meth:`_emit`.
    """

    def __init__(self, params: SourceParams | None = None) -> None:
        self.params = params or SourceParams()
        self._channels: dict[Placement, SensorChannel] = {}
        self._sinks: list[RecordSink] = []
        self._queue: asyncio.Queue[Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._t0_ns = 0
        self._state = "new"
        self._failure: BaseException | None = None
        self._consumer: Callable[[SourceItem], None] | None = None

    # ------------------------------------------------------------------ public

    @property
    @abstractmethod
    def placements(self) -> tuple[Placement, ...]:
        """The placements this source expects to deliver (known before streaming)."""

    @property
    def t0_ns(self) -> int:
        """Host monotonic time (ns) of session time 0."""
        return self._t0_ns

    def session_time(self) -> float:
        """Current session time, s (host clock since the source started)."""
        return (time.monotonic_ns() - self._t0_ns) * 1e-9

    def next_tick(self, monotonic_s: float) -> float:
        """The first tick at or after `monotonic_s` (``time.monotonic()``); see ``tick_s``.

        Ticks are multiples of ``tick_s`` on the host's monotonic clock, shared by every
        source in the process: their tasks wake together, and decode (then their
        consumers process) one after the other while that code is hot in the caches.
        """
        tick = self.params.tick_s
        if tick <= 0:
            return monotonic_s
        return math.ceil(monotonic_s / tick - 1e-9) * tick

    def stats(self) -> dict[Placement, SensorStats]:
        """A snapshot of every sensor's counters, in :class:`Placement` order."""
        return {p: self._channels[p].stats() for p in Placement if p in self._channels}

    def set_consumer(self, consumer: Callable[[SourceItem], None]) -> None:
        """Hand every item to `consumer` as it is produced, instead of queueing it.

        For a consumer that takes each item at once and returns quickly (a live
        session's engine): per notification it saves a queue round trip and a task
        switch. Call before entering the source. Iterating the source then yields
        nothing, but still ends when the source does, raising what ended it; an
        exception from `consumer` ends the source (as its failure), whichever of the
        source's tasks (or callbacks) produced the item.
        """
        if self._state != "new":
            raise RuntimeError("set the consumer before entering the source")
        self._consumer = consumer

    def add_record_sink(self, sink: RecordSink) -> None:
        """Receive every envelope record (INFO, FRAME, WITMOTION, CONTROL) as it arrives.

        Records carry the host monotonic time in ns and the placement code as channel;
        each sensor's INFO record precedes its frames. The sink is called synchronously
        in the event loop and must not block: append to a file buffer or a queue.
        """
        self._sinks.append(sink)

    def remove_record_sink(self, sink: RecordSink) -> None:
        """Stop sending records to `sink`."""
        self._sinks.remove(sink)

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise RuntimeError("a source can be entered only once; make a new one")
        self._state = "running"
        self._queue = asyncio.Queue(self.params.queue_items)
        self._t0_ns = time.monotonic_ns()
        self._spawn(self._main())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._state = "closed"
        await self._cancel_tasks()
        await self._close()

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> SourceItem:
        if self._queue is None:
            raise RuntimeError("enter the source first: `async with source: async for ...`")
        item = await self._queue.get()
        if item is _END:
            self._queue.put_nowait(_END)  # stay exhausted
            if self._failure is not None:
                raise self._failure
            raise StopAsyncIteration
        return item

    # ------------------------------------------------------------------ for subclasses

    @abstractmethod
    async def _run(self) -> None:
        """Produce items until the source is exhausted (or forever)."""

    async def _close(self) -> None:  # noqa: B027 - optional hook
        """Release resources after the tasks were cancelled."""

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        # Strong references: the loop keeps only weak ones to tasks.
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _cancel_tasks(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _main(self) -> None:
        try:
            await self._run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # surfaced from __anext__, after all earlier items
            self._failure = exc
        assert self._queue is not None
        await self._queue.put(_END)

    async def _emit(self, items: Iterable[SourceItem]) -> None:
        assert self._queue is not None
        if self._consumer is not None:
            try:
                for item in items:
                    self._consumer(item)
            except Exception as exc:  # from whichever task emits: end the source with it
                self._end_with(exc)
            return
        for item in items:
            await self._queue.put(item)

    def _emit_nowait(self, items: Iterable[SourceItem]) -> None:
        """For callbacks: items that must not wait (status only, few)."""
        assert self._queue is not None
        if self._consumer is not None:
            try:
                for item in items:
                    self._consumer(item)
            except Exception as exc:  # from a callback: end the source with it
                self._end_with(exc)
            return
        for item in items:
            try:
                self._queue.put_nowait(item)
            except asyncio.QueueFull:
                self._spawn(self._queue.put(item))

    def _end_with(self, exc: BaseException) -> None:
        """End the source now with `exc` as its failure (its tasks are cancelled)."""
        if self._failure is not None or self._queue is None:
            return
        self._failure = exc
        for task in list(self._tasks):
            task.cancel()
        self._queue.put_nowait(_END)

    def _status(self, kind: StatusKind, placement: Placement | None, message: str) -> StatusEvent:
        prefix = f"{placement}: " if placement is not None else ""
        return StatusEvent(kind, placement, prefix + message, self.session_time())

    def _channel(self, placement: Placement, address: str | None = None) -> SensorChannel:
        ch = self._channels.get(placement)
        if ch is None:
            ch = SensorChannel(
                placement,
                t0_ns=self._t0_ns,
                silence_timeout_s=self.params.silence_timeout_s,
                clock=self.params.clock,
                sinks=self._sinks,
                address=address,
            )
            self._channels[placement] = ch
        return ch


class RecordPlayer:
    """Feed envelope records into a source's channels, batching frames per sensor.

    Records of one sensor are held until :meth:`flush` (or until ``max_pending`` pile
    up), so a fast replay decodes hundreds of frames per vectorised call; a flush
    processes every channel before the silence check, so that a sensor is never
    judged silent while its frames wait here.

    Parameters
    ----------
    source : SensorSource
        Owner of the channels.
    time_base_ns : int or None
        Host time (ns) in the records that maps to session time 0; None to take the
        first record's.
    """

    def __init__(self, source: SensorSource, time_base_ns: int | None = None) -> None:
        self.source = source
        self.time_base_ns = time_base_ns
        self._pending: dict[Placement, tuple[list[int], list[bytes], bool]] = {}
        self._count = 0
        self.now_s = 0.0
        self.unknown_channels: set[int] = set()

    def session_ns(self, record: Record, fallback_ns: int | None = None) -> int:
        """Session-relative host time of a record, in ns (0 = the time base)."""
        host = record.host_time_ns
        if host is None:
            # Firmware on a serial port sends no host time: stamp on receipt.
            host = fallback_ns if fallback_ns is not None else time.monotonic_ns()
        if self.time_base_ns is None:
            self.time_base_ns = host
        return host - self.time_base_ns

    def add(self, record: Record, fallback_ns: int | None = None) -> list[SourceItem]:
        """Take one record; return the items it produced right away (INFO, warnings)."""
        rel_ns = self.session_ns(record, fallback_ns)
        host_ns = self.source.t0_ns + rel_ns
        self.now_s = max(self.now_s, rel_ns * 1e-9)
        try:
            placement = Placement(PlacementCode(record.channel).label)
        except ValueError:
            if record.channel not in self.unknown_channels:
                self.unknown_channels.add(record.channel)
                return [
                    StatusEvent(
                        StatusKind.WARNING,
                        None,
                        f"records on channel {record.channel} skipped: not a placement code",
                        rel_ns * 1e-9,
                    )
                ]
            return []
        ch = self.source._channel(placement)
        if record.kind is RecordKind.INFO:
            items = self.flush_one(placement)
            return items + ch.feed_info(host_ns, record.payload, witmotion=ch.witmotion)
        if record.kind is RecordKind.CONTROL:
            ch.record_control(host_ns, record.payload)
            return []
        wit = record.kind is RecordKind.WITMOTION
        hosts, payloads, kind = self._pending.get(placement, ([], [], wit))
        if kind != wit:
            items = self.flush_one(placement)
            hosts, payloads = [], []
        else:
            items = []
        hosts.append(host_ns)
        payloads.append(record.payload)
        self._pending[placement] = (hosts, payloads, wit)
        self._count += 1
        return items

    @property
    def pending(self) -> int:
        """Frames waiting for :meth:`flush`."""
        return self._count

    def flush_one(self, placement: Placement) -> list[SourceItem]:
        """Decode the frames held for one sensor."""
        entry = self._pending.pop(placement, None)
        if entry is None:
            return []
        hosts, payloads, wit = entry
        self._count -= len(hosts)
        return self.source._channel(placement).feed(hosts, payloads, witmotion=wit)

    def flush(self, now_s: float | None = None) -> list[SourceItem]:
        """Decode everything held, then check every sensor for silence at `now_s`."""
        items: list[SourceItem] = []
        for placement in list(self._pending):
            items += self.flush_one(placement)
        now = self.now_s if now_s is None else now_s
        for ch in self.source._channels.values():
            items += ch.tick(now)
        return items

    def should_flush(self) -> bool:
        """True once enough frames are held for an efficient decode."""
        return self._count >= _FLUSH_RECORDS
