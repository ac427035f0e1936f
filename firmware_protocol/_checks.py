"""Argument checks shared by the encoders and the constructors of wire types."""

from __future__ import annotations

from firmware_protocol._errors import EncodeError


def check_uint(name: str, value: object, maximum: int, *, minimum: int = 0) -> None:
    """Raise EncodeError unless `value` is an int (not a bool) in ``minimum..maximum``."""
    # bool is an int subclass; True as a sample rate or token is a caller's mistake.
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise EncodeError(f"{name} must be an integer in {minimum}..{maximum}, got {value!r}")
