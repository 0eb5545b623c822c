"""GeoJSON zones: the project's own profile (RFC 7946, WGS-84 lon/lat order).

Profile, per Feature ``properties`` (all optional; command-line options fill what is missing):

==============  ==========================================================================
``name``        zone name
``restriction`` ``prohibited`` | ``authorization`` | ``warning`` | ``operating-area``
``floor_m``     lower limit in metres (default 0 = ground)
``ceiling_m``   upper limit in metres; ``null`` or ``"UNL"`` = unlimited
``altitude_ref````agl`` (default: above ground, taken as above take-off) or ``amsl``
``floor_ref``   overrides ``altitude_ref`` for the floor; ``ceiling_ref`` likewise
``start``/``end`` ISO 8601 instants (with offset; without one, UTC)
``daily``       a window or list of windows, ``"08:00-20:00"`` or ``"Mon-Fri 08:00-20:00"``
``timezone``    IANA time zone the daily windows are read in (default UTC)
``reason``, ``authority``, ``message``  free text
``radius_m``    with a Point geometry: a circle of that radius (metres)
==============  ==========================================================================

Geometries: Polygon, MultiPolygon, or Point + ``radius_m``. A FeatureCollection, a single
Feature or a bare geometry is accepted. Rings must be closed (RFC 7946).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, mapping

from uav.errors import FormatError, Location
from uav.formats.jsontext import load_json
from uav.timeutil import parse_instant
from uav.zones.build import Point2, RawCircle, RawPolygon, ZoneFeature
from uav.zones.model import Circle, Zone

_FEATURE_RE = re.compile(rb'"type"\s*:\s*"Feature"')


def parse(data: bytes, path: Path) -> list[ZoneFeature]:
    doc = load_json(data, path)
    features = _features(doc, path)
    lines = _feature_lines(data, len(features))
    return [_feature(i, f, path, lines[i]) for i, f in enumerate(features)]


def _features(doc: Any, path: Path) -> list[Any]:
    if not isinstance(doc, dict):
        raise FormatError("not a GeoJSON object", Location(file=path))
    kind = doc.get("type")
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise FormatError("FeatureCollection without a 'features' list", Location(file=path))
        return feats
    if kind == "Feature":
        return [doc]
    if kind in ("Polygon", "MultiPolygon", "Point"):
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    raise FormatError(f"not a GeoJSON zone file (type {kind!r})", Location(file=path))


def _feature_lines(data: bytes, count: int) -> list[int | None]:
    """The line of each Feature's ``"type": "Feature"`` member, when they can be told apart."""
    starts = [m.start() for m in _FEATURE_RE.finditer(data)]
    if len(starts) != count:
        return [None] * count
    return [data.count(b"\n", 0, s) + 1 for s in starts]


def _feature(index: int, feat: Any, path: Path, line: int | None) -> ZoneFeature:
    where = Location(file=path, feature_index=index, line=line)
    if not isinstance(feat, dict) or feat.get("type") != "Feature":
        raise FormatError("not a GeoJSON Feature", where)
    props = feat.get("properties") or {}
    if not isinstance(props, dict):
        raise FormatError("'properties' is not an object", where)
    name = props.get("name")
    where.feature_name = str(name) if name is not None else None
    geom = feat.get("geometry")
    if not isinstance(geom, dict):
        raise FormatError("no geometry", where)
    zf = ZoneFeature(
        index=index,
        shapes=_shapes(geom, props, where),
        name=str(name) if name is not None else None,
        line=line,
        restriction=_text(props, "restriction"),
        floor_m=_number(props, "floor_m", where),
        floor_ref=_text(props, "floor_ref") or _text(props, "altitude_ref"),
        ceiling_ref=_text(props, "ceiling_ref") or _text(props, "altitude_ref"),
        start=_instant(props, "start", where),
        end=_instant(props, "end", where),
        daily=_daily(props, where),
        timezone=_text(props, "timezone"),
        reason=_text(props, "reason"),
        authority=_text(props, "authority"),
        message=_text(props, "message"),
    )
    ceiling = props.get("ceiling_m", ...)
    if ceiling is None or (isinstance(ceiling, str) and ceiling.strip().upper() in ("UNL", "")):
        zf.ceiling_unlimited = True
    elif ceiling is not ...:
        zf.ceiling_m = _number(props, "ceiling_m", where)
    return zf


def _text(props: dict[str, Any], key: str) -> str | None:
    v = props.get(key)
    return None if v is None else str(v)


