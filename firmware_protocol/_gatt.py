"""GATT identifiers and size limits of the squatsense sensor protocol (see PROTOCOL.md).

The custom service uses one random 128-bit base, ``577bXXXX-7761-4f60-800a-6b11eff54f80``,
with the 16-bit ``XXXX`` numbering the service (0001) and its characteristics, the way
Nordic's UART service does. A random base cannot collide with the Bluetooth SIG base
(``0000XXXX-0000-1000-8000-00805f9b34fb``), which is reserved for assigned numbers.
"""

from __future__ import annotations

#: Custom squatsense IMU service.
SERVICE_UUID: str = "577b0001-7761-4f60-800a-6b11eff54f80"
#: Data characteristic (notify): data frames and time-sync frames.
DATA_CHAR_UUID: str = "577b0002-7761-4f60-800a-6b11eff54f80"
#: Info characteristic (read): the 22-byte :class:`SensorInfo` value.
INFO_CHAR_UUID: str = "577b0003-7761-4f60-800a-6b11eff54f80"
#: Control characteristic (write with response): :class:`ControlCommand` values.
CONTROL_CHAR_UUID: str = "577b0004-7761-4f60-800a-6b11eff54f80"

#: Standard Battery Service (assigned number 0x180F).
BATTERY_SERVICE_UUID: str = "0000180f-0000-1000-8000-00805f9b34fb"
#: Standard Battery Level characteristic (0x2A19): one u8, percent 0..100.
BATTERY_LEVEL_CHAR_UUID: str = "00002a19-0000-1000-8000-00805f9b34fb"

#: Protocol version carried in every frame header and in the info value.
PROTOCOL_VERSION: int = 1

#: ATT_MTU every BLE link starts with and must support (Core spec Vol 3 Part F 3.2.8).
DEFAULT_ATT_MTU: int = 23
#: Bytes of ATT header in a Handle Value Notification: payload = ATT_MTU - 3.
ATT_NOTIFY_OVERHEAD: int = 3
#: Longest attribute value the ATT protocol allows, in bytes.
MAX_ATT_VALUE: int = 512
