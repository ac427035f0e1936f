"""A fake Bluetooth world behind bleak's backend interfaces, for the BLE source tests.

The fakes sit at the library boundary: :class:`bleak.BleakClient`,
:class:`bleak.BleakScanner` and :func:`bleak_retry_connector.establish_connection` run
unchanged on top of them (``backend=`` overrides). Each fake peripheral serves the
squatsense GATT layout (or WitMotion's) and plays the simulator's real protocol
notifications at their simulated arrival times (batching, jitter, bursts), restarts its
counter on START_STREAMING as firmware does, and can drop its link and go out of range.
BlueZ's refusal to scan or connect twice at once is imitated too.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError

from firmware_protocol import (
    BATTERY_LEVEL_CHAR_UUID,
    BATTERY_SERVICE_UUID,
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    INFO_CHAR_UUID,
    SERVICE_UUID,
    WITMOTION_NOTIFY_UUID,
    WITMOTION_SERVICE_UUID,
    WITMOTION_WRITE_UUID,
    ControlOpcode,
    decode_control,
)


@dataclass
class FakePeripheral:
    """One virtual sensor in the fake world.

    ``notes`` are ``(arrival_s, payload)`` relative to the world's start; ``drops`` are
    world times at which the link drops, each followed by ``down_s`` out of range.
    """

    address: str
    name: str
    info_bytes: bytes | None
    notes: list[tuple[float, bytes]]
    witmotion: bool = False
    mtu: int = 247
    battery: int = 87
    drops: list[float] = field(default_factory=list)
    down_s: float = 0.5
    visible_from: float = 0.0
    connects: int = 0
    controls: list[bytes] = field(default_factory=list)
    sent: list[tuple[int, bytes]] = field(default_factory=list)  # (connection, payload)
    restarts: list[int] = field(default_factory=list)  # simulator counter sent as 0, each


class FakeWorld:
    """The radio environment: peripherals, a clock, and BlueZ's one-at-a-time rule."""

    def __init__(self, peripherals: list[FakePeripheral]) -> None:
        self.peripherals = {p.address: p for p in peripherals}
        self.start = time.monotonic()
        self.busy = 0
        self.max_busy = 0
        self.overlaps = 0

    def now(self) -> float:
        return time.monotonic() - self.start

    def visible(self) -> list[FakePeripheral]:
        t = self.now()
        return [p for p in self.peripherals.values() if t >= p.visible_from]

    def begin(self) -> None:
        self.busy += 1
        self.max_busy = max(self.max_busy, self.busy)
        if self.busy > 1:
            self.busy -= 1
            self.overlaps += 1
            raise BleakError("org.bluez.Error.InProgress: Operation already in progress")

    def end(self) -> None:
        self.busy -= 1

    def backends(self) -> dict[str, type]:
        world = self

        class Scanner(FakeScanner):
            pass

        class Client(FakeClient):
            pass

        Scanner.world = world
        Client.world = world
        return {"scanner": Scanner, "client": Client}


class FakeScanner(BaseBleakScanner):
    world: FakeWorld

    def __init__(self, detection_callback: Any, service_uuids: Any, scanning_mode: Any, **kw: Any):
        super().__init__(detection_callback, service_uuids)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.world.begin()
        self.seen_devices = {}
        self._task = asyncio.create_task(self._advertise())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
            self.world.end()

    async def _advertise(self) -> None:
        while True:
            for p in self.world.visible():
                adv = AdvertisementData(
                    local_name=p.name,
                    manufacturer_data={},
                    service_data={BATTERY_SERVICE_UUID: bytes([p.battery])},
                    service_uuids=[WITMOTION_SERVICE_UUID if p.witmotion else SERVICE_UUID],
                    tx_power=None,
                    rssi=-55,
                    platform_data=(),
                )
                device = self.create_or_update_device(p.address, p.address, p.name, {}, adv)
                self.call_detection_callbacks(device, adv)
            await asyncio.sleep(0.02)


def _services(witmotion: bool) -> BleakGATTServiceCollection:
    col = BleakGATTServiceCollection()

    def add(handle: int, service: BleakGATTService, uuid: str, props: list[str]) -> None:
        col.add_characteristic(
            BleakGATTCharacteristic(None, handle, uuid, props, lambda: 244, service)
        )

    if witmotion:
        svc = BleakGATTService(None, 1, WITMOTION_SERVICE_UUID)
        col.add_service(svc)
        add(2, svc, WITMOTION_NOTIFY_UUID, ["notify"])
        add(3, svc, WITMOTION_WRITE_UUID, ["write-without-response", "write"])
        return col
    svc = BleakGATTService(None, 1, SERVICE_UUID)
    col.add_service(svc)
    add(2, svc, DATA_CHAR_UUID, ["notify"])
    add(3, svc, INFO_CHAR_UUID, ["read"])
    add(4, svc, CONTROL_CHAR_UUID, ["write"])
    bat = BleakGATTService(None, 10, BATTERY_SERVICE_UUID)
    col.add_service(bat)
    add(11, bat, BATTERY_LEVEL_CHAR_UUID, ["read", "notify"])
    return col


