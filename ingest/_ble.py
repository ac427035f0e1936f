"""Real sensors over Bluetooth LE, with bleak and bleak-retry-connector.

How a connection is made and kept (one task per sensor, all streaming in parallel):

1. Under the **radio lock** (one per event loop): scan for the sensor's address and
   connect with :func:`bleak_retry_connector.establish_connection` from the scanner's
   ``BLEDevice`` (never from an address string: bleak would scan again, and on BlueZ
   two scans or connects at once fail with "Operation already in progress").
2. Set up, outside the lock: read the ATT MTU (on BlueZ bleak reports 23 until
   ``_acquire_mtu()`` asks BlueZ, as bleak's ``mtu_size.py`` example does), read the
   info characteristic (scales, period, provisioned placement), read the battery,
   subscribe to the data characteristic, write START_STREAMING.
3. Stream: the notification callback only stamps the host's monotonic clock and calls
   ``put_nowait`` on the sensor's unbounded queue; the sensor's consumer task wakes
   (at the source's next tick, ``SourceParams.tick_s``, if one is set), drains the
   queue and decodes everything that piled up in one vectorised call.
4. On a disconnect, or silence longer than ``silence_timeout_s``: report
   ``disconnected``, drain what is queued, drop the link, report ``reconnecting`` and
   start again at 1 after an exponential backoff. The other sensors keep streaming; the
   sensor resumes on the same session clock with ``gap_before`` set on its next batch.

Every bleak (and D-Bus) error is translated at this boundary into
:class:`~ingest.SensorUnavailable` with a :class:`~ingest.UnavailableReason`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import warnings
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypedDict, TypeVar

from bleak import BleakClient, BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakCharacteristicNotFoundError,
    BleakDeviceNotFoundError,
    BleakError,
    BleakGATTProtocolError,
)
from bleak_retry_connector import BleakNotFoundError, establish_connection

from firmware_protocol import (
    BATTERY_LEVEL_CHAR_UUID,
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    INFO_CHAR_UUID,
    SERVICE_UUID,
    WITMOTION_NOTIFY_UUID,
    WITMOTION_SERVICE_UUID,
    WITMOTION_WRITE_UUID,
    ControlCommand,
    FrameDecodeError,
    PlacementCode,
    SensorInfo,
    decode_info,
    encode_control,
    witmotion_set_return_rate,
    witmotion_unlock,
)
from ingest._channel import SensorChannel, encode_witmotion_info
from ingest._errors import SensorUnavailable, UnavailableReason
from ingest._items import SourceItem, StatusKind
from ingest._source import SensorSource, SourceParams
from processing import Placement

_log = logging.getLogger("ingest.ble")
_T = TypeVar("_T")

_radio_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def radio_lock() -> asyncio.Lock:
    """The lock that serialises scanning and connecting in this event loop.

    BlueZ runs one discovery or connection procedure per adapter at a time and
    answers a second with "Operation already in progress"; streaming needs no lock.
    """
    loop = asyncio.get_running_loop()
    lock = _radio_locks.get(loop)
    if lock is None:
        lock = _radio_locks[loop] = asyncio.Lock()
    return lock


class SensorKind(StrEnum):
    """Which protocol a sensor speaks."""

    #: The squatsense firmware protocol (firmware_protocol/PROTOCOL.md).
    SQUATSENSE = "squatsense"
    #: WitMotion BLE 5.0 (WT901BLECL, BWT901BLE5.0).
    WITMOTION = "witmotion"


class BleBackends(TypedDict, total=False):
    """bleak backend overrides (tests, or a custom backend such as an ESPHome proxy).

    Attributes
    ----------
    client : type of BaseBleakClient
        Passed to ``BleakClient(backend=...)``.
    scanner : type of BaseBleakScanner
        Passed to ``BleakScanner(backend=...)``.
    """

    client: type[BaseBleakClient]
    scanner: type[BaseBleakScanner]


@dataclass(frozen=True)
class PairedSensor:
    """A sensor assigned to a placement (from the pairing file or a scan).

    Attributes
    ----------
    placement : Placement
        Where it is strapped.
    address : str
        Bluetooth address (a UUID on macOS).
    name : str or None
        Advertised name, for display.
    kind : SensorKind
        Protocol. Default squatsense.
    """

    placement: Placement
    address: str
    name: str | None = None
    kind: SensorKind = SensorKind.SQUATSENSE


@dataclass(frozen=True)
class FoundSensor:
    """A supported sensor seen in a scan (see :func:`scan_sensors`).

    Attributes
    ----------
    address : str
    name : str or None
    rssi_dbm : int or None
        Signal strength of its last advertisement, dBm.
    kind : SensorKind
    battery_pct : int or None
        From the advertisement's Battery Service data, or read on connection.
    placement : Placement or None
        Provisioned placement read from the info characteristic (``read_info=True``).
    info : SensorInfo or None
        The info value (``read_info=True``, squatsense sensors).
    device : BLEDevice
        The scanner's device object, to connect with.
    """

    address: str
    name: str | None
    rssi_dbm: int | None
    kind: SensorKind
    battery_pct: int | None = None
    placement: Placement | None = None
    info: SensorInfo | None = None
    device: BLEDevice | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class BleParams:
    """Connection parameters of :class:`BleSource`.

    Attributes
    ----------
    scan_timeout_s : float
        Longest scan for one sensor, s. Default 10 s.
    connect_attempts : int
        Attempts bleak-retry-connector makes per connection. Default 3.
    setup_timeout_s : float
        Limit for connecting and for the whole set-up after it, s. Default 30 s.
    backoff_initial_s, backoff_max_s : float
        Reconnection delays double from the first to the second. Defaults 0.5 s, 8 s.
    witmotion_rate_hz : float
        Output rate set on WitMotion sensors (not saved to their flash). Default 100 Hz.
    request_rate_hz : int or None
        Sample rate requested from squatsense sensors (SET_SAMPLE_RATE); None keeps
        theirs. Default None.
    """

    scan_timeout_s: float = 10.0
    connect_attempts: int = 3
    setup_timeout_s: float = 30.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    witmotion_rate_hz: float = 100.0
    request_rate_hz: int | None = None


def translate_bleak_error(
    exc: BaseException,
    what: str,
    *,
    placement: Placement | None = None,
    address: str | None = None,
) -> SensorUnavailable:
    """Our error for a bleak, D-Bus or timeout error; most specific first.

    Parameters
    ----------
    exc : BaseException
        The foreign error.
    what : str
        What was being done ("connect", "read info"), for the message.
    """
    r = UnavailableReason
    text = str(exc) or type(exc).__name__
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason, detail = r.BLUETOOTH_UNAVAILABLE, f"Bluetooth unavailable ({exc.reason.name})"
    elif isinstance(exc, FileNotFoundError | ConnectionRefusedError | PermissionError):
        # bleak's BlueZ backend reaches BlueZ over the system D-Bus socket.
        reason, detail = (
            r.BLUETOOTH_UNAVAILABLE,
            f"Bluetooth unavailable: cannot reach BlueZ over D-Bus ({text})",
        )
    elif isinstance(exc, BleakCharacteristicNotFoundError):
        reason, detail = r.MISSING_SERVICE, f"{what}: characteristic {exc.char_specifier} missing"
    elif isinstance(exc, BleakGATTProtocolError):
        reason, detail = r.REFUSED, f"{what}: sensor answered {exc.code.name}"
    elif isinstance(exc, BleakNotFoundError | BleakDeviceNotFoundError):
        reason, detail = r.NOT_FOUND, f"{what}: device not found ({text})"
    elif isinstance(exc, TimeoutError):
        reason, detail = r.TIMEOUT, f"{what}: timed out"
    elif isinstance(exc, BleakError) and "not connected" in text.lower():
        reason, detail = r.DISCONNECTED, f"{what}: link lost"
    else:
        reason, detail = r.CONNECT_FAILED, f"{what}: {text}"
    return SensorUnavailable(reason, detail, placement=placement, address=address)


_BLEAK_ERRORS = (BleakError, TimeoutError, OSError, EOFError, AttributeError, KeyError)


async def _bleak_call(
    coro: Awaitable[_T],
    what: str,
    timeout_s: float,
    *,
    placement: Placement | None = None,
    address: str | None = None,
) -> _T:
    """Await a bleak call with a time limit; translate its errors."""
    try:
        async with asyncio.timeout(timeout_s):
            return await coro
    except _BLEAK_ERRORS as exc:
        raise translate_bleak_error(exc, what, placement=placement, address=address) from exc


def _kind_of(adv: AdvertisementData | None, services: Sequence[str] = ()) -> SensorKind | None:
    uuids = {u.lower() for u in services}
    name = ""
    if adv is not None:
        uuids |= {u.lower() for u in adv.service_uuids}
        name = adv.local_name or ""
    if SERVICE_UUID in uuids:
        return SensorKind.SQUATSENSE
    if WITMOTION_SERVICE_UUID in uuids or name.upper().startswith(("WT901", "BWT901", "WTVB")):
        return SensorKind.WITMOTION
    return None


def _scanner_kwargs(backends: BleBackends | None) -> dict[str, Any]:
    return {"backend": backends["scanner"]} if backends and "scanner" in backends else {}


def _client_kwargs(backends: BleBackends | None) -> dict[str, Any]:
    return {"backend": backends["client"]} if backends and "client" in backends else {}


async def _connect(
    device: BLEDevice,
    params: BleParams,
    backends: BleBackends | None,
    on_disconnect: Callable[[BleakClient], None] | None,
    placement: Placement | None = None,
) -> BleakClient:
    return await _bleak_call(
        establish_connection(
            BleakClient,
            device,
            device.name or device.address,
            disconnected_callback=on_disconnect,
            max_attempts=params.connect_attempts,
            **_client_kwargs(backends),
        ),
        "connect",
        params.setup_timeout_s,
        placement=placement,
        address=device.address,
    )


async def _disconnect(client: BleakClient) -> None:
    with contextlib.suppress(*_BLEAK_ERRORS):
        async with asyncio.timeout(5.0):
            await client.disconnect()


async def negotiated_mtu(client: BleakClient) -> int:
    """The connection's ATT MTU (asks BlueZ for it; bleak reports 23 there otherwise)."""
    backend = getattr(client, "_backend", None)
    acquire = getattr(backend, "_acquire_mtu", None)
    if acquire is not None and type(backend).__name__ == "BleakClientBlueZDBus":
        with contextlib.suppress(*_BLEAK_ERRORS, AssertionError, StopIteration):
            await acquire()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BlueZ warns when it falls back to 23
        return int(client.mtu_size)


