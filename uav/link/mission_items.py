"""Mission, fence and rally items as MISSION_ITEM_INT carries them, and their conversions.

* :class:`MissionItemInt`: one item (x/y in degE7, z in metres), to and from pymavlink.
* :func:`on_vehicle` / :func:`difference`: what ArduCopter gives back in a download, as observed
  in the traces: mission frame 2 (MISSION) comes back as 0 (GLOBAL) and seq 0 is the vehicle's
  home, not the uploaded placeholder; fence items come back with frame 0, autocontinue 0 and
  z 0. Rally items were not recorded and are compared as sent.
* :func:`plan_to_mission_items` / :func:`mission_items_to_plan_json`: a
  :class:`~uav.plans.model.FlightPlan` to the items to upload, and downloaded items to a
  QGroundControl ``.plan`` document that :func:`uav.plans.readers.read_plan` reads back.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, replace
from typing import Any

from uav.errors import PlanError
from uav.link.state import Home
from uav.plans.model import AltFrame, FlightPlan, MissionItem
from uav.plans.path import POSITIONAL

MISSION = 0
FENCE = 1
RALLY = 2
MAV_FRAME_GLOBAL = 0
MAV_FRAME_MISSION = 2
MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_TAKEOFF = 22

ALT_FRAME_TO_MAV: dict[AltFrame, int] = {
    AltFrame.ABOVE_HOME: 3,  # MAV_FRAME_GLOBAL_RELATIVE_ALT
    AltFrame.AMSL: 0,  # MAV_FRAME_GLOBAL
    AltFrame.ABOVE_TERRAIN: 10,  # MAV_FRAME_GLOBAL_TERRAIN_ALT
}


@dataclass(frozen=True)
class MissionItemInt:
    seq: int
    command: int
    frame: int
    x: int  # latitude in degE7 (or param5)
    y: int  # longitude in degE7 (or param6)
    z: float  # altitude in metres, in the frame's reference (or param7)
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    autocontinue: int = 1
    current: int = 0
    mission_type: int = MISSION

    @property
    def lat_deg(self) -> float:
        return self.x / 1e7

    @property
    def lon_deg(self) -> float:
        return self.y / 1e7

    def encode(self, mav: Any, target_system: int, target_component: int) -> Any:
        """The MISSION_ITEM_INT message for this item."""
        return mav.mission_item_int_encode(
            target_system,
            target_component,
            self.seq,
            self.frame,
            self.command,
            self.current,
            self.autocontinue,
            self.param1,
            self.param2,
            self.param3,
            self.param4,
            self.x,
            self.y,
            self.z,
            self.mission_type,
        )

    @classmethod
    def from_message(cls, msg: Any) -> MissionItemInt:
        """From a MISSION_ITEM_INT, or a legacy float MISSION_ITEM (x/y in degrees)."""
        if msg.get_type() == "MISSION_ITEM":
            x, y = round(msg.x * 1e7), round(msg.y * 1e7)
        else:
            x, y = int(msg.x), int(msg.y)
        return cls(
            seq=msg.seq,
            command=msg.command,
            frame=msg.frame,
            x=x,
            y=y,
            z=shortest_float32(msg.z),
            param1=shortest_float32(msg.param1),
            param2=shortest_float32(msg.param2),
            param3=shortest_float32(msg.param3),
            param4=shortest_float32(msg.param4),
            autocontinue=msg.autocontinue,
            current=msg.current,
            mission_type=getattr(msg, "mission_type", MISSION),
        )


# ---------------------------------------------------------------------- verify


def on_vehicle(item: MissionItemInt) -> MissionItemInt:
    """What a download of ``item`` gives back (see the module notes)."""
    if item.mission_type == FENCE:
        return replace(item, frame=MAV_FRAME_GLOBAL, autocontinue=0, z=0.0, current=0)
    if item.mission_type == MISSION and item.frame == MAV_FRAME_MISSION:
        return replace(item, frame=MAV_FRAME_GLOBAL, current=0)
    return replace(item, current=0)


def difference(expected: MissionItemInt, got: MissionItemInt) -> str | None:
    """How ``got`` differs from ``expected`` (already through :func:`on_vehicle`), or None.
    Floats compare as float32; a NaN parameter expected (QGroundControl's "unused") matches
    any value."""
    for name in ("command", "frame", "x", "y", "autocontinue"):
        want, have = getattr(expected, name), getattr(got, name)
        if want != have:
            return f"item {expected.seq}: {name} {have} where {want} was uploaded"
    for name in ("z", "param1", "param2", "param3", "param4"):
        want, have = getattr(expected, name), getattr(got, name)
        if name != "z" and math.isnan(want):
            continue
        if not _same_float32(want, have):
            return f"item {expected.seq}: {name} {have!r} where {want!r} was uploaded"
    return None


def shortest_float32(value: float) -> float:
    """A float32 field as the shortest decimal that gives the same float32 (20.1, not
    20.100000381469727), the way the traces write them."""
    if not math.isfinite(value):
        return float(value)
    for digits in range(6, 10):
        candidate = float(f"{value:.{digits}g}")
        if _same_float32(candidate, value):
            return candidate
    return float(value)


def _same_float32(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    pack = struct.Struct("<f")
    return bool(pack.pack(a) == pack.pack(b))


# ---------------------------------------------------------------------- plans


def plan_to_mission_items(plan: FlightPlan) -> list[MissionItemInt]:
    """The items to upload for a plan: seq 0 a home placeholder (NAV_WAYPOINT at the plan's
    home, frame 0, z its AMSL altitude or 0), then the plan's items in order. Frames from
    the altitude frame: above home 3, AMSL 0, terrain 10; items without a position use frame
    2 (MISSION), as in the traces. A missing (NaN) position becomes 0."""
    home = MissionItemInt(
        seq=0,
        command=MAV_CMD_NAV_WAYPOINT,
        frame=MAV_FRAME_GLOBAL,
        x=_deg_e7(plan.home_lat_deg),
        y=_deg_e7(plan.home_lon_deg),
        z=plan.home_amsl_m if plan.home_amsl_m is not None else 0.0,
    )
    items = [home]
    for seq, item in enumerate(plan.items, start=1):
        if item.seq != seq:
            raise PlanError(
                f"item {item.seq} where {seq} was expected: plan items are numbered 1, 2, ...",
            )
        items.append(_plan_item(item))
    return items


def _plan_item(item: MissionItem) -> MissionItemInt:
    frame = ALT_FRAME_TO_MAV[item.frame] if item.frame is not None else MAV_FRAME_MISSION
    return MissionItemInt(
        seq=item.seq,
        command=item.command,
        frame=frame,
        x=_deg_e7(item.lat_deg),
        y=_deg_e7(item.lon_deg),
        z=item.alt_m if math.isfinite(item.alt_m) else 0.0,
        param1=item.param1,
        param2=item.param2,
        param3=item.param3,
        param4=item.param4,
    )


def _deg_e7(deg: float) -> int:
    return round(deg * 1e7) if math.isfinite(deg) else 0


def mission_items_to_plan_json(items: list[MissionItemInt], home: Home) -> dict[str, Any]:
    """A QGroundControl ``.plan`` document (mission only) for downloaded mission items.

    ``items`` may start with seq 0 (the vehicle's home), which is dropped: ``home`` gives
    plannedHomePosition. An item the vehicle returns in frame 0 with no position and no
    altitude, for a command that has none (DO_CHANGE_SPEED, RETURN_TO_LAUNCH, ...), is written
    in frame 2 (MISSION), undoing the vehicle's 2 -> 0. doJumpId is the item's seq, so a
    DO_JUMP target reads back as the same item.
    """
    plan_items = [_qgc_item(item) for item in items if item.seq != 0]
    return {
        "fileType": "Plan",
        "version": 1,
        "groundStation": "uav",
        "mission": {
            "version": 2,
            "firmwareType": 3,  # MAV_AUTOPILOT_ARDUPILOTMEGA
            "vehicleType": 2,  # MAV_TYPE_QUADROTOR
            "cruiseSpeed": None,
            "hoverSpeed": None,
            "plannedHomePosition": [home.lat_deg, home.lon_deg, home.alt_amsl_m],
            "items": plan_items,
        },
        "geoFence": {"version": 2, "circles": [], "polygons": []},
        "rallyPoints": {"version": 2, "points": []},
    }


def _qgc_item(item: MissionItemInt) -> dict[str, Any]:
    frame = item.frame
    no_position = item.x == 0 and item.y == 0 and item.z == 0
    if frame == MAV_FRAME_GLOBAL and no_position and item.command not in POSITIONAL:
        frame = MAV_FRAME_MISSION
    params = [
        item.param1,
        item.param2,
        item.param3,
        item.param4,
        item.lat_deg,
        item.lon_deg,
        item.z,
    ]
    return {
        "type": "SimpleItem",
        "autoContinue": bool(item.autocontinue),
        "command": item.command,
        "doJumpId": item.seq,
        "frame": frame,
        "params": [None if math.isnan(p) else p for p in params],
    }
