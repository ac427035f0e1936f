"""Streaming excursion detector: standing → descent → bottom → ascent → standing.

Works on a depth signal (degrees; NaN where unknown) on the common grid. It moves from
threshold crossing to threshold crossing with numpy searches, never per sample in
Python, and carries its state across chunks, so chunked input gives exactly the events
of one batch.

An excursion *starts* where the depth last left ``rest_deg`` before exceeding
``start_deg``; its *bottom* is the deepest point, reported as soon as the depth has
come back ``bottom_rise_deg`` from it; it *ends* where the depth returns to
``rest_deg``. It is kept if it reached ``min_peak_deg`` and lasted between ``min_s``
and ``max_s``; an excursion still going after ``max_s`` is dropped and the detector
waits for the depth to return to rest. Intervals are half-open grid indices:
``[k_start, k_end)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from processing._params import ProcessingParams


@dataclass(frozen=True, slots=True)
class BottomEvent:
    """The bottom of an excursion was passed (grid indices)."""

    k_start: int
    k_bottom: int
    k_detected: int
    peak_deg: float


@dataclass(frozen=True, slots=True)
class ExcursionEvent:
    """A completed excursion that qualifies: ``[k_start, k_end)`` with its bottom."""

    k_start: int
    k_bottom: int
    k_end: int
    peak_deg: float
    has_gap: bool


@dataclass(frozen=True, slots=True)
class CancelledEvent:
    """An excursion whose bottom was reported turned out not to qualify (too long/short)."""

    k_start: int
    k_cancelled: int


Event = BottomEvent | ExcursionEvent | CancelledEvent


class _State(Enum):
    IDLE = "idle"
    ACTIVE = "active"  # descending, bottom not yet passed
    ASCENT = "ascent"  # bottom passed
    WAIT_REST = "wait_rest"  # dropped (too long); wait for standing


class ExcursionDetector:
    """Find excursions of a depth signal, streaming.

    Parameters
    ----------
    fs_hz : float
        Grid rate, Hz.
    rest_deg, start_deg, min_peak_deg, bottom_rise_deg : float
        Thresholds, deg (see the module docstring).
    min_s, max_s : float
        Plausible duration of an excursion, s.
    """

    def __init__(
        self,
        fs_hz: float,
        *,
        rest_deg: float,
        start_deg: float,
        min_peak_deg: float,
        bottom_rise_deg: float,
        min_s: float,
        max_s: float,
    ) -> None:
        self.fs_hz = fs_hz
        self.rest_deg = rest_deg
        self.start_deg = start_deg
        self.min_peak_deg = min_peak_deg
        self.bottom_rise_deg = bottom_rise_deg
        self._min_k = int(round(min_s * fs_hz))
        self._max_k = int(round(max_s * fs_hz))
        self._state = _State.IDLE
        self._last_rest_k: int | None = None
        self._k_start = 0
        self._peak = -np.inf
        self._k_peak = 0
        self._has_gap = False
        self._bottom_sent = False

    @property
    def active(self) -> bool:
        """True while an excursion is under way (between start and end)."""
        return self._state in (_State.ACTIVE, _State.ASCENT)

    def update(self, k0: int, depth_deg: NDArray[np.float64]) -> list[Event]:
        """Feed the depth on grid points ``k0 .. k0 + len - 1``; return events in order."""
        d = np.asarray(depth_deg, dtype=np.float64)
        n = d.size
        events: list[Event] = []
        if n == 0:
            return events
        if self._state is _State.IDLE and not (d > self.start_deg).any():
            # Standing (most live steps): only where it last was at rest changes.
            rest = np.flatnonzero(d <= self.rest_deg)
            if rest.size:
                self._last_rest_k = k0 + int(rest[-1])
            return events
        rest_idx = np.flatnonzero(d <= self.rest_deg)
        start_idx = np.flatnonzero(d > self.start_deg)
        nan_idx = np.flatnonzero(np.isnan(d))

        def next_in(idx: NDArray[np.intp], pos: int) -> int:
            j = int(np.searchsorted(idx, pos))
            return int(idx[j]) if j < idx.size else n

        def last_before(idx: NDArray[np.intp], pos: int) -> int | None:
            j = int(np.searchsorted(idx, pos)) - 1
            return int(idx[j]) if j >= 0 else None

        pos = 0
        while pos < n:
            if self._state is _State.IDLE:
                i = next_in(start_idx, pos)
                if i >= n:
                    r = last_before(rest_idx, n)
                    if r is not None and r >= pos:
                        self._last_rest_k = k0 + r
                    break
                r = last_before(rest_idx, i)
                if r is not None and r >= pos:
                    self._last_rest_k = k0 + r
                self._k_start = self._last_rest_k if self._last_rest_k is not None else k0 + i
                self._peak, self._k_peak = -np.inf, self._k_start
                self._has_gap = False
                self._bottom_sent = False
                self._state = _State.ACTIVE
                pos = i
            elif self._state in (_State.ACTIVE, _State.ASCENT):
                end = next_in(rest_idx, pos)
                # Too long: drop it once it passes max_s (within this chunk).
                limit = self._k_start + self._max_k - k0
                if limit < min(end, n):
                    if self._bottom_sent:
                        events.append(CancelledEvent(self._k_start, k0 + max(limit, pos)))
                    self._state = _State.WAIT_REST
                    pos = max(limit, pos)
                    continue
                seg = d[pos:end]
                if next_in(nan_idx, pos) < end:
                    self._has_gap = True
                if self._state is _State.ACTIVE and seg.size:
                    running = np.fmax.accumulate(np.concatenate([[self._peak], seg]))[1:]
                    # A wobble before the minimum depth is not the bottom.
                    passed = np.flatnonzero(
                        (seg <= running - self.bottom_rise_deg) & (running >= self.min_peak_deg)
                    )
                    upto = int(passed[0]) + 1 if passed.size else seg.size
                    part = seg[:upto]
                    if np.any(np.isfinite(part)):
                        j = int(np.nanargmax(part))
                        if part[j] > self._peak:
                            self._peak, self._k_peak = float(part[j]), k0 + pos + j
                    if passed.size:
                        self._state = _State.ASCENT
                        self._bottom_sent = True
                        events.append(
                            BottomEvent(
                                self._k_start, self._k_peak, k0 + pos + int(passed[0]), self._peak
                            )
                        )
                        pos += upto
                        continue
                if end >= n:
                    break
                k_end = k0 + end
                if self._peak >= self.min_peak_deg and k_end - self._k_start >= self._min_k:
                    events.append(
                        ExcursionEvent(
                            self._k_start, self._k_peak, k_end, self._peak, self._has_gap
                        )
                    )
                elif self._bottom_sent:
                    events.append(CancelledEvent(self._k_start, k_end))
                self._state = _State.IDLE
                self._last_rest_k = k_end
                pos = end
            else:  # WAIT_REST
                end = next_in(rest_idx, pos)
                if end >= n:
                    break
                self._state = _State.IDLE
                self._last_rest_k = k0 + end
                pos = end
        return events


def squat_detector(params: ProcessingParams) -> ExcursionDetector:
    """The detector of squat excursions with the session's thresholds (reps, calibration)."""
    return ExcursionDetector(
        params.fs_hz,
        rest_deg=params.rep_rest_deg,
        start_deg=params.rep_start_deg,
        min_peak_deg=params.rep_min_depth_deg,
        bottom_rise_deg=params.bottom_rise_deg,
        min_s=params.rep_min_s,
        max_s=params.rep_max_s,
    )
