"""BleSource against a fake bleak backend that plays the simulator's real notifications.

bleak's BleakClient/BleakScanner and bleak-retry-connector's establish_connection run
unchanged; only the OS backend below them is fake (tests/ingest_fakes.py).
"""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakCharacteristicNotFoundError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)
from bleak_retry_connector import BleakNotFoundError

from firmware_protocol import ControlOpcode, decode_control
from ingest import (
    BleParams,
    BleSource,
    PairedSensor,
    SensorBatch,
    SensorKind,
    SensorUnavailable,
    SourceParams,
    StatusKind,
    UnavailableReason,
    scan_sensors,
    warm_up,
)
from ingest._ble import translate_bleak_error
from processing import Placement
from simulator import LinkParams, SimulationConfig, merged_notifications
from tests.conftest import simulated
from tests.ingest_fakes import FakePeripheral, FakeWorld

STREAM_S = 3.0


@pytest.fixture(autouse=True, scope="module")
def _compiled_loops_loaded():
    # As a live host does before streaming (the server at start, `ingest record`), so
    # that the first load of numba's code (~0.2 s) does not stall the loop mid-connect.
    # A stall there no longer loses samples (a burst at the start is slewed, see
    # test_ingest_clock_loss.py), but it shifts which frame a connection starts with.
    warm_up()


FAST = BleParams(scan_timeout_s=2.0, backoff_initial_s=0.05, backoff_max_s=0.2)


def _addr(i: int) -> str:
    return f"C4:7F:51:0A:11:0{i}"


def _world(drop_shin_left_at: float | None = None, lead_s: float = 0.3):
    session = simulated(SimulationConfig(seed=11, frame_loss=0.02))
    sensors, notes = merged_notifications(session, LinkParams(att_mtu=247), seed=11)
    peripherals = []
    for i, (placement, sensor) in enumerate(sensors.items()):
        mine = [
            (n.host_time_s + lead_s, n.payload)
            for n in notes
            if n.placement == placement and n.host_time_s < STREAM_S
        ]
        peripherals.append(
            FakePeripheral(
                _addr(i),
                f"ss-{placement.value}",
                sensor.info_bytes,
                mine,
                drops=[drop_shin_left_at]
                if placement is Placement.SHIN_LEFT and drop_shin_left_at
                else [],
                down_s=0.4,
            )
        )
    world = FakeWorld(peripherals)
    paired = [PairedSensor(p, _addr(i)) for i, p in enumerate(sensors)]
    return session, world, paired


async def _collect(source: BleSource, until_s: float):
    batches: dict[Placement, list[SensorBatch]] = {}
    events = []

    async def run():
        async for item in source:
            if isinstance(item, SensorBatch):
                batches.setdefault(item.placement, []).append(item)
            else:
                events.append(item)

    async with source:
        try:
            async with asyncio.timeout(until_s):
                await run()
        except TimeoutError:
            pass
    return batches, events


def _counters_by_connection(peripheral: FakePeripheral) -> dict[int, np.ndarray]:
    out: dict[int, list[int]] = {}
    for connection, payload in peripheral.sent:
        n, c0 = payload[1], int.from_bytes(payload[2:4], "little")
        out.setdefault(connection, []).extend(range(c0, c0 + n))
    return {k: np.array(v) for k, v in out.items()}


