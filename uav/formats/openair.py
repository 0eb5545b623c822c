"""OpenAir airspace files (the text format of WinPilot, XCSoar, SeeYou and most gliding tools).

Records read (one per line, case-insensitive record letters):

=========  ===================================================================================
``AC``     class; starts a new zone (``index`` counts AC records from 0, ``line`` is its line)
``AN``     name
``AL``     floor; ``AH`` ceiling (see altitudes below)
``DP``     a polygon point
``V X=``   the arc/circle centre; ``V D=+`` clockwise (the default), ``V D=-`` anticlockwise
``DA``     ``radius_nm, start_deg, end_deg``: an arc around X from one true bearing to another
``DB``     ``coord1, coord2``: an arc around X from one point to the other
``DC``     ``radius_nm``: a circle around X (a zone with DC must have no DP/DA/DB)
``*``      comment (also after the values of any record but AN)
=========  ===================================================================================

``V X=`` and ``V D=`` are reset at every ``AC``: an arc or circle must name its centre in its
own zone (a file relying on a centre left over from the previous zone is refused, not
guessed). ``V Z=`` (label zoom) is ignored.

Ignored (display or metadata only): ``AY`` (type), ``AF``/``AG`` (frequency, station),
``AA`` (activation times: the zone is then treated as always active, the safe reading),
``AX`` (transponder code), ``AT`` (label position), ``SP``/``SB`` (pen and brush). Any other
record, ``DY`` airways included, is refused with its line.

Class mapping (``AC``):

=======  ==================
``P``    prohibited
``GP``   prohibited (glider prohibited)
``R``    authorization
``CTR``  authorization
``Q``    warning (danger area)
other    none: the command line's ``--restriction`` must give one, else the load is refused
=======  ==================

Coordinates: ``23:06:24 N 113:19:28 E``, ``23:06.4N 113:19.47E`` or ``23.1066 N 113.3245 E``
(WGS-84; seconds and minutes may have decimals; N/S/E/W required).

Altitudes (stored in metres): ``SFC``/``GND``/``0`` = 0 AGL; ``UNL``/``UNLIM``/``UNLIMITED`` =
unlimited; ``FL95`` = flight level 95, i.e. 9500 ft on the 1013.25 hPa standard pressure
setting, stored as 95 × 100 × 0.3048 = 2895.6 m AMSL (this ignores the day's pressure: a flight
level is a pressure altitude, not a height above the sea); ``2500ft MSL``, ``1500 ft AGL``,
``500m``, ``500 M AGL``, ``1000 AMSL``. No unit means feet (OpenAir convention); no reference
means AMSL, except for 0 (the ground, AGL); ``GND``/``SFC``/``ASFC`` after a number mean AGL;
``STD`` after a number is a standard-pressure altitude, stored like a flight level.

Arcs (DA/DB) are densified on the WGS-84 ellipsoid (``pyproj.Geod``) with at most 5° of arc
between points; their exact end points are always included. Polygons close implicitly.
Text is read as UTF-8 (with or without BOM), else as latin-1; CRLF line ends are accepted.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from pyproj import Geod

from uav.errors import FormatError, Location
from uav.zones.build import Point2, RawCircle, RawPolygon, ZoneFeature

FT_TO_M = 0.3048
NM_TO_M = 1852.0
MAX_ARC_STEP_DEG = 5.0

CLASS_RESTRICTION = {
    "P": "prohibited",
    "GP": "prohibited",
    "R": "authorization",
    "CTR": "authorization",
    "Q": "warning",
}
IGNORED_RECORDS = frozenset({"AY", "AF", "AG", "AA", "AX", "AT", "SP", "SB"})
ZONE_RECORDS = frozenset({"AC", "AN", "AL", "AH", "DP", "V", "DA", "DB", "DC"})

_GEOD = Geod(ellps="WGS84")

_NUM = r"\d+(?:\.\d+)?"
_HALF = rf"({_NUM})(?::({_NUM}))?(?::({_NUM}))?"
_PAIR = rf"{_HALF}\s*([NS])\s*,?\s*{_HALF}\s*([EW])"
_PAIR_RE = re.compile(rf"^\s*{_PAIR}\s*$", re.IGNORECASE)
_DB_RE = re.compile(rf"^\s*({_PAIR})\s*,\s*({_PAIR})\s*$", re.IGNORECASE)
_RECORD_RE = re.compile(r"^([A-Za-z]{1,2})(?:\s+(.*))?$")
_ALT_RE = re.compile(rf"^({_NUM})\s*(FT|F|M)?\s*(AGL|ASFC|SFC|GND|AMSL|MSL|STD)?$")
_FL_RE = re.compile(r"^FL\s*(\d+(?:\.\d+)?)$")

_AGL_WORDS = frozenset({"AGL", "ASFC", "SFC", "GND"})


@dataclass(frozen=True)
class Altitude:
    """One AL/AH value: metres and reference, or unlimited."""

    alt_m: float | None
    ref: str | None
    unlimited: bool = False


@dataclass
class _Zone:
    """A zone being read: what its records said so far."""

    index: int
    line: int
    cls: str
    name: str | None = None
    floor: Altitude | None = None
    ceiling: Altitude | None = None
    points: list[Point2] = field(default_factory=list)
    circle: RawCircle | None = None
    circle_line: int | None = None
    shape_line: int | None = None  # the first DP/DA/DB line
    centre: Point2 | None = None
    clockwise: bool = True


def parse(data: bytes, path: Path) -> list[ZoneFeature]:
    """Read an OpenAir file into zone features (raises FormatError naming the line)."""
    features: list[ZoneFeature] = []
    zone: _Zone | None = None
    for number, raw in enumerate(decode(data).split("\n"), start=1):
        line = raw.rstrip("\r").strip()
        if not line or line.startswith("*"):
            continue
        match = _RECORD_RE.match(line)
        key = match.group(1).upper() if match else ""
        value = (match.group(2) or "").strip() if match else ""
        if key in IGNORED_RECORDS:
            continue
        where = _where(path, number, zone)
        if key not in ZONE_RECORDS:
            raise FormatError(f"unknown OpenAir record {line.split()[0]!r}", where)
        if key == "AC":
            if zone is not None:
                features.append(_finish(zone, path))
            where = Location(file=path, feature_index=len(features), line=number)
            zone = _Zone(index=len(features), line=number, cls=_class(value, where))
            continue
        if zone is None:
            raise FormatError(f"{key} record before the first AC record", where)
        _apply(zone, key, value if key == "AN" else _strip_comment(value), number, where)
    if zone is not None:
        features.append(_finish(zone, path))
    if not features:
        raise FormatError("no AC record: not an OpenAir zone file", Location(file=path))
    return features


def decode(data: bytes) -> str:
    """UTF-8, else latin-1 (which decodes any byte); a UTF-8 BOM is dropped either way."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _where(path: Path, line: int, zone: _Zone | None) -> Location:
    if zone is None:
        return Location(file=path, line=line)
    return Location(file=path, feature_index=zone.index, feature_name=zone.name, line=line)


