"""The raw frame log: durable, append-only storage of everything the sensors sent.

A raw frame log is a byte stream of envelope records (PROTOCOL.md §5): each sensor's
INFO record first, then every notification verbatim (FRAME or WITMOTION records) and
every control command, each with the host's monotonic time in ns and the placement
code as channel. It is what ``squatsense record`` writes while streaming; the recording
CSV is exported from it, and :class:`~ingest.ReplaySource` replays it through the same
decode and clock-mapping path as the live sensors.

Durability: records are appended to the file as they arrive and flushed to the
operating system at least every ``flush_interval_s`` (0.25 s), so a process killed
with SIGKILL loses at most the last quarter second; ``os.fsync`` runs once a second
(off the event loop) so a power cut loses little more. A record cut in half by the
kill is rejected by its CRC when read back; everything before it is intact.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from firmware_protocol import RECORD_MAGIC, Record, StreamReader, encode_record
from ingest._errors import RawLogError
from ingest._items import SensorBatch, SensorStats, StatusEvent
from processing import ImuSamples, Placement

#: Conventional file extension of a raw frame log.
RAW_LOG_SUFFIX: str = ".sslog"
_READ_CHUNK = 1 << 20


class RawLogWriter:
    """Append envelope records to a raw frame log; use as a source's record sink.

    Parameters
    ----------
    path : str or os.PathLike
        The log file; created, or appended to if it exists (a log may hold several
        sessions back to back: each starts with its INFO records).
    flush_interval_s : float
        Longest time a record stays in this process's buffer, s. Default 0.25 s.
    fsync_interval_s : float
        How often :meth:`run` asks the OS to write the file to disk, s. Default 1 s.

    Examples
    --------
    >>> async with SimulatedSource(speed=0) as source:  # doctest: +SKIP
    ...     with RawLogWriter("session.sslog") as log:
    ...         source.add_record_sink(log)
    ...         flusher = asyncio.create_task(log.run())
    ...         async for item in source: ...
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        flush_interval_s: float = 0.25,
        fsync_interval_s: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.fsync_interval_s = fsync_interval_s
        self._fh: IO[bytes] | None = open(self.path, "ab")  # noqa: SIM115 - closed in close()
        self._last_flush = time.monotonic()
        self.records_written = 0
        self.bytes_written = 0

    def __call__(self, record: Record) -> None:
        """Append one record (the :data:`~ingest.RecordSink` signature)."""
        if self._fh is None:
            return  # closed: a source may still deliver while shutting down
        data = encode_record(record)
        self._fh.write(data)
        self.records_written += 1
        self.bytes_written += len(data)
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Hand buffered records to the operating system (survives a killed process)."""
        if self._fh is not None:
            self._fh.flush()
        self._last_flush = time.monotonic()

    async def run(self) -> None:
        """Flush every ``flush_interval_s`` and fsync every ``fsync_interval_s``, forever.

        Run it as a task next to the source: it bounds the loss when records stop
        arriving (the per-record check in :meth:`__call__` covers a busy stream).
        """
        last_sync = time.monotonic()
        while self._fh is not None:
            await asyncio.sleep(self.flush_interval_s)
            if self._fh is None:
                break
            self.flush()
            if time.monotonic() - last_sync >= self.fsync_interval_s:
                last_sync = time.monotonic()
                await asyncio.to_thread(os.fsync, self._fh.fileno())

    def close(self) -> None:
        """Flush, fsync and close the file."""
        if self._fh is None:
            return
        fh, self._fh = self._fh, None
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()

    def __enter__(self) -> RawLogWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_raw_log(path: str | os.PathLike[str]) -> bool:
    """True if the file starts with the envelope's magic (a raw frame log)."""
    with open(path, "rb") as fh:
        return fh.read(len(RECORD_MAGIC)) == RECORD_MAGIC


