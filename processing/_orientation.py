"""Per-sensor 6-axis orientation with VQF, streaming, robust to gaps.

Why VQF (Laidig & Seel 2023, doi:10.1016/j.inffus.2022.10.014): it estimates the
gyroscope offset both at rest and in motion (cheap sensors start with several deg/s),
initialises the inclination from the first accelerometer sample, and is the most
accurate published 6D filter on the BROAD benchmark (docs/orientation.md). Its batch
call runs the same per-sample C++ code as its streaming call, so a chunked run equals
a batch run.

Before VQF, each gyroscope's coupling of whole-body turns into tilt (cross-axis
sensitivity) is learned from the turns the athlete makes between sets and removed
(:class:`TurnCoupling`).

Only inclination matters to squatsense (every angle is heading-free), so after a long
gap the filter is simply restarted from the accelerometer, keeping its bias estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from vqf import VQF

from processing._jit import compiled
from processing._timebase import GridChunk
from processing.consts import GRAVITY_MPS2, Placement

#: Up to this many samples, a filter is updated one sample at a time (see
#: OrientationTracker._run).
_FEW_SAMPLES = 4


def quat_rotate(q_xyzw: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotate vectors by unit quaternions.

    Parameters
    ----------
    q_xyzw : ndarray, shape (N, 4)
        ``q_world_from_sensor``, scalar last.
    v : ndarray, shape (3,) or (N, 3)
        Vectors in the sensor frame.

    Returns
    -------
    ndarray, shape (N, 3)
        The vectors in the world frame (NaN where the quaternion is NaN).
    """
    x, y, z, w = q_xyzw[:, 0], q_xyzw[:, 1], q_xyzw[:, 2], q_xyzw[:, 3]
    v = np.broadcast_to(np.asarray(v, dtype=np.float64), (q_xyzw.shape[0], 3))
    vx, vy, vz = v[:, 0], v[:, 1], v[:, 2]
    # t = 2 u × v ; v' = v + w t + u × t  (u = x, y, z). Written out: np.cross on short
    # arrays spends most of its time on axis bookkeeping, and this runs on every tick.
    tx = 2.0 * (y * vz - z * vy)
    ty = 2.0 * (z * vx - x * vz)
    tz = 2.0 * (x * vy - y * vx)
    out = np.empty((q_xyzw.shape[0], 3))
    out[:, 0] = vx + w * tx + (y * tz - z * ty)
    out[:, 1] = vy + w * ty + (z * tx - x * tz)
    out[:, 2] = vz + w * tz + (x * ty - y * tx)
    return out


class TurnCoupling:
    """Learns and removes each gyroscope's coupling of whole-body turns into tilt.

    A MEMS gyroscope's axes are not quite orthogonal (cross-axis sensitivity: ±2 % on an
    MPU-6050): turning about the vertical also reads as a little rotation about a
    horizontal axis. Integrated through a 180 deg turn that tilts the orientation by up
    to twice the misalignment (~2 deg) until the accelerometer pulls it back (VQF's
    tauAcc, 3 s), and the athlete turns a lot between sets.

    When the athlete turns on the spot, every segment turns about the vertical at about
    the same rate. Samples where *all* the session's sensors (at least `min_sensors`)
    report a rate along their own vertical within `agreement` (a fraction) of their
    median, the median between `min_turn_rps` and `max_turn_rps`, are a whole-body turn:
    there, whatever a sensor's gyroscope reports across its vertical (when at most
    `max_across` times the rate along it), in proportion to that rate, is its coupling.
    One hand-held sensor rotating about an axis a little off vertical looks the same to
    that sensor alone; it is the agreement of the body's sensors that tells a turn.

    A sensor's vertical is the sensor-frame direction of its specific force low-passed
    over still samples (time constant `vertical_tau_s`; held while it moves, so a turn's
    centripetal acceleration does not tilt it): the reference its inclination comes from.
    Its coupling ``k`` is a least-squares fit over every whole-body turn so far, with a
    prior worth `prior_rad2_s` (rad²/s: ~1 s of turning at 1 rad/s) pulling it to 0,
    limited to `max_coupling` (no gyroscope is misaligned by more); the correction
    removes ``k * rate along the vertical`` (the coupling is a property of the chip, so
    a strap that slips changes only which vertical it is projected across).

    Chunked input gives bit-identical output: one compiled loop (numba) runs the
    samples in order with the state carried from call to call; compiled because a
    live session calls it on every step with a few samples, where array operations
    cost their call overhead many times over (75 µs a step against ~5 µs).
    With fewer than `min_sensors` sensors (one hand-held IMU, as in BROAD) it is off.
    While any sensor of the session is missing (a gap, or one that dropped out for good)
    nothing is learned; what was learned is still applied.
    """

    def __init__(
        self,
        placements: Sequence[Placement],
        fs_hz: float,
        *,
        min_sensors: int = 3,
        vertical_tau_s: float = 1.0,
        still_rps: float = 0.2,
        min_turn_rps: float = 0.5,
        max_turn_rps: float = 5.0,
        agreement: float = 0.35,
        max_across: float = 0.25,
        prior_rad2_s: float = 1.0,
        max_coupling: float = 0.04,
    ) -> None:
        self.placements = tuple(placements)
        self.active = len(self.placements) >= min_sensors
        n_s = len(self.placements)
        dt = 1.0 / fs_hz
        self._params = np.array(
            [
                1.0 - np.exp(-dt / vertical_tau_s),  # the vertical's filter coefficient
                float(still_rps) ** 2,
                (0.9 * GRAVITY_MPS2) ** 2,  # a plausible |specific force|², between ...
                (1.1 * GRAVITY_MPS2) ** 2,  # ... these
                float(min_turn_rps),
                float(max_turn_rps),
                float(agreement),
                float(max_across) ** 2,
                float(prior_rad2_s),
                float(max_coupling),
                dt,
            ]
        )
        # Per sensor: the vertical (the filter's last output; has_vertical False until a
        # plausible sample) and the least-squares sums [sum along², sum across * along
        # (3)], rad²/s. The kernel updates them in place.
        self._vertical = np.zeros((n_s, 3))
        self._has_vertical = np.zeros(n_s, dtype=np.bool_)
        self._sums = np.zeros((n_s, 4))
        self._bias: tuple[object, NDArray[np.float64]] | None = None

    def correct(
        self,
        gyr_rps: dict[Placement, NDArray[np.float64]],
        acc_mps2: dict[Placement, NDArray[np.float64]],
        bias_rps: dict[Placement, NDArray[np.float64]],
        stacked: NDArray[np.float64] | None = None,
    ) -> dict[Placement, NDArray[np.float64]]:
        """Every sensor's angular rate on a grid chunk without its learned coupling.

        NaN rows (a sensor missing) stay NaN and teach nothing. `stacked`, shape
        (sensors, n, 6), is the same samples side by side (specific force then angular
        rate, sensors in ``placements`` order) where the caller has them so.
        """
        if not self.active:
            return gyr_rps
        pl = self.placements
        if stacked is None:
            first = gyr_rps[pl[0]]
            stacked = np.empty((len(pl), first.shape[0], 6))
            for s, p in enumerate(pl):
                stacked[s, :, :3] = acc_mps2[p]
                stacked[s, :, 3:] = gyr_rps[p]
        out = _turn_coupling(
            stacked,
            self._bias_of(bias_rps),
            self._vertical,
            self._has_vertical,
            self._sums,
            self._params,
        )
        return {p: out[s] for s, p in enumerate(pl)}

    def _bias_of(self, bias_rps: dict[Placement, NDArray[np.float64]]) -> NDArray[np.float64]:
        """The offsets as one array, shape (sensors, 3), kept while `bias_rps` is the same."""
        if self._bias is None or self._bias[0] is not bias_rps:
            stacked = np.ascontiguousarray(np.stack([bias_rps[p] for p in self.placements]))
            self._bias = (bias_rps, stacked)
        return self._bias[1]


