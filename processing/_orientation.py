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
from scipy.signal import lfilter
from vqf import VQF

from processing._timebase import GridChunk
from processing.consts import GRAVITY_MPS2, Placement


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

    Chunked input gives bit-identical output: the vertical is a first-order recursion
    (``scipy.signal.lfilter`` with its state carried from call to call) and the sums
    are running sums (``np.cumsum`` from the carried total), both strictly sequential.
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
        self._dt = 1.0 / fs_hz
        self._a = float(1.0 - np.exp(-self._dt / vertical_tau_s))
        self._still2 = float(still_rps) ** 2
        self._acc2 = ((0.9 * GRAVITY_MPS2) ** 2, (1.1 * GRAVITY_MPS2) ** 2)
        self._min_turn = float(min_turn_rps)
        self._max_turn = float(max_turn_rps)
        self._agreement = float(agreement)
        self._max_across2 = float(max_across) ** 2
        self._prior = float(prior_rad2_s)
        self._max_coupling = float(max_coupling)
        # Per sensor: the vertical filter's state and last output (None until data), and
        # the least-squares sums [sum along², sum across * along (3)], rad²/s.
        self._zi: list[NDArray[np.float64] | None] = [None] * n_s
        self._held: list[NDArray[np.float64] | None] = [None] * n_s
        self._sums = np.zeros((n_s, 4))
        # Cached for chunks with no still sample and no whole-body turn (most chunks of a
        # live session), shape (sensors, 1, 3), None when stale: the unit verticals and
        # the limited coupling across them. Computed by the same operations as for a
        # whole chunk, so chunking still changes no bit.
        self._unit: NDArray[np.float64] | None = None
        self._limited_k: NDArray[np.float64] | None = None
        self._bias: tuple[object, NDArray[np.float64]] | None = None

    def _vertical(self, s: int, acc: NDArray, still: NDArray[np.bool_]) -> NDArray[np.float64]:
        """Sensor `s`'s vertical (not yet normalised) at each sample, shape (n, 3)."""
        n = acc.shape[0]
        if self._held[s] is None:
            # Start from the first plausible sample (near 1 g: not a zeroed or saturated
            # read-out), as VQF starts from the first sample.
            with np.errstate(invalid="ignore"):
                acc2 = np.einsum("ij,ij->i", acc, acc)
                plausible = np.flatnonzero((acc2 > self._acc2[0]) & (acc2 < self._acc2[1]))
            if plausible.size == 0:
                return np.full((n, 3), np.nan)
            first = acc[plausible[0]]
            self._held[s] = first.copy()
            self._zi[s] = ((1.0 - self._a) * first)[None, :]
        held = self._held[s]
        idx = np.flatnonzero(still)
        if idx.size == 0:
            return np.broadcast_to(held, (n, 3))
        smooth, self._zi[s] = lfilter([self._a], [1.0, self._a - 1.0], acc[idx], 0, self._zi[s])
        self._held[s] = smooth[-1].copy()
        return np.concatenate([held[None, :], smooth])[np.searchsorted(idx, np.arange(n), "right")]

    def correct(
        self,
        gyr_rps: dict[Placement, NDArray[np.float64]],
        acc_mps2: dict[Placement, NDArray[np.float64]],
        bias_rps: dict[Placement, NDArray[np.float64]],
    ) -> dict[Placement, NDArray[np.float64]]:
        """Every sensor's angular rate on a grid chunk without its learned coupling.

        NaN rows (a sensor missing) stay NaN and teach nothing.
        """
        if not self.active:
            return gyr_rps
        pl = self.placements
        gyr = np.stack([gyr_rps[p] for p in pl])  # (sensors, n, 3)
        acc = np.stack([acc_mps2[p] for p in pl])
        rate = gyr - self._bias_of(bias_rps)
        with np.errstate(invalid="ignore"):
            acc2 = np.einsum("snk,snk->sn", acc, acc)
            still = (
                (np.einsum("snk,snk->sn", rate, rate) < self._still2)
                & (acc2 > self._acc2[0])
                & (acc2 < self._acc2[1])
            )
        if not still.any() and all(h is not None for h in self._held):
            # Moving: every vertical is held (the common case while not standing), so
            # the unit verticals are those of the last chunk; and unless this is a
            # whole-body turn nothing is learned, so the coupling is the last one too.
            if self._unit is None:
                self._unit = self._normalised(np.array(self._held)[:, None, :])
            vert = np.broadcast_to(self._unit, rate.shape)
            along = np.einsum("snk,snk->sn", rate, vert)
            body_turn = self._body_turn(along)
            if not body_turn.any():
                if self._limited_k is None:
                    self._limited_k = self._limited(self._ratio(), self._unit)
                return self._apply(gyr, self._limited_k, along)
        else:
            self._unit = self._limited_k = None  # the verticals move
            vert = self._normalised(self._verticals(acc, still, rate.shape))
            along = np.einsum("snk,snk->sn", rate, vert)
            body_turn = self._body_turn(along)
        k = np.broadcast_to(self._ratio(), rate.shape)
        if body_turn.any():
            self._limited_k = None
            across = rate - along[:, :, None] * vert
            with np.errstate(invalid="ignore"):
                learn = body_turn & (
                    np.einsum("snk,snk->sn", across, across) <= self._max_across2 * along**2
                )
            k = k.copy()
            for s in range(len(pl)):
                idx = np.flatnonzero(learn[s])
                if idx.size == 0:
                    continue
                al = along[s, idx]
                contrib = np.empty((idx.size, 4))
                contrib[:, 0] = al * al * self._dt
                contrib[:, 1:] = across[s, idx] * al[:, None] * self._dt
                sums = np.cumsum(np.concatenate([self._sums[s][None, :], contrib]), axis=0)
                self._sums[s] = sums[-1]
                ks = sums[:, 1:] / (sums[:, :1] + self._prior)
                k[s] = ks[np.searchsorted(idx, np.arange(rate.shape[1]), "right")]
        return self._apply(gyr, self._limited(k, vert), along)

    def _bias_of(self, bias_rps: dict[Placement, NDArray[np.float64]]) -> NDArray[np.float64]:
        """The offsets as one array, shape (sensors, 1, 3), kept while `bias_rps` is the same."""
        if self._bias is None or self._bias[0] is not bias_rps:
            stacked = np.stack([bias_rps[p] for p in self.placements])[:, None, :]
            self._bias = (bias_rps, stacked)
        return self._bias[1]

    def _ratio(self) -> NDArray[np.float64]:
        """Each sensor's least-squares coupling so far, shape (sensors, 1, 3)."""
        return self._sums[:, None, 1:] / (self._sums[:, None, :1] + self._prior)

    @staticmethod
    def _normalised(vert: NDArray[np.float64]) -> NDArray[np.float64]:
        """`vert` scaled to unit length along its last axis, in place."""
        with np.errstate(invalid="ignore", divide="ignore"):
            vert /= np.sqrt(np.einsum("snk,snk->sn", vert, vert))[:, :, None]
        return vert

    def _verticals(
        self, acc: NDArray[np.float64], still: NDArray[np.bool_], shape: tuple[int, ...]
    ) -> NDArray[np.float64]:
        """Every sensor's vertical at each sample, shape (sensors, n, 3), not normalised."""
        if all(h is not None for h in self._held) and (still == still[0]).all():
            # Standing: every sensor still on the same samples, one filter call for all
            # (lfilter runs each sensor's slice on its own: the same as one by one).
            idx = np.flatnonzero(still[0])
            zi = np.stack(self._zi)  # type: ignore[arg-type]  # (sensors, 1, 3)
            smooth, zf = lfilter([self._a], [1.0, self._a - 1.0], acc[:, idx], 1, zi)
            self._zi = list(zf)
            held = np.array(self._held)[:, None, :]
            self._held = list(smooth[:, -1].copy())
            pos = np.searchsorted(idx, np.arange(shape[1]), "right")
            return np.concatenate([held, smooth], axis=1)[:, pos]
        return np.stack([self._vertical(s, acc[s], still[s]) for s in range(len(acc))])

    def _body_turn(self, along: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Samples where every sensor turns about its vertical at about the median rate."""
        with np.errstate(invalid="ignore"):
            ordered = np.sort(along, axis=0)
            n_s = len(self.placements)
            median = 0.5 * (ordered[(n_s - 1) // 2] + ordered[n_s // 2])
            abs_median = np.abs(median)
            return (
                (abs_median >= self._min_turn)
                & (abs_median <= self._max_turn)
                & np.all(np.abs(along - median) <= self._agreement * abs_median, axis=0)
            )

    def _limited(self, k: NDArray[np.float64], vert: NDArray[np.float64]) -> NDArray[np.float64]:
        """The coupling `k` across the vertical, no larger than `max_coupling`."""
        k = k - np.einsum("snk,snk->sn", k, vert)[:, :, None] * vert
        size = np.sqrt(np.einsum("snk,snk->sn", k, k))[:, :, None]
        return k * np.minimum(1.0, self._max_coupling / np.maximum(size, 1e-12))

    def _apply(
        self, gyr: NDArray[np.float64], k: NDArray[np.float64], along: NDArray[np.float64]
    ) -> dict[Placement, NDArray[np.float64]]:
        """Remove ``k * rate along the vertical`` from every sensor's rate."""
        out = gyr - k * along[:, :, None]
        # Where a sensor has no vertical yet (no plausible sample so far), its rate
        # passes unchanged rather than as NaN.
        out = np.where(np.isnan(out), gyr, out)
        return {p: out[s] for s, p in enumerate(self.placements)}


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
            gyr = self._coupling.correct(chunk.gyr_rps, chunk.acc_mps2, self._bias0)
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
