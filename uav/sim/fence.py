"""ArduCopter's geofence: breach detection, FENCE_STATUS and the breach action.

Parameters read every step: FENCE_ENABLE, FENCE_TYPE (bit 1 max altitude FENCE_ALT_MAX,
bit 2 circle of FENCE_RADIUS around home, bit 4 the uploaded inclusion/exclusion polygons and
circles, bit 8 min altitude FENCE_ALT_MIN), FENCE_ACTION, FENCE_MARGIN.

Observed (``/work/shared/sitl-traces``, scenarios 3 and 4):

* While FENCE_ENABLE is 1, FENCE_STATUS is part of the EXT_STAT stream (:meth:`status_message`;
  breach_mitigation is always 1, FENCE_MITIGATE_NONE), also while disarmed.
* A breach is declared exactly at the boundary: FENCE_MARGIN did not make the recorded flight
  breach early, and the breach also cleared exactly at the boundary on the way back. So
  FENCE_MARGIN is read (``margin_m``) but does not move the breach line.
* On a breach: FENCE_STATUS at once outside the stream (breach_status 1, breach_count,
  breach_type 3 BOUNDARY for polygon/circle, 2 MAXALT, 1 MINALT, breach_time in ms since
  boot); then the action's mode change (its HEARTBEAT is sent by the core); then
  ``Polygon fence breached`` (severity 5) and ``Manual recovery started`` (6). Back inside:
  ``Fence breach cleared`` (5); breach_count is kept, breach_type returns to 0 and
  breach_time keeps the last breach.

FENCE_ACTION, as ArduPilot documents it for Copter (each falls back to the next mode when
:meth:`VehicleServices.set_mode` refuses): 0 report only; 1 RTL, else LAND; 2 LAND;
3 SMART_RTL, else RTL, else LAND; 4 BRAKE, else LAND; 5 SMART_RTL, else LAND. Unknown values
act like 1 (fail closed). A vehicle already in LAND is left landing.

Choices (documented ArduPilot behaviour, not in the recordings):

* Fences are only checked while armed; the state is kept while disarmed. FENCE_ENABLE 0
  clears the breach state (breach_count is kept).
* Backup fences: when the circle or the max altitude is breached, a backup fence 20 m
  further out (or up) is set; crossing it is a new breach (count + 1, action again, next
  backup 20 m further). More than 100 m outside the circle (or above FENCE_ALT_MAX) the
  action becomes LAND. Polygons have no backup fence.
* The min-altitude fence (bit 8) only becomes active once the vehicle has been above
  FENCE_ALT_MIN since arming, so a takeoff from the ground does not breach it.
* Texts for the other fence types follow the observed pattern: ``Max Alt fence breached``,
  ``Circle fence breached``, ``Min Alt fence breached``.
* :meth:`arm_check` refuses arming with ``Fence requires position`` (observed as
  ``Arm: Fence requires position``) and, *inferred*, ``Vehicle breaching <type> fence``.

Geometry is evaluated in a local metric frame (:class:`uav.geo.local.LocalFrame`) around
home with shapely prepared polygons; circles use exact distances.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import shapely
from pymavlink.dialects.v20 import ardupilotmega as mavlink2

from uav.geo.local import LocalFrame
from uav.sim.fence_items import FenceSet
from uav.sim.interfaces import Position, VehicleServices
from uav.sim.mission import MissionServer
from uav.sim.mission_items import TYPE_FENCE

# FENCE_TYPE bits
FENCE_ALT_MAX = 1
FENCE_CIRCLE = 2
FENCE_POLYGON = 4
FENCE_ALT_MIN = 8

# FENCE_BREACH (FENCE_STATUS.breach_type)
BREACH_NONE = 0
BREACH_MINALT = 1
BREACH_MAXALT = 2
BREACH_BOUNDARY = 3
MITIGATE_NONE = 1

# Copter modes used by the actions
MODE_RTL = 6
MODE_LAND = 9
MODE_BRAKE = 17
MODE_SMART_RTL = 21
ACTION_MODES: dict[int, tuple[int, ...]] = {
    0: (),
    1: (MODE_RTL, MODE_LAND),
    2: (MODE_LAND,),
    3: (MODE_SMART_RTL, MODE_RTL, MODE_LAND),
    4: (MODE_BRAKE, MODE_LAND),
    5: (MODE_SMART_RTL, MODE_LAND),
}

BACKUP_DISTANCE_M = 20.0
GIVE_UP_DISTANCE_M = 100.0
SEV_NOTICE = 5
SEV_INFO = 6
FENCE_NAMES = {
    FENCE_ALT_MAX: "Max Alt",
    FENCE_CIRCLE: "Circle",
    FENCE_POLYGON: "Polygon",
    FENCE_ALT_MIN: "Min Alt",
}


@dataclass
class _Geometry:
    """The uploaded fence in local metres around ``origin`` (lat, lon)."""

    origin: tuple[float, float]
    frame: LocalFrame
    inclusion: list[Any] = field(default_factory=list)  # prepared shapely polygons
    exclusion: list[Any] = field(default_factory=list)
    circles: list[tuple[bool, float, float, float]] = field(default_factory=list)

    def breached(self, x_m: float, y_m: float) -> bool:
        if any(not shapely.intersects_xy(p, x_m, y_m) for p in self.inclusion):
            return True
        if any(shapely.contains_xy(p, x_m, y_m) for p in self.exclusion):
            return True
        for inclusion, cx, cy, radius in self.circles:
            distance = math.hypot(x_m - cx, y_m - cy)
            if (distance > radius) if inclusion else (distance < radius):
                return True
        return False


def _build_geometry(fence: FenceSet, origin: tuple[float, float]) -> _Geometry:
    frame = LocalFrame(origin[1], origin[0])
    geometry = _Geometry(origin, frame)
    for polygon in fence.polygons:
        lats = [v[0] for v in polygon.vertices_deg]
        lons = [v[1] for v in polygon.vertices_deg]
        xs, ys = frame.to_xy(lons, lats)
        shape = shapely.make_valid(shapely.Polygon(zip(xs.tolist(), ys.tolist(), strict=True)))
        shapely.prepare(shape)
        (geometry.inclusion if polygon.inclusion else geometry.exclusion).append(shape)
    for circle in fence.circles:
        cx, cy = frame.to_xy(circle.lon_deg, circle.lat_deg)
        geometry.circles.append((circle.inclusion, float(cx), float(cy), circle.radius_m))
    return geometry


@dataclass
class _Sample:
    """Where the vehicle is relative to each fence type, for one position."""

    breaches: int  # FENCE_TYPE bits breached
    circle_distance_m: float | None  # horizontal distance from home
    altitude_m: float  # above home


class FenceMonitor:
    """Checks the vehicle against its fences every step; see the module docstring."""

    def __init__(self, services: VehicleServices, mission: MissionServer) -> None:
        self._services = services
        self._mission = mission
        self._geometry: _Geometry | None = None
        self._geometry_key: tuple[int, tuple[float, float]] | None = None
        self._breaches = 0
        self._breach_count = 0
        self._breach_time_ms = 0
        self._circle_backup_m: float | None = None
        self._alt_backup_m: float | None = None
        self._floor_active = False
        self._was_armed = False

    # ----------------------------------------------------------------- public API

    @property
    def breaches(self) -> int:
        """FENCE_TYPE bits currently breached."""
        return self._breaches

    @property
    def breach_count(self) -> int:
        return self._breach_count

    @property
    def margin_m(self) -> float:
        return self._param("FENCE_MARGIN", 2.0)

    def enabled(self) -> bool:
        return self._param("FENCE_ENABLE", 0.0) != 0

    def update(self) -> None:
        """Every simulation step: detect breaches and clearances, act on new breaches."""
        if not self.enabled():
            self._reset_breaches()
            return
        armed = self._services.is_armed()
        if armed and not self._was_armed:
            self._floor_active = False
        self._was_armed = armed
        position = self._services.position()
        if not armed or position is None:
            return
        if position.relative_alt_m > self._param("FENCE_ALT_MIN", -10.0):
            self._floor_active = True
        self._apply(self._sample(position))

    def status_message(self, mav: Any) -> Any | None:
        """FENCE_STATUS for the EXT_STAT stream; None while FENCE_ENABLE is 0."""
        if not self.enabled():
            return None
        return mav.fence_status_encode(*self._status_fields())

    def arm_check(self, position_ok: bool) -> str | None:
        """Why the fence refuses arming (text without the ``Arm:`` prefix), or None."""
        if not self.enabled():
            return None
        position = self._services.position()
        horizontal = int(self._param("FENCE_TYPE", 7.0)) & (FENCE_CIRCLE | FENCE_POLYGON)
        if not position_ok or position is None or (horizontal and self._services.home() is None):
            return "Fence requires position"
        sample = self._sample(position)
        for bit in (FENCE_ALT_MAX, FENCE_CIRCLE, FENCE_POLYGON):
            if sample.breaches & bit:
                return f"Vehicle breaching {FENCE_NAMES[bit]} fence"
        return None

    # ------------------------------------------------------------------ checking

    def _sample(self, position: Position) -> _Sample:
        types = int(self._param("FENCE_TYPE", 7.0))
        home = self._services.home()
        breaches = 0
        altitude_m = position.relative_alt_m
        if types & FENCE_ALT_MAX and altitude_m > self._param("FENCE_ALT_MAX", 100.0):
            breaches |= FENCE_ALT_MAX
        floor_m = self._param("FENCE_ALT_MIN", -10.0)
        if types & FENCE_ALT_MIN and self._floor_active and altitude_m < floor_m:
            breaches |= FENCE_ALT_MIN
        circle_distance_m = None
        if types & (FENCE_CIRCLE | FENCE_POLYGON) and home is None:
            breaches |= self._breaches & (FENCE_CIRCLE | FENCE_POLYGON)  # cannot tell: keep
        elif types & (FENCE_CIRCLE | FENCE_POLYGON) and home is not None:
            geometry = self._current_geometry(home)
            x_m, y_m = (float(v) for v in geometry.frame.to_xy(position.lon_deg, position.lat_deg))
            circle_distance_m = math.hypot(x_m, y_m)
            if types & FENCE_CIRCLE and circle_distance_m > self._param("FENCE_RADIUS", 300.0):
                breaches |= FENCE_CIRCLE
            if types & FENCE_POLYGON and geometry.breached(x_m, y_m):
                breaches |= FENCE_POLYGON
        return _Sample(breaches, circle_distance_m, altitude_m)

    def _current_geometry(self, home: tuple[float, float, float]) -> _Geometry:
        key = (self._mission.revision(TYPE_FENCE), (home[0], home[1]))
        if self._geometry is None or key != self._geometry_key:
            self._geometry = _build_geometry(self._mission.fence(), (home[0], home[1]))
            self._geometry_key = key
        return self._geometry

    # ------------------------------------------------------------------ breaches

    def _apply(self, sample: _Sample) -> None:
        current = sample.breaches
        triggered = (current & ~self._breaches) | self._backups_crossed(sample)
        cleared = self._breaches & ~current
        self._breaches = current
        for bit in (FENCE_ALT_MAX, FENCE_CIRCLE):
            if cleared & bit:
                self._set_backup(bit, None)
        if triggered:
            self._on_new_breach(triggered, sample)
        elif cleared and not current:
            self._services.statustext(SEV_NOTICE, "Fence breach cleared")

    def _backups_crossed(self, sample: _Sample) -> int:
        """Fences still breached whose backup fence (20 m further out) is now crossed too."""
        crossed = 0
        still = sample.breaches & self._breaches
        alt_backup, circle_backup = self._alt_backup_m, self._circle_backup_m
        if still & FENCE_ALT_MAX and alt_backup is not None and sample.altitude_m > alt_backup:
            crossed |= FENCE_ALT_MAX
        distance = sample.circle_distance_m or 0.0
        if still & FENCE_CIRCLE and circle_backup is not None and distance > circle_backup:
            crossed |= FENCE_CIRCLE
        return crossed

    def _on_new_breach(self, new: int, sample: _Sample) -> None:
        self._breach_count = min(self._breach_count + 1, 0xFFFF)
        self._breach_time_ms = int(self._services.now_s() * 1000) & 0xFFFFFFFF
        if new & FENCE_ALT_MAX:
            self._set_backup(FENCE_ALT_MAX, sample.altitude_m + BACKUP_DISTANCE_M)
        if new & FENCE_CIRCLE and sample.circle_distance_m is not None:
            self._set_backup(FENCE_CIRCLE, sample.circle_distance_m + BACKUP_DISTANCE_M)
        self._services.broadcast(mavlink2.MAVLink_fence_status_message(*self._status_fields()))
        acted = self._act(self._give_up(sample))
        for bit in (FENCE_ALT_MAX, FENCE_CIRCLE, FENCE_POLYGON, FENCE_ALT_MIN):
            if new & bit:
                self._services.statustext(SEV_NOTICE, f"{FENCE_NAMES[bit]} fence breached")
        if acted:
            self._services.statustext(SEV_INFO, "Manual recovery started")

    def _give_up(self, sample: _Sample) -> bool:
        """More than 100 m outside the circle or above the ceiling: land instead."""
        radius = self._param("FENCE_RADIUS", 300.0)
        ceiling = self._param("FENCE_ALT_MAX", 100.0)
        far = sample.circle_distance_m is not None and sample.circle_distance_m > (
            radius + GIVE_UP_DISTANCE_M
        )
        high = bool(sample.breaches & FENCE_ALT_MAX) and sample.altitude_m > (
            ceiling + GIVE_UP_DISTANCE_M
        )
        return (far and bool(sample.breaches & FENCE_CIRCLE)) or high

    def _act(self, give_up: bool) -> bool:
        """Change mode as FENCE_ACTION says; True when a mode change was accepted."""
        action = int(self._param("FENCE_ACTION", 1.0))
        modes = ACTION_MODES.get(action, ACTION_MODES[1])
        if not modes or self._services.custom_mode() == MODE_LAND:
            return False
        if give_up:
            modes = (MODE_LAND,)
        return any(self._services.set_mode(mode) for mode in modes)

    def _set_backup(self, bit: int, value_m: float | None) -> None:
        if bit == FENCE_ALT_MAX:
            self._alt_backup_m = value_m
        else:
            self._circle_backup_m = value_m

    def _reset_breaches(self) -> None:
        self._breaches = 0
        self._alt_backup_m = self._circle_backup_m = None

    def _status_fields(self) -> tuple[int, int, int, int, int]:
        return (
            1 if self._breaches else 0,
            self._breach_count,
            _breach_type(self._breaches),
            self._breach_time_ms,
            MITIGATE_NONE,
        )

    def _param(self, name: str, default: float) -> float:
        try:
            return float(self._services.param(name))
        except KeyError:
            return default


def _breach_type(breaches: int) -> int:
    if breaches & (FENCE_CIRCLE | FENCE_POLYGON):
        return BREACH_BOUNDARY
    if breaches & FENCE_ALT_MAX:
        return BREACH_MAXALT
    if breaches & FENCE_ALT_MIN:
        return BREACH_MINALT
    return BREACH_NONE