def _number(props: dict[str, Any], key: str, where: Location) -> float | None:
    v = props.get(key)
    if v is None:
        return None
    if isinstance(v, bool):
        raise FormatError(f"{key} must be a number of metres, not {v!r}", where)
    try:
        return float(v)
    except (TypeError, ValueError):
        raise FormatError(f"{key} must be a number of metres, not {v!r}", where) from None


def _instant(props: dict[str, Any], key: str, where: Location) -> Any:
    v = props.get(key)
    if v is None:
        return None
    try:
        return parse_instant(str(v), default_tz="UTC")
    except Exception as exc:
        raise FormatError(f"{key}: {getattr(exc, 'message', exc)}", where) from None


def _daily(props: dict[str, Any], where: Location) -> list[str]:
    v = props.get("daily")
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(w, str) for w in v):
        return list(v)
    raise FormatError("daily must be a window string or a list of them", where)


def _coords(raw: Any, where: Location, what: str) -> list[Point2]:
    if not isinstance(raw, list):
        raise FormatError(f"{what}: coordinates are not a list", where)
    out: list[Point2] = []
    for p in raw:
        if (
            not isinstance(p, list)
            or len(p) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in p[:2])
        ):
            raise FormatError(f"{what}: {p!r} is not a [lon, lat] position", where)
        out.append((float(p[0]), float(p[1])))
    return out


def _polygon(rings: Any, where: Location, what: str) -> RawPolygon:
    if not isinstance(rings, list) or not rings:
        raise FormatError(f"{what}: a Polygon needs a list of rings", where)
    parsed = [_coords(r, where, what) for r in rings]
    return RawPolygon(parsed[0], parsed[1:], explicit_close=True)


def _shapes(geom: dict[str, Any], props: dict[str, Any], where: Location) -> list[Any]:
    kind = geom.get("type")
    coords = geom.get("coordinates")
    if kind == "Polygon":
        return [_polygon(coords, where, "Polygon")]
    if kind == "MultiPolygon":
        if not isinstance(coords, list) or not coords:
            raise FormatError("MultiPolygon has no polygons", where)
        return [_polygon(p, where, f"MultiPolygon part {k}") for k, p in enumerate(coords)]
    if kind == "Point":
        (centre,) = _coords([coords], where, "Point")
        radius = _number(props, "radius_m", where)
        if radius is None:
            raise FormatError("a Point zone needs a radius_m property (metres)", where)
        return [RawCircle(centre[0], centre[1], radius)]
    raise FormatError(
        f"{kind} is not a zone geometry (use Polygon, MultiPolygon or Point + radius_m)", where
    )


def dump(zones: Sequence[Zone]) -> bytes:
    """Zones as a GeoJSON FeatureCollection that ``parse`` reads back to the same zones."""
    return json.dumps(
        {"type": "FeatureCollection", "features": [zone_feature(z) for z in zones]},
        indent=1,
        ensure_ascii=False,
    ).encode("utf-8")


def zone_feature(z: Zone) -> dict[str, Any]:
    props: dict[str, Any] = {"name": z.name, "restriction": z.restriction.value}
    if z.id is not None:
        props["id"] = z.id
    if isinstance(z.geometry, Circle):
        geometry: dict[str, Any] = {
            "type": "Point",
            "coordinates": [z.geometry.lon_deg, z.geometry.lat_deg],
        }
        props["radius_m"] = z.geometry.radius_m
    else:
        assert isinstance(z.geometry, Polygon | MultiPolygon)
        geometry = _plain(mapping(z.geometry))
    b = z.band
    props.update(
        floor_m=b.floor_m,
        floor_ref=b.floor_ref.value,
        ceiling_m=b.ceiling_m,
        ceiling_ref=b.ceiling_ref.value,
    )
    s = z.schedule
    if s.start is not None:
        props["start"] = s.start.isoformat()
    if s.end is not None:
        props["end"] = s.end.isoformat()
    if s.daily:
        props["daily"] = [w.describe() for w in s.daily]
        props["timezone"] = s.timezone
    for key in ("reason", "authority", "message"):
        value = getattr(z, key)
        if value is not None:
            props[key] = value
    return {"type": "Feature", "properties": props, "geometry": geometry}


def _plain(obj: Any) -> Any:
    """shapely's mapping() uses tuples; JSON wants lists (and the parser checks for lists)."""
    if isinstance(obj, tuple | list):
        return [_plain(o) for o in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj
