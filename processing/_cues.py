"""Cues: when a rep's numbers cross the athlete's thresholds, say so once.

A cue fires at most once per rep and code. Thresholds have hysteresis across reps: a
cue that fired on the previous rep keeps firing while its value stays within
``hysteresis_deg`` below the threshold, so a value hovering at the threshold does not
flip it on and off rep by rep.
"""

from __future__ import annotations

import numpy as np

from processing._events import BottomReached, Cue, RepMetrics
from processing._params import CueParams

#: Spoken-style text and severity of each cue code.
CUE_TEXT: dict[str, tuple[str, str]] = {
    "butt_wink": ("warning", "Pelvis tucked under at the bottom. Stop a little higher."),
    "knee_in_left": ("warning", "Left knee caving in. Push it out over your toes."),
    "knee_in_right": ("warning", "Right knee caving in. Push it out over your toes."),
    "ankle_limited_left": ("warning", "Left shin isn't travelling forward. Stiff left ankle."),
    "ankle_limited_right": ("warning", "Right shin isn't travelling forward. Stiff right ankle."),
    "forward_lean": ("warning", "You tipped forward. Chest up and brace."),
    "fast_descent": ("info", "Slow down on the way down."),
    "fatigue": ("info", "You're slowing down. Consider ending the set."),
}


class CueEngine:
    """Decide the cues of each rep (see the module docstring).

    Parameters
    ----------
    params : CueParams
    """

    def __init__(self, params: CueParams) -> None:
        self.params = params
        self._previous: set[str] = set()
        self._current: set[str] = set()
        self._pelvic_history: list[float] = []
        self._set_reps: list[RepMetrics] = []

    def new_set(self) -> None:
        """A new set begins: fatigue is judged within a set."""
        self._set_reps = []

    def set_reps(self) -> list[RepMetrics]:
        """The reps of the current set so far (a copy)."""
        return list(self._set_reps)

    def restore_set(self, reps: list[RepMetrics]) -> None:
        """Go back to a set as :meth:`set_reps` gave it (a cancelled rep opened a new one)."""
        self._set_reps = list(reps)

    def _crosses(self, code: str, value: float, threshold: float) -> bool:
        if not np.isfinite(value):
            return False
        margin = self.params.hysteresis_deg if code in self._previous else 0.0
        return value >= threshold - margin

    def _cue(
        self,
        code: str,
        b: BottomReached | RepMetrics,
        t_s: float,
        value: float,
        threshold: float,
        onset: float = float("nan"),
    ) -> Cue:
        severity, text = CUE_TEXT[code]
        if code == "butt_wink" and np.isfinite(onset):
            text = f"{text} It began at about {onset:.0f} degrees of shin angle."
        self._current.add(code)
        return Cue(code, text, severity, b.set, b.rep, t_s, value, threshold, onset)

    def at_bottom(self, b: BottomReached, pelvic_max_deg: float, eccentric_s: float) -> list[Cue]:
        """Cues known at the bottom of a rep (triggered by the sample ``b.t_detected_s``)."""
        p = self.params
        self._current = set()
        t = b.t_detected_s
        cues: list[Cue] = []
        if self._crosses("butt_wink", b.butt_wink_deg, p.butt_wink_deg):
            cues.append(
                self._cue(
                    "butt_wink", b, t, b.butt_wink_deg, p.butt_wink_deg, b.butt_wink_onset_depth_deg
                )
            )
        for side in ("left", "right"):
            value = getattr(b, f"knee_in_{side}_deg")
            if self._crosses(f"knee_in_{side}", value, p.knee_in_deg):
                cues.append(self._cue(f"knee_in_{side}", b, t, value, p.knee_in_deg))
        # A stiff ankle shows as one shank reaching less forward than the other.
        deficit = {
            "left": b.ankle_df_right_deg - b.ankle_df_left_deg,
            "right": b.ankle_df_left_deg - b.ankle_df_right_deg,
        }
        for side, value in deficit.items():
            if self._crosses(f"ankle_limited_{side}", value, p.ankle_asymmetry_deg):
                cues.append(self._cue(f"ankle_limited_{side}", b, t, value, p.ankle_asymmetry_deg))
        if len(self._pelvic_history) >= p.forward_lean_min_reps:
            usual = float(np.median(self._pelvic_history))
            excess = pelvic_max_deg - usual
            if self._crosses("forward_lean", excess, p.forward_lean_margin_deg):
                cues.append(self._cue("forward_lean", b, t, excess, p.forward_lean_margin_deg))
        if eccentric_s < p.fast_descent_s:
            cues.append(self._cue("fast_descent", b, t, eccentric_s, p.fast_descent_s))
        return cues

    def at_end(self, rep: RepMetrics) -> list[Cue]:
        """Cues known when the rep ends (fatigue); then remember the rep."""
        p = self.params
        self._set_reps.append(rep)
        cues: list[Cue] = []
        conc = [r.concentric_s for r in self._set_reps]
        if len(conc) >= p.fatigue_min_reps:
            slowdown = rep.concentric_s / min(conc) - 1.0
            growth = self._fault_growth()
            if slowdown >= p.fatigue_slowdown:
                cues.append(self._cue("fatigue", rep, rep.t_end_s, slowdown, p.fatigue_slowdown))
            elif growth >= p.fault_growth_deg:
                cues.append(self._cue("fatigue", rep, rep.t_end_s, growth, p.fault_growth_deg))
        if np.isfinite(rep.pelvic_tilt_max_deg):
            self._pelvic_history.append(rep.pelvic_tilt_max_deg)
        self._previous = set(self._current)
        return cues

    def _fault_growth(self) -> float:
        """Growth of the worst fault from the set's first three reps to its last three, deg."""
        reps = self._set_reps
        if len(reps) < 6:
            return 0.0

        def fault(r: RepMetrics) -> float:
            values = [r.butt_wink_deg, r.knee_in_left_deg, r.knee_in_right_deg]
            return max((v for v in values if np.isfinite(v)), default=0.0)

        first = np.mean([fault(r) for r in reps[:3]])
        last = np.mean([fault(r) for r in reps[-3:]])
        return float(last - first)
