"""From what a parser read (a :class:`ZoneFeature`) to a validated :class:`Zone`.

Every format parser produces ``ZoneFeature`` objects with coordinates as read (``x`` = lon,
``y`` = lat in the file's CRS) and optional attributes; :func:`build_zones` fills what the
file lacks from the command-line defaults, converts to WGS-84 and validates. It raises on
the first bad feature, so a load is all-or-nothing.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon

from uav.errors import InputError, Location, ZoneValidationError
from uav.geo.crs import converter, is_geographic, normalise_crs
from uav.timeutil import get_tz
from uav.zones.model import (
    AltitudeRef,
    Circle,
    DailyWindow,
    Provenance,
    Restriction,
    Schedule,
    VerticalBand,
    Zone,
)

Point2 = tuple[float, float]


@dataclass
class RawPolygon:
    """One polygon as read: an exterior ring and holes, each a list of (x, y).

    ``explicit_close``: the format requires the ring's last point to repeat its first
    (GeoJSON, KML); formats that close rings implicitly (OpenAir, QGC, fences) set False.
    """

    exterior: list[Point2]
    holes: list[list[Point2]] = field(default_factory=list)
    explicit_close: bool = True


@dataclass
class RawCircle:
    x: float
    y: float
    radius_m: float


@dataclass
class ZoneFeature:
    """A zone as a parser read it. ``None`` means the file did not say."""

    index: int
    shapes: list[RawPolygon | RawCircle]
    name: str | None = None
    line: int | None = None
    restriction: str | None = None
    floor_m: float | None = None
    floor_ref: str | None = None
    ceiling_m: float | None = None  # None: the file did not say
    ceiling_ref: str | None = None
    ceiling_unlimited: bool = False  # the file said "unlimited" explicitly
    start: datetime | None = None
    end: datetime | None = None
    daily: list[str] = field(default_factory=list)
    timezone: str | None = None
    reason: str | None = None
    authority: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class ZoneDefaults:
    """Command-line options: they fill what a file lacks, never override it."""

    restriction: str | None = None
    floor_m: float | None = None
    ceiling_m: float | None = None
    altitude_ref: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    name: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class Source:
    path: Path
    format: str
    sha256: str
    loaded_by: str | None = None
    loaded_at: datetime | None = None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_zones(
    features: Sequence[ZoneFeature],
    source: Source,
    *,
    crs: str = "wgs84",
    defaults: ZoneDefaults | None = None,
) -> list[Zone]:
    """Validate and convert every feature; raise ``ZoneValidationError`` on the first bad one."""
    defaults = defaults or ZoneDefaults()
    crs = normalise_crs(crs)
    geographic = is_geographic(crs)
    to_wgs84 = converter(crs)
    zones: list[Zone] = []
    unnamed = sum(1 for f in features if not f.name)
    if not features:
        raise ZoneValidationError("the file holds no zone", Location(file=source.path))
    for feat in features:
        where = Location(source.path, feat.index, feat.name, feat.line)
        name = feat.name or _default_name(defaults.name, source.path, feat.index, unnamed)
        where.feature_name = name if feat.name else where.feature_name
        restriction = _restriction(feat.restriction or defaults.restriction, where)
        geometry = _geometry(feat.shapes, where, geographic=geographic, to_wgs84=to_wgs84)
        band = _band(feat, defaults, where)
        schedule = _schedule(feat, defaults, where)
        zones.append(
            Zone(
                name=name,
                restriction=restriction,
                geometry=geometry,
                band=band,
                schedule=schedule,
                reason=feat.reason,
                authority=feat.authority,
                message=feat.message,
                provenance=Provenance(
                    source_file=str(source.path),
                    source_format=source.format,
                    feature_index=feat.index,
                    sha256=source.sha256,
                    loaded_by=source.loaded_by,
                    loaded_at=source.loaded_at,
                ),
            )
        )
    return zones


def _default_name(given: str | None, path: Path, index: int, unnamed: int) -> str:
    base = given or path.stem
    return base if unnamed == 1 and given else f"{base} #{index}"


def _restriction(text: str | None, where: Location) -> Restriction:
    if not text:
        raise ZoneValidationError(
            "no restriction: give one in the file or with --restriction "
            f"({', '.join(r.value for r in Restriction)})",
            where,
        )
    key = text.strip().lower().replace("_", "-").replace(" ", "-")
    aliases = {
        "no-fly": "prohibited",
        "nofly": "prohibited",
        "restricted": "authorization",
        "authorisation": "authorization",
        "operating": "operating-area",
        "operating-area": "operating-area",
        "inclusion": "operating-area",
    }
    key = aliases.get(key, key)
    try:
        return Restriction(key)
    except ValueError:
        raise ZoneValidationError(
            f"unknown restriction {text!r}: use one of {', '.join(r.value for r in Restriction)}",
            where,
        ) from None


def _check_range(points: Sequence[Point2], where: Location, what: str) -> None:
    """Latitudes/longitudes in range, with a hint when they look swapped."""
    for x, y in points:
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ZoneValidationError(f"{what}: coordinate ({x}, {y}) is not a number", where)
        lat_bad = not -90.0 <= y <= 90.0
        lon_bad = not -180.0 <= x <= 180.0
        if lat_bad or lon_bad:
            swapped = lat_bad and -90.0 <= x <= 90.0 and -180.0 <= y <= 180.0
            hint = " — latitude and longitude look swapped" if swapped else ""
            bad = (
                f"latitude {y} out of range [-90, 90]"
                if lat_bad
                else (f"longitude {x} out of range [-180, 180]")
            )
            raise ZoneValidationError(f"{what}: {bad}{hint}", where)


def _ring(points: list[Point2], where: Location, what: str, explicit_close: bool) -> list[Point2]:
    if explicit_close and len(points) >= 2 and points[0] != points[-1]:
        raise ZoneValidationError(
            f"{what} is not closed: its last point {points[-1]} differs from its first {points[0]}",
            where,
        )
    distinct = {(round(x, 9), round(y, 9)) for x, y in points}
    if len(distinct) < 3:
        raise ZoneValidationError(
            f"{what} has {len(distinct)} distinct points; a polygon needs at least 3", where
        )
    if points[0] == points[-1]:
        points = points[:-1]
    return points


def _geometry(
    shapes: list[RawPolygon | RawCircle],
    where: Location,
    *,
    geographic: bool,
    to_wgs84: Callable[[Sequence[Point2]], list[Point2]],
) -> Polygon | MultiPolygon | Circle:
    convert = to_wgs84
    if not shapes:
        raise ZoneValidationError("no geometry", where)
    circles = [s for s in shapes if isinstance(s, RawCircle)]
    if circles:
        if len(shapes) > 1:
            raise ZoneValidationError(
                "a zone is one circle or one or more polygons, not a mix", where
            )
        c = circles[0]
        if geographic:
            _check_range([(c.x, c.y)], where, "circle centre")
        if not (math.isfinite(c.radius_m) and c.radius_m > 0):
            raise ZoneValidationError(f"circle radius {c.radius_m} m must be > 0", where)
        ((lon, lat),) = convert([(c.x, c.y)])
        _check_range([(lon, lat)], where, "circle centre")
        return Circle(lon_deg=lon, lat_deg=lat, radius_m=float(c.radius_m))
    polys: list[Polygon] = []
    for k, raw in enumerate(shapes):
        assert isinstance(raw, RawPolygon)
        label = "polygon" if len(shapes) == 1 else f"polygon {k}"
        rings = [raw.exterior, *raw.holes]
        converted: list[list[Point2]] = []
        for r, ring in enumerate(rings):
            what = f"{label} exterior ring" if r == 0 else f"{label} hole {r}"
            if geographic:
                _check_range(ring, where, what)
            ring = _ring(list(ring), where, what, raw.explicit_close)
            ring = convert(ring)
            _check_range(ring, where, what)
            converted.append(ring)
        poly = Polygon(converted[0], converted[1:])
        if not poly.is_valid:
            reason = shapely.is_valid_reason(poly)
            kind = "self-intersecting" if "intersection" in reason.lower() else "invalid"
            raise ZoneValidationError(f"{label} is {kind}: {reason}", where)
        polys.append(poly)
    if len(polys) == 1:
        return shapely.geometry.polygon.orient(polys[0])
    multi = MultiPolygon([shapely.geometry.polygon.orient(p) for p in polys])
    if not multi.is_valid:
        raise ZoneValidationError(f"its polygons overlap: {shapely.is_valid_reason(multi)}", where)
    return multi


def _ref(text: str | None, fallback: str | None, where: Location) -> AltitudeRef:
    try:
        return AltitudeRef.parse(text or fallback or "agl")
    except ValueError as exc:
        raise ZoneValidationError(str(exc), where) from None


def _band(feat: ZoneFeature, d: ZoneDefaults, where: Location) -> VerticalBand:
    floor = feat.floor_m if feat.floor_m is not None else (d.floor_m or 0.0)
    ceiling = feat.ceiling_m
    if ceiling is None and not feat.ceiling_unlimited:
        ceiling = d.ceiling_m
    floor_ref = _ref(feat.floor_ref, d.altitude_ref, where)
    ceiling_ref = _ref(feat.ceiling_ref, d.altitude_ref, where)
    for label, v in (("floor", floor), ("ceiling", ceiling)):
        if v is not None and not math.isfinite(v):
            raise ZoneValidationError(f"{label} {v} is not a number", where)
    if floor < 0 and floor_ref is AltitudeRef.AGL:
        raise ZoneValidationError(f"floor {floor:g} m is below ground", where)
    if ceiling is not None and floor_ref is ceiling_ref and floor >= ceiling:
        raise ZoneValidationError(f"floor {floor:g} m is not below ceiling {ceiling:g} m", where)
    return VerticalBand(floor, floor_ref, ceiling, ceiling_ref)


def _schedule(feat: ZoneFeature, d: ZoneDefaults, where: Location) -> Schedule:
    start = feat.start or d.start
    end = feat.end or d.end
    if start is not None and end is not None and end <= start:
        raise ZoneValidationError(
            f"end {end.isoformat()} is not after start {start.isoformat()}", where
        )
    tz = feat.timezone or d.timezone or "UTC"
    try:
        daily = tuple(DailyWindow.parse(w) for w in feat.daily)
        if daily:
            get_tz(tz)
    except (ValueError, InputError) as exc:
        raise ZoneValidationError(getattr(exc, "message", str(exc)), where) from None
    return Schedule(start=start, end=end, daily=daily, timezone=tz)
