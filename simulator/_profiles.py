"""Named athletes: what they do in a session and which faults they show.

Each profile builds a session script from a random generator, so a seed gives a
reproducible session and different seeds give rep-to-rep variety. Fault sizes are
chosen clearly past or clearly short of the default cue thresholds (8 deg butt wink,
8 deg knee-in, 6 deg ankle asymmetry) except where a profile ramps a fault on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from simulator._script import RepSpec, ScriptBuilder


def _base_rep(rng: np.random.Generator) -> RepSpec:
    shank = rng.uniform(32.0, 38.0)
    return RepSpec(
        eccentric_s=rng.uniform(1.5, 2.2),
        pause_s=rng.uniform(0.1, 0.5),
        concentric_s=rng.uniform(0.95, 1.1),  # a fresh set keeps its pace within ~15 %
        shank_deg=(shank + rng.normal(0, 0.7), shank + rng.normal(0, 0.7)),
        thigh_deg=rng.uniform(100.0, 110.0),
        pelvis_deg=rng.uniform(24.0, 30.0),
        lumbar_deg=rng.uniform(14.0, 20.0),
        wink_deg=rng.uniform(0.0, 3.0),
        wink_onset=rng.uniform(0.7, 0.8),
    )


def _rest(b: ScriptBuilder, rng: np.random.Generator, *, turn_deg: float = 180.0) -> None:
    """Between sets: walk to the plates and back, pick one up, shake the legs out."""
    b.stand(2.0)
    b.walk(rng.uniform(5.0, 7.0), turn_deg=turn_deg / 2)
    b.turn(turn_deg / 2)
    b.bend_over(rng.uniform(3.0, 4.0))
    b.fidget(rng.uniform(3.0, 4.0))
    b.walk(rng.uniform(5.0, 7.0), turn_deg=-turn_deg / 2)
    b.turn(-turn_deg / 2 + rng.uniform(-20, 20))
    b.stand(rng.uniform(3.0, 4.0))


def _three_sets(rng: np.random.Generator, b: ScriptBuilder, reps: list[list[RepSpec]]) -> None:
    b.stand(4.0)
    for i, set_reps in enumerate(reps):
        if i:
            _rest(b, rng)
        b.squat_set(set_reps)
    b.stand(3.0)


def profile_clean(rng: np.random.Generator, b: ScriptBuilder) -> None:
    """Good form: three sets of six, no faults, walking and bending between sets."""
    _three_sets(rng, b, [[_base_rep(rng) for _ in range(6)] for _ in range(3)])


def profile_default(rng: np.random.Generator, b: ScriptBuilder) -> None:
    """Three sets of eight with faults that grow.

    A butt wink from set 2, a left knee caving and slowing ascents late in set 3, one
    rushed descent in set 1.
    """
    sets: list[list[RepSpec]] = []
    set1 = [_base_rep(rng) for _ in range(8)]
    set1[2] = replace(set1[2], eccentric_s=0.6, pause_s=0.05)
    sets.append(set1)
    set2 = [_base_rep(rng) for _ in range(8)]
    for r in range(3, 8):
        set2[r] = replace(set2[r], wink_deg=rng.uniform(17.0, 21.0), wink_onset=0.7)
    sets.append(set2)
    set3 = []
    for r in range(8):
        rep = _base_rep(rng)
        rep = replace(
            rep,
            concentric_s=1.0 * (1.0 + 0.08 * r),
            wink_deg=rng.uniform(17.0, 21.0) if r >= 2 else rep.wink_deg,
            wink_onset=0.7,
            knee_in_deg=(max(0.0, 3.5 * (r - 3)), 0.0),
        )
        set3.append(rep)
    sets.append(set3)
    _three_sets(rng, b, sets)


def profile_butt_wink(rng: np.random.Generator, b: ScriptBuilder) -> None:
    """A clear butt wink on every rep, beginning at a personal depth."""
    onset = rng.uniform(0.6, 0.7)
    reps = [
        [
            replace(_base_rep(rng), wink_deg=rng.uniform(20.0, 25.0), wink_onset=onset)
            for _ in range(6)
        ]
        for _ in range(2)
    ]
    _three_sets(rng, b, reps)


def profile_knee_in_left(rng: np.random.Generator, b: ScriptBuilder) -> None:
    """The left knee caves toward the midline past half depth on every rep."""
    reps = [
        [replace(_base_rep(rng), knee_in_deg=(rng.uniform(13.0, 17.0), 0.0)) for _ in range(6)]
        for _ in range(2)
    ]
    _three_sets(rng, b, reps)


def profile_ankle_limited_right(rng: np.random.Generator, b: ScriptBuilder) -> None:
    """A stiff right ankle: that shank travels ~11 deg less.

    The pelvis tips further forward in compensation.
    """
    reps = []
    for _ in range(2):
        set_reps = []
        for _ in range(6):
            rep = _base_rep(rng)
            left = rep.shank_deg[0]
            set_reps.append(
                replace(
                    rep,
                    shank_deg=(left, left - rng.uniform(10.0, 13.0)),
                    pelvis_deg=rep.pelvis_deg + 5.0,
                    wink_deg=rng.uniform(6.0, 9.0),
                    wink_onset=0.6,
                )
            )
        reps.append(set_reps)
    _three_sets(rng, b, reps)


def profile_fatigue(rng: np.random.Generator, b: ScriptBuilder) -> None:
    """One long set that tires: the ascent slows ~6 %/rep and the right knee caves late."""
    reps = []
    for r in range(12):
        rep = _base_rep(rng)
        reps.append(
            replace(
                rep,
                concentric_s=1.0 * (1.0 + 0.06 * r),
                knee_in_deg=(0.0, max(0.0, 2.0 * (r - 5))),
            )
        )
    _three_sets(rng, b, [reps])


def profile_forward_lean(rng: np.random.Generator, b: ScriptBuilder) -> None:
    """Tight hip flexors: on some reps the pelvis tips far further forward than usual."""
    reps = [[_base_rep(rng) for _ in range(6)] for _ in range(2)]
    for r in (2, 4):
        reps[1][r] = replace(reps[1][r], pelvis_deg=reps[1][r].pelvis_deg + 22.0)
    _three_sets(rng, b, reps)


@dataclass(frozen=True)
class Profile:
    """A named athlete and how its sensors behave."""

    name: str
    description: str
    build: Callable[[np.random.Generator, ScriptBuilder], None]
    with_lumbar: bool = True
    strap_slips: tuple[tuple[str, float], ...] = ()
    dropouts: tuple[tuple[str, float, float], ...] = ()


def _doc(f: Callable[..., None]) -> str:
    return " ".join((f.__doc__ or "").split())


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("default", _doc(profile_default), profile_default),
        Profile("clean", _doc(profile_clean), profile_clean),
        Profile("butt_wink", _doc(profile_butt_wink), profile_butt_wink),
        Profile("knee_in_left", _doc(profile_knee_in_left), profile_knee_in_left),
        Profile(
            "ankle_limited_right", _doc(profile_ankle_limited_right), profile_ankle_limited_right
        ),
        Profile("fatigue", _doc(profile_fatigue), profile_fatigue),
        Profile("forward_lean", _doc(profile_forward_lean), profile_forward_lean),
        Profile(
            "no_lumbar",
            "The default athlete with sensors on the sacrum and shins only (no L1 sensor).",
            profile_default,
            with_lumbar=False,
        ),
        Profile(
            "strap_slip",
            "The default athlete whose sacrum strap slips between sets 1 and 2 and left shin "
            "strap between sets 2 and 3.",
            profile_default,
            strap_slips=(("sacrum", 1.0), ("shin_left", 2.0)),
        ),
        Profile(
            "dropout",
            "The default athlete whose right shin sensor drops out for 3 s in the middle of set 2.",
            profile_default,
            dropouts=(("shin_right", 2.0, 3.0),),
        ),
    )
}
