"""Simulate a whole session: profile → kinematics → virtual sensors → recording + truth."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from processing import ImuSamples, Placement
from simulator._body import BodyParams, segment_motions
from simulator._imu import Chip, SensorConfig, SensorStream, sample_sensor
from simulator._profiles import PROFILES, Profile
from simulator._script import ScriptBuilder
from simulator._truth import Truth, compute_truth


@dataclass(frozen=True)
class SimulationConfig:
    """How to simulate a session.

    Attributes
    ----------
    profile : str
        Name of an athlete profile (``PROFILES``). Default ``"default"``.
    seed : int
        Seed of every random choice; the same config gives the same session.
    fs_hz : float or mapping of placement name to float
        Sensor sample rates, Hz. Default 100 Hz for all.
    chip : Chip
        Which low-cost IMU the sensors imitate. Default MPU-6050 (the noisiest, with
        the largest gyroscope offsets).
    random_mounting : bool
        Strap each sensor on at a uniformly random orientation. Default True.
    frame_loss : float
        Probability that a BLE notification is lost. Default 0.01.
    samples_per_frame : int
        Samples per notification (1 at the default ATT MTU of 23). Default 1.
    clock_drift_ppm : float
        Sensor crystals drift uniformly within ±this, ppm. Default 50 ppm.
    mapping_error_ms : float
        1-sigma residual error of the host's clock mapping per sensor, ms. Default 1 ms.
    body : BodyParams
        Anthropometry and stance.
    """

    profile: str = "default"
    seed: int = 0
    fs_hz: float | Mapping[str, float] = 100.0
    chip: Chip = Chip.MPU6050
    random_mounting: bool = True
    frame_loss: float = 0.01
    samples_per_frame: int = 1
    clock_drift_ppm: float = 50.0
    mapping_error_ms: float = 1.0
    body: BodyParams = field(default_factory=BodyParams)

    def rate_of(self, placement: Placement) -> float:
        """Sample rate of one placement, Hz."""
        if isinstance(self.fs_hz, Mapping):
            return float(self.fs_hz.get(placement.value, 100.0))
        return float(self.fs_hz)


@dataclass(frozen=True)
class SimulatedSession:
    """A simulated session.

    Attributes
    ----------
    config : SimulationConfig
    profile : Profile
    streams : dict of Placement to SensorStream
        What each virtual sensor delivered (raw counts, counters, sensor clock).
    truth : Truth
        True angles and per-rep metrics.
    duration_s : float
    """

    config: SimulationConfig
    profile: Profile
    streams: dict[Placement, SensorStream]
    truth: Truth
    duration_s: float

    def recording(self) -> dict[Placement, ImuSamples]:
        """The session as the recording CSV holds it: SI samples on the common clock."""
        return {
            p: ImuSamples(s.time_s.copy(), s.acc_mps2, s.gyr_rps) for p, s in self.streams.items()
        }


def list_profiles() -> dict[str, str]:
    """Names and one-line descriptions of the available athlete profiles."""
    return {name: p.description for name, p in PROFILES.items()}


def simulate(config: SimulationConfig | None = None) -> SimulatedSession:
    """Simulate one session of an athlete squatting with sensors strapped on.

    Parameters
    ----------
    config : SimulationConfig, optional
        Defaults to the ``default`` profile, seed 0.

    Returns
    -------
    SimulatedSession

    Raises
    ------
    KeyError
        If the profile name is unknown (the message lists the known ones).
    """
    config = config or SimulationConfig()
    if config.profile not in PROFILES:
        raise KeyError(f"unknown profile {config.profile!r}; known: {', '.join(sorted(PROFILES))}")
    profile = PROFILES[config.profile]
    rng = np.random.default_rng(config.seed)
    builder = ScriptBuilder(rng)
    profile.build(rng, builder)
    drivers = builder.build()
    duration_s = float(drivers.time_s[-1])
    motions = segment_motions(drivers, config.body)
    if not profile.with_lumbar:
        motions.pop(Placement.LUMBAR)
    truth = compute_truth(drivers, motions, with_lumbar=profile.with_lumbar)

    def between_sets(k: float) -> float:
        """Session time in the middle of the rest after set k (1-based)."""
        i = int(k) - 1
        return 0.5 * (drivers.sets[i][1] + drivers.sets[i + 1][0])

    streams: dict[Placement, SensorStream] = {}
    for placement, motion in motions.items():
        sensor_rng = np.random.default_rng([config.seed, list(Placement).index(placement)])
        mounting = (
            Rotation.random(random_state=sensor_rng)
            if config.random_mounting
            else Rotation.identity()
        )
        slips = tuple(
            (
                between_sets(k),
                Rotation.from_rotvec(sensor_rng.normal(size=3), degrees=False) * mounting,
            )
            for name, k in profile.strap_slips
            if name == placement.value
        )
        dropouts = tuple(
            (
                0.5 * sum(drivers.sets[int(k) - 1]) - length / 2,
                0.5 * sum(drivers.sets[int(k) - 1]) + length / 2,
            )
            for name, k, length in profile.dropouts
            if name == placement.value
        )
        sensor = SensorConfig(
            placement=placement,
            fs_hz=config.rate_of(placement),
            chip=config.chip,
            mounting=mounting,
            clock_drift_ppm=sensor_rng.uniform(-1, 1) * config.clock_drift_ppm,
            clock_offset_us=int(sensor_rng.integers(0, 2**32)),
            samples_per_frame=config.samples_per_frame,
            frame_loss=config.frame_loss,
            dropouts_s=dropouts,
            mapping_error_s=sensor_rng.normal(0.0, config.mapping_error_ms * 1e-3),
            mounting_changes=slips,
        )
        streams[placement] = sample_sensor(motion, sensor, duration_s, sensor_rng)
    ordered = {p: streams[p] for p in Placement if p in streams}
    return SimulatedSession(config, profile, ordered, truth, duration_s)
