"""Rules about restrictive zones: enters-zone, enters-warning-zone, within-buffer, home-in-zone.

All (leg, zone) candidate pairs go through each step at once as arrays; Python loops run only
over pairs that end in a finding (and over the pieces of scheduled zones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely

from uav.check.context import Check, RawFinding
from uav.check.geometry import ProjectedZones, circle_clearance, circle_params, spatial_pieces
from uav.check.index import AUTHORIZATION_CODE, PROHIBITED_CODE, WARNING_CODE, ZoneTable
from uav.check.intervals import Pieces, band_params
from uav.check.report import ENTERS_WARNING_ZONE, ENTERS_ZONE, HOME_IN_ZONE, WITHIN_BUFFER
from uav.zones.model import Restriction, Zone

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
BoolArray = npt.NDArray[np.bool_]
ObjArray = npt.NDArray[np.object_]


class Pairs:
    """Candidate (leg, zone) pairs of one table, with the zones' projected positions."""

    def __init__(self, leg_idx: IntArray, zone_idx: IntArray, zones: ProjectedZones) -> None:
        self.leg = leg_idx
        self.zone = zone_idx
        self.pos = zones.local(zone_idx)

    def __len__(self) -> int:
        return len(self.leg)

    def select(self, keep: BoolArray | IntArray, zones: ProjectedZones) -> Pairs:
        return Pairs(self.leg[keep], self.zone[keep], zones)


def check_restricted(
    ck: Check,
    table: ZoneTable,
    zones: ProjectedZones,
    leg_idx: IntArray,
    zone_idx: IntArray,
) -> None:
    """Find entries into (and near passes of) restrictive zones for all candidate pairs."""
    pairs = Pairs(leg_idx, zone_idx, zones)
    pairs = pairs.select(_near(ck, zones, pairs), zones)
    if not len(pairs):
        return
    inside = pieces_in_zone(ck, table, zones, pairs, grow_m=0.0)
    has, first, last = inside.first_last(len(pairs))
    for k in np.flatnonzero(has).tolist():
        _report_entry(ck, table, pairs, k, float(first[k]), float(last[k]))
    # Pairs that entered got their finding (or were granted): no buffer warning for them.
    code = table.restriction_code[pairs.zone]
    near_miss = ~has & ((code == PROHIBITED_CODE) | (code == AUTHORIZATION_CODE))
    _buffer_warnings(ck, table, zones, pairs.select(np.flatnonzero(near_miss), zones))


def pieces_in_zone(
    ck: Check,
    table: ZoneTable,
    zones: ProjectedZones,
    pairs: Pairs,
    grow_m: float,
    margin_s: float | None = None,
) -> Pieces:
    """Where each pair's leg is inside its zone (grown by ``grow_m``), band and schedule
    (widened by ``margin_s``, the check's time margin unless given)."""
    spatial = spatial_pieces(ck.legs, ck.leg_geoms, zones, pairs.leg, pairs.pos, grow_m)
    floor_h, ceiling_h = ck.heights(table, pairs.zone)
    lo, hi = band_params(ck.legs.alt0[pairs.leg], ck.legs.alt1[pairs.leg], floor_h, ceiling_h)
    in_band = spatial.clip(lo, hi)
    margin = ck.margin_s if margin_s is None else margin_s
    return ck.clip_to_schedules(in_band, table, pairs.leg, pairs.zone, margin)


def _near(ck: Check, zones: ProjectedZones, pairs: Pairs) -> BoolArray:
    """Pairs whose leg comes within the buffer of the zone (2-D, exact)."""
    near = np.zeros(len(pairs), dtype=bool)
    circle = zones.is_circle[pairs.pos]
    poly = np.flatnonzero(~circle)
    if poly.size:
        lines = ck.leg_geoms[pairs.leg[poly]]
        near[poly] = shapely.dwithin(lines, zones.geoms[pairs.pos[poly]], ck.buffer_m)
    circ = np.flatnonzero(circle)
    if circ.size:
        p = pairs.pos[circ]
        ok, _, _ = circle_params(
            ck.legs, pairs.leg[circ], zones.cx[p], zones.cy[p], zones.radius_m[p] + ck.buffer_m
        )
        near[circ] = ok
    return near


def _report_entry(
    ck: Check, table: ZoneTable, pairs: Pairs, k: int, first: float, last: float
) -> None:
    """Add the finding for pair ``k`` entering its zone (none for a granted entry)."""
    zone = table.zones[int(pairs.zone[k])]
    leg = int(pairs.leg[k])
    code = int(table.restriction_code[pairs.zone[k]])
    if code == WARNING_CODE:
        note = f": {zone.message or zone.reason}" if (zone.message or zone.reason) else ""
        finding = _zone_finding(False, ENTERS_WARNING_ZONE, leg, first, zone, "enters", note)
        finding.s_exit = last
        ck.add(finding)
        return
    why = ""
    if code == AUTHORIZATION_CODE:
        t_in, t_out = ck.abs_time(leg, first), ck.abs_time(leg, last)
        if ck.granted(zone, t_in, t_out):
            return
        why = ck.grant_problem(zone, t_in, t_out)
    finding = _zone_finding(True, ENTERS_ZONE, leg, first, zone, "enters", why)
    finding.s_exit = last
    ck.add(finding)


