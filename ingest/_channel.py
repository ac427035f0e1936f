"""One sensor's path from notification bytes to samples on the session clock.

Every source ends here: BLE notifications, the simulator's virtual notifications, the
records of a raw frame log and of a network relay all arrive as ``(host_time_ns,
payload)`` and go through the same steps:

1. record: every notification is handed to the record sinks as an envelope
   :class:`~firmware_protocol.Record` (raw frame log, relay) before anything else;
2. decode: all notifications that queued up since the last call, in one vectorised
   :func:`~firmware_protocol.decode_frames` call (bad frames skipped and reported);
3. unwrap: u32 µs sensor time and u16 counters, the counter predicted from the clock;
4. count: exact loss, duplicates, late samples (:class:`~ingest._loss.LossCounter`);
5. map: sensor time onto the session clock (:class:`~ingest._clock.ClockMapper`);
6. emit: new samples in counter order, strictly increasing in time.

A single notification of a stream already under way (the live case) takes a shortcut
through steps 2-6 in scalars (``_decode_one``); anything unusual (a bad frame, a gap
in the counters, a clock jump, a reconnect) goes the general way. Both give the same
bits (a property test holds them to it).

It knows nothing of asyncio or BLE: a source calls ``feed_*`` and forwards what they
return.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

from firmware_protocol import (
    FrameDecodeError,
    FrameType,
    PlacementCode,
    Record,
    RecordKind,
    SensorInfo,
    decode_frames,
    decode_info,
    decode_witmotion,
    encode_info,
    read_data_frame,
)
from ingest._clock import ClockMapper, ClockParams, _fit_windows, _line, unwrap
from ingest._clock import warm_up as _warm_up_clock
from ingest._items import SensorBatch, SensorStats, SourceItem, StatusEvent, StatusKind
from ingest._loss import LossCounter
from processing import ImuSamples, Placement
from processing._jit import compiled

#: A callable that receives every envelope record a source produces, in order.
RecordSink = Callable[[Record], None]

_TIME_SYNC_BYTE = 0x10 | FrameType.TIME_SYNC
_U32 = 1 << 32
_HALF32 = _U32 // 2
_U16 = 1 << 16
_HALF16 = _U16 // 2
#: What SensorChannel._decode_one returns when the general path is needed.
_NOT_USUAL = object()
_RATE_WINDOW_S = 2.0
# A frame whose delay the fit puts below this (s) means the sensor clock jumped forward.
_CLOCK_JUMP_EARLY_S = -0.5
# ... above this, that it jumped back (a reboot); after a reconnect the bound is tighter.
_CLOCK_JUMP_LATE_S = 30.0
_CLOCK_JUMP_LATE_AFTER_GAP_S = 1.0
# Frames held while the info value is unknown (a relay or log joined mid-stream).
_MAX_PENDING = 4096
# Up to this many notifications in one call are decoded one at a time (each through the
# one-notification shortcut); more go through the array path, cheaper per notification
# in bulk (a replay, or a session far behind).
_FEW_NOTIFICATIONS = 8
# WitMotion: residuals above this many periods for this long mean lost notifications.
_WIT_LOSS_PERIODS = 1.5
_WIT_PROBE_S = 0.3


def placement_code(placement: Placement) -> int:
    """The envelope channel of a placement: its wire code (1..4)."""
    return int(PlacementCode.from_label(placement.value))


def witmotion_info(placement: Placement, rate_hz: float) -> SensorInfo:
    """The info value the host writes for a WitMotion sensor, whose own has none.

    WitMotion's BLE 5.0 sensors report ±16 g and ±2000 °/s in counts of 1/32768 of full
    scale and send no info characteristic; this synthesised value (chip unknown) keeps a
    raw frame log self-describing and gives the nominal period that times are smoothed
    against.
    """
    return SensorInfo.from_ranges(
        chip=0,  # ImuChip.UNKNOWN
        acc_range_g=16,
        gyr_range_dps=2000,
        sample_rate_hz=rate_hz,
        placement=PlacementCode.from_label(placement.value),
    )


class SensorChannel:
    """Decode, account for and time one sensor's notifications.

    Parameters
    ----------
    placement : Placement
        The sensor.
    t0_ns : int
        Host time (ns) of session time 0.
    silence_timeout_s : float
        A connected sensor silent this long (session clock) is reported disconnected.
    clock : ClockParams, optional
        Clock-mapping parameters.
    sinks : list of RecordSink
        Receive every record (shared with the source: sinks added later still count).
    address : str, optional
        Bluetooth address, for stats.
    """

    def __init__(
        self,
        placement: Placement,
        *,
        t0_ns: int,
        silence_timeout_s: float,
        clock: ClockParams | None = None,
        sinks: list[RecordSink] | None = None,
        address: str | None = None,
    ) -> None:
        self.placement = placement
        self.code = placement_code(placement)
        self.t0_ns = t0_ns
        self.silence_timeout_s = silence_timeout_s
        self.address = address
        self.sinks: list[RecordSink] = sinks if sinks is not None else []
        self.info: SensorInfo | None = None
        self.witmotion = False
        self.att_mtu: int | None = None
        self.battery_pct: int | None = None
        self._clock_params = clock or ClockParams()
        self._mapper = ClockMapper(self._clock_params)
        self._loss = LossCounter()
        self._anchor_us: int | None = None
        self._last_s_us: int | None = None
        self._last_c: int | None = None
        self._last_emit_c: int | None = None
        self._last_emit_t = -np.inf
        self._check_jump = False
        self._gap_next = False
        self._pending: list[tuple[int, bytes]] = []
        self.connected = False
        self._ever_connected = False
        self._outage_start: float | None = None
        self.outage_s = 0.0
        self.reconnects = 0
        self.samples = 0
        self.late = 0
        self.bad_frames = 0
        self._lost_emitted = 0
        self._lost_evented = 0
        self._last_loss_event_s = -np.inf
        self._last_warning_s = -np.inf
        self._warned_frames = 0
        self.last_arrival_s: float | None = None
        self._now_s = 0.0
        # Emitted sample times of the last _RATE_WINDOW_S: (first, last, times) per batch.
        self._rate_hist: deque[tuple[float, float, NDArray[np.float64]]] = deque()
        self._first_arrival_s: float | None = None
        # WitMotion: next sample index, and the loss probe (start time, min residual).
        self._wit_next = 0
        self._wit_lost = 0
        self._wit_probe: tuple[float, float] | None = None

    # ------------------------------------------------------------------ helpers

    def session_s(self, host_ns: int) -> float:
        """Session time (s) of a host time (ns)."""
        return (host_ns - self.t0_ns) * 1e-9

    def _event(
        self, kind: StatusKind, message: str, time_s: float, value: float | None = None
    ) -> StatusEvent:
        return StatusEvent(kind, self.placement, f"{self.placement}: {message}", time_s, value)

    def _record(self, kind: RecordKind, payload: bytes, host_ns: int) -> None:
        if self.sinks:
            record = Record(kind, payload, self.code, max(0, host_ns))
            for sink in self.sinks:
                sink(record)

    def record_control(self, host_ns: int, command: bytes) -> None:
        """Log a command written to the control characteristic (its send time)."""
        self._record(RecordKind.CONTROL, command, host_ns)

    # ------------------------------------------------------------------ state

    def new_stream(self) -> None:
        """The sensor (re)started streaming: its counter restarts; a gap precedes."""
        self._loss.new_stream()
        self._last_c = None
        self._last_emit_c = None
        self._check_jump = True
        self._gap_next = self.samples > 0
        if self.witmotion:
            # No clock to carry across the outage: start a new smoothing line.
            self._mapper = ClockMapper(self._clock_params)
            self._wit_next = 0
            self._wit_probe = None

    def mark_connected(self, now_s: float, message: str = "streaming") -> list[SourceItem]:
        """Report the sensor connected (once per outage)."""
        if self.connected:
            return []
        self.connected = True
        if self._ever_connected:
            self.reconnects += 1
            if self._outage_start is not None:
                self.outage_s += max(0.0, now_s - self._outage_start)
            self._gap_next = True
        self._ever_connected = True
        self._outage_start = None
        return [self._event(StatusKind.CONNECTED, message, now_s)]

    def mark_disconnected(self, now_s: float, message: str) -> list[SourceItem]:
        """Report the sensor disconnected (once per outage)."""
        if not self.connected:
            return []
        self.connected = False
        self._outage_start = now_s
        self._gap_next = True
        return [self._event(StatusKind.DISCONNECTED, message, now_s)]

    def tick(self, now_s: float) -> list[SourceItem]:
        """Advance the session clock; report the sensor disconnected if silent too long."""
        self._now_s = max(self._now_s, now_s)
        last = self.last_arrival_s
        if self.connected and last is not None and now_s - last > self.silence_timeout_s:
            items = self.mark_disconnected(
                now_s, f"silent for {now_s - last:.1f} s (timeout {self.silence_timeout_s:g} s)"
            )
            self._outage_start = last  # the outage began with the silence
            return items
        return []

    def stats(self) -> SensorStats:
        """Snapshot of this sensor's counters."""
        window_s = _RATE_WINDOW_S
        if self._first_arrival_s is not None:
            window_s = min(window_s, max(self._now_s - self._first_arrival_s, 0.5))
        since = self._now_s - _RATE_WINDOW_S
        recent = sum(
            len(t) if first > since else int(np.count_nonzero(t > since))
            for first, _, t in self._rate_hist
        )
        outage = self.outage_s
        if self._outage_start is not None:
            outage += max(0.0, self._now_s - self._outage_start)
        return SensorStats(
            placement=self.placement,
            connected=self.connected,
            samples=self.samples,
            lost=self._loss.lost + self._wit_lost,
            duplicates=self._loss.duplicates,
            late=self.late,
            bad_frames=self.bad_frames,
            rate_hz=recent / window_s,
            battery_pct=self.battery_pct,
            reconnects=self.reconnects,
            outage_s=outage,
            clock_drift_ppm=self._mapper.drift_ppm if self._mapper.n_windows >= 3 else None,
            att_mtu=self.att_mtu,
            info=self.info,
            address=self.address,
        )

    # ------------------------------------------------------------------ inputs

    def feed_info(
        self, host_ns: int, payload: bytes, *, witmotion: bool = False
    ) -> list[SourceItem]:
        """The info value (read from the info characteristic, or an INFO record)."""
        payload = bytes(payload)
        now = self.session_s(host_ns)
        try:
            info = decode_info(payload)
        except FrameDecodeError as exc:
            return [self._event(StatusKind.WARNING, f"bad info value ignored ({exc})", now)]
        self._record(RecordKind.INFO, payload, host_ns)
        items: list[SourceItem] = []
        if self.info is not None and info.period_us != self.info.period_us:
            self.new_stream()
        if info != self.info or witmotion != self.witmotion:
            self.witmotion = witmotion
            self.info = info
            items.append(
                self._event(
                    StatusKind.INFO,
                    f"{'WitMotion' if witmotion else info.chip.name}, "
                    f"{info.sample_rate_hz:g} Hz, ±{info.acc_range_g} g, "
                    f"±{info.gyr_range_dps} °/s"
                    + (f", ATT MTU {self.att_mtu}" if self.att_mtu else ""),
                    now,
                )
            )
        if self._pending:
            pending, self._pending = self._pending, []
            items += self._process([h for h, _ in pending], [p for _, p in pending])
        return items

    def feed_battery(self, host_ns: int, percent: int) -> list[SourceItem]:
        """A Battery Level value (percent)."""
        pct = max(0, min(100, int(percent)))
        if pct == self.battery_pct:
            return []
        self.battery_pct = pct
        return [self._event(StatusKind.BATTERY, f"battery {pct} %", self.session_s(host_ns), pct)]

    def feed(
        self, host_ns: Sequence[int], payloads: Sequence[bytes], *, witmotion: bool = False
    ) -> list[SourceItem]:
        """Notifications of the data characteristic (or WitMotion's), in arrival order.

        Parameters
        ----------
        host_ns : sequence of int
            Host monotonic time (ns) at which each notification arrived.
        payloads : sequence of bytes
            The notification values, verbatim.
        witmotion : bool
            True for WitMotion notifications (decoded as such, timed by arrival).
        """
        if witmotion != self.witmotion:
            self.witmotion = witmotion
            self.new_stream()
        if self.sinks:
            kind = RecordKind.WITMOTION if self.witmotion else RecordKind.FRAME
            for h, p in zip(host_ns, payloads, strict=True):
                self._record(kind, p, h)
        if self.info is None:
            self._pending.extend(zip(host_ns, payloads, strict=True))
            dropped = len(self._pending) - _MAX_PENDING
            if dropped > 0:
                del self._pending[:dropped]
                self.bad_frames += dropped
            return []
        return self._process(list(host_ns), list(payloads))

    def feed_samples(self, samples: ImuSamples) -> list[SourceItem]:
        """Samples already on the session clock (a recording CSV): count and pass on."""
        if len(samples) == 0:
            return []
        now = float(samples.time_s[-1])
        self._now_s = max(self._now_s, now)
        items: list[SourceItem] = []
        if self.last_arrival_s is None:
            self._first_arrival_s = float(samples.time_s[0])
        elif float(samples.time_s[0]) - self.last_arrival_s > self.silence_timeout_s:
            items += self.tick(float(samples.time_s[0]))
        self.last_arrival_s = now
        if not self.connected:
            items += self.mark_connected(float(samples.time_s[0]))
        keep = samples.time_s > self._last_emit_t
        self.late += int((~keep).sum())
        if not keep.all():
            samples = ImuSamples(
                samples.time_s[keep], samples.acc_mps2[keep], samples.gyr_rps[keep]
            )
        if len(samples) == 0:
            return items
        self._last_emit_t = float(samples.time_s[-1])
        self.samples += len(samples)
        self._count_rate(samples.time_s)
        gap, self._gap_next = self._gap_next, False
        items.append(SensorBatch(self.placement, samples, None, 0, gap, now, now))
        return items

    # ------------------------------------------------------------------ decoding

    def _process(self, host_ns: list[int], payloads: list[bytes]) -> list[SourceItem]:
        if not payloads:
            return []
        if 1 < len(payloads) <= _FEW_NOTIFICATIONS and self.connected and not self.witmotion:
            # A few notifications at once (the host was busy a moment): one at a time, the
            # same result as separate calls. Through the array path below, two cost
            # about four of the shortcut, and the more a host falls behind the more it
            # would spend catching up.
            items: list[SourceItem] = []
            for h, p in zip(host_ns, payloads, strict=True):
                items += self._process([h], [p])
            return items
        if len(payloads) == 1 and self.connected and not self.witmotion:
            # The live case: one notification, a stream already going. Same result as
            # below (see _decode_one), without most of its array work.
            now = (host_ns[0] - self.t0_ns) * 1e-9
            batch = self._decode_one(payloads[0], now)
            if batch is not _NOT_USUAL:
                self._now_s = max(self._now_s, now)
                self.last_arrival_s = now
                items = [] if batch is None else [batch]
                return items + self._loss_event(now)
        arrival = (np.asarray(host_ns, dtype=np.int64) - self.t0_ns) * 1e-9
        now = float(arrival[-1])
        self._now_s = max(self._now_s, now)
        items = []
        if self.last_arrival_s is None:
            self._first_arrival_s = float(arrival[0])
        self.last_arrival_s = now
        if not self.connected:
            items += self.mark_connected(float(arrival[0]))
        if self.witmotion:
            batch = self._decode_witmotion(payloads, arrival, items)
        else:
            batch = self._decode_frames(payloads, arrival, items)
        if batch is not None:
            items.append(batch)
        items += self._loss_event(now)
        return items

    def _warn_bad(self, errors: list[FrameDecodeError], n_bad: int, now: float) -> list[SourceItem]:
        self.bad_frames += n_bad
        self._warned_frames += n_bad
        if now - self._last_warning_s < 1.0:
            return []
        count, self._warned_frames = self._warned_frames, 0
        self._last_warning_s = now
        first = f" (first: {errors[0]})" if errors else ""
        return [self._event(StatusKind.WARNING, f"{count} bad frame(s) skipped{first}", now)]

    def _decode_frames(
        self, payloads: list[bytes], arrival: NDArray[np.float64], items: list[SourceItem]
    ) -> SensorBatch | None:
        assert self.info is not None  # checked by feed()
        if any(p and p[0] == _TIME_SYNC_BYTE for p in payloads):
            # Time-sync answers carry no samples; the lower envelope of the data frames
            # already bounds the clock, so they are logged (above) and skipped here.
            is_data = np.array([not (p and p[0] == _TIME_SYNC_BYTE) for p in payloads])
            payloads = [p for p, d in zip(payloads, is_data, strict=True) if d]
            arrival = arrival[is_data]
        if not payloads:
            return None
        batch, errors = decode_frames(payloads, self.info, skip_bad=True)
        if errors:
            items += self._warn_bad(errors, len(errors), float(arrival[-1]))
        n = len(batch)
        if n == 0:
            return None
        a = arrival[batch.frame_index]
        assert batch.sensor_time_us is not None and batch.counter is not None
        ref = self._last_s_us if self._last_s_us is not None else int(batch.sensor_time_us[0])
        s_us = unwrap(batch.sensor_time_us, ref, _U32)
        period = self.info.period_us
        predicted = None
        if self._last_c is not None and self._last_s_us is not None:
            predicted = self._last_c + np.round((s_us - self._last_s_us) / period).astype(np.int64)
        u = self._loss.unwrap(batch.counter, predicted)

        # Frame points: the last sample of each frame bounds its send time.
        last = _last_of_each_frame(batch.frame_index)
        if self._anchor_us is not None and self._mapper.ready:
            res = self._mapper.residual((s_us[last] - self._anchor_us) * 1e-6, a[last])
            low = float(res.min())
            late_bound = _CLOCK_JUMP_LATE_AFTER_GAP_S if self._check_jump else _CLOCK_JUMP_LATE_S
            if low < _CLOCK_JUMP_EARLY_S or low > late_bound:
                items.append(
                    self._event(
                        StatusKind.WARNING,
                        f"sensor clock jumped by {-low:+.3f} s; re-anchored",
                        float(a[0]),
                    )
                )
                self._mapper = ClockMapper(self._clock_params)
                self._anchor_us = None
                if not self._check_jump:
                    self._loss.new_stream()
                    self._last_emit_c = None
                    u = self._loss.unwrap(batch.counter, None)
                self._gap_next = True
        self._check_jump = False
        if self._anchor_us is None:
            self._anchor_us = int(s_us[0])
        sensor_s = (s_us - self._anchor_us) * 1e-6
        self._mapper.add(sensor_s[last], a[last])

        fresh = self._loss.update(u)
        in_order = bool(fresh.all()) and _increasing(u)
        top = n - 1 if in_order else int(np.argmax(u))
        if self._last_c is None or u[top] >= self._last_c:
            self._last_c, self._last_s_us = int(u[top]), int(s_us[top])
        if in_order:
            # The usual case (every sample new, in counter order, after all sent): no
            # selection to make, and the arrays pass on as they are.
            times = self._mapper.map(sensor_s)
            if (self._last_emit_c is None or u[0] > self._last_emit_c) and (
                times[0] > self._last_emit_t and _increasing(times)
            ):
                return self._emit(
                    times,
                    batch.acc_mps2,
                    batch.gyr_rps,
                    batch.counter,
                    u,
                    _earliest(a),
                    float(arrival[-1]),
                )
        sel = np.flatnonzero(fresh)
        sel = sel[np.argsort(u[sel], kind="stable")]
        times = self._mapper.map(sensor_s[sel])
        keep, times = self._in_order(times, u[sel])
        sel = sel[keep]
        return self._emit(
            times,
            batch.acc_mps2[sel],
            batch.gyr_rps[sel],
            batch.counter[sel],
            u[sel],
            _earliest(a[sel]),
            float(arrival[-1]),
        )

    def _decode_one(self, payload: bytes, arrival_s: float) -> SensorBatch | None | object:
        """:meth:`_decode_frames` of one notification in the usual case, in scalars.

        The usual case: one good data frame, the stream under way (clock anchored and
        fitted, a counter and sensor time before it), no clock jump, its counters the
        next ones in order. Returns :data:`_NOT_USUAL`, having changed nothing, for
        anything else; otherwise exactly what :meth:`_decode_frames` returns and does
        (the same operations on Python floats and ints as on its arrays: the tests hold
        the two paths to identical output). None: nothing to emit.
        """
        info = self.info
        last_c, last_s_us, anchor = self._last_c, self._last_s_us, self._anchor_us
        if info is None or last_c is None or last_s_us is None or anchor is None:
            return _NOT_USUAL
        if not self._mapper.ready or self._last_emit_c is None or self.last_arrival_s is None:
            return _NOT_USUAL
        frame = read_data_frame(payload)
        if frame is None:
            return _NOT_USUAL
        counter0, t0_us, counts = frame
        n = len(counts)
        period = info.period_us
        u0, s_last_us, run = _unwrap_run(counter0, t0_us, n, period, last_c, last_s_us)
        if not run:
            return _NOT_USUAL
        highest = self._loss.highest
        if highest is None or u0 <= highest:
            return _NOT_USUAL
        sensor_last_s = (s_last_us - anchor) * 1e-6
        low = arrival_s - self._mapper.map_one(sensor_last_s)
        late_bound = _CLOCK_JUMP_LATE_AFTER_GAP_S if self._check_jump else _CLOCK_JUMP_LATE_S
        if low < _CLOCK_JUMP_EARLY_S or low > late_bound:
            return _NOT_USUAL
        # From here on, the state changes as in _decode_frames.
        self._check_jump = False
        self._mapper.add_point(sensor_last_s, arrival_s)
        self._loss.update_run(u0, n)
        if u0 + n - 1 >= last_c:
            self._last_c, self._last_s_us = u0 + n - 1, s_last_us
        offset, rate = self._mapper.line
        times, acc, gyr, u_arr, increasing = _usual_samples(
            counts,
            t0_us,
            period,
            last_s_us,
            anchor,
            offset,
            rate,
            info.acc_scale_mps2_per_lsb,
            info.gyr_scale_rps_per_lsb,
            u0,
        )
        counter = u_arr.astype(np.uint16)  # the wire's counters: u modulo 2**16
        if not (u0 > self._last_emit_c and times[0] > self._last_emit_t and increasing):
            keep, times = self._in_order(times, u_arr)
            acc, gyr, counter = acc[keep], gyr[keep], counter[keep]
            u_arr = u_arr[keep]
        return self._emit(times, acc, gyr, counter, u_arr, arrival_s, arrival_s)

    def _in_order(
        self, times: NDArray[np.float64], counters: NDArray[np.int64]
    ) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """Which samples can still be emitted, and their times: ``(keep, times[keep])``.

        A sample whose counter is not after the last one emitted came after a later
        sample had been delivered (a reordered or repeated frame): dropped, and counted
        as late. The others are all kept, in order. Their mapped times can still fall
        before samples already delivered when the clock fit moved back: a stream whose
        first frames came late (a burst after the host stalled) fitted its line through
        them, and the next frame on time lowers it by the stall. Rather than losing
        those samples, their times are slewed: a sample whose time would not come
        after the one before is placed half a nominal period after it, so the stream
        catches up with the fit at half its rate (a 0.2 s step within 0.4 s of
        samples). Times already in order are unchanged.
        """
        keep = np.ones(len(times), dtype=bool)
        if self._last_emit_c is not None:
            keep &= counters > self._last_emit_c
        self.late += int((~keep).sum())
        times = times[keep]
        assert self.info is not None  # noqa: S101 - decoding needs it
        step = 0.5 * self.info.period_us * 1e-6
        prev = self._last_emit_t
        if len(times) and (times[0] <= prev or not _increasing(times)):
            out = times.tolist()
            for i, t in enumerate(out):
                if t <= prev:  # the time a dropped sample would have had: slew
                    out[i] = t = prev + step
                prev = t
            times = np.array(out)
        return keep, times

    def _decode_witmotion(
        self, payloads: list[bytes], arrival: NDArray[np.float64], items: list[SourceItem]
    ) -> SensorBatch | None:
        assert self.info is not None
        wb = decode_witmotion(payloads)
        if wb.skipped_bytes:
            items += self._warn_bad([], 1, float(arrival[-1]))
        n = len(wb.samples)
        if n == 0:
            return None
        a = arrival[wb.samples.frame_index]
        period_s = self.info.period_us * 1e-6
        last = _last_of_each_frame(wb.samples.frame_index)
        k = self._wit_next + np.arange(n, dtype=np.int64)
        if self._mapper.ready:
            # No counter: a loss shows as every notification arriving a period or more
            # later than the fitted line predicts, for longer than any burst lasts.
            res = float(self._mapper.residual(k[last] * period_s, a[last]).min())
            start, low = self._wit_probe or (float(a[0]), np.inf)
            low = min(low, res)
            if float(a[-1]) - start >= _WIT_PROBE_S:
                if low > _WIT_LOSS_PERIODS * period_s:
                    shift = int(round(low / period_s))
                    self._wit_lost += shift
                    k += shift
                self._wit_probe = None
            else:
                self._wit_probe = (start, low)
        self._wit_next = int(k[-1]) + 1
        self._mapper.add(k[last] * period_s, a[last])
        times = self._mapper.map(k * period_s)
        keep, times = self._in_order(times, k)
        self._last_emit_c = None  # indices are not counters; order is by time alone
        return self._emit(
            times,
            wb.samples.acc_mps2[keep],
            wb.samples.gyr_rps[keep],
            None,
            k[keep],
            _earliest(a[keep]),
            float(arrival[-1]),
        )

    def _emit(
        self,
        times: NDArray[np.float64],
        acc: NDArray[np.float64],
        gyr: NDArray[np.float64],
        counter: NDArray[np.uint16] | None,
        unwrapped: NDArray[np.int64],
        first_arrival_s: float,
        arrival_s: float,
    ) -> SensorBatch | None:
        lost_now = self._loss.lost + self._wit_lost
        if len(times) == 0:
            return None
        self._last_emit_t = float(times[-1])
        if not self.witmotion:
            self._last_emit_c = int(unwrapped[-1])
        self.samples += len(times)
        self._count_rate(times)
        delta, self._lost_emitted = lost_now - self._lost_emitted, lost_now
        gap, self._gap_next = self._gap_next, False
        return SensorBatch(
            placement=self.placement,
            samples=ImuSamples(
                np.ascontiguousarray(times),
                np.ascontiguousarray(acc, dtype=np.float64),
                np.ascontiguousarray(gyr, dtype=np.float64),
            ),
            counter=None if counter is None else np.ascontiguousarray(counter),
            lost=max(0, delta),
            gap_before=gap,
            arrival_s=arrival_s,
            first_arrival_s=first_arrival_s,
        )

    def _count_rate(self, times: NDArray[np.float64]) -> None:
        last = float(times[-1])
        self._rate_hist.append((float(times[0]), last, times))
        while self._rate_hist and self._rate_hist[0][1] < last - _RATE_WINDOW_S:
            self._rate_hist.popleft()

    def _loss_event(self, now: float) -> list[SourceItem]:
        lost = self._loss.lost + self._wit_lost
        if lost <= self._lost_evented or now - self._last_loss_event_s < 1.0:
            return []
        delta, self._lost_evented = lost - self._lost_evented, lost
        self._last_loss_event_s = now
        return [self._event(StatusKind.LOSS, f"{delta} sample(s) lost ({lost} in all)", now, delta)]


