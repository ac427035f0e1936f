"""Common time base: resample every sensor onto one uniform grid, streaming.

Sensors have their own rates, sampling instants and gaps. The grid is ``t_k = k / fs_hz``
on the session clock. A grid point is filled for a sensor by linear interpolation
between the samples just before and just after it, if they are at most ``max_gap_s``
apart (or a sample falls exactly on it); otherwise the sensor is *missing* there and
its values are NaN. No value is ever invented across a long gap.

Streaming: a grid point is emitted once every connected sensor has delivered data up
to it, so the output does not depend on how the input was chunked. A live source that
knows a sensor has gone silent calls :meth:`GridResampler.mark_disconnected` so the
others are not held back; that sensor is missing until its data flows again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from processing._jit import compiled
from processing._types import ImuSamples
from processing.consts import Placement

_EPS_S = 1e-9  # grid times are k / fs; guard the floor against rounding


@dataclass(frozen=True, slots=True)
class GridChunk:
    """Samples of all sensors on consecutive points of the common grid.

    Attributes
    ----------
    k0 : int
        Grid index of the first point (``time_s[0] == k0 / fs_hz``).
    time_s : ndarray, shape (K,)
    acc_mps2, gyr_rps : dict of Placement to ndarray, shape (K, 3)
        NaN where the sensor is missing.
    valid : dict of Placement to ndarray of bool, shape (K,)
    stacked : ndarray, shape (S, K, 6), optional
        The same samples side by side, specific force then angular rate, sensors in
        the order of ``acc_mps2`` (the dicts are views of it), where the resampler
        made them so; None otherwise.
    """

    k0: int
    time_s: NDArray[np.float64]
    acc_mps2: dict[Placement, NDArray[np.float64]]
    gyr_rps: dict[Placement, NDArray[np.float64]]
    valid: dict[Placement, NDArray[np.bool_]]
    stacked: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return int(self.time_s.shape[0])


class _SensorBuffer:
    __slots__ = ("times", "values", "last_s")

    def __init__(self) -> None:
        self.times = np.empty(0)
        self.values = np.empty((0, 6))
        self.last_s = -np.inf  # time of the newest sample

    def append(self, samples: ImuSamples) -> None:
        t = np.asarray(samples.time_s, dtype=np.float64)
        if t.size == 0:
            return
        v = np.concatenate([samples.acc_mps2, samples.gyr_rps], axis=1)
        if self.times.size and t[0] <= self.last_s:
            # Late or repeated samples (already covered) cannot be placed any more (the
            # samples are in time order: only the first can tell).
            keep = t > self.last_s
            t, v = t[keep], v[keep]
        self.times = np.concatenate([self.times, t])
        self.values = np.concatenate([self.values, v])
        self.last_s = float(self.times[-1])

    def sample_into(
        self, t: NDArray[np.float64], max_gap_s: float, out: NDArray, valid: NDArray
    ) -> None:
        """Interpolate at grid times ``t`` into ``out`` (K, 6) and ``valid`` (K,).

        NaN and invalid where a long gap (or no data) is. Then drop the samples no
        longer needed for grid points after ``t[-1]`` (keep the last one at or before it).
        """
        i = _interpolate(self.times, self.values, t, max_gap_s, out, valid)
        if i > 0:
            self.times = self.times[i:]
            self.values = self.values[i:]


class GridResampler:
    """Streaming resampler of several sensors onto the common grid.

    Parameters
    ----------
    placements : sequence of Placement
        The sensors of the session. The grid starts once all of them (or all not
        marked disconnected) have delivered data.
    fs_hz : float
        Grid rate, Hz.
    max_gap_s : float
        Longest gap bridged by interpolation, s.
    """

    def __init__(self, placements: Sequence[Placement], fs_hz: float, max_gap_s: float) -> None:
        if not placements:
            raise ValueError("GridResampler needs at least one placement")
        self.placements = tuple(placements)
        self.fs_hz = float(fs_hz)
        self.max_gap_s = float(max_gap_s)
        self._buffers = {p: _SensorBuffer() for p in self.placements}
        self._disconnected: set[Placement] = set()
        self._next_k: int | None = None

    def push(self, placement: Placement, samples: ImuSamples) -> None:
        """Add samples of one sensor (in time order; earlier samples are ignored)."""
        if placement not in self._buffers:
            raise ValueError(
                f"sensor {placement.value!r} is not part of this session "
                f"({', '.join(p.value for p in self.placements)})"
            )
        if len(samples):
            self._disconnected.discard(placement)
        self._buffers[placement].append(samples)

    def mark_disconnected(self, placement: Placement) -> None:
        """Stop waiting for a sensor that went silent; it is missing until data returns."""
        self._disconnected.add(placement)

    def _start_k(self, waiting: list[Placement]) -> int | None:
        if any(self._buffers[p].times.size == 0 for p in waiting):
            return None
        first = max(float(self._buffers[p].times[0]) for p in waiting)
        return int(np.ceil(first * self.fs_hz - _EPS_S))

    def pull(self, *, final: bool = False) -> GridChunk | None:
        """Emit every grid point that all connected sensors have covered.

        With ``final=True`` (end of stream) emit up to the last sample of any sensor;
        points past a sensor's last sample are missing for it.
        """
        waiting = [p for p in self.placements if p not in self._disconnected]
        if not waiting:
            return None
        if final:
            waiting = [p for p in waiting if self._buffers[p].times.size]
            if not waiting:
                return None  # the stream ended without any data
        if self._next_k is None:
            start = self._start_k(waiting)
            if start is None:
                return None
            self._next_k = start
        lasts = [self._buffers[p].last_s for p in waiting]
        until_s = max(lasts) if final else min(lasts)
        k_end = math.floor(until_s * self.fs_hz + _EPS_S) + 1
        if k_end <= self._next_k:
            return None
        k = np.arange(self._next_k, k_end)
        t = k / self.fs_hz
        # All sensors side by side in one array (the orientation stage takes them so);
        # the per-sensor dicts are views of it.
        stacked = np.empty((len(self._buffers), len(t), 6))
        valid = np.empty((len(self._buffers), len(t)), dtype=np.bool_)
        for s, buf in enumerate(self._buffers.values()):
            buf.sample_into(t, self.max_gap_s, stacked[s], valid[s])
        self._next_k = k_end
        order = self._buffers.keys()
        return GridChunk(
            int(k[0]),
            t,
            {p: stacked[s, :, :3] for s, p in enumerate(order)},
            {p: stacked[s, :, 3:] for s, p in enumerate(order)},
            {p: valid[s] for s, p in enumerate(order)},
            stacked,
        )


@compiled
def _interpolate(times, values, t, max_gap_s, out, valid):  # pragma: no cover - compiled
    """Linear interpolation of `values` (m, 6) at increasing times `t` (k,) into `out`.

    A point is valid where a sample falls exactly on it, or where the samples just
    before and after it are at most `max_gap_s` apart; elsewhere its row is NaN and
    `valid` False. Returns the index of the last sample at or before ``t[-1]`` (-1:
    none). Compiled: a live session samples each sensor at a few points on every step.
    """
    m, k = times.shape[0], t.shape[0]
    # The last sample at or before t[j] (-1: none): searched once, then scanned forward.
    i = np.searchsorted(times, t[0], side="right") - 1 if k else -1
    for j in range(k):
        out[j, :] = np.nan
        valid[j] = False
        while i + 1 < m and times[i + 1] <= t[j]:
            i += 1
        if i < 0:
            continue
        exact = times[i] == t[j]
        nxt = min(i + 1, m - 1)
        if not exact and (nxt == i or times[nxt] - times[i] > max_gap_s):
            continue
        w = 0.0 if exact else (t[j] - times[i]) / (times[nxt] - times[i])
        for c in range(values.shape[1]):
            out[j, c] = values[i, c] * (1.0 - w) + values[nxt, c] * w
        valid[j] = True
    return i
