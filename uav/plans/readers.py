"""Flight-plan readers: QGroundControl ``.plan``, Mission Planner ``.waypoints``, GeoJSON
and KML lines, each into a :class:`FlightPlan` numbered as ArduPilot numbers it (home 0).

Readers check what a file says, not what it means for the flight: syntax, structure,
frames, home, lat/lon ranges and missing positions. Every problem raises
:class:`PlanError` naming the file and, where the format has lines, the line.
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from lxml import etree

from uav.errors import Location, PlanError
from uav.formats.jsontext import load_json
from uav.plans.model import MAV_FRAME_TO_ALT, AltFrame, FlightPlan, MavCmd, MissionItem
from uav.plans.path import HERE_ALLOWED, POSITIONAL, command_name

FORMATS = ("qgc", "waypoints", "geojson", "kml")

Reader = Callable[[bytes, Path], FlightPlan]


def read_plan(path: Path, fmt: str = "auto") -> FlightPlan:
    """Read a flight plan; ``fmt`` is one of :data:`FORMATS` or "auto"."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PlanError(f"cannot read: {exc.strerror}", Location(file=path)) from None
    fmt = detect_plan_format(data, path) if fmt == "auto" else fmt
    readers: dict[str, Reader] = {
        "qgc": read_qgc,
        "waypoints": read_waypoints,
        "geojson": read_geojson,
        "kml": read_kml,
    }
    if fmt not in readers:
        raise PlanError(f"unknown plan format {fmt!r}: use auto or one of {', '.join(FORMATS)}")
    return readers[fmt](data, path)


def detect_plan_format(data: bytes, path: Path) -> str:
    """Tell the format from the extension, then from the content."""
    by_ext = {".plan": "qgc", ".waypoints": "waypoints", ".kml": "kml", ".kmz": "kml"}
    ext = path.suffix.lower()
    if ext in by_ext:
        return by_ext[ext]
    if ext == ".geojson":
        return "geojson"
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if data[:2] == b"PK" or head.startswith(b"<"):
        return "kml"
    if head.startswith(b"QGC WPL"):
        return "waypoints"
    if head.startswith((b"{", b"[")):
        doc = load_json(data, path, PlanError)
        if isinstance(doc, dict) and doc.get("fileType") == "Plan":
            return "qgc"
        if isinstance(doc, dict) and doc.get("type") in ("Feature", "FeatureCollection"):
            return "geojson"
    raise PlanError(
        f"cannot tell the plan format: give --format ({', '.join(FORMATS)})",
        Location(file=path),
    )


# ---------------------------------------------------------------- shared checks


def _check_lat_lon(lat: float, lon: float, where: Location, what: str) -> None:
    """Range checks; says so when latitude and longitude look swapped."""
    if not -90.0 <= lat <= 90.0:
        hint = ""
        if -90.0 <= lon <= 90.0 and abs(lat) <= 180.0:
            hint = ": latitude and longitude look swapped"
        raise PlanError(f"{what}latitude {lat:g} is out of range -90..90{hint}", where)
    if not -180.0 <= lon <= 180.0:
        raise PlanError(f"{what}longitude {lon:g} is out of range -180..180", where)


def _make_item(
    seq: int,
    command: int,
    frame_num: int,
    params: tuple[float, float, float, float],
    lat: float,
    lon: float,
    alt: float,
    where: Location,
    context: str = "",
) -> MissionItem:
    """A checked MissionItem; ``context`` prefixes messages (e.g. "mission.items[3]")."""
    what = f"{context + ', ' if context else ''}item {seq} ({command_name(command)}): "
    frame = MAV_FRAME_TO_ALT.get(frame_num)
    positional = command in POSITIONAL or command == MavCmd.NAV_TAKEOFF
    if positional and frame is None:
        raise PlanError(
            f"{what}unknown altitude frame {frame_num} (known: 0/5 AMSL, 3/6 above home, "
            "10/11 above terrain)",
            where,
        )
    if positional and not math.isfinite(alt):
        raise PlanError(f"{what}no altitude given: cannot tell the path", where)
    here_ok = command in HERE_ALLOWED
    has_pos = math.isfinite(lat) and math.isfinite(lon)
    if command in POSITIONAL and not has_pos:
        raise PlanError(f"{what}no position (lat/lon missing or NaN)", where)
    if here_ok and not has_pos and (math.isfinite(lat) or math.isfinite(lon)):
        raise PlanError(f"{what}only one of lat/lon given", where)
    if (command in POSITIONAL or here_ok) and has_pos and not (lat == 0 and lon == 0):
        _check_lat_lon(lat, lon, where, what)
    return MissionItem(seq, command, frame, lat, lon, alt, *params, line=where.line)


