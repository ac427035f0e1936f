"""A source of simulated sensors that speak the real protocol, through the real path."""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from firmware_protocol import PlacementCode, Record, RecordKind
from ingest._channel import placement_code
from ingest._errors import SourceSpecError
from ingest._source import _FLUSH_RECORDS, RecordPlayer, SensorSource, SourceParams
from processing import Placement
from simulator import LinkParams, SimulatedSession, SimulationConfig, merged_notifications, simulate


def check_speed(speed: object, key: str = "speed") -> float:
    """Validate a replay speed: a finite number >= 0 (0 = as fast as possible)."""
    if isinstance(speed, bool) or not isinstance(speed, int | float):
        raise SourceSpecError(f"expected a number >= 0, got {speed!r}", key=key)
    if not math.isfinite(speed) or speed < 0:
        raise SourceSpecError(f"expected a finite number >= 0, got {speed!r}", key=key)
    return float(speed)


async def play_records(
    source: SensorSource, records: Iterator[Record], player: RecordPlayer, speed: float
) -> None:
    """Feed records into `source` at `speed` times their recorded pace (0: at once).

    Paced, a record is handed over once its time has come (never before; with
    ``SourceParams.tick_s`` set, at the source's next tick): everything that arrived by
    then is decoded together, one call per sensor, and the task sleeps until the next
    record is due. When the event loop is busy and the task wakes late, that one wake-up
    decodes all that queued up meanwhile, so the cost per notification falls exactly
    when CPU is short.
    """
    start = time.monotonic()
    for record in records:
        if speed > 0:
            due = source.next_tick(start + player.session_ns(record) * 1e-9 / speed)
            wait = due - time.monotonic()
            if wait > 0:
                await source._emit(player.flush())
                await asyncio.sleep(wait)
        await source._emit(player.add(record))
        if player.should_flush():
            await source._emit(player.flush())
            await asyncio.sleep(0)
    await source._emit(player.flush())


