"""Per-set and per-session summary with plain-language next steps.

The advice follows the project's domain notes (what lifting coaches and the literature
suggest for each fault). squatsense is not a medical device; every summary says so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from processing._events import Cue, RepMetrics, _clean

DISCLAIMER = (
    "squatsense is not a medical device: it describes how you moved, it does not diagnose. "
    "For severe or lasting pain, see a physiotherapist or doctor."
)

#: Metrics whose trend across a set is reported (per rep).
TREND_METRICS: tuple[str, ...] = (
    "butt_wink_deg",
    "knee_in_left_deg",
    "knee_in_right_deg",
    "pelvic_tilt_max_deg",
    "concentric_s",
    "depth_deg",
)


@dataclass(frozen=True)
class SetSummary:
    """One set.

    Attributes
    ----------
    set : int
    reps : int
    t_start_s, t_end_s : float
    faults : dict of str to list of int
        Cue code → the reps (1-based, within the set) on which it fired.
    trends : dict of str to float
        Least-squares slope per rep of each ``TREND_METRICS`` (deg/rep or s/rep);
        only with at least three reps.
    concentric_slowdown : float
        Last rep's concentric time over the set's fastest, minus 1 (0.3 = 30 % slower).
    means : dict of str to float
        Mean of each per-rep metric over the set.
    """

    set: int
    reps: int
    t_start_s: float
    t_end_s: float
    faults: dict[str, list[int]]
    trends: dict[str, float]
    concentric_slowdown: float
    means: dict[str, float]


@dataclass(frozen=True)
class SessionSummary:
    """A whole session: what was seen, and what to work on.

    Attributes
    ----------
    reps : int
    sets : list of SetSummary
    faults : dict of str to list of [set, rep]
    asymmetry : dict of str to float
        ``ankle_df_left_minus_right_deg`` and ``knee_in_left_minus_right_deg``: means over
        all reps of left minus right.
    butt_wink_onset_depth_deg : float
        Median depth (mean shank inclination) at which the butt wink began, over reps
        where it fired; NaN if it never did.
    reps_with_gaps : list of [set, rep]
        Reps during which a sensor was missing for a while: their numbers are less sure.
    advice : list of str
        Plain-language next steps, most important first.
    disclaimer : str
    has_lumbar : bool
    """

    reps: int
    sets: list[SetSummary]
    faults: dict[str, list[list[int]]]
    asymmetry: dict[str, float]
    butt_wink_onset_depth_deg: float
    reps_with_gaps: list[list[int]]
    advice: list[str]
    disclaimer: str = DISCLAIMER
    has_lumbar: bool = True
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (NaN as None)."""

        def clean(x: object) -> object:
            if isinstance(x, dict):
                return {k: clean(v) for k, v in x.items()}
            if isinstance(x, list | tuple):
                return [clean(v) for v in x]
            return _clean(x)

        return clean(asdict(self))  # type: ignore[return-value]