def _number(value: Any, what: str, where: Location, allow_null: bool = False) -> float:
    """A JSON number as float; null -> NaN when allowed."""
    if value is None and allow_null:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlanError(f"{what} must be a number, not {json.dumps(value)}", where)
    return float(value)


def _whole(value: Any, what: str, where: Location) -> int:
    number = _number(value, what, where)
    if not number.is_integer():
        raise PlanError(f"{what} must be a whole number, not {value}", where)
    return int(number)


def _home_check(lat: float, lon: float, where: Location) -> None:
    if lat == 0 and lon == 0:
        raise PlanError("home is at 0, 0: the file gives no home position", where)
    _check_lat_lon(lat, lon, where, "home ")


# ---------------------------------------------------------------- QGroundControl .plan


def read_qgc(data: bytes, path: Path) -> FlightPlan:
    """A QGroundControl .plan: mission items, complex items expanded, jumps renumbered."""
    doc = load_json(data, path, PlanError)
    where = Location(file=path)
    if not isinstance(doc, dict) or doc.get("fileType") != "Plan":
        raise PlanError('not a QGroundControl plan: no "fileType": "Plan"', where)
    mission = doc.get("mission")
    if not isinstance(mission, dict):
        raise PlanError('the plan has no "mission" object', where)
    home_lat, home_lon, home_amsl = _qgc_home(mission, where)
    raw_items = mission.get("items")
    if not isinstance(raw_items, list):
        raise PlanError('"mission" has no "items" list', where)
    items: list[MissionItem] = []
    jump_ids: dict[int, int] = {}
    for seq, (obj, context) in enumerate(_qgc_simple_items(raw_items, where), start=1):
        items.append(_qgc_item(seq, obj, context, where))
        if "doJumpId" in obj:
            jump_ids[_whole(obj["doJumpId"], f"{context} doJumpId", where)] = seq
    if not items:
        raise PlanError("the plan has no mission items", where)
    return FlightPlan(
        source=path,
        format="qgc",
        home_lat_deg=home_lat,
        home_lon_deg=home_lon,
        home_amsl_m=home_amsl,
        items=tuple(_qgc_renumber_jumps(items, jump_ids, where)),
        cruise_speed_mps=_qgc_speed(mission, where),
    )


def _qgc_home(mission: dict[str, Any], where: Location) -> tuple[float, float, float | None]:
    home = mission.get("plannedHomePosition")
    if not isinstance(home, list) or len(home) != 3:
        raise PlanError("no home: mission.plannedHomePosition must be [lat, lon, alt AMSL]", where)
    lat = _number(home[0], "plannedHomePosition latitude", where)
    lon = _number(home[1], "plannedHomePosition longitude", where)
    alt = _number(home[2], "plannedHomePosition altitude", where, allow_null=True)
    _home_check(lat, lon, where)
    return lat, lon, (alt if math.isfinite(alt) else None)


def _qgc_simple_items(
    raw_items: list[Any], where: Location
) -> Iterator[tuple[dict[str, Any], str]]:
    """Each SimpleItem with where it sits; complex items give their expanded Items."""
    for i, obj in enumerate(raw_items):
        context = f"mission.items[{i}]"
        if not isinstance(obj, dict):
            raise PlanError(f"{context} is not an object", where)
        kind = obj.get("type")
        if kind == "SimpleItem":
            yield obj, context
        elif kind == "ComplexItem":
            yield from _qgc_expanded(obj, context, where)
        else:
            raise PlanError(f"{context} has unknown type {json.dumps(kind)}", where)


