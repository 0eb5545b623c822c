"""Which zones go into a drone's onboard fence, and why the others do not.

Rules (``uav fence push``):

* **Where**: the fence always has ArduPilot's circle around home (FENCE_RADIUS = the radius),
  so zones beyond it are unreachable. A zone is considered when it comes within
  ``radius·(1 + 1 %) + 10 m`` of home (the margin covers ArduPilot's flat-earth distances).
* **When**: the flight window [start, end] (the mission's planned duration plus a margin, or
  ``--for``). A zone whose schedule is active at no time of the window is left out. A zone
  active during part of the window is held for the whole flight (conservative), and said so.
* **Grants**: an ``authorization`` zone is left out when one of the drone's grants covers
  the whole window; grants never lift a ``prohibited`` zone. ``warning`` zones are never
  in the fence.
* **Height** (AGL taken as above home, the project's no-terrain rule; AMSL converted with the
  drone's home AMSL): a zone from the ground up becomes an exclusion for its whole height. A
  zone whose band starts above the ground cannot be an exclusion (a fence exclusion has no
  floor: it would forbid legal flight under it). When it covers the whole fenced circle its
  floor is an altitude limit (FENCE_ALT_MAX); when its floor is at or above FENCE_ALT_MAX
  it is above the fence ceiling and needs nothing; otherwise only the monitor can enforce
  it (``needs the monitor``). A zone entirely below home is left out.
* **Operating areas**: ArduPilot requires the vehicle to be inside *every* inclusion polygon
  (AC_Fence; ArduPilot PR 15550 proposed "inside any" and notes the current rule is "inside
  all"), so the fence gets one inclusion: the union of the operating areas active for the
  whole window, clipped to the square around the fence circle, the connected part of it
  that holds home. When operating areas exist and
  none holds home for the whole window, the push is refused. Their ceilings are altitude
  limits; a floor above the ground needs the monitor.
* **FENCE_ALT_MAX** = the lowest of the global ceiling, the operating area's ceiling and the
  altitude-limit floors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from uav.auth.model import Grant
from uav.errors import InputError
from uav.fence.flat import FlatFrame
from uav.zones.model import AltitudeRef, Circle, Restriction, Zone

RADIUS_SCALE_MARGIN = 0.01  # ArduPilot's distances differ from geodesic ones by < 0.7 %
RADIUS_MARGIN_M = 10.0
MIN_RADIUS_M = 30.0  # FENCE_RADIUS range in ArduCopter 4.7: 30 .. 10000 m
MAX_RADIUS_M = 10_000.0
_CIRCLE_SIDES = 64
BOX_SCALE = 1.2


class Role(StrEnum):
    """What a zone becomes in the fence."""

    EXCLUSION = "exclusion"  # an exclusion polygon or circle, full height
    INCLUSION = "inclusion"  # (part of) the operating-area inclusion polygon
    ALTITUDE_LIMIT = "altitude-limit"  # its floor (or ceiling, for an area) -> FENCE_ALT_MAX
    ABOVE_CEILING = "above-ceiling"  # floor at or above FENCE_ALT_MAX: nothing to do
    MONITOR = "monitor"  # cannot be expressed onboard: only `uav monitor` enforces it
    LEFT_OUT = "left-out"  # not relevant to this flight


@dataclass(frozen=True)
class Choice:
    """One zone and what the fence does with it."""

    zone: Zone
    role: Role
    reason: str
    floor_m: float = 0.0  # floor above home
    whole_window: bool = True  # active for the whole window (else held for all of it)


@dataclass(frozen=True)
class Situation:
    """The drone's side of the selection."""

    drone: str
    home_lat_deg: float
    home_lon_deg: float
    home_amsl_m: float
    radius_m: float
    start_s: float
    end_s: float
    max_alt_m: float  # the global ceiling above home

    @property
    def select_radius_m(self) -> float:
        return self.radius_m * (1.0 + RADIUS_SCALE_MARGIN) + RADIUS_MARGIN_M


@dataclass
class Selection:
    """Every zone considered, with its role; the altitude limit; the inclusion area."""

    situation: Situation
    frame: FlatFrame
    choices: list[Choice] = field(default_factory=list)
    alt_max_m: float = math.inf
    alt_max_why: str = ""
    inclusion: Polygon | None = None  # lon/lat, the operating-area part holding home
    inclusion_choice: Choice | None = None  # the first operating area making it up
    problems: list[str] = field(default_factory=list)  # reasons to refuse the push

    def with_role(self, role: Role) -> list[Choice]:
        return [c for c in self.choices if c.role is role]

    def box_lonlat(self) -> Polygon:
        """The square around home (half-side :data:`BOX_SCALE` × the selection radius) that
        zones are clipped to: the fence circle keeps the drone inside it, so covering a
        zone's part inside the box is enough, and far-reaching zones stay small."""
        half = self.situation.select_radius_m * BOX_SCALE
        square: Polygon = self.frame.unproject(shapely.box(-half, -half, half, half))
        return square


