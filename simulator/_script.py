"""The athlete's session as joint-angle drivers on a fine, uniform time grid.

A session is a list of activities (stand, squat set, walk, turn, bend over, fidget).
Each activity writes smooth driver signals: heading, base position, shank pitch and
knee-in per side, thigh pitch, pelvis pitch and roll, lumbar flexion. ``_body`` turns
the drivers into segment orientations and sensor positions; ``_imu`` samples them.

All angles here are in rad, times in s, lengths in m. Signs follow
docs/conventions.md: pitch about the athlete's left axis, forward positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

#: Fine grid rate of the kinematic model, Hz. Sensors sample it by interpolation,
#: so it must be well above their rates and the motion's bandwidth.
FINE_FS_HZ: float = 1000.0

_DRIVERS = (
    "heading",
    "base_x",
    "base_y",
    "base_z",
    "shank_pitch_l",
    "shank_pitch_r",
    "knee_in_l",
    "knee_in_r",
    "foot_dx_l",
    "foot_dx_r",
    "foot_dz_l",
    "foot_dz_r",
    "thigh_pitch",
    "pelvis_pitch",
    "pelvis_roll",
    "lumbar_flexion",
)


def min_jerk(u: NDArray[np.float64]) -> NDArray[np.float64]:
    """Minimum-jerk blend from 0 to 1 over ``u`` in [0, 1].

    Speed and acceleration are zero at both ends.
    """
    u = np.clip(u, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u**2)


@dataclass(frozen=True)
class RepSpec:
    """One squat as the simulator performs it.

    Attributes
    ----------
    eccentric_s, pause_s, concentric_s : float
        Durations of descent, bottom pause and ascent, s.
    shank_deg : tuple of float
        Peak forward shank pitch (left, right) at the bottom, deg.
    thigh_deg : float
        Peak thigh pitch backward from vertical at the bottom, deg.
    pelvis_deg : float
        Anterior pelvis pitch the rep would reach without a butt wink, deg.
    lumbar_deg : float
        Lumbar flexion at the bottom without a butt wink, deg.
    wink_deg : float
        Posterior pelvic rotation added past ``wink_onset`` of the depth, deg.
    wink_onset : float
        Fraction of the depth (0..1) where the wink begins.
    knee_in_deg : tuple of float
        Knee-in (toward the midline) reached at the bottom (left, right), deg.
    knee_in_onset : float
        Fraction of the depth where the knee starts to cave.
    """

    eccentric_s: float = 1.8
    pause_s: float = 0.3
    concentric_s: float = 1.1
    shank_deg: tuple[float, float] = (34.0, 34.0)
    thigh_deg: float = 105.0
    pelvis_deg: float = 28.0
    lumbar_deg: float = 18.0
    wink_deg: float = 0.0
    wink_onset: float = 0.75
    knee_in_deg: tuple[float, float] = (0.0, 0.0)
    knee_in_onset: float = 0.5

    @property
    def duration_s(self) -> float:
        """Total duration of the rep, s."""
        return self.eccentric_s + self.pause_s + self.concentric_s


@dataclass
class RepRecord:
    """Where a performed rep lies on the session clock (truth for rep timing)."""

    set_index: int
    rep_index: int
    t_start_s: float
    t_bottom_s: float
    t_end_s: float
    spec: RepSpec


@dataclass
class Drivers:
    """Driver signals on the fine grid, each shape (N,), plus the performed reps."""

    time_s: NDArray[np.float64]
    signals: dict[str, NDArray[np.float64]]
    reps: list[RepRecord] = field(default_factory=list)
    sets: list[tuple[float, float]] = field(default_factory=list)
    calibration_window_s: tuple[float, float] = (0.5, 2.5)
    activities: list[tuple[str, float, float]] = field(default_factory=list)

    def __getitem__(self, name: str) -> NDArray[np.float64]:
        return self.signals[name]


class ScriptBuilder:
    """Builds a session's drivers activity by activity.

    Each activity starts where the previous one ended; standing values of every
    driver are zero except heading and base position, which carry over.
    """

    def __init__(self, rng: np.random.Generator, total_s_hint: float = 600.0) -> None:
        self._rng = rng
        self._fs = FINE_FS_HZ
        n = int(total_s_hint * self._fs)
        self._sig = {name: np.zeros(n) for name in _DRIVERS}
        self._i = 0
        self.reps: list[RepRecord] = []
        self.sets: list[tuple[float, float]] = []
        self.activities: list[tuple[str, float, float]] = []
        self._heading = 0.0
        self._base = np.zeros(2)
        self._set_index = 0

    # -- helpers -------------------------------------------------------------------
    def _grow(self, n: int) -> None:
        need = self._i + n
        cur = next(iter(self._sig.values())).shape[0]
        if need > cur:
            extra = max(need - cur, cur)
            for k, v in self._sig.items():
                self._sig[k] = np.concatenate([v, np.zeros(extra)])

    def _span(self, duration_s: float) -> tuple[slice, NDArray[np.float64]]:
        n = max(int(round(duration_s * self._fs)), 1)
        self._grow(n)
        sl = slice(self._i, self._i + n)
        u = np.arange(n) / n
        return sl, u

    def _hold_pose(self, sl: slice) -> None:
        self._sig["heading"][sl] = self._heading
        self._sig["base_x"][sl] = self._base[0]
        self._sig["base_y"][sl] = self._base[1]

    def _sway(self, n: int, amp_deg: float, fc_hz: float = 0.3) -> NDArray[np.float64]:
        """Smooth random sway, rad: white noise low-passed by a moving average, zero at the ends."""
        if n < 4:
            return np.zeros(n)
        k = max(int(self._fs / fc_hz), 1)
        x = self._rng.standard_normal(n + 2 * k)
        kernel = np.hanning(2 * k + 1)
        kernel /= np.sqrt(np.sum(kernel**2))  # unit variance out for unit white noise in
        y = np.convolve(x, kernel, mode="same")[k : k + n]
        taper = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (1.0 * self._fs))
        return np.deg2rad(amp_deg) * y * min_jerk(taper)

    @property
    def now_s(self) -> float:
        """The time where the next activity starts, s."""
        return self._i / self._fs

    # -- activities ----------------------------------------------------------------
    def stand(self, duration_s: float, sway_deg: float = 0.6) -> None:
        """Quiet standing with postural sway (sacrum ~3 deg over a minute, shanks less)."""
        sl, u = self._span(duration_s)
        n = u.size
        self._hold_pose(sl)
        self._sig["pelvis_pitch"][sl] = self._sway(n, sway_deg)
        self._sig["pelvis_roll"][sl] = self._sway(n, 0.5 * sway_deg)
        self._sig["shank_pitch_l"][sl] = self._sway(n, 0.5 * sway_deg)
        self._sig["shank_pitch_r"][sl] = self._sway(n, 0.5 * sway_deg)
        self._sig["lumbar_flexion"][sl] = self._sway(n, 0.4 * sway_deg)
        self.activities.append(("stand", self.now_s, self.now_s + n / self._fs))
        self._i += n

    def squat_set(self, reps: list[RepSpec], between_s: float = 0.8) -> None:
        """A set of squats, with short standing pauses between reps."""
        t_set_start = self.now_s
        for r, spec in enumerate(reps):
            self._rep(spec, r)
            self.stand(between_s if r < len(reps) - 1 else 1.0, sway_deg=0.4)
        self.sets.append((t_set_start, self.now_s))
        self._set_index += 1

    def _rep(self, spec: RepSpec, rep_index: int) -> None:
        t0 = self.now_s
        sl, u = self._span(spec.duration_s)
        n = u.size
        t = u * spec.duration_s
        self._hold_pose(sl)
        # Depth profile: min-jerk descent to 97 %, a smooth dip to 100 % in the middle
        # of the pause (the bottom, unambiguous even with a pause), min-jerk ascent.
        e, p, c = spec.eccentric_s, spec.pause_s, spec.concentric_s
        depth = np.where(
            t < e,
            0.97 * min_jerk(t / e),
            np.where(
                t < e + p,
                0.97 + 0.03 * np.sin(np.pi * (t - e) / max(p, 1e-9)) ** 2,
                0.97 * (1.0 - min_jerk((t - e - p) / c)),
            ),
        )
        if p <= 0:
            depth = np.where(t < e, min_jerk(t / e), 1.0 - min_jerk((t - e) / c))
        rad = np.deg2rad
        # The wink grows with depth past its onset: posterior pelvis, more lumbar flexion.
        wink = rad(spec.wink_deg) * min_jerk((depth - spec.wink_onset) / (1.0 - spec.wink_onset))
        cave = min_jerk((depth - spec.knee_in_onset) / (1.0 - spec.knee_in_onset))
        self._sig["shank_pitch_l"][sl] = rad(spec.shank_deg[0]) * depth
        self._sig["shank_pitch_r"][sl] = rad(spec.shank_deg[1]) * depth
        self._sig["knee_in_l"][sl] = rad(spec.knee_in_deg[0]) * cave
        self._sig["knee_in_r"][sl] = rad(spec.knee_in_deg[1]) * cave
        self._sig["thigh_pitch"][sl] = rad(spec.thigh_deg) * depth
        self._sig["pelvis_pitch"][sl] = rad(spec.pelvis_deg) * depth - wink
        self._sig["lumbar_flexion"][sl] = rad(spec.lumbar_deg) * depth + 0.8 * wink
        t_bottom = t0 + (e + 0.5 * p if p > 0 else e)
        self.reps.append(
            RepRecord(self._set_index, rep_index, t0, t_bottom, t0 + n / self._fs, spec)
        )
        self.activities.append(("squat", t0, t0 + n / self._fs))
        self._i += n

    def walk(self, duration_s: float, speed_mps: float = 1.0, turn_deg: float = 0.0) -> None:
        """Walk forward (optionally turning gradually): alternating shank swing, feet lifting."""
        sl, u = self._span(duration_s)
        n = u.size
        t = u * duration_s
        ramp = min_jerk(np.minimum(t / 0.8, (duration_s - t) / 0.8))  # start/stop smoothly
        stride_hz = 0.9
        phase = 2 * np.pi * np.cumsum(stride_hz * ramp) / self._fs
        heading = self._heading + np.deg2rad(turn_deg) * min_jerk(u)
        speed = speed_mps * ramp
        dx = np.cumsum(speed * np.cos(heading)) / self._fs
        dy = np.cumsum(speed * np.sin(heading)) / self._fs
        self._sig["heading"][sl] = heading
        self._sig["base_x"][sl] = self._base[0] + dx
        self._sig["base_y"][sl] = self._base[1] + dy
        swing = np.deg2rad(22.0) * ramp
        self._sig["shank_pitch_l"][sl] = swing * np.sin(phase)
        self._sig["shank_pitch_r"][sl] = swing * np.sin(phase + np.pi)
        # Each foot oscillates about the base (stance/swing) and lifts in swing.
        self._sig["foot_dx_l"][sl] = 0.3 * ramp * np.sin(phase - np.pi / 2)
        self._sig["foot_dx_r"][sl] = 0.3 * ramp * np.sin(phase + np.pi / 2)
        self._sig["foot_dz_l"][sl] = 0.06 * ramp * np.maximum(np.sin(phase), 0.0) ** 2
        self._sig["foot_dz_r"][sl] = 0.06 * ramp * np.maximum(np.sin(phase + np.pi), 0.0) ** 2
        self._sig["thigh_pitch"][sl] = np.deg2rad(5.0) * ramp * (1 + np.sin(2 * phase)) / 2
        self._sig["base_z"][sl] = 0.02 * ramp * np.sin(2 * phase)
        self._sig["pelvis_pitch"][sl] = np.deg2rad(3.0) * ramp * np.sin(2 * phase)
        self._sig["pelvis_roll"][sl] = np.deg2rad(4.0) * ramp * np.sin(phase)
        self._heading = float(heading[-1])
        self._base = np.array([self._base[0] + dx[-1], self._base[1] + dy[-1]])
        self.activities.append(("walk", self.now_s, self.now_s + n / self._fs))
        self._i += n

    def turn(self, angle_deg: float, duration_s: float = 1.5) -> None:
        """Turn on the spot with small steps."""
        sl, u = self._span(duration_s)
        n = u.size
        heading = self._heading + np.deg2rad(angle_deg) * min_jerk(u)
        self._sig["heading"][sl] = heading
        self._sig["base_x"][sl] = self._base[0]
        self._sig["base_y"][sl] = self._base[1]
        step = np.sin(np.pi * u) ** 2
        self._sig["shank_pitch_l"][sl] = np.deg2rad(8.0) * step * np.sin(2 * np.pi * 2 * u)
        self._sig["shank_pitch_r"][sl] = -np.deg2rad(8.0) * step * np.sin(2 * np.pi * 2 * u)
        self._sig["foot_dz_l"][sl] = 0.04 * step * np.maximum(np.sin(2 * np.pi * 2 * u), 0) ** 2
        self._sig["foot_dz_r"][sl] = 0.04 * step * np.maximum(-np.sin(2 * np.pi * 2 * u), 0) ** 2
        self._heading = float(heading[-1])
        self.activities.append(("turn", self.now_s, self.now_s + n / self._fs))
        self._i += n

    def bend_over(self, duration_s: float = 3.5, hinge_deg: float = 65.0) -> None:
        """Hip hinge to pick a plate up: big pelvis and trunk pitch, knees only slightly bent."""
        sl, u = self._span(duration_s)
        self._hold_pose(sl)
        depth = min_jerk(np.minimum(u / 0.4, (1.0 - u) / 0.4))
        rad = np.deg2rad
        self._sig["pelvis_pitch"][sl] = rad(hinge_deg) * depth
        self._sig["lumbar_flexion"][sl] = rad(25.0) * depth
        self._sig["shank_pitch_l"][sl] = rad(9.0) * depth
        self._sig["shank_pitch_r"][sl] = rad(7.0) * depth
        self._sig["thigh_pitch"][sl] = rad(20.0) * depth
        self.activities.append(("bend", self.now_s, self.now_s + u.size / self._fs))
        self._i += u.size

    def fidget(self, duration_s: float = 4.0) -> None:
        """Shifting weight, shaking the legs out: moderate one-sided shank motion, no descent."""
        sl, u = self._span(duration_s)
        n = u.size
        self._hold_pose(sl)
        self._sig["shank_pitch_l"][sl] = self._sway(n, 5.0, fc_hz=1.5)
        self._sig["shank_pitch_r"][sl] = self._sway(n, 5.0, fc_hz=1.5)
        self._sig["pelvis_pitch"][sl] = self._sway(n, 4.0, fc_hz=1.0)
        self._sig["pelvis_roll"][sl] = self._sway(n, 4.0, fc_hz=1.0)
        self._sig["base_z"][sl] = 0.01 * self._sway(n, 57.0, fc_hz=1.0)
        self.activities.append(("fidget", self.now_s, self.now_s + n / self._fs))
        self._i += n

    def build(self, calibration_window_s: tuple[float, float] = (0.5, 2.5)) -> Drivers:
        """Return the drivers of everything added so far."""
        n = self._i
        signals = {k: v[:n].copy() for k, v in self._sig.items()}
        time_s = np.arange(n) / self._fs
        return Drivers(
            time_s,
            signals,
            list(self.reps),
            list(self.sets),
            calibration_window_s,
            list(self.activities),
        )
