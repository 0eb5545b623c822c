"""The seams inside the emulator: what the mission/fence/traffic parts need from the vehicle.

The vehicle core (``uav.sim.vehicle`` and friends) implements :class:`VehicleServices` and
:class:`LinkPort`; the mission protocol (``uav.sim.mission``), the fence
(``uav.sim.fence``) and the traffic simulator (``uav.sim.traffic``) use only these.

Mission, fence and rally items are stored as pymavlink ``MAVLink_mission_item_int_message``
objects (x/y in degE7, z in metres), exactly as they would be sent in a download.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

MAV_MISSION_TYPE_MISSION = 0
MAV_MISSION_TYPE_FENCE = 1
MAV_MISSION_TYPE_RALLY = 2


class LinkPort(Protocol):
    """One MAVLink link of the vehicle (SERIAL0/1/2)."""

    index: int  # 0 for SERIAL0 (tcp 5760+10N), 1 for SERIAL1, 2 for SERIAL2
    mav: Any  # the pymavlink MAVLink encoder of this link (vehicle sysid/compid, signing)

    def send(self, msg: Any) -> None:
        """Send one message on this link only."""


@dataclass(frozen=True)
class Position:
    lat_deg: float
    lon_deg: float
    alt_amsl_m: float
    relative_alt_m: float  # above home
    vn_mps: float = 0.0
    ve_mps: float = 0.0
    vd_mps: float = 0.0


class VehicleServices(Protocol):
    """What the vehicle core offers to its parts."""

    def now_s(self) -> float:
        """Vehicle seconds since boot (runs ``speedup`` times faster than wall time)."""

    def param(self, name: str) -> float:
        """Current value of a parameter (KeyError if it does not exist)."""

    def statustext(self, severity: int, text: str) -> None:
        """STATUSTEXT to every link."""

    def broadcast(self, msg: Any) -> None:
        """Send one message on every link."""

    def home(self) -> tuple[float, float, float] | None:
        """(lat_deg, lon_deg, alt_amsl_m) once home is set, else None."""

    def position(self) -> Position | None:
        """The vehicle's position once the EKF has an origin, else None."""

    def is_armed(self) -> bool: ...

    def custom_mode(self) -> int: ...

    def set_mode(self, custom_mode: int) -> bool:
        """Change mode as ArduCopter would (False if refused); sends the HEARTBEAT at once."""

    def mission_changed(self, mission_type: int) -> None:
        """Called by the mission server after a successful upload or clear."""
