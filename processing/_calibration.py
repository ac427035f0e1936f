"""Mounting-agnostic calibration: each sensor's standing vertical and flexion axis.

Straps rotate, so nothing is assumed about how a sensor sits on its segment:

1. Quiet standing (every sensor still for ``quiet_window_s``) gives each sensor's
   *standing vertical*: the sensor-fixed direction that points up, averaged over the
   window. It is the zero of every angle.
2. The first squats give each sensor's *flexion axis*: the rotation from standing to the
   middle of the descent, made perpendicular to the vertical. Squats are recognised
   before any axis is known from the tilt of both shanks (sign-free, heading-free):
   both leave vertical together, reach ``rep_min_depth_deg`` and return, slowly and
   always toward the same side. Signs: the shanks tip forward in a squat; the pelvis and
   L1 are signed to rise together with the shanks in the descent.
3. Data is held back until the axes are known, then released, so the calibration squats
   still count as reps.
4. A later quiet stand in which exactly one sensor's vertical moved by more than
   ``recalibrate_deg`` while every other sensor is where it was is a strap that slipped:
   that sensor gets its new vertical at once and its axis is re-learned on the next squat.
   (A held squat or a knee bend moves several sensors at once and is not mistaken for a
   slip; two straps slipping in the same rest are not detected.)

Every decision is made at a sample index from the data alone and every statistic is
computed over a fixed window, so chunked input calibrates exactly as a batch does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from processing._angles import segment_angles_rad
from processing._excursions import ExcursionDetector, ExcursionEvent, squat_detector
from processing._jit import compiled
from processing._orientation import quat_rotate
from processing._params import ProcessingParams
from processing.consts import Placement

_Z = np.array([0.0, 0.0, 1.0])
_SHANKS = (Placement.SHIN_LEFT, Placement.SHIN_RIGHT)


@dataclass(frozen=True, slots=True)
class OrientedBlock:
    """Grid samples with sensor orientations: what the calibrator consumes and releases.

    Attributes
    ----------
    k0 : int
        Grid index of the first sample.
    time_s : ndarray, shape (K,)
    quat : dict of Placement to ndarray, shape (K, 4)
        ``q_world_from_sensor`` (x, y, z, w); NaN where the sensor is missing.
    acc_mps2, gyr_rps : dict of Placement to ndarray, shape (K, 3)
    stacked : ndarray, shape (S, K, 6), optional
        The same specific force and angular rate side by side, sensors in the order of
        ``acc_mps2`` (as :class:`~processing._timebase.GridChunk` has them), where
        the block came so; None otherwise (slices and joins of blocks).
    """

    k0: int
    time_s: NDArray[np.float64]
    quat: dict[Placement, NDArray[np.float64]]
    acc_mps2: dict[Placement, NDArray[np.float64]]
    gyr_rps: dict[Placement, NDArray[np.float64]]
    stacked: NDArray[np.float64] | None = None

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def slice(self, start: int, stop: int) -> OrientedBlock:
        """Samples ``start:stop`` of the block."""
        return OrientedBlock(
            self.k0 + start,
            self.time_s[start:stop],
            {p: q[start:stop] for p, q in self.quat.items()},
            {p: a[start:stop] for p, a in self.acc_mps2.items()},
            {p: g[start:stop] for p, g in self.gyr_rps.items()},
        )

    @staticmethod
    def concat(blocks: Sequence[OrientedBlock]) -> OrientedBlock:
        """Join consecutive blocks."""
        first = blocks[0]
        return OrientedBlock(
            first.k0,
            np.concatenate([b.time_s for b in blocks]),
            {p: np.concatenate([b.quat[p] for b in blocks]) for p in first.quat},
            {p: np.concatenate([b.acc_mps2[p] for b in blocks]) for p in first.quat},
            {p: np.concatenate([b.gyr_rps[p] for b in blocks]) for p in first.quat},
        )


@dataclass(frozen=True, slots=True)
class SensorCalibration:
    """One sensor's calibration, in its own frame.

    Attributes
    ----------
    vertical : ndarray, shape (3,)
        Unit vector that pointed up in quiet standing.
    flexion_axis : ndarray, shape (3,)
        Unit flexion axis pointing to the athlete's left, perpendicular to ``vertical``.
    """

    vertical: NDArray[np.float64]
    flexion_axis: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CalibrationEvent:
    """The calibration changed.

    Attributes
    ----------
    kind : str
        ``"standing"`` (verticals found), ``"calibrated"`` (axes learned; angles
        flow), ``"recalibrated"`` (a strap slipped: new vertical), ``"axis_relearned"``.
    t_s : float
        Session time of the sample that completed the step, s.
    placements : tuple of Placement
    detail : str
        One line for people.
    """

    kind: str
    t_s: float
    placements: tuple[Placement, ...]
    detail: str


@dataclass(frozen=True, slots=True)
class Calibrated:
    """Samples released by the calibrator, with the calibration that applies to them."""

    block: OrientedBlock
    calibration: dict[Placement, SensorCalibration]


#: The calibrator's look-back keeps the blocks it is given joined in groups of this many.
_JOIN_BLOCKS = 32
_NONE = np.empty(0, dtype=np.intp)

#: Up to this many new rows, :meth:`QuietDetector.update` reduces the windows directly.
_FEW_ROWS = 8


class QuietDetector:
    """Find where windows of ``window`` samples end in which every sensor was still.

    Still: on every axis, the range (max - min) of the angular rate stays below
    ``gyr_range_rps`` and that of the specific force below ``acc_range_mps2``. Ranges of
    fixed windows are exact (no running sums), so chunking cannot change a decision.
    """

    def __init__(
        self,
        placements: Sequence[Placement],
        window: int,
        gyr_range_rps: float,
        acc_range_mps2: float,
    ) -> None:
        self.placements = tuple(placements)
        self.window = window + (1 - window % 2)  # odd: the trailing filter aligns exactly
        self._limits6 = np.tile(np.repeat([acc_range_mps2, gyr_range_rps], 3), len(self.placements))
        self._tail: NDArray[np.float64] | None = None

    def update(
        self,
        acc: Mapping[Placement, NDArray],
        gyr: Mapping[Placement, NDArray],
        stacked: NDArray[np.float64] | None = None,
    ) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """Flags for the new samples, and history + new samples side by side (joined).

        The joined array has six columns per sensor, specific force then angular rate
        (:meth:`columns` takes them apart). `stacked`, the same samples as (S, K, 6)
        with the sensors in this detector's order (as the resampler makes them), is
        copied in one go where given.
        """
        w = self.window
        # All sensors' six axes side by side: two passes per call, whatever the number
        # of sensors (this runs on every tick of a live session).
        first = acc[self.placements[0]]
        n_new = first.shape[0]
        n_old = 0 if self._tail is None else self._tail.shape[0]
        joined = np.empty((n_old + n_new, 6 * len(self.placements)))
        if self._tail is not None:
            joined[:n_old] = self._tail
        if stacked is not None:
            joined[n_old:] = stacked.transpose(1, 0, 2).reshape(n_new, -1)
        else:
            for i, p in enumerate(self.placements):
                joined[n_old:, 6 * i : 6 * i + 3] = acc[p]
                joined[n_old:, 6 * i + 3 : 6 * i + 6] = gyr[p]
        self._tail = joined[-(w - 1) :]
        if n_new <= _FEW_ROWS and joined.shape[0] >= w + n_new - 1:
            # A live tick: the windows ending at the few new rows, reduced directly
            # (a NaN makes its window's range NaN: not quiet, as below).
            return _quiet_windows(joined[-(w + n_new - 1) :], w, self._limits6), joined
        hi = maximum_filter1d(
            np.where(np.isnan(joined), np.inf, joined),
            w,
            axis=0,
            origin=(w - 1) // 2,
            mode="nearest",
        )
        lo = minimum_filter1d(
            np.where(np.isnan(joined), -np.inf, joined),
            w,
            axis=0,
            origin=(w - 1) // 2,
            mode="nearest",
        )
        quiet = np.all(hi - lo < self._limits6, axis=1)
        quiet[: w - 1] = False  # windows reaching before the data are not quiet
        # Flags of history samples were reported before.
        return quiet[n_old:], joined

    def columns(
        self, joined: NDArray[np.float64]
    ) -> tuple[dict[Placement, NDArray], dict[Placement, NDArray]]:
        """The specific force and the angular rate of each sensor in a joined array."""
        acc = {p: joined[:, 6 * i : 6 * i + 3] for i, p in enumerate(self.placements)}
        gyr = {p: joined[:, 6 * i + 3 : 6 * i + 6] for i, p in enumerate(self.placements)}
        return acc, gyr


@dataclass(frozen=True, slots=True)
class Standing:
    """Quiet standing found on the raw signals.

    Attributes
    ----------
    k_start, k_end : int
        Grid indices of the quiet window ``[k_start, k_end)``.
    vertical : dict of Placement to ndarray, shape (3,)
        Mean specific force direction in each sensor's frame (the standing vertical).
    gyr_bias_rps : dict of Placement to ndarray, shape (3,)
        Mean angular rate in the window: the gyroscope offset, rad/s.
    """

    k_start: int
    k_end: int
    vertical: dict[Placement, NDArray[np.float64]]
    gyr_bias_rps: dict[Placement, NDArray[np.float64]]


class StandingFinder:
    """Find the first quiet standing of the session on raw grid samples."""

    def __init__(self, placements: Sequence[Placement], params: ProcessingParams) -> None:
        self.placements = tuple(placements)
        self._quiet = QuietDetector(
            placements,
            int(round(params.quiet_window_s * params.fs_hz)),
            np.deg2rad(params.quiet_gyr_range_dps),
            params.quiet_acc_range_mps2,
        )
        self.window = self._quiet.window

    def update(
        self, k0: int, acc: Mapping[Placement, NDArray], gyr: Mapping[Placement, NDArray]
    ) -> Standing | None:
        """The first quiet window ending in these samples, if any."""
        quiet, joined = self._quiet.update(acc, gyr)
        hits = np.flatnonzero(quiet)
        if hits.size == 0:
            return None
        ja, jg = self._quiet.columns(joined)
        n_hist = joined.shape[0] - quiet.size
        end = n_hist + int(hits[0])  # index in the joined arrays
        w = self.window
        vertical, bias = {}, {}
        for pl in self.placements:
            f = ja[pl][end - w + 1 : end + 1].mean(axis=0)
            vertical[pl] = f / np.linalg.norm(f)
            bias[pl] = jg[pl][end - w + 1 : end + 1].mean(axis=0)
        k_end = k0 + int(hits[0]) + 1
        return Standing(k_end - w, k_end, vertical, bias)


def _tilt_deg(quat: NDArray[np.float64], vertical: NDArray[np.float64]) -> NDArray[np.float64]:
    """Angle between the standing vertical and the world vertical, deg (sign-free)."""
    v = quat_rotate(quat, vertical)
    return np.rad2deg(np.arccos(np.clip(v[:, 2], -1.0, 1.0)))


def _rotation_axis(q_from: NDArray[np.float64], q_to: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotation vector (sensor frame) of ``conj(q_from) ⊗ q_to``, rad, shape (3,)."""
    x1, y1, z1, w1 = -q_from[0], -q_from[1], -q_from[2], q_from[3]
    x2, y2, z2, w2 = q_to
    w = w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2
    xyz = np.array(
        [
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ]
    )
    if w < 0:
        w, xyz = -w, -xyz
    s = np.linalg.norm(xyz)
    return xyz * (2.0 * np.arctan2(s, w) / s) if s > 0 else np.zeros(3)


