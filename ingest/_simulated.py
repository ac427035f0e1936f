"""A source of simulated sensors that speak the real protocol, through the real path."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator

from firmware_protocol import Record, RecordKind
from ingest._channel import placement_code
from ingest._errors import SourceSpecError
from ingest._source import RecordPlayer, SensorSource, SourceParams
from processing import Placement
from simulator import LinkParams, SimulatedSession, SimulationConfig, merged_notifications, simulate

# Pacing: sleeps shorter than this are skipped (the loop's timer resolution is ~1 ms).
_MIN_SLEEP_S = 0.002


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
    """Feed records into `source` at `speed` times their recorded pace (0: at once)."""
    start = time.monotonic()
    for record in records:
        rel_s = player.session_ns(record) * 1e-9
        if speed > 0:
            wait = start + rel_s / speed - time.monotonic()
            if wait > _MIN_SLEEP_S:
                await source._emit(player.flush())
                await asyncio.sleep(wait)
        await source._emit(player.add(record))
        if speed > 0 or player.should_flush():
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

    def _records(self, session: SimulatedSession) -> Iterator[Record]:
        sensors, notes = merged_notifications(session, self.link, self.config.seed)
        for placement, sensor in sensors.items():
            yield Record(RecordKind.INFO, sensor.info_bytes, placement_code(placement), 0)
        end_ns = None if self.duration_s is None else round(self.duration_s * 1e9)
        for note in notes:
            host_ns = round(note.host_time_s * 1e9)
            if end_ns is not None and host_ns > end_ns:
                break
            yield Record(RecordKind.FRAME, note.payload, placement_code(note.placement), host_ns)

    async def _run(self) -> None:
        session = self.session
        if session is None:
            session = await asyncio.to_thread(simulate, self.config)
            self.session = session
        # Session time 0 is when the virtual sensors start, not when simulating began.
        self._t0_ns = time.monotonic_ns()
        player = RecordPlayer(self, time_base_ns=0)
        await play_records(self, self._records(session), player, self.speed)