class SimulatedSource(SensorSource):
    """Virtual sensors from :mod:`simulator`, decoded and timed as real ones are.

    The simulator's sensors encode their samples into protocol notifications with BLE
    timing (batching, connection-interval jitter, bursts, lost frames, dropouts); this
    source feeds them, stamped with their simulated arrival time, through the same
    decode, loss-accounting and clock-mapping path as :class:`BleSource`. So what it
    yields tests that path end to end, and its session clock is the simulation's.

    Parameters
    ----------
    profile : str
        Athlete profile (``simulator.PROFILES``). Default ``"default"``.
    seed : int
        Seed of the simulation and of the link timing. Default 0.
    speed : float
        1 = real time, 2 = twice as fast, 0 = as fast as possible. Default 1.
    link : simulator.LinkParams, optional
        BLE link timing (ATT MTU, connection interval, bursts). Default
        ``LinkParams(att_mtu=247)``: frames of up to 3 samples at 100 Hz.
    config : simulator.SimulationConfig, optional
        Full simulation config; overrides `profile` and `seed`.
    session : simulator.SimulatedSession, optional
        An already simulated session (simulating takes ~3 s); overrides `config`.
    duration_s : float, optional
        Stop after this much session time. Default: the whole session.
    params : SourceParams, optional
        Silence timeout and clock mapping.

    Raises
    ------
    SourceSpecError
        For an unknown profile or a bad speed or duration (on construction).
    """

    def __init__(
        self,
        profile: str = "default",
        seed: int = 0,
        speed: float = 1.0,
        *,
        link: LinkParams | None = None,
        config: SimulationConfig | None = None,
        session: SimulatedSession | None = None,
        duration_s: float | None = None,
        params: SourceParams | None = None,
    ) -> None:
        super().__init__(params)
        from simulator import PROFILES

        self.speed = check_speed(speed)
        if duration_s is not None:
            check_speed(duration_s, "duration_s")
        self.duration_s = duration_s
        if session is not None:
            config = session.config
        elif config is None:
            config = SimulationConfig(profile=profile, seed=seed)
        if config.profile not in PROFILES:
            raise SourceSpecError(
                f"unknown profile {config.profile!r}; known: {', '.join(sorted(PROFILES))}",
                key="profile",
            )
        self.config = config
        self.link = link or LinkParams(att_mtu=247)
        self.session = session
        profile_obj = PROFILES[config.profile]
        self._placements = tuple(
            p for p in Placement if p is not Placement.LUMBAR or profile_obj.with_lumbar
        )

    @property
    def placements(self) -> tuple[Placement, ...]:
        """The simulated sensors."""
        return self._placements

    def _timeline(self, session: SimulatedSession) -> _Timeline:
        """Every record the sensors will send, in arrival order (blocking: ~0.1 s)."""
        sensors, notes = merged_notifications(session, self.link, self.config.seed)
        infos = [
            Record(RecordKind.INFO, sensor.info_bytes, placement_code(placement), 0)
            for placement, sensor in sensors.items()
        ]
        host_ns = np.round(np.array([n.host_time_s for n in notes]) * 1e9).astype(np.int64)
        keep = len(notes)
        if self.duration_s is not None:
            keep = int(np.searchsorted(host_ns, round(self.duration_s * 1e9), side="right"))
        codes = {p: placement_code(p) for p in sensors}
        payloads = [n.payload for n in notes[:keep]]
        # Arrays and one bytes object, not a list of ~20 000 payloads per session: the
        # garbage collector never has to walk them (a full collection in a worker with
        # many sessions walked every one of them, a pause of tens of ms).
        return _Timeline(
            infos,
            host_ns[:keep],
            np.array([codes[n.placement] for n in notes[:keep]], dtype=np.uint8),
            b"".join(payloads),
            np.cumsum([0, *map(len, payloads)], dtype=np.int64),
        )

    def _records(self, timeline: _Timeline) -> Iterator[Record]:
        yield from timeline.infos
        blob, ends = timeline.payloads, timeline.ends.tolist()
        for i, (host_ns, code) in enumerate(
            zip(timeline.host_ns.tolist(), timeline.codes.tolist(), strict=True)
        ):
            yield Record(RecordKind.FRAME, blob[ends[i] : ends[i + 1]], code, host_ns)

    async def _run(self) -> None:
        session = self.session
        if session is None:
            session = await asyncio.to_thread(simulate, self.config)
            self.session = session
        # In a thread: other sessions keep streaming meanwhile.
        timeline = await asyncio.to_thread(self._timeline, session)
        # Session time 0 is when the virtual sensors start, not when simulating began.
        self._t0_ns = time.monotonic_ns()
        start = time.monotonic()
        player = RecordPlayer(self, time_base_ns=0)
        if self.speed == 0:
            await play_records(self, self._records(timeline), player, self.speed)
            return
        for info in timeline.infos:
            await self._emit(player.add(info))
        await self._play_paced(timeline, start)

    async def _play_paced(self, timeline: _Timeline, start: float) -> None:
        """Hand the frames over as their arrival times come, as :func:`play_records` does.

        The same batches and silence checks (what is due when the task wakes, at most
        ``_FLUSH_RECORDS`` frames, is decoded together, one call per sensor, then every
        sensor is checked for silence at the newest frame's time; with
        ``SourceParams.tick_s``, frames are due at the tick after their arrival),
        without a record object per frame: with many live sessions in one process, the
        simulation's own cost per notification was close to that of decoding it. A
        full batch (the task is far behind) gives way to the event loop after it.
        """
        # Typed arrays, not lists: indexed as fast, and the garbage collector does not
        # walk their ~20 000 numbers per session on every full collection (with dozens
        # of sessions in a process, lists made each full collection a ~10 ms pause).
        due_s = array("d", (start + timeline.host_ns * (1e-9 / self.speed)).tobytes())
        host_ns = array("q", (self.t0_ns + timeline.host_ns).tobytes())
        rel_s = array("d", (timeline.host_ns * 1e-9).tobytes())
        ends = array("q", timeline.ends.astype(np.int64).tobytes())
        blob = timeline.payloads
        codes = timeline.codes.tobytes()
        by_code = {c: self._channel(Placement(PlacementCode(c).label)) for c in set(codes)}
        channels = list(self._channels.values())
        ticked = self.params.tick_s > 0
        i, n = 0, len(due_s)
        while i < n:
            now = time.monotonic()
            wake = self.next_tick(due_s[i])
            slept = wake > now
            if slept:
                await asyncio.sleep(wake - now)
                now = max(time.monotonic(), wake)
            last = min(i + _FLUSH_RECORDS, n)
            if ticked:  # due: its tick has come
                j = i + 1
                while j < last and self.next_tick(due_s[j]) <= now:
                    j += 1
            else:
                j = min(max(bisect.bisect_right(due_s, now, i), i + 1), last)
            if j == i + 1:  # the usual case, live: one notification
                items = by_code[codes[i]].feed([host_ns[i]], [blob[ends[i] : ends[j]]])
            else:
                held: dict[int, tuple[list[int], list[bytes]]] = {}
                for k in range(i, j):
                    hosts, payloads = held.setdefault(codes[k], ([], []))
                    hosts.append(host_ns[k])
                    payloads.append(blob[ends[k] : ends[k + 1]])
                items = []
                for code, (hosts, payloads) in held.items():
                    items += by_code[code].feed(hosts, payloads)
            for ch in channels:
                items += ch.tick(rel_s[j - 1])
            capped = j - i == _FLUSH_RECORDS
            i = j
            await self._emit(items)
            if capped:  # far behind: give way between batches, as play_records does
                await asyncio.sleep(0)


@dataclass(frozen=True)
class _Timeline:
    """A simulated session's records: INFO first, then frames by arrival time (ns)."""

    infos: list[Record]
    host_ns: NDArray[np.int64]
    codes: NDArray[np.uint8]
    payloads: bytes  # all frames, joined
    ends: NDArray[np.int64]  # frame i is payloads[ends[i]:ends[i + 1]]
