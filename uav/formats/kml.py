"""KML and KMZ zones: read with fastkml (and lxml for syntax errors and line numbers), write back.

Every Placemark (in document order, inside Folders too) whose geometry is a Polygon, a
MultiGeometry of Polygons, or a Point with a ``radius_m`` is a zone; its index counts only
such placemarks. Placemarks that hold only paths (LineString, gx:Track) are skipped, as a
zone file may carry a patrol route beside its zones; a file with no zone at all is an error.

Attributes come from ``ExtendedData`` (``<Data name="...">`` or ``SchemaData/SimpleData``)
with the keys of the GeoJSON profile (see :mod:`uav.formats.geojson`): ``restriction``,
``floor_m``, ``ceiling_m`` (``UNL`` = unlimited), ``altitude_ref``, ``floor_ref``,
``ceiling_ref``, ``start``, ``end``, ``daily`` (windows separated by ``;``), ``timezone``,
``reason``, ``authority``, ``message`` and ``radius_m`` (Points only). The name is
``<name>``; ``message`` falls back to ``<description>``; a ``<TimeSpan>`` gives ``start`` and
``end`` when ExtendedData does not (both given must agree). Coordinates are lon,lat[,alt];
the altitude is ignored. Rings must be closed. A KMZ is a zip holding ``doc.kml`` (or a
single ``.kml``); line numbers then refer to that inner file.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import fastkml
from fastkml.gx import MultiTrack, Track
from lxml import etree
from shapely.geometry import MultiPolygon, Polygon

from uav.errors import FormatError, InputError, Location
from uav.timeutil import parse_instant
from uav.zones.build import Point2, RawCircle, RawPolygon, ZoneFeature
from uav.zones.model import Circle, Zone, ZoneGeometry

KMZ_MAX_KML_BYTES = 64 * 1024 * 1024  # refuse to inflate a larger doc.kml (zip bombs)
_GEOMETRY_TAGS = frozenset(
    {
        "Point",
        "LineString",
        "LinearRing",
        "Polygon",
        "MultiGeometry",
        "Model",
        "Track",
        "MultiTrack",
    }
)
_UNLIMITED = ("UNL", "UNLIMITED")
_COMMA_SPACES = re.compile(r", +")
NO_ZONE = "no polygon or point+radius placemark: the file holds no zone"

Shape = RawPolygon | RawCircle


# ---------------------------------------------------------------- reading


def parse(data: bytes, path: Path) -> list[ZoneFeature]:
    """Every zone-shaped placemark of a KML or KMZ file, in document order."""
    root = _xml_root(kml_bytes(data, path), path)
    ns = _namespace(root, path)
    _refuse_network_links(root, ns, path)
    features: list[ZoneFeature] = []
    for element in root.iter(f"{ns}Placemark"):
        feature = _placemark(element, ns, len(features), path)
        if feature is not None:
            features.append(feature)
    if not features:
        raise FormatError(NO_ZONE, Location(file=path))
    return features


def kml_bytes(data: bytes, path: Path) -> bytes:
    """The KML document: ``data`` itself, or the main KML inside a KMZ (zip) archive."""
    if not data.startswith(b"PK"):
        return data
    where = Location(file=path)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = _main_kml(archive, where)
            if info.file_size > KMZ_MAX_KML_BYTES:
                raise FormatError(
                    f"{info.filename} inflates to {info.file_size} bytes, over the "
                    f"{KMZ_MAX_KML_BYTES} byte limit",
                    where,
                )
            return archive.read(info)
    except (zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError, EOFError) as exc:
        raise FormatError(f"not a readable KMZ (zip) archive: {exc}", where) from None


def _main_kml(archive: zipfile.ZipFile, where: Location) -> zipfile.ZipInfo:
    infos = archive.infolist()
    for info in infos:
        if info.filename.lower() == "doc.kml":
            return info
    kmls = [i for i in infos if i.filename.lower().endswith(".kml")]
    if len(kmls) == 1:
        return kmls[0]
    held = ", ".join(i.filename for i in infos) or "nothing"
    raise FormatError(f"the KMZ holds no doc.kml (it holds: {held})", where)


def _xml_root(data: bytes, path: Path) -> Any:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise FormatError(f"XML syntax error: {exc.msg}", Location(file=path, line=line)) from None
    for entity in root.iter(etree.Entity):  # left unexpanded; refuse rather than lose text
        raise FormatError(
            f"the XML entity {entity.text} is not allowed in a zone file",
            Location(file=path, line=entity.sourceline),
        )
    return root


def _namespace(root: Any, path: Path) -> str:
    qname = etree.QName(root)
    if qname.localname != "kml":
        raise FormatError(
            f"not a KML document: the root element is <{qname.localname}>, not <kml>",
            Location(file=path, line=root.sourceline),
        )
    return f"{{{qname.namespace}}}" if qname.namespace else ""


def _refuse_network_links(root: Any, ns: str, path: Path) -> None:
    for link in root.iter(f"{ns}NetworkLink"):
        raise FormatError(
            "a NetworkLink refers to zones in another file, which uav does not fetch: "
            "download that file and load it directly",
            Location(file=path, line=link.sourceline),
        )


def _placemark(element: Any, ns: str, index: int, path: Path) -> ZoneFeature | None:
    where = Location(file=path, feature_index=index, line=element.sourceline)
    where.feature_name = _child_text(element, f"{ns}name")
    _check_single_geometry(element, where)
    placemark = _read_placemark(element, ns, where)
    geometry = placemark.kml_geometry
    if _is_path_only(geometry):
        return None
    attrs = _attributes(placemark, where)
    shapes = _shapes(geometry, _number(attrs, "radius_m", where), where)
    begin, end = _time_span(element, ns)
    feature = ZoneFeature(
        index=index,
        shapes=shapes,
        name=placemark.name,
        line=element.sourceline,
        restriction=attrs.get("restriction"),
        floor_m=_number(attrs, "floor_m", where),
        floor_ref=attrs.get("floor_ref") or attrs.get("altitude_ref"),
        ceiling_ref=attrs.get("ceiling_ref") or attrs.get("altitude_ref"),
        start=_instant(attrs.get("start"), begin, "start", where),
        end=_instant(attrs.get("end"), end, "end", where),
        daily=[w.strip() for w in attrs.get("daily", "").split(";") if w.strip()],
        timezone=attrs.get("timezone"),
        reason=attrs.get("reason"),
        authority=attrs.get("authority"),
        message=attrs.get("message") or placemark.description,
    )
    ceiling = attrs.get("ceiling_m")
    if ceiling is not None and ceiling.upper() in _UNLIMITED:
        feature.ceiling_unlimited = True
    else:
        feature.ceiling_m = _number(attrs, "ceiling_m", where)
    return feature


def _child_text(element: Any, tag: str) -> str | None:
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    return str(child.text).strip() or None


def _check_single_geometry(element: Any, where: Location) -> None:
    tags = [
        etree.QName(c).localname
        for c in element
        if isinstance(c.tag, str) and etree.QName(c).localname in _GEOMETRY_TAGS
    ]
    if len(tags) > 1:
        raise FormatError(
            f"the placemark has {len(tags)} geometries ({', '.join(tags)}); "
            "a placemark holds one (group polygons in a MultiGeometry)",
            where,
        )


def _read_placemark(element: Any, ns: str, where: Location) -> fastkml.Placemark:
    line, problem = _coordinates_problem(element)
    if problem is not None:  # checked first: fastkml would log the whole element
        raise FormatError(problem, replace(where, line=line or where.line))
    try:
        return fastkml.Placemark.class_from_element(
            ns=ns, name_spaces={"kml": ns}, element=element, strict=True
        )
    except Exception as exc:  # fastkml raises several types; any of them means unreadable input
        raise FormatError(f"cannot read the placemark: {str(exc)[:200]}", where) from None


def _coordinates_problem(element: Any) -> tuple[int | None, str | None]:
    """The first <coordinates> that is not 'lon,lat[,alt] ...', with its line."""
    for coords in element.iter("{*}coordinates"):
        text = _COMMA_SPACES.sub(",", coords.text or "")  # as fastkml reads it
        for match in re.finditer(r"\S+", text):
            values = match.group().split(",")
            if len(values) not in (2, 3) or not all(_is_float(v) for v in values):
                line = coords.sourceline + text.count("\n", 0, match.start())
                return line, (
                    f"coordinates: {match.group()!r} is not lon,lat or lon,lat,alt in degrees"
                )
    return None, None


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parts(geometry: Any) -> list[Any]:
    """The members of a (possibly nested) MultiGeometry, or the geometry itself."""
    if isinstance(geometry, fastkml.MultiGeometry):
        return [p for g in geometry.kml_geometries for p in _parts(g)]
    return [geometry]


def _is_path(geometry: Any) -> bool:
    if isinstance(geometry, fastkml.LinearRing):
        return False
    return isinstance(geometry, fastkml.LineString | Track | MultiTrack)


def _is_path_only(geometry: Any) -> bool:
    parts = _parts(geometry) if geometry is not None else []
    return bool(parts) and all(_is_path(p) for p in parts)


def _shapes(geometry: Any, radius_m: float | None, where: Location) -> list[Shape]:
    if geometry is None:
        raise FormatError("the placemark has no geometry", where)
    if isinstance(geometry, fastkml.Point):
        if radius_m is None:
            raise FormatError(
                "a Point placemark is a zone only with a radius_m (metres) in its ExtendedData",
                where,
            )
        return [_circle(geometry, radius_m, where)]
    if radius_m is not None:
        raise FormatError("radius_m is given, but the geometry is not a Point", where)
    parts = _parts(geometry)
    if parts and all(isinstance(p, fastkml.Polygon) for p in parts):
        return [_polygon(p, where) for p in parts]
    kinds = ", ".join(sorted({type(p).__name__ for p in parts})) or "an empty MultiGeometry"
    raise FormatError(
        f"{kinds} is not a zone geometry: use a Polygon, a MultiGeometry of Polygons "
        "or a Point with radius_m",
        where,
    )


def _circle(point: fastkml.Point, radius_m: float, where: Location) -> RawCircle:
    coords = _coords(point.kml_coordinates, where, "Point")
    if len(coords) != 1:
        raise FormatError(f"the Point has {len(coords)} positions, not 1", where)
    return RawCircle(coords[0][0], coords[0][1], radius_m)


def _polygon(polygon: fastkml.Polygon, where: Location) -> RawPolygon:
    outer = polygon.outer_boundary.kml_geometry if polygon.outer_boundary else None
    if outer is None:
        raise FormatError("a Polygon without outerBoundaryIs coordinates", where)
    holes: list[list[Point2]] = []
    for k, inner in enumerate(polygon.inner_boundaries, start=1):
        if inner.kml_geometry is None:
            raise FormatError(f"innerBoundaryIs {k} has no coordinates", where)
        holes.append(_coords(inner.kml_geometry.kml_coordinates, where, f"hole {k}"))
    exterior = _coords(outer.kml_coordinates, where, "outer boundary")
    return RawPolygon(exterior, holes, explicit_close=True)


def _coords(coordinates: Any, where: Location, what: str) -> list[Point2]:
    raw = coordinates.coords if coordinates is not None else []
    if not raw:
        raise FormatError(f"{what} has no coordinates", where)
    out: list[Point2] = []
    for c in raw:
        if len(c) not in (2, 3):
            raise FormatError(f"{what}: {c!r} is not lon,lat[,alt]", where)
        out.append((float(c[0]), float(c[1])))
    return out


def _attributes(placemark: fastkml.Placemark, where: Location) -> dict[str, str]:
    """ExtendedData as name -> text (Data and SchemaData/SimpleData alike)."""
    out: dict[str, str] = {}
    elements = placemark.extended_data.elements if placemark.extended_data else []
    for item in elements:
        if isinstance(item, fastkml.Data):
            pairs = [(item.name, item.value)]
        elif isinstance(item, fastkml.SchemaData):
            pairs = [(d.name, d.value) for d in item.data]
        else:
            continue
        for key, value in pairs:
            if key is None or value is None:
                continue
            if key in out:
                raise FormatError(f"ExtendedData {key!r} is given twice", where)
            out[key] = str(value).strip()
    return out


def _number(attrs: dict[str, str], key: str, where: Location) -> float | None:
    text = attrs.get(key)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise FormatError(f"{key} must be a number of metres, not {text!r}", where) from None


def _time_span(element: Any, ns: str) -> tuple[str | None, str | None]:
    span = element.find(f"{ns}TimeSpan")
    if span is None:
        return None, None
    return _child_text(span, f"{ns}begin"), _child_text(span, f"{ns}end")


def _instant(text: str | None, span_text: str | None, key: str, where: Location) -> datetime | None:
    value = _read_time(text, key, where)
    from_span = _read_time(span_text, f"TimeSpan {'begin' if key == 'start' else 'end'}", where)
    if value is not None and from_span is not None and value != from_span:
        raise FormatError(
            f"{key} {value.isoformat()} disagrees with the TimeSpan ({from_span.isoformat()})",
            where,
        )
    return value or from_span


def _read_time(text: str | None, key: str, where: Location) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_instant(text, default_tz="UTC")
    except InputError as exc:
        raise FormatError(f"{key}: {exc.message}", where) from None


# ---------------------------------------------------------------- writing


def dump(zones: Sequence[Zone]) -> bytes:
    """Zones as a KML document that ``parse`` (then build_zones) reads back to the same zones."""
    document = fastkml.Document(name="uav zones", features=[_zone_placemark(z) for z in zones])
    text = fastkml.KML(features=[document]).to_string(prettyprint=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8")


def _zone_placemark(zone: Zone) -> fastkml.Placemark:
    data = [fastkml.Data(name=k, value=v) for k, v in zone_attributes(zone).items()]
    return fastkml.Placemark(
        name=zone.name,
        description=zone.message,
        extended_data=fastkml.ExtendedData(elements=data),
        kml_geometry=_kml_geometry(zone.geometry),
    )


def zone_attributes(zone: Zone) -> dict[str, str]:
    """Every attribute of a zone as ExtendedData text (floats in repr, so exact)."""
    band, schedule = zone.band, zone.schedule
    attrs = {"restriction": zone.restriction.value}
    if zone.id is not None:
        attrs["id"] = str(zone.id)
    if isinstance(zone.geometry, Circle):
        attrs["radius_m"] = repr(zone.geometry.radius_m)
    attrs["floor_m"] = repr(band.floor_m)
    attrs["floor_ref"] = band.floor_ref.value
    attrs["ceiling_m"] = "UNL" if band.ceiling_m is None else repr(band.ceiling_m)
    attrs["ceiling_ref"] = band.ceiling_ref.value
    if schedule.start is not None:
        attrs["start"] = schedule.start.isoformat()
    if schedule.end is not None:
        attrs["end"] = schedule.end.isoformat()
    if schedule.daily:
        attrs["daily"] = "; ".join(w.describe() for w in schedule.daily)
    attrs["timezone"] = schedule.timezone
    for key in ("reason", "authority", "message"):
        value = getattr(zone, key)
        if value is not None:
            attrs[key] = value
    return attrs


def _kml_geometry(geometry: ZoneGeometry) -> Any:
    if isinstance(geometry, Circle):
        coords = fastkml.Coordinates(coords=[(geometry.lon_deg, geometry.lat_deg)])
        return fastkml.Point(kml_coordinates=coords)
    if isinstance(geometry, MultiPolygon):
        return fastkml.MultiGeometry(kml_geometries=[_kml_polygon(p) for p in geometry.geoms])
    return _kml_polygon(geometry)


def _kml_polygon(polygon: Polygon) -> fastkml.Polygon:
    def ring(coords: Any) -> fastkml.LinearRing:
        points = [(float(x), float(y)) for x, y in coords]
        return fastkml.LinearRing(kml_coordinates=fastkml.Coordinates(coords=points))

    return fastkml.Polygon(
        outer_boundary=fastkml.OuterBoundaryIs(kml_geometry=ring(polygon.exterior.coords)),
        inner_boundaries=[
            fastkml.InnerBoundaryIs(kml_geometry=ring(h.coords)) for h in polygon.interiors
        ],
    )
