"""The live path's performance machinery: ticks, frame-in stamps, stage metrics, workers.

Timing itself is measured by benchmarks/ (docs/performance.md), never asserted here.
"""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from service_helpers import AUTH, TOKEN, make_app, simulated
from starlette.websockets import WebSocketDisconnect

from firmware_protocol import encode_frames, encode_info
from ingest import SensorBatch, SimulatedSource, SourceParams
from ingest._channel import SensorChannel
from processing import AngleBlock, Placement
from processing.consts import ANGLE_COLUMNS
from service import Settings, create_app
from service._broadcast import Broadcaster
from service._metrics import STAGES, ServiceMetrics, StepStamps
from service._session import AngleDecimator, angle_rows
from simulator import Chip, sensor_info


def test_ticks_are_multiples_of_tick_s_on_the_monotonic_clock():
    source = SimulatedSource(params=SourceParams(tick_s=0.01))
    assert source.next_tick(12.0) == pytest.approx(12.0)
    assert source.next_tick(12.0001) == pytest.approx(12.01)
    assert source.next_tick(12.0099) == pytest.approx(12.01)
    untimed = SimulatedSource(params=SourceParams(tick_s=0.0))
    assert untimed.next_tick(12.0001) == 12.0001
    for bad in (-0.01, math.nan, math.inf):
        with pytest.raises(ValueError, match="tick_s"):
            SourceParams(tick_s=bad)


def test_a_batch_says_when_its_oldest_and_newest_notification_arrived():
    info = sensor_info(Chip.MPU6050, Placement.SACRUM, 100.0)
    counts = np.zeros((9, 3), dtype=np.int16)
    frames = encode_frames(counts, counts, info, att_mtu=247, samples_per_frame=3)
    ch = SensorChannel(Placement.SACRUM, t0_ns=1_000_000_000, silence_timeout_s=1.5)
    ch.feed_info(1_000_000_000, encode_info(info))
    hosts = [1_010_000_000, 1_040_000_000, 1_070_000_000]  # 10, 40 and 70 ms
    (batch,) = [i for i in ch.feed(hosts, frames) if isinstance(i, SensorBatch)]
    assert len(batch) == 9
    assert batch.first_arrival_s == pytest.approx(0.010)
    assert batch.arrival_s == pytest.approx(0.070)
    # A frame already seen adds no sample, and so does not move the oldest arrival.
    more = encode_frames(counts[:3], counts[:3], info, counter0=9, t0_us=90_000, att_mtu=247)
    items = ch.feed([1_100_000_000, 1_130_000_000], [frames[2], more[0]])
    (batch,) = [i for i in items if isinstance(i, SensorBatch)]
    assert len(batch) == 3
    assert batch.first_arrival_s == pytest.approx(0.130) == batch.arrival_s


def test_a_measured_message_is_split_into_stages_that_add_up():
    metrics = ServiceMetrics()
    hub = Broadcaster(metrics, angle_frames=4, max_pending=4)
    hub.subscribe()
    stamps = StepStamps(frame_in_ns=1_000, taken_ns=3_000, step_ns=7_000)
    hub.publish("cue", "{}", entered_ns=1_000, stamps=stamps)
    hub.publish("rep", "{}")  # not measured
    (sub,) = hub._subscribers
    msg = sub._others[0]
    assert msg.published_ns >= 7_000 and sub._others[1].published_ns == 0
    metrics.add_sent("cue", msg.entered_ns, msg.stamps, published_ns=20_000, now=50_000)
    assert metrics.latency["cue"].count == 1 and metrics.latency["rep"].count == 0
    parts = {k: metrics.stages[k]._values[0] for k in STAGES}
    assert parts == {"ingest": 2_000, "queue": 4_000, "processing": 13_000, "send": 30_000}
    assert sum(parts.values()) == metrics.latency["cue"]._values[0] == 49_000
    summary = metrics.latency["cue"].summary()
    assert summary["p50_ms"] == summary["p95_ms"] == summary["p99_ms"] == 0.049