def _strip_comment(value: str) -> str:
    return value.split("*", 1)[0].strip()


def _class(value: str, where: Location) -> str:
    cls = _strip_comment(value).upper()
    if not cls:
        raise FormatError("AC record without an airspace class", where)
    return cls


def _apply(zone: _Zone, key: str, value: str, number: int, where: Location) -> None:
    if key == "AN":
        _once(zone.name, "AN", where)
        zone.name = value or None
    elif key == "AL":
        _once(zone.floor, "AL", where)
        zone.floor = parse_altitude(value, where)
        if zone.floor.unlimited:
            raise FormatError(f"floor {value!r} cannot be unlimited", where)
    elif key == "AH":
        _once(zone.ceiling, "AH", where)
        zone.ceiling = parse_altitude(value, where)
    elif key == "V":
        _variable(zone, value, where)
    elif key == "DC":
        _circle(zone, value, number, where)
    else:
        zone.shape_line = zone.shape_line or number
        if key == "DP":
            _add_points(zone, [parse_coordinate(value, where)])
        elif key == "DA":
            _add_points(zone, _da_points(zone, value, where))
        else:
            _add_points(zone, _db_points(zone, value, where))


def _once(current: object, key: str, where: Location) -> None:
    if current is not None:
        raise FormatError(f"a second {key} record in the same zone", where)


