"""The SQLite store: versioned migrations, WAL, round trips, the writer thread."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

import numpy as np
import pytest

from processing import ANGLE_COLUMNS, ImuSamples, Placement
from service import MIGRATIONS, Migration, Store, StoreError, migrate


def _version(path) -> int:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA user_version").fetchone()[0]


def _tables(path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_a_new_database_is_migrated_to_the_latest_version_in_wal_mode(tmp_path):
    db = tmp_path / "sub" / "s.sqlite3"
    Store.open(db).close()
    assert _version(db) == len(MIGRATIONS)
    assert {"athletes", "sessions", "samples", "angles", "reps", "cues", "summaries"} <= _tables(db)
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    Store.open(db).close()  # reopening is a no-op
    assert _version(db) == len(MIGRATIONS)


STEPS = (
    Migration(1, "t", ("CREATE TABLE t (a INTEGER)",)),
    Migration(2, "t.b", ("ALTER TABLE t ADD COLUMN b TEXT",)),
    Migration(3, "u", ("CREATE TABLE u (x INTEGER)", "INSERT INTO u VALUES (7)")),
)


def test_migrations_run_in_order_from_any_version_and_only_once(tmp_path):
    db = tmp_path / "m.sqlite3"
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        assert migrate(conn, STEPS[:1]) == 1
        conn.execute("INSERT INTO t VALUES (1)")
        assert migrate(conn, STEPS) == 3  # from version 1: steps 2 and 3 only
        assert migrate(conn, STEPS) == 3  # again: nothing to do
        assert conn.execute("SELECT a, b FROM t").fetchall() == [(1, None)]
        assert conn.execute("SELECT x FROM u").fetchall() == [(7,)]
    assert _version(db) == 3


def test_a_failing_migration_leaves_the_previous_version_intact(tmp_path):
    db = tmp_path / "m.sqlite3"
    bad = (*STEPS[:2], Migration(3, "broken", ("CREATE TABLE v (x)", "NOT SQL AT ALL")))
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        with pytest.raises(StoreError, match="migration 3 .broken. failed"):
            migrate(conn, bad, path=str(db))
        assert migrate(conn, STEPS[:2]) == 2
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert _version(db) == 2
    assert "v" not in tables  # step 3 was rolled back as a whole


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    db = tmp_path / "new.sqlite3"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    with pytest.raises(StoreError, match="newer than this squatsense"):
        Store.open(db)


def test_migration_numbers_must_be_consecutive():
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as conn:
        with pytest.raises(ValueError, match="expected 2"):
            migrate(conn, (STEPS[0], STEPS[2]))


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    db = tmp_path / "junk.sqlite3"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        Store.open(db)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "s.sqlite3")
    yield s
    s.close()


def _samples(t0: float, n: int, seed: int) -> ImuSamples:
    rng = np.random.default_rng(seed)
    return ImuSamples(t0 + np.arange(n) * 0.01, rng.normal(size=(n, 3)), rng.normal(size=(n, 3)))


async def test_everything_stored_reads_back_exactly(store):
    athlete_id = await store.create_session("s1", "Ada", "simulated", {}, "running")
    assert await store.create_session("s2", "Ada", "replay", {"kind": "replay"}, "running") == (
        athlete_id
    )
    a, b = _samples(0.0, 50, 1), _samples(0.5, 30, 2)
    store.add_samples("s1", Placement.SACRUM, a)
    store.add_samples("s1", Placement.SACRUM, b)
    store.add_samples("s1", Placement.SHIN_LEFT, _samples(0.0, 10, 3))
    angles = np.column_stack([np.arange(5) * 0.01, np.full((5, 6), np.nan)])
    angles[:, 1] = [1, 2, 3, 4, 5]
    store.add_angles("s1", angles)
    rep = {"type": "rep", "set": 1, "rep": 1, "t_end_s": 3.0, "cues": ["butt_wink"], "x": None}
    store.add_rep("s1", rep)
    store.add_cue("s1", {"type": "cue", "set": 1, "rep": 1, "code": "butt_wink", "t_s": 2.5})
    await store.finish_session(
        "s1", state="finished", reason="done", summary={"reps": 1}, duration_s=1.0
    )

    raw = store.samples("s1")
    assert set(raw) == {Placement.SACRUM, Placement.SHIN_LEFT}
    np.testing.assert_array_equal(raw[Placement.SACRUM].time_s, np.r_[a.time_s, b.time_s])
    np.testing.assert_array_equal(raw[Placement.SACRUM].gyr_rps, np.r_[a.gyr_rps, b.gyr_rps])
    t, ang = store.angles("s1")
    np.testing.assert_array_equal(t, angles[:, 0])
    np.testing.assert_array_equal(ang["pelvic_tilt_deg"], [1, 2, 3, 4, 5])
    assert set(ang) == set(ANGLE_COLUMNS) and np.isnan(ang["knee_in_left_deg"]).all()
    assert store.reps("s1") == [rep]
    assert store.cues("s1")[0]["code"] == "butt_wink"
    row = store.get_session("s1")
    assert (row.state, row.reason, row.rep_count, row.cue_count, row.last_set) == (
        "finished",
        "done",
        1,
        1,
        1,
    )
    assert row.ended_at is not None and row.athlete == "Ada"
    assert store.summary("s1").data == {"reps": 1}
    assert [s.id for s in store.list_sessions("Ada")] == ["s2", "s1"]
    assert store.list_sessions("Bob") == []
    assert store.unfinished_sessions() == ["s2"]
    assert [(s.id, r["rep"]) for s, r in store.athlete_reps(athlete_id)] == [("s1", 1)]


async def test_deleting_a_session_deletes_all_its_data(store):
    await store.create_session("s1", "Ada", "simulated", {}, "running")
    store.add_samples("s1", Placement.SACRUM, _samples(0, 10, 0))
    store.add_rep("s1", {"set": 1, "rep": 1})
    assert await store.delete_session("s1") is True
    assert await store.delete_session("s1") is False
    assert store.get_session("s1") is None and store.samples("s1") == {}
    with closing(sqlite3.connect(store.path)) as conn:
        for table in ("samples", "reps", "cues", "angles", "summaries"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0


async def test_a_failing_write_does_not_undo_the_others(store):
    await store.create_session("s1", "Ada", "simulated", {}, "running")

    def boom(conn):
        conn.execute(
            "INSERT INTO reps (session_id, set_no, rep_no, data) VALUES (?, 9, 9, ?)", ("s1", "{}")
        )
        raise RuntimeError("boom")

    store.add_rep("s1", {"set": 1, "rep": 1})
    store.post(boom)
    store.add_rep("s1", {"set": 1, "rep": 2})
    await store.barrier()
    assert [r["rep"] for r in store.reps("s1")] == [1, 2]  # boom's own insert rolled back
    assert store.write_errors == 1
    with pytest.raises(RuntimeError, match="boom"):
        await store.call(boom)


async def test_posted_writes_are_committed_within_a_fraction_of_a_second(store):
    await store.create_session("s1", "Ada", "simulated", {}, "running")
    store.add_samples("s1", Placement.SACRUM, _samples(0, 10, 0))
    # Nobody awaits: the writer commits on its own (the crash-safety guarantee).
    deadline = time.monotonic() + 1.0
    while not store.samples("s1") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(store.samples("s1")[Placement.SACRUM]) == 10
