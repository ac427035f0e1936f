"""Tests of the recording CSV reader and writer (ingest._recording)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest
from ingest import (
    DEFAULT_CHUNK_ROWS,
    MissingSensorError,
    RecordingError,
    RecordingErrorReason,
    RecordingFormatError,
    RecordingValueError,
    iter_recording,
    read_recording,
    write_recording,
)
from processing import PLACEMENTS, RECORDING_COLUMNS, ImuSamples, Placement

HEADER = ",".join(RECORDING_COLUMNS)
R = RecordingErrorReason


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def good_rows(
    n: int = 3, sensors: tuple[str, ...] = ("sacrum", "shin_left", "shin_right")
) -> list[str]:
    return [f"{i * 0.01:.6f},{s},0,0,9.81,0,0,0" for i in range(n) for s in sensors]


def concat(chunks: list[tuple[Placement, ImuSamples]]) -> dict[Placement, ImuSamples]:
    out: dict[Placement, ImuSamples] = {}
    for p in PLACEMENTS:
        parts = [s for q, s in chunks if q == p]
        if parts:
            out[p] = ImuSamples(
                np.concatenate([s.time_s for s in parts]),
                np.concatenate([s.acc_mps2 for s in parts]),
                np.concatenate([s.gyr_rps for s in parts]),
            )
    return out


def assert_same(a: dict[Placement, ImuSamples], b: dict[Placement, ImuSamples]) -> None:
    assert list(a) == list(b)
    for p in a:
        np.testing.assert_array_equal(a[p].time_s, b[p].time_s)
        np.testing.assert_array_equal(a[p].acc_mps2, b[p].acc_mps2)
        np.testing.assert_array_equal(a[p].gyr_rps, b[p].gyr_rps)


# ----------------------------------------------------------------------------- exports


def test_recording_names_are_exported() -> None:
    # The whole of ingest.__all__ is checked in test_package_layout; here, that the
    # recording CSV's public names are among it.
    assert ingest.__all__ == sorted(ingest.__all__)
    assert set(ingest.__all__) >= {
        "DEFAULT_CHUNK_ROWS",
        "MissingSensorError",
        "PathOrBuffer",
        "RecordingError",
        "RecordingErrorReason",
        "RecordingFormatError",
        "RecordingValueError",
        "iter_recording",
        "read_recording",
        "write_recording",
    }
    for name in ingest.__all__:
        assert hasattr(ingest, name)


def test_error_tree() -> None:
    assert issubclass(RecordingError, ValueError)
    for cls in (RecordingFormatError, RecordingValueError, MissingSensorError):
        assert issubclass(cls, RecordingError)


# ----------------------------------------------------------------------------- round trip

MAX_ABS = 2000.0
values = st.floats(-MAX_ABS, MAX_ABS, allow_nan=False, allow_subnormal=False)


@st.composite
def recordings(draw: st.DrawFn) -> dict[Placement, ImuSamples]:
    """Random sensors, each with its own start, rate, jitter and lost samples."""
    chosen = draw(st.lists(st.sampled_from(PLACEMENTS), min_size=1, max_size=4, unique=True))
    out = {}
    for p in chosen:
        n = draw(st.integers(1, 40))
        start_us = draw(st.integers(-1_000_000, 5_000_000))
        steps_us = draw(st.lists(st.integers(1, 30_000), min_size=n - 1, max_size=n - 1))
        time_us = start_us + np.concatenate([[0], np.cumsum(steps_us, dtype=np.int64)])
        flat = draw(st.lists(values, min_size=6 * n, max_size=6 * n))
        arr = np.array(flat, dtype=np.float64).reshape(n, 6)
        out[p] = ImuSamples(time_us / 1e6, arr[:, :3].copy(), np.deg2rad(arr[:, 3:]))
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=recordings())
def test_round_trip(data: dict[Placement, ImuSamples]) -> None:
    first = io.StringIO()
    write_recording(first, data)
    back = read_recording(io.StringIO(first.getvalue()), required=())

    assert list(back) == [p for p in PLACEMENTS if p in data]
    for p, samples in back.items():
        np.testing.assert_allclose(samples.time_s, data[p].time_s, rtol=0, atol=1e-9)
        # 7 significant digits: relative error at most 5e-7 (plus deg/rad conversion).
        np.testing.assert_allclose(samples.acc_mps2, data[p].acc_mps2, rtol=6e-7, atol=0)
        np.testing.assert_allclose(samples.gyr_rps, data[p].gyr_rps, rtol=6e-7, atol=0)

    # Lossless to the written precision: writing what was read gives the same bytes.
    second = io.StringIO()
    write_recording(second, back)
    assert second.getvalue() == first.getvalue()


@settings(max_examples=60, deadline=None)
@given(data=recordings(), chunk_rows=st.integers(1, 50))
def test_iter_matches_read(data: dict[Placement, ImuSamples], chunk_rows: int) -> None:
    buf = io.StringIO()
    write_recording(buf, data)
    text = buf.getvalue()
    chunks = list(iter_recording(io.StringIO(text), chunk_rows=chunk_rows, required=()))
    assert all(len(samples) >= 1 for _, samples in chunks)
    assert all(len(samples) <= chunk_rows for _, samples in chunks)
    assert_same(concat(chunks), read_recording(io.StringIO(text), required=()))


def test_written_rows_are_merged_by_time_then_sensor_order() -> None:
    one = ImuSamples(np.array([0.0, 0.02]), np.zeros((2, 3)), np.zeros((2, 3)))
    two = ImuSamples(np.array([0.0, 0.01]), np.ones((2, 3)), np.ones((2, 3)))
    buf = io.StringIO()
    # Mapping order must not matter; str keys are accepted.
    write_recording(buf, {"shin_right": one, Placement.LUMBAR: two, "sacrum": one})
    lines = buf.getvalue().splitlines()
    assert lines[0] == HEADER
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["0.000000", "sacrum"],
        ["0.000000", "lumbar"],
        ["0.000000", "shin_right"],
        ["0.010000", "lumbar"],
        ["0.020000", "sacrum"],
        ["0.020000", "shin_right"],
    ]


def test_writer_formats_gyro_in_deg_per_s_and_time_to_microseconds() -> None:
    samples = ImuSamples(
        np.array([1.2345674]), np.array([[9.80665, -0.1234567891, 0.0]]), np.array([[np.pi, 0, 0]])
    )
    buf = io.StringIO()
    write_recording(buf, {Placement.SACRUM: samples})
    assert buf.getvalue().splitlines()[1] == "1.234567,sacrum,9.80665,-0.1234568,0,180,0,0"


def test_reader_converts_gyro_to_rad_per_s() -> None:
    data = read_recording(
        io.StringIO(csv_text("0,sacrum,0,0,9.81,180,-90,0")), required=[Placement.SACRUM]
    )
    np.testing.assert_allclose(data[Placement.SACRUM].gyr_rps, [[np.pi, -np.pi / 2, 0.0]])
    np.testing.assert_array_equal(data[Placement.SACRUM].acc_mps2, [[0.0, 0.0, 9.81]])


def test_arrays_are_float64_c_contiguous() -> None:
    data = read_recording(io.StringIO(csv_text(*good_rows(5))))
    for samples in data.values():
        for array in (samples.time_s, samples.acc_mps2, samples.gyr_rps):
            assert array.dtype == np.float64
            assert array.flags.c_contiguous
        assert samples.acc_mps2.shape == samples.gyr_rps.shape == (5, 3)


def test_empty_mapping_writes_only_the_header() -> None:
    buf = io.StringIO()
    write_recording(buf, {})
    assert buf.getvalue() == HEADER + "\n"
    assert read_recording(io.StringIO(buf.getvalue()), required=()) == {}


def test_large_recording_round_trip() -> None:
    # Not timed: it guards the vectorised path on a file of realistic shape.
    rng = np.random.default_rng(7)
    n = 25_000
    data = {
        p: ImuSamples(
            np.arange(n) / 100.0 + 0.0013 * i, rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
        )
        for i, p in enumerate(PLACEMENTS)
    }
    buf = io.StringIO()
    write_recording(buf, data)
    back = read_recording(io.StringIO(buf.getvalue()))
    assert {p: len(s) for p, s in back.items()} == dict.fromkeys(PLACEMENTS, n)
    chunks = list(iter_recording(io.StringIO(buf.getvalue()), chunk_rows=DEFAULT_CHUNK_ROWS))
    assert_same(concat(chunks), back)


# ----------------------------------------------------------------------------- sources


def test_read_from_path_str_pathlike_and_open_files(tmp_path: Path) -> None:
    text = csv_text(*good_rows())
    path = tmp_path / "rec.csv"
    path.write_text(text, encoding="utf-8")
    expected = read_recording(io.StringIO(text))
    assert_same(read_recording(path), expected)
    assert_same(read_recording(str(path)), expected)
    with open(path, encoding="utf-8") as fh:
        assert_same(read_recording(fh), expected)
    with open(path, "rb") as fh:
        assert_same(read_recording(fh), expected)
    assert_same(read_recording(io.BytesIO(text.encode())), expected)
    assert_same(concat(list(iter_recording(path, chunk_rows=2))), expected)


def test_write_to_path_and_binary_buffer(tmp_path: Path) -> None:
    data = read_recording(io.StringIO(csv_text(*good_rows())))
    text = io.StringIO()
    write_recording(text, data)
    write_recording(tmp_path / "a.csv", data)
    assert (tmp_path / "a.csv").read_bytes() == text.getvalue().encode()
    raw = io.BytesIO()
    write_recording(raw, data)
    assert not raw.closed
    assert raw.getvalue() == text.getvalue().encode()


def test_read_from_buffer_at_its_current_position() -> None:
    buf = io.StringIO("preamble\n" + csv_text(*good_rows(), "1,sacrum,x,0,0,0,0,0"))
    buf.readline()
    with pytest.raises(RecordingValueError) as info:
        read_recording(buf)
    # Line numbers count from where reading started.
    assert info.value.line == 11


class _Pipe(io.RawIOBase):
    """A readable, non-seekable byte stream, like stdin or a socket."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        chunk = self._inner.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


