"""Mission Planner / ArduPilot fence files, in two dialects.

**Legacy fence list** (``.fen``, ``.fence``, ``.poly``, ``.txt``): ``#`` comment lines, then
one ``lat lon`` pair a line (whitespace or comma separated). The first point is the fence
return point, not part of the fence; the rest are the vertices of the inclusion polygon,
closed or not. One zone, an ``operating-area``. The return point must lie inside the fence:
that catches a polygon file without a return point (e.g. a survey polygon), whose first
vertex would otherwise be dropped silently.

**QGC WPL 110** (``.waypoints``, ``.txt``): a ``QGC WPL 110`` header, then one item a line,
12 tab-separated columns ``seq current frame command p1 p2 p3 p4 x(lat) y(lon) z autocontinue``
with ArduPilot's fence commands: 5000 return point (ignored), 5001/5002 polygon vertex
(inclusion/exclusion, ``p1`` = the polygon's vertex count), 5003/5004 circle
(inclusion/exclusion, ``p1`` = radius in metres). Inclusion fences become ``operating-area``
zones, exclusion fences ``prohibited`` ones. Any other command means the file is a mission.

Every zone and every error carries its line (a zone's is that of its first item).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from shapely.geometry import Point, Polygon

from uav.errors import FormatError, Location
from uav.geo.local import LocalFrame
from uav.zones.build import Point2, RawCircle, RawPolygon, ZoneFeature

WPL_HEADER = "QGC WPL"
WPL_VERSION = "110"
WPL_COLUMNS = (
    "seq", "current", "frame", "command", "param1", "param2", "param3", "param4",
    "latitude", "longitude", "altitude", "autocontinue",
)  # fmt: skip
_INTEGER_COLUMNS = frozenset({0, 1, 2, 3, 11})

RETURN_POINT = 5000
POLYGON_INCLUSION = 5001
POLYGON_EXCLUSION = 5002
CIRCLE_INCLUSION = 5003
CIRCLE_EXCLUSION = 5004
_RESTRICTION = {
    POLYGON_INCLUSION: "operating-area",
    POLYGON_EXCLUSION: "prohibited",
    CIRCLE_INCLUSION: "operating-area",
    CIRCLE_EXCLUSION: "prohibited",
}
# A few mission commands by name, for the "this is a mission" error.
_MISSION_COMMANDS = {
    16: "NAV_WAYPOINT",
    17: "NAV_LOITER_UNLIM",
    19: "NAV_LOITER_TIME",
    20: "NAV_RETURN_TO_LAUNCH",
    21: "NAV_LAND",
    22: "NAV_TAKEOFF",
    177: "DO_JUMP",
    178: "DO_CHANGE_SPEED",
    183: "DO_SET_SERVO",
    206: "DO_SET_CAM_TRIGG_DIST",
}
_SEPARATORS = re.compile(r"[\s,]+")


@dataclass(frozen=True)
class Item:
    """One QGC WPL line: the fields a fence needs."""

    line: int
    command: int
    param1: float
    lat_deg: float
    lon_deg: float


def parse(data: bytes, path: Path) -> list[ZoneFeature]:
    """Zones of a Mission Planner fence file (legacy list or QGC WPL 110)."""
    lines = _lines(data, path)
    if not lines:
        raise FormatError("empty file: no fence points", Location(file=path))
    first_line, first = lines[0]
    if first.startswith(WPL_HEADER):
        return _parse_wpl(first_line, first, lines[1:], path)
    if len(first.split()) == len(WPL_COLUMNS):
        raise FormatError(
            f"missing the '{WPL_HEADER} {WPL_VERSION}' header line before the fence items",
            Location(file=path, line=first_line),
        )
    return [_parse_legacy(lines, path)]


def _lines(data: bytes, path: Path) -> list[tuple[int, str]]:
    """(line number, text) of each line that is neither blank nor a ``#`` comment."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason})", Location(file=path)) from None
    out = []
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped and not stripped.startswith("#"):
            out.append((number, stripped))
    return out


# ---------------------------------------------------------------- legacy fence list


def _parse_legacy(lines: list[tuple[int, str]], path: Path) -> ZoneFeature:
    points = [_latlon_pair(number, text, path) for number, text in lines]
    if len(points) < 2:
        raise FormatError(
            "a fence list needs a return point and the fence vertices; this has one point",
            Location(file=path, line=lines[0][0]),
        )
    vertices = points[1:]
    _check_return_point_inside(points[0], vertices, Location(file=path, line=lines[0][0]))
    return ZoneFeature(
        index=0,
        shapes=[RawPolygon(vertices, explicit_close=False)],
        line=lines[1][0],
        restriction="operating-area",
    )