@compiled
def _sensor_us(t0_us, i, period_us, last_s_us):  # pragma: no cover - compiled
    """Sample `i`'s u32 sensor time (µs) unwrapped to the value nearest `last_s_us`."""
    t_us = (t0_us + i * period_us) & 0xFFFFFFFF
    return last_s_us + (t_us - last_s_us + _HALF32) % _U32 - _HALF32


@compiled
def _unwrap_run(counter0, t0_us, n, period_us, last_c, last_s_us):  # pragma: no cover
    """The shortcut's unwrapping of one frame, as :func:`~ingest._clock.unwrap` does.

    The u32 sensor times of its `n` samples near the last one (`last_s_us`), and the u16
    counters near those the sensor clock predicts from `last_c`. Returns the first
    sample's unwrapped counter, the last sample's unwrapped sensor time (µs), and
    whether the counters run on one by one. Compiled (Python integer arithmetic on
    every notification); the same integers as Python's ``%`` and ``round``.
    """
    u0 = 0
    u_prev = 0
    s_us = 0
    for i in range(n):
        s_us = _sensor_us(t0_us, i, period_us, last_s_us)
        predicted = last_c + int(np.rint((s_us - last_s_us) / period_us))
        c = (counter0 + i) & 0xFFFF
        u = predicted + (c - predicted + _HALF16) % _U16 - _HALF16
        if i == 0:
            u0 = u
        elif u != u_prev + 1:
            return u0, s_us, False
        u_prev = u
    return u0, s_us, True