def test_read_from_non_seekable_stream() -> None:
    text = csv_text(*good_rows())
    assert_same(read_recording(_Pipe(text.encode())), read_recording(io.StringIO(text)))
    with pytest.raises(RecordingValueError) as info:
        read_recording(_Pipe(csv_text(*good_rows(), "0.5,sacrum,0,0,1e999,0,0,0").encode()))
    assert (info.value.line, info.value.column) == (11, "acc_z")


# ----------------------------------------------------------------------------- lenient parts


def test_any_column_order_and_extra_columns() -> None:
    header = "note,gyr_z,gyr_y,gyr_x,acc_z,acc_y,acc_x,sensor,time_s,note"
    rows = [
        f"a,3,2,1,9.81,0.5,0.25,{s},{t},b"
        for t in (0.0, 0.01)
        for s in ("sacrum", "shin_left", "shin_right")
    ]
    data = read_recording(io.StringIO(csv_text(*rows, header=header)))
    np.testing.assert_array_equal(data[Placement.SACRUM].time_s, [0.0, 0.01])
    np.testing.assert_array_equal(data[Placement.SACRUM].acc_mps2[0], [0.25, 0.5, 9.81])
    np.testing.assert_allclose(data[Placement.SACRUM].gyr_rps[0], np.deg2rad([1, 2, 3]))


