"""Streaming rep segmentation and per-rep metrics on the angle signals.

Depth is the mean forward inclination of the two shanks (one alone where the other is
missing). The excursion detector turns it into reps; sets are separated by pauses
longer than ``set_gap_s``. A bottom event goes out as soon as the bottom is passed
(with the metrics known there, and the cues they trigger); the rep event when the
athlete is standing again. Walking (shanks swing in opposite directions, the mean stays
near zero), turning, bending over (shanks barely tilt) and fidgeting never reach
``rep_min_depth_deg`` of depth together and are not reps.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from processing._cues import CueEngine
from processing._events import AngleBlock, BottomReached, Cue, RepCancelled, RepMetrics
from processing._excursions import BottomEvent, CancelledEvent, ExcursionEvent, squat_detector
from processing._jit import compiled
from processing._params import ProcessingParams
from processing.consts import ANGLE_COLUMNS


def depth_deg(angles: dict[str, NDArray[np.float64]]) -> NDArray[np.float64]:
    """Mean shank inclination, deg; one shank where the other is missing."""
    return _depth(angles["ankle_df_left_deg"], angles["ankle_df_right_deg"])


@compiled
def _depth(left, right):  # pragma: no cover - compiled
    """:func:`depth_deg` of two columns.

    Compiled: it runs on every live step, where seven array operations on a sample or
    two cost five times this loop.
    """
    out = np.empty(left.shape[0])
    for i in range(left.shape[0]):
        a, b = left[i], right[i]
        if np.isfinite(a) and np.isfinite(b):
            out[i] = 0.5 * (a + b)
        elif np.isfinite(a):
            out[i] = a
        else:
            out[i] = b
    return out


def _nanmax(x: NDArray[np.float64]) -> float:
    finite = x[np.isfinite(x)]
    return float(finite.max()) if finite.size else float("nan")


def _at(x: NDArray[np.float64], i: int) -> float:
    return float(x[i]) if 0 <= i < x.size else float("nan")


class RepTracker:
    """Reps, bottoms and cues from a stream of angle blocks.

    Parameters
    ----------
    params : ProcessingParams
    """

    def __init__(self, params: ProcessingParams) -> None:
        self.params = params
        self.fs_hz = params.fs_hz
        self._detector = squat_detector(params)
        self.cues = CueEngine(params.cues)
        self._keep = int((params.rep_max_s + 2.0) * params.fs_hz)
        self._k0 = 0
        # Angle columns then depth, one row per grid point, from grid index _k0 on.
        self._hist = np.empty((0, len(ANGLE_COLUMNS) + 1))
        self._n = 0
        self.set_number = 0
        self.rep_number = 0
        self._last_end_k: int | None = None
        self._bottom: BottomReached | None = None
        self._bottom_cues: list[Cue] = []
        # Set, rep and the cue engine's set before the last bottom (undone if cancelled).
        self._before_bottom: tuple[int, int, list[RepMetrics]] = (0, 0, [])
        self._k_start = 0
        self.reps: list[RepMetrics] = []

    @property
    def in_rep(self) -> bool:
        """True while a rep is under way (the excursion detector's start to its end)."""
        return self._detector.active

    def _append(
        self, k0: int, angles: dict[str, NDArray[np.float64]], depth: NDArray[np.float64]
    ) -> None:
        if self._n == 0:
            self._k0 = k0
        elif k0 != self._k0 + self._n:
            raise ValueError(
                f"angle blocks must be consecutive: expected k={self._k0 + self._n}, got {k0}"
            )
        n_new = depth.shape[0]
        if self._n + n_new > self._hist.shape[0]:
            # Grow geometrically (amortised O(1) per sample), keeping only what _trim keeps.
            keep = self._hist[max(self._n - self._keep, 0) : self._n]
            self._k0 += self._n - keep.shape[0]
            self._n = keep.shape[0]
            size = max(2 * (self._n + n_new), 4 * self._keep)
            grown = np.empty((size, self._hist.shape[1]))
            grown[: self._n] = keep
            self._hist = grown
        rows = self._hist[self._n : self._n + n_new]
        for i, c in enumerate(ANGLE_COLUMNS):
            rows[:, i] = angles[c]
        rows[:, -1] = depth
        self._n += n_new

    def _seg(self, name: str, k_from: int, k_to: int) -> NDArray[np.float64]:
        col = len(ANGLE_COLUMNS) if name == "depth" else ANGLE_COLUMNS.index(name)
        lo = min(max(k_from - self._k0, 0), self._n)
        hi = min(max(k_to - self._k0, 0), self._n)
        return self._hist[lo:hi, col]

    def _t(self, k: int) -> float:
        return k / self.fs_hz

    def update(
        self, block: AngleBlock, k0: int
    ) -> list[BottomReached | RepMetrics | Cue | RepCancelled]:
        """Consume the angles on grid points ``k0 ..``; return bottoms, reps and cues."""
        d = depth_deg(block.angles_deg)
        self._append(k0, block.angles_deg, d)
        out: list[BottomReached | RepMetrics | Cue | RepCancelled] = []
        for ev in self._detector.update(k0, d):
            if isinstance(ev, BottomEvent):
                out.extend(self._on_bottom(ev))
            elif isinstance(ev, ExcursionEvent):
                out.extend(self._on_rep(ev))
            elif isinstance(ev, CancelledEvent) and self._bottom is not None:
                out.append(
                    RepCancelled(self._bottom.set, self._bottom.rep, self._t(ev.k_cancelled))
                )
                # Not a rep after all: set and rep numbers (and the set the cue engine
                # judges fatigue within) as they were before its bottom.
                self.set_number, self.rep_number, set_reps = self._before_bottom
                self.cues.restore_set(set_reps)
                self._bottom = None
        return out

    def _wink(self, k_start: int, k_bottom: int) -> tuple[float, float]:
        """Butt wink (deg) and the depth at which it began (deg)."""
        pel = self._seg("pelvic_tilt_deg", k_start, k_bottom + 1)
        if not np.any(np.isfinite(pel)):
            return float("nan"), float("nan")
        i_max = int(np.nanargmax(pel))
        after = pel[i_max:]
        wink = float(pel[i_max] - np.min(after[np.isfinite(after)]))
        onset = _at(self._seg("depth", k_start, k_bottom + 1), i_max)
        return wink, onset

    def _refined_start(self, k_start: int) -> int:
        """Where the depth left the standing level, not where it crossed ``rep_rest_deg``.

        The descent begins slowly, so the rest-level crossing comes a few tenths of a
        second after the movement did: step back to the last point within 0.5 deg of the
        lowest depth of the second before (the athlete's standing level).
        """
        lookback = self._seg("depth", k_start - int(self.fs_hz), k_start + 1)
        ok = np.isfinite(lookback)
        if ok.sum() < 2:
            return k_start
        level = float(np.min(lookback[ok])) + 0.5
        below = np.flatnonzero(ok & (lookback <= level))
        return k_start - (lookback.size - 1 - int(below[-1]))

    def _plausible(self, k_start: int, k_bottom: int) -> bool:
        """A squat moves both shanks forward together, within a human range.

        Walking swings them in opposite directions; a sensor whose strap slipped (and
        whose new mounting is not known yet) reads impossible inclinations.
        """
        lo, hi = self.params.rep_start_deg, self.params.max_shank_deg
        shanks = [
            self._seg(c, k_start, k_bottom + 1) for c in ("ankle_df_left_deg", "ankle_df_right_deg")
        ]
        for x in shanks:
            at_bottom = x[-1] if x.size else np.nan
            if np.isfinite(at_bottom) and not lo <= at_bottom <= hi:
                return False
        ok = np.isfinite(shanks[0]) & np.isfinite(shanks[1])
        if ok.sum() >= 5 and np.std(shanks[0][ok]) > 0 and np.std(shanks[1][ok]) > 0:
            return bool(np.corrcoef(shanks[0][ok], shanks[1][ok])[0, 1] >= 0.5)
        return True

    def _on_bottom(self, ev: BottomEvent) -> list[BottomReached | Cue]:
        if not self._plausible(ev.k_start, ev.k_bottom):
            self._bottom = None
            return []
        self._before_bottom = (self.set_number, self.rep_number, self.cues.set_reps())
        if (
            self._last_end_k is None
            or (ev.k_start - self._last_end_k) / self.fs_hz > self.params.set_gap_s
        ):
            self.set_number += 1
            self.rep_number = 0
            self.cues.new_set()
        self.rep_number += 1
        k_start = self._refined_start(ev.k_start)
        self._k_start = k_start
        wink, onset = self._wink(ev.k_start, ev.k_bottom)
        at_bottom = {c: _at(self._seg(c, ev.k_bottom, ev.k_bottom + 1), 0) for c in ANGLE_COLUMNS}
        b = BottomReached(
            set=self.set_number,
            rep=self.rep_number,
            t_start_s=self._t(k_start),
            t_bottom_s=self._t(ev.k_bottom),
            t_detected_s=self._t(ev.k_detected),
            depth_deg=ev.peak_deg,
            butt_wink_deg=wink,
            knee_in_left_deg=at_bottom["knee_in_left_deg"],
            knee_in_right_deg=at_bottom["knee_in_right_deg"],
            ankle_df_left_deg=at_bottom["ankle_df_left_deg"],
            ankle_df_right_deg=at_bottom["ankle_df_right_deg"],
            butt_wink_onset_depth_deg=onset,
        )
        pelvic_max = _nanmax(self._seg("pelvic_tilt_deg", ev.k_start, ev.k_detected + 1))
        self._bottom = b
        self._bottom_cues = self.cues.at_bottom(b, pelvic_max, b.t_bottom_s - b.t_start_s)
        return [b, *self._bottom_cues]

    def _sensor_missing(self, k_from: int, k_to: int) -> bool:
        """Tell whether any sensor was missing for part of the rep (depth survives one shank)."""
        for c in ("pelvic_tilt_deg", "ankle_df_left_deg", "ankle_df_right_deg"):
            if np.isnan(self._seg(c, k_from, k_to)).any():
                return True
        lumbar = self._seg("lumbar_flexion_deg", k_from, k_to)
        return bool(np.isfinite(lumbar).any() and np.isnan(lumbar).any())

    def _on_rep(self, ev: ExcursionEvent) -> list[RepMetrics | Cue]:
        b = self._bottom
        if b is None:  # cannot happen: a qualifying excursion always passed its bottom
            return []
        rng = (self._k_start, ev.k_end)
        rep = RepMetrics(
            set=b.set,
            rep=b.rep,
            t_start_s=b.t_start_s,
            t_bottom_s=b.t_bottom_s,
            t_end_s=self._t(ev.k_end),
            eccentric_s=b.t_bottom_s - b.t_start_s,
            concentric_s=self._t(ev.k_end) - b.t_bottom_s,
            ankle_df_left_deg=_nanmax(self._seg("ankle_df_left_deg", *rng)),
            ankle_df_right_deg=_nanmax(self._seg("ankle_df_right_deg", *rng)),
            knee_in_left_deg=b.knee_in_left_deg,
            knee_in_right_deg=b.knee_in_right_deg,
            pelvic_tilt_max_deg=_nanmax(self._seg("pelvic_tilt_deg", *rng)),
            butt_wink_deg=b.butt_wink_deg,
            lumbar_flexion_max_deg=_nanmax(self._seg("lumbar_flexion_deg", *rng)),
            depth_deg=ev.peak_deg,
            butt_wink_onset_depth_deg=b.butt_wink_onset_depth_deg,
            has_gap=ev.has_gap or self._sensor_missing(*rng),
            k_start=self._k_start,
            k_bottom=ev.k_bottom,
            k_end=ev.k_end,
        )
        end_cues = self.cues.at_end(rep)
        codes = tuple(c.code for c in [*self._bottom_cues, *end_cues])
        rep = RepMetrics(
            **{**{f: getattr(rep, f) for f in rep.__dataclass_fields__}, "cues": codes}
        )
        self.reps.append(rep)
        self._last_end_k = ev.k_end
        self._bottom = None
        return [rep, *end_cues]
