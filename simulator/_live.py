"""Live virtual sensors: the simulated streams as real protocol notifications.

Each virtual sensor speaks the squatsense wire protocol (firmware_protocol): an info
characteristic value and data-frame notifications batched as the ATT MTU allows. Frames
reach the host after the sensor sampled them, by the BLE connection interval plus
jitter, with occasional bursts where the radio was busy and several frames arrive at
once, always in order. Lost frames and dropouts are simply never sent, so the host
sees gaps in the sample counter exactly as with real hardware.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import numpy as np

from firmware_protocol import encode_frames, encode_info, max_samples_per_frame
from processing.consts import Placement
from simulator._imu import SensorStream, sensor_info
from simulator._session import SimulatedSession


@dataclass(frozen=True, slots=True)
class Notification:
    """One BLE notification as the host receives it.

    Attributes
    ----------
    placement : Placement
    host_time_s : float
        Arrival time on the session clock, s.
    payload : bytes
        The data-characteristic value (one data frame).
    n_samples : int
        Samples in the frame.
    """

    placement: Placement
    host_time_s: float
    payload: bytes
    n_samples: int


@dataclass(frozen=True)
class LinkParams:
    """BLE link timing.

    Attributes
    ----------
    att_mtu : int
        Negotiated ATT MTU; frames carry ``max_samples_per_frame(att_mtu)`` samples at most.
        Default 23 (the BLE default, one sample per frame).
    max_batch_s : float
        Firmware sends a frame once it has waited this long even if not full. Default 0.03 s.
    conn_interval_s : float
        BLE connection interval: a frame waits up to this for the next connection event.
        Default 0.015 s.
    burst_probability : float
        Probability that a connection event is missed and frames queue up. Default 0.01.
    burst_delay_s : float
        Longest extra delay of such a burst. Default 0.12 s.
    """

    att_mtu: int = 23
    max_batch_s: float = 0.03
    conn_interval_s: float = 0.015
    burst_probability: float = 0.01
    burst_delay_s: float = 0.12


class VirtualSensor:
    """A simulated sensor that serves the info characteristic and data notifications.

    Parameters
    ----------
    stream : SensorStream
        What the sensor measured (from :func:`simulator.simulate`).
    link : LinkParams
    seed : int
        Seed of the link timing.
    """

    def __init__(self, stream: SensorStream, link: LinkParams | None = None, seed: int = 0):
        self.stream = stream
        self.link = link or LinkParams()
        self.info = sensor_info(stream.config.chip, stream.placement, stream.config.fs_hz)
        self.info_bytes = encode_info(self.info)
        self.placement = stream.placement
        self._rng = np.random.default_rng([seed, 7, list(Placement).index(self.placement)])

    def notifications(self) -> list[Notification]:
        """Every notification of the session, in arrival order."""
        s = self.stream
        per_frame = min(
            max_samples_per_frame(self.link.att_mtu),
            max(1, int(self.link.max_batch_s * s.config.fs_hz)),
        )
        counter = s.counter.astype(np.int64)
        # Frames only hold consecutive samples: split where the counter jumps (loss).
        breaks = np.flatnonzero(np.diff(counter) % 65536 != 1) + 1
        out: list[tuple[float, bytes, int]] = []
        for lo, hi in zip(np.r_[0, breaks], np.r_[breaks, len(s)], strict=True):
            frames = encode_frames(
                s.acc_counts[lo:hi],
                s.gyr_counts[lo:hi],
                self.info,
                counter0=int(counter[lo]) % 65536,
                t0_us=int(s.sensor_time_us[lo]) % 2**32,
                att_mtu=self.link.att_mtu,
                samples_per_frame=per_frame,
            )
            last_sample = np.minimum(np.arange(len(frames)) * per_frame + per_frame, hi - lo) - 1
            ready = s.true_time_s[lo:hi][last_sample]
            for t, frame, n in zip(ready, frames, np.diff(np.r_[0, last_sample + 1]), strict=True):
                out.append((float(t), frame, int(n)))
        ready = np.array([o[0] for o in out])
        delay = self._rng.uniform(0.0, self.link.conn_interval_s, ready.size)
        burst = self._rng.random(ready.size) < self.link.burst_probability
        delay[burst] += self._rng.uniform(0.0, self.link.burst_delay_s, int(burst.sum()))
        # BLE delivers in order: a delayed frame holds back the ones behind it.
        arrival = np.maximum.accumulate(ready + delay)
        return [
            Notification(self.placement, float(a), frame, n)
            for a, (_, frame, n) in zip(arrival, out, strict=True)
        ]


def merged_notifications(
    session: SimulatedSession, link: LinkParams | None = None, seed: int = 0
) -> tuple[dict[Placement, VirtualSensor], list[Notification]]:
    """Virtual sensors of a session and all their notifications, by arrival time."""
    sensors = {p: VirtualSensor(s, link, seed) for p, s in session.streams.items()}
    every = [n for v in sensors.values() for n in v.notifications()]
    every.sort(key=lambda n: n.host_time_s)
    return sensors, every


async def stream_live(
    notifications: list[Notification], *, speed: float = 1.0, tick_s: float = 0.01
) -> AsyncIterator[Notification]:
    """Yield notifications at their arrival times.

    Parameters
    ----------
    notifications : list of Notification
        In arrival order.
    speed : float
        1 = real time, 2 = twice as fast, 0 = as fast as possible (yielding to the event
        loop now and then so other tasks run).
    tick_s : float
        Sleep granularity, s.
    """
    if speed < 0:
        raise ValueError(f"speed must be >= 0, got {speed}")
    start = time.monotonic()
    for i, n in enumerate(notifications):
        if speed > 0:
            due = start + n.host_time_s / speed
            wait = due - time.monotonic()
            if wait > tick_s:
                await asyncio.sleep(wait)
        elif i % 256 == 0:
            await asyncio.sleep(0)
        yield n