def test_bom_crlf_spaces_and_blank_lines() -> None:
    text = "\ufeff\n" + HEADER + "\r\n" + "\r\n\r\n   \r\n".join(good_rows()) + "\r\n\r\n"
    data = read_recording(io.BytesIO(text.encode("utf-8")))
    assert_same(data, read_recording(io.StringIO(csv_text(*good_rows()))))
    spaced = read_recording(io.StringIO(csv_text(*good_rows(1, ("sacrum",)))), required=())
    padded = read_recording(io.StringIO(csv_text(" 0.0 ,sacrum, 0 ,0\t,9.81,0,0,0")), required=())
    assert_same(padded, spaced)


def test_unsorted_rows_are_sorted_per_sensor() -> None:
    rows = ["0.2,sacrum,2,0,0,0,0,0", "0.1,lumbar,9,0,0,0,0,0", "0.0,sacrum,0,0,0,0,0,0"]
    rows += ["0.1,sacrum,1,0,0,0,0,0"]
    data = read_recording(io.StringIO(csv_text(*rows)), required=())
    np.testing.assert_array_equal(data[Placement.SACRUM].time_s, [0.0, 0.1, 0.2])
    np.testing.assert_array_equal(data[Placement.SACRUM].acc_mps2[:, 0], [0.0, 1.0, 2.0])
    assert list(data) == [Placement.SACRUM, Placement.LUMBAR]