def _perpendicular_unit(axis: NDArray[np.float64], vertical: NDArray[np.float64]) -> NDArray:
    a = axis - (axis @ vertical) * vertical
    return a / np.linalg.norm(a)


class Calibrator:
    """Streaming calibration stage (see the module docstring).

    Parameters
    ----------
    placements : sequence of Placement
        Sensors of the session; must include both shanks.
    params : ProcessingParams
    standing : Standing
        The quiet standing that starts the session (from :class:`StandingFinder`).
    """

    def __init__(
        self, placements: Sequence[Placement], params: ProcessingParams, standing: Standing
    ) -> None:
        missing = [p.value for p in _SHANKS if p not in placements]
        if missing:
            raise ValueError(f"calibration needs both shank sensors; missing {', '.join(missing)}")
        self.placements = tuple(placements)
        self.params = params
        fs = params.fs_hz
        self._quiet = QuietDetector(
            placements,
            int(round(params.quiet_window_s * fs)),
            np.deg2rad(params.quiet_gyr_range_dps),
            params.quiet_acc_range_mps2,
        )
        self._w = self._quiet.window
        self._was_quiet = True  # the first quiet window after motion triggers a check
        self.calibration: dict[Placement, SensorCalibration] = {}
        self._copy: dict[Placement, SensorCalibration] | None = None  # see _snapshot
        self._vertical: dict[Placement, NDArray[np.float64]] = dict(standing.vertical)
        # Sensors whose flexion axis is (re-)learned on the next squats. While any is,
        # data is held back and released once it is known.
        self._learning: set[Placement] = set(self.placements)
        self._held: deque[OrientedBlock] = deque()
        self._held_n = 0
        # Enough to look back over one rep: joined blocks, then the latest few as they
        # came (a live session's blocks are a few samples each: joined in groups of
        # _JOIN_BLOCKS, they are a few dozen objects for the collector, not thousands).
        self._recent: deque[OrientedBlock] = deque()
        self._latest: list[OrientedBlock] = []
        self._recent_n = 0
        self._recent_end: int | None = None  # grid index after the last block kept
        self._axes: dict[Placement, list[NDArray[np.float64]]] = {p: [] for p in self.placements}
        self._squats_seen = 0
        self._detector = self._new_detector()

    def _new_detector(self) -> ExcursionDetector:
        return squat_detector(self.params)

    @property
    def ready(self) -> bool:
        """True once every sensor has a vertical and a flexion axis."""
        return len(self.calibration) == len(self.placements)

    @property
    def holding(self) -> bool:
        """True while data is held back for a flexion axis still being learned."""
        return bool(self._learning)

    def _window_verticals(
        self, acc: dict[Placement, NDArray], end: int
    ) -> dict[Placement, NDArray]:
        """Mean specific-force direction over the quiet window ending at ``end``.

        At rest this is the vertical, independent of any filter transient (after a
        turn the orientation filter may still be settling), and it is how the standing
        vertical was measured in the first place.
        """
        out = {}
        for pl in self.placements:
            f = acc[pl][end - self._w + 1 : end + 1].mean(axis=0)
            out[pl] = f / np.linalg.norm(f)
        return out

    # -- main entry ------------------------------------------------------------------
    def update(self, block: OrientedBlock) -> tuple[list[Calibrated], list[CalibrationEvent]]:
        """Consume a block; return the samples whose calibration is now known, and events.

        Each returned piece carries the calibration that applies to it. The block is
        walked in sample order, cut at every start of quiet standing (where a slip is
        checked), so the outcome does not depend on how the stream was chunked.
        """
        events: list[CalibrationEvent] = []
        out: list[Calibrated] = []
        stacked = block.stacked if tuple(block.acc_mps2) == self.placements else None
        quiet_end, joined = self._quiet.update(block.acc_mps2, block.gyr_rps, stacked)
        offset = joined.shape[0] - len(block)
        if not quiet_end.size or (self._was_quiet and quiet_end.all()) or not quiet_end.any():
            starts = _NONE  # most steps: no quiet standing begins here
        else:
            previous = np.concatenate([[self._was_quiet], quiet_end[:-1]])
            starts = np.flatnonzero(quiet_end & ~previous)
        if quiet_end.size:
            self._was_quiet = bool(quiet_end[-1])
        if self._learning or starts.size:
            # Looked back into only while an axis is learned (a slip, checked at a
            # start of quiet standing, can begin that within this block).
            self._push_recent(block)
        pos = 0
        for stop in [*(int(i) + 1 for i in starts), len(block)]:
            if stop > pos:
                sub = block if pos == 0 and stop == len(block) else block.slice(pos, stop)
                was_holding = self.holding
                self._learn_from(sub, events)
                if was_holding and not self.holding:
                    # The axes are known: everything held back, and this piece, use them.
                    cal = self._snapshot()
                    out.extend(Calibrated(b, cal) for b in [*self._held, sub])
                    self._held.clear()
                    self._held_n = 0
                elif was_holding:
                    self._held.append(sub)
                    self._held_n += len(sub)
                    out.extend(self._trim_held())
                else:
                    out.append(Calibrated(sub, self._snapshot()))
            if starts.size and self.ready and stop - 1 in starts:
                acc_joined = self._quiet.columns(joined)[0]
                self._check_slip(acc_joined, offset + stop - 1, block, stop - 1, events)
            pos = stop
        if len(out) == 1 and len(out[0].block):
            return out, events  # the usual step: one piece
        return [c for c in out if len(c.block)], events

    def _snapshot(self) -> dict[Placement, SensorCalibration]:
        """The calibration as it stands, a copy made once per change (shared, not mutated)."""
        if self._copy is None:
            self._copy = dict(self.calibration)
        return self._copy

    def _push_recent(self, block: OrientedBlock) -> None:
        if not len(block):
            return
        if self._recent_end != block.k0:  # pushes paused: what is kept is not joined to this
            self._recent.clear()
            self._latest = []
            self._recent_n = 0
        self._recent_end = block.k0 + len(block)
        self._latest.append(block)
        self._recent_n += len(block)
        if len(self._latest) >= _JOIN_BLOCKS:
            self._recent.append(OrientedBlock.concat(self._latest))
            self._latest = []
        limit = int((self.params.rep_max_s + 1.0) * self.params.fs_hz)
        while self._recent and self._recent_n - len(self._recent[0]) >= limit:
            self._recent_n -= len(self._recent.popleft())

    def _trim_held(self) -> list[Calibrated]:
        """Bound the held data.

        Before the first calibration the oldest is dropped (it has no calibration at all);
        while re-learning it is released with the interim axis.
        """
        limit = int(self.params.calibration_max_buffer_s * self.params.fs_hz)
        released = []
        while self._held and self._held_n - len(self._held[0]) >= limit:
            oldest = self._held.popleft()
            self._held_n -= len(oldest)
            if self.ready:
                released.append(Calibrated(oldest, self._snapshot()))
        return released

    # -- learning the axes -------------------------------------------------------------
    def _depth_sign_free(self, block: OrientedBlock) -> NDArray[np.float64]:
        tilts = [_tilt_deg(block.quat[s], self._vertical[s]) for s in _SHANKS]
        return 0.5 * (tilts[0] + tilts[1])

    def _learn_from(self, block: OrientedBlock, events: list[CalibrationEvent]) -> None:
        # Squats are looked for only while an axis is being learned; a slip starts a fresh
        # detector (see _check_slip), so its state is never stale.
        if not len(block) or not self._learning:
            return
        for ev in self._detector.update(block.k0, self._depth_sign_free(block)):
            if isinstance(ev, ExcursionEvent) and not ev.has_gap and self._learning:
                self._use_excursion(ev, events)

    def _lookup(self, k_from: int, k_to: int) -> OrientedBlock | None:
        blocks = [
            b for b in [*self._recent, *self._latest] if b.k0 < k_to and b.k0 + len(b) > k_from
        ]
        if not blocks:
            return None
        joined = OrientedBlock.concat(blocks)
        window = joined.slice(max(k_from - joined.k0, 0), k_to - joined.k0)
        return window if len(window) == k_to - k_from else None

    def _use_excursion(self, ev: ExcursionEvent, events: list[CalibrationEvent]) -> None:
        window = self._lookup(ev.k_start, ev.k_bottom + 1)
        if window is None:
            return
        depth = self._depth_sign_free(window)
        mid = int(np.argmax(depth >= 0.5 * ev.peak_deg))
        # Both shanks tip toward one side all the way down (in walking they swing back
        # and forth), so their horizontal tilt keeps its direction.
        for sh in _SHANKS:
            v = quat_rotate(window.quat[sh], self._vertical[sh])[:, :2]
            tilted = np.linalg.norm(v, axis=1) > np.sin(np.deg2rad(self.params.rep_rest_deg))
            ref = v[-1] / np.linalg.norm(v[-1])
            if np.any(v[tilted] @ ref <= 0.7 * np.linalg.norm(v[tilted], axis=1)):
                return
        for pl in self._learning:
            axis = _rotation_axis(window.quat[pl][0], window.quat[pl][mid])
            if not np.all(np.isfinite(axis)) or np.linalg.norm(axis) < np.deg2rad(1.0):
                continue
            axis = axis / np.linalg.norm(axis)
            if self._axes[pl] and axis @ self._axes[pl][0] < 0:
                axis = -axis
            self._axes[pl].append(axis)
        self._squats_seen += 1
        t = float(ev.k_end / self.params.fs_hz)
        first = not self.ready
        if first and (
            self._squats_seen < self.params.calibration_reps
            or not all(self._axes[p] for p in self.placements)
        ):
            return
        done = tuple(p for p in self.placements if p in self._learning and self._axes[p])
        for pl in done:
            self._finalise(pl, window.slice(0, mid + 1))
            self._learning.discard(pl)
        if not done:
            return
        if first:
            events.append(
                CalibrationEvent(
                    "calibrated",
                    t,
                    self.placements,
                    f"flexion axes learned from {self._squats_seen} squats; angles flow",
                )
            )
        else:
            events.append(
                CalibrationEvent(
                    "axis_relearned",
                    t,
                    done,
                    f"flexion axis re-learned for {', '.join(p.value for p in done)}",
                )
            )

    def _finalise(self, pl: Placement, window: OrientedBlock) -> None:
        """Average the learned axes, make them horizontal in standing and sign them."""
        vertical = self._vertical[pl]
        axis = _perpendicular_unit(np.sum(self._axes[pl], axis=0), vertical)
        self._axes[pl] = []
        incl = segment_angles_rad(window.quat[pl], vertical, axis)[0]
        if pl in _SHANKS:
            # The shank tips forward in a squat.
            sign = 1.0 if np.nanmax(incl) >= -np.nanmin(incl) else -1.0
        else:
            # Pelvis and L1 tip forward with the shanks in the first half of the descent
            # (hip flexion starts with a forward lean; a butt wink comes only near the
            # bottom), so the window given here ends at mid-descent.
            depth = self._depth_sign_free(window)
            ok = np.isfinite(incl) & np.isfinite(depth)
            corr = np.corrcoef(incl[ok], depth[ok])[0, 1] if ok.sum() > 2 else 1.0
            sign = -1.0 if corr < 0 else 1.0
        self.calibration[pl] = SensorCalibration(vertical, sign * axis)
        self._copy = None

    # -- strap slips -------------------------------------------------------------------
    def flush(self) -> list[Calibrated]:
        """End of stream: release what is held, with the calibration known so far.

        A sensor still re-learning its axis keeps its interim axis. Before the first
        calibration is complete nothing is released: without it there are no angles.
        """
        if not self.ready:
            return []
        out = [Calibrated(b, self._snapshot()) for b in self._held if len(b)]
        self._held.clear()
        self._held_n = 0
        return out

    def _check_slip(
        self,
        acc: dict[Placement, NDArray[np.float64]],
        end: int,
        block: OrientedBlock,
        i: int,
        events: list[CalibrationEvent],
    ) -> None:
        """Check, as quiet standing begins (window ending at ``end``), whether a strap slipped."""
        limit = np.deg2rad(self.params.recalibrate_deg)
        now = self._window_verticals(acc, end)
        dev = {p: float(np.arccos(np.clip(now[p] @ self._vertical[p], -1, 1))) for p in now}
        moved = [p for p, d in dev.items() if d > limit]
        if len(moved) != 1:
            return
        pl = moved[0]
        old = self.calibration[pl]
        # Until the next squat re-learns the axis (data is held till then), carry it over
        # by the smallest rotation taking the old vertical to the new one.
        axis = _rotate_between(old.vertical, now[pl], old.flexion_axis)
        self._vertical[pl] = now[pl]
        self.calibration[pl] = SensorCalibration(now[pl], _perpendicular_unit(axis, now[pl]))
        self._copy = None
        if not self._learning:
            self._detector = self._new_detector()  # it slept while nothing was learned
        self._learning.add(pl)
        self._axes[pl] = []
        events.append(
            CalibrationEvent(
                "recalibrated",
                float(block.time_s[i]),
                (pl,),
                f"{pl.value} sensor moved on its strap by {np.rad2deg(dev[pl]):.0f} deg: "
                "new standing posture taken; one squat re-learns its axis",
            )
        )


