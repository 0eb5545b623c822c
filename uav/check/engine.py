"""The 3-D + time flight-plan check: does a flight path break any zone's rule?

Semantics
---------
Legs
    Consecutive points of the :class:`~uav.plans.model.FlightPath` form straight 3-D legs:
    position, altitude (above home) and time are linear along the horizontal path, time
    running from ``point.t_s + point.hold_s`` to the next point's ``t_s``. A point's hold is
    a leg of its own, of zero length, lasting ``hold_s``, named ``"3→3"``; it comes before
    the leg that leaves the point. Legs with no horizontal length (holds, vertical take-off
    and landing) are inside a zone for their whole length or not at all. A path of a single
    point is one zero-length leg. ``Finding.leg_index`` counts legs in this order.
Frame
    Geometry is computed in metres in a :class:`~uav.geo.local.LocalFrame` centred on the
    path's lon/lat bounding-box centre. A path point or a (clipped) candidate zone vertex
    farther than ``LocalFrame.max_extent_m`` from it raises :class:`CheckUncertain`.
    Polygon zones reaching beyond the path's surroundings (its box grown by the buffer and
    1 km) are clipped to them first; edges longer than ~1 km are densified so they stay
    straight in lon/lat. Circles stay exact circles in the frame.
Candidates
    One ``STRtree.query`` over every leg's lon/lat box grown by the buffer (plus 1 m and 0.1 %
    of the leg) gives the candidate (leg, zone) pairs (operating areas have a tree of their
    own); only their zones are projected, once per check, and exact work runs only on pairs
    within the buffer of their zone.
Inside a zone
    For a pair: the parameter intervals where the leg is inside the zone horizontally
    (polygon: the leg's intersection with the zone, mapped back along the leg; circle:
    segment-circle intersection), where ``floor <= alt <= ceiling`` (AGL is taken as above
    home; AMSL needs ``path.home_amsl_m``: without it a zone in AMSL within the buffer of a
    leg, holding home, or a candidate operating area raises :class:`CheckUncertain` naming
    it), and where the zone is active (its schedule over the leg's absolute times,
    every active interval widened by ``time_margin_s`` on both sides). The leg is in the zone
    where all three hold; boundaries count as inside. The entry is the lowest parameter there.
    There is no vertical margin: a leg exactly at a zone's floor is inside it.
Stays
    Findings are made per leg, then a finding whose stay runs on into the next leg (same rule
    and zone, inside up to the end of one leg and from the start of the next) is folded into
    the first: one finding per continuous stay, at its entry, with ``last_leg_index`` (and
    the message) naming the last leg it goes through. Leaving and coming back makes two.
Rules (at most one finding per leg, zone and rule; sorted by leg, then entry time)
    ``enters-zone`` (violation): entering a prohibited zone, or an authorization zone unless
    one grant covers the drone, the zone and the whole time the drone is inside it during
    that leg, widened by the time margin on both sides. Each leg is checked on its own: a
    stay spanning several legs needs the grant to cover each leg's part (one grant covering
    the whole stay does). No drone, or a zone without an id, means no grant applies.
    ``enters-warning-zone`` (warning): entering a warning zone.
    ``within-buffer`` (warning): a leg that never enters a prohibited or unauthorised
    authorization zone but comes within ``buffer_m`` of it horizontally while inside its band
    and active; ``clearance_m`` is the least 2-D distance over those parts, the entry where
    it first comes within the buffer. Also for a leg inside the operating areas that comes
    within ``buffer_m`` of the edge of their union (entry: the closest point).
    ``above-ceiling`` (violation): a leg reaching above ``max_alt_m`` above home; the entry is
    where it crosses ``max_alt_m``.
    ``outside-operating-area`` (violation): when the index holds any operating area, every
    leg must stay inside the union of the operating areas containing it horizontally, in
    their band and active (their schedules *narrowed* by the time margin); the entry is the
    first point left uncovered.
    ``home-in-zone`` (violation): home (the first point) inside a prohibited or unauthorised
    authorization zone whose band holds the ground (0 m above home) and which is active at
    any time of the flight (a failsafe return may land at home at any time), and likewise the
    landing point (the last point, when its altitude is 0) at landing time.
Errors
    :class:`~uav.errors.PlanError` for a path without points, with non-finite values or with
    time running backwards; :class:`~uav.errors.InputError` for a naive ``start`` or bad
    options; :class:`~uav.errors.CheckUncertain` whenever the check cannot decide safely.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import shapely
from shapely.errors import GEOSException

from uav.auth.model import Grant
from uav.check.areas import check_areas
from uav.check.context import Check, RawFinding, merge_stays
from uav.check.geometry import ProjectedZones, clip_box_around
from uav.check.index import ZoneIndex, ZoneTable
from uav.check.legs import build_legs, check_points, path_frame
from uav.check.report import (
    ABOVE_CEILING,
    CheckReport,
    Entry,
    Finding,
    describe_position,
    sort_findings,
)
from uav.check.scope import LocalScope
from uav.check.zonerules import check_ground, check_restricted, ground_points
from uav.errors import CheckUncertain, InputError
from uav.plans.model import FlightPath
from uav.timeutil import from_epoch

CLIP_PAD_M = 1000.0  # zones are clipped to the path's box grown by the buffer and this
_NONE = np.empty(0, dtype=np.intp)
Box = tuple[float, float, float, float]


def check_path(
    path: FlightPath,
    index: ZoneIndex,
    *,
    start: datetime,
    drone: str | None = None,
    grants: Sequence[Grant] = (),
    buffer_m: float = 20.0,
    max_alt_m: float = 120.0,
    time_margin_s: float = 60.0,
    scope: LocalScope | None = None,
    ground_rules: bool = True,
) -> CheckReport:
    """Check ``path`` flown from ``start`` (take-off) against the zones in ``index``.

    ``scope``: zones of ``index`` already projected around the path (the same answers,
    faster; see :mod:`uav.check.scope`). ``ground_rules=False`` leaves out ``home-in-zone``
    (for a path that starts in the air, as the monitor's predictions do).
    """
    _check_options(start, buffer_m, max_alt_m, time_margin_s)
    if scope is not None and scope.index is not index:
        raise InputError("the scope was built for another zone index")
    if scope is not None:
        check_points(path)
        frame = scope.frame
    else:
        frame = path_frame(path)
    legs = build_legs(path, frame)
    ck = Check(
        path=path,
        legs=legs,
        leg_geoms=legs.geometries(),
        frame=frame,
        start_s=start.timestamp(),
        drone=drone,
        grants=tuple(grants),
        buffer_m=float(buffer_m),
        max_alt_m=float(max_alt_m),
        margin_s=float(time_margin_s),
        ground_rules=ground_rules,
    )
    try:
        considered = _run_rules(ck, index, scope)
    except GEOSException as exc:  # e.g. a zone made invalid by projection: cannot decide
        raise CheckUncertain(f"a zone's geometry could not be processed: {exc}") from exc
    findings = _materialise(ck)
    return CheckReport(
        violations=sort_findings([f for f, raw in findings if raw.violation]),
        warnings=sort_findings([f for f, raw in findings if not raw.violation]),
        notes=[*path.notes, *_notes(ck)],
        start=start,
        duration_s=float(path.duration_s),
        legs=len(legs),
        zones_considered=considered,
    )


def _run_rules(ck: Check, index: ZoneIndex, scope: LocalScope | None) -> int:
    """Every rule; returns the number of candidate zones."""
    boxes = ck.legs.query_boxes(ck.buffer_m)
    clip_box = clip_box_around(ck.legs, ck.buffer_m + CLIP_PAD_M)
    if scope is not None and not scope.covers(clip_box):
        scope = None  # the path reaches beyond the scope: project as usual
    considered = _check_restricted(ck, index.restricted, boxes, clip_box, scope)
    if index.has_operating_areas:
        considered += _check_areas(ck, index.areas, boxes, clip_box, scope)
    _above_ceiling(ck)
    return considered


def _check_options(start: datetime, buffer_m: float, max_alt_m: float, margin_s: float) -> None:
    if start.tzinfo is None or start.utcoffset() is None:
        raise InputError(f"start time {start.isoformat()} has no time zone")
    if not (np.isfinite(buffer_m) and buffer_m >= 0):
        raise InputError(f"buffer {buffer_m} m must be a distance >= 0")
    if not np.isfinite(max_alt_m):
        raise InputError(f"maximum altitude {max_alt_m} m is not a number")
    if not (np.isfinite(margin_s) and margin_s >= 0):
        raise InputError(f"time margin {margin_s} s must be a duration >= 0")


def _check_restricted(
    ck: Check, table: ZoneTable, boxes: np.ndarray, clip_box: Box, scope: LocalScope | None
) -> int:
    """enters-zone, enters-warning-zone, within-buffer and home-in-zone; returns the number of
    candidate zones."""
    leg_idx, zone_idx = table.query(boxes)
    points = ground_points(ck) if ck.ground_rules else []
    point_idx, point_zone = _NONE, _NONE
    if points:
        point_idx, point_zone = table.query(
            shapely.points([p.lon_deg for p in points], [p.lat_deg for p in points])
        )
    cand = np.unique(np.concatenate([zone_idx, point_zone]))
    if not cand.size:
        return 0
    zones = _projected(ck, table, cand, clip_box, scope)
    check_restricted(ck, table, zones, leg_idx, zone_idx)
    if points:
        check_ground(ck, table, zones, points, point_idx, point_zone)
    return len(cand)


def _check_areas(
    ck: Check, table: ZoneTable, boxes: np.ndarray, clip_box: Box, scope: LocalScope | None
) -> int:
    leg_idx, zone_idx = table.query(boxes)
    cand = np.unique(zone_idx)
    zones = _projected(ck, table, cand, clip_box, scope) if cand.size else None
    check_areas(ck, table, zones, leg_idx, zone_idx)
    return len(cand)


def _projected(
    ck: Check, table: ZoneTable, cand: np.ndarray, clip_box: Box, scope: LocalScope | None
) -> ProjectedZones:
    """Zones ``cand`` in the check's frame: from the scope when it has them, else projected."""
    if scope is not None:
        zones = scope.zones(table, cand)
        if zones is not None:
            return zones
    return ProjectedZones(table, cand, ck.frame, clip_box)


def _above_ceiling(ck: Check) -> None:
    legs = ck.legs
    top = ck.max_alt_m
    over = np.flatnonzero(np.maximum(legs.alt0, legs.alt1) > top)
    for leg in over.tolist():
        a0, a1 = float(legs.alt0[leg]), float(legs.alt1[leg])
        s_in = 0.0 if a0 > top else (top - a0) / (a1 - a0)
        s_out = 1.0 if a1 > top else (top - a0) / (a1 - a0)
        verb = "flies above" if a0 > top else "climbs above"
        ck.add(
            RawFinding(
                violation=True,
                rule=ABOVE_CEILING,
                leg=leg,
                s=s_in,
                what=f"{verb} the {top:g} m ceiling (to {max(a0, a1):.0f} m above home)",
                s_exit=s_out,
            )
        )


def _materialise(ck: Check) -> list[tuple[Finding, RawFinding]]:
    """Turn raw findings into findings: entry positions in lon/lat, times, messages."""
    raw = merge_stays(ck.findings)
    if not raw:
        return []
    leg = np.array([r.leg for r in raw], dtype=np.intp)
    s = np.array([r.s for r in raw])
    x, y = ck.legs.xy_at(leg, s)
    lon, lat = ck.frame.to_lonlat(x, y)
    alt = ck.legs.alt_at(leg, s)
    t = ck.legs.time_at(leg, s) + ck.start_s
    home = ck.path.home_amsl_m
    out: list[tuple[Finding, RawFinding]] = []
    for k, r in enumerate(raw):
        entry = Entry(
            lat_deg=round(float(lat[k]), 7),
            lon_deg=round(float(lon[k]), 7),
            alt_m=round(float(alt[k]), 2),
            alt_amsl_m=None if home is None else round(float(alt[k]) + home, 2),
            time=from_epoch(float(t[k])).isoformat(timespec="milliseconds"),
        )
        name = ck.legs.names[r.leg]
        hold = " (holding)" if ck.legs.is_hold[r.leg] else ""
        message = f"Leg {name}{hold} {r.what} at {describe_position(entry)}{r.why}"
        if r.clearance_m is not None:
            message += f"; least clearance {r.clearance_m:.1f} m"
        if r.until_leg is not None:
            message += f"; it stays so through leg {ck.legs.names[r.until_leg]}"
        message += "."
        finding = Finding(
            rule=r.rule,
            zone_id=None if r.zone is None else r.zone.id,
            zone=None if r.zone is None else r.zone.name,
            restriction=r.restriction,
            leg=name,
            leg_index=r.leg,
            entry=entry,
            message=message,
            clearance_m=r.clearance_m,
            last_leg_index=r.leg if r.until_leg is None else r.until_leg,
        )
        out.append((finding, r))
    return out


def _notes(ck: Check) -> list[str]:
    notes: list[str] = []
    if ck.used_agl:
        notes.append(
            "zone altitudes given above ground (AGL) were taken as above the take-off point: "
            "uav has no terrain model"
        )
    if ck.used_schedules:
        notes.append(
            f"zone schedules were widened by {ck.margin_s:g} s on both sides (operating areas "
            "narrowed by as much) to allow for timing error"
        )
    if ck.used_grants:
        notes.append(f"a grant must cover the time inside its zone ±{ck.margin_s:g} s, leg by leg")
    notes.append(
        f"legs were checked as straight lines with a {ck.buffer_m:g} m horizontal buffer and "
        f"a {ck.max_alt_m:g} m ceiling above home"
    )
    return notes