def _variable(zone: _Zone, value: str, where: Location) -> None:
    name, sep, rhs = value.partition("=")
    name = name.strip().upper()
    rhs = rhs.strip()
    if not sep:
        raise FormatError(f"cannot read V record {value!r} (e.g. 'V X=23:06:24 N ...')", where)
    if name == "X":
        zone.centre = parse_coordinate(rhs, where)
    elif name == "D":
        if rhs not in ("+", "-"):
            raise FormatError(f"arc direction must be V D=+ or V D=-, not {rhs!r}", where)
        zone.clockwise = rhs == "+"
    elif name != "Z":
        raise FormatError(f"unknown OpenAir variable 'V {name}='", where)


def _centre(zone: _Zone, key: str, where: Location) -> Point2:
    if zone.centre is None:
        raise FormatError(f"{key} record before any V X= centre in this zone", where)
    return zone.centre


def _add_points(zone: _Zone, points: list[Point2]) -> None:
    for p in points:
        if not zone.points or zone.points[-1] != p:
            zone.points.append(p)


def _circle(zone: _Zone, value: str, number: int, where: Location) -> None:
    centre = _centre(zone, "DC", where)
    if zone.circle is not None:
        raise FormatError("a second DC circle in the same zone", where)
    radius_nm = _positive_number(value, "DC radius (nautical miles)", where)
    zone.circle = RawCircle(x=centre[0], y=centre[1], radius_m=radius_nm * NM_TO_M)
    zone.circle_line = number


def _positive_number(text: str, what: str, where: Location) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        raise FormatError(f"cannot read {what} {text.strip()!r}", where) from None
    if not (math.isfinite(v) and v > 0):
        raise FormatError(f"{what} {text.strip()!r} must be a number > 0", where)
    return v


def _angle(text: str, what: str, where: Location) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        raise FormatError(f"cannot read {what} {text.strip()!r}", where) from None
    if not math.isfinite(v):
        raise FormatError(f"cannot read {what} {text.strip()!r}", where)
    return v % 360.0


def _da_points(zone: _Zone, value: str, where: Location) -> list[Point2]:
    centre = _centre(zone, "DA", where)
    parts = value.split(",")
    if len(parts) != 3:
        raise FormatError(
            f"cannot read DA record {value!r} (expected 'radius_nm, start_deg, end_deg')", where
        )
    radius_m = _positive_number(parts[0], "DA radius (nautical miles)", where) * NM_TO_M
    start = _angle(parts[1], "DA start angle", where)
    end = _angle(parts[2], "DA end angle", where)
    if start == end:
        raise FormatError("DA start and end angles are equal: use DC for a circle", where)
    return arc_points(centre, start, end, radius_m, radius_m, clockwise=zone.clockwise)


def _db_points(zone: _Zone, value: str, where: Location) -> list[Point2]:
    centre = _centre(zone, "DB", where)
    match = _DB_RE.match(value)
    if not match:
        raise FormatError(
            f"cannot read DB record {value!r} (expected two coordinates separated by a comma)",
            where,
        )
    first = parse_coordinate(match.group(1), where)
    last = parse_coordinate(match.group(10), where)
    start, _, r0 = _GEOD.inv(centre[0], centre[1], first[0], first[1])
    end, _, r1 = _GEOD.inv(centre[0], centre[1], last[0], last[1])
    if min(r0, r1) <= 0:
        raise FormatError("DB end point lies on the arc centre", where)
    pts = arc_points(centre, start % 360.0, end % 360.0, r0, r1, clockwise=zone.clockwise)
    return [first, *pts[1:-1], last]


def arc_points(
    centre: Point2,
    start_deg: float,
    end_deg: float,
    start_radius_m: float,
    end_radius_m: float,
    *,
    clockwise: bool,
) -> list[Point2]:
    """Points on an arc around ``centre`` (lon, lat) from bearing ``start_deg`` to ``end_deg``.

    Bearings are true (clockwise from north). The radius goes linearly from ``start_radius_m``
    to ``end_radius_m`` (equal for DA; DB end points may sit at slightly different distances).
    At most ``MAX_ARC_STEP_DEG`` of arc between points; both end points included.
    """
    span = (end_deg - start_deg) % 360.0 if clockwise else (start_deg - end_deg) % 360.0
    if span == 0.0:
        span = 360.0
    steps = max(1, math.ceil(span / MAX_ARC_STEP_DEG))
    sign = 1.0 if clockwise else -1.0
    fractions = [k / steps for k in range(steps + 1)]
    bearings = [start_deg + sign * span * f for f in fractions]
    radii = [start_radius_m + (end_radius_m - start_radius_m) * f for f in fractions]
    n = len(bearings)
    lons, lats, _ = _GEOD.fwd([centre[0]] * n, [centre[1]] * n, bearings, radii)
    return [(float(x), float(y)) for x, y in zip(lons, lats, strict=True)]