def _latlon_pair(number: int, text: str, path: Path) -> Point2:
    """A 'lat lon' line as (lon, lat)."""
    fields = [f for f in _SEPARATORS.split(text) if f]
    where = Location(file=path, line=number)
    if len(fields) != 2:
        raise FormatError(
            f"expected 'lat lon' (or a '{WPL_HEADER} {WPL_VERSION}' header), got {text!r}", where
        )
    lat = _float(fields[0], "latitude", where)
    return _float(fields[1], "longitude", where), lat


def _check_return_point_inside(
    return_point: Point2, vertices: list[Point2], where: Location
) -> None:
    """The return point must be inside the fence (when the fence can be judged at all)."""
    in_range = all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in [return_point, *vertices])
    if not in_range or len({(round(x, 9), round(y, 9)) for x, y in vertices}) < 3:
        return  # build_zones reports these with its own messages
    frame = LocalFrame(*return_point)
    fence = frame.project(Polygon(vertices))
    if not fence.is_valid:
        return  # build_zones reports it
    if not fence.contains(Point(0.0, 0.0)):
        lon, lat = return_point
        raise FormatError(
            f"the first point ({lat}, {lon}) is the fence return point, but it is not inside "
            "the fence polygon the other points draw; if this file is a polygon without a "
            "return point, add the return point as the first line",
            where,
        )


# ---------------------------------------------------------------- QGC WPL 110


def _parse_wpl(
    header_line: int, header: str, lines: list[tuple[int, str]], path: Path
) -> list[ZoneFeature]:
    version = header[len(WPL_HEADER) :].strip()
    if version != WPL_VERSION:
        raise FormatError(
            f"unsupported header {header!r}: expected '{WPL_HEADER} {WPL_VERSION}'",
            Location(file=path, line=header_line),
        )
    items = [_item(number, text, path) for number, text in lines]
    features = _fence_features(items, path)
    if not features:
        raise FormatError(
            "no fence polygon or circle (commands 5001-5004) in the file",
            Location(file=path, line=header_line),
        )
    return features


def _item(number: int, text: str, path: Path) -> Item:
    where = Location(file=path, line=number)
    fields = text.split()
    if len(fields) != len(WPL_COLUMNS):
        raise FormatError(
            f"{len(fields)} columns; a QGC WPL item has {len(WPL_COLUMNS)} "
            f"({' '.join(WPL_COLUMNS)})",
            where,
        )
    values = [
        _integer(f, WPL_COLUMNS[k], where)
        if k in _INTEGER_COLUMNS
        else _float(f, WPL_COLUMNS[k], where)
        for k, f in enumerate(fields)
    ]
    command = int(values[3])
    if command not in (RETURN_POINT, *_RESTRICTION):
        label = _MISSION_COMMANDS.get(command, "not a fence command")
        raise FormatError(
            f"command {command} ({label}): this looks like a mission, not a fence "
            "(fence items use commands 5000-5004)",
            where,
        )
    return Item(number, command, values[4], lat_deg=values[8], lon_deg=values[9])


def _fence_features(items: list[Item], path: Path) -> list[ZoneFeature]:
    features: list[ZoneFeature] = []
    k = 0
    while k < len(items):
        item = items[k]
        if item.command == RETURN_POINT:
            k += 1
            continue
        where = Location(file=path, feature_index=len(features), line=item.line)
        if item.command in (CIRCLE_INCLUSION, CIRCLE_EXCLUSION):
            shape: RawPolygon | RawCircle = RawCircle(item.lon_deg, item.lat_deg, item.param1)
            k += 1
        else:
            vertices = _polygon_items(items, k, where)
            shape = RawPolygon([(v.lon_deg, v.lat_deg) for v in vertices], explicit_close=False)
            k += len(vertices)
        features.append(
            ZoneFeature(
                index=len(features),
                shapes=[shape],
                line=item.line,
                restriction=_RESTRICTION[item.command],
            )
        )
    return features


def _polygon_items(items: list[Item], start: int, where: Location) -> list[Item]:
    """The vertex items of the polygon whose first vertex is ``items[start]``."""
    first = items[start]
    count = first.param1
    if not (count >= 1 and count.is_integer()):
        raise FormatError(f"param1 {count:g} is not a polygon vertex count", where)
    n = int(count)
    run = items[start : start + n]
    same = 0
    while same < len(run) and run[same].command == first.command and run[same].param1 == count:
        same += 1
    if same != n:
        stop = run[same].line if same < len(run) else None
        at = f" (line {stop} does not continue it)" if stop is not None else " (the file ends)"
        raise FormatError(
            f"the polygon starting here declares {n} vertices (param1) but has {same}{at}",
            where,
        )
    return run


def _float(text: str, column: str, where: Location) -> float:
    try:
        value = float(text)
    except ValueError:
        raise FormatError(f"{column} {text!r} is not a number", where) from None
    if not math.isfinite(value):
        raise FormatError(f"{column} {text!r} is not a finite number", where)
    return value


def _integer(text: str, column: str, where: Location) -> int:
    try:
        return int(text)
    except ValueError:
        raise FormatError(f"{column} {text!r} is not an integer", where) from None
