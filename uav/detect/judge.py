"""Judgement: whose is each detection, which active zones is it inside (3-D + time), how bad.

A batch of detections is judged at once: numpy over the batch, one STRtree query, shapely's
vectorised point-in-polygon and distance calls over the candidate (detection, zone) pairs.

Rules
-----
Authorised
    A detection is authorised when it matches the own fleet (:class:`FleetIds`: a registered
    drone's Remote ID / serial, an ICAO address given for it, or, for Remote ID received
    over a drone's own link, that drone's sysid) or a permit (``permit_for(detection,
    permits, zone_ids)``, see :class:`PermitFor`). Authorised detections are ``low``.
Manned
    ``Category.MANNED`` (ADS-B emitter types other than UAV) is never placed against the
    zones (which are drone zones): severity ``low``, no zones, no incidents.
    ``Category.UNKNOWN`` (no emitter type, RF and radar plots) is judged as a drone.
Inside a zone
    Horizontally inside (boundary counts), inside the zone's band and the zone active at the
    detection's time. Polygons are tested in lon/lat (as the check reads GeoJSON); circles by
    distance from the centre on the ellipsoid.
Altitude frames
    ``AMSL`` is compared with AMSL limits. ``PRESSURE`` altitude is treated as AMSL with an
    uncertainty of ``pressure_uncertainty_m`` (default 60 m, about 7 hPa of QNH away from
    standard): the band is widened by it on both sides (fail closed) and the judgement is
    flagged ``pressure-altitude`` when that mattered. ``ABOVE_TAKEOFF`` and ``ABOVE_GROUND``
    are compared with AGL limits (uav takes AGL as above take-off). Across frames (AMSL
    against AGL) the judge needs ``ground_amsl_m``, the ground's height in the area; without
    it the limit is taken as met (fail closed) and the judgement flagged
    ``altitude-frame-assumed``. A detection without altitude is judged inside every band
    and flagged ``no-altitude``. One without a position cannot be placed: ``low``, flagged
    ``no-position``.
Severity (unauthorised drones and unknowns)
    ``high`` inside a prohibited or an authorization zone; else ``medium`` within
    ``buffer_m`` (plus the detection's own ``position_error_m``) of such a zone while inside
    its band and active, or inside a warning zone; else ``low``. ``zone_id`` names the zone
    that set the severity (prohibited before authorization; the buffer before a warning
    zone, so a stay that starts in the buffer and goes on inside is one incident);
    ``zone_ids`` lists every active zone the detection is inside; ``clearance_m`` is 0
    inside a high zone and the distance to it within its buffer.
Buffer distances
    Polygons are scaled to metres about their own box centre (equirectangular). The
    distance's relative error is about tan(lat) x the latitude difference to that centre
    (0.2 % at 45 deg 10 km away); the test is widened by that ratio (fail closed).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import shapely

from uav.check.index import ZoneIndex
from uav.detect.judge_geometry import (
    ZoneGeometry,
    ellipsoid_distance_m,
    m_per_deg_lat,
    m_per_deg_lon,
)
from uav.detect.model import (
    AltFrame,
    Category,
    Detection,
    Judgement,
    SensorKind,
    Severity,
    new_judgement,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]
ObjArray = npt.NDArray[np.object_]
BoolArray = npt.NDArray[np.bool_]

PRESSURE_UNCERTAINTY_M = 60.0
ZONE_SETS_MAX = 65_536  # distinct zone lists kept to be shared (then forgotten, and again)

FLAG_NO_POSITION = "no-position"
FLAG_NO_ALTITUDE = "no-altitude"
FLAG_PRESSURE = "pressure-altitude"
FLAG_FRAME = "altitude-frame-assumed"
_FLAG_BITS = (FLAG_NO_POSITION, FLAG_NO_ALTITUDE, FLAG_PRESSURE, FLAG_FRAME)
_FLAG_TUPLES = tuple(
    tuple(f for b, f in enumerate(_FLAG_BITS) if mask & (1 << b)) for mask in range(16)
)

# detection altitude frame codes
_AMSL, _PRESSURE, _AGL, _NONE = 0, 1, 2, 3
_FRAME_CODE: dict[AltFrame | None, int] = {
    AltFrame.AMSL: _AMSL,
    AltFrame.PRESSURE: _PRESSURE,
    AltFrame.ABOVE_TAKEOFF: _AGL,
    AltFrame.ABOVE_GROUND: _AGL,
}
# pair kinds, in the order they set severity
_IN_HIGH, _BUFFER, _IN_WARNING = 0, 1, 2


# --- who is it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetIds:
    """The own fleet's identifiers, each mapped to the drone's name."""

    remote_ids: Mapping[str, str] = field(default_factory=dict)  # Remote ID / serial
    icao: Mapping[str, str] = field(default_factory=dict)  # 6 upper-case hex digits
    links: Mapping[tuple[str, int], str] = field(default_factory=dict)  # (link, sysid)

    @classmethod
    def from_drones(cls, drones: Iterable[Any], icao: Mapping[str, str] | None = None) -> FleetIds:
        """From registered drones (``uav.store.drones.Drone``); ICAO addresses given apart
        (the registry holds none)."""
        rid: dict[str, str] = {}
        links: dict[tuple[str, int], str] = {}
        for d in drones:
            for ident in (d.remote_id, d.serial):
                if ident:
                    rid[ident] = d.name
            links[(d.name, d.sysid)] = d.name
            links[(d.connect_url, d.sysid)] = d.name
            links[(f"mavlink:{d.connect_url}", d.sysid)] = d.name
        return cls(rid, {k.upper(): v for k, v in (icao or {}).items()}, links)

    def match(self, d: Detection) -> str | None:
        """The fleet drone this detection is of, or None.

        Sysid matches only Remote ID that arrived over the drone's own link (its name as
        ``sensor_id``, or its connection as ``source``): ADS-B relayed by a fleet drone
        carries the drone's sysid too but is of other aircraft.
        """
        if d.remote_id is not None and d.remote_id in self.remote_ids:
            return self.remote_ids[d.remote_id]
        if d.icao_address is not None and d.icao_address in self.icao:
            return self.icao[d.icao_address]
        if d.sensor_kind == SensorKind.REMOTE_ID and d.mavlink_sysid is not None:
            sysid = d.mavlink_sysid
            return self.links.get((d.sensor_id, sysid)) or self.links.get((d.source, sysid))
        return None


class PermitFor(Protocol):
    """``uav.detect.permits.permit_for``: the permit covering ``detection`` inside the zones
    ``zone_ids`` at its time, or None. The permit's ``id`` names it in the judgement."""

    def __call__(
        self, detection: Detection, permits: Sequence[Any], zone_ids: tuple[int, ...]
    ) -> Any | None: ...