def _qgc_expanded(
    obj: dict[str, Any], context: str, where: Location
) -> Iterator[tuple[dict[str, Any], str]]:
    name = obj.get("complexItemType", "complex item")
    transect = obj.get("TransectStyleComplexItem")
    expanded = transect.get("Items") if isinstance(transect, dict) else None
    if not isinstance(expanded, list) or not expanded:
        raise PlanError(
            f"{context}: {name} has no expanded items: cannot tell the path it flies "
            "(save it from a QGroundControl that writes TransectStyleComplexItem.Items)",
            where,
        )
    for j, sub in enumerate(expanded):
        sub_context = f"{context}.TransectStyleComplexItem.Items[{j}]"
        if not isinstance(sub, dict) or sub.get("type", "SimpleItem") != "SimpleItem":
            raise PlanError(f"{sub_context} is not a SimpleItem", where)
        yield sub, sub_context


def _qgc_item(seq: int, obj: dict[str, Any], context: str, where: Location) -> MissionItem:
    command = _whole(obj.get("command"), f"{context} command", where)
    frame = _whole(obj.get("frame"), f"{context} frame", where)
    raw = obj.get("params")
    if isinstance(raw, list) and len(raw) == 4 and isinstance(obj.get("coordinate"), list):
        raw = raw + obj["coordinate"]  # the older form: position in "coordinate"
    if not isinstance(raw, list) or len(raw) != 7:
        raise PlanError(f"{context} params must be a list of 7 values", where)
    p = [_number(v, f"{context} params[{k}]", where, allow_null=True) for k, v in enumerate(raw)]
    return _make_item(
        seq, command, frame, (p[0], p[1], p[2], p[3]), p[4], p[5], p[6], where, context
    )


def _qgc_renumber_jumps(
    items: list[MissionItem], jump_ids: dict[int, int], where: Location
) -> Iterator[MissionItem]:
    """QGC saves a DO_JUMP's target as the target's doJumpId: turn it into its seq."""
    for item in items:
        if item.command != MavCmd.DO_JUMP or not jump_ids:
            yield item
            continue
        target = item.param1
        if not (math.isfinite(target) and int(target) == target and int(target) in jump_ids):
            raise PlanError(f"item {item.seq} (DO_JUMP): no item has doJumpId {target:g}", where)
        yield replace(item, param1=float(jump_ids[int(target)]))


def _qgc_speed(mission: dict[str, Any], where: Location) -> float | None:
    """hoverSpeed for multirotors, cruiseSpeed for fixed wing (vehicleType 1)."""
    keys = ("cruiseSpeed",) if mission.get("vehicleType") == 1 else ("hoverSpeed", "cruiseSpeed")
    for key in keys:
        if mission.get(key) is not None:
            speed = _number(mission[key], f"mission.{key}", where)
            if not (math.isfinite(speed) and speed > 0):
                raise PlanError(f"mission.{key} {speed:g} is not a positive speed", where)
            return speed
    return None


# ---------------------------------------------------------------- Mission Planner .waypoints

_WPL_COLUMNS = (
    "seq", "current", "frame", "command", "param1", "param2", "param3", "param4",
    "lat", "lon", "alt", "autocontinue",
)  # fmt: skip
_WPL_INTS = {0, 1, 2, 3, 11}


def read_waypoints(data: bytes, path: Path) -> FlightPlan:
    """A Mission Planner "QGC WPL 110" file: line 2 (seq 0) is home, AMSL."""
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise PlanError(f"not UTF-8 text: {exc.reason}", Location(file=path)) from None
    header = lines[0].strip() if lines else ""
    if header not in ("QGC WPL 110", "QGC WPL 120"):
        raise PlanError(
            f'first line must be "QGC WPL 110", not {header[:40]!r}', Location(path, line=1)
        )
    rows: list[tuple[int, list[float]]] = []
    for lineno, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        values = _wpl_row(text, Location(file=path, line=lineno))
        if int(values[0]) != len(rows):
            raise PlanError(
                f"seq {int(values[0])} where {len(rows)} was expected: items must be "
                "numbered 0, 1, 2, ... in order",
                Location(file=path, line=lineno),
            )
        rows.append((lineno, values))
    if not rows:
        raise PlanError("no home line (seq 0)", Location(file=path))
    home_line, home = rows[0]
    home_where = Location(file=path, line=home_line)
    _home_check(home[8], home[9], home_where)
    home_is_amsl = MAV_FRAME_TO_ALT.get(int(home[2])) == AltFrame.AMSL
    home_amsl = home[10] if home_is_amsl and math.isfinite(home[10]) else None
    items = [_wpl_item(values, Location(file=path, line=line)) for line, values in rows[1:]]
    if not items:
        raise PlanError("the plan has no mission items after home", Location(file=path))
    return FlightPlan(path, "waypoints", home[8], home[9], home_amsl, tuple(items))


