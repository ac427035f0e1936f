"""One streaming code path from raw samples to angles, reps and cues.

``SessionProcessor.feed`` takes samples of one sensor as they arrive (live) and
returns the events they complete; ``analyze`` feeds a whole recording through the same
object (offline). Because every stage carries its state across calls and decides on
data alone, any chunking gives the same result as one batch.

Stages: :class:`GridResampler` (common grid, gaps) → :class:`OrientationTracker`
(VQF per sensor) → :class:`Calibrator` (standing vertical, flexion axes; holds data
back until known) → angles → :class:`RepTracker` (reps, bottoms, cues).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from processing._angles import _angle_table
from processing._calibration import (
    Calibrated,
    CalibrationEvent,
    Calibrator,
    OrientedBlock,
    SensorCalibration,
    StandingFinder,
)
from processing._events import (
    AngleBlock,
    BottomReached,
    Cue,
    Event,
    RepCancelled,
    RepMetrics,
    StatusEvent,
)
from processing._orientation import OrientationTracker
from processing._params import ProcessingParams
from processing._reps import RepTracker
from processing._timebase import GridChunk, GridResampler
from processing._types import ImuSamples
from processing.consts import ANGLE_COLUMNS, REQUIRED_PLACEMENTS, Placement


def angles_from(calibrated: Calibrated, cache: _CalibrationArrays | None = None) -> AngleBlock:
    """The six reported angles of a calibrated block, deg (docs/conventions.md).

    Pelvic tilt is the sacrum's inclination; lumbar flexion the L1 sensor's minus the
    sacrum's (NaN without L1); ankle dorsiflexion each shank's inclination; knee in
    each shank's lateral angle toward the midline (to the right for the left leg).
    `cache` keeps the calibration as arrays between the calls of one session.
    """
    block, cal = calibrated.block, calibrated.calibration
    vertical, axis, roles = (cache or _CalibrationArrays()).of(cal)
    # Every sensor in one call (this runs on every step of a live session), on arrays
    # of the one type the kernel is compiled for (C order: a stack of arrays that are
    # also in Fortran order would not be).
    q = np.empty((len(cal), len(block), 4))
    for i, p in enumerate(cal):
        q[i] = block.quat[p]
    table = _angle_table(q, vertical, axis, roles)
    return AngleBlock(block.time_s, dict(zip(ANGLE_COLUMNS, table, strict=True)))


class _CalibrationArrays:
    """A calibration as the arrays the angle kernel takes, kept while it holds."""

    def __init__(self) -> None:
        self._cal: object = None
        self._arrays: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]

    def of(
        self, cal: Mapping[Placement, SensorCalibration]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.int64]]:
        # The calibrator hands out one copy of its calibration until that changes (and
        # never changes a copy it handed out); holding it keeps its identity unique.
        if cal is not self._cal:
            order = list(cal)
            roles = [
                order.index(p) if p in cal else -1
                for p in (
                    Placement.SACRUM,
                    Placement.LUMBAR,
                    Placement.SHIN_LEFT,
                    Placement.SHIN_RIGHT,
                )
            ]
            self._arrays = (
                np.array([cal[p].vertical for p in order], dtype=np.float64),
                np.array([cal[p].flexion_axis for p in order], dtype=np.float64),
                np.array(roles, dtype=np.int64),
            )
            self._cal = cal
        return self._arrays


class SessionProcessor:
    """Live and offline processing of one session.

    Parameters
    ----------
    placements : sequence of Placement
        The session's sensors; the sacrum and both shins are required, L1 optional.
    params : ProcessingParams, optional

    Examples
    --------
    >>> proc = SessionProcessor([Placement.SACRUM, Placement.SHIN_LEFT, Placement.SHIN_RIGHT])
    >>> events = proc.feed(Placement.SACRUM, samples)  # doctest: +SKIP
    >>> events += proc.finish()  # doctest: +SKIP
    """

    def __init__(self, placements: Sequence[Placement], params: ProcessingParams | None = None):
        placements = tuple(Placement(p) for p in placements)
        missing = [p.value for p in REQUIRED_PLACEMENTS if p not in placements]
        if missing:
            raise ValueError(f"required sensor(s) missing: {', '.join(missing)}")
        self.params = params or ProcessingParams()
        self.placements = tuple(p for p in Placement if p in placements)
        self._grid = GridResampler(self.placements, self.params.fs_hz, self.params.max_gap_s)
        self._standing = StandingFinder(self.placements, self.params)
        self._raw_tail: GridChunk | None = None  # the last quiet-window's worth of raw samples
        self._orientation: OrientationTracker | None = None
        self._calibrator: Calibrator | None = None
        self._reps = RepTracker(self.params)
        self._cal_arrays = _CalibrationArrays()
        self._finished = False

    # -- state for callers -------------------------------------------------------------
    @property
    def calibrated(self) -> bool:
        """True once angles flow (quiet standing found and flexion axes learned)."""
        return self._calibrator is not None and self._calibrator.ready

    @property
    def reps(self) -> list[RepMetrics]:
        """Every rep completed so far."""
        return list(self._reps.reps)

    @property
    def in_rep(self) -> bool:
        """True while a rep is under way (from leaving the standing level until back)."""
        return self._reps.in_rep

    @property
    def set_number(self) -> int:
        """The current (or last) set, 1-based; 0 before the first rep."""
        return self._reps.set_number

    # -- input -------------------------------------------------------------------------
    def feed(self, placement: Placement, samples: ImuSamples) -> list[Event]:
        """Add samples of one sensor (time-ordered; on the session clock, SI units)."""
        if self._finished:
            raise RuntimeError("the session was finished; create a new SessionProcessor")
        self._grid.push(Placement(placement), samples)
        return self._advance(final=False)

    def feed_batch(self, items: Iterable[tuple[Placement, ImuSamples]]) -> list[Event]:
        """Add samples of several sensors, then advance the pipeline once.

        What a live session should call once per tick: the result is the same as feeding
        the items one by one, for a fraction of the cost (one pipeline step, not one per
        sensor).
        """
        if self._finished:
            raise RuntimeError("the session was finished; create a new SessionProcessor")
        for placement, samples in items:
            self._grid.push(Placement(placement), samples)
        return self._advance(final=False)

    def mark_disconnected(self, placement: Placement) -> list[Event]:
        """A sensor went silent: stop waiting for it (it is missing until data returns)."""
        self._grid.mark_disconnected(Placement(placement))
        return self._advance(final=False)

    def finish(self) -> list[Event]:
        """End of the session: process everything still held back."""
        events = self._advance(final=True)
        if self._calibrator is not None:
            for piece in self._calibrator.flush():
                events.extend(self._angles_and_reps(piece))
        self._finished = True
        return events

    def _advance(self, *, final: bool) -> list[Event]:
        chunk = self._grid.pull(final=final)
        if chunk is None:
            return []
        events: list[Event] = []
        if self._calibrator is None:
            chunk = self._find_standing(chunk, events)
            if chunk is None:
                return events
        assert self._orientation is not None and self._calibrator is not None  # noqa: S101
        quats = self._orientation.update(chunk)
        block = OrientedBlock(
            chunk.k0, chunk.time_s, quats, chunk.acc_mps2, chunk.gyr_rps, chunk.stacked
        )
        released, cal_events = self._calibrator.update(block)
        events += [_status(e) for e in cal_events]
        for piece in released:
            events.extend(self._angles_and_reps(piece))
        return events

    def _angles_and_reps(self, piece: Calibrated) -> list[Event]:
        angles = angles_from(piece, self._cal_arrays)
        return [angles, *self._reps.update(angles, piece.block.k0)]

    def _find_standing(self, chunk: GridChunk, events: list[Event]) -> GridChunk | None:
        """Before calibration: look for quiet standing on the raw signals.

        Once found, the orientation filters start at the beginning of the quiet window
        with the gyroscope offsets measured in it, and processing continues from there;
        what came before is not used.
        """
        standing = self._standing.update(chunk.k0, chunk.acc_mps2, chunk.gyr_rps)
        joined = _join(self._raw_tail, chunk)
        if standing is None:
            keep = self._standing.window
            self._raw_tail = _slice(joined, max(len(joined) - keep, 0), len(joined))
            return None
        self._orientation = OrientationTracker(
            self.placements,
            self.params.fs_hz,
            self.params.gyr_bias_clip_dps,
            initial_bias_rps=standing.gyr_bias_rps,
            turn_coupling=self.params.turn_coupling,
        )
        self._calibrator = Calibrator(self.placements, self.params, standing)
        self._raw_tail = None
        events.append(
            StatusEvent(
                "standing",
                standing.k_end / self.params.fs_hz,
                "quiet standing found: angles are measured from this posture",
                tuple(p.value for p in self.placements),
            )
        )
        return _slice(joined, standing.k_start - joined.k0, len(joined))


def _join(a: GridChunk | None, b: GridChunk) -> GridChunk:
    if a is None or len(a) == 0:
        return b
    return GridChunk(
        a.k0,
        np.concatenate([a.time_s, b.time_s]),
        {p: np.concatenate([a.acc_mps2[p], b.acc_mps2[p]]) for p in b.acc_mps2},
        {p: np.concatenate([a.gyr_rps[p], b.gyr_rps[p]]) for p in b.gyr_rps},
        {p: np.concatenate([a.valid[p], b.valid[p]]) for p in b.valid},
    )


def _slice(c: GridChunk, start: int, stop: int) -> GridChunk:
    return GridChunk(
        c.k0 + start,
        c.time_s[start:stop],
        {p: v[start:stop] for p, v in c.acc_mps2.items()},
        {p: v[start:stop] for p, v in c.gyr_rps.items()},
        {p: v[start:stop] for p, v in c.valid.items()},
    )


def _status(e: CalibrationEvent) -> StatusEvent:
    return StatusEvent(e.kind, e.t_s, e.detail, tuple(p.value for p in e.placements))


@dataclass
class AnalysisResult:
    """Everything ``analyze`` found in a recording.

    Attributes
    ----------
    time_s : ndarray, shape (N,)
        Grid times of the angles, s.
    angles_deg : dict of str to ndarray, shape (N,)
        The six angles (``ANGLE_COLUMNS``), deg; NaN where unknown.
    reps : list of RepMetrics
    cues : list of Cue
        Of the reps (a rep cancelled after its bottom takes its cues with it).
    bottoms : list of BottomReached
        Of the reps (not those of cancelled ones).
    status : list of StatusEvent
    """

    time_s: NDArray[np.float64]
    angles_deg: dict[str, NDArray[np.float64]]
    reps: list[RepMetrics] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    bottoms: list[BottomReached] = field(default_factory=list)
    status: list[StatusEvent] = field(default_factory=list)


def of_cancelled(event: Cue | BottomReached, cancel: RepCancelled) -> bool:
    """True if `event` (a cue or bottom) belongs to the rep `cancel` cancelled."""
    t_s = event.t_s if isinstance(event, Cue) else event.t_detected_s
    return (event.set, event.rep) == (cancel.set, cancel.rep) and t_s <= cancel.t_s


def collect(events: Iterable[Event]) -> AnalysisResult:
    """Gather a stream of events into an :class:`AnalysisResult`."""
    times: list[NDArray[np.float64]] = []
    angles: dict[str, list[NDArray[np.float64]]] = {c: [] for c in ANGLE_COLUMNS}
    result = AnalysisResult(np.empty(0), {})
    for e in events:
        if isinstance(e, AngleBlock):
            times.append(e.time_s)
            for c in ANGLE_COLUMNS:
                angles[c].append(e.angles_deg[c])
        elif isinstance(e, RepMetrics):
            result.reps.append(e)
        elif isinstance(e, Cue):
            result.cues.append(e)
        elif isinstance(e, BottomReached):
            result.bottoms.append(e)
        elif isinstance(e, StatusEvent):
            result.status.append(e)
        elif isinstance(e, RepCancelled):
            # Its set and rep numbers go to the next rep, which has not begun yet.
            result.cues = [c for c in result.cues if not of_cancelled(c, e)]
            result.bottoms = [b for b in result.bottoms if not of_cancelled(b, e)]
    result.time_s = np.concatenate(times) if times else np.empty(0)
    result.angles_deg = {c: (np.concatenate(v) if v else np.empty(0)) for c, v in angles.items()}
    return result


def analyze(
    recording: Mapping[Placement, ImuSamples],
    params: ProcessingParams | None = None,
    *,
    chunk_s: float | None = None,
) -> AnalysisResult:
    """Process a whole recording through the streaming path.

    Parameters
    ----------
    recording : mapping of Placement to ImuSamples
    params : ProcessingParams, optional
    chunk_s : float, optional
        Feed the recording in pieces of this many seconds (interleaving sensors), as a
        live session would; None feeds each sensor whole. Results are the same.
    """
    proc = SessionProcessor(list(recording), params)
    events: list[Event] = []
    if chunk_s is None:
        for p, samples in recording.items():
            events += proc.feed(p, samples)
    else:
        end = max(float(s.time_s[-1]) for s in recording.values() if len(s))
        edges = np.arange(0.0, end + chunk_s, chunk_s)
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            for p, s in recording.items():
                i, j = np.searchsorted(s.time_s, [lo, hi])
                if j > i:
                    events += proc.feed(
                        p, ImuSamples(s.time_s[i:j], s.acc_mps2[i:j], s.gyr_rps[i:j])
                    )
    events += proc.finish()
    return collect(events)
