"""QGroundControl ``.plan`` files: the geofence polygons and circles as zones.

A plan is JSON (``"fileType": "Plan"``) whose ``geoFence`` (version 2) holds ``polygons``
(``{"inclusion": bool, "polygon": [[lat, lon], ...]}``) and ``circles``
(``{"inclusion": bool, "circle": {"center": [lat, lon], "radius": metres}}``). Points are
**[lat, lon]**; they become (lon, lat) here. Polygons close implicitly.

The file says what each fence is, so ``--restriction`` does not change it: an inclusion
fence is an ``operating-area`` zone, an exclusion fence a ``prohibited`` one. QGC fences have
no altitudes, so the band comes from the command-line defaults. Zones are the polygons, then
the circles; unless an item has a ``name``, they are named "QGC fence polygon N" and "QGC
fence circle N" (N from 1 within each kind). Every feature and error carries its line.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeGuard

from uav.errors import FormatError, Location
from uav.formats.jsontext import decode_utf8, parse_json
from uav.zones.build import Point2, RawCircle, RawPolygon, ZoneFeature

GEOFENCE_VERSION = 2
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def parse(data: bytes, path: Path) -> list[ZoneFeature]:
    """The geofence of a QGroundControl plan as zone features (polygons, then circles)."""
    text = decode_utf8(data, path)
    doc = parse_json(text, path)
    fence = _geofence(doc, path)
    fence_at = _members(text, _skip(text, 0))["geoFence"]
    offsets = _members(text, fence_at)
    polygons = _list(fence, "polygons", path, _line(text, fence_at))
    circles = _list(fence, "circles", path, _line(text, fence_at))
    features = [
        _polygon(k, k, item, text, at, path)
        for k, (item, at) in enumerate(
            zip(polygons, _elements(text, offsets.get("polygons")), strict=True)
        )
    ]
    features += [
        _circle(len(polygons) + k, k, item, text, at, path)
        for k, (item, at) in enumerate(
            zip(circles, _elements(text, offsets.get("circles")), strict=True)
        )
    ]
    if not features:
        raise FormatError(
            "the plan's geoFence holds no polygon or circle",
            Location(file=path, line=_line(text, fence_at)),
        )
    return features


def _geofence(doc: Any, path: Path) -> dict[str, Any]:
    where = Location(file=path)
    if not isinstance(doc, dict):
        raise FormatError("not a QGroundControl plan: expected a JSON object", where)
    if doc.get("fileType", "Plan") != "Plan":
        raise FormatError(f"not a QGroundControl plan (fileType {doc['fileType']!r})", where)
    fence = doc.get("geoFence")
    if fence is None:
        raise FormatError("no geoFence: this plan holds no fence to load as zones", where)
    if not isinstance(fence, dict):
        raise FormatError("geoFence is not an object", where)
    version = fence.get("version", GEOFENCE_VERSION)
    if version != GEOFENCE_VERSION:
        raise FormatError(
            f"geoFence version {version!r} is not supported (expected {GEOFENCE_VERSION}); "
            "save the plan again with a current QGroundControl",
            where,
        )
    return fence


def _list(fence: dict[str, Any], key: str, path: Path, line: int) -> list[Any]:
    items = fence.get(key, [])
    if not isinstance(items, list):
        raise FormatError(f"geoFence {key!r} is not a list", Location(file=path, line=line))
    return items


def _polygon(index: int, k: int, item: Any, text: str, at: int, path: Path) -> ZoneFeature:
    where = _item_where(index, item, f"QGC fence polygon {k + 1}", text, at, path)
    restriction = _restriction(item, where)
    points = item.get("polygon")
    if not isinstance(points, list):
        raise FormatError("'polygon' must be a list of [lat, lon] points", where)
    point_offsets = _elements(text, _members(text, at).get("polygon"))
    exterior = [
        _lonlat(p, replace(where, line=_line(text, p_at)), f"polygon point {n}")
        for n, (p, p_at) in enumerate(zip(points, point_offsets, strict=True))
    ]
    return ZoneFeature(
        index=index,
        shapes=[RawPolygon(exterior, explicit_close=False)],
        name=where.feature_name,
        line=where.line,
        restriction=restriction,
    )


def _circle(index: int, k: int, item: Any, text: str, at: int, path: Path) -> ZoneFeature:
    where = _item_where(index, item, f"QGC fence circle {k + 1}", text, at, path)
    restriction = _restriction(item, where)
    circle = item.get("circle")
    if not isinstance(circle, dict):
        raise FormatError("'circle' must be an object with 'center' and 'radius'", where)
    lon, lat = _lonlat(circle.get("center"), where, "circle centre")
    radius = circle.get("radius")
    if not _is_number(radius):
        raise FormatError(f"circle radius {radius!r} is not a number of metres", where)
    return ZoneFeature(
        index=index,
        shapes=[RawCircle(lon, lat, float(radius))],
        name=where.feature_name,
        line=where.line,
        restriction=restriction,
    )


def _item_where(
    index: int, item: Any, fallback_name: str, text: str, at: int, path: Path
) -> Location:
    where = Location(file=path, feature_index=index, line=_line(text, at))
    if not isinstance(item, dict):
        raise FormatError("a geofence item is not an object", where)
    name = item.get("name", fallback_name)
    if not isinstance(name, str) or not name.strip():
        raise FormatError(f"name {name!r} is not a text", where)
    where.feature_name = name.strip()
    return where


def _restriction(item: dict[str, Any], where: Location) -> str:
    inclusion = item.get("inclusion")
    if not isinstance(inclusion, bool):
        raise FormatError(f"'inclusion' must be true or false, not {inclusion!r}", where)
    return "operating-area" if inclusion else "prohibited"


def _is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lonlat(point: Any, where: Location, what: str) -> Point2:
    """A QGC [lat, lon] point as (lon, lat)."""
    if not (isinstance(point, list) and len(point) == 2 and all(_is_number(v) for v in point)):
        raise FormatError(f"{what} {point!r} is not a [lat, lon] pair of numbers", where)
    return float(point[1]), float(point[0])


# ------------------------------------------ where things are in the text (for line numbers)
# The document has already been decoded by json.loads, so the text is known to be valid JSON.


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _skip(text: str, pos: int) -> int:
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _members(text: str, pos: int) -> dict[str, int]:
    """The offset of each member value of the JSON object that starts at ``pos``."""
    out: dict[str, int] = {}
    if text[pos] != "{":
        return out
    pos = _skip(text, pos + 1)
    while text[pos] != "}":
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, _skip(text, pos) + 1)  # past the ':'
        out[key] = pos
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return out


def _elements(text: str, pos: int | None) -> list[int]:
    """The offset of each element of the JSON array that starts at ``pos``."""
    out: list[int] = []
    if pos is None or text[pos] != "[":
        return out
    pos = _skip(text, pos + 1)
    while text[pos] != "]":
        out.append(pos)
        _, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] == ",":
            pos = _skip(text, pos + 1)
    return out
