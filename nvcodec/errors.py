"""One error hierarchy for the whole library.

Callers catch :class:`ActvError` and never see ``IndexError``, ``struct.error``
or a third-party exception for a problem that lies in their input.
"""

from __future__ import annotations


class ActvError(Exception):
    """Base class of every error nvcodec raises on purpose."""


class ConfigError(ActvError, ValueError):
    """A configuration value is out of range or inconsistent with another."""


class InputError(ActvError):
    """A video, image folder or mask cannot be read or holds no usable frames."""


class OutputError(ActvError):
    """A video or image sequence cannot be written where it was asked for."""


class ArgumentError(ActvError, ValueError):
    """An argument of a call is out of range (a time outside the video, a size of 0...)."""


class DeviceError(ActvError):
    """The requested compute device is not available on this machine."""


class FormatError(ActvError):
    """A .actv file is damaged, truncated, hostile or from a newer format version."""