PermitLookup = Callable[[Detection, tuple[int, ...]], Any | None]


def permit_lookup(permits: Sequence[Any], permit_for: PermitFor | None) -> PermitLookup:
    """How the judge asks for a detection's permit: ``permit_for`` when given, else
    :class:`uav.detect.permits.PermitIndex` (a dict probe per detection), else
    ``uav.detect.permits.permit_for``; with neither installed, nothing matches (fail
    closed: no permit, not authorised)."""
    if permit_for is not None:
        given = permit_for
        return lambda d, zone_ids: given(d, permits, zone_ids)
    try:
        module = importlib.import_module("uav.detect.permits")
    except ImportError:
        return lambda d, zone_ids: None
    index_cls = getattr(module, "PermitIndex", None)
    if index_cls is not None:
        index = index_cls(permits)
        return lambda d, zone_ids: index.permit_for(d, zone_ids)
    found: PermitFor | None = getattr(module, "permit_for", None)
    if found is None:
        return lambda d, zone_ids: None
    return lambda d, zone_ids: found(d, permits, zone_ids)


# --- where is it --------------------------------------------------------------------------


@dataclass
class _Batch:
    """A batch's fields as arrays."""

    lat: FloatArray
    lon: FloatArray
    alt: FloatArray
    frame: npt.NDArray[np.int8]
    t_s: FloatArray
    err_m: FloatArray
    placed: BoolArray  # judged against the zones: positioned, not manned

    @classmethod
    def of(cls, detections: Sequence[Detection], skip: BoolArray) -> _Batch:
        # a None becomes NaN in a float array
        lat = np.array([d.lat_deg for d in detections], dtype=float)
        lon = np.array([d.lon_deg for d in detections], dtype=float)
        alt = np.array([d.alt_m for d in detections], dtype=float)
        codes = _FRAME_CODE
        frame = np.array([codes.get(d.alt_frame, _NONE) for d in detections], dtype=np.int8)
        t_s = np.array([d.time_s for d in detections], dtype=float)
        err = np.array([d.position_error_m for d in detections], dtype=float)
        ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        err = np.where(np.isfinite(err) & (err > 0), err, 0.0)
        return cls(lat, lon, alt, frame, t_s, err, ok & ~skip)