def test_duplicate_times_keep_the_first_row_and_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rows = [
        "0.1,sacrum,1,0,0,0,0,0",
        "0.0,sacrum,0,0,0,0,0,0",
        "0.1,sacrum,2,0,0,0,0,0",
        "0.1,sacrum,3,0,0,0,0,0",
        "0.1,lumbar,4,0,0,0,0,0",
    ]
    with caplog.at_level(logging.INFO, logger="ingest._recording"):
        data = read_recording(io.StringIO(csv_text(*rows)), required=())
    np.testing.assert_array_equal(data[Placement.SACRUM].time_s, [0.0, 0.1])
    np.testing.assert_array_equal(data[Placement.SACRUM].acc_mps2[:, 0], [0.0, 1.0])
    assert len(data[Placement.LUMBAR]) == 1
    assert "dropped 2 sacrum row(s)" in caplog.text


def test_iter_drops_rows_not_after_earlier_chunks(caplog: pytest.LogCaptureFixture) -> None:
    rows = ["0.0,sacrum,0,0,0,0,0,0", "0.2,sacrum,2,0,0,0,0,0", "0.1,sacrum,1,0,0,0,0,0"]
    rows += ["0.2,sacrum,3,0,0,0,0,0", "0.3,sacrum,4,0,0,0,0,0"]
    with caplog.at_level(logging.INFO, logger="ingest._recording"):
        chunks = list(iter_recording(io.StringIO(csv_text(*rows)), chunk_rows=2, required=()))
    merged = concat(chunks)[Placement.SACRUM]
    np.testing.assert_array_equal(merged.time_s, [0.0, 0.2, 0.3])
    np.testing.assert_array_equal(merged.acc_mps2[:, 0], [0.0, 2.0, 4.0])
    assert "dropped 2 sacrum row(s)" in caplog.text


def test_iter_yields_in_file_order_then_placement_order() -> None:
    rows = ["0.0,shin_right,0,0,0,0,0,0", "0.0,sacrum,0,0,0,0,0,0", "0.01,shin_left,0,0,0,0,0,0"]
    rows += ["0.02,shin_left,0,0,0,0,0,0"]
    chunks = list(iter_recording(io.StringIO(csv_text(*rows)), chunk_rows=2))
    assert [(p, len(s)) for p, s in chunks] == [
        (Placement.SACRUM, 1),
        (Placement.SHIN_RIGHT, 1),
        (Placement.SHIN_LEFT, 2),
    ]


# ----------------------------------------------------------------------------- errors

LINE2_PREFIX = [HEADER]


def with_row(bad: str, *, at_line: int = 5) -> str:
    rows = good_rows()[: at_line - 2] + [bad] + good_rows()[at_line - 2 :]
    return csv_text(*rows)


