"""Live virtual sensors speak the real protocol with realistic BLE timing."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_protocol import decode_frames, decode_info, max_samples_per_frame
from simulator import LinkParams, SimulationConfig, merged_notifications, stream_live
from tests.conftest import simulated


@pytest.mark.parametrize("att_mtu", [23, 185, 247])
def test_notifications_decode_to_exactly_the_simulated_samples(att_mtu):
    session = simulated(SimulationConfig(seed=4, frame_loss=0.02))
    sensors, notes = merged_notifications(session, LinkParams(att_mtu=att_mtu))
    for placement, sensor in sensors.items():
        mine = [n for n in notes if n.placement == placement]
        assert max(len(n.payload) for n in mine) <= att_mtu - 3  # fits one ATT notification
        assert max(n.n_samples for n in mine) <= max_samples_per_frame(att_mtu)
        batch = decode_frames([n.payload for n in mine], decode_info(sensor.info_bytes))
        stream = session.streams[placement]
        np.testing.assert_array_equal(batch.acc_mps2, stream.acc_mps2)
        np.testing.assert_array_equal(batch.gyr_rps, stream.gyr_rps)
        np.testing.assert_array_equal(batch.counter, stream.counter)
        np.testing.assert_array_equal(
            batch.sensor_time_us, (stream.sensor_time_us % 2**32).astype(np.uint32)
        )


def test_arrivals_are_in_order_and_after_sampling():
    session = simulated(SimulationConfig(seed=4, frame_loss=0.02))
    link = LinkParams(att_mtu=247, burst_probability=0.05)
    sensors, notes = merged_notifications(session, link)
    assert all(a.host_time_s <= b.host_time_s for a, b in zip(notes, notes[1:], strict=False))
    for placement in sensors:
        stream = session.streams[placement]
        mine = [n for n in notes if n.placement == placement]
        ends = np.cumsum([n.n_samples for n in mine]) - 1
        sampled = stream.true_time_s[ends]
        delay = np.array([n.host_time_s for n in mine]) - sampled
        assert delay.min() >= 0.0
        assert np.median(delay) < link.conn_interval_s
        assert delay.max() > link.conn_interval_s  # bursts do happen


def test_info_characteristic_describes_the_virtual_sensor():
    session = simulated(SimulationConfig(seed=4, fs_hz={"sacrum": 50.0}))
    sensors, _ = merged_notifications(session)
    info = decode_info(sensors[next(iter(sensors))].info_bytes)
    assert info.placement.label == "sacrum" and info.sample_rate_hz == 50.0
    assert decode_info(sensors[list(sensors)[2]].info_bytes).placement.label == "shin_left"


async def test_stream_live_as_fast_as_possible_yields_everything_in_order():
    session = simulated(SimulationConfig(seed=4, frame_loss=0.02))
    _, notes = merged_notifications(session)
    got = [n async for n in stream_live(notes[:5000], speed=0.0)]
    assert got == notes[:5000]
    with pytest.raises(ValueError, match="speed must be >= 0"):
        [n async for n in stream_live(notes, speed=-1.0)]
