"""The garbage collector of the live processes: fewer full collections, none longer.

A full collection stops the event loop while it walks every tracked object, and what
it touches is cold in the caches: on the benchmark machine 10-25 ms in the server
with 50 athletes live (a few thousand objects per session: tasks, connections, reps),
4-10 ms in a worker, every few seconds. Two habits keep that off the live path:

- :func:`gc.freeze` once started: the modules, the app and the compiled loops live as
  long as the process, and a frozen object is never walked again;
- young collections :data:`YOUNG_THRESHOLD` allocations apart instead of CPython's
  700: full collections follow every 100 young ones, so they come ten times less
  often (each young one then walks up to that many new objects, which are still hot:
  well under a millisecond). Cyclic garbage is found as surely, only later: in the
  2-hour memory benchmark the server's RSS stays within 2 MB (docs/performance.md).

The arithmetic is CPython 3.11's (to 3.13); 3.14's incremental collector spaces its
work differently, and only the freeze would still matter there.
"""

from __future__ import annotations

import gc

#: Net container allocations between two young collections (CPython's default: 700).
YOUNG_THRESHOLD = 10_000


def settle() -> None:
    """Freeze everything alive now and space the collections (see the module docstring)."""
    gc.freeze()
    young, middle, old = gc.get_threshold()
    if young:  # 0: collection is off; leave it so
        gc.set_threshold(max(young, YOUNG_THRESHOLD), middle, old)