def _mean(values: Sequence[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _slope(values: Sequence[float]) -> float:
    y = np.array(values, dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return float("nan")
    x = np.arange(y.size)[ok]
    return float(np.polyfit(x, y[ok], 1)[0])


def _summarise_set(number: int, reps: list[RepMetrics]) -> SetSummary:
    faults: dict[str, list[int]] = {}
    for r in reps:
        for code in r.cues:
            faults.setdefault(code, []).append(r.rep)
    trends = (
        {m: _slope([getattr(r, m) for r in reps]) for m in TREND_METRICS} if len(reps) >= 3 else {}
    )
    conc = [r.concentric_s for r in reps]
    metric_names = [
        "depth_deg",
        "ankle_df_left_deg",
        "ankle_df_right_deg",
        "knee_in_left_deg",
        "knee_in_right_deg",
        "pelvic_tilt_max_deg",
        "butt_wink_deg",
        "lumbar_flexion_max_deg",
        "eccentric_s",
        "concentric_s",
    ]
    return SetSummary(
        set=number,
        reps=len(reps),
        t_start_s=reps[0].t_start_s,
        t_end_s=reps[-1].t_end_s,
        faults=faults,
        trends=trends,
        concentric_slowdown=conc[-1] / min(conc) - 1.0 if conc else float("nan"),
        means={m: _mean([getattr(r, m) for r in reps]) for m in metric_names},
    )


def summarize(
    reps: Sequence[RepMetrics], cues: Sequence[Cue] = (), *, has_lumbar: bool = True
) -> SessionSummary:
    """Summarise a session from its reps (and cues, for the onset depth).

    Parameters
    ----------
    reps : sequence of RepMetrics
    cues : sequence of Cue
    has_lumbar : bool
        Whether an L1 sensor was worn (lumbar flexion is empty without it).

    Returns
    -------
    SessionSummary
    """
    by_set: dict[int, list[RepMetrics]] = {}
    for r in reps:
        by_set.setdefault(r.set, []).append(r)
    sets = [_summarise_set(n, rs) for n, rs in sorted(by_set.items())]
    faults: dict[str, list[list[int]]] = {}
    for r in reps:
        for code in r.cues:
            faults.setdefault(code, []).append([r.set, r.rep])
    asym = {
        "ankle_df_left_minus_right_deg": _mean(
            [r.ankle_df_left_deg - r.ankle_df_right_deg for r in reps]
        ),
        "knee_in_left_minus_right_deg": _mean(
            [r.knee_in_left_deg - r.knee_in_right_deg for r in reps]
        ),
    }
    onsets = [c.onset_depth_deg for c in cues if c.code == "butt_wink"]
    onset = (
        float(np.median([o for o in onsets if math.isfinite(o)]))
        if any(math.isfinite(o) for o in onsets)
        else float("nan")
    )
    notes = []
    if not has_lumbar:
        notes.append("No L1 sensor was worn: lumbar flexion is not measured.")
    gaps = [[r.set, r.rep] for r in reps if r.has_gap]
    if gaps:
        notes.append(
            f"A sensor dropped out during {len(gaps)} rep(s); their numbers are less certain."
        )
    return SessionSummary(
        reps=len(reps),
        sets=sets,
        faults=faults,
        asymmetry=asym,
        butt_wink_onset_depth_deg=onset,
        reps_with_gaps=gaps,
        advice=_advice(faults, asym, onset, len(reps)),
        has_lumbar=has_lumbar,
        notes=notes,
    )


def _advice(
    faults: dict[str, list[list[int]]], asym: dict[str, float], onset: float, n_reps: int
) -> list[str]:
    if n_reps == 0:
        return ["No squats were recognised. Start from quiet standing, then squat as usual."]

    def share(code: str) -> float:
        return len(faults.get(code, [])) / n_reps

    advice: list[str] = []
    if share("butt_wink") > 0:
        where = f" (about {onset:.0f} degrees of shin angle)" if math.isfinite(onset) else ""
        advice.append(
            "Butt wink: stop each rep just above the depth where your pelvis starts to tuck"
            f"{where}, then extend depth gradually. Work on hip-flexion mobility and keep "
            "bracing through the bottom."
        )
    for side in ("left", "right"):
        if share(f"ankle_limited_{side}") > 0:
            diff = abs(asym["ankle_df_left_minus_right_deg"])
            advice.append(
                f"Stiff {side} ankle: that shin travels about {diff:.0f} degrees less than the "
                f"other. Do ankle dorsiflexion mobility work on the {side} side, re-test, and "
                "consider a small heel lift meanwhile."
            )
    for side in ("left", "right"):
        if share(f"knee_in_{side}") > 0:
            advice.append(
                f"{side.capitalize()} knee caves in: add glute medius activation to the warm-up "
                "(side-lying abduction, side bridges) and think 'knees over toes'."
            )
    if share("forward_lean") > 0:
        advice.append(
            "Forward tilt: stretch the hip flexors; strengthen glutes, hamstrings and "
            "anti-extension core work."
        )
    if share("fatigue") > 0:
        advice.append(
            "Form and speed faded late in the set: end sets earlier (when the ascent slows by "
            "about a quarter) and rest longer between sets."
        )
    if share("fast_descent") > 0:
        advice.append("Control the way down: take about 1.5 to 2 seconds to descend.")
    if not advice:
        advice.append("Clean session: no fault crossed your thresholds. Keep it up.")
    advice.append(
        "On a painful day, take the load off, groove the movement with air squats and come "
        "back to load gradually."
    )
    return advice