def test_metrics_report_every_stage_with_p95(client):
    body = simulated(speed=10.0, duration_s=30)
    sid = client.post("/api/sessions", json=body, headers=AUTH).json()["id"]
    with client.websocket_connect(f"/api/sessions/{sid}/live", headers=AUTH) as ws:
        with pytest.raises(WebSocketDisconnect):
            while True:
                ws.receive_json()
    m = client.get("/api/metrics", headers=AUTH).json()
    assert set(m["stages"]) == set(STAGES)
    measured = sum(w["count"] for w in m["latency"].values())
    assert measured > 0 and m["stages"]["send"]["count"] == measured
    for window in (*m["stages"].values(), m["latency"]["angles"]):
        assert window["p50_ms"] <= window["p95_ms"] <= window["p99_ms"] <= window["max_ms"]


@pytest.fixture
def client(tmp_path, default_session):
    with TestClient(make_app(tmp_path, default_session)) as c:
        yield c


def _run_session(client: TestClient, body: dict) -> tuple[dict, dict[str, int], str]:
    sid = client.post("/api/sessions", json=body, headers=AUTH).json()["id"]
    seen: dict[str, int] = {}
    with client.websocket_connect(f"/api/sessions/{sid}/live", headers=AUTH) as ws:
        first = ws.receive_json()
        assert first["event"] == "snapshot"
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                m = ws.receive_json()
                seen[m["type"]] = seen.get(m["type"], 0) + 1
    assert getattr(closed.value, "code", None) == 1000
    doc = client.get(f"/api/sessions/{sid}", headers=AUTH).json()
    reps = client.get(f"/api/sessions/{sid}/reps.csv", headers=AUTH).text
    return doc, seen, reps


def test_a_session_in_a_worker_process_gives_what_it_gives_in_the_server(tmp_path):
    """Settings.workers: the engine runs in another process; same reps, same stream."""
    body = {"athlete": "Ada", "source": {"kind": "simulated", "speed": 0.0, "seed": 3}}
    results = []
    raw_rows: list[int] = []
    angles_csv: list[str] = []
    steps: list[int] = []
    for workers in (0, 1):
        settings = Settings(
            data_dir=tmp_path / str(workers), token=SecretStr(TOKEN), workers=workers
        )
        with TestClient(create_app(settings)) as c:
            results.append(_run_session(c, body))
            # What a worker holds back and sends in bulk arrives all the same: every
            # raw sample (stored), every step's timing (metrics).
            sid = c.get("/api/sessions", headers=AUTH).json()["sessions"][0]["id"]
            raw_rows.append(c.get(f"/api/sessions/{sid}/raw.csv", headers=AUTH).text.count("\n"))
            angles_csv.append(c.get(f"/api/sessions/{sid}/angles.csv", headers=AUTH).text)
            steps.append(c.get("/api/metrics", headers=AUTH).json()["processing"]["count"])
            if workers:
                # A relay session lives in a worker too, and is fed through the server.
                sid = c.post(
                    "/api/sessions",
                    json={"athlete": "Bo", "source": {"kind": "relay"}},
                    headers=AUTH,
                ).json()["id"]
                with c.websocket_connect(f"/api/sessions/{sid}/relay", headers=AUTH) as ws:
                    ws.send_bytes(b"\x00")  # not a record: skipped as damage
                assert c.post(f"/api/sessions/{sid}/stop", headers=AUTH).status_code == 200
    (doc0, seen0, reps0), (doc1, seen1, reps1) = results
    assert doc1["state"] == doc0["state"] == "finished"
    assert doc1["reason"] == doc0["reason"] == "simulation complete"
    assert (doc1["rep_count"], doc1["cue_count"]) == (doc0["rep_count"], doc0["cue_count"])
    assert doc1["rep_count"] > 10 and reps1 == reps0
    assert doc1["placements"] == doc0["placements"]
    assert [s["samples"] for s in doc1["sensors"]] == [s["samples"] for s in doc0["sensors"]]
    for kind in ("rep", "cue", "bottom"):
        assert seen1.get(kind) == seen0.get(kind)
    assert raw_rows[1] == raw_rows[0] > 10_000
    # Angles to store travel with the raw samples, apart from the live frames.
    assert angles_csv[1] == angles_csv[0] and angles_csv[0].count("\n") > 10_000
    assert steps[0] > 0 and steps[1] > 0  # (speed 0: few, large steps)


