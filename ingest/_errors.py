"""The exception tree of the live sources (BLE, simulated, replay, relay).

::

    IngestError                 root: catch this to catch every live-source failure
     ├── SensorUnavailable      .reason (UnavailableReason), .placement, .address
     ├── SourceSpecError        also a ValueError; .key: the bad entry of an open_source spec
     ├── PairingError           .path: the pairing file that could not be read or written
     ├── RawLogError            .path: a raw frame log that holds no record at all
     └── RelayError             .url: the relay WebSocket could not be reached

Every message is one line that names what was wrong and where. Foreign errors (bleak,
D-Bus, websockets, OSError) are translated at the boundary with ``raise ... from exc``,
so the cause stays in the traceback for debugging but callers branch on our types.

The recording CSV keeps its own, older tree (:class:`~ingest.RecordingError`, a
``ValueError``), which this one does not replace.
"""

from __future__ import annotations

from enum import StrEnum

from processing.consts import Placement


class UnavailableReason(StrEnum):
    """Why a sensor could not be reached. The value is a stable snake_case name."""

    #: No usable Bluetooth on this host: no adapter, radio off, no BlueZ/D-Bus, or
    #: permission denied. Nothing will work until the user fixes it.
    BLUETOOTH_UNAVAILABLE = "bluetooth_unavailable"
    #: The sensor did not show up in a scan (off, out of range, or connected elsewhere).
    NOT_FOUND = "not_found"
    #: Connecting failed after bleak-retry-connector's retries.
    CONNECT_FAILED = "connect_failed"
    #: An operation did not complete in its time limit.
    TIMEOUT = "timeout"
    #: The device lacks the squatsense or WitMotion GATT service or a characteristic.
    MISSING_SERVICE = "missing_service"
    #: The info characteristic could not be decoded (wrong protocol version, bad value).
    BAD_INFO = "bad_info"
    #: The sensor refused a command (ATT error response, e.g. busy streaming).
    REFUSED = "refused"
    #: The link dropped during set-up.
    DISCONNECTED = "disconnected"


class IngestError(Exception):
    """Root of every exception the live sources raise."""


class SensorUnavailable(IngestError):
    """A sensor (or Bluetooth itself) cannot be used right now.

    Attributes
    ----------
    reason : UnavailableReason
        What went wrong, to branch on.
    placement : Placement or None
        The sensor's placement, when known.
    address : str or None
        The sensor's Bluetooth address (a UUID on macOS), when known.
    detail : str
        The human-readable part of the message.
    """

    def __init__(
        self,
        reason: UnavailableReason,
        detail: str,
        *,
        placement: Placement | None = None,
        address: str | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.placement = placement
        self.address = address
        who = " ".join(x for x in (placement and str(placement), address and f"({address})") if x)
        super().__init__(f"{who}: {detail}" if who else detail)

    def __reduce__(self) -> tuple:
        return (_rebuild_unavailable, (self.reason, self.detail, self.placement, self.address))


def _rebuild_unavailable(
    reason: UnavailableReason, detail: str, placement: Placement | None, address: str | None
) -> SensorUnavailable:
    return SensorUnavailable(reason, detail, placement=placement, address=address)


class SourceSpecError(IngestError, ValueError):
    """An :func:`~ingest.open_source` spec that does not describe a source.

    Attributes
    ----------
    key : str or None
        The spec entry that was wrong (``"kind"``, ``"speed"``, ...), or None when the
        spec itself is not a mapping.
    """

    def __init__(self, detail: str, *, key: str | None = None) -> None:
        self.key = key
        self.detail = detail
        super().__init__(f"source spec, {key!r}: {detail}" if key else f"source spec: {detail}")


class PairingError(IngestError):
    """The pairing file could not be read or written.

    Attributes
    ----------
    path : str
        The file.
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class RawLogError(IngestError):
    """A file given as a raw frame log holds no readable record.

    Attributes
    ----------
    path : str
        The file.
    """

    def __init__(self, path: str, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"{path}: {detail}")


class RelayError(IngestError):
    """The relay WebSocket could not be reached or refused us.

    Attributes
    ----------
    url : str
        The relay URL.
    """

    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(f"relay {url}: {detail}")