def _wpl_row(text: str, where: Location) -> list[float]:
    text = text.strip()
    fields = text.split("\t") if "\t" in text else text.split()
    if len(fields) != len(_WPL_COLUMNS):
        raise PlanError(
            f"{len(fields)} columns where a .waypoints line has {len(_WPL_COLUMNS)} "
            f"({', '.join(_WPL_COLUMNS)})",
            where,
        )
    values: list[float] = []
    for k, (name, field) in enumerate(zip(_WPL_COLUMNS, fields, strict=True)):
        try:
            value = float(field)
        except ValueError:
            raise PlanError(f"column {k + 1} ({name}) is not a number: {field!r}", where) from None
        if k in _WPL_INTS and not value.is_integer():
            raise PlanError(f"column {k + 1} ({name}) must be a whole number: {field!r}", where)
        values.append(value)
    return values


def _wpl_item(v: list[float], where: Location) -> MissionItem:
    return _make_item(
        int(v[0]), int(v[3]), int(v[2]), (v[4], v[5], v[6], v[7]), v[8], v[9], v[10], where
    )


# ---------------------------------------------------------------- GeoJSON line

_GEOJSON_REFS = {ref.value: ref for ref in AltFrame}


def read_geojson(data: bytes, path: Path) -> FlightPlan:
    """One LineString of [lon, lat, alt]; home is its first point; each point a waypoint."""
    doc = load_json(data, path, PlanError)
    feature = _geojson_line_feature(doc, path)
    props = feature.get("properties") or {}
    name = props.get("name") if isinstance(props, dict) else None
    where = Location(file=path, feature_index=0, feature_name=name)
    if not isinstance(props, dict):
        raise PlanError("properties must be an object", where)
    ref_text = props.get("altitude_ref", AltFrame.ABOVE_HOME.value)
    if ref_text not in _GEOJSON_REFS:
        raise PlanError(
            f"altitude_ref {json.dumps(ref_text)} is not one of {', '.join(_GEOJSON_REFS)}",
            where,
        )
    frame = _GEOJSON_REFS[ref_text]
    home_amsl = props.get("home_amsl_m")
    if home_amsl is not None:
        home_amsl = _number(home_amsl, "home_amsl_m", where)
        if not math.isfinite(home_amsl):
            raise PlanError(f"home_amsl_m {home_amsl} is not a finite number", where)
    coords = feature["geometry"].get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        raise PlanError("a LineString needs at least 2 coordinates", where)
    items = [_geojson_item(k, c, frame, where) for k, c in enumerate(coords)]
    _home_check(items[0].lat_deg, items[0].lon_deg, where)
    return FlightPlan(path, "geojson", items[0].lat_deg, items[0].lon_deg, home_amsl, tuple(items))


def _geojson_line_feature(doc: Any, path: Path) -> dict[str, Any]:
    """The one LineString Feature; anything else is refused."""
    where = Location(file=path)
    if not isinstance(doc, dict) or doc.get("type") not in ("Feature", "FeatureCollection"):
        raise PlanError("GeoJSON plan must be a Feature or a FeatureCollection", where)
    features = [doc] if doc["type"] == "Feature" else doc.get("features")
    if not isinstance(features, list) or len(features) != 1:
        count = len(features) if isinstance(features, list) else 0
        raise PlanError(f"a GeoJSON plan holds exactly one LineString, not {count} features", where)
    feature: Any = features[0]
    geometry = feature.get("geometry") if isinstance(feature, dict) else None
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind != "LineString":
        raise PlanError(
            f"the feature is a {kind or 'feature without geometry'}, not a LineString",
            Location(file=path, feature_index=0),
        )
    return dict(feature)