@compiled
def _usual_samples(
    counts, t0_us, period_us, last_s_us, anchor_us, offset_s, rate, acc_scale, gyr_scale, u0
):  # pragma: no cover - compiled
    """The shortcut's samples of one frame whose counters run on from `u0`.

    Times on the session clock (the fitted line ``offset_s + rate * sensor_s``, sensor
    time from `anchor_us`), specific force and angular rate in SI units, unwrapped
    counters, and whether the times increase. The arithmetic of the array path, in the
    same order.
    """
    n = counts.shape[0]
    times = np.empty(n)
    acc = np.empty((n, 3))
    gyr = np.empty((n, 3))
    u = np.empty(n, dtype=np.int64)
    increasing = True
    for i in range(n):
        s_us = _sensor_us(t0_us, i, period_us, last_s_us)
        times[i] = offset_s + rate * ((s_us - anchor_us) * 1e-6)
        if i and not times[i] > times[i - 1]:
            increasing = False
        for k in range(3):
            acc[i, k] = counts[i, k] * acc_scale
            gyr[i, k] = counts[i, k + 3] * gyr_scale
        u[i] = u0 + i
    return times, acc, gyr, u, increasing


#: The compiled loops of ingest (each compiled for one set of argument types).
KERNELS = (_unwrap_run, _usual_samples, _fit_windows, _line)


