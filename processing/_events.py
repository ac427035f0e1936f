"""What the processing core emits: typed events and per-rep metrics.

Each has ``to_dict()`` giving JSON-ready values (degrees and seconds, NaN as None),
so the service turns them into WebSocket messages and CSV rows without knowing them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
from numpy.typing import NDArray

from processing.consts import ANGLE_COLUMNS


def _clean(value: object) -> object:
    if isinstance(value, float | np.floating):
        return None if not math.isfinite(value) else round(float(value), 4)
    if isinstance(value, tuple | list):
        return [_clean(v) for v in value]
    return value


#: Columns of reps.csv, in order (a public format; see docs/conventions.md).
REP_COLUMNS: tuple[str, ...] = (
    "set",
    "rep",
    "t_start_s",
    "t_bottom_s",
    "t_end_s",
    "eccentric_s",
    "concentric_s",
    "ankle_df_left_deg",
    "ankle_df_right_deg",
    "knee_in_left_deg",
    "knee_in_right_deg",
    "pelvic_tilt_max_deg",
    "butt_wink_deg",
    "lumbar_flexion_max_deg",
    "cues",
)


@dataclass(frozen=True, slots=True)
class AngleBlock:
    """The six angles on consecutive grid points.

    Attributes
    ----------
    time_s : ndarray, shape (K,)
    angles_deg : dict of str to ndarray, shape (K,)
        Keys ``ANGLE_COLUMNS``, deg relative to quiet standing; NaN where unknown (a gap,
        no lumbar sensor).
    """

    time_s: NDArray[np.float64]
    angles_deg: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    def __reduce__(self) -> tuple[object, ...]:
        # Pickled as one array (a live worker sends one block per step to the server):
        # seven arrays cost seven times the per-array overhead for a few samples each.
        names = tuple(self.angles_deg)
        packed = np.vstack([self.time_s, *(self.angles_deg[k] for k in names)])
        return (_unpack_angles, (packed, names))

    def to_dict(self) -> dict[str, object]:
        """Arrays as lists (NaN as None)."""
        return {
            "type": "angles",
            "time_s": [round(float(t), 4) for t in self.time_s],
            **{k: [_clean(float(x)) for x in self.angles_deg[k]] for k in ANGLE_COLUMNS},
        }


def _unpack_angles(packed: NDArray[np.float64], names: tuple[str, ...]) -> AngleBlock:
    return AngleBlock(packed[0], {k: packed[i + 1] for i, k in enumerate(names)})


@dataclass(frozen=True, slots=True)
class Cue:
    """Advice for the athlete, tied to one rep.

    Attributes
    ----------
    code : str
        ``butt_wink``, ``knee_in_left``/``_right``, ``ankle_limited_left``/``_right``,
        ``forward_lean``, ``fast_descent`` or ``fatigue``.
    text : str
        Short, spoken-style.
    severity : str
        ``"warning"`` (a fault under load) or ``"info"``.
    set, rep : int
        1-based.
    t_s : float
        Session time of the sample that triggered the cue, s.
    value, threshold : float
        The measured value and the threshold it crossed (deg, s or a fraction).
    onset_depth_deg : float
        For ``butt_wink``: the depth (mean shank inclination) at which it began; NaN otherwise.
    """

    code: str
    text: str
    severity: str
    set: int
    rep: int
    t_s: float
    value: float
    threshold: float
    onset_depth_deg: float = float("nan")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"type": "cue", **{k: _clean(v) for k, v in asdict(self).items()}}


@dataclass(frozen=True, slots=True)
class BottomReached:
    """The bottom of a rep was just passed: the metrics known at the bottom.

    Attributes
    ----------
    set, rep : int
    t_start_s, t_bottom_s, t_detected_s : float
        Rep start, deepest point, and the sample at which the bottom was recognised, s.
    depth_deg : float
        Mean shank inclination at the bottom.
    butt_wink_deg, knee_in_left_deg, knee_in_right_deg : float
    ankle_df_left_deg, ankle_df_right_deg : float
        Shank inclinations at the bottom.
    butt_wink_onset_depth_deg : float
    """

    set: int
    rep: int
    t_start_s: float
    t_bottom_s: float
    t_detected_s: float
    depth_deg: float
    butt_wink_deg: float
    knee_in_left_deg: float
    knee_in_right_deg: float
    ankle_df_left_deg: float
    ankle_df_right_deg: float
    butt_wink_onset_depth_deg: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"type": "bottom", **{k: _clean(v) for k, v in asdict(self).items()}}


@dataclass(frozen=True, slots=True)
class RepMetrics:
    """One rep: the columns of reps.csv plus what a coach may want beyond them.

    Attributes follow ``REP_COLUMNS`` (see docs/conventions.md for definitions), then:
    ``depth_deg`` (mean shank inclination at the bottom), ``butt_wink_onset_depth_deg``,
    ``has_gap`` (a sensor was missing for part of the rep: its numbers are less sure),
    and ``k_start``/``k_bottom``/``k_end`` (half-open grid indices).
    """

    set: int
    rep: int
    t_start_s: float
    t_bottom_s: float
    t_end_s: float
    eccentric_s: float
    concentric_s: float
    ankle_df_left_deg: float
    ankle_df_right_deg: float
    knee_in_left_deg: float
    knee_in_right_deg: float
    pelvic_tilt_max_deg: float
    butt_wink_deg: float
    lumbar_flexion_max_deg: float
    cues: tuple[str, ...] = ()
    depth_deg: float = float("nan")
    butt_wink_onset_depth_deg: float = float("nan")
    has_gap: bool = False
    k_start: int = 0
    k_bottom: int = 0
    k_end: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready; ``cues`` as a list of codes."""
        d = {k: _clean(v) for k, v in asdict(self).items()}
        d["cues"] = list(self.cues)
        return {"type": "rep", **d}

    def csv_row(self) -> dict[str, object]:
        """The reps.csv columns (cues space separated), then the extra columns."""
        d = self.to_dict()
        d.pop("type")
        d["cues"] = " ".join(self.cues)
        return d


@dataclass(frozen=True, slots=True)
class RepCancelled:
    """A rep whose bottom was reported turned out not to be a rep (too long or short)."""

    set: int
    rep: int
    t_s: float

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {"type": "rep_cancelled", "set": self.set, "rep": self.rep, "t_s": _clean(self.t_s)}


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A change in the processing state (calibration, a sensor missing)."""

    kind: str
    t_s: float
    detail: str
    placements: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return {
            "type": "status",
            "kind": self.kind,
            "t_s": _clean(self.t_s),
            "detail": self.detail,
            "placements": list(self.placements),
        }


Event = AngleBlock | BottomReached | RepMetrics | Cue | RepCancelled | StatusEvent