ERROR_CASES = [
    # (id, content, type, reason, line, column, text in message)
    ("empty", "", RecordingFormatError, R.EMPTY, None, None, "got an empty file"),
    ("blank", "\n  \n\n", RecordingFormatError, R.EMPTY, None, None, "got an empty file"),
    (
        "binary",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        RecordingFormatError,
        R.NOT_CSV,
        1,
        None,
        "expected UTF-8 text",
    ),
    (
        "bad utf8 in body",
        csv_text(*good_rows()).encode().replace(b"0.010000,sacrum", b"0.010000,sa\xffrum"),
        RecordingFormatError,
        R.NOT_CSV,
        5,
        None,
        "undecodable bytes b'\\xffrum",
    ),
    (
        "nul",
        with_row("0\x00,sacrum,0,0,0,0,0,0", at_line=3),
        RecordingFormatError,
        R.NOT_CSV,
        3,
        None,
        "NUL byte",
    ),
    (
        "missing column",
        csv_text(*good_rows(), header=HEADER.replace("acc_y,", "")),
        RecordingFormatError,
        R.MISSING_COLUMNS,
        1,
        None,
        "got a header without acc_y",
    ),
    (
        "not a recording",
        "time_s;sensor;acc_x\n1;2;3\n",
        RecordingFormatError,
        R.MISSING_COLUMNS,
        1,
        None,
        "got 'time_s;sensor;acc_x'",
    ),
    (
        "duplicate column",
        csv_text(header=HEADER + ",gyr_x"),
        RecordingFormatError,
        R.DUPLICATE_COLUMNS,
        1,
        "gyr_x",
        "got it 2 times",
    ),
    (
        "too many fields",
        with_row("0.5,sacrum,0,0,0,0,0,0,7"),
        RecordingFormatError,
        R.FIELD_COUNT,
        5,
        None,
        "expected 8 fields as in the header, got 9",
    ),
    (
        "too few fields",
        with_row("0.5,sacrum,0,0,0,0,0"),
        RecordingFormatError,
        R.FIELD_COUNT,
        5,
        None,
        "got 7",
    ),
    (
        "unknown sensor",
        with_row("0.5,shin_lft,0,0,0,0,0,0", at_line=9),
        RecordingValueError,
        R.UNKNOWN_SENSOR,
        9,
        "sensor",
        "got 'shin_lft'",
    ),
    (
        "padded sensor",
        with_row("0.5, sacrum,0,0,0,0,0,0"),
        RecordingValueError,
        R.UNKNOWN_SENSOR,
        5,
        "sensor",
        "got ' sacrum'",
    ),
    (
        "empty sensor",
        with_row("0.5,,0,0,0,0,0,0"),
        RecordingValueError,
        R.MISSING_VALUE,
        5,
        "sensor",
        "expected a sensor name, got an empty field",
    ),
    (
        "empty value",
        with_row("0.5,sacrum,,0,0,0,0,0"),
        RecordingValueError,
        R.MISSING_VALUE,
        5,
        "acc_x",
        "expected a number, got an empty field",
    ),
    (
        "text value",
        with_row("0.5,sacrum,0,abc,0,0,0,0"),
        RecordingValueError,
        R.NOT_A_NUMBER,
        5,
        "acc_y",
        "expected a number, got 'abc'",
    ),
    (
        "NA value",
        with_row("0.5,sacrum,0,0,0,0,NA,0"),
        RecordingValueError,
        R.NOT_A_NUMBER,
        5,
        "gyr_y",
        "got 'NA'",
    ),
    (
        "two dots",
        with_row("0.5,sacrum,0,0,0,1.2.3,0,0"),
        RecordingValueError,
        R.NOT_A_NUMBER,
        5,
        "gyr_x",
        "got '1.2.3'",
    ),
    (
        "nan time",
        with_row("nan,sacrum,0,0,0,0,0,0"),
        RecordingValueError,
        R.NOT_FINITE,
        5,
        "time_s",
        "expected a finite number, got 'nan'",
    ),
    (
        "inf time",
        with_row("-inf,sacrum,0,0,0,0,0,0"),
        RecordingValueError,
        R.NOT_FINITE,
        5,
        "time_s",
        "got '-inf'",
    ),
    (
        "inf gyro",
        with_row("0.5,sacrum,0,0,0,0,0,Infinity"),
        RecordingValueError,
        R.NOT_FINITE,
        5,
        "gyr_z",
        "got 'Infinity'",
    ),
    (
        "overflow",
        with_row("0.5,sacrum,0,0,1e999,0,0,0"),
        RecordingValueError,
        R.NOT_FINITE,
        5,
        "acc_z",
        "got '1e999'",
    ),
    (
        "first error wins",
        # A sensor error before a parse error that pandas would hit first.
        csv_text(*good_rows(1), "0.1,hip,0,0,0,0,0,0", "0.2,sacrum,x,0,0,0,0,0"),
        RecordingValueError,
        R.UNKNOWN_SENSOR,
        5,
        "sensor",
        "got 'hip'",
    ),
    (
        "line numbers count blank lines",
        "\n" + HEADER + "\n\n" + "\n".join(good_rows(1)) + "\n\n0.5,sacrum,0,0,0,0,0,?\n",
        RecordingValueError,
        R.NOT_A_NUMBER,
        8,
        "gyr_z",
        "got '?'",
    ),
    (
        "missing sensor",
        csv_text(*good_rows(2, ("sacrum", "lumbar", "shin_left"))),
        MissingSensorError,
        R.MISSING_SENSOR,
        None,
        None,
        "expected rows for required sensor(s) shin_right, got rows only for sacrum, lumbar, "
        "shin_left",
    ),
    (
        "header only",
        csv_text(),
        MissingSensorError,
        R.MISSING_SENSOR,
        None,
        None,
        "got rows only for no sensor",
    ),
]


