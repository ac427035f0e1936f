"""Physically faithful simulated sensors: a kinematic model of a person squatting.

Rigid segments (shanks, thighs, pelvis, upper lumbar trunk) are driven by athlete
profiles (``PROFILES``); virtual IMUs on the sacrum, L1 and both shins read specific
force and angular rate at their mounting points and add the errors of a named
low-cost chip, their own clocks and packet loss. The ground truth (angles and per-rep
metrics, defined exactly as squatsense reports them) is the oracle of the tests.
"""

from simulator._body import BodyParams
from simulator._imu import CHIPS, Chip, ChipModel, SensorConfig, SensorStream, sensor_info
from simulator._live import (
    LinkParams,
    Notification,
    VirtualSensor,
    merged_notifications,
    stream_live,
)
from simulator._profiles import PROFILES, Profile
from simulator._script import RepSpec
from simulator._session import SimulatedSession, SimulationConfig, list_profiles, simulate
from simulator._truth import TRUTH_FS_HZ, RepTruth, Truth, sagittal_angles

__all__ = [
    "CHIPS",
    "PROFILES",
    "TRUTH_FS_HZ",
    "BodyParams",
    "Chip",
    "ChipModel",
    "LinkParams",
    "Notification",
    "Profile",
    "RepSpec",
    "RepTruth",
    "SensorConfig",
    "SensorStream",
    "SimulatedSession",
    "SimulationConfig",
    "Truth",
    "VirtualSensor",
    "list_profiles",
    "merged_notifications",
    "sagittal_angles",
    "sensor_info",
    "simulate",
    "stream_live",
]