def check_situation(s: Situation) -> None:
    if not (math.isfinite(s.radius_m) and MIN_RADIUS_M <= s.radius_m <= MAX_RADIUS_M):
        raise InputError(
            f"fence radius {s.radius_m:g} m: ArduCopter's FENCE_RADIUS is "
            f"{MIN_RADIUS_M:g} to {MAX_RADIUS_M:g} m"
        )
    if not (math.isfinite(s.max_alt_m) and s.max_alt_m > 0):
        raise InputError(f"--max-alt {s.max_alt_m}: must be > 0 m")
    if not s.end_s > s.start_s:
        raise InputError("the flight window must have a positive duration")


def select_zones(s: Situation, zones: Sequence[Zone], grants: Sequence[Grant]) -> Selection:
    """Decide every zone's role (see the module notes). ``zones`` may hold anything; operating
    areas should be all of them, wherever they are."""
    check_situation(s)
    sel = Selection(s, FlatFrame(s.home_lon_deg, s.home_lat_deg))
    pending: list[Choice] = []
    areas: list[Zone] = []
    for zone in zones:
        if zone.restriction is Restriction.OPERATING_AREA:
            areas.append(zone)
            continue
        choice = _restrictive(sel, zone, grants)
        (pending if choice.role is Role.MONITOR else sel.choices).append(choice)
    limits = [(s.max_alt_m, f"the global ceiling {s.max_alt_m:g} m")]
    limits += _areas(sel, areas)
    limits += [
        (c.floor_m, f"the floor of zone {c.zone.name!r} ({c.floor_m:g} m)")
        for c in sel.with_role(Role.ALTITUDE_LIMIT)
    ]
    sel.alt_max_m, sel.alt_max_why = min(limits, key=lambda lim: lim[0])
    for c in pending:
        sel.choices.append(_above_or_monitor(c, sel.alt_max_m))
    return sel


def _restrictive(sel: Selection, zone: Zone, grants: Sequence[Grant]) -> Choice:
    s = sel.situation
    if zone.restriction is Restriction.WARNING:
        return Choice(zone, Role.LEFT_OUT, "warning zones are never in the fence")
    spans = zone.schedule.active_intervals(s.start_s, s.end_s)
    if not spans:
        return Choice(zone, Role.LEFT_OUT, "not active during the flight window")
    whole = len(spans) == 1 and spans[0][0] <= s.start_s and spans[0][1] >= s.end_s
    if not _reaches(sel, zone):
        return Choice(zone, Role.LEFT_OUT, f"beyond the {s.radius_m:g} m fence radius")
    if zone.restriction is Restriction.AUTHORIZATION and _granted(zone, s, grants):
        return Choice(zone, Role.LEFT_OUT, f"granted to {s.drone} for the whole flight window")
    floor_m, ceiling_m = _band_above_home(zone, s.home_amsl_m)
    if ceiling_m <= 0:
        return Choice(zone, Role.LEFT_OUT, "entirely below home")
    held = "" if whole else "; active only part of the flight window, held for all of it"
    if floor_m <= 0:
        return Choice(
            zone, Role.EXCLUSION, f"{zone.restriction.value} from the ground{held}", 0.0, whole
        )
    if _covers_circle(sel, zone):
        why = f"covers the whole fenced circle from {floor_m:g} m above home{held}"
        return Choice(zone, Role.ALTITUDE_LIMIT, why, floor_m, whole)
    return Choice(zone, Role.MONITOR, f"starts {floor_m:g} m above home{held}", floor_m, whole)


def _above_or_monitor(c: Choice, alt_max_m: float) -> Choice:
    if c.floor_m >= alt_max_m:
        why = f"starts at {c.floor_m:g} m, at or above FENCE_ALT_MAX {alt_max_m:g} m"
        return Choice(c.zone, Role.ABOVE_CEILING, why, c.floor_m, c.whole_window)
    why = (
        f"{c.reason}, below FENCE_ALT_MAX {alt_max_m:g} m: a fence exclusion has no floor, "
        "so only the monitor can enforce it"
    )
    return Choice(c.zone, Role.MONITOR, why, c.floor_m, c.whole_window)


def _granted(zone: Zone, s: Situation, grants: Sequence[Grant]) -> bool:
    if zone.id is None:
        return False
    return any(g.covers(s.drone, zone.id, s.start_s, s.end_s) for g in grants)


def _band_above_home(zone: Zone, home_amsl_m: float) -> tuple[float, float]:
    band = zone.band
    floor_m = band.floor_m - (home_amsl_m if band.floor_ref is AltitudeRef.AMSL else 0.0)
    if band.ceiling_m is None:
        return floor_m, math.inf
    amsl = band.ceiling_ref is AltitudeRef.AMSL
    return floor_m, band.ceiling_m - (home_amsl_m if amsl else 0.0)


