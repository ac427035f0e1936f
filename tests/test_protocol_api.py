"""The public surface of firmware_protocol: exact exports, dependencies, the error tree."""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
from pathlib import Path

import firmware_protocol as fp

EXPECTED = [
    "BATTERY_LEVEL_CHAR_UUID",
    "BATTERY_SERVICE_UUID",
    "CONTROL_CHAR_UUID",
    "DATA_CHAR_UUID",
    "DEFAULT_ATT_MTU",
    "INFO_CHAR_UUID",
    "MAX_RECORD_BODY",
    "MAX_SAMPLES_PER_FRAME",
    "PROTOCOL_VERSION",
    "RECORD_MAGIC",
    "SERVICE_UUID",
    "STANDARD_GRAVITY_MPS2",
    "WITMOTION_NOTIFY_UUID",
    "WITMOTION_RATE_CODES",
    "WITMOTION_SERVICE_UUID",
    "WITMOTION_WRITE_UUID",
    "ControlCommand",
    "ControlOpcode",
    "DecodeErrorReason",
    "EncodeError",
    "FrameDecodeError",
    "FrameType",
    "ImuChip",
    "PlacementCode",
    "ProtocolError",
    "Record",
    "RecordKind",
    "SampleBatch",
    "SensorInfo",
    "StreamReader",
    "TimeSync",
    "WitMotionBatch",
    "WitMotionRegisters",
    "counts_from_si",
    "decode_control",
    "decode_frames",
    "decode_info",
    "decode_record",
    "decode_time_sync",
    "decode_witmotion",
    "encode_control",
    "encode_frames",
    "encode_info",
    "encode_record",
    "encode_time_sync",
    "frame_type",
    "max_samples_per_frame",
    "read_data_frame",
    "witmotion_read_register",
    "witmotion_save",
    "witmotion_set_return_rate",
    "witmotion_unlock",
    "witmotion_write_register",
]


def isort_key(name: str) -> tuple[int, str]:
    """Order of ruff's RUF022 and processing/__init__.py: CONSTANTS, Classes, functions."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_exact():
    assert fp.__all__ == EXPECTED


def test_all_is_sorted():
    assert fp.__all__ == sorted(fp.__all__, key=isort_key)


def test_every_public_name_is_exported_and_every_export_exists():
    public = {n for n in dir(fp) if not n.startswith("_") and not inspect.ismodule(getattr(fp, n))}
    assert public == set(fp.__all__)


def test_implementation_modules_are_private():
    modules = {p.stem for p in Path(fp.__file__).parent.glob("*.py")} - {"__init__"}
    assert modules and all(m.startswith("_") for m in modules)


def test_public_callables_and_classes_are_documented():
    for name in fp.__all__:
        obj = getattr(fp, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name


def test_package_imports_nothing_beyond_numpy_and_the_standard_library():
    code = (
        "import sys, json; before = set(sys.modules); import firmware_protocol; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(fp.__file__).parents[1],
    ).stdout
    roots = {m.split(".")[0] for m in __import__("json").loads(out)}
    foreign = roots - set(sys.stdlib_module_names) - {"numpy", "firmware_protocol", "__future__"}
    assert not foreign, f"firmware_protocol pulled in {sorted(foreign)}"
    assert not roots & {"bleak", "fastapi", "pandas", "scipy", "processing", "ingest", "service"}


def test_error_tree():
    assert issubclass(fp.FrameDecodeError, fp.ProtocolError)
    assert issubclass(fp.EncodeError, fp.ProtocolError) and issubclass(fp.EncodeError, ValueError)
    assert not issubclass(fp.FrameDecodeError, ValueError)
    err = fp.FrameDecodeError(fp.DecodeErrorReason.BAD_CRC, 12, "CRC mismatch", what="record")
    assert str(err) == "record: CRC mismatch at byte 12"
    assert str(err.at_index(4)) == "record 4: CRC mismatch at byte 12"


def test_errors_survive_pickling():
    err = fp.FrameDecodeError(fp.DecodeErrorReason.TRUNCATED, 3, "short", frame_index=7)
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.reason, copy.offset, copy.frame_index, copy.what, str(copy)) == (
        err.reason,
        err.offset,
        7,
        "data frame",
        str(err),
    )


def test_gatt_uuids_are_distinct_and_share_the_custom_base():
    ours = [fp.SERVICE_UUID, fp.DATA_CHAR_UUID, fp.INFO_CHAR_UUID, fp.CONTROL_CHAR_UUID]
    assert len(set(ours)) == 4
    assert {u[:4] + "…" + u[8:] for u in ours} == {"577b…-7761-4f60-800a-6b11eff54f80"}
    assert fp.BATTERY_SERVICE_UUID.startswith(
        "0000180f-"
    ) and fp.BATTERY_LEVEL_CHAR_UUID.startswith("00002a19-")


def test_protocol_md_documents_every_uuid_and_constant():
    text = (Path(fp.__file__).parent / "PROTOCOL.md").read_text()
    for value in (
        fp.SERVICE_UUID,
        fp.DATA_CHAR_UUID,
        fp.INFO_CHAR_UUID,
        fp.CONTROL_CHAR_UUID,
        fp.WITMOTION_SERVICE_UUID,
        fp.WITMOTION_NOTIFY_UUID,
        fp.WITMOTION_WRITE_UUID,
    ):
        assert value in text, value
    for reason in fp.DecodeErrorReason:
        assert f"`{reason.value}`" in text, reason
