"""The processing core: pure computation, no I/O, no BLE, no web.

One streaming code path serves live sessions and offline analysis:
:class:`SessionProcessor` takes samples as they arrive and returns events
(:class:`AngleBlock`, :class:`BottomReached`, :class:`RepMetrics`, :class:`Cue`,
:class:`RepCancelled`, :class:`StatusEvent`); :func:`analyze` feeds a whole recording
through it. Frames, axes and signs: docs/conventions.md. Implementation lives in
private modules; the public names are the ones below.
"""

from processing._angles import segment_angles_rad
from processing._cues import CUE_TEXT
from processing._events import (
    REP_COLUMNS,
    AngleBlock,
    BottomReached,
    Cue,
    Event,
    RepCancelled,
    RepMetrics,
    StatusEvent,
)
from processing._params import CueParams, ProcessingParams
from processing._pipeline import AnalysisResult, SessionProcessor, analyze, collect, of_cancelled
from processing._summary import DISCLAIMER, SessionSummary, SetSummary, summarize
from processing._types import ImuSamples
from processing._warm import warm_up
from processing.consts import (
    ANGLE_COLUMNS,
    GRAVITY_MPS2,
    PLACEMENTS,
    RECORDING_COLUMNS,
    REQUIRED_PLACEMENTS,
    Placement,
)

__all__ = [
    "ANGLE_COLUMNS",
    "CUE_TEXT",
    "DISCLAIMER",
    "GRAVITY_MPS2",
    "PLACEMENTS",
    "RECORDING_COLUMNS",
    "REP_COLUMNS",
    "REQUIRED_PLACEMENTS",
    "AnalysisResult",
    "AngleBlock",
    "BottomReached",
    "Cue",
    "CueParams",
    "Event",
    "ImuSamples",
    "Placement",
    "ProcessingParams",
    "RepCancelled",
    "RepMetrics",
    "SessionProcessor",
    "SessionSummary",
    "SetSummary",
    "StatusEvent",
    "analyze",
    "collect",
    "of_cancelled",
    "segment_angles_rad",
    "summarize",
    "warm_up",
]