class RawLogReader:
    """Read the records of a raw frame log, resynchronising after damage.

    Attributes
    ----------
    path : Path
    skipped_bytes, bad_records, unknown_records : int
        The :class:`~firmware_protocol.StreamReader` counters, final once
        :meth:`records` is exhausted.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._reader = StreamReader()
        self.records_read = 0

    @property
    def skipped_bytes(self) -> int:
        """Bytes not delivered in a record (damage, or a tail cut by a kill)."""
        return self._reader.skipped_bytes

    @property
    def bad_records(self) -> int:
        """Records rejected (CRC mismatch, cut off)."""
        return self._reader.bad_records

    @property
    def unknown_records(self) -> int:
        """Intact records of a kind this version does not know."""
        return self._reader.unknown_records

    def records(self) -> Iterator[Record]:
        """Every intact record, in file order.

        Raises
        ------
        RawLogError
            If the file holds no record at all (not a raw frame log).
        """
        with open(self.path, "rb") as fh:
            while chunk := fh.read(_READ_CHUNK):
                for record in self._reader.feed(chunk):
                    self.records_read += 1
                    yield record
        for record in self._reader.finish():
            self.records_read += 1
            yield record
        if self.records_read == 0:
            raise RawLogError(
                str(self.path),
                f"no envelope record in {self._reader.skipped_bytes} bytes "
                "(expected a raw frame log starting A5 5A)",
            )

    def damage(self) -> str:
        """One line on damage found so far, or "" if none."""
        if not (self.skipped_bytes or self.bad_records):
            return ""
        return (
            f"{self.path}: skipped {self.skipped_bytes} damaged byte(s), "
            f"{self.bad_records} damaged record(s) (the samples in them are lost, "
            "none invented)"
        )


@dataclass(frozen=True)
class RawLogContents:
    """A raw frame log decoded in full (see :func:`load_raw_log`).

    Attributes
    ----------
    samples : dict of Placement to ImuSamples
        Per sensor, on the log's session clock (0 = first record), SI units.
    events : list of StatusEvent
        Status events the replay produced (connects, losses, warnings).
    stats : dict of Placement to SensorStats
        Final counters per sensor.
    skipped_bytes, bad_records : int
        Damage found.
    """

    samples: dict[Placement, ImuSamples]
    events: list[StatusEvent]
    stats: dict[Placement, SensorStats]
    skipped_bytes: int
    bad_records: int


def load_raw_log(path: str | os.PathLike[str]) -> RawLogContents:
    """Decode a whole raw frame log, as fast as possible, without an event loop.

    Goes through exactly the path of :class:`~ingest.ReplaySource` (and of the live
    sources): the samples equal what a replay at any speed yields.

    Raises
    ------
    RawLogError
        If the file holds no record.
    OSError
        If it cannot be read.
    """
    from ingest._replay import ReplaySource
    from ingest._source import RecordPlayer

    source = ReplaySource(path, speed=0.0)
    reader = RawLogReader(path)
    player = RecordPlayer(source)
    parts: dict[Placement, list[ImuSamples]] = {}
    events: list[StatusEvent] = []

    def take(items: list) -> None:
        for item in items:
            if isinstance(item, SensorBatch):
                parts.setdefault(item.placement, []).append(item.samples)
            else:
                events.append(item)

    for record in reader.records():
        take(player.add(record))
        if player.should_flush():
            take(player.flush())
    take(player.flush())
    samples = {
        p: ImuSamples(
            np.concatenate([s.time_s for s in parts[p]]),
            np.concatenate([s.acc_mps2 for s in parts[p]]),
            np.concatenate([s.gyr_rps for s in parts[p]]),
        )
        for p in Placement
        if p in parts
    }
    return RawLogContents(samples, events, source.stats(), reader.skipped_bytes, reader.bad_records)


def export_raw_log(
    raw_path: str | os.PathLike[str], csv_path: str | os.PathLike[str]
) -> RawLogContents:
    """Write the recording CSV of a raw frame log; return what was decoded.

    The CSV's ``time_s`` is the log's session clock (0 = its first record).
    """
    from ingest._recording import write_recording

    contents = load_raw_log(raw_path)
    write_recording(csv_path, contents.samples)
    return contents