@dataclass
class _Placement:
    """Per detection: the severity-setting zone and the zones it is inside."""

    rank: npt.NDArray[np.int8]  # 2 high, 1 medium, 0 low
    zone: IntArray  # table index of the severity-setting zone, -1 none
    clearance_m: FloatArray
    inside: list[tuple[int, ...]]
    flags: npt.NDArray[np.uint8]


class Judge:
    """Judges batches of detections against ``index``'s restricted zones (not operating
    areas), the own fleet and the permits."""

    def __init__(
        self,
        index: ZoneIndex,
        fleet: FleetIds | None = None,
        permits: Sequence[Any] = (),
        *,
        buffer_m: float = 20.0,
        ground_amsl_m: float | None = None,
        pressure_uncertainty_m: float = PRESSURE_UNCERTAINTY_M,
        permit_for: PermitFor | None = None,
        manned_above_m: float | None = None,
    ) -> None:
        if not (math.isfinite(buffer_m) and buffer_m >= 0):
            raise ValueError(f"buffer_m must be 0 or more, not {buffer_m}")
        # ADS-B targets without an emitter category (SBS-1 carries none) reported above this
        # altitude (in their own frame) are taken as manned; None: unknowns are judged as
        # drones (fail closed)
        self.manned_above_m = manned_above_m
        self.index = index
        self.fleet = fleet or FleetIds()
        self.permits = tuple(permits)
        self.buffer_m = float(buffer_m)
        self.ground_amsl_m = ground_amsl_m
        self.pressure_uncertainty_m = float(pressure_uncertainty_m)
        self._permit_for = permit_for
        self.use_permits(permits)
        self._zones = ZoneGeometry(index.restricted)
        if self.buffer_m > 0:
            self._zones.grow_all(self.buffer_m)
        self._zone_sets: dict[tuple[int, ...], tuple[int, ...]] = {}

    def use_permits(self, permits: Sequence[Any]) -> None:
        """Judge from now on with ``permits`` (e.g. after one was added or revoked)."""
        self.permits = tuple(permits)
        self._permit = permit_lookup(self.permits, self._permit_for)
        # the ids the permits name: the built-in lookup matches by id only, so a detection
        # carrying none of them is not looked up (None: a given permit_for sees them all)
        self._permit_ids: frozenset[str] | None = (
            None
            if self._permit_for is not None
            else frozenset(
                i
                for p in self.permits
                for i in (getattr(p, "remote_id", None), getattr(p, "icao_address", None))
                if i is not None
            )
        )

    def judge(self, detections: Sequence[Detection], track_ids: Sequence[str]) -> list[Judgement]:
        """One judgement per detection, in order; ``track_ids`` from the tracker."""
        n = len(detections)
        if n != len(track_ids):
            raise ValueError("one track id per detection")
        if not n:
            return []
        categories = [d.category for d in detections]
        if self.manned_above_m is not None:
            categories = self._manned_by_altitude(detections, categories, self.manned_above_m)
        manned = np.fromiter((c is Category.MANNED for c in categories), bool, n)
        batch = _Batch.of(detections, manned)
        place = self._place(batch)
        by = self._authorised_by(detections, categories, place.inside)
        return self._judgements(track_ids, categories, by, place)

    @staticmethod
    def _manned_by_altitude(
        detections: Sequence[Detection], categories: list[Category], above_m: float
    ) -> list[Category]:
        unknown, adsb, manned = Category.UNKNOWN, SensorKind.ADSB, Category.MANNED
        return [
            manned
            if c is unknown and d.sensor_kind is adsb and d.alt_m is not None and d.alt_m > above_m
            else c
            for d, c in zip(detections, categories, strict=True)
        ]

    def _authorised_by(
        self,
        detections: Sequence[Detection],
        categories: list[Category],
        inside: list[tuple[int, ...]],
    ) -> list[str | None]:
        """Per detection: ``fleet:<drone>``, ``permit:<id>`` or None (not authorised)."""
        fleet = self.fleet
        match, fleet_rids, fleet_icao = fleet.match, fleet.remote_ids, fleet.icao
        by_link = bool(fleet.links)
        out: list[str | None] = [None] * len(detections)
        ids = self._permit_ids
        manned = Category.MANNED
        for i, d in enumerate(detections):
            # FleetIds.match only when it can match (it runs per detection)
            rid, icao = d.remote_id, d.icao_address
            if (
                (rid is not None and rid in fleet_rids)
                or (icao is not None and icao in fleet_icao)
                or (by_link and d.mavlink_sysid is not None)
            ):
                drone = match(d)
                if drone is not None:
                    out[i] = f"fleet:{drone}"
                    continue
            if not self.permits or categories[i] is manned:
                continue
            if ids is None or d.remote_id in ids or d.icao_address in ids:
                permit = self._permit(d, inside[i])
                if permit is not None:
                    out[i] = f"permit:{getattr(permit, 'id', None)}"
        return out

    def _judgements(
        self,
        track_ids: Sequence[str],
        categories: list[Category],
        authorised_by: list[str | None],
        place: _Placement,
    ) -> list[Judgement]:
        """The per-detection loop: plain lists, no numpy scalars (it runs per detection)."""
        zones = self._zones
        flag_sets = [_FLAG_TUPLES[f] for f in place.flags.tolist()]
        ranks = place.rank.tolist()
        chosen = place.zone.tolist()
        clearances = place.clearance_m.tolist()
        zone_ids, names = zones.id_list, zones.names
        low, high, medium = Severity.LOW, Severity.HIGH, Severity.MEDIUM
        make = new_judgement
        out: list[Judgement] = []
        append = out.append
        for i, (inside, by, rank) in enumerate(
            zip(place.inside, authorised_by, ranks, strict=True)
        ):
            if by is not None or rank == 0:
                append(
                    make(
                        track_ids[i], categories[i], by is not None, by, low, inside,
                        None, None, None, flag_sets[i],
                    )
                )  # fmt: skip
                continue
            z = chosen[i]
            append(
                make(
                    track_ids[i], categories[i], False, None, high if rank == 2 else medium,
                    inside, zone_ids[z], names[z], clearances[i], flag_sets[i],
                )
            )  # fmt: skip
        return out

    # --- geometry over the batch ------------------------------------------------------

    def _place(self, b: _Batch) -> _Placement:
        n = len(b.t_s)
        flags = np.where(~np.isfinite(b.lat) | ~np.isfinite(b.lon), 1, 0).astype(np.uint8)
        rank = np.zeros(n, dtype=np.int8)
        zone = np.full(n, -1, dtype=np.intp)
        clearance = np.full(n, np.nan)
        inside: list[tuple[int, ...]] = [()] * n
        det, zi = self._candidates(b)
        if not det.size:
            return _Placement(rank, zone, clearance, inside, flags)
        horiz, dist_m, near = self._horizontal(b, det, zi)
        band_ok, band_flags = self._band(b, det, zi)
        active = self._zones.active(zi, b.t_s[det])
        z = self._zones
        in3d = horiz & band_ok & active
        buffered = ~horiz & near & z.is_high[zi] & band_ok & active
        mattered = (horiz | buffered) & active
        np.bitwise_or.at(flags, det[mattered], band_flags[mattered])
        hit = in3d | buffered
        kind = np.where(buffered, _BUFFER, np.where(z.is_high[zi], _IN_HIGH, _IN_WARNING))
        d, k, zz, dist = det[hit], kind[hit], zi[hit], dist_m[hit]
        order = np.lexsort((z.zone_id[zz], dist, k, d))
        d, k, zz, dist = d[order], k[order], zz[order], dist[order]
        first = np.flatnonzero(np.r_[True, d[1:] != d[:-1]]) if d.size else np.empty(0, np.intp)
        sel_d = d[first]
        rank[sel_d] = np.where(k[first] == _IN_HIGH, 2, 1)
        zone[sel_d] = zz[first]
        clearance[sel_d] = np.where(k[first] == _IN_HIGH, 0.0, dist[first])
        self._inside_lists(inside, det[in3d], z.zone_id[zi[in3d]])
        return _Placement(rank, zone, clearance, inside, flags)

    def _candidates(self, b: _Batch) -> tuple[IntArray, IntArray]:
        """(detection, zone) pairs whose zone box comes within reach of the detection."""
        idx = np.flatnonzero(b.placed)
        table = self._zones.table
        if not idx.size or not len(table):
            empty = np.empty(0, dtype=np.intp)
            return empty, empty
        lat, lon = b.lat[idx], b.lon[idx]
        reach = (self.buffer_m + b.err_m[idx]) * 1.01 + 1.0
        dlat = reach / m_per_deg_lat(lat)
        dlon = reach / m_per_deg_lon(lat)
        boxes = shapely.box(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
        q, zi = table.query(boxes)
        return idx[q], zi

    def _horizontal(
        self, b: _Batch, det: IntArray, zi: IntArray
    ) -> tuple[BoolArray, FloatArray, BoolArray]:
        """Per pair: inside horizontally, distance to the zone (0 inside), within reach."""
        z = self._zones
        lat, lon = b.lat[det], b.lon[det]
        reach = self.buffer_m + b.err_m[det]
        inside = np.zeros(len(det), dtype=bool)
        dist = np.full(len(det), np.inf)
        circ = z.table.is_circle[zi]
        c = np.flatnonzero(circ)
        if c.size:
            zc = zi[c]
            centre = ellipsoid_distance_m(lat[c], lon[c], z.lat0[zc], z.lon0[zc])
            edge = centre - z.table.circle_radius_m[zc]
            inside[c] = edge <= 0
            dist[c] = np.maximum(edge, 0.0)
        p = np.flatnonzero(~circ)
        if p.size:
            zp = zi[p]
            x = (lon[p] - z.lon0[zp]) * z.mx[zp]
            y = (lat[p] - z.lat0[zp]) * z.my[zp]
            geoms = z.local[zp]
            ins = shapely.intersects_xy(geoms, x, y)
            inside[p] = ins
            dist[p[ins]] = 0.0
            out = ~ins & z.is_high[zp]
            if self.buffer_m > 0:  # most pairs: a point test against the grown polygon
                fast = np.flatnonzero(out & (b.err_m[det[p]] == 0) & z.small[zp])
                grown = z.grown(zp[fast], self.buffer_m)
                out[fast[~shapely.intersects_xy(grown, x[fast], y[fast])]] = False
            out_i = np.flatnonzero(out)
            if out_i.size:
                d_local = shapely.distance(geoms[out_i], shapely.points(x[out_i], y[out_i]))
                ratio = z.mx[zp[out_i]] / m_per_deg_lon(lat[p[out_i]])
                dist[p[out_i]] = d_local * np.minimum(ratio, 1.0 / ratio)  # fail closed
        return inside, dist, dist <= reach

    def _band(
        self, b: _Batch, det: IntArray, zi: IntArray
    ) -> tuple[BoolArray, npt.NDArray[np.uint8]]:
        """Per pair: inside the zone's band (fail closed), and the flags that relied on."""
        t = self._zones.table
        alt = b.alt[det]
        frame = b.frame[det]
        no_alt = ~np.isfinite(alt) | (frame == _NONE)
        pressure = frame == _PRESSURE
        is_amsl = (frame == _AMSL) | pressure
        ground = self.ground_amsl_m
        known_ground = ground is not None and math.isfinite(ground)
        g = float(ground) if known_ground and ground is not None else 0.0
        alt_amsl = np.where(is_amsl, alt, alt + g)
        alt_agl = np.where(is_amsl, alt - g, alt)
        slack = np.where(pressure, self.pressure_uncertainty_m, 0.0)

        def limit_ok(
            limit_m: FloatArray, limit_amsl: BoolArray, above: bool
        ) -> tuple[BoolArray, BoolArray]:
            value = np.where(limit_amsl, alt_amsl, alt_agl)
            ok = value + slack >= limit_m if above else value - slack <= limit_m
            unknown = no_alt | ((limit_amsl != is_amsl) & (not known_ground))
            return ok | unknown, unknown & ~no_alt

        floor_m = t.floor_m[zi]
        ceiling_m = t.ceiling_m[zi]
        floor_ok, floor_unknown = limit_ok(floor_m, t.floor_amsl[zi], True)
        # a floor at or below 0 AGL holds everything; an unlimited ceiling likewise
        ground_floor = (floor_m <= 0) & ~t.floor_amsl[zi]
        floor_ok |= ground_floor
        floor_unknown &= ~ground_floor
        ceil_ok, ceil_unknown = limit_ok(ceiling_m, t.ceiling_amsl[zi], False)
        unlimited = ~np.isfinite(ceiling_m)
        ceil_ok |= unlimited
        ceil_unknown &= ~unlimited
        flags = np.where(no_alt, 2, 0) | np.where(pressure & ~(ground_floor & unlimited), 4, 0)
        flags = flags | np.where(floor_unknown | ceil_unknown, 8, 0)
        return floor_ok & ceil_ok, flags.astype(np.uint8)

    def _inside_lists(
        self, inside: list[tuple[int, ...]], det: IntArray, zone_id: IntArray
    ) -> None:
        """Each detection's zones, ascending; the same zones make the same tuple object
        (one for all the detections of a stay, not one each to allocate and collect)."""
        if not det.size:
            return
        order = np.lexsort((zone_id, det))
        d, zid = det[order], zone_id[order]
        starts = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
        ends = np.r_[starts[1:], len(d)]
        zl = zid.tolist()
        known = self._zone_sets
        if len(known) > ZONE_SETS_MAX:
            known.clear()
        same = known.setdefault
        for s, e, i in zip(starts.tolist(), ends.tolist(), d[starts].tolist(), strict=True):
            zones = tuple(zl[s:e])
            inside[i] = same(zones, zones)