def _source(content: str | bytes) -> io.StringIO | io.BytesIO:
    return io.BytesIO(content) if isinstance(content, bytes) else io.StringIO(content)


@pytest.mark.parametrize(
    ("content", "error_type", "reason", "line", "column", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES],
)
@pytest.mark.parametrize("reader", ["read", "iter"])
def test_bad_input_raises_a_located_error(
    content: str | bytes,
    error_type: type[RecordingError],
    reason: RecordingErrorReason,
    line: int | None,
    column: str | None,
    message: str,
    reader: str,
) -> None:
    with pytest.raises(error_type) as info:
        if reader == "read":
            read_recording(_source(content))
        else:
            list(iter_recording(_source(content), chunk_rows=2))
    error = info.value
    assert (error.reason, error.line, error.column) == (reason, line, column)
    assert error.path is None
    text = str(error)
    assert "\n" not in text
    assert message in text
    where = (
        "<buffer>" + (f" line {line}" if line else "") + (f", column {column}" if column else "")
    )
    assert text.startswith(where + ": ")


def test_message_names_file_line_and_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = good_rows(5)[:15] + ["0.5,sacrum,0,abc,0,0,0,0"]
    Path("rec.csv").write_text(csv_text(*rows), encoding="utf-8")
    with pytest.raises(RecordingValueError) as info:
        read_recording("rec.csv")
    assert str(info.value) == "rec.csv line 17, column acc_y: expected a number, got 'abc'"
    assert info.value.path == "rec.csv"
    assert info.value.text == "abc"


def test_error_fields_are_typed() -> None:
    with pytest.raises(RecordingFormatError) as fmt:
        read_recording(
            io.StringIO(csv_text(header=HEADER.replace("gyr_z", "gz").replace("acc_x", "ax")))
        )
    assert fmt.value.missing_columns == ("acc_x", "gyr_z")
    with pytest.raises(MissingSensorError) as missing:
        read_recording(io.StringIO(csv_text(*good_rows(1, ("lumbar", "shin_left")))))
    assert missing.value.missing == (Placement.SACRUM, Placement.SHIN_RIGHT)
    assert missing.value.present == (Placement.LUMBAR, Placement.SHIN_LEFT)
    with pytest.raises(RecordingValueError) as value:
        read_recording(io.StringIO(with_row("0.5,sacrum,0,0,0,0,0, 1e400 ")))
    assert value.value.text == " 1e400 "
    assert value.value.reason is R.NOT_FINITE