# ---------------------------------------------------------------------- geometry


def zone_xy(zone: Zone, frame: FlatFrame) -> BaseGeometry:
    """A polygon zone in the flat frame (circles: a circumscribed polygon, 1 % larger)."""
    g = zone.geometry
    if isinstance(g, Circle):
        x, y = frame.to_xy(g.lon_deg, g.lat_deg)
        return _circle_polygon(float(x), float(y), g.radius_m * (1.0 + RADIUS_SCALE_MARGIN))
    return frame.project(g)


def _circle_polygon(x: float, y: float, radius_m: float) -> Polygon:
    """A polygon that holds the circle (circumscribed: its edges touch the circle)."""
    grow = 1.0 / math.cos(math.pi / _CIRCLE_SIDES)
    return Point(x, y).buffer(radius_m * grow, quad_segs=_CIRCLE_SIDES // 4)


def _reaches(sel: Selection, zone: Zone) -> bool:
    r = sel.situation.select_radius_m
    g = zone.geometry
    if isinstance(g, Circle):
        x, y = sel.frame.to_xy(g.lon_deg, g.lat_deg)
        return math.hypot(float(x), float(y)) - g.radius_m * (1 + RADIUS_SCALE_MARGIN) <= r
    return bool(shapely.distance(sel.frame.project(g), Point(0.0, 0.0)) <= r)


def _covers_circle(sel: Selection, zone: Zone) -> bool:
    """The zone covers the whole fenced circle (so its floor can be an altitude limit)."""
    r = sel.situation.select_radius_m
    g = zone.geometry
    if isinstance(g, Circle):
        x, y = sel.frame.to_xy(g.lon_deg, g.lat_deg)
        return math.hypot(float(x), float(y)) + r <= g.radius_m * (1 - RADIUS_SCALE_MARGIN)
    return bool(shapely.covers(sel.frame.project(g), _circle_polygon(0.0, 0.0, r)))


# ---------------------------------------------------------------------- operating areas


def _areas(sel: Selection, areas: Sequence[Zone]) -> list[tuple[float, str]]:
    """Choose the inclusion; returns the altitude limits the chosen areas bring."""
    if not areas:
        return []
    s = sel.situation
    home = Point(s.home_lon_deg, s.home_lat_deg)
    usable: list[Zone] = []
    for zone in areas:
        spans = zone.schedule.active_intervals(s.start_s, s.end_s)
        whole = len(spans) == 1 and spans[0][0] <= s.start_s and spans[0][1] >= s.end_s
        if not whole:
            sel.choices.append(
                Choice(zone, Role.LEFT_OUT, "operating area not active for the whole window")
            )
            continue
        usable.append(zone)
    shapes = [_area_lonlat(z) for z in usable]
    union = shapely.union_all(shapes) if shapes else None
    if union is not None:
        union = shapely.intersection(union, sel.box_lonlat())
    part = _part_holding(union, home)
    if part is None:
        sel.problems.append(
            "home is outside every operating area active for the whole flight window"
        )
        return []
    sel.inclusion = part
    limits: list[tuple[float, str]] = []
    for zone, shape in zip(usable, shapes, strict=True):
        if not shapely.intersects(shape, part):
            sel.choices.append(
                Choice(zone, Role.LEFT_OUT, "operating area not connected to the one at home")
            )
            continue
        limits += _area_band(sel, zone)
    return limits


def _area_band(sel: Selection, zone: Zone) -> list[tuple[float, str]]:
    floor_m, ceiling_m = _band_above_home(zone, sel.situation.home_amsl_m)
    if floor_m > 0:
        why = f"operating area starting {floor_m:g} m above home: its floor needs the monitor"
        choice = Choice(zone, Role.MONITOR, why, floor_m)
    else:
        choice = Choice(zone, Role.INCLUSION, "operating area holding home")
    sel.choices.append(choice)
    if sel.inclusion_choice is None:
        sel.inclusion_choice = choice
    if math.isfinite(ceiling_m):
        return [(ceiling_m, f"the ceiling of operating area {zone.name!r} ({ceiling_m:g} m)")]
    return []


def _area_lonlat(zone: Zone) -> BaseGeometry:
    g = zone.geometry
    if isinstance(g, Circle):  # an inscribed polygon: inside the circle
        frame = FlatFrame(g.lon_deg, g.lat_deg)
        inner = Point(0.0, 0.0).buffer(g.radius_m * (1 - RADIUS_SCALE_MARGIN), quad_segs=8)
        return frame.unproject(inner)
    return g


def _part_holding(union: BaseGeometry | None, home: Point) -> Polygon | None:
    if union is None or union.is_empty:
        return None
    parts = list(union.geoms) if isinstance(union, MultiPolygon) else [union]
    for part in parts:
        if isinstance(part, Polygon) and part.covers(home):
            return part
    return None
