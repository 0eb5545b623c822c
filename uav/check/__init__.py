"""The flight-plan check: a path against the zones, in 3-D and time.

Build a :class:`ZoneIndex` once from the zones, then call :func:`check_path` for each plan;
the semantics are documented in :mod:`uav.check.engine`.
"""

from uav.check.engine import check_path
from uav.check.index import ZoneIndex
from uav.check.report import CheckReport, Entry, Finding

__all__ = ["CheckReport", "Entry", "Finding", "ZoneIndex", "check_path"]