async def scan_sensors(
    timeout_s: float = 5.0,
    *,
    read_info: bool = False,
    params: BleParams | None = None,
    backends: BleBackends | None = None,
) -> list[FoundSensor]:
    """Scan for supported sensors: squatsense firmware and WitMotion BLE 5.0.

    Parameters
    ----------
    timeout_s : float
        How long to listen, s. Default 5 s.
    read_info : bool
        Also connect to each squatsense sensor (one at a time) to read its info
        (provisioned placement, chip, rate) and battery. Default False.
    params : BleParams, optional
        Connection limits for `read_info`.
    backends : BleBackends, optional
        bleak backend overrides.

    Returns
    -------
    list of FoundSensor
        Strongest signal first.

    Raises
    ------
    SensorUnavailable
        ``BLUETOOTH_UNAVAILABLE`` if there is no usable Bluetooth.
    """
    params = params or BleParams()
    async with radio_lock():
        seen = await _bleak_call(
            BleakScanner.discover(timeout=timeout_s, return_adv=True, **_scanner_kwargs(backends)),
            "scan",
            timeout_s + 10.0,
        )
    found: list[FoundSensor] = []
    for device, adv in seen.values():
        kind = _kind_of(adv)
        if kind is None:
            continue
        battery = adv.service_data.get("0000180f-0000-1000-8000-00805f9b34fb")
        found.append(
            FoundSensor(
                address=device.address,
                name=adv.local_name or device.name,
                rssi_dbm=adv.rssi,
                kind=kind,
                battery_pct=battery[0] if battery else None,
                device=device,
            )
        )
    if read_info:
        found = [await _with_info(s, params, backends) for s in found]
    found.sort(key=lambda s: -(s.rssi_dbm if s.rssi_dbm is not None else -999))
    return found


