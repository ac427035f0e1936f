"""Network relay: envelope records from a remote ingester, over a WebSocket.

A small box next to the athlete runs the BLE source and forwards its envelope records
(:func:`relay_forward`); the service runs a :class:`RelaySource` on them.

Wire: each WebSocket binary message holds one or more whole envelope records
(PROTOCOL.md §5), each with the remote host's monotonic time and the placement code as
channel; every (re)connection starts with each sensor's latest INFO record, so the
stream is self-describing from any point. The receiving side treats the messages as a
byte stream (a :class:`~firmware_protocol.StreamReader`), so damage or a message cut in
two costs records, never invents samples. Timing survives the network: arrival times are
the remote box's BLE stamps, so clock mapping is done as well as on the box itself,
whatever the network jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

from firmware_protocol import Record, RecordKind, StreamReader, encode_record
from ingest._errors import RelayError
from ingest._items import SourceItem, StatusEvent, StatusKind
from ingest._source import RecordPlayer, SensorSource, SourceParams
from processing import Placement

_log = logging.getLogger("ingest.relay")

_EOF = object()
# Records kept for a relay that is down, then the oldest are dropped (and counted).
_MAX_BACKLOG_RECORDS = 60_000


class RelaySource(SensorSource):
    """Samples from a remote ingester, received as envelope records.

    Transport-agnostic: whoever receives the bytes (the service's WebSocket endpoint,
    a test, a serial port) calls :meth:`feed`; :meth:`feed_eof` ends the stream.

    Parameters
    ----------
    placements : sequence of Placement, optional
        Sensors expected (for :attr:`placements`); others are accepted as they appear.
    params : SourceParams, optional
        Silence timeout and clock mapping.

    Notes
    -----
    The session clock is the remote box's: 0 is the time stamp of the first record
    received. Silence is judged on that clock advanced by local time since the last
    message, so a network outage shows as every sensor going ``disconnected``.
    """

    def __init__(
        self, placements: tuple[Placement, ...] = (), *, params: SourceParams | None = None
    ) -> None:
        super().__init__(params)
        self._expected = tuple(Placement(p) for p in placements)
        self._inbox: asyncio.Queue[bytes | object] = asyncio.Queue()
        self._reader = StreamReader()
        self._last_local = time.monotonic()
        self.bytes_received = 0

    @property
    def placements(self) -> tuple[Placement, ...]:
        """Sensors expected or seen so far."""
        seen = set(self._expected) | set(self._channels)
        return tuple(p for p in Placement if p in seen)

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Hand over received bytes (any split: whole records need not align)."""
        self._inbox.put_nowait(bytes(data))

    def feed_eof(self) -> None:
        """The remote closed the stream: finish what is buffered, then end iteration."""
        self._inbox.put_nowait(_EOF)

    async def _run(self) -> None:
        player = RecordPlayer(self)
        self._spawn(self._watch(player))
        while True:
            data = await self._inbox.get()
            self._last_local = time.monotonic()
            if data is _EOF:
                records = self._reader.finish()
            else:
                assert isinstance(data, bytes)
                self.bytes_received += len(data)
                records = self._reader.feed(data)
            now = time.monotonic_ns()
            for record in records:
                await self._emit(player.add(record, fallback_ns=now))
            if self._inbox.empty():
                await self._emit(player.flush())
            if data is _EOF:
                await self._emit(player.flush())
                if self._reader.skipped_bytes or self._reader.bad_records:
                    await self._emit([self._damage()])
                return

    def _damage(self) -> StatusEvent:
        return self._status(
            StatusKind.WARNING,
            None,
            f"relay: skipped {self._reader.skipped_bytes} damaged byte(s), "
            f"{self._reader.bad_records} damaged record(s)",
        )

    async def _watch(self, player: RecordPlayer) -> None:
        """Silence checks on the remote clock, advanced by local time when idle."""
        tick_s = min(0.25, self.params.silence_timeout_s / 4)
        while True:
            await asyncio.sleep(tick_s)
            if player.time_base_ns is None:
                continue
            now = player.now_s + (time.monotonic() - self._last_local)
            items: list[SourceItem] = []
            for ch in self._channels.values():
                items += ch.tick(now)
            await self._emit(items)


Connect = Callable[[str], Awaitable[object]]


async def relay_forward(
    source: SensorSource,
    url: str,
    *,
    on_item: Callable[[SourceItem], None] | None = None,
    retry: bool = True,
    backoff_max_s: float = 8.0,
) -> None:
    """Run `source` and forward its envelope records to a relay WebSocket at `url`.

    For the box next to the athlete: ``await relay_forward(BleSource(), "ws://coach:8000/relay")``.
    Records are sent as binary messages (at most every 20 ms, batched), each
    (re)connection first replays every sensor's latest INFO record; while the relay is
    unreachable, up to 60 000 records wait (about 2.5 min of four sensors) and older
    ones are dropped and counted. Returns when the source is exhausted and everything
    was sent.

    Parameters
    ----------
    source : SensorSource
        Not yet entered; this function enters it.
    url : str
        ``ws://`` or ``wss://`` URL of the relay endpoint.
    on_item : callable, optional
        Called with every batch and status event of the source (e.g. to print status).
    retry : bool
        Reconnect with backoff when the relay drops or cannot be reached; if False, the
        first failure raises :class:`RelayError`. Default True.
    backoff_max_s : float
        Longest wait between reconnection attempts, s.

    Raises
    ------
    RelayError
        When the relay cannot be reached and `retry` is False.
    """
    from websockets.asyncio.client import connect
    from websockets.exceptions import WebSocketException

    backlog: deque[Record] = deque()
    infos: dict[int, Record] = {}
    dropped = 0
    wake = asyncio.Event()
    done = asyncio.Event()

    def sink(record: Record) -> None:
        nonlocal dropped
        if record.kind is RecordKind.INFO:
            infos[record.channel] = record
        backlog.append(record)
        if len(backlog) > _MAX_BACKLOG_RECORDS:
            backlog.popleft()
            dropped += 1
        wake.set()

    async def pump() -> None:
        try:
            async with source:
                async for item in source:
                    if on_item is not None:
                        on_item(item)
        finally:
            done.set()
            wake.set()

    async def send_all() -> None:
        delay = 0.5
        first = True
        while True:
            try:
                async with connect(url, max_size=None) as ws:
                    delay = 0.5
                    if not first:
                        await ws.send(b"".join(encode_record(r) for r in infos.values()))
                    first = False
                    while True:
                        while backlog:
                            # Pop only what was sent: a failed send keeps its records.
                            batch = list(itertools.islice(backlog, 2000))
                            await ws.send(b"".join(encode_record(r) for r in batch))
                            for _ in batch:
                                backlog.popleft()
                        if done.is_set():
                            return
                        wake.clear()
                        await wake.wait()
                        await asyncio.sleep(0.02)  # batch what arrives meanwhile
            except (OSError, WebSocketException, TimeoutError) as exc:
                if not retry:
                    raise RelayError(url, str(exc) or type(exc).__name__) from exc
                _log.warning("relay %s: %s; retrying in %.1f s", url, exc, delay)
                await asyncio.sleep(delay)
                delay = min(backoff_max_s, delay * 2)

    source.add_record_sink(sink)
    pump_task = asyncio.create_task(pump())
    try:
        await send_all()
        await pump_task
    finally:
        pump_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump_task
        source.remove_record_sink(sink)
    if dropped:
        _log.warning("relay %s: %d record(s) dropped while it was unreachable", url, dropped)
