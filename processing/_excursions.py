"""Streaming excursion detector: standing → descent → bottom → ascent → standing.

Works on a depth signal (degrees; NaN where unknown) on the common grid. One compiled
loop (numba) walks the samples in order with the state carried from call to call, so
chunked input gives exactly the events of one batch (a live step is a few samples,
where array searches cost their call overhead many times over).

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

import numpy as np
from numpy.typing import NDArray

from processing._jit import compiled
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


# The detector's state, carried between calls in an int64 array (see _walk).
_IDLE, _ACTIVE, _ASCENT, _WAIT_REST = 0, 1, 2, 3  # ACTIVE: descending, bottom not yet passed
_STATE, _HAS_REST, _LAST_REST_K, _K_START, _K_PEAK, _HAS_GAP, _BOTTOM_SENT = range(7)
# Events out of _walk: a kind, three grid indices and a gap flag per row, the depth apart.
_BOTTOM, _EXCURSION, _CANCELLED = 0, 1, 2


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
        self._thresholds = np.array(
            [rest_deg, start_deg, min_peak_deg, bottom_rise_deg], dtype=np.float64
        )
        self._limits_k = np.array(
            [int(round(min_s * fs_hz)), int(round(max_s * fs_hz))], dtype=np.int64
        )
        self._state = np.zeros(7, dtype=np.int64)  # IDLE, no rest seen yet
        self._peak = np.full(1, -np.inf)

    @property
    def active(self) -> bool:
        """True while an excursion is under way (between start and end)."""
        return int(self._state[_STATE]) in (_ACTIVE, _ASCENT)

    def update(self, k0: int, depth_deg: NDArray[np.float64]) -> list[Event]:
        """Feed the depth on grid points ``k0 .. k0 + len - 1``; return events in order."""
        d = np.ascontiguousarray(depth_deg, dtype=np.float64)
        if d.size == 0:
            return []
        # At most one event per sample, and one more (a cancel and an end cannot share
        # a sample; a bottom comes samples before the end of its excursion).
        rows = np.empty((d.size + 1, 5), dtype=np.int64)
        peaks = np.empty(d.size + 1)
        m = _walk(
            int(k0), d, self._thresholds, self._limits_k, self._state, self._peak, rows, peaks
        )
        events: list[Event] = []
        for (kind, a, b, c, gap), peak in zip(rows[:m].tolist(), peaks[:m].tolist(), strict=True):
            if kind == _BOTTOM:
                events.append(BottomEvent(a, b, c, peak))
            elif kind == _EXCURSION:
                events.append(ExcursionEvent(a, b, c, peak, bool(gap)))
            else:
                events.append(CancelledEvent(a, b))
        return events


@compiled
def _put(rows, peaks, m, kind, a, b, c, gap, peak):  # pragma: no cover - compiled
    """Write event row `m` (kind, three grid indices, gap flag) and its depth; return m + 1."""
    rows[m, 0] = kind
    rows[m, 1] = a
    rows[m, 2] = b
    rows[m, 3] = c
    rows[m, 4] = gap
    peaks[m] = peak
    return m + 1


@compiled
def _walk(k0, d, thresholds, limits_k, state, peak_out, rows, peaks):  # pragma: no cover
    """The detector over `d` (grid points from `k0`), sample by sample (compiled).

    `state` (int64, see the _STATE.. indices) and `peak_out[0]` (the running peak, deg)
    are read and updated in place. Writes events into `rows` (kind, three grid indices,
    the gap flag) and `peaks`; returns their number. Per sample: waiting at rest, a
    start (where the depth last left rest), the peak and the bottom once the depth has
    risen back `bottom_rise_deg`, the end back at rest (kept or, if its bottom was
    reported, cancelled), or the drop of one lasting past `max_s` (then wait for rest).
    """
    rest, start, min_peak, rise = thresholds[0], thresholds[1], thresholds[2], thresholds[3]
    min_k, max_k = limits_k[0], limits_k[1]
    st = state[_STATE]
    peak = peak_out[0]
    m = 0
    for j in range(d.shape[0]):
        k = k0 + j
        x = d[j]
        at_rest = x <= rest  # False for NaN
        if st == _WAIT_REST and at_rest:
            st = _IDLE
        if st == _IDLE:
            if x > start:
                # It began where the depth last left rest (or here, if never at rest).
                state[_K_START] = state[_LAST_REST_K] if state[_HAS_REST] else k
                peak = -np.inf
                state[_K_PEAK] = state[_K_START]
                state[_HAS_GAP] = 0
                state[_BOTTOM_SENT] = 0
                st = _ACTIVE
            else:
                if at_rest:
                    state[_HAS_REST] = 1
                    state[_LAST_REST_K] = k
                continue
        if st == _WAIT_REST:
            continue
        # ACTIVE or ASCENT.
        if at_rest:
            if peak >= min_peak and k - state[_K_START] >= min_k:
                m = _put(
                    rows,
                    peaks,
                    m,
                    _EXCURSION,
                    state[_K_START],
                    state[_K_PEAK],
                    k,
                    state[_HAS_GAP],
                    peak,
                )
            elif state[_BOTTOM_SENT]:
                m = _put(rows, peaks, m, _CANCELLED, state[_K_START], k, 0, 0, peak)
            st = _IDLE
            state[_HAS_REST] = 1
            state[_LAST_REST_K] = k
            continue
        if k >= state[_K_START] + max_k:
            # Too long: dropped; wait for standing.
            if state[_BOTTOM_SENT]:
                m = _put(rows, peaks, m, _CANCELLED, state[_K_START], k, 0, 0, peak)
            st = _WAIT_REST
            continue
        if x != x:  # NaN
            state[_HAS_GAP] = 1
        if st == _ACTIVE:
            if x > peak:
                peak = x
                state[_K_PEAK] = k
            # A wobble before the minimum depth is not the bottom.
            if x <= peak - rise and peak >= min_peak:
                st = _ASCENT
                state[_BOTTOM_SENT] = 1
                m = _put(rows, peaks, m, _BOTTOM, state[_K_START], state[_K_PEAK], k, 0, peak)
    state[_STATE] = st
    peak_out[0] = peak
    return m


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