async def _with_info(
    sensor: FoundSensor, params: BleParams, backends: BleBackends | None
) -> FoundSensor:
    if sensor.kind is not SensorKind.SQUATSENSE or sensor.device is None:
        return sensor
    try:
        async with radio_lock():
            client = await _connect(sensor.device, params, backends, None)
        try:
            raw = await _bleak_call(
                client.read_gatt_char(INFO_CHAR_UUID), "read info", params.setup_timeout_s
            )
            info = decode_info(raw)
            battery = sensor.battery_pct
            if client.services.get_characteristic(BATTERY_LEVEL_CHAR_UUID) is not None:
                level = await _bleak_call(
                    client.read_gatt_char(BATTERY_LEVEL_CHAR_UUID), "read battery", 5.0
                )
                battery = level[0] if level else battery
        finally:
            await _disconnect(client)
    except (SensorUnavailable, FrameDecodeError) as exc:
        _log.info("%s: could not read info: %s", sensor.address, exc)
        return sensor
    placement = None
    if info.placement is not PlacementCode.UNSET:
        placement = Placement(info.placement.label)
    return FoundSensor(
        sensor.address,
        sensor.name,
        sensor.rssi_dbm,
        sensor.kind,
        battery,
        placement,
        info,
        sensor.device,
    )