def test_workers_need_a_source_factory_they_can_receive(tmp_path):
    settings = Settings(data_dir=tmp_path, token=SecretStr(TOKEN), workers=1)
    app = create_app(settings, source_factory=lambda spec: SimulatedSource())
    with pytest.raises(ValueError, match="pickled"):
        with TestClient(app):
            pass


async def test_a_worker_sends_held_raw_samples_on_time_without_more_data():
    # Raw samples are gathered for up to RAW_INTERVAL_S; the last ones of a stream
    # that goes quiet must not wait for the next batch.

    from processing import ImuSamples, Placement
    from service._workers import RAW_INTERVAL_S, _PipeSink

    sent: list[tuple[str, tuple]] = []

    class Worker:
        def _emit(self, sid, op):
            sent.append((sid, op))

    sink = _PipeSink(Worker(), "s1", 25.0)  # type: ignore[arg-type]
    one = ImuSamples(np.array([0.01]), np.zeros((1, 3)), np.zeros((1, 3)))
    sink.on_batch(Placement.SACRUM, one)  # the first goes at once
    sink.on_batch(Placement.SACRUM, one)
    sink.on_step(1234)
    assert [op[0] for _, op in sent] == ["on_batch"]
    await asyncio.sleep(RAW_INTERVAL_S + 0.1)
    assert [op[0] for _, op in sent] == ["on_batch", "on_batch", "on_steps"]
    assert sent[2][1][1] == [1234]


async def test_a_worker_sends_a_steps_angles_live_only_when_a_frame_is_due():
    # Every step's angles are stored (sent with the raw samples); of them only the live
    # frames due at Settings.angle_rate_hz go at once, in order with the step's other
    # events; a step with nothing else to say sends nothing.
    from processing import ANGLE_COLUMNS, AngleBlock, StatusEvent
    from service._engine import CoreState
    from service._workers import RAW_INTERVAL_S, _PipeSink

    sent: list[tuple] = []

    class Worker:
        def _emit(self, sid, op):
            sent.append(op)

    def block(*t_s: float) -> AngleBlock:
        t = np.array(t_s)
        return AngleBlock(t, {c: t * (i + 1) for i, c in enumerate(ANGLE_COLUMNS)})

    sink = _PipeSink(Worker(), "s1", 10.0)  # type: ignore[arg-type]
    sink.flush_raw()  # as after a session's first samples (they go at once)
    core = CoreState(True, 1)
    status = StatusEvent("set", 0.15, "set 1", ())
    stamps = StepStamps(1, 2, 3)
    sink.on_events([block(0.00, 0.01), status, block(0.10, 0.11)], stamps, core)
    assert [op[0] for op in sent] == ["on_live_angles", "on_events", "on_live_angles"]
    assert sent[0][1][:, 0].tolist() == [0.00] and sent[2][1][:, 0].tolist() == [0.10]
    assert sent[0][1][0, 1:].tolist() == [0.0] * 6
    assert sent[1][1:] == ([status], stamps, core)
    sent.clear()
    sink.on_events([block(0.12, 0.13)], stamps, core)  # same bucket, same state: nothing
    assert sent == []
    sink.on_events([block(0.14)], stamps, CoreState(True, 2))  # the state changed
    assert [op[0] for op in sent] == ["on_events"] and sent[0][3] == CoreState(True, 2)
    sent.clear()
    await asyncio.sleep(RAW_INTERVAL_S + 0.1)  # held angles go on time, no more data needed
    ((name, rows),) = sent
    assert name == "on_angles"
    assert rows[:, 0].tolist() == [0.00, 0.01, 0.10, 0.11, 0.12, 0.13, 0.14]
    assert rows[:, 2].tolist() == pytest.approx(2 * rows[:, 0])  # the second angle: 2 t