def test_long_garbage_is_shortened_in_the_message() -> None:
    with pytest.raises(RecordingValueError) as info:
        read_recording(io.StringIO(with_row("0.5,sacrum,0,0,0,0,0," + "x" * 500)))
    assert len(str(info.value)) < 150
    assert info.value.text == "x" * 500


def test_required_is_configurable() -> None:
    text = csv_text(*good_rows(2, ("lumbar",)))
    assert list(read_recording(io.StringIO(text), required=())) == [Placement.LUMBAR]
    assert list(read_recording(io.StringIO(text), required=["lumbar"])) == [Placement.LUMBAR]
    with pytest.raises(MissingSensorError):
        read_recording(io.StringIO(text), required=[Placement.SACRUM])


# Fields built from the characters of numbers: whatever the fast parser makes of them,
# the reader either accepts the row or names this exact field (never an unlocated error).
@settings(max_examples=300, deadline=None)
@given(field=st.text(alphabet="0123456789.eE+-naifINFAty \t", min_size=1, max_size=8))
def test_every_rejected_number_is_located(field: str) -> None:
    text = csv_text(*good_rows(2), f"0.5,sacrum,{field},0,0,0,0,0")
    try:
        data = read_recording(io.StringIO(text))
    except RecordingValueError as exc:
        assert (exc.line, exc.column, exc.text) == (8, "acc_x", field)
    else:
        assert np.isfinite(data[Placement.SACRUM].acc_mps2).all()


# ----------------------------------------------------------------------------- API misuse


def test_reader_argument_errors() -> None:
    with pytest.raises(TypeError, match="expected a path or a readable file object, got int"):
        read_recording(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected required placements among .* got 'hip'"):
        read_recording(io.StringIO(csv_text()), required=["hip"])
    with pytest.raises(TypeError, match="got the str"):
        read_recording(io.StringIO(csv_text()), required="sacrum")
    # Checked at call time, before iteration starts.
    with pytest.raises(ValueError, match="expected chunk_rows >= 1, got 0"):
        iter_recording(io.StringIO(csv_text()), chunk_rows=0)
    with pytest.raises(TypeError, match="expected an int for chunk_rows, got float"):
        iter_recording(io.StringIO(csv_text()), chunk_rows=2.5)  # type: ignore[arg-type]


def _samples(time_s: list[float], fill: float = 0.0) -> ImuSamples:
    n = len(time_s)
    return ImuSamples(np.array(time_s), np.full((n, 3), fill), np.zeros((n, 3)))


@pytest.mark.parametrize(
    ("data", "error_type", "match"),
    [
        ({"hip": _samples([0.0])}, ValueError, "expected sensor names among .* got 'hip'"),
        ({"sacrum": np.zeros((2, 7))}, TypeError, "expected ImuSamples for sensor sacrum"),
        ({"sacrum": _samples([0.0], np.nan)}, ValueError, "expected finite values in sacrum.acc"),
        ({"sacrum": _samples([0.0, np.inf])}, ValueError, "finite values in sacrum.time_s"),
        ({"lumbar": _samples([0.0, 0.0])}, ValueError, "lumbar.time_s strictly increasing"),
        ({"lumbar": _samples([1.0, 0.5])}, ValueError, "got 1.0 then 0.5 at samples 0, 1"),
        ({"lumbar": _samples([0.0, 1e-7])}, ValueError, "by at least 1 µs"),
        ([("sacrum", _samples([0.0]))], TypeError, "expected a mapping"),
    ],
)
def test_writer_rejects_what_would_not_round_trip(
    data: object, error_type: type[Exception], match: str
) -> None:
    with pytest.raises(error_type, match=match):
        write_recording(io.StringIO(), data)  # type: ignore[arg-type]


def test_rows_may_leave_out_trailing_extra_columns() -> None:
    header = HEADER + ",battery_pct,note"
    rows = [row + ",97,ok" for row in good_rows(1)] + ["0.5,sacrum,0,0,9.81,0,0,0"]
    data = read_recording(io.StringIO(csv_text(*rows, header=header)))
    np.testing.assert_array_equal(data[Placement.SACRUM].time_s, [0.0, 0.5])
