"""The wire format between squatsense sensor firmware and the host (spec: PROTOCOL.md).

- GATT: UUIDs of the custom service, its data/info/control characteristics and the
  standard Battery Service.
- Data characteristic: :func:`encode_frames` / :func:`decode_frames` (IMU data frames,
  vectorised, SI units out), :func:`encode_time_sync` / :func:`decode_time_sync`.
- Info characteristic: :class:`SensorInfo`, :func:`encode_info` / :func:`decode_info`.
- Control characteristic: :class:`ControlCommand`, :func:`encode_control` /
  :func:`decode_control`.
- Byte streams (raw frame logs, serial ports, relays): :class:`Record`,
  :func:`encode_record` / :func:`decode_record`, :class:`StreamReader`.
- WitMotion BLE 5.0 sensors: :func:`decode_witmotion` and the ``witmotion_*`` commands.

Depends on numpy and the standard library only. Errors::

    ProtocolError
     ├── FrameDecodeError   .reason (DecodeErrorReason), .offset, .frame_index, .what
     └── EncodeError        also a ValueError
"""

from firmware_protocol._control import (
    ControlCommand,
    ControlOpcode,
    decode_control,
    encode_control,
)
from firmware_protocol._envelope import (
    MAX_RECORD_BODY,
    RECORD_MAGIC,
    Record,
    RecordKind,
    StreamReader,
    decode_record,
    encode_record,
)
from firmware_protocol._errors import (
    DecodeErrorReason,
    EncodeError,
    FrameDecodeError,
    ProtocolError,
)
from firmware_protocol._frames import (
    MAX_SAMPLES_PER_FRAME,
    FrameType,
    SampleBatch,
    TimeSync,
    counts_from_si,
    decode_frames,
    decode_time_sync,
    encode_frames,
    encode_time_sync,
    frame_type,
    max_samples_per_frame,
    read_data_frame,
)
from firmware_protocol._gatt import (
    BATTERY_LEVEL_CHAR_UUID,
    BATTERY_SERVICE_UUID,
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    DEFAULT_ATT_MTU,
    INFO_CHAR_UUID,
    PROTOCOL_VERSION,
    SERVICE_UUID,
)
from firmware_protocol._info import (
    STANDARD_GRAVITY_MPS2,
    ImuChip,
    PlacementCode,
    SensorInfo,
    decode_info,
    encode_info,
)
from firmware_protocol._witmotion import (
    WITMOTION_NOTIFY_UUID,
    WITMOTION_RATE_CODES,
    WITMOTION_SERVICE_UUID,
    WITMOTION_WRITE_UUID,
    WitMotionBatch,
    WitMotionRegisters,
    decode_witmotion,
    witmotion_read_register,
    witmotion_save,
    witmotion_set_return_rate,
    witmotion_unlock,
    witmotion_write_register,
)

__all__ = [
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
