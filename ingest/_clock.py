"""Map a sensor's clock onto the host's: offset and drift from the lower envelope.

A notification carrying a sample taken at sensor time ``s`` arrives at host time

    a = offset + rate · s + d,     d ≥ 0,

where ``d`` is the delivery delay: waiting for the frame to fill, for the next BLE
connection event, for a missed event (bursts), for the host's event loop. ``d`` is never
negative and often close to its minimum, so the **lower envelope** of the points
``(s, a)`` is the line ``offset + rate · s`` shifted by the minimum delay, while their
mean is shifted by the mean delay, which varies between sensors and over time. This is
the classic estimator for one-way network clocks (Moon, Skelly & Towsley, "Estimation
and removal of clock skew from network delay measurements", INFOCOM 1999,
doi:10.1109/INFCOM.1999.752180).

The online version here: cut sensor time into windows of ``window_s``; keep each
window's point of smallest delay (smallest ``a − s`` at the nominal rate: within one
window the drift changes that by microseconds); fit a line through the window minima of
the last ``history_s`` by least squares, drop the windows far above it (a window whose
frames all waited, e.g. while the host was busy) and fit again. With a few hundred
frames per window the minimum delay is within a fraction of a millisecond of zero, so
sensors line up to well under a millisecond once the slope is known (~10 s).

Sensors without a clock (WitMotion) use the sample index times the nominal period as
their "sensor time": the same fit then smooths arrival times against the nominal rate
and learns the true rate as the drift.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from processing._jit import compiled


@dataclass(frozen=True)
class ClockParams:
    """Parameters of :class:`ClockMapper`, independent of the sample rate.

    Attributes
    ----------
    window_s : float
        Length of each lower-envelope window on the sensor clock, s. Default 1.0 s.
    history_s : float
        The fit uses the windows of the last this many seconds. Default 120 s.
    max_drift_ppm : float
        Fitted rates are clamped to ``1 ± max_drift_ppm · 1e-6``; crystals are within
        ±100 ppm, so more means a bad fit. Default 1000 ppm.
    outlier_s : float
        Windows whose minimum lies more than this above the first fit are left out of
        the second. Default 0.005 s.
    """

    window_s: float = 1.0
    history_s: float = 120.0
    max_drift_ppm: float = 1000.0
    outlier_s: float = 0.005


class ClockMapper:
    """Online mapping from one sensor's clock (s) onto the host clock (s).

    Parameters
    ----------
    params : ClockParams, optional
        Default :class:`ClockParams()`.

    Notes
    -----
    Feed every frame as a point (sensor time of its *last* sample, arrival time): the
    frame cannot leave before its last sample was taken. Sensor times are seconds on
    the sensor's clock relative to any fixed anchor (the caller unwraps the wire's u32
    µs first); keep them below ~1e6 s so float64 keeps sub-µs resolution.
    """

    def __init__(self, params: ClockParams | None = None) -> None:
        self.params = params or ClockParams()
        self._win_id: list[int] = []
        self._win_s: list[float] = []
        self._win_a: list[float] = []
        self._offset = 0.0  # host s at sensor time 0
        self._rate = 1.0  # host s per sensor s
        self._ready = False

    @property
    def ready(self) -> bool:
        """True once at least one point was added."""
        return self._ready

    @property
    def drift_ppm(self) -> float:
        """Estimated rate error of the sensor clock, ppm: positive if it runs fast."""
        return (1.0 / self._rate - 1.0) * 1e6

    @property
    def n_windows(self) -> int:
        """Windows currently in the fit."""
        return len(self._win_id)

    def add(self, sensor_s: NDArray[np.float64], arrival_s: NDArray[np.float64]) -> None:
        """Add points (sensor time, arrival time), both in s, shape (N,); refit."""
        sensor_s = np.asarray(sensor_s, dtype=np.float64)
        arrival_s = np.asarray(arrival_s, dtype=np.float64)
        if sensor_s.size == 0:
            return
        w = self.params.window_s
        ids = np.floor(sensor_s / w).astype(np.int64)
        resid = arrival_s - sensor_s
        changed = False
        if ids.min() == ids.max():
            # Live, a call holds a few frames of one window: skip the grouping.
            best = int(np.argmin(resid))
            changed = self._merge(int(ids[0]), float(sensor_s[best]), float(arrival_s[best]))
        else:
            for wid in np.unique(ids).tolist():
                sel = np.flatnonzero(ids == wid)
                best = sel[np.argmin(resid[sel])]
                changed |= self._merge(wid, float(sensor_s[best]), float(arrival_s[best]))
        self._trim_and_fit(changed)

    def add_point(self, sensor_s: float, arrival_s: float) -> None:
        """Add one point (a frame's last sample): exactly ``add([sensor_s], [arrival_s])``."""
        w = self.params.window_s
        changed = self._merge(math.floor(sensor_s / w), sensor_s, arrival_s)
        self._trim_and_fit(changed)

    def _trim_and_fit(self, changed: bool) -> None:
        w = self.params.window_s
        newest = self._win_id[-1]
        keep_from = newest - math.ceil(self.params.history_s / w)
        if self._win_id[0] < keep_from:
            k = bisect.bisect_left(self._win_id, keep_from)
            del self._win_id[:k], self._win_s[:k], self._win_a[:k]
            changed = True
        # The fit is a function of the window minima alone: refit only when one moved
        # (a few times per window), not on every call.
        if changed or not self._ready:
            self._fit()
        self._ready = True

    def _merge(self, wid: int, s: float, a: float) -> bool:
        """Offer a window its new lowest point; True if the windows changed."""
        i = bisect.bisect_left(self._win_id, wid)
        if i < len(self._win_id) and self._win_id[i] == wid:
            if a - s < self._win_a[i] - self._win_s[i]:
                self._win_s[i], self._win_a[i] = s, a
                return True
            return False
        self._win_id.insert(i, wid)
        self._win_s.insert(i, s)
        self._win_a.insert(i, a)
        return True

    def _fit(self) -> None:
        # Compiled (a live sensor is refitted ~4 times a second; in numpy, with its
        # dozen calls on a few dozen windows, that was ~5 % of a live session's CPU).
        self._rate, self._offset = _fit_windows(
            np.array(self._win_s),
            np.array(self._win_a),
            float(self.params.window_s),
            self.params.max_drift_ppm * 1e-6,
            float(self.params.outlier_s),
        )

    def map(self, sensor_s: NDArray[np.float64] | float) -> NDArray[np.float64]:
        """Host time (s) of sensor times (s), with the current estimate."""
        return self._offset + self._rate * np.asarray(sensor_s, dtype=np.float64)

    @property
    def line(self) -> tuple[float, float]:
        """The current estimate as ``(offset, rate)``: host s = offset + rate · sensor s."""
        return self._offset, self._rate

    def map_one(self, sensor_s: float) -> float:
        """Host time (s) of one sensor time (s): :meth:`map` of a scalar, as a float."""
        return self._offset + self._rate * sensor_s

    def residual(
        self, sensor_s: NDArray[np.float64], arrival_s: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """``arrival − map(sensor)`` in s: the delay the current fit implies."""
        return np.asarray(arrival_s, dtype=np.float64) - self.map(sensor_s)


@compiled
def _fit_windows(s, a, window_s, max_drift, outlier_s):  # pragma: no cover - compiled
    """The fit through window minima `s`, `a` (s, ascending in `s`): ``(rate, offset)``.

    A baseline shorter than two windows (or fewer than three of them): the nominal rate
    through the lowest point. Otherwise least squares, then again without the windows
    more than `outlier_s` above the median residual of the first line (if at least
    three are left and any was dropped). Rates are clamped to ``1 ± max_drift``.
    """
    n = s.shape[0]
    if n < 3 or s[-1] - s[0] < 2.0 * window_s:
        low = np.inf
        for i in range(n):
            low = min(low, a[i] - s[i])
        return 1.0, low
    keep = np.ones(n, dtype=np.bool_)
    rate, offset = _line(s, a, keep, max_drift)
    resid = np.empty(n)
    for i in range(n):
        resid[i] = a[i] - (offset + rate * s[i])
    limit = np.median(resid) + outlier_s
    kept = 0
    for i in range(n):
        keep[i] = resid[i] <= limit
        kept += keep[i]
    if kept >= 3 and kept < n:
        rate, offset = _line(s, a, keep, max_drift)
    return rate, offset


@compiled
def _line(s, a, keep, max_drift):  # pragma: no cover - compiled
    """Least-squares line ``a = offset + rate * s`` through the points kept."""
    m, s_sum, a_sum = 0, 0.0, 0.0
    for i in range(s.shape[0]):
        if keep[i]:
            m += 1
            s_sum += s[i]
            a_sum += a[i]
    s_mean, a_mean = s_sum / m, a_sum / m
    num, den = 0.0, 0.0
    for i in range(s.shape[0]):
        if keep[i]:
            ds = s[i] - s_mean
            num += ds * (a[i] - a_mean)
            den += ds * ds
    rate = num / den if den > 0.0 else 1.0
    rate = min(max(rate, 1.0 - max_drift), 1.0 + max_drift)
    return rate, a_mean - rate * s_mean


def warm_up() -> None:
    """Load (or compile) the clock fit's loops: see :func:`ingest.warm_up`."""
    s = np.arange(4.0)
    _fit_windows(s, s + 0.01, 1.0, 1e-3, 0.005)


def unwrap(raw: NDArray, reference: int, modulus: int) -> NDArray[np.int64]:
    """Unwrap wrapping counter values to the representatives nearest `reference`.

    Parameters
    ----------
    raw : ndarray of unsigned int, shape (N,)
        Values modulo `modulus` (u16 counters, u32 µs timestamps).
    reference : int or ndarray of int
        Unwrapped value(s) each raw value is expected near (per element if an array).
    modulus : int
        2**16 or 2**32.

    Returns
    -------
    ndarray of int64, shape (N,)
        ``r ≡ raw (mod modulus)`` with ``reference − modulus/2 ≤ r < reference + modulus/2``.
    """
    half = modulus // 2
    ref = np.asarray(reference, dtype=np.int64)
    delta = (raw.astype(np.int64) - ref + half) % modulus - half
    return ref + delta