@settings(max_examples=200, deadline=None)
@given(
    rate_hz=st.sampled_from([10.0, 20.0, 25.0, 30.0, 100.0]),
    k0=st.integers(0, 10_000),
    sizes=st.lists(st.integers(0, 40), min_size=1, max_size=30),
)
def test_live_angle_frames_are_the_first_row_of_each_bucket_however_the_rows_come(
    rate_hz, k0, sizes
):
    # Every grid row once, in steps of any size: what goes live is each 1/rate_hz bucket's
    # first row, once (the vectorised rule this replaced, applied to the whole run).
    t = (k0 + np.arange(sum(sizes))) / 100.0
    table = np.random.default_rng(k0).normal(size=(6, len(t)))
    block = AngleBlock(t, dict(zip(ANGLE_COLUMNS, table, strict=True)))
    rows = angle_rows(block)
    assert np.array_equal(rows, np.column_stack([t, *table]))
    decimator, got, start = AngleDecimator(rate_hz), [], 0
    for n in sizes:
        live = decimator.take(rows[start : start + n])
        assert live is None or len(live)
        got += [] if live is None else live.tolist()
        start += n
    bucket = np.floor(t * rate_hz).astype(np.int64)
    first = np.ones(len(t), dtype=bool)
    first[1:] = bucket[1:] != bucket[:-1]
    assert got == rows[first].tolist()


async def test_steps_are_spaced_while_resting_and_change_nothing_but_when(default_session):
    # While no rep is under way (the athlete stands: most of a session) a live session
    # steps at most every RESTING_STEP_S, not on every notification; in a rep, at once.
    # The chunking changes, the results do not: the same reps, bottoms, cues and angles
    # as one processor fed the same samples sample batch by sample batch.
    from processing import BottomReached, Cue, RepMetrics, SessionProcessor
    from service._engine import RESTING_STEP_S, SessionEngine

    class Sink:
        def __init__(self) -> None:
            self.batches: list[tuple[Placement, object]] = []
            self.events: list = []
            self.steps: list[tuple[float, bool]] = []  # (step start, in a rep after it)

        def on_batch(self, placement, samples):
            self.batches.append((placement, samples))

        def on_sensor(self, event):
            pass

        def on_waiting(self, missing):
            pass

        def on_processing(self, placements):
            pass

        def on_events(self, events, stamps, core):
            self.events += events

        def on_step(self, ns):
            proc = engine.processor
            if proc.calibrated:
                self.steps.append((engine._last_step, proc.in_rep))

    sink = Sink()
    source = SimulatedSource(session=default_session, speed=5.0, duration_s=30.0)
    engine = SessionEngine(source, sink, paced=True)
    await engine.run()

    # (The last step is the one that processes what is left when the source ends.)
    steps = sink.steps[:-1]
    gaps = [(b[0] - a[0], a[1]) for a, b in zip(steps, steps[1:], strict=False)]
    resting = [g for g, in_rep in gaps if not in_rep]
    in_rep = [g for g, in_rep in gaps if in_rep]
    assert len(resting) > 20 and len(in_rep) > 20  # both happened
    assert min(resting) >= RESTING_STEP_S - 1e-3
    assert np.median(in_rep) < RESTING_STEP_S / 2  # 4 sensors' notifications at 5x

    ref = SessionProcessor(engine.processor.placements)
    expected = []
    for placement, samples in sink.batches:
        expected += ref.feed(placement, samples)
    expected += ref.finish()

    def outcome(events):
        kinds = (RepMetrics, BottomReached, Cue)
        angles = [e for e in events if isinstance(e, AngleBlock)]
        table = np.column_stack(
            [np.concatenate([a.time_s for a in angles])]
            + [np.concatenate([a.angles_deg[c] for a in angles]) for c in ANGLE_COLUMNS]
        )
        return [e for e in events if isinstance(e, kinds)], table

    got_events, got_angles = outcome(sink.events)
    want_events, want_angles = outcome(expected)
    assert any(isinstance(e, RepMetrics) for e in want_events)
    assert got_events == want_events
    np.testing.assert_array_equal(got_angles, want_angles)
