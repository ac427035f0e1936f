"""Exact loss accounting from the wire's sample counter.

The counter counts every sample the IMU produced (PROTOCOL.md §2.1), so within one
stream (from START_STREAMING on) the samples lost are exactly the counter values between
the lowest and the highest received that never arrived:

    lost = (highest − lowest + 1) − distinct values received.

That definition needs no assumption about order: a duplicate adds nothing to the
distinct count, a frame that arrives late fills its hole, a frame that arrives before
an earlier one just moves ``lowest``. Counters are unwrapped (u16) to the value nearest
the one predicted from the sensor clock, so a silence longer than 65536 samples is
still counted right. Distinct values are tracked in a ring of the last ``window``
counters; anything older that arrives is counted as a duplicate.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ingest._clock import unwrap

#: Counters of one stream wrap at 2**16.
COUNTER_MODULUS: int = 1 << 16


class LossCounter:
    """Loss, duplicate and order accounting for one sensor's stream of counters.

    Parameters
    ----------
    window : int
        Counters remembered for duplicate detection (a power of two). Default 2**15
        (5.5 min at 100 Hz).

    Attributes
    ----------
    received : int
        Samples received, duplicates included.
    duplicates : int
        Samples whose counter had been received before (or that fell behind the window).
    lost_closed : int
        Samples lost in earlier streams (before the last :meth:`new_stream`).
    """

    def __init__(self, window: int = 1 << 15) -> None:
        if window & (window - 1) or window < COUNTER_MODULUS // 2:
            raise ValueError(f"window must be a power of two >= 32768, got {window}")
        self._window = window
        self._seen = np.zeros(window, dtype=bool)
        self.received = 0
        self.duplicates = 0
        self.lost_closed = 0
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._seen[:] = False
        self._lowest: int | None = None
        self._highest: int | None = None
        self._distinct = 0

    @property
    def highest(self) -> int | None:
        """Highest unwrapped counter of the current stream, or None before any."""
        return self._highest

    @property
    def lost(self) -> int:
        """Samples lost so far, over all streams."""
        return self.lost_closed + self._lost_open()

    def _lost_open(self) -> int:
        if self._highest is None or self._lowest is None:
            return 0
        return self._highest - self._lowest + 1 - self._distinct

    def new_stream(self) -> None:
        """Close the current stream (the sensor restarted its counter, e.g. on reconnect)."""
        self.lost_closed += self._lost_open()
        self._reset_stream()

    def unwrap(self, counter: NDArray[np.uint16], predicted: NDArray[np.int64] | None) -> NDArray:
        """Unwrap wire counters (u16) of the current stream.

        Parameters
        ----------
        counter : ndarray of uint16, shape (N,)
        predicted : ndarray of int64, shape (N,), or None
            Each sample's expected unwrapped counter (from the sensor clock); None to
            unwrap near the highest counter so far (right while fewer than 32768
            samples go missing in a row).
        """
        if predicted is None:
            predicted = np.full(len(counter), self._highest if self._highest is not None else 0)
            if self._highest is None and len(counter):
                predicted[:] = int(counter[0])
        return unwrap(counter, predicted, COUNTER_MODULUS)

    def _clear_slots(self, start: int, stop: int) -> None:
        """Forget the counters whose slots ``start .. stop - 1`` (unwrapped) reuse."""
        w = self._window
        if stop - start >= w:
            self._seen[:] = False
            return
        i, j = start % w, stop % w
        if i < j:
            self._seen[i:j] = False
        else:  # the range wraps around the ring
            self._seen[i:] = False
            self._seen[:j] = False

    def update_run(self, first: int, n: int) -> bool:
        """Account for the counters ``first .. first + n - 1`` if all are new, in order.

        Exactly :meth:`update` of ``arange(first, first + n)`` when that returns all
        True: the usual notification, taken without array work. Returns False, and
        changes nothing, where :meth:`update` is needed (no counter yet, or not above
        the highest so far).
        """
        if self._highest is None or first <= self._highest or not 1 <= n <= self._window:
            return False
        w = self._window
        new_high = first + n - 1
        self.received += n
        self._clear_slots(self._highest + 1, new_high + 1)
        i, j = first % w, (new_high + 1) % w
        if i < j:
            self._seen[i:j] = True
        else:  # the run wraps around the ring
            self._seen[i:] = True
            self._seen[:j] = True
        self._distinct += n
        self._lowest = first if self._lowest is None else min(self._lowest, first)
        self._highest = new_high
        return True

    def update(self, unwrapped: NDArray[np.int64]) -> NDArray[np.bool_]:
        """Account for received samples; return which of them are new.

        Parameters
        ----------
        unwrapped : ndarray of int64, shape (N,)
            Unwrapped counters (see :meth:`unwrap`), in arrival order.

        Returns
        -------
        ndarray of bool, shape (N,)
            True for the first arrival of each counter value not seen before.
        """
        u = np.asarray(unwrapped, dtype=np.int64)
        n = len(u)
        self.received += n
        if n == 0:
            return np.zeros(0, dtype=bool)
        w = self._window
        new_high = int(u.max()) if self._highest is None else max(self._highest, int(u.max()))
        if self._highest is not None and new_high > self._highest:
            # Slots of counters entering the window held counters now leaving it.
            self._clear_slots(self._highest + 1, new_high + 1)
        if (
            (self._highest is None or int(u[0]) > self._highest)
            and int(u[0]) > new_high - w
            and (n == 1 or bool((u[1:] > u[:-1]).all()))
        ):
            # The usual case: in order, all above what came before (their slots were
            # just cleared), so all new.
            fresh = np.ones(n, dtype=bool)
            self._seen[u % w] = True
            low = int(u[0])
        else:
            first = np.zeros(n, dtype=bool)
            first[np.unique(u, return_index=True)[1]] = True
            fresh = first & (u > new_high - w)
            fresh[fresh] = ~self._seen[u[fresh] % w]
            self._seen[u[fresh] % w] = True
            low = int(u[fresh].min()) if fresh.any() else None
        k = int(fresh.sum())
        self._distinct += k
        self.duplicates += n - k
        if low is not None:
            self._lowest = low if self._lowest is None else min(self._lowest, low)
        self._highest = new_high
        return fresh
