"""Operating areas: when any exists, every leg must stay inside the union of those active.

A leg is allowed where it is inside some operating area horizontally, inside its band and
while it is active; operating-area schedules are *narrowed* by the time margin (the drone
may be late or early). The first part of a leg left uncovered is an
``outside-operating-area`` violation. Legs fully inside that come within the buffer of the
edge of the areas covering them get a ``within-buffer`` warning.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from uav.check.context import Check, RawFinding
from uav.check.geometry import ProjectedZones
from uav.check.index import ZoneTable
from uav.check.intervals import Span, uncovered
from uav.check.report import OUTSIDE_OPERATING_AREA, WITHIN_BUFFER
from uav.check.zonerules import Pairs, pieces_in_zone

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
ObjArray = npt.NDArray[np.object_]

GAP_TOLERANCE_M = 0.001  # gaps between covering areas shorter than this are rounding
CIRCLE_QUAD_SEGS = 64  # circle outlines for edge distances (inscribed, within 0.01 %)


def check_areas(
    ck: Check,
    table: ZoneTable,
    zones: ProjectedZones | None,
    leg_idx: IntArray,
    zone_idx: IntArray,
) -> None:
    """outside-operating-area violations and edge warnings for every leg."""
    n_legs = len(ck.legs)
    spans: list[list[Span]] = [[] for _ in range(n_legs)]
    owners: list[set[int]] = [set() for _ in range(n_legs)]
    if zones is not None and len(leg_idx):
        pairs = Pairs(leg_idx, zone_idx, zones)
        allowed = pieces_in_zone(ck, table, zones, pairs, grow_m=0.0, margin_s=-ck.margin_s)
        for p, a, b in zip(
            allowed.pair.tolist(), allowed.s0.tolist(), allowed.s1.tolist(), strict=True
        ):
            leg = int(pairs.leg[p])
            spans[leg].append((a, b))
            owners[leg].add(int(pairs.pos[p]))
    length = ck.legs.length_m
    inside: list[int] = []
    for leg in range(n_legs):
        tol = 1e-9 if length[leg] < GAP_TOLERANCE_M else GAP_TOLERANCE_M / float(length[leg])
        gaps = uncovered(spans[leg], min(tol, 1e-3))
        if not gaps:
            inside.append(leg)
            continue
        ck.add(
            RawFinding(
                violation=True,
                rule=OUTSIDE_OPERATING_AREA,
                leg=leg,
                s=gaps[0][0],
                what="is outside every operating area (in its band and active) at that time",
                restriction="operating-area",
                s_exit=gaps[-1][1],
            )
        )
    if zones is not None and ck.buffer_m > 0:
        _edge_warnings(ck, table, zones, inside, owners)


def _edge_warnings(
    ck: Check,
    table: ZoneTable,
    zones: ProjectedZones,
    inside: list[int],
    owners: list[set[int]],
) -> None:
    """within-buffer warnings for legs inside the areas but near the edge of their union."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for leg in inside:
        groups.setdefault(tuple(sorted(owners[leg])), []).append(leg)
    for owner, legs in groups.items():
        shapes = [_outline(zones, p) for p in owner]
        edge = shapely.union_all(shapes).boundary if len(shapes) > 1 else shapes[0].boundary
        shapely.prepare(edge)
        lines = ck.leg_geoms[np.array(legs, dtype=np.intp)]
        close = np.flatnonzero(shapely.dwithin(lines, edge, ck.buffer_m))
        if not close.size:
            continue
        gaps = shapely.distance(lines[close], edge)
        for k, gap in zip(close.tolist(), gaps.tolist(), strict=True):
            to_each = [float(shapely.distance(lines[k], shape.boundary)) for shape in shapes]
            zone = table.zones[int(zones.cand[owner[int(np.argmin(to_each))]])]
            ck.add(
                RawFinding(
                    violation=False,
                    rule=WITHIN_BUFFER,
                    leg=legs[k],
                    s=_closest_param(ck, legs[k], edge),
                    what=(
                        f"comes within the {ck.buffer_m:g} m buffer of the edge of operating "
                        f"area {zone.name!r} (closest point)"
                    ),
                    zone=zone,
                    restriction=zone.restriction.value,
                    clearance_m=round(float(gap), 2),
                )
            )


def _outline(zones: ProjectedZones, pos: int) -> BaseGeometry:
    if zones.is_circle[pos]:
        centre = shapely.Point(float(zones.cx[pos]), float(zones.cy[pos]))
        return centre.buffer(float(zones.radius_m[pos]), quad_segs=CIRCLE_QUAD_SEGS)
    geom: BaseGeometry = zones.geoms[pos]
    return geom


def _closest_param(ck: Check, leg: int, edge: BaseGeometry) -> float:
    line = ck.leg_geoms[leg]
    if ck.legs.is_point[leg]:
        return 0.0
    near = shapely.get_point(shapely.shortest_line(line, edge), 0)
    return float(shapely.line_locate_point(line, near, normalized=True))
