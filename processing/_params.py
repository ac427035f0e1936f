"""Parameters of the processing core: frozen, documented, independent of sample rate.

Every field says its unit and default. Coefficients derived from them and the grid rate
are computed once where they are used; per-stream state lives in the stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CueParams:
    """When cues fire. Defaults follow the project's domain notes; override per athlete.

    Attributes
    ----------
    butt_wink_deg : float
        Posterior pelvic rotation from the most anterior point in the descent to the
        bottom that fires ``butt_wink``. Default 8 deg.
    knee_in_deg : float
        Knee-in at the bottom that fires ``knee_in_left`` / ``knee_in_right``. Default 8 deg.
    ankle_asymmetry_deg : float
        How much less forward one shank is than the other at the bottom to fire
        ``ankle_limited_left`` / ``ankle_limited_right``. Default 6 deg.
    forward_lean_margin_deg : float
        Maximum pelvic tilt this far above the athlete's own usual (median of the
        session's previous reps) fires ``forward_lean``. Default 12 deg.
    forward_lean_min_reps : int
        Reps needed before the athlete's usual is known. Default 3.
    fast_descent_s : float
        Eccentric phases shorter than this fire ``fast_descent``. Default 0.8 s.
    fatigue_slowdown : float
        Concentric duration this fraction above the set's fastest rep fires ``fatigue``.
        Default 0.25 (velocity-based training ends sets at ~20 % velocity loss).
    fatigue_min_reps : int
        Reps in the set before ``fatigue`` can fire. Default 3.
    fault_growth_deg : float
        ``fatigue`` also fires when a fault metric (butt wink, knee-in) of the last three
        reps exceeds that of the set's first three by this much. Default 6 deg.
    hysteresis_deg : float
        Once a cue fired on the previous rep, it keeps firing while the metric stays
        within this margin below the threshold, so a value hovering at the threshold
        does not flip the cue on and off rep by rep. Default 1 deg.
    """

    butt_wink_deg: float = 8.0
    knee_in_deg: float = 8.0
    ankle_asymmetry_deg: float = 6.0
    forward_lean_margin_deg: float = 12.0
    forward_lean_min_reps: int = 3
    fast_descent_s: float = 0.8
    fatigue_slowdown: float = 0.25
    fatigue_min_reps: int = 3
    fault_growth_deg: float = 6.0
    hysteresis_deg: float = 1.0


@dataclass(frozen=True)
class ProcessingParams:
    """How squatsense turns samples into angles, reps and cues.

    Attributes
    ----------
    fs_hz : float
        Rate of the common time grid all sensors are resampled onto. Default 100 Hz.
    max_gap_s : float
        Gaps up to this long are interpolated; longer ones are marked and no angle is
        produced inside them. Default 0.1 s.
    gyr_bias_clip_dps : float
        Largest gyroscope offset the orientation filter may estimate. Cheap sensors
        start with several deg/s, up to ±20 deg/s. Default 20 deg/s.
    turn_coupling : bool
        Learn and remove each gyroscope's cross-axis coupling of turning into tilt
        (:class:`processing._orientation.TurnCoupling`). Default True.
    quiet_window_s : float
        Length of quiet standing needed to calibrate. Default 1.5 s.
    quiet_gyr_range_dps : float
        Quiet standing: over the window, each gyroscope axis stays within a range this
        wide (max - min). Default 6 deg/s (postural sway stays within ~3).
    quiet_acc_range_mps2 : float
        Quiet standing: each accelerometer axis stays within a range this wide.
        Default 0.5 m/s² (MPU-6050 noise alone spans ~0.2 over 1.5 s).
    recalibrate_deg : float
        A new quiet-standing vertical this far from the calibrated one, on one sensor
        only (a strap that slipped), recalibrates that sensor. Default 8 deg: above the
        ~3 deg of postural sway and the 2-4 deg a cheap sensor's estimate wanders.
    calibration_reps : int
        Squat excursions used to learn the flexion axes. Default 2.
    calibration_max_buffer_s : float
        How much data is held back while waiting for the calibration squats; older data
        is dropped from the back-log. Default 120 s.
    rep_start_deg : float
        Depth (mean shank inclination) at which a descent is recognised. Default 8 deg.
    rep_min_depth_deg : float
        Depth a rep must reach to count. Default 15 deg.
    rep_rest_deg : float
        Depth below which the athlete is standing: a rep begins where the depth last
        left this level and ends where it returns to it. Default 3 deg.
    max_shank_deg : float
        Largest plausible forward shank inclination at the bottom of a squat; beyond it
        the excursion is not a squat (or a sensor is misread). Default 75 deg.
    bottom_rise_deg : float
        The bottom is passed once the depth has risen back this far from its maximum.
        Default 2 deg.
    rep_max_s : float
        Longest plausible rep; longer excursions are not reps. Default 12 s.
    rep_min_s : float
        Shortest plausible rep. Default 0.8 s.
    set_gap_s : float
        A pause longer than this between reps starts a new set. Default 20 s.
    cues : CueParams
        Cue thresholds.
    """

    fs_hz: float = 100.0
    max_gap_s: float = 0.1
    gyr_bias_clip_dps: float = 20.0
    turn_coupling: bool = True
    quiet_window_s: float = 1.5
    quiet_gyr_range_dps: float = 6.0
    quiet_acc_range_mps2: float = 0.5
    recalibrate_deg: float = 8.0
    calibration_reps: int = 2
    calibration_max_buffer_s: float = 120.0
    rep_start_deg: float = 8.0
    rep_min_depth_deg: float = 15.0
    rep_rest_deg: float = 3.0
    max_shank_deg: float = 75.0
    bottom_rise_deg: float = 2.0
    rep_max_s: float = 12.0
    rep_min_s: float = 0.8
    set_gap_s: float = 20.0
    cues: CueParams = field(default_factory=CueParams)

    def __post_init__(self) -> None:
        if not self.fs_hz > 0:
            raise ValueError(f"fs_hz must be > 0, got {self.fs_hz}")
        if self.max_gap_s < 1.5 / self.fs_hz:
            raise ValueError(
                f"max_gap_s must cover at least 1.5 grid steps ({1.5 / self.fs_hz:g} s), "
                f"got {self.max_gap_s}"
            )
        if not 0 < self.rep_rest_deg < self.rep_start_deg < self.rep_min_depth_deg:
            raise ValueError(
                "need 0 < rep_rest_deg < rep_start_deg < rep_min_depth_deg, got "
                f"{self.rep_rest_deg}, {self.rep_start_deg}, {self.rep_min_depth_deg}"
            )