def parse_coordinate(text: str, where: Location) -> Point2:
    """'23:06:24 N 113:19:28 E' (or DD:MM.mmm, or decimal degrees) -> (lon, lat)."""
    match = _PAIR_RE.match(text)
    if not match:
        raise FormatError(f"cannot read coordinate {text!r} (e.g. '23:06:24 N 113:19:28 E')", where)
    g = match.groups()
    try:
        lat = _degrees(g[0], g[1], g[2])
        lon = _degrees(g[4], g[5], g[6])
    except ValueError as exc:
        raise FormatError(f"cannot read coordinate {text!r}: {exc}", where) from None
    lat = -lat if g[3].upper() == "S" else lat
    lon = -lon if g[7].upper() == "W" else lon
    return (lon, lat)


def _degrees(deg: str, minutes: str | None, seconds: str | None) -> float:
    parts = [p for p in (deg, minutes, seconds) if p is not None]
    if any("." in p for p in parts[:-1]):
        raise ValueError("only the last of degrees:minutes:seconds may have decimals")
    value = float(deg)
    for k, part in enumerate(parts[1:], start=1):
        v = float(part)
        if v >= 60.0:
            raise ValueError(f"{'minutes' if k == 1 else 'seconds'} {part} must be below 60")
        value += v / 60.0**k
    return value


def parse_altitude(text: str, where: Location) -> Altitude:
    """An AL/AH value -> metres with 'agl'/'amsl', or unlimited (see the module doc)."""
    key = " ".join(text.upper().split())
    if key in ("SFC", "GND", "0"):
        return Altitude(0.0, "agl")
    if key in ("UNL", "UNLIM", "UNLIMITED"):
        return Altitude(None, None, unlimited=True)
    fl = _FL_RE.match(key)
    if fl:
        return Altitude(float(fl.group(1)) * 100.0 * FT_TO_M, "amsl")
    match = _ALT_RE.match(key)
    if not match:
        raise FormatError(
            f"unknown altitude {text!r} (e.g. SFC, UNL, FL95, 2500ft MSL, 1500 ft AGL, 500m)",
            where,
        )
    number, unit, ref = match.groups()
    value = float(number)
    alt_m = value if unit == "M" else value * FT_TO_M
    if ref in _AGL_WORDS or (ref is None and value == 0.0):
        return Altitude(alt_m, "agl")
    return Altitude(alt_m, "amsl")


def _finish(zone: _Zone, path: Path) -> ZoneFeature:
    if zone.circle is not None and zone.points:
        line = max(zone.circle_line or 0, zone.shape_line or 0)
        raise FormatError(
            "a zone is either a DC circle or DP/DA/DB points, not both",
            Location(path, zone.index, zone.name, line),
        )
    shapes: list[RawPolygon | RawCircle] = []
    if zone.circle is not None:
        shapes.append(zone.circle)
    elif zone.points:
        shapes.append(RawPolygon(exterior=list(zone.points), explicit_close=False))
    else:
        raise FormatError(
            "zone has no geometry (no DP, DA, DB or DC record)",
            Location(path, zone.index, zone.name, zone.line),
        )
    floor = zone.floor or Altitude(None, None)
    ceiling = zone.ceiling or Altitude(None, None)
    return ZoneFeature(
        index=zone.index,
        shapes=shapes,
        name=zone.name,
        line=zone.line,
        restriction=CLASS_RESTRICTION.get(zone.cls),
        floor_m=floor.alt_m,
        floor_ref=floor.ref,
        ceiling_m=ceiling.alt_m,
        ceiling_ref=ceiling.ref,
        ceiling_unlimited=ceiling.unlimited,
    )