class BleSource(SensorSource):
    """Stream from paired BLE sensors at once, reconnecting each on its own.

    Parameters
    ----------
    sensors : sequence of PairedSensor, optional
        The sensors to stream from. None: the pairing file
        (:func:`~ingest.load_pairing`), plus, for placements it leaves open, any
        squatsense sensor in range whose info characteristic names its placement.
    ble : BleParams, optional
        Scan and connection limits, backoff, rates.
    params : SourceParams, optional
        Silence timeout and clock mapping.
    backends : BleBackends, optional
        bleak backend overrides (tests; custom backends).
    pairing_path : str or os.PathLike, optional
        Pairing file to read when `sensors` is None. Default: the per-user one.

    Notes
    -----
    The session clock starts when the source is entered. Iteration never ends on its
    own; a sensor that cannot be reached is retried forever with backoff (each try
    reported as ``reconnecting``), except when Bluetooth itself is unavailable, which
    ends the iteration with :class:`~ingest.SensorUnavailable`.
    """

    def __init__(
        self,
        sensors: Sequence[PairedSensor] | None = None,
        *,
        ble: BleParams | None = None,
        params: SourceParams | None = None,
        backends: BleBackends | None = None,
        pairing_path: Any = None,
    ) -> None:
        super().__init__(params)
        self.ble = ble or BleParams()
        self.backends = backends
        self.pairing_path = pairing_path
        self._sensors: list[PairedSensor] | None = None
        if sensors is not None:
            self._sensors = list(sensors)
            placements = [s.placement for s in self._sensors]
            if len(set(placements)) != len(placements):
                raise ValueError(f"two sensors share a placement: {placements}")
        self._clients: dict[Placement, BleakClient] = {}

    @property
    def placements(self) -> tuple[Placement, ...]:
        """Placements of the sensors given or paired (provisioned ones join later)."""
        if self._sensors is None:
            from ingest._pairing import load_pairing

            try:
                paired = load_pairing(self.pairing_path)
            except Exception:  # reported by the iteration
                return ()
            return tuple(p for p in Placement if p in paired)
        return tuple(p for p in Placement if any(s.placement is p for s in self._sensors))

    async def _resolve(self) -> list[PairedSensor]:
        if self._sensors is not None:
            return self._sensors
        from ingest._pairing import load_pairing

        paired = load_pairing(self.pairing_path)
        sensors = list(paired.values())
        if len(paired) < len(Placement):
            # Sensors that store their own placement need no pairing.
            found = await scan_sensors(
                self.ble.scan_timeout_s, read_info=True, params=self.ble, backends=self.backends
            )
            for s in found:
                if s.placement is not None and s.placement not in paired:
                    paired[s.placement] = PairedSensor(s.placement, s.address, s.name, s.kind)
                    sensors.append(paired[s.placement])
        if not sensors:
            raise SensorUnavailable(
                UnavailableReason.NOT_FOUND,
                "no sensor paired and none in range knows its placement; "
                "run `squatsense pair` (or `squatsense scan`)",
            )
        self._sensors = sensors
        return sensors

    async def _run(self) -> None:
        sensors = await self._resolve()
        try:
            async with asyncio.TaskGroup() as group:  # keeps strong references to its tasks
                for sensor in sensors:
                    group.create_task(self._keep_streaming(sensor))
        except ExceptionGroup as group_error:
            # Only a failure of Bluetooth itself ends a sensor's task: raise it plainly.
            first: BaseException = group_error
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from first.__cause__

    async def _close(self) -> None:
        await asyncio.gather(*(_disconnect(c) for c in self._clients.values()))
        self._clients.clear()

    async def _keep_streaming(self, sensor: PairedSensor) -> None:
        ch = self._channel(sensor.placement, sensor.address)
        failures = 0
        while True:
            try:
                streamed = await self._stream_once(sensor, ch)
                failures = 0 if streamed else failures + 1
            except SensorUnavailable as exc:
                if exc.reason is UnavailableReason.BLUETOOTH_UNAVAILABLE:
                    raise
                failures += 1
                await self._emit(
                    ch.mark_disconnected(self.session_time(), exc.detail)
                    or [self._status(StatusKind.WARNING, sensor.placement, exc.detail)]
                )
            delay = min(
                self.ble.backoff_max_s, self.ble.backoff_initial_s * 2 ** max(0, failures - 1)
            )
            delay *= random.uniform(0.8, 1.2)  # two sensors dropped together retry apart
            event = self._status(
                StatusKind.RECONNECTING,
                sensor.placement,
                f"reconnecting in {delay:.1f} s (attempt {failures + 1})",
            )
            await self._emit([_with_value(event, failures + 1)])
            await asyncio.sleep(delay)

    async def _stream_once(self, sensor: PairedSensor, ch: SensorChannel) -> bool:
        """Connect, set up and stream until the link is lost; True if data flowed."""
        p, addr = sensor.placement, sensor.address
        await self._emit([self._status(StatusKind.CONNECTING, p, f"connecting to {addr}")])
        lost = asyncio.Event()
        async with radio_lock():
            device = await _bleak_call(
                BleakScanner.find_device_by_address(
                    addr, timeout=self.ble.scan_timeout_s, **_scanner_kwargs(self.backends)
                ),
                "scan",
                self.ble.scan_timeout_s + 10.0,
                placement=p,
                address=addr,
            )
            if device is None:
                raise SensorUnavailable(
                    UnavailableReason.NOT_FOUND,
                    f"not seen in a {self.ble.scan_timeout_s:g} s scan (off, or out of range?)",
                    placement=p,
                    address=addr,
                )
            client = await _connect(device, self.ble, self.backends, lambda _: lost.set(), p)
        self._clients[p] = client
        queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()

        def on_notify(_: Any, data: bytearray) -> None:
            # Only stamp and enqueue: decoding happens in the consumer below.
            queue.put_nowait((time.monotonic_ns(), bytes(data)))

        try:
            witmotion = await self._set_up(client, sensor, ch, on_notify)
            await self._emit(
                ch.mark_connected(
                    self.session_time(),
                    f"connected ({addr}{f', ATT MTU {ch.att_mtu}' if ch.att_mtu else ''})",
                )
            )
            samples_before = ch.samples
            await self._consume(ch, queue, lost, witmotion)
            return ch.samples > samples_before
        finally:
            self._clients.pop(p, None)
            await _disconnect(client)

    async def _set_up(
        self,
        client: BleakClient,
        sensor: PairedSensor,
        ch: SensorChannel,
        on_notify: Callable[[Any, bytearray], None],
    ) -> bool:
        p, addr = sensor.placement, sensor.address
        timeout = self.ble.setup_timeout_s

        async def call(coro: Awaitable[_T], what: str) -> _T:
            return await _bleak_call(coro, what, timeout, placement=p, address=addr)

        services = [s.uuid for s in client.services]
        kind = _kind_of(None, services)
        if kind is None:
            raise SensorUnavailable(
                UnavailableReason.MISSING_SERVICE,
                "neither the squatsense nor the WitMotion service is present",
                placement=p,
                address=addr,
            )
        ch.att_mtu = await negotiated_mtu(client)
        ch.new_stream()
        if kind is SensorKind.WITMOTION:
            await self._emit(
                ch.feed_info(
                    time.monotonic_ns(),
                    encode_witmotion_info(p, self.ble.witmotion_rate_hz),
                    witmotion=True,
                )
            )
            await call(client.start_notify(WITMOTION_NOTIFY_UUID, on_notify), "subscribe")
            for command in (
                witmotion_unlock(),
                witmotion_set_return_rate(self.ble.witmotion_rate_hz),
            ):
                await call(
                    client.write_gatt_char(WITMOTION_WRITE_UUID, command, response=False),
                    "set rate",
                )
            return True

        info_bytes = bytes(await call(client.read_gatt_char(INFO_CHAR_UUID), "read info"))
        if self.ble.request_rate_hz is not None:
            await self._control(
                client, ch, ControlCommand.set_sample_rate(self.ble.request_rate_hz), call
            )
            info_bytes = bytes(await call(client.read_gatt_char(INFO_CHAR_UUID), "read info"))
        try:
            info = decode_info(info_bytes)
        except FrameDecodeError as exc:
            raise SensorUnavailable(
                UnavailableReason.BAD_INFO, f"info characteristic: {exc}", placement=p, address=addr
            ) from exc
        if info.placement is not PlacementCode.UNSET and info.placement.label != p.value:
            await self._emit(
                [
                    self._status(
                        StatusKind.WARNING,
                        p,
                        f"sensor says it is on the {info.placement.label} (paired as {p})",
                    )
                ]
            )
        await self._emit(ch.feed_info(time.monotonic_ns(), info_bytes))
        if client.services.get_characteristic(BATTERY_LEVEL_CHAR_UUID) is not None:
            level = await call(client.read_gatt_char(BATTERY_LEVEL_CHAR_UUID), "read battery")
            if level:
                await self._emit(ch.feed_battery(time.monotonic_ns(), level[0]))
            char = client.services.get_characteristic(BATTERY_LEVEL_CHAR_UUID)
            if char is not None and "notify" in char.properties:

                def on_battery(_: Any, data: bytearray) -> None:
                    if data:
                        self._emit_nowait(ch.feed_battery(time.monotonic_ns(), data[0]))

                await call(client.start_notify(BATTERY_LEVEL_CHAR_UUID, on_battery), "subscribe")
        await call(client.start_notify(DATA_CHAR_UUID, on_notify), "subscribe")
        await self._control(client, ch, ControlCommand.start_streaming(), call)
        return False

    async def _control(
        self,
        client: BleakClient,
        ch: SensorChannel,
        command: ControlCommand,
        call: Callable[[Awaitable[Any], str], Awaitable[Any]],
    ) -> None:
        data = encode_control(command)
        ch.record_control(time.monotonic_ns(), data)
        await call(
            client.write_gatt_char(CONTROL_CHAR_UUID, data, response=True), command.opcode.name
        )

    async def _consume(
        self,
        ch: SensorChannel,
        queue: asyncio.Queue[tuple[int, bytes]],
        lost: asyncio.Event,
        witmotion: bool,
    ) -> None:
        """Decode what the callback queued until the link is lost or falls silent.

        After a notification arrives the task (waits for the source's next tick, if
        ``SourceParams.tick_s`` is set, then) decodes everything queued by then in one
        call; with a tick, every sensor's task wakes on it, so a tick's batches come out
        together.
        """
        check_s = min(0.25, self.params.silence_timeout_s / 4)
        why = "link lost"
        while not lost.is_set():
            try:
                async with asyncio.timeout(check_s):
                    first = await queue.get()
            except TimeoutError:
                items = ch.tick(self.session_time())
                await self._emit(items)
                if not ch.connected:
                    why = ""  # reported by tick
                    break
                continue
            now = time.monotonic()
            wait = self.next_tick(now) - now
            if wait > 0:
                await asyncio.sleep(wait)
            notes = [first]
            while not queue.empty():
                notes.append(queue.get_nowait())
            await self._emit(self._feed(ch, notes, witmotion))
        # Nothing already received is dropped: decode what arrived before the loss.
        rest = []
        while not queue.empty():
            rest.append(queue.get_nowait())
        if rest:
            await self._emit(self._feed(ch, rest, witmotion))
        if why:
            await self._emit(ch.mark_disconnected(self.session_time(), why))

    def _feed(
        self, ch: SensorChannel, notes: list[tuple[int, bytes]], witmotion: bool
    ) -> list[SourceItem]:
        return ch.feed([h for h, _ in notes], [d for _, d in notes], witmotion=witmotion)


def _with_value(event: Any, value: float) -> Any:
    from dataclasses import replace

    return replace(event, value=value)