def _zone_finding(
    violation: bool, rule: str, leg: int, s: float, zone: Zone, verb: str, why: str = ""
) -> RawFinding:
    kind = zone.restriction.value
    return RawFinding(
        violation=violation,
        rule=rule,
        leg=leg,
        s=s,
        what=f"{verb} {kind} zone {zone.name!r} ({zone.band.describe()})",
        zone=zone,
        restriction=kind,
        why=why,
    )


def _buffer_warnings(ck: Check, table: ZoneTable, zones: ProjectedZones, pairs: Pairs) -> None:
    """within-buffer warnings: in band and active while within the buffer, but never inside."""
    if not len(pairs) or ck.buffer_m <= 0:
        return
    close = pieces_in_zone(ck, table, zones, pairs, grow_m=ck.buffer_m)
    if not len(close):
        return
    clearance = _clearances(ck, zones, pairs, close)
    least = np.full(len(pairs), np.inf)
    np.minimum.at(least, close.pair, clearance)
    has, first, last = close.first_last(len(pairs))
    for k in np.flatnonzero(has):
        zone = table.zones[int(pairs.zone[k])]
        leg = int(pairs.leg[k])
        t_in, t_out = ck.abs_time(leg, float(first[k])), ck.abs_time(leg, float(last[k]))
        if zone.restriction is Restriction.AUTHORIZATION and ck.granted(zone, t_in, t_out):
            continue
        verb = f"comes within the {ck.buffer_m:g} m buffer of"
        finding = _zone_finding(False, WITHIN_BUFFER, leg, float(first[k]), zone, verb)
        finding.clearance_m = round(float(least[k]), 2)
        finding.s_exit = float(last[k])
        ck.add(finding)


def _clearances(ck: Check, zones: ProjectedZones, pairs: Pairs, close: Pieces) -> FloatArray:
    """The least 2-D distance from each piece of leg to its (ungrown) zone."""
    out = np.empty(len(close))
    pos = pairs.pos[close.pair]
    leg = pairs.leg[close.pair]
    circle = zones.is_circle[pos]
    poly = np.flatnonzero(~circle)
    if poly.size:
        parts = ck.legs.sub_lines(leg[poly], close.s0[poly], close.s1[poly])
        out[poly] = shapely.distance(parts, zones.geoms[pos[poly]])
    circ = np.flatnonzero(circle)
    if circ.size:
        p = pos[circ]
        out[circ] = circle_clearance(
            ck.legs,
            leg[circ],
            close.s0[circ],
            close.s1[circ],
            zones.cx[p],
            zones.cy[p],
            zones.radius_m[p],
        )
    return out


@dataclass(frozen=True)
class GroundPoint:
    """A point where the drone sits on the ground, and when it may be there."""

    what: str  # verb phrase before the zone: "takes off from inside", "lands inside"
    leg: int
    s: float
    lon_deg: float
    lat_deg: float
    x_m: float
    y_m: float
    t0_s: float  # epoch seconds
    t1_s: float


def ground_points(ck: Check) -> list[GroundPoint]:
    """Home, for the whole flight (a failsafe return may land there at any time), and the
    last point when it is on the ground, at landing time."""
    legs = ck.legs
    t0, t1 = ck.flight_span
    home = GroundPoint(
        "takes off from inside",
        0,
        0.0,
        float(legs.lon0[0]),
        float(legs.lat0[0]),
        float(legs.x0[0]),
        float(legs.y0[0]),
        t0,
        t1,
    )
    last = len(legs) - 1
    if len(ck.path.points) < 2 or abs(float(legs.alt1[last])) > 1e-6:
        return [home]
    landing = GroundPoint(
        "lands inside",
        last,
        1.0,
        float(legs.lon1[last]),
        float(legs.lat1[last]),
        float(legs.x1[last]),
        float(legs.y1[last]),
        t1,
        t1,
    )
    return [home, landing]


def check_ground(
    ck: Check,
    table: ZoneTable,
    zones: ProjectedZones,
    points: list[GroundPoint],
    point_idx: IntArray,
    zone_idx: IntArray,
) -> None:
    """home-in-zone: a ground point inside a prohibited or unauthorised zone whose band holds
    the ground (0 m above home) and which is active while the drone may be there."""
    for i, z in zip(point_idx.tolist(), zone_idx.tolist(), strict=True):
        code = int(table.restriction_code[z])
        if code not in (PROHIBITED_CODE, AUTHORIZATION_CODE):
            continue
        pt = points[i]
        if not _holds_point(zones, int(zones.local(np.array([z]))[0]), pt.x_m, pt.y_m):
            continue
        floor_h, ceiling_h = ck.heights(table, np.array([z], dtype=np.intp))
        if not floor_h[0] <= 0.0 <= ceiling_h[0]:
            continue
        if not table.permanent[z]:
            spans = ck.active_spans(table, z, ck.margin_s)
            if not any(a <= pt.t1_s and pt.t0_s <= b for a, b in spans):
                continue
        zone = table.zones[z]
        why = ""
        if code == AUTHORIZATION_CODE:
            if ck.granted(zone, pt.t0_s, pt.t1_s):
                continue
            why = ck.grant_problem(zone, pt.t0_s, pt.t1_s)
        ck.add(_zone_finding(True, HOME_IN_ZONE, pt.leg, pt.s, zone, pt.what, why))


def _holds_point(zones: ProjectedZones, pos: int, x_m: float, y_m: float) -> bool:
    if zones.is_circle[pos]:
        return bool(math.hypot(x_m - zones.cx[pos], y_m - zones.cy[pos]) <= zones.radius_m[pos])
    return bool(shapely.intersects(zones.geoms[pos], shapely.Point(x_m, y_m)))