def _geojson_item(k: int, coord: Any, frame: AltFrame, where: Location) -> MissionItem:
    what = f"coordinate {k}"
    if not isinstance(coord, list) or len(coord) < 2:
        raise PlanError(f"{what} must be [lon, lat, alt]", where)
    if len(coord) < 3:
        raise PlanError(f"{what} has no altitude: give [lon, lat, alt] (altitude unknown)", where)
    lon = _number(coord[0], f"{what} longitude", where)
    lat = _number(coord[1], f"{what} latitude", where)
    alt = _number(coord[2], f"{what} altitude", where)
    if not all(math.isfinite(v) for v in (lon, lat, alt)):
        raise PlanError(f"{what} is not finite: {json.dumps(coord)}", where)
    _check_lat_lon(lat, lon, where, f"{what}: ")
    return MissionItem(k + 1, MavCmd.NAV_WAYPOINT, frame, lat, lon, alt)


# ---------------------------------------------------------------- KML line

_KML_MODES = {"relativeToGround": AltFrame.ABOVE_TERRAIN, "absolute": AltFrame.AMSL}


def read_kml(data: bytes, path: Path) -> FlightPlan:
    """One LineString (lon,lat,alt) with altitudeMode relativeToGround or absolute."""
    root = _kml_root(_kml_bytes(data, path), path)
    lines = [el for el in root.iter() if _local(el) == "LineString"]
    if len(lines) != 1:
        raise PlanError(
            f"a KML plan holds exactly one LineString, not {len(lines)}", Location(file=path)
        )
    line = lines[0]
    name = _kml_placemark_name(line)
    where = Location(file=path, line=line.sourceline, feature_name=name)
    mode_el = _child(line, "altitudeMode")
    mode = (mode_el.text or "").strip() if mode_el is not None else "clampToGround"
    if mode not in _KML_MODES:
        raise PlanError(
            f"altitudeMode {mode} does not give flight altitudes: set altitudeMode to "
            "relativeToGround or absolute",
            where,
        )
    coords_el = _child(line, "coordinates")
    if coords_el is None:
        raise PlanError("the LineString has no <coordinates>", where)
    items = list(_kml_items(coords_el, _KML_MODES[mode], path, name))
    if len(items) < 2:
        raise PlanError("a LineString needs at least 2 coordinates", where)
    first = items[0]
    _home_check(first.lat_deg, first.lon_deg, Location(file=path, line=first.line))
    return FlightPlan(path, "kml", first.lat_deg, first.lon_deg, None, tuple(items))


def _kml_bytes(data: bytes, path: Path) -> bytes:
    if data[:2] != b"PK":
        return data
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as kmz:
            names = [n for n in kmz.namelist() if n.lower().endswith(".kml")]
            if not names:
                raise PlanError("the KMZ holds no .kml file", Location(file=path))
            return kmz.read("doc.kml" if "doc.kml" in names else names[0])
    except zipfile.BadZipFile as exc:
        raise PlanError(f"not a valid KMZ: {exc}", Location(file=path)) from None


def _kml_root(data: bytes, path: Path) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        where = Location(file=path, line=exc.lineno)
        raise PlanError(f"malformed XML: {exc.msg}", where) from None


def _local(el: Any) -> str:
    tag = el.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child(el: Any, name: str) -> Any:
    return next((c for c in el if _local(c) == name), None)


def _kml_placemark_name(el: Any) -> str | None:
    while el is not None and _local(el) != "Placemark":
        el = el.getparent()
    name_el = _child(el, "name") if el is not None else None
    if name_el is None:
        return None
    return (name_el.text or "").strip() or None


def _kml_items(
    coords_el: Any, frame: AltFrame, path: Path, name: str | None
) -> Iterator[MissionItem]:
    text = coords_el.text or ""
    for k, match in enumerate(re.finditer(r"\S+", text)):
        line = coords_el.sourceline + text.count("\n", 0, match.start())
        where = Location(file=path, line=line, feature_name=name)
        parts = match.group().split(",")
        if len(parts) < 3:
            raise PlanError(
                f"coordinate {k} {match.group()!r} has no altitude: give lon,lat,alt", where
            )
        try:
            lon, lat, alt = (float(p) for p in parts[:3])
        except ValueError:
            raise PlanError(f"coordinate {k} {match.group()!r} is not lon,lat,alt", where) from None
        if not all(math.isfinite(v) for v in (lon, lat, alt)):
            raise PlanError(f"coordinate {k} {match.group()!r} is not finite", where)
        _check_lat_lon(lat, lon, where, f"coordinate {k}: ")
        yield MissionItem(k + 1, MavCmd.NAV_WAYPOINT, frame, lat, lon, alt, line=line)