class FakeClient(BaseBleakClient):
    world: FakeWorld

    def __init__(self, address_or_ble_device: Any, **kwargs: Any) -> None:
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.get("disconnected_callback"),
            timeout=kwargs.get("timeout", 10.0),
        )
        self.peripheral = self.world.peripherals[self.address]
        self._connected = False
        self._callbacks: dict[int, Any] = {}
        self._task: asyncio.Task[None] | None = None
        self._restart_counter: int | None = None

    @property
    def name(self) -> str:
        return self.peripheral.name

    @property
    def mtu_size(self) -> int:
        return self.peripheral.mtu

    @property
    def is_connected(self) -> bool:
        return self._connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        self.world.begin()
        try:
            await asyncio.sleep(0.01)
            if self.peripheral not in self.world.visible():
                raise BleakError("le-connection-abort-by-local")
            self.services = _services(self.peripheral.witmotion)
            self._connected = True
            self.peripheral.connects += 1
        finally:
            self.world.end()
        if self.peripheral.witmotion:
            self._start_streaming()

    async def disconnect(self) -> None:
        self._stop()

    def _stop(self) -> None:
        self._connected = False
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def unpair(self) -> None:
        return None

    def _check(self) -> None:
        if not self._connected:
            raise BleakError("Not connected")

    async def read_gatt_char(self, characteristic: Any, **kwargs: Any) -> bytearray:
        self._check()
        if characteristic.uuid == INFO_CHAR_UUID:
            assert self.peripheral.info_bytes is not None
            return bytearray(self.peripheral.info_bytes)
        if characteristic.uuid == BATTERY_LEVEL_CHAR_UUID:
            return bytearray([self.peripheral.battery])
        raise BleakError(f"read of {characteristic.uuid} not permitted")

    async def read_gatt_descriptor(self, descriptor: Any, **kwargs: Any) -> bytearray:
        raise BleakError("no descriptors")

    async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
        self._check()
        data = bytes(data)
        self.peripheral.controls.append(data)
        if characteristic.uuid == CONTROL_CHAR_UUID:
            if decode_control(data).opcode is ControlOpcode.START_STREAMING:
                self._start_streaming()

    async def write_gatt_descriptor(self, descriptor: Any, data: Any) -> None:
        raise BleakError("no descriptors")

    async def start_notify(self, characteristic: Any, callback: Any, **kwargs: Any) -> None:
        self._check()
        self._callbacks[characteristic.handle] = callback

    async def stop_notify(self, characteristic: Any) -> None:
        self._callbacks.pop(characteristic.handle, None)

    def _start_streaming(self) -> None:
        self._restart_counter = None
        self._task = asyncio.create_task(self._stream())

    async def _stream(self) -> None:
        p = self.peripheral
        connection = p.connects
        t0 = self.world.now()
        i = next((k for k, (t, _) in enumerate(p.notes) if t >= t0), len(p.notes))
        drops = [d for d in p.drops if d > t0]
        while i < len(p.notes):
            now = self.world.now()
            if drops and now >= drops[0]:
                # The link drops: the sensor goes out of range for a while.
                p.visible_from = now + p.down_s
                self._stop_from_inside()
                return
            while i < len(p.notes) and p.notes[i][0] <= now:
                payload = self._restamp(p.notes[i][1])
                p.sent.append((connection, payload))
                callback = self._callbacks.get(2)
                if callback is not None:
                    callback(bytearray(payload))
                i += 1
            await asyncio.sleep(0.004)

    def _stop_from_inside(self) -> None:
        self._connected = False
        self._task = None
        if self._disconnected_callback is not None:
            asyncio.get_running_loop().call_soon(self._disconnected_callback)

    def _restamp(self, payload: bytes) -> bytes:
        """Firmware restarts the counter at 0 on START_STREAMING."""
        if self.peripheral.witmotion:
            return payload
        (c0,) = struct.unpack_from("<H", payload, 2)
        if self._restart_counter is None:
            self._restart_counter = c0
            self.peripheral.restarts.append(c0)
        return payload[:2] + struct.pack("<H", (c0 - self._restart_counter) % 65536) + payload[4:]
