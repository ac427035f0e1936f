"""Golden vectors: the committed vectors.json is the oracle for the Python and C codecs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import firmware_protocol as fp

PKG = Path(fp.__file__).parent
VECTORS = json.loads((PKG / "vectors" / "vectors.json").read_text())


def info_from(fields: dict) -> fp.SensorInfo:
    return fp.SensorInfo(
        chip=fields["chip"],
        acc_range_g=fields["acc_range_g"],
        gyr_range_dps=fields["gyr_range_dps"],
        acc_scale_ng_per_lsb=fields["acc_scale_ng_per_lsb"],
        gyr_scale_ndps_per_lsb=fields["gyr_scale_ndps_per_lsb"],
        period_us=fields["period_us"],
        placement=fields["placement"],
        firmware_version=tuple(fields["firmware_version"]),
    )


def ids(section: str) -> list[str]:
    return [v["name"] for v in VECTORS[section]]


def test_vector_file_covers_the_required_edge_cases():
    names = set(ids("data_frames"))
    assert {
        "mtu23_single_sample",
        "mtu247_full_batch",
        "counter_wrap_in_frame",
        "time_wrap_in_frame",
        "saturated_int16",
    } <= names
    assert VECTORS["protocol_version"] == fp.PROTOCOL_VERSION
    for section in (
        "info",
        "time_sync",
        "control",
        "records",
        "bad_data_frames",
        "witmotion_notifications",
        "witmotion_commands",
    ):
        assert VECTORS[section], section


# --- Python codec --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vec", VECTORS["max_samples_per_frame"], ids=lambda v: f"mtu{v['att_mtu']}"
)
def test_max_samples_per_frame(vec):
    assert fp.max_samples_per_frame(vec["att_mtu"]) == vec["n"]


@pytest.mark.parametrize("vec", VECTORS["data_frames"], ids=ids("data_frames"))
def test_data_frames_encode(vec):
    info = info_from(vec["info"])
    inp = vec["input"]
    frames = fp.encode_frames(
        inp["acc_counts"],
        inp["gyr_counts"],
        info,
        counter0=inp["counter0"],
        t0_us=inp["t0_us"],
        att_mtu=inp["att_mtu"],
    )
    assert [f.hex() for f in frames] == vec["frames_hex"]
    assert all(len(f) <= min(inp["att_mtu"] - 3, 512) for f in frames)


@pytest.mark.parametrize("vec", VECTORS["data_frames"], ids=ids("data_frames"))
def test_data_frames_decode(vec):
    batch = fp.decode_frames([bytes.fromhex(h) for h in vec["frames_hex"]], info_from(vec["info"]))
    exp = vec["expect"]
    np.testing.assert_array_equal(batch.counter, np.array(exp["counter"], dtype=np.uint16))
    np.testing.assert_array_equal(
        batch.sensor_time_us, np.array(exp["sensor_time_us"], dtype=np.uint32)
    )
    np.testing.assert_allclose(batch.acc_mps2, exp["acc_mps2"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(batch.gyr_rps, exp["gyr_rps"], rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "section, decode",
    [
        (
            "bad_data_frames",
            lambda b: fp.decode_frames([b], info_from(VECTORS["info"][0]["fields"])),
        ),
        ("bad_info", fp.decode_info),
        ("bad_time_sync", fp.decode_time_sync),
        ("bad_control", fp.decode_control),
        ("bad_records", fp.decode_record),
    ],
)
def test_bad_vectors_raise_the_documented_reason_and_offset(section, decode):
    for vec in VECTORS[section]:
        with pytest.raises(fp.FrameDecodeError) as info:
            decode(bytes.fromhex(vec["hex"]))
        err = info.value
        assert (err.reason.value, err.offset) == (vec["reason"], vec["offset"]), (
            section,
            vec["name"],
        )
        assert "\n" not in str(err) and f"at byte {vec['offset']}" in str(err)


@pytest.mark.parametrize("vec", VECTORS["info"], ids=ids("info"))
def test_info(vec):
    info = info_from(vec["fields"])
    assert fp.encode_info(info).hex() == vec["hex"]
    assert fp.decode_info(bytes.fromhex(vec["hex"])) == info


@pytest.mark.parametrize("vec", VECTORS["time_sync"], ids=ids("time_sync"))
def test_time_sync(vec):
    sync = fp.TimeSync(vec["token"], vec["sensor_time_us"])
    assert fp.encode_time_sync(sync).hex() == vec["hex"]
    assert fp.decode_time_sync(bytes.fromhex(vec["hex"])) == sync


@pytest.mark.parametrize("vec", VECTORS["control"], ids=ids("control"))
def test_control(vec):
    cmd = fp.ControlCommand(vec["opcode"], **vec["fields"])
    assert fp.encode_control(cmd).hex() == vec["hex"]
    assert fp.decode_control(bytes.fromhex(vec["hex"])) == cmd


@pytest.mark.parametrize("vec", VECTORS["records"], ids=ids("records"))
def test_records(vec):
    rec = fp.Record(
        vec["kind"], bytes.fromhex(vec["payload_hex"]), vec["channel"], vec["host_time_ns"]
    )
    assert fp.encode_record(rec).hex() == vec["hex"]
    assert fp.decode_record(bytes.fromhex(vec["hex"])) == rec


@pytest.mark.parametrize("vec", VECTORS["streams"], ids=ids("streams"))
@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_stream(vec, chunk):
    data = bytes.fromhex(vec["hex"])
    reader = fp.StreamReader()
    records = []
    for i in range(0, len(data), chunk):
        records += reader.feed(data[i : i + chunk])
    records += reader.finish()
    assert [fp.encode_record(r).hex() for r in records] == vec["records_hex"]
    assert reader.skipped_bytes == vec["skipped_bytes"]
    assert reader.bad_records == vec["bad_records"]


@pytest.mark.parametrize(
    "vec", VECTORS["witmotion_notifications"], ids=ids("witmotion_notifications")
)
def test_witmotion_notifications(vec):
    out = fp.decode_witmotion([bytes.fromhex(h) for h in vec["notifications_hex"]])
    exp = vec["expect"]
    n = len(exp["frame_index"])
    np.testing.assert_allclose(
        out.samples.acc_mps2, np.reshape(exp["acc_mps2"], (n, 3)), rtol=1e-12
    )
    np.testing.assert_allclose(out.samples.gyr_rps, np.reshape(exp["gyr_rps"], (n, 3)), rtol=1e-12)
    np.testing.assert_allclose(
        out.roll_pitch_yaw_rad, np.reshape(exp["roll_pitch_yaw_rad"], (n, 3)), rtol=1e-12
    )
    assert out.samples.frame_index.tolist() == exp["frame_index"]
    assert [(r.start_register, list(r.values), r.frame_index) for r in out.registers] == [
        (r["start_register"], r["values"], r["frame_index"]) for r in exp["registers"]
    ]
    assert out.skipped_bytes == exp["skipped_bytes"]


@pytest.mark.parametrize("vec", VECTORS["witmotion_commands"], ids=ids("witmotion_commands"))
def test_witmotion_commands(vec):
    assert getattr(fp, vec["call"])(*vec["args"]).hex() == vec["hex"]


# --- C reference encoder -------------------------------------------------------------------


def c_input_lines() -> tuple[list[str], list[str]]:
    """Commands for vector_tool and the output expected for each, from the vectors."""
    lines, expected = [], []
    for vec in VECTORS["max_samples_per_frame"]:
        lines.append(f"mtu {vec['att_mtu']}")
        expected.append(str(vec["n"]))
    for vec in VECTORS["data_frames"]:
        inp, info = vec["input"], vec["info"]
        rows = [a + g for a, g in zip(inp["acc_counts"], inp["gyr_counts"], strict=True)]
        k = fp.max_samples_per_frame(inp["att_mtu"])
        for j, hex_ in enumerate(vec["frames_hex"]):
            part = rows[j * k : (j + 1) * k]
            c0 = (inp["counter0"] + j * k) % 2**16
            t0 = (inp["t0_us"] + j * k * info["period_us"]) % 2**32
            values = " ".join(str(v) for row in part for v in row)
            lines.append(f"data {c0} {t0} {len(part)} {values}")
            expected.append(hex_)
    for vec in VECTORS["time_sync"]:
        lines.append(f"timesync {vec['token']} {vec['sensor_time_us']}")
        expected.append(vec["hex"])
    for vec in VECTORS["info"]:
        f = vec["fields"]
        major, minor, patch = f["firmware_version"]
        lines.append(
            f"info {f['chip']} {f['placement']} {f['acc_range_g']} {f['gyr_range_dps']} "
            f"{major} {minor} {patch} {f['period_us']} {f['acc_scale_ng_per_lsb']} "
            f"{f['gyr_scale_ndps_per_lsb']}"
        )
        expected.append(vec["hex"])
    for vec in VECTORS["records"]:
        payload = bytes.fromhex(vec["payload_hex"])
        t = vec["host_time_ns"]
        lines.append(
            f"record {vec['kind']} {vec['channel']} {int(t is not None)} {t or 0} {len(payload)} "
            + " ".join(map(str, payload))
        )
        expected.append(vec["hex"])
    for vec in VECTORS["control"]:
        data = bytes.fromhex(vec["hex"])
        f = vec["fields"]
        lines.append(f"control {len(data)} " + " ".join(map(str, data)))
        fields = [
            f.get(k, 0)
            for k in ("sample_rate_hz", "acc_range_g", "gyr_range_dps", "placement", "token")
        ]
        expected.append(" ".join(map(str, [0, vec["opcode"], *fields])))
    # Firmware answers bad writes with the ATT error its decoder names (PROTOCOL.md).
    status = {"truncated": -1, "trailing_bytes": -1, "unknown_command": -2, "bad_value": -3}
    for vec in VECTORS["bad_control"]:
        data = bytes.fromhex(vec["hex"])
        lines.append(f"control {len(data)} " + " ".join(map(str, data)))
        expected.append(str(status[vec["reason"]]))
    return lines, expected


def find_c_compiler() -> str | None:
    return (
        os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    )


@pytest.fixture(scope="module")
def vector_tool(tmp_path_factory) -> Path:
    cc = find_c_compiler()
    if cc is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "no C compiler (cc, gcc, clang or $CC) on PATH, and CI=true: CI must install gcc"
            )
        pytest.skip("no C compiler (cc, gcc, clang or $CC) on PATH: C encoder not checked")
    exe = tmp_path_factory.mktemp("c") / "vector_tool"
    cmd = [
        cc,
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-O2",
        str(PKG / "c" / "vector_tool.c"),
        "-o",
        str(exe),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stderr}"
    return exe


def test_c_encoder_reproduces_every_golden_vector(vector_tool):
    lines, expected = c_input_lines()
    proc = subprocess.run(
        [str(vector_tool)],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = proc.stdout.splitlines()
    assert len(got) == len(expected)
    for line, exp, out in zip(lines, expected, got, strict=True):
        # Bad-control lines print a status first; compare only what the vector pins down.
        assert out.split()[: len(exp.split())] == exp.split(), line[:80]


def test_c_tool_rejects_malformed_input(vector_tool):
    proc = subprocess.run(
        [str(vector_tool)], input="data 0 0 43\n", capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2


def test_c_header_is_clean_under_strict_conversion_warnings(tmp_path):
    cc = find_c_compiler()
    if cc is None:
        if os.environ.get("CI") == "true":
            pytest.fail("no C compiler on PATH, and CI=true")
        pytest.skip("no C compiler on PATH")
    src = tmp_path / "use.c"
    src.write_text(
        '#include "squatsense_protocol.h"\n'
        "int main(void) { return (int)sqs_max_samples_per_frame(23) - 1; }\n"
    )
    cmd = [
        cc,
        "-std=c99",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-pedantic",
        "-Wconversion",
        "-Wsign-conversion",
        "-Wshadow",
        "-Wcast-qual",
        f"-I{PKG / 'c'}",
        str(src),
        "-o",
        str(tmp_path / "use"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert subprocess.run([str(tmp_path / "use")], check=False).returncode == 0
