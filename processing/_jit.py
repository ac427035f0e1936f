"""How the core's per-sample loops are compiled (numba)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from numba import njit


def compiled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` compiled to machine code on first call, and the result kept on disk.

    numba keeps compiled code beside the module (``__pycache__``) or in the user's
    cache directory (``NUMBA_CACHE_DIR`` to choose). Where neither can be written (a
    read-only install under a user without a home), the loop is compiled in memory
    in each process instead: a few seconds at start, then the same speed.
    """
    try:
        return njit(cache=True, nogil=True)(fn)  # type: ignore[no-any-return]
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return njit(nogil=True)(fn)  # type: ignore[no-any-return]
