"""Virtual MEMS IMUs: mounting, chip errors, quantisation, clocks and packet loss.

Each virtual sensor samples the segment kinematics at its own instants (its own rate
and clock drift), reads specific force and angular rate in its own frame, adds the
errors of a named low-cost chip, and quantises to int16 counts as the chip would.
Figures from the chips' datasheets as gathered in the project's domain notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation, Slerp

from firmware_protocol import ImuChip, PlacementCode, SensorInfo
from processing.consts import GRAVITY_MPS2, Placement
from simulator._body import SegmentMotion
from simulator._script import FINE_FS_HZ

_G_UP = np.array([0.0, 0.0, GRAVITY_MPS2])


class Chip(StrEnum):
    """Low-cost IMU chips the simulator can imitate."""

    MPU6050 = "mpu6050"
    #: An MPU-6050 after a six-position calibration: scale, cross-axis and accelerometer
    #: offsets trimmed; noise, gyroscope offsets and their drift left as they are.
    MPU6050_CALIBRATED = "mpu6050_calibrated"
    ICM42688P = "icm42688p"
    BMI270 = "bmi270"
    IDEAL = "ideal"


@dataclass(frozen=True)
class ChipModel:
    """Error figures of one chip.

    Attributes
    ----------
    gyr_noise_dps_rthz : float
        Gyroscope noise density, deg/s/sqrt(Hz).
    acc_noise_ug_rthz : float
        Accelerometer noise density, micro-g/sqrt(Hz).
    gyr_bias_dps : float
        1-sigma start-up gyroscope offset (zero-rate output) per axis, deg/s.
    gyr_bias_walk_dps_rts : float
        Gyroscope bias random walk, deg/s/sqrt(s).
    acc_bias_mg : float
        1-sigma accelerometer offset per axis, milli-g.
    scale_error : float
        1-sigma scale factor error (fraction), both sensors.
    cross_axis : float
        1-sigma cross-axis sensitivity (fraction).
    acc_range_g, gyr_range_dps : int
        Full-scale ranges; readings saturate there.
    """

    gyr_noise_dps_rthz: float
    acc_noise_ug_rthz: float
    gyr_bias_dps: float
    gyr_bias_walk_dps_rts: float
    acc_bias_mg: float
    scale_error: float
    cross_axis: float
    acc_range_g: int = 8
    gyr_range_dps: int = 1000


#: Datasheet figures; tolerances quoted as "typical ±X" are taken as ±2 sigma.
CHIPS: dict[Chip, ChipModel] = {
    # MPU-6050: ZRO ±20 deg/s (the domain notes: start-up offsets up to ±20 deg/s),
    # zero-g offset ±50 mg, sensitivity tolerance ±3 %, cross-axis ±2 %.
    Chip.MPU6050: ChipModel(0.005, 400.0, 5.0, 0.02, 25.0, 0.015, 0.01),
    # ICM-42688-P: ZRO ±0.5 deg/s, zero-g ±20 mg, sensitivity ±0.5 %, cross-axis ±1 %.
    Chip.MPU6050_CALIBRATED: ChipModel(0.005, 400.0, 5.0, 0.02, 1.0, 0.001, 0.001),
    Chip.ICM42688P: ChipModel(0.0028, 70.0, 0.25, 0.005, 10.0, 0.0025, 0.005),
    # BMI270: ZRO ±0.5 deg/s, zero-g ±20 mg, sensitivity ±1 %.
    Chip.BMI270: ChipModel(0.007, 160.0, 0.25, 0.008, 10.0, 0.005, 0.005),
    Chip.IDEAL: ChipModel(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 16, 2000),
}


#: How each simulated chip identifies itself on the wire.
WIRE_CHIP: dict[Chip, ImuChip] = {
    Chip.MPU6050: ImuChip.MPU6050,
    Chip.MPU6050_CALIBRATED: ImuChip.MPU6050,
    Chip.ICM42688P: ImuChip.ICM42688P,
    Chip.BMI270: ImuChip.BMI270,
    Chip.IDEAL: ImuChip.SIMULATED,
}


def sensor_info(chip: Chip, placement: Placement, fs_hz: float) -> SensorInfo:
    """The info characteristic a virtual sensor serves.

    Its scale factors are the ones the simulator quantises with, so the CSV and the wire
    paths decode to identical values.
    """
    model = CHIPS[chip]
    return SensorInfo.from_ranges(
        WIRE_CHIP[chip],
        model.acc_range_g,
        model.gyr_range_dps,
        fs_hz,
        placement=PlacementCode.from_label(placement.value),
        firmware_version=(0, 1, 0),
    )


@dataclass(frozen=True)
class SensorConfig:
    """One virtual sensor.

    Attributes
    ----------
    placement : Placement
    fs_hz : float
        Nominal sample rate on the sensor's own clock, Hz.
    chip : Chip
    mounting : Rotation
        ``q_segment_from_sensor``: how the strap holds the sensor. Random by default.
    clock_drift_ppm : float
        Sensor clock rate error: the sensor's seconds are (1 + ppm·1e-6) true seconds short.
    clock_offset_us : int
        Sensor clock reading at session time 0, µs (wraps at 2^32 on the wire).
    samples_per_frame : int
        Samples batched per BLE notification (1 at the default 23-byte MTU).
    frame_loss : float
        Probability that a notification is lost.
    dropouts_s : tuple of (start, end)
        Session-time windows in which the sensor delivers nothing (out of range, reset).
    mapping_error_s : float
        Residual error of the host's clock mapping, s (constant per sensor).
    """

    placement: Placement
    fs_hz: float = 100.0
    chip: Chip = Chip.MPU6050
    mounting: Rotation = field(default_factory=Rotation.identity)
    clock_drift_ppm: float = 0.0
    clock_offset_us: int = 0
    samples_per_frame: int = 1
    frame_loss: float = 0.0
    dropouts_s: tuple[tuple[float, float], ...] = ()
    mapping_error_s: float = 0.0
    mounting_changes: tuple[tuple[float, Rotation], ...] = ()


@dataclass(frozen=True)
class SensorStream:
    """What one virtual sensor delivered.

    Attributes
    ----------
    config : SensorConfig
    time_s : ndarray, shape (N,)
        Sampling instants of the delivered samples on the session clock as the host maps
        them (true instant plus ``mapping_error_s``), s.
    true_time_s : ndarray, shape (N,)
        True sampling instants, s.
    counter : ndarray of uint16, shape (N,)
        The sensor's wrapping sample counter.
    sensor_time_us : ndarray of int64, shape (N,)
        Sensor clock reading at each sample, µs, not wrapped.
    acc_counts, gyr_counts : ndarray of int16, shape (N, 3)
        Raw readings.
    acc_scale_mps2_per_lsb, gyr_scale_rps_per_lsb : float
        Scale factors the firmware reports.
    frame_index : ndarray of int64, shape (N,)
        Which BLE notification (frame) each sample travelled in.
    true_quat_world_from_sensor : ndarray, shape (N, 4)
        True sensor orientation at each sample (x, y, z, w), for self-consistency tests.
    """

    config: SensorConfig
    time_s: NDArray[np.float64]
    true_time_s: NDArray[np.float64]
    counter: NDArray[np.uint16]
    sensor_time_us: NDArray[np.int64]
    acc_counts: NDArray[np.int16]
    gyr_counts: NDArray[np.int16]
    acc_scale_mps2_per_lsb: float
    gyr_scale_rps_per_lsb: float
    frame_index: NDArray[np.int64]
    true_quat_world_from_sensor: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.time_s.shape[0])

    @property
    def placement(self) -> Placement:
        """Where the sensor is strapped."""
        return self.config.placement

    @property
    def acc_mps2(self) -> NDArray[np.float64]:
        """Decoded accelerometer, m/s², shape (N, 3)."""
        return self.acc_counts.astype(np.float64) * self.acc_scale_mps2_per_lsb

    @property
    def gyr_rps(self) -> NDArray[np.float64]:
        """Decoded gyroscope, rad/s, shape (N, 3)."""
        return self.gyr_counts.astype(np.float64) * self.gyr_scale_rps_per_lsb


def _error_matrix(rng: np.random.Generator, scale: float, cross: float) -> NDArray[np.float64]:
    m = np.eye(3) + np.diag(rng.normal(0.0, scale, 3))
    off = rng.normal(0.0, cross, (3, 3))
    np.fill_diagonal(off, 0.0)
    return m + off


def sample_sensor(
    motion: SegmentMotion, config: SensorConfig, duration_s: float, rng: np.random.Generator
) -> SensorStream:
    """Sample one segment's motion as the configured sensor would deliver it.

    Parameters
    ----------
    motion : SegmentMotion
        Segment kinematics on the fine grid (starting at session time 0).
    config : SensorConfig
    duration_s : float
        Session length, s.
    rng : numpy.random.Generator
        Source of every random error, so a seed reproduces the stream.
    """
    chip = CHIPS[config.chip]
    period_true_s = 1.0 / (config.fs_hz * (1.0 + config.clock_drift_ppm * 1e-6))
    phase_s = rng.uniform(0.0, period_true_s)
    n = int((duration_s - phase_s - 2.0 / FINE_FS_HZ) / period_true_s)
    k = np.arange(n)
    t = phase_s + k * period_true_s

    fine_t = np.arange(len(motion.rot_world_from_segment)) / FINE_FS_HZ
    rot_seg = Slerp(fine_t, motion.rot_world_from_segment)(t)
    omega_seg = np.column_stack(
        [np.interp(t, fine_t, motion.omega_segment_rps[:, i]) for i in range(3)]
    )
    acc_world = np.column_stack(
        [np.interp(t, fine_t, motion.sensor_acc_world_mps2[:, i]) for i in range(3)]
    )
    # A strap may slip: the mounting is piecewise constant in time.
    mount_quat = np.tile(config.mounting.as_quat(), (n, 1))
    for t_change, new_mount in config.mounting_changes:
        mount_quat[t >= t_change] = new_mount.as_quat()
    mount = Rotation.from_quat(mount_quat)
    rot_sensor = rot_seg * mount
    f_sensor = rot_sensor.inv().apply(acc_world + _G_UP)
    w_sensor = mount.inv().apply(omega_seg)

    dt = period_true_s
    gyr_bias = np.deg2rad(
        rng.normal(0.0, chip.gyr_bias_dps, 3)
        + np.cumsum(rng.normal(0.0, chip.gyr_bias_walk_dps_rts * np.sqrt(dt), (n, 3)), axis=0)
    )
    acc_bias = rng.normal(0.0, chip.acc_bias_mg * 1e-3 * GRAVITY_MPS2, 3)
    bw = np.sqrt(config.fs_hz / 2.0)
    gyr = (
        w_sensor @ _error_matrix(rng, chip.scale_error, chip.cross_axis).T
        + gyr_bias
        + rng.normal(0.0, np.deg2rad(chip.gyr_noise_dps_rthz) * bw, (n, 3))
    )
    acc = (
        f_sensor @ _error_matrix(rng, chip.scale_error, chip.cross_axis).T
        + acc_bias
        + rng.normal(0.0, chip.acc_noise_ug_rthz * 1e-6 * GRAVITY_MPS2 * bw, (n, 3))
    )
    info = sensor_info(config.chip, config.placement, config.fs_hz)
    acc_lsb = info.acc_scale_mps2_per_lsb
    gyr_lsb = info.gyr_scale_rps_per_lsb
    # int16 quantisation with saturation at full scale, as the chip's registers do.
    acc_counts = np.clip(np.round(acc / acc_lsb), -32768, 32767).astype(np.int16)
    gyr_counts = np.clip(np.round(gyr / gyr_lsb), -32768, 32767).astype(np.int16)

    # Samples travel in frames of samples_per_frame; a lost frame loses all of them.
    frame_id = k // config.samples_per_frame
    n_frames = int(frame_id[-1]) + 1 if n else 0
    keep_frame = rng.random(n_frames) >= config.frame_loss
    keep = keep_frame[frame_id]
    for start, end in config.dropouts_s:
        keep &= ~((t >= start) & (t < end))
    sensor_time_us = config.clock_offset_us + np.round(
        k * (1e6 / config.fs_hz) + phase_s * (1.0 + config.clock_drift_ppm * 1e-6) * 1e6
    ).astype(np.int64)
    return SensorStream(
        config=config,
        time_s=t[keep] + config.mapping_error_s,
        true_time_s=t[keep],
        counter=(k[keep] % 65536).astype(np.uint16),
        sensor_time_us=sensor_time_us[keep],
        acc_counts=acc_counts[keep],
        gyr_counts=gyr_counts[keep],
        acc_scale_mps2_per_lsb=acc_lsb,
        gyr_scale_rps_per_lsb=gyr_lsb,
        frame_index=frame_id[keep].astype(np.int64),
        true_quat_world_from_sensor=rot_sensor.as_quat()[keep],
    )
