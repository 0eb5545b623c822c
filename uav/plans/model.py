"""The flight-plan model and the 3-D, timed path a check works on.

A plan is a list of mission items as the autopilot numbers them (item 0 is home, as in
ArduPilot), each with an explicit altitude frame. :func:`uav.plans.path.build_path` turns
it into a :class:`FlightPath`: the points the drone will actually pass, from take-off at
home to landing, every altitude above home, each with the time it gets there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path


class AltFrame(StrEnum):
    """The altitude frame of a waypoint."""

    AMSL = "amsl"  # MAV_FRAME_GLOBAL(_INT): above mean sea level
    ABOVE_HOME = "above-home"  # MAV_FRAME_GLOBAL_RELATIVE_ALT(_INT): above home/take-off
    ABOVE_TERRAIN = "above-terrain"  # MAV_FRAME_GLOBAL_TERRAIN_ALT(_INT)


# MAV_FRAME numbers -> AltFrame (MISSION frames 3/6 relative, 0/5 AMSL, 10/11 terrain)
MAV_FRAME_TO_ALT: dict[int, AltFrame] = {
    0: AltFrame.AMSL,
    5: AltFrame.AMSL,
    3: AltFrame.ABOVE_HOME,
    6: AltFrame.ABOVE_HOME,
    10: AltFrame.ABOVE_TERRAIN,
    11: AltFrame.ABOVE_TERRAIN,
}


class MavCmd(IntEnum):
    """MAV_CMD numbers the plan model interprets (others are kept and not flown)."""

    NAV_WAYPOINT = 16
    NAV_LOITER_UNLIM = 17
    NAV_LOITER_TURNS = 18
    NAV_LOITER_TIME = 19
    NAV_RETURN_TO_LAUNCH = 20
    NAV_LAND = 21
    NAV_TAKEOFF = 22
    NAV_SPLINE_WAYPOINT = 82
    NAV_DELAY = 93
    DO_JUMP = 177


@dataclass(frozen=True)
class MissionItem:
    """One mission item, numbered as the autopilot numbers it (1 = first after home)."""

    seq: int
    command: int
    frame: AltFrame | None  # None for items without a position (DO_*, CONDITION_*)
    lat_deg: float
    lon_deg: float
    alt_m: float
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    line: int | None = None  # where the format has lines


@dataclass(frozen=True)
class FlightPlan:
    """A plan as read from a file."""

    source: Path
    format: str
    home_lat_deg: float
    home_lon_deg: float
    home_amsl_m: float | None  # None when the file does not say
    items: tuple[MissionItem, ...]
    cruise_speed_mps: float | None = None


@dataclass(frozen=True)
class PathPoint:
    """A point the drone passes. ``alt_m`` is above home (take-off point)."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    t_s: float  # seconds after take-off when the drone gets here
    label: str  # "home", "1", "3", "rtl", ... : the mission seq it belongs to
    hold_s: float = 0.0  # time spent here before the next leg


@dataclass(frozen=True)
class FlightPath:
    """The flown path: legs join consecutive points."""

    points: tuple[PathPoint, ...]
    home_lat_deg: float
    home_lon_deg: float
    home_amsl_m: float | None
    notes: tuple[str, ...] = field(default=())  # assumptions the path relied on

    @property
    def duration_s(self) -> float:
        last = self.points[-1]
        return last.t_s + last.hold_s


@dataclass(frozen=True)
class FlightProfile:
    """Speeds and RTL behaviour, ArduCopter defaults (WPNAV_*, RTL_ALT, LAND_SPEED)."""

    speed_mps: float = 10.0  # WPNAV_SPEED 1000 cm/s
    climb_mps: float = 2.5  # WPNAV_SPEED_UP 250 cm/s
    descent_mps: float = 1.5  # WPNAV_SPEED_DN 150 cm/s
    rtl_alt_m: float = 15.0  # RTL_ALT 1500 cm
    land_speed_mps: float = 0.5  # LAND_SPEED 50 cm/s (below LAND_ALT_LOW)