async def test_streams_four_sensors_at_once_and_one_reconnects_mid_set():
    session, world, paired = _world(drop_shin_left_at=2.0)
    source = BleSource(paired, ble=FAST, backends=world.backends(), params=SourceParams())
    batches, events = await _collect(source, STREAM_S + 0.8)

    # Scans and connects never overlapped (BlueZ would refuse), yet all four streamed.
    assert world.overlaps == 0 and world.max_busy == 1
    assert set(batches) == set(session.streams)
    stats = source.stats()
    for i, placement in enumerate(session.streams):
        peripheral = world.peripherals[_addr(i)]
        got = batches[placement]
        samples = np.concatenate([b.samples.acc_mps2 for b in got])
        times = np.concatenate([b.samples.time_s for b in got])
        assert np.all(np.diff(times) > 0)
        # Every sample sent arrived, decoded to the simulator's values (SI units).
        stream = session.streams[placement]
        sent = sum(payload[1] for _, payload in peripheral.sent)
        assert len(samples) == sent == stats[placement].samples
        # First connection: the wire's counters are the simulator's sample numbers from
        # the one that went out first, which the firmware counts as 0.
        before = got[: next((k for k, b in enumerate(got) if b.gap_before), len(got))]
        counter = np.concatenate([b.counter for b in before]).astype(np.int64)
        counter = (counter + peripheral.restarts[0]) % 65536
        idx = np.searchsorted(stream.counter.astype(np.int64), counter)
        np.testing.assert_array_equal(stream.counter[idx], counter)
        np.testing.assert_array_equal(samples[: len(idx)], stream.acc_mps2[idx])
        # Loss is exact: counter values missing within each connection's stream.
        expected_lost = sum(
            int(c.max() - c.min() + 1 - len(np.unique(c)))
            for c in _counters_by_connection(peripheral).values()
        )
        assert stats[placement].lost == expected_lost > 0
        assert stats[placement].att_mtu == 247
        assert stats[placement].battery_pct == 87
        starts = [
            c
            for c in peripheral.controls
            if decode_control(c).opcode is ControlOpcode.START_STREAMING
        ]
        expected_connects = 2 if placement is Placement.SHIN_LEFT else 1
        assert peripheral.connects == len(starts) == expected_connects

    # The dropped sensor came back on its own, its gap marked; the others never stopped.
    kinds = [(e.placement, e.kind) for e in events]
    left = [k for p, k in kinds if p is Placement.SHIN_LEFT]
    i_dis = left.index(StatusKind.DISCONNECTED)
    assert StatusKind.RECONNECTING in left[i_dis:]
    assert left[i_dis:].count(StatusKind.CONNECTED) == 1
    assert stats[Placement.SHIN_LEFT].reconnects == 1
    gaps = [b for b in batches[Placement.SHIN_LEFT] if b.gap_before]
    assert len(gaps) == 1 and gaps[0].samples.time_s[0] > 2.0
    for placement in set(session.streams) - {Placement.SHIN_LEFT}:
        assert (placement, StatusKind.DISCONNECTED) not in kinds
        assert stats[placement].reconnects == 0 and stats[placement].connected


async def test_sensors_line_up_on_the_session_clock():
    session, world, paired = _world()
    source = BleSource(paired, ble=FAST, backends=world.backends())
    batches, _ = await _collect(source, STREAM_S + 0.6)
    # mapped time - true sampling time must be the same constant for every sensor.
    offsets = []
    for placement, got in batches.items():
        times = np.concatenate([b.samples.time_s for b in got])
        true = session.streams[placement].true_time_s[: len(times)]
        late = true > 1.5
        offsets.append(times[late] - true[late])
    common = np.median(np.concatenate(offsets))
    worst = max(float(np.max(np.abs(o - common))) for o in offsets)
    assert worst < 0.004  # 4 ms after only ~2 s of streaming, under an event loop's jitter


async def test_bluetooth_unavailable_ends_the_iteration_with_a_typed_error():
    class NoRadio:
        def __init__(self, *args, **kwargs):
            raise BleakBluetoothNotAvailableError(
                "adapter off", BleakBluetoothNotAvailableReason.POWERED_OFF
            )

    source = BleSource([PairedSensor(Placement.SACRUM, _addr(0))], backends={"scanner": NoRadio})
    with pytest.raises(SensorUnavailable) as info:
        async with source:
            async for _ in source:
                pass
    assert info.value.reason is UnavailableReason.BLUETOOTH_UNAVAILABLE
    assert "POWERED_OFF" in str(info.value)


async def test_a_sensor_out_of_range_is_retried_and_reported_not_fatal():
    session, world, paired = _world()
    missing = PairedSensor(Placement.LUMBAR, "00:00:00:00:00:99")
    others = [p for p in paired if p.placement is not Placement.LUMBAR]
    ble = BleParams(scan_timeout_s=0.2, backoff_initial_s=0.05, backoff_max_s=0.1)
    source = BleSource([*others, missing], ble=ble, backends=world.backends())
    batches, events = await _collect(source, 1.5)
    lumbar = [e for e in events if e.placement is Placement.LUMBAR]
    assert any(e.kind is StatusKind.RECONNECTING and e.value and e.value >= 2 for e in lumbar)
    assert any("not seen in a 0.2 s scan" in e.message for e in lumbar)
    assert set(batches) == {p.placement for p in others}


