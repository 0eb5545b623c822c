"""Zone file formats: detection, parsing and loading into validated zones.

Each parser module has ``parse(data: bytes, path: Path) -> list[ZoneFeature]`` and raises
:class:`uav.errors.FormatError` naming the file, feature and line. :func:`read_zone_file`
detects the format, parses, fills defaults, converts to WGS-84 and validates.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from uav.errors import FormatError, InputError, Location
from uav.zones.build import Source, ZoneDefaults, ZoneFeature, build_zones, sha256_of
from uav.zones.model import Zone

FORMATS = ("geojson", "kml", "openair", "ed269", "qgc", "mpfence")

Parser = Callable[[bytes, Path], list[ZoneFeature]]


def get_parser(fmt: str) -> Parser:
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: use auto or one of {', '.join(FORMATS)}")
    module = importlib.import_module(f"uav.formats.{fmt}")
    parser: Parser = module.parse
    return parser


def detect_format(data: bytes, path: Path) -> str:
    """Tell the format from the extension, then from the content."""
    ext = path.suffix.lower()
    if ext in (".kml", ".kmz"):
        return "kml"
    if ext in (".air", ".openair"):
        return "openair"
    if ext == ".plan":
        return "qgc"
    if ext in (".fen", ".fence", ".poly"):
        return "mpfence"
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if data[:2] == b"PK":
        return "kml"
    if head.startswith(b"<"):
        return "kml"
    if head.startswith((b"{", b"[")):
        try:
            doc = json.loads(data.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            # Malformed: route by tell-tale keys so the right parser reports the line.
            if any(
                k in data for k in (b'"UASZoneList"', b'"horizontalProjection"', b'"uomDimensions"')
            ):
                return "ed269"
            if b'"geoFence"' in data or b'"fileType"' in data:
                return "qgc"
            return "geojson"
        return _detect_json(doc)
    text = head.decode("utf-8", "replace")
    first = text.splitlines()[0].strip() if text else ""
    if first.startswith("QGC WPL"):
        return "mpfence"
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("*"):
            continue
        if s[:3].upper() in ("AC ", "AN ", "SP ", "SB ") or s.upper().startswith("AC\t"):
            return "openair"
        break
    if ext in (".txt", ".waypoints"):
        return "mpfence"
    raise FormatError(
        "cannot tell the format: give --format (geojson, kml, openair, ed269, qgc, mpfence)",
        Location(file=path),
    )


def _detect_json(doc: object) -> str:
    if isinstance(doc, list) and doc and isinstance(doc[0], dict):
        first = doc[0]
        if "identifier" in first or isinstance(first.get("geometry"), list):
            return "ed269"
    if isinstance(doc, dict):
        if doc.get("fileType") == "Plan" or "geoFence" in doc:
            return "qgc"
        if "UASZoneList" in doc:
            return "ed269"
        feats = doc.get("features")
        if isinstance(feats, list) and feats and isinstance(feats[0], dict):
            f0 = feats[0]
            if f0.get("type") != "Feature" and (
                ("geometry" in f0 and isinstance(f0.get("geometry"), list))
                or "identifier" in f0
                or "uSpaceClass" in f0
            ):
                return "ed269"
    return "geojson"


def read_zone_file(
    path: Path,
    *,
    fmt: str = "auto",
    crs: str = "wgs84",
    defaults: ZoneDefaults | None = None,
    loaded_by: str | None = None,
    loaded_at: datetime | None = None,
) -> list[Zone]:
    """Read one zone file into validated zones (raises on the first problem)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", Location(file=path)) from None
    fmt = detect_format(data, path) if fmt == "auto" else fmt
    features = get_parser(fmt)(data, path)
    source = Source(path, fmt, sha256_of(data), loaded_by, loaded_at)
    return build_zones(features, source, crs=crs, defaults=defaults)
