"""Our GATT layout through a real BLE stack: a bumble peripheral and central in one process.

bumble's virtual controllers talk over an in-process ``LocalLink`` (no radio), and
everything above them is bumble's real host stack: HCI, L2CAP, ATT and GATT. The
peripheral plays squatsense firmware, serving exactly the layout of ``firmware_protocol``
(PROTOCOL.md §1): the custom service with its notify data, read info and write control
characteristics, and the Battery Service. The central does what the host does: exchange
the ATT MTU, discover by UUID, read the info value, enable notifications, write
START_STREAMING, and decode the data frames, which the peripheral sizes from the MTU it
negotiated itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import numpy as np
import pytest
from bumble.att import ATT_Error, ErrorCode
from bumble.controller import Controller
from bumble.core import UUID
from bumble.device import Connection, Device, Peer
from bumble.gatt import (
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
    Characteristic,
    CharacteristicValue,
    Service,
)
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from firmware_protocol import (
    BATTERY_LEVEL_CHAR_UUID,
    BATTERY_SERVICE_UUID,
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    DEFAULT_ATT_MTU,
    INFO_CHAR_UUID,
    SERVICE_UUID,
    ControlCommand,
    ControlOpcode,
    DecodeErrorReason,
    FrameDecodeError,
    SensorInfo,
    counts_from_si,
    decode_control,
    decode_frames,
    decode_info,
    encode_control,
    encode_frames,
    max_samples_per_frame,
)
from processing import Placement
from simulator import SensorStream, SimulatedSession, VirtualSensor

N_SAMPLES = 400  # 4 s at 100 Hz
FIRST_SAMPLE = 3000  # 30 s into the session: squatting, not standing still
BATTERY_PERCENT = 87
TIMEOUT_S = 5.0
_SIG_BASE = "-0000-1000-8000-00805f9b34fb"

# PROTOCOL.md §4: how the sensor answers a control write it cannot accept.
_ATT_ERROR_OF = {
    DecodeErrorReason.TRUNCATED: ErrorCode.INVALID_ATTRIBUTE_LENGTH,  # 0x0D
    DecodeErrorReason.TRAILING_BYTES: ErrorCode.INVALID_ATTRIBUTE_LENGTH,
    DecodeErrorReason.UNKNOWN_COMMAND: 0x80,  # application error: unknown command
    DecodeErrorReason.BAD_VALUE: ErrorCode.OUT_OF_RANGE,  # 0xFF
}


def _uuid(uuid: str) -> UUID:
    """A firmware_protocol UUID as firmware declares it: SIG-assigned numbers in 16 bits."""
    if uuid.startswith("0000") and uuid.endswith(_SIG_BASE):
        return UUID.from_16_bits(int(uuid[4:8], 16))
    return UUID(uuid)


@dataclass
class SensorFirmware:
    """The peripheral: squatsense firmware on a bumble device.

    On START_STREAMING it restarts the counter at 0 and notifies `N_SAMPLES` raw samples
    of `stream` as its IMU output, packed as full as the ATT MTU of *its* side of the
    connection allows. (The simulator's own counter and link losses play no part: this
    firmware counts the samples it sends.)
    """

    device: Device
    stream: SensorStream
    info: SensorInfo = field(init=False)
    info_bytes: bytes = field(init=False)
    commands: list[ControlCommand] = field(default_factory=list)
    rejected: list[tuple[bytes, DecodeErrorReason]] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    mtu_at_start: int | None = None
    task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        sensor = VirtualSensor(self.stream)
        self.info, self.info_bytes = sensor.info, sensor.info_bytes
        self.data_char = Characteristic(
            _uuid(DATA_CHAR_UUID), Characteristic.Properties.NOTIFY, Characteristic.READABLE
        )
        self.device.add_services(
            [
                Service(
                    _uuid(SERVICE_UUID),
                    [
                        self.data_char,
                        Characteristic(
                            _uuid(INFO_CHAR_UUID),
                            Characteristic.Properties.READ,
                            Characteristic.READABLE,
                            self.info_bytes,
                        ),
                        Characteristic(
                            _uuid(CONTROL_CHAR_UUID),
                            Characteristic.Properties.WRITE,
                            Characteristic.WRITEABLE,
                            CharacteristicValue(write=self._on_control),
                        ),
                    ],
                ),
                Service(
                    _uuid(BATTERY_SERVICE_UUID),
                    [
                        Characteristic(
                            _uuid(BATTERY_LEVEL_CHAR_UUID),
                            Characteristic.Properties.READ | Characteristic.Properties.NOTIFY,
                            Characteristic.READABLE,
                            bytes([BATTERY_PERCENT]),
                        )
                    ],
                ),
            ]
        )

    def samples(self) -> tuple[np.ndarray, np.ndarray, int]:
        """Counts and first sensor time (wrapped to u32) of the samples a stream sends."""
        window = slice(FIRST_SAMPLE, FIRST_SAMPLE + N_SAMPLES)
        s = self.stream
        return s.acc_counts[window], s.gyr_counts[window], int(s.sensor_time_us[window][0]) % 2**32

    def _on_control(self, connection: Connection, value: bytes) -> None:
        try:
            command = decode_control(value)
        except FrameDecodeError as err:
            self.rejected.append((bytes(value), err.reason))
            raise ATT_Error(_ATT_ERROR_OF[err.reason], message=str(err)) from None
        self.commands.append(command)
        if command.opcode is ControlOpcode.START_STREAMING:
            # Notify from a task: the write response goes out first, as on a real sensor.
            self.task = asyncio.create_task(self._stream(connection))

    async def _stream(self, connection: Connection) -> None:
        self.mtu_at_start = connection.att_mtu
        acc, gyr, t0_us = self.samples()
        frames = encode_frames(
            acc, gyr, self.info, counter0=0, t0_us=t0_us, att_mtu=connection.att_mtu
        )
        for frame in frames:
            # Sent only while the host has notifications enabled (bumble checks the CCCD).
            await self.device.notify_subscriber(connection, self.data_char, frame)
            self.sent.append(frame)


@dataclass
class Link:
    central: Device
    firmware: SensorFirmware
    connection: Connection  # the central's


@pytest.fixture
async def link(default_session: SimulatedSession) -> AsyncIterator[Link]:
    """A bumble central connected to a bumble peripheral running `SensorFirmware`."""
    local = LocalLink()
    devices = []
    for i, name in enumerate(("central", "ss-sacrum")):
        address = ":".join([f"F{i}"] * 6)
        controller = Controller(name, link=local, public_address=address)
        devices.append(
            Device(
                name=name,
                address=Address(address),
                host=Host(controller, AsyncPipeSink(controller)),
            )
        )
    central, peripheral = devices
    firmware = SensorFirmware(peripheral, default_session.streams[Placement.SACRUM])
    for device in devices:
        await device.power_on()
    accepted: asyncio.Future[Connection] = asyncio.get_running_loop().create_future()
    peripheral.once(peripheral.EVENT_CONNECTION, accepted.set_result)
    # 20 ms, the shortest legal interval: the central connects on the next advertisement
    # (bumble's default of 1 s would cost a second per test).
    await peripheral.start_advertising(advertising_interval_min=20, advertising_interval_max=20)
    async with asyncio.timeout(TIMEOUT_S):
        connection = await central.connect(peripheral.random_address)
        await accepted
    yield Link(central, firmware, connection)
    if firmware.task is not None:
        await firmware.task
    async with asyncio.timeout(TIMEOUT_S):
        await connection.disconnect()
        for device in devices:
            await device.power_off()


@pytest.mark.parametrize(
    ("requested_mtu", "expected_mtu"),
    [(None, DEFAULT_ATT_MTU), (247, 247), (517, 517)],
    ids=["default-mtu", "mtu-247", "mtu-517"],
)
async def test_session_over_bumble(link: Link, requested_mtu: int | None, expected_mtu: int):
    peer = Peer(link.connection)
    server_side = next(iter(link.firmware.device.connections.values()))

    # 1. MTU exchange (or none: the link stays at the default 23).
    if requested_mtu is not None:
        async with asyncio.timeout(TIMEOUT_S):
            assert await peer.request_mtu(requested_mtu) == expected_mtu
    assert link.connection.att_mtu == server_side.att_mtu == expected_mtu

    # 2. Discovery by UUID: both services, each characteristic with its PROTOCOL.md properties.
    async with asyncio.timeout(TIMEOUT_S):
        (service,) = await peer.discover_service(SERVICE_UUID)
        chars = await peer.discover_characteristics(service=service)
        # A host searches for a SIG-assigned service by its 16-bit form (bumble compares
        # the bytes of the declaration, so the 128-bit form would find nothing).
        (battery_service,) = await peer.discover_service(_uuid(BATTERY_SERVICE_UUID))
        (battery_char,) = await peer.discover_characteristics(service=battery_service)
    P = Characteristic.Properties
    by_uuid = {c.uuid: c for c in chars}
    assert set(by_uuid) == {UUID(DATA_CHAR_UUID), UUID(INFO_CHAR_UUID), UUID(CONTROL_CHAR_UUID)}
    data_char = by_uuid[UUID(DATA_CHAR_UUID)]
    info_char = by_uuid[UUID(INFO_CHAR_UUID)]
    control_char = by_uuid[UUID(CONTROL_CHAR_UUID)]
    assert (data_char.properties, info_char.properties, control_char.properties) == (
        P.NOTIFY,
        P.READ,
        P.WRITE,
    )
    assert battery_char.uuid == UUID(BATTERY_LEVEL_CHAR_UUID)
    assert battery_char.properties == P.READ | P.NOTIFY
    # Custom UUIDs travel as 128 bits, the SIG-assigned ones as 16 bits; bumble compares
    # UUIDs in their 128-bit form, which is also how bleak reports them.
    assert service.uuid.to_hex_str("-").lower() == SERVICE_UUID
    assert [len(c.uuid.to_bytes()) for c in (service, *chars)] == [16] * 4
    assert battery_service.uuid.to_hex_str() == "180F"
    assert battery_char.uuid.to_hex_str() == "2A19"

    # 3. Info and battery reads.
    async with asyncio.timeout(TIMEOUT_S):
        info_value = await peer.read_value(info_char)
        battery_value = await peer.read_value(battery_char)
    assert info_value == link.firmware.info_bytes
    info = decode_info(info_value)
    assert info == link.firmware.info
    assert info.period_us == 10_000
    assert battery_value == bytes([BATTERY_PERCENT])

    # 4. Notifications on (CCCD), then START_STREAMING.
    received: list[bytes] = []
    async with asyncio.timeout(TIMEOUT_S):
        await peer.subscribe(data_char, lambda value: received.append(bytes(value)))
        (cccd,) = await peer.discover_descriptors(data_char)
        assert cccd.type == GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR
        assert await peer.read_value(cccd) == b"\x01\x00"  # notifications enabled
        await peer.write_value(
            control_char, encode_control(ControlCommand.start_streaming()), with_response=True
        )
        assert link.firmware.task is not None  # started by the write handler
        await link.firmware.task
        while len(received) < len(link.firmware.sent):
            await asyncio.sleep(0.001)
    assert link.firmware.commands == [ControlCommand.start_streaming()]
    assert link.firmware.mtu_at_start == expected_mtu

    # 5. Every frame arrived intact, in order, sized from the negotiated MTU.
    assert received == link.firmware.sent  # bumble would silently cut frames > MTU - 3
    k = max_samples_per_frame(expected_mtu)
    assert len(received) == -(-N_SAMPLES // k)
    payload_limit = min(expected_mtu - 3, 512)
    assert max(len(f) for f in received) == 8 + 12 * k <= payload_limit
    assert [f[1] for f in received] == [k] * (N_SAMPLES // k) + (
        [N_SAMPLES % k] if N_SAMPLES % k else []
    )
    if expected_mtu == DEFAULT_ATT_MTU:
        assert k == 1 and {len(f) for f in received} == {20}  # the whole 20-byte payload
    else:
        assert k > 1

    # 6. Decoded: exactly the samples, counters and sensor times the firmware sent.
    acc, gyr, t0_us = link.firmware.samples()
    batch = decode_frames(received, info)
    assert len(batch) == N_SAMPLES
    np.testing.assert_array_equal(batch.counter, np.arange(N_SAMPLES, dtype=np.uint16))
    np.testing.assert_array_equal(
        batch.sensor_time_us, (t0_us + np.arange(N_SAMPLES) * info.period_us) % 2**32
    )
    np.testing.assert_array_equal(batch.acc_mps2, acc * info.acc_scale_mps2_per_lsb)
    np.testing.assert_array_equal(batch.gyr_rps, gyr * info.gyr_scale_rps_per_lsb)
    acc_back, gyr_back = counts_from_si(batch.acc_mps2, batch.gyr_rps, info)
    np.testing.assert_array_equal(acc_back, acc)
    np.testing.assert_array_equal(gyr_back, gyr)
    assert np.ptp(acc, axis=0).max() > 100  # a moving window, not a constant one


@pytest.mark.parametrize(
    ("command", "error_code"),
    [
        (b"", ErrorCode.INVALID_ATTRIBUTE_LENGTH),
        (b"\x01\x00", ErrorCode.INVALID_ATTRIBUTE_LENGTH),
        (b"\x09", 0x80),
        (b"\x03\x00\x00", ErrorCode.OUT_OF_RANGE),  # SET_SAMPLE_RATE 0 Hz
    ],
    ids=["empty", "start-too-long", "unknown-opcode", "zero-rate"],
)
async def test_bad_control_write_gets_att_error(link: Link, command: bytes, error_code: int):
    peer = Peer(link.connection)
    async with asyncio.timeout(TIMEOUT_S):
        (service,) = await peer.discover_service(SERVICE_UUID)
        (control_char,) = await peer.discover_characteristics([CONTROL_CHAR_UUID], service)
        with pytest.raises(ATT_Error) as caught:
            await peer.write_value(control_char, command, with_response=True)
    assert caught.value.error_code == error_code
    assert [value for value, _ in link.firmware.rejected] == [command]
    assert link.firmware.commands == []
    assert link.firmware.task is None
