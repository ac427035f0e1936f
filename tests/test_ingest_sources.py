"""Simulated, replay and relay sources: the real decode path end to end, and storage."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from ingest import (
    RawLogWriter,
    RecordingValueError,
    RelaySource,
    ReplaySource,
    SensorBatch,
    SimulatedSource,
    SourceParams,
    SourceSpecError,
    StatusKind,
    export_raw_log,
    load_raw_log,
    open_source,
    read_recording,
    relay_forward,
    write_recording,
)
from processing import ImuSamples, Placement
from simulator import SimulationConfig
from tests.conftest import simulated


async def drain(source):
    batches: dict[Placement, list[SensorBatch]] = {}
    events = []
    async with source:
        async for item in source:
            if isinstance(item, SensorBatch):
                batches.setdefault(item.placement, []).append(item)
            else:
                events.append(item)
    return batches, events


def joined(batches: list[SensorBatch]) -> ImuSamples:
    return ImuSamples(
        np.concatenate([b.samples.time_s for b in batches]),
        np.concatenate([b.samples.acc_mps2 for b in batches]),
        np.concatenate([b.samples.gyr_rps for b in batches]),
    )


@pytest.fixture(scope="module")
def drifting_dropout():
    return simulated(SimulationConfig(profile="dropout", seed=2, clock_drift_ppm=200.0))


async def test_simulated_source_delivers_every_sample_exactly_counted_and_aligned(
    drifting_dropout,
):
    session = drifting_dropout
    source = SimulatedSource(session=session, speed=0)
    assert source.placements == tuple(Placement)
    t = time.perf_counter()
    batches, events = await drain(source)
    elapsed = time.perf_counter() - t
    stats = source.stats()
    offsets = []
    for placement, stream in session.streams.items():
        got = joined(batches[placement])
        # Every delivered sample, bit-exact in SI units, in order.
        np.testing.assert_array_equal(got.acc_mps2, stream.acc_mps2)
        np.testing.assert_array_equal(got.gyr_rps, stream.gyr_rps)
        k = stream.counter.astype(np.int64)
        k += 65536 * np.r_[0, np.cumsum(np.diff(k) < 0)]
        assert stats[placement].lost == int(k[-1] - k[0] + 1 - len(k))
        assert stats[placement].duplicates == 0 and stats[placement].late == 0
        assert abs(stats[placement].clock_drift_ppm - stream.config.clock_drift_ppm) < 5.0
        late = stream.true_time_s > 60.0
        offsets.append(got.time_s[late] - stream.true_time_s[late])
    # After a minute, all four sensors agree with true time to well within 2 ms.
    spread = max(o.max() for o in offsets) - min(o.min() for o in offsets)
    assert spread < 0.002
    # The right shin's 3 s dropout: disconnected, then back, gap marked; nobody else.
    lost_and_back = [
        (e.placement, e.kind)
        for e in events
        if e.kind in (StatusKind.DISCONNECTED, StatusKind.CONNECTED)
    ]
    assert lost_and_back.count((Placement.SHIN_RIGHT, StatusKind.DISCONNECTED)) == 1
    assert not any(
        k is StatusKind.DISCONNECTED and p is not Placement.SHIN_RIGHT for p, k in lost_and_back
    )
    assert sum(b.gap_before for b in batches[Placement.SHIN_RIGHT]) == 1
    assert 2.5 < stats[Placement.SHIN_RIGHT].outage_s < 3.5
    assert elapsed < 5.0  # ~63 000 samples through the whole path


class _FakeClock:
    """time.monotonic(_ns) that only moves when a source sleeps: pacing without waiting."""

    def __init__(self) -> None:
        # Far from 0, so that now + (due - now) == due exactly (Sterbenz): a sleep
        # wakes exactly when the frame is due.
        self.s = 1000.0

    def monotonic(self) -> float:
        return self.s

    def monotonic_ns(self) -> int:
        return round(self.s * 1e9)


@pytest.mark.parametrize("tick_s", [0.0, 0.1])
async def test_a_paced_simulation_batches_exactly_as_a_paced_replay_of_it(
    drifting_dropout, tmp_path, monkeypatch, tick_s
):
    # The simulated source has its own paced loop (no record objects); a replay goes
    # through play_records. On one clock, each must hand over the same frames at the
    # same moments: the same batches, samples, time stamps, counters and events (with a
    # tick, a frame is due at the tick after its arrival).
    import ingest._replay
    import ingest._simulated

    clock = _FakeClock()
    real_sleep = asyncio.sleep

    async def sleep(delay_s: float) -> None:
        clock.s += max(0.0, delay_s)
        await real_sleep(0)

    for module in (ingest._simulated, ingest._replay):
        monkeypatch.setattr(module, "time", clock)
    monkeypatch.setattr(asyncio, "sleep", sleep)
    raw = tmp_path / "paced.sslog"
    params = SourceParams(tick_s=tick_s)
    live = SimulatedSource(session=drifting_dropout, speed=3.0, params=params)
    with RawLogWriter(raw) as log:
        live.add_record_sink(log)
        b0, e0 = await drain(live)
    replay = ReplaySource(raw, speed=3.0, params=params)
    b1, e1 = await drain(replay)
    assert set(b0) == set(b1) == set(Placement)
    for placement in b0:
        assert [len(b) for b in b0[placement]] == [len(b) for b in b1[placement]]
        a, b = joined(b0[placement]), joined(b1[placement])
        np.testing.assert_array_equal(a.time_s, b.time_s)
        np.testing.assert_array_equal(a.acc_mps2, b.acc_mps2)
        np.testing.assert_array_equal(a.gyr_rps, b.gyr_rps)
        assert live.stats()[placement] == replay.stats()[placement]
    assert e0 == e1
    assert any(e.kind is StatusKind.DISCONNECTED for e in e0)
    # Frames of 3 samples every 30 ms: one per batch, or all of a tick's 0.3 s of session
    # time (0.1 s at 3x speed).
    sizes = np.array([len(b) for b in b0[Placement.SACRUM]])
    assert np.median(sizes) == (30 if tick_s else 3)


async def test_raw_log_replays_to_exactly_the_live_samples_and_exports_csv(tmp_path):
    session = simulated(SimulationConfig(seed=4))
    raw = tmp_path / "s.sslog"
    source = SimulatedSource(session=session, speed=0, duration_s=20.0)
    with RawLogWriter(raw) as log:
        source.add_record_sink(log)
        live, _ = await drain(source)
    contents = load_raw_log(raw)
    assert contents.skipped_bytes == 0 and contents.bad_records == 0
    for placement, batches in live.items():
        got = joined(batches)
        np.testing.assert_array_equal(contents.samples[placement].time_s, got.time_s)
        np.testing.assert_array_equal(contents.samples[placement].acc_mps2, got.acc_mps2)
    # The replay source gives the same through the async path, with the same counts.
    replayed, events = await drain(ReplaySource(raw, speed=0))
    for placement, batches in live.items():
        np.testing.assert_array_equal(joined(replayed[placement]).time_s, joined(batches).time_s)
    assert any(e.kind is StatusKind.INFO for e in events)
    csv = tmp_path / "s.csv"
    export_raw_log(raw, csv)
    rec = read_recording(csv)
    for placement in live:
        np.testing.assert_allclose(
            rec[placement].time_s, contents.samples[placement].time_s, atol=1e-6
        )
        np.testing.assert_allclose(
            rec[placement].gyr_rps, contents.samples[placement].gyr_rps, rtol=1e-6
        )


async def test_damaged_raw_log_loses_only_the_damaged_records_and_says_so(tmp_path):
    session = simulated(SimulationConfig(seed=4))
    raw = tmp_path / "d.sslog"
    with RawLogWriter(raw) as log:
        source = SimulatedSource(session=session, speed=0, duration_s=10.0)
        source.add_record_sink(log)
        await drain(source)
    clean = load_raw_log(raw)
    data = bytearray(raw.read_bytes())
    for pos in (len(data) // 3, len(data) // 2, 2 * len(data) // 3):
        data[pos : pos + 5] = b"\xff\x00\xa5\x5a\x13"
    raw.write_bytes(bytes(data))
    batches, events = await drain(ReplaySource(raw, speed=0))
    warnings = [e for e in events if e.kind is StatusKind.WARNING]
    assert warnings and "damaged" in warnings[-1].message
    total_clean = sum(len(s) for s in clean.samples.values())
    total = sum(len(joined(b)) for b in batches.values())
    assert total_clean - 3 * 10 <= total < total_clean
    for placement, b in batches.items():
        got = joined(b)
        # Nothing invented: every replayed sample is one of the original ones.
        original = {tuple(row) for row in clean.samples[placement].acc_mps2}
        assert all(tuple(row) in original for row in got.acc_mps2)


async def test_csv_replay_equals_the_file_and_is_paced(tmp_path):
    session = simulated(SimulationConfig(seed=4))
    rec = {
        p: ImuSamples(s.time_s[:300], s.acc_mps2[:300], s.gyr_rps[:300])
        for p, s in session.recording().items()
    }
    path = tmp_path / "r.csv"
    write_recording(path, rec)
    expected = read_recording(path)
    batches, _ = await drain(ReplaySource(path, speed=0))
    for p in expected:
        np.testing.assert_array_equal(joined(batches[p]).time_s, expected[p].time_s)
    t = time.perf_counter()
    source = ReplaySource(path, speed=6.0)  # 3 s of data in ~0.5 s
    batches, _ = await drain(source)
    assert 0.35 < time.perf_counter() - t < 2.0
    assert set(source.placements) == set(expected)


async def test_a_bad_csv_line_raises_after_everything_before_it(tmp_path):
    path = tmp_path / "bad.csv"
    rows = ["time_s,sensor,acc_x,acc_y,acc_z,gyr_x,gyr_y,gyr_z"]
    rows += [f"{i / 100:.2f},sacrum,0,0,9.8,0,0,0" for i in range(50)]
    rows += ["0.50,sacrum,0,abc,9.8,0,0,0"]
    path.write_text("\n".join(rows) + "\n")
    source = ReplaySource(path, speed=0)
    got = 0
    with pytest.raises(RecordingValueError, match="line 52, column acc_y"):
        async with source:
            async for item in source:
                if isinstance(item, SensorBatch):
                    got += len(item)
    assert got == 0 or got == 50  # the fast parser reads the block whole, then reports


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ([], "expected a mapping"),
        (
            {"kind": "usb"},
            "'kind': expected one of 'simulated', 'replay', 'ble', 'relay', got 'usb'",
        ),
        ({"kind": "simulated", "speed": -1}, "'speed': expected a finite number >= 0, got -1"),
        ({"kind": "simulated", "speed": "fast"}, "'speed': expected a number >= 0, got 'fast'"),
        ({"kind": "simulated", "profile": "nope"}, "'profile': unknown profile 'nope'"),
        ({"kind": "simulated", "colour": 1}, "'colour': unknown for kind 'simulated'"),
        ({"kind": "replay"}, "'path': expected a file path, got None"),
        ({"kind": "replay", "path": "/no/such.csv"}, "'path': cannot open '/no/such.csv'"),
    ],
)
def test_open_source_rejects_bad_specs_in_one_line(spec, fragment):
    with pytest.raises(SourceSpecError) as info:
        open_source(spec)
    assert fragment in str(info.value) and "\n" not in str(info.value)


async def test_open_source_builds_each_kind(tmp_path):
    assert isinstance(
        open_source({"kind": "simulated", "profile": "clean", "speed": 0}), SimulatedSource
    )
    assert isinstance(open_source({"kind": "relay"}), RelaySource)
    source = open_source({"kind": "ble", "pairing_path": str(tmp_path / "none.json")})
    assert source.placements == ()


async def test_source_contract_misuse_is_a_clear_error():
    source = RelaySource()
    with pytest.raises(RuntimeError, match="enter the source first"):
        await source.__anext__()
    async with source:
        source.feed_eof()
        assert [x async for x in source] == []
    with pytest.raises(RuntimeError, match="only once"):
        async with source:
            pass


async def test_relay_over_a_websocket_yields_what_the_remote_source_yields():
    from websockets.asyncio.server import serve

    session = simulated(SimulationConfig(seed=4))
    relay = RelaySource()

    async def handler(ws):
        async for message in ws:
            relay.feed(message)
        relay.feed_eof()

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        remote = SimulatedSource(session=session, speed=0, duration_s=15.0)
        local = asyncio.create_task(drain(relay))
        await relay_forward(remote, f"ws://127.0.0.1:{port}/relay", retry=False)
        batches, events = await asyncio.wait_for(local, 20)
    direct, _ = await drain(SimulatedSource(session=session, speed=0, duration_s=15.0))
    assert set(batches) == set(direct)
    for placement in direct:
        # The online clock fit sees the same points in other batches: same times to <1 ms.
        np.testing.assert_allclose(
            joined(batches[placement]).time_s, joined(direct[placement]).time_s, atol=1e-3
        )
        np.testing.assert_array_equal(
            joined(batches[placement]).acc_mps2, joined(direct[placement]).acc_mps2
        )
    assert relay.stats()[Placement.SACRUM].lost == remote.stats()[Placement.SACRUM].lost


async def test_relay_forward_to_nowhere_is_a_relay_error():
    from ingest import RelayError

    session = simulated(SimulationConfig(seed=4))
    source = SimulatedSource(session=session, speed=0, duration_s=1.0)
    with pytest.raises(RelayError, match="relay ws://127.0.0.1:9/x"):
        await relay_forward(source, "ws://127.0.0.1:9/x", retry=False)


async def test_a_consumer_gets_every_item_in_order_and_its_failure_ends_the_source(
    drifting_dropout,
):
    # The live engine takes items straight from the source's task (set_consumer):
    # the same items, in the same order, as iterating the source.
    def source():
        return SimulatedSource(session=drifting_dropout, speed=0, duration_s=20.0)

    iterated = []
    async with (s := source()):
        iterated = [item async for item in s]
    consumed = []
    s = source()
    s.set_consumer(consumed.append)
    async with s:
        assert [item async for item in s] == []  # everything went to the consumer
    assert len(consumed) == len(iterated) > 50
    for a, b in zip(consumed, iterated, strict=True):
        assert type(a) is type(b)
        if isinstance(a, SensorBatch):
            assert a.placement == b.placement
            np.testing.assert_array_equal(a.samples.time_s, b.samples.time_s)
        else:
            assert (a.kind, a.placement, a.message) == (b.kind, b.placement, b.message)

    def failing(item):
        if isinstance(item, SensorBatch) and len(consumed2) == 5:
            raise ValueError("consumer broke")
        consumed2.append(item)

    consumed2: list = []
    s = source()
    s.set_consumer(failing)
    with pytest.raises(ValueError, match="consumer broke"):
        await drain(s)
    assert len(consumed2) == 5
    with pytest.raises(RuntimeError, match="before entering"):
        s.set_consumer(consumed2.append)


async def test_a_consumer_failing_in_another_task_of_the_source_ends_it():
    # Sources emit from helper tasks too (a relay's silence watch): a consumer's
    # exception there must end the source, not vanish with the task.
    from ingest import SensorSource, StatusEvent

    class TwoTasks(SensorSource):
        placements = (Placement.SACRUM,)

        async def _run(self):
            async def watch():
                await self._emit([StatusEvent(StatusKind.INFO, None, "from a helper", 0.0)])

            self._spawn(watch())
            await asyncio.sleep(30)  # the main task would run on

    def consumer(item):
        raise ValueError("consumer broke")

    source = TwoTasks()
    source.set_consumer(consumer)
    with pytest.raises(ValueError, match="consumer broke"):
        await drain(source)
