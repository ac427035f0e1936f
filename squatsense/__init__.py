"""squatsense: a squat coach from cheap Bluetooth IMUs."""

__version__ = "0.1.0"