@compiled
def _turn_coupling(imu, bias, vertical, has_vertical, sums, params):  # pragma: no cover
    """:meth:`TurnCoupling.correct` on stacked arrays, sample by sample (compiled).

    `imu` is (sensors, n, 6): specific force, then angular rate; returns the corrected
    angular rate, (sensors, n, 3).

    One loop over the samples, the state (`vertical`, `has_vertical`, `sums`) carried
    in place, so any chunking gives the same bits. Per sample and sensor: the rate
    without its offset; if the specific force is plausible and the sensor still, the
    vertical's first-order filter (the first plausible sample starts it); the rate
    along the unit vertical; whether all sensors turn together (the median rule); if
    so, and the rate across is small, the sample joins the sensor's sums; the
    correction is the coupling so far, across the vertical, limited.
    """
    a, still2, acc2_lo, acc2_hi = params[0], params[1], params[2], params[3]
    min_turn, max_turn, agreement, max_across2 = params[4], params[5], params[6], params[7]
    prior, max_coupling, dt = params[8], params[9], params[10]
    n_s, n = imu.shape[0], imu.shape[1]
    out = np.empty((n_s, n, 3))
    rate = np.empty((n_s, 3))
    unit = np.empty((n_s, 3))
    along = np.empty(n_s)
    ordered = np.empty(n_s)
    for i in range(n):
        any_nan = False
        for s in range(n_s):
            r2 = 0.0
            for k in range(3):
                rate[s, k] = imu[s, i, 3 + k] - bias[s, k]
                r2 += rate[s, k] * rate[s, k]
            acc2 = imu[s, i, 0] ** 2 + imu[s, i, 1] ** 2 + imu[s, i, 2] ** 2
            plausible = acc2 > acc2_lo and acc2 < acc2_hi  # False for NaN
            if plausible and not has_vertical[s]:
                for k in range(3):
                    vertical[s, k] = imu[s, i, k]
                has_vertical[s] = True
            if plausible and r2 < still2:
                for k in range(3):
                    vertical[s, k] = a * imu[s, i, k] + (1.0 - a) * vertical[s, k]
            if has_vertical[s]:
                size = np.sqrt(vertical[s, 0] ** 2 + vertical[s, 1] ** 2 + vertical[s, 2] ** 2)
                for k in range(3):
                    unit[s, k] = vertical[s, k] / size
            else:
                for k in range(3):
                    unit[s, k] = np.nan
            along[s] = rate[s, 0] * unit[s, 0] + rate[s, 1] * unit[s, 1] + rate[s, 2] * unit[s, 2]
            if np.isnan(along[s]):
                any_nan = True
            ordered[s] = along[s]
        body_turn = False
        if not any_nan:
            ordered.sort()
            median = 0.5 * (ordered[(n_s - 1) // 2] + ordered[n_s // 2])
            abs_median = abs(median)
            body_turn = min_turn <= abs_median <= max_turn
            for s in range(n_s):
                if abs(along[s] - median) > agreement * abs_median:
                    body_turn = False
        for s in range(n_s):
            al = along[s]
            if body_turn:
                across2 = 0.0
                for k in range(3):
                    across_k = rate[s, k] - al * unit[s, k]
                    across2 += across_k * across_k
                if across2 <= max_across2 * al * al:
                    sums[s, 0] += al * al * dt
                    for k in range(3):
                        sums[s, 1 + k] += (rate[s, k] - al * unit[s, k]) * al * dt
            # The coupling so far, across the vertical, no larger than max_coupling.
            c0 = sums[s, 1] / (sums[s, 0] + prior)
            c1 = sums[s, 2] / (sums[s, 0] + prior)
            c2 = sums[s, 3] / (sums[s, 0] + prior)
            dot = c0 * unit[s, 0] + c1 * unit[s, 1] + c2 * unit[s, 2]
            c0 -= dot * unit[s, 0]
            c1 -= dot * unit[s, 1]
            c2 -= dot * unit[s, 2]
            size = np.sqrt(c0 * c0 + c1 * c1 + c2 * c2)
            scale = min(1.0, max_coupling / max(size, 1e-12))
            c = (c0 * scale, c1 * scale, c2 * scale)
            for k in range(3):
                v = imu[s, i, 3 + k] - c[k] * al
                # No vertical yet (or a missing sample): the rate passes unchanged.
                out[s, i, k] = imu[s, i, 3 + k] if np.isnan(v) else v
    return out


def _in_order(chunk: GridChunk, order: tuple[Placement, ...]) -> NDArray[np.float64] | None:
    """The chunk's samples side by side, if it has them and in `order`; else None."""
    if chunk.stacked is not None and tuple(chunk.acc_mps2) == order:
        return chunk.stacked
    return None


class OrientationTracker:
    """One VQF per sensor, fed grid chunks.

    Parameters
    ----------
    placements : sequence of Placement
    fs_hz : float
        Grid rate, Hz.
    bias_clip_dps : float
        Largest gyroscope offset VQF may estimate, deg/s (VQF's default is 2 deg/s,
        too small for MPU-6050-class parts). Rest detection is also only possible
        while the offset is inside this clip.
    """

    def __init__(
        self,
        placements: Sequence[Placement],
        fs_hz: float,
        bias_clip_dps: float,
        initial_bias_rps: dict[Placement, NDArray[np.float64]] | None = None,
        *,
        turn_coupling: bool = True,
    ):
        self._ts = 1.0 / fs_hz
        self._order = tuple(placements)
        self._coupling = TurnCoupling(placements, fs_hz) if turn_coupling else None
        self._clip = float(bias_clip_dps)
        self._filters: dict[Placement, VQF | None] = {p: None for p in placements}
        initial = initial_bias_rps or {}
        self._bias: dict[Placement, NDArray[np.float64]] = {
            p: np.asarray(initial.get(p, np.zeros(3)), dtype=np.float64) for p in placements
        }
        self._bias0 = {p: b.copy() for p, b in self._bias.items()}

    def _new_filter(self, placement: Placement) -> VQF:
        f = VQF(self._ts, biasClip=self._clip)
        bias = self._bias[placement]
        if np.any(bias):
            # The offset measured in quiet standing, or learned before a gap: start from it,
            # with the uncertainty of a short static average, 0.3 deg/s (sigma in rad/s).
            clip = np.deg2rad(self._clip)
            f.setBiasEstimate(np.clip(bias, -clip, clip), np.deg2rad(0.3))
        return f

    def update(self, chunk: GridChunk) -> dict[Placement, NDArray[np.float64]]:
        """Orientation of every sensor on the chunk's grid points.

        Returns
        -------
        dict of Placement to ndarray, shape (K, 4)
            ``q_world_from_sensor`` (x, y, z, w); NaN where the sensor is missing.
        """
        out: dict[Placement, NDArray[np.float64]] = {}
        n = len(chunk)
        gyr = chunk.gyr_rps
        if self._coupling is not None and n:
            # Against the offsets of the opening quiet stand: fixed, so chunking cannot
            # change what the coupling sees.
            gyr = self._coupling.correct(
                chunk.gyr_rps, chunk.acc_mps2, self._bias0, _in_order(chunk, self._order)
            )
        for p, filt in self._filters.items():
            valid = chunk.valid[p]
            if n and filt is not None and valid.all():  # the common case: no gap
                out[p] = self._run(filt, gyr[p], chunk.acc_mps2[p], 0, n)
                continue
            q = np.full((n, 4), np.nan)
            if filt is not None and n and not valid[0]:
                self._retire(p, filt)  # a gap starts here
                filt = None
            edges = np.flatnonzero(np.diff(np.concatenate([[False], valid, [False]])))
            for start, stop in zip(edges[::2], edges[1::2], strict=True):
                # A run after a gap restarts the filter (keeping its offset estimate).
                if filt is None or start > 0:
                    filt = self._new_filter(p)
                q[start:stop] = self._run(filt, gyr[p], chunk.acc_mps2[p], start, stop)
                if stop < n:
                    self._retire(p, filt)
                    filt = None
            self._filters[p] = filt
            out[p] = q
        return out

    def _run(self, filt: VQF, gyr: NDArray, acc: NDArray, start: int, stop: int) -> NDArray:
        if stop - start <= _FEW_SAMPLES and gyr.strides[-1] == acc.strides[-1] == 8:
            # A live step's one or two grid points: VQF's per-sample calls, the same
            # numbers as updateBatch (which builds a dict of ten arrays per call) for
            # half its cost or less. They take rows as they are: contiguous ones only.
            q = np.empty((stop - start, 4))
            for i in range(start, stop):
                filt.update(gyr[i], acc[i])
                q[i - start] = filt.getQuat6D()
            return q[:, [1, 2, 3, 0]]
        res = filt.updateBatch(
            np.ascontiguousarray(gyr[start:stop]), np.ascontiguousarray(acc[start:stop])
        )
        return res["quat6D"][:, [1, 2, 3, 0]]

    def _retire(self, p: Placement, filt: VQF) -> None:
        """A gap begins: keep the filter's offset estimate for the restart after it."""
        self._bias[p] = np.asarray(filt.getBiasEstimate()[0], dtype=np.float64)

    def bias_rps(self, placement: Placement) -> NDArray[np.float64]:
        """Current gyroscope offset estimate of one sensor, rad/s, shape (3,)."""
        return self._bias[placement].copy()