def _rotate_between(a: NDArray, b: NDArray, v: NDArray) -> NDArray[np.float64]:
    """Rotate ``v`` by the smallest rotation taking unit ``a`` to unit ``b`` (Rodrigues)."""
    axis = np.cross(a, b)
    s, c = np.linalg.norm(axis), float(a @ b)
    if s < 1e-12:
        return v.copy()
    k = axis / s
    return v * c + np.cross(k, v) * s + k * (k @ v) * (1.0 - c)


@compiled
def _quiet_windows(rows, w, limits):  # pragma: no cover - compiled
    """Whether every column's range stays below its limit, per window of `w` rows.

    Exact (max and min), so it agrees with the filter path of QuietDetector; a NaN
    makes its window not quiet. Compiled: it runs on every live step.
    """
    n_out = rows.shape[0] - w + 1
    quiet = np.ones(n_out, dtype=np.bool_)
    for r in range(n_out):
        for c in range(rows.shape[1]):
            hi = rows[r, c]
            lo = hi
            for i in range(r + 1, r + w):
                x = rows[i, c]
                if x > hi:
                    hi = x
                elif x < lo:
                    lo = x
                elif x != x:  # NaN
                    hi = x
                    break
            if not hi - lo < limits[c]:  # False for NaN
                quiet[r] = False
                break
    return quiet
