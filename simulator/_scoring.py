"""Score processing output against the simulator's ground truth.

Used by the accuracy tests and ``benchmarks/accuracy.py``. Reps are matched by bottom
time; cue recall and false alarms count only reps whose true value is *clearly* past
or clearly short of the threshold (by ``margin``), as the acceptance criteria ask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulator._truth import RepTruth, Truth

#: Per-rep metrics compared with truth (deg).
REP_METRICS: tuple[str, ...] = (
    "ankle_df_left_deg",
    "ankle_df_right_deg",
    "knee_in_left_deg",
    "knee_in_right_deg",
    "pelvic_tilt_max_deg",
    "butt_wink_deg",
    "lumbar_flexion_max_deg",
)


@dataclass
class Score:
    """How well a processing run matched the truth.

    Attributes
    ----------
    true_reps, found_reps, matched : int
    missed : list of (set, rep)
        True reps with no detected rep within ``match_s`` of their bottom.
    false_reps : list of float
        Bottom times of detected reps matching no true rep.
    bottom_errors_s : list of float
        Detected minus true bottom time, per matched rep.
    metric_errors : dict of str to list of float
        Detected minus true, per matched rep (NaN-free).
    angle_rmse_deg : dict of str to float
        RMSE of each angle series over the grid points both have.
    cue_counts : dict of str to dict of str to int
        Per cue code: ``tp``, ``fn`` (on clearly-past reps), ``fp``, ``tn`` (clearly short).
    """

    true_reps: int = 0
    found_reps: int = 0
    matched: int = 0
    missed: list[tuple[int, int]] = field(default_factory=list)
    false_reps: list[float] = field(default_factory=list)
    bottom_errors_s: list[float] = field(default_factory=list)
    metric_errors: dict[str, list[float]] = field(default_factory=dict)
    angle_rmse_deg: dict[str, float] = field(default_factory=dict)
    cue_counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def metric_mae(self) -> dict[str, float]:
        """Mean absolute error of each per-rep metric, deg."""
        return {
            k: float(np.mean(np.abs(v))) if v else float("nan")
            for k, v in self.metric_errors.items()
        }

    def merge(self, other: Score) -> Score:
        """Pool two scores (angle RMSEs are pooled as root of the mean of squares)."""
        out = Score(
            self.true_reps + other.true_reps,
            self.found_reps + other.found_reps,
            self.matched + other.matched,
            self.missed + other.missed,
            self.false_reps + other.false_reps,
            self.bottom_errors_s + other.bottom_errors_s,
        )
        for k in set(self.metric_errors) | set(other.metric_errors):
            out.metric_errors[k] = self.metric_errors.get(k, []) + other.metric_errors.get(k, [])
        for k in set(self.angle_rmse_deg) | set(other.angle_rmse_deg):
            vals = [d[k] for d in (self.angle_rmse_deg, other.angle_rmse_deg) if k in d]
            out.angle_rmse_deg[k] = float(np.sqrt(np.mean(np.square(vals))))
        for code in set(self.cue_counts) | set(other.cue_counts):
            a = self.cue_counts.get(code, {})
            b = other.cue_counts.get(code, {})
            out.cue_counts[code] = {k: a.get(k, 0) + b.get(k, 0) for k in ("tp", "fn", "fp", "tn")}
        return out

    def cue_rates(self) -> dict[str, tuple[float, float]]:
        """Per cue code: (recall, false-alarm rate) on clear-cut reps (NaN if none)."""
        out = {}
        for code, c in self.cue_counts.items():
            pos, neg = c["tp"] + c["fn"], c["fp"] + c["tn"]
            out[code] = (c["tp"] / pos if pos else math.nan, c["fp"] / neg if neg else math.nan)
        return out


def _fault(r: RepTruth) -> float:
    return max(r.butt_wink_deg, r.knee_in_left_deg, r.knee_in_right_deg)


def _cue_labels(
    reps: list[RepTruth], thresholds: dict[str, float], margin_deg: float
) -> list[dict[str, bool | None]]:
    """Per true rep and cue code: True (clearly past), False (clearly short), None."""

    def label(value: float, thr: float, margin: float) -> bool | None:
        if not math.isfinite(value):
            return None
        if value >= thr + margin:
            return True
        if value <= thr - margin:
            return False
        return None

    labels = []
    history: list[float] = []
    set_conc: dict[int, list[float]] = {}
    set_reps: dict[int, list[RepTruth]] = {}
    for r in reps:
        conc = set_conc.setdefault(r.set, [])
        conc.append(r.concentric_s)
        lab: dict[str, bool | None] = {
            "butt_wink": label(r.butt_wink_deg, thresholds["butt_wink_deg"], margin_deg),
            "knee_in_left": label(r.knee_in_left_deg, thresholds["knee_in_deg"], margin_deg),
            "knee_in_right": label(r.knee_in_right_deg, thresholds["knee_in_deg"], margin_deg),
            # At the bottom: one shank's inclination below the other's (truth at bottom is
            # close to the rep's maximum for both shanks).
            "ankle_limited_left": label(
                r.ankle_df_right_deg - r.ankle_df_left_deg,
                thresholds["ankle_asymmetry_deg"],
                margin_deg,
            ),
            "ankle_limited_right": label(
                r.ankle_df_left_deg - r.ankle_df_right_deg,
                thresholds["ankle_asymmetry_deg"],
                margin_deg,
            ),
            "fast_descent": label(-r.eccentric_s, -thresholds["fast_descent_s"], 0.15),
        }
        if len(history) >= 3:
            lab["forward_lean"] = label(
                r.pelvic_tilt_max_deg - float(np.median(history)),
                thresholds["forward_lean_margin_deg"],
                margin_deg,
            )
        set_reps.setdefault(r.set, []).append(r)
        if len(conc) >= 3:
            # The engine's two reasons, judged on true values: a slower ascent than the
            # set's fastest, or faults growing from the first three reps to the last three.
            slow = label(r.concentric_s / min(conc) - 1.0, thresholds["fatigue_slowdown"], 0.07)
            mine = set_reps[r.set]
            growth: bool | None = False
            if len(mine) >= 6:
                g = np.mean([_fault(x) for x in mine[-3:]]) - np.mean([_fault(x) for x in mine[:3]])
                growth = label(float(g), thresholds["fault_growth_deg"], margin_deg)
            if slow or growth:
                lab["fatigue"] = True
            elif slow is False and growth is False:
                lab["fatigue"] = False
        history.append(r.pelvic_tilt_max_deg)
        labels.append(lab)
    return labels


def score(
    truth: Truth,
    reps: list,
    time_s: np.ndarray,
    angles_deg: dict[str, np.ndarray],
    thresholds: dict[str, float],
    *,
    match_s: float = 1.0,
    margin_deg: float = 2.0,
    skip_gap_reps: bool = True,
) -> Score:
    """Compare a processing run (its reps and angle series) with the truth.

    Parameters
    ----------
    truth : Truth
    reps : list of processing.RepMetrics
    time_s, angles_deg : the run's angle series (grid times, s; angles, deg)
    thresholds : dict
        The cue thresholds used (``dataclasses.asdict(CueParams())``).
    match_s : float
        A detected rep matches the true rep whose bottom is nearest, within this, s.
    margin_deg : float
        How far past or short of a threshold a true value must be to count for cues.
    skip_gap_reps : bool
        Leave reps flagged ``has_gap`` out of the metric errors (they are flagged as
        less certain; they still count for rep detection).
    """
    s = Score(true_reps=len(truth.reps), found_reps=len(reps))
    s.metric_errors = {m: [] for m in REP_METRICS}
    labels = _cue_labels(truth.reps, thresholds, margin_deg)
    true_bottoms = np.array([r.t_bottom_s for r in truth.reps])
    used: set[int] = set()
    for rep in reps:
        if true_bottoms.size == 0:
            s.false_reps.append(rep.t_bottom_s)
            continue
        j = int(np.argmin(np.abs(true_bottoms - rep.t_bottom_s)))
        if abs(true_bottoms[j] - rep.t_bottom_s) > match_s or j in used:
            s.false_reps.append(rep.t_bottom_s)
            continue
        used.add(j)
        t = truth.reps[j]
        s.matched += 1
        s.bottom_errors_s.append(rep.t_bottom_s - t.t_bottom_s)
        if not (skip_gap_reps and rep.has_gap):
            for m in REP_METRICS:
                a, b = getattr(rep, m), getattr(t, m)
                if math.isfinite(a) and math.isfinite(b):
                    s.metric_errors[m].append(a - b)
        for code, lab in labels[j].items():
            if lab is None:
                continue
            fired = code in rep.cues
            key = ("tp" if fired else "fn") if lab else ("fp" if fired else "tn")
            s.cue_counts.setdefault(code, {"tp": 0, "fn": 0, "fp": 0, "tn": 0})[key] += 1
    s.missed = [
        (truth.reps[j].set, truth.reps[j].rep) for j in range(len(truth.reps)) if j not in used
    ]
    # Angle series on the common 100 Hz grid (both use t = k / 100).
    k_truth = np.round(truth.time_s * 100).astype(np.int64)
    k_run = np.round(np.asarray(time_s) * 100).astype(np.int64)
    common, i_t, i_r = np.intersect1d(k_truth, k_run, return_indices=True)
    for name, series in angles_deg.items():
        a, b = np.asarray(series)[i_r], truth.angles_deg[name][i_t]
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.any():
            s.angle_rmse_deg[name] = float(np.sqrt(np.mean((a[ok] - b[ok]) ** 2)))
    return s
