"""Selected zones -> a :class:`FenceSpec`: the fence items, the FENCE_* parameters and a
report of what was simplified, left to the monitor or refused.

* Exclusions: a polygon zone is first clipped to the square around the fence circle (the
  circle keeps the drone inside it), then its outline (holes dropped) is one exclusion
  polygon; a multipolygon (or a zone the clip cut in pieces) is one polygon per part or, when
  that does not fit, the convex hull of its parts.
* A circle zone stays an exclusion circle whose radius is grown by 1 % (ArduPilot measures
  distances on a sphere of the equatorial radius: north-south up to 0.7 % long), by how far
  rounding moved the centre and by 5 cm, and rounded *up* to a float32.
* The inclusion (the operating-area part holding home, see :mod:`uav.fence.select`) is one
  inclusion polygon; its holes become exclusion polygons.
* Budget (:mod:`uav.fence.allocate`): every polygon starts with all its vertices; while the
  fence does not fit (:class:`~uav.fence.budget.Budget`), one vertex is taken from the
  polygon where that changes the area least (:mod:`uav.fence.simplify`). When even triangles
  do not fit, multipolygons become hulls, then the zones farthest from home are left to the
  monitor.
* No return point is uploaded (ArduCopter's RTL goes home or to a rally point).
* FENCE_TYPE = max altitude + circle, plus polygon when there are polygon or circle items.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from uav.auth.model import Grant
from uav.errors import InputError
from uav.fence import simplify
from uav.fence.allocate import CirclePiece, Piece, allocate, build_pieces, make_feasible
from uav.fence.budget import Budget
from uav.fence.flat import FlatFrame
from uav.fence.items import FenceCircle, FencePolygon, FenceShapes
from uav.fence.select import (
    MAX_RADIUS_M,
    MIN_RADIUS_M,
    Choice,
    Role,
    Selection,
    Situation,
    select_zones,
)
from uav.link.mission_items import shortest_float32
from uav.plans.defaults import DEFAULT_MAX_ALT_M
from uav.timeutil import from_epoch
from uav.zones.model import Circle, Zone

ACTIONS: dict[str, int] = {"report": 0, "rtl": 1, "land": 2, "smart-rtl": 3, "brake": 4}
DEFAULT_ACTION = "rtl"
DEFAULT_MARGIN_M = 2.0  # as recorded (trace scenario 3)
CIRCLE_SCALE = 1.01
FENCE_TYPE_ALT_MAX = 1
FENCE_TYPE_CIRCLE = 2
FENCE_TYPE_POLYGON = 4


@dataclass(frozen=True)
class FenceOptions:
    """The options of ``uav fence push``."""

    radius_m: float | None = None  # None: from the mission (see uav.fence.push)
    max_points: int | None = None
    action: str = DEFAULT_ACTION
    margin_m: float = DEFAULT_MARGIN_M
    max_alt_m: float = DEFAULT_MAX_ALT_M
    duration_s: float | None = None  # --for; None: the mission's, else one hour
    monitored: bool = False
    dry_run: bool = False

    def action_code(self) -> int:
        key = self.action.strip().lower().replace("_", "-")
        if key not in ACTIONS:
            raise InputError(f"--action {self.action!r}: use one of {', '.join(ACTIONS)}")
        return ACTIONS[key]

    def check(self) -> None:
        self.action_code()
        Budget.for_max_points(self.max_points)
        if not (math.isfinite(self.margin_m) and self.margin_m >= 0):
            raise InputError(f"--margin {self.margin_m}: must be >= 0 m")
        if self.duration_s is not None and not self.duration_s > 0:
            raise InputError(f"--for {self.duration_s}: must be > 0 s")
        if not (math.isfinite(self.max_alt_m) and self.max_alt_m > 0):
            raise InputError(f"--max-alt {self.max_alt_m}: must be > 0 m")
        r = self.radius_m
        if r is not None and not (math.isfinite(r) and MIN_RADIUS_M <= r <= MAX_RADIUS_M):
            raise InputError(
                f"--radius {r:g}: ArduCopter's FENCE_RADIUS is {MIN_RADIUS_M:g} to "
                f"{MAX_RADIUS_M:g} m"
            )


@dataclass(frozen=True)
class ZoneReport:
    """What one zone became: vertices before/after and the area the simplification added
    (exclusions) or took away (inclusion), in square metres and percent."""

    zone_id: int | None
    name: str
    restriction: str
    role: str
    reason: str
    original_vertices: int = 0
    pushed_vertices: int = 0
    area_m2: float = 0.0
    area_change_m2: float = 0.0

    @property
    def area_change_pct(self) -> float:
        return 100.0 * self.area_change_m2 / self.area_m2 if self.area_m2 > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "zone_id": self.zone_id,
            "name": self.name,
            "restriction": self.restriction,
            "role": self.role,
            "reason": self.reason,
            "original_vertices": self.original_vertices,
            "pushed_vertices": self.pushed_vertices,
            "area_m2": round(self.area_m2, 1),
            "area_change_m2": round(self.area_change_m2, 1),
            "area_change_pct": round(self.area_change_pct, 3),
        }


@dataclass(frozen=True)
class FenceSpec:
    """Everything ``fence push`` uploads and sets, and why."""

    situation: Situation
    shapes: FenceShapes
    params: dict[str, float]
    zones: tuple[ZoneReport, ...]
    alt_max_why: str
    problems: tuple[str, ...] = ()  # reasons to refuse, found while compiling
    notes: tuple[str, ...] = ()

    @property
    def monitor_only(self) -> tuple[ZoneReport, ...]:
        return tuple(z for z in self.zones if z.role == Role.MONITOR.value)

    def to_json(self) -> dict[str, Any]:
        s = self.situation
        return {
            "drone": s.drone,
            "home": {"lat_deg": s.home_lat_deg, "lon_deg": s.home_lon_deg, "amsl_m": s.home_amsl_m},
            "radius_m": s.radius_m,
            "window": {
                "start": from_epoch(s.start_s).isoformat(),
                "start_s": s.start_s,
                "end": from_epoch(s.end_s).isoformat(),
                "end_s": s.end_s,
            },
            "fence": self.shapes.to_json(),
            "params": self.params,
            "alt_max_why": self.alt_max_why,
            "zones": [z.to_json() for z in self.zones],
            "monitor_only": [z.name for z in self.monitor_only],
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def compile_fence(
    situation: Situation,
    zones: Sequence[Zone],
    grants: Sequence[Grant],
    options: FenceOptions,
) -> FenceSpec:
    """Select, simplify to the budget, round and verify; see the module notes."""
    options.check()
    selection = select_zones(situation, zones, grants)
    pieces, circles = build_pieces(selection)
    budget = Budget.for_max_points(options.max_points)
    dropped = make_feasible(pieces, circles, budget)
    counts = allocate(pieces, len(circles), budget)
    polygons = [_finish(p, k, selection.frame) for p, k in zip(pieces, counts, strict=True)]
    fence_circles = [_finish_circle(c.choice, selection.frame) for c in circles]
    shapes = FenceShapes(
        tuple(sorted((fp for fp, _ in polygons), key=lambda p: not p.inclusion)),
        tuple(fc for fc, _ in fence_circles),
    )
    reports = _reports(selection, pieces, polygons, circles, fence_circles, dropped)
    return FenceSpec(
        situation=situation,
        shapes=shapes,
        params=_params(selection, shapes, options),
        zones=tuple(reports),
        alt_max_why=selection.alt_max_why,
        problems=tuple(selection.problems),
        notes=tuple(_notes(selection)),
    )


# ---------------------------------------------------------------------- finishing


def _finish(p: Piece, k: int, frame: FlatFrame) -> tuple[FencePolygon, float]:
    ring = p.ring_for(k)
    if p.inclusion:
        vertices = simplify.inclusion_vertices(p.original, ring, frame)
    else:
        vertices = simplify.exclusion_vertices(p.original, ring, frame)
    pushed_area = float(frame.project(simplify.vertices_polygon(vertices)).area)
    return FencePolygon(p.inclusion, tuple(vertices)), pushed_area


def _finish_circle(choice: Choice, frame: FlatFrame) -> tuple[FenceCircle, float]:
    g = choice.zone.geometry
    assert isinstance(g, Circle)
    lat_e7, lon_e7 = round(g.lat_deg * 1e7), round(g.lon_deg * 1e7)
    x0, y0 = frame.to_xy(g.lon_deg, g.lat_deg)
    x1, y1 = frame.to_xy(lon_e7 / 1e7, lat_e7 / 1e7)
    shift_m = math.hypot(float(x1 - x0), float(y1 - y0))
    radius = float32_up(g.radius_m * CIRCLE_SCALE + shift_m + simplify.ROUND_PAD_M)
    return FenceCircle(False, lat_e7, lon_e7, radius), math.pi * radius * radius


def float32_up(value: float) -> float:
    """The smallest float32 >= value, written as the shortest decimal that gives it (as a
    download reports it)."""
    f = np.float32(value)
    if float(f) < value:
        f = np.nextafter(f, np.float32(np.inf))
    return shortest_float32(float(f))


# ---------------------------------------------------------------------- report


def _reports(
    sel: Selection,
    pieces: Sequence[Piece],
    polygons: Sequence[tuple[FencePolygon, float]],
    circles: Sequence[CirclePiece],
    fence_circles: Sequence[tuple[FenceCircle, float]],
    dropped: Sequence[Choice],
) -> list[ZoneReport]:
    out: list[ZoneReport] = []
    by_choice: dict[int, list[tuple[Piece, FencePolygon, float]]] = {}
    for p, (fp, area) in zip(pieces, polygons, strict=True):
        by_choice.setdefault(id(p.choice), []).append((p, fp, area))
    circle_of = {id(c.choice): fc for c, fc in zip(circles, fence_circles, strict=True)}
    dropped_ids = {id(c) for c in dropped}
    for choice in sel.choices:
        base = _base_report(choice)
        if id(choice) in dropped_ids:
            why = "the fence budget is full: left to the monitor (farthest from home)"
            out.append(replace(base, role=Role.MONITOR.value, reason=why))
        elif id(choice) in by_choice:
            out.append(_polygon_report(base, by_choice[id(choice)], sel.frame))
        elif id(choice) in circle_of:
            out.append(_circle_report(base, choice, circle_of[id(choice)]))
        else:
            out.append(base)
    return out


def _base_report(choice: Choice) -> ZoneReport:
    z = choice.zone
    return ZoneReport(z.id, z.name, z.restriction.value, choice.role.value, choice.reason)


def _polygon_report(
    base: ZoneReport, parts: Sequence[tuple[Piece, FencePolygon, float]], frame: FlatFrame
) -> ZoneReport:
    """Exclusions: the outline(s) and what was pushed. The inclusion: the area (holes
    taken out) and what the pushed inclusion leaves once the pushed holes are taken out."""
    original = sum(p.original_vertices for p, _, _ in parts)
    pushed = sum(len(fp.vertices) for _, fp, _ in parts)
    reason = base.reason
    if any(p.hull_of_parts for p, _, _ in parts):
        reason += "; its parts were merged into their convex hull to fit the budget"
    inclusion = [(p, a) for p, _, a in parts if p.inclusion]
    if inclusion:
        area = sum(float(frame.project(p.reported).area) for p, _ in inclusion)
        holes = sum(a for p, _, a in parts if not p.inclusion)
        pushed_area = sum(a for _, a in inclusion) - holes
    else:
        area = sum(float(frame.project(p.reported).area) for p, _, _ in parts)
        pushed_area = sum(a for _, _, a in parts)
    return replace(
        base,
        reason=reason,
        original_vertices=original,
        pushed_vertices=pushed,
        area_m2=area,
        area_change_m2=pushed_area - area,
    )


def _circle_report(base: ZoneReport, choice: Choice, fc: tuple[FenceCircle, float]) -> ZoneReport:
    g = choice.zone.geometry
    assert isinstance(g, Circle)
    area = math.pi * g.radius_m * g.radius_m
    return replace(base, area_m2=area, area_change_m2=fc[1] - area)


# ---------------------------------------------------------------------- params, notes


def _params(sel: Selection, shapes: FenceShapes, options: FenceOptions) -> dict[str, float]:
    fence_type = FENCE_TYPE_ALT_MAX | FENCE_TYPE_CIRCLE
    if shapes.polygons or shapes.circles:
        fence_type |= FENCE_TYPE_POLYGON
    return {
        "FENCE_ENABLE": 1.0,
        "FENCE_TYPE": float(fence_type),
        "FENCE_ACTION": float(options.action_code()),
        "FENCE_ALT_MAX": float(sel.alt_max_m),
        "FENCE_RADIUS": float(sel.situation.radius_m),
        "FENCE_MARGIN": float(options.margin_m),
    }


def _notes(sel: Selection) -> list[str]:
    notes = [
        "AGL altitudes were taken as above home (uav has no terrain model)",
        f"zones beyond the {sel.situation.radius_m:g} m fence circle around home were left out: "
        "the circle fence keeps the drone away from them",
    ]
    if any(not c.whole_window for c in sel.choices if c.role is Role.EXCLUSION):
        notes.append("time-limited zones are held for the whole flight window")
    return notes
