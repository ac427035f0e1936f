"""The processing core's compiled loops (numba), and loading them ahead of time."""

from __future__ import annotations

import numpy as np

from processing._angles import _angle_table, _angles
from processing._calibration import _quiet_windows
from processing._excursions import _walk
from processing._orientation import _turn_coupling
from processing._reps import _depth
from processing._timebase import _interpolate

#: Every compiled loop of the core (each is compiled for one set of argument types).
KERNELS = (_turn_coupling, _angles, _angle_table, _interpolate, _quiet_windows, _walk, _depth)


def warm_up() -> None:
    """Load (or, the first time on a machine, compile) the core's compiled loops now.

    The first call of a compiled loop in a process loads it from numba's cache (~0.2 s
    for all of them) or compiles it (seconds, once per machine and version). A live
    server calls this when it starts, so that a session's first step does not hold up
    every other session's. The arguments have the types the core passes, so nothing
    is compiled again later.
    """
    _turn_coupling(
        np.zeros((1, 2, 6)),
        np.zeros((1, 3)),
        np.ones((1, 3)),
        np.zeros(1, dtype=np.bool_),
        np.zeros((1, 4)),
        np.ones(11),
    )
    _angles(np.zeros((1, 2, 4)), np.ones((1, 1, 3)), np.ones((1, 1, 3)))
    _angle_table(np.zeros((1, 2, 4)), np.ones((1, 3)), np.ones((1, 3)), np.zeros(4, np.int64))
    _interpolate(
        np.arange(2.0),
        np.zeros((2, 6)),
        np.ones(1) * 0.5,
        0.1,
        np.empty((1, 1, 6))[0],
        np.empty((1, 1), dtype=np.bool_)[0],
    )
    _quiet_windows(np.zeros((3, 6)), 2, np.ones(6))
    _walk(
        0,
        np.zeros(2),
        np.ones(4),
        np.ones(2, dtype=np.int64),
        np.zeros(7, dtype=np.int64),
        np.zeros(1),
        np.empty((3, 5), dtype=np.int64),
        np.empty(3),
    )
    _depth(np.zeros(1), np.zeros(1))