def warm_up() -> None:
    """Load (or compile, the first time on a machine) ingest's compiled loops now.

    What :func:`processing.warm_up` does for the core: a live server calls both when it
    starts, so that no session's first notification waits for them. The arguments
    have the types the decoder passes: an int16 view of a frame, read-only from
    ``bytes`` (BLE, relays, logs), writable from a ``bytearray``.
    """
    _unwrap_run(0, 0, 1, 10_000, 0, 0)
    _warm_up_clock()
    for payload in (bytes(12), bytearray(12)):
        counts = np.frombuffer(payload, dtype="<i2").reshape(1, 6)
        _usual_samples(counts, 0, 10_000, 0, 0, 0.0, 1.0, 1.0, 1.0, 0)


def _earliest(a: NDArray[np.float64]) -> float:
    """The earliest arrival of samples about to be emitted (NaN if none: not used)."""
    return float(a.min()) if a.size else math.nan


def _increasing(x: NDArray[np.int64] | NDArray[np.float64]) -> bool:
    """True if `x` is strictly increasing."""
    return len(x) < 2 or bool((x[1:] > x[:-1]).all())


def _last_of_each_frame(frame_index: NDArray[np.int64]) -> NDArray[np.intp]:
    """Index of the last sample of each frame (samples are grouped by frame)."""
    ends = np.flatnonzero(frame_index[1:] != frame_index[:-1])
    return np.append(ends, len(frame_index) - 1)


def encode_witmotion_info(placement: Placement, rate_hz: float) -> bytes:
    """The synthesised INFO payload of a WitMotion sensor (see :func:`witmotion_info`)."""
    return encode_info(witmotion_info(placement, rate_hz))