async def test_witmotion_sensor_is_decoded_and_timed_against_its_nominal_rate():
    rng = np.random.default_rng(3)
    fs = 100.0
    n = int(STREAM_S * fs)
    true = 0.2 + np.arange(n) / (fs * (1 + 150e-6))  # its oscillator runs 150 ppm fast
    acc = rng.integers(-2000, 2000, (n, 3))
    packets = [
        b"\x55\x61" + np.r_[acc[i], [i % 100, -i % 100, 7], [0, 0, 0]].astype("<i2").tobytes()
        for i in range(n)
    ]
    arrival = np.maximum.accumulate(true + rng.uniform(0.0, 0.012, n))
    notes = [(float(a), p) for a, p in zip(arrival, packets, strict=True)]
    del notes[150:152]  # two notifications lost
    world = FakeWorld([FakePeripheral(_addr(7), "WT901BLE68", None, notes, witmotion=True)])
    paired = [PairedSensor(Placement.SACRUM, _addr(7), kind=SensorKind.WITMOTION)]
    source = BleSource(paired, ble=FAST, backends=world.backends())
    batches, events = await _collect(source, STREAM_S + 0.5)
    got = batches[Placement.SACRUM]
    acc_got = np.concatenate([b.samples.acc_mps2 for b in got])
    times = np.concatenate([b.samples.time_s for b in got])
    assert len(acc_got) == n - 2
    np.testing.assert_allclose(acc_got[:150], acc[:150] / 32768 * 16 * 9.80665)
    # Times follow the true sampling instants (up to a constant) despite the jitter;
    # the lost notifications were noticed and the samples after them re-placed.
    kept = np.r_[np.arange(150), np.arange(152, n)]
    err = times - true[kept]
    t_loss = true[150]
    settled = (true[kept] > 1.0) & ~((true[kept] > t_loss) & (true[kept] < t_loss + 0.6))
    assert np.ptp(err[settled]) < 0.004
    # Just after the loss, times are off by at most the two lost periods (documented).
    assert np.max(np.abs(err - np.median(err[settled]))) < 0.025
    assert source.stats()[Placement.SACRUM].lost == 2
    writes = world.peripherals[_addr(7)].controls
    assert writes[0] == bytes.fromhex("ffaa6988b5") and writes[1] == bytes.fromhex("ffaa030900")


async def test_scan_lists_supported_sensors_with_rssi_and_battery():
    _, world, _ = _world()
    found = await scan_sensors(0.2, backends=world.backends())
    assert len(found) == 4
    assert {s.kind for s in found} == {SensorKind.SQUATSENSE}
    assert all(s.rssi_dbm == -55 and s.battery_pct == 87 for s in found)
    found = await scan_sensors(0.2, read_info=True, backends=world.backends())
    # Virtual sensors are provisioned: they name their own placement.
    assert {s.placement for s in found} == set(Placement)


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (
            BleakBluetoothNotAvailableError("x", BleakBluetoothNotAvailableReason.NO_BLUETOOTH),
            "bluetooth_unavailable",
        ),
        (FileNotFoundError(2, "No such file or directory"), "bluetooth_unavailable"),
        (BleakCharacteristicNotFoundError("577b0003"), "missing_service"),
        (BleakGATTProtocolError(0x81), "refused"),
        (BleakNotFoundError("gone"), "not_found"),
        (BleakDeviceNotFoundError("AA", "gone"), "not_found"),
        (TimeoutError(), "timeout"),
        (BleakError("Not connected"), "disconnected"),
        (BleakError("le-connection-abort-by-local"), "connect_failed"),
    ],
)
def test_bleak_errors_translate_to_one_typed_error(exc, reason):
    err = translate_bleak_error(exc, "connect", placement=Placement.SACRUM, address="AA")
    assert err.reason == reason
    assert str(err).startswith("sacrum (AA): connect") or "Bluetooth unavailable" in str(err)
    assert "\n" not in str(err)


@pytest.mark.hardware
@pytest.mark.skipif(
    os.environ.get("SQUATSENSE_HARDWARE") != "1", reason="set SQUATSENSE_HARDWARE=1"
)
async def test_real_sensors_stream():  # pragma: no cover - needs sensors in range
    source = BleSource()
    batches, _ = await _collect(source, 10.0)
    assert batches and all(len(b) for bs in batches.values() for b in bs)
