"""Errors of the simulator launcher. All derive from :class:`uav.errors.UavError` (exit 2)."""

from __future__ import annotations

from uav.errors import UavError


class SitlError(UavError):
    """A simulator could not be found, started, reached or stopped."""


class SitlTimeout(SitlError):
    """A bounded wait ran out. ``last_seen`` is the last value the wait observed."""

    def __init__(self, message: str, last_seen: object = None) -> None:
        self.last_seen = last_seen
        super().__init__(message)
