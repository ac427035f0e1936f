"""Replay a recording CSV or a raw frame log as a live source."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from firmware_protocol import PlacementCode, RecordKind, StreamReader
from ingest._errors import SourceSpecError
from ingest._items import StatusKind
from ingest._rawlog import RawLogReader, is_raw_log
from ingest._recording import iter_recording
from ingest._simulated import check_speed, play_records
from ingest._source import RecordPlayer, SensorSource, SourceParams
from processing import Placement

# Rows per CSV block: small when paced (a block is emitted at its last sample's time),
# large when as fast as possible.
_PACED_ROWS = 40
_FAST_ROWS = 50_000
_PEEK_BYTES = 1 << 16
_PEEK_ROWS = 4000


class ReplaySource(SensorSource):
    """Replay a recording CSV or a raw frame log at a chosen speed.

    The kind of file is recognised by its first bytes (``A5 5A``: raw frame log). A raw
    frame log goes through the full decode, loss-accounting and clock-mapping path, so
    its replay yields exactly what the live source would have (on the log's own clock:
    0 = its first record), with the same status events; damaged bytes are skipped with
    a ``warning``. A CSV's samples are already on the session clock and are passed on.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    speed : float
        1 = real time, 0 = as fast as possible. Default 1.
    params : SourceParams, optional
        Silence timeout (a sensor that stops for longer is reported disconnected) and
        clock mapping.

    Raises
    ------
    SourceSpecError
        For a bad speed (on construction).
    OSError
        If the file cannot be opened (on construction).
    RecordingError, RawLogError
        From the iteration, for a file that is neither a valid CSV nor a raw log, after
        every sample read before the bad line.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        speed: float = 1.0,
        *,
        params: SourceParams | None = None,
    ) -> None:
        super().__init__(params)
        if not isinstance(path, str | os.PathLike):
            raise SourceSpecError(f"expected a file path, got {path!r}", key="path")
        self.path = Path(path)
        self.speed = check_speed(speed)
        self.raw = is_raw_log(self.path)
        self._placements = self._peek_placements()

    @property
    def placements(self) -> tuple[Placement, ...]:
        """Sensors found at the start of the file (INFO records, or the CSV's first rows)."""
        return self._placements

    def _peek_placements(self) -> tuple[Placement, ...]:
        found: set[Placement] = set()
        try:
            if self.raw:
                with open(self.path, "rb") as fh:
                    records = StreamReader().feed(fh.read(_PEEK_BYTES))
                for r in records:
                    if r.kind is RecordKind.INFO and 1 <= r.channel <= 4:
                        found.add(Placement(PlacementCode(r.channel).label))
            else:
                for placement, _ in iter_recording(self.path, chunk_rows=_PEEK_ROWS, required=()):
                    found.add(placement)
                    if len(found) == len(Placement):
                        break
        except ValueError:
            pass  # a bad file is reported when iterated, after what can be read
        return tuple(p for p in Placement if p in found)

    async def _run(self) -> None:
        self._t0_ns = time.monotonic_ns()
        if self.raw:
            await self._run_raw()
        else:
            await self._run_csv()

    async def _run_raw(self) -> None:
        reader = RawLogReader(self.path)
        player = RecordPlayer(self)
        try:
            await play_records(self, reader.records(), player, self.speed)
        finally:
            if damage := reader.damage():
                await self._emit([self._status(StatusKind.WARNING, None, damage)])

    async def _run_csv(self) -> None:
        rows = _PACED_ROWS if self.speed > 0 else _FAST_ROWS
        blocks = iter_recording(self.path, chunk_rows=rows, required=())
        start = time.monotonic()
        origin: float | None = None
        while True:
            # Parsing a block is blocking work: keep the event loop responsive.
            chunk = (
                await asyncio.to_thread(next, blocks, None)
                if self.speed == 0
                else next(blocks, None)
            )
            if chunk is None:
                break
            placement, samples = chunk
            if origin is None:
                origin = float(samples.time_s[0])
            if self.speed > 0:
                wait = start + (float(samples.time_s[-1]) - origin) / self.speed - time.monotonic()
                if wait > 0.002:
                    await asyncio.sleep(wait)
            # A sensor's own gaps are found by feed_samples; other sensors are not
            # ticked here, since a block of one sensor may run ahead of the others'.
            await self._emit(self._channel(placement).feed_samples(samples))
