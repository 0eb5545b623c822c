"""GeoJSON report: incidents as points, each track's path as a line (a point when it has a
single position), operators' locations as points; ``properties.kind`` tells them apart."""

from __future__ import annotations

import json
from typing import Any

from uav.detect.report import ReportData, incident_row, iso_utc


def render_geojson(data: ReportData) -> str:
    features: list[dict[str, Any]] = []
    for i in sorted(data.incidents, key=lambda i: (i.opened_s, i.incident_id)):
        if i.lat_deg is None or i.lon_deg is None:
            continue
        props = {"kind": "incident", **incident_row(i)}
        features.append(_feature(_point(i.lon_deg, i.lat_deg, i.alt_m), props))
        if i.operator_lat_deg is not None and i.operator_lon_deg is not None:
            op = {"kind": "operator", "incident_id": i.incident_id, "track_id": i.track_id}
            features.append(_feature(_point(i.operator_lon_deg, i.operator_lat_deg, None), op))
    tracks = {t.track_id: t for t in data.tracks}
    for track_id, path in data.paths().items():
        coords = [[s.lon_deg, s.lat_deg] for s in path]
        geom = (
            {"type": "LineString", "coordinates": coords}
            if len(coords) > 1
            else {"type": "Point", "coordinates": coords[0]}
        )
        t = tracks.get(track_id)
        props = {
            "kind": "track",
            "track_id": track_id,
            "category": path[-1].category,
            "first": iso_utc(path[0].time_s),
            "last": iso_utc(path[-1].time_s),
            "detections": len(path),
            "authorised": path[-1].authorised if t is None else t.authorised,
            "authorised_by": None if t is None else t.authorised_by,
            "max_severity": max((s.severity for s in path), key=_rank),
        }
        features.append(_feature(geom, props))
    doc = {"type": "FeatureCollection", "features": features}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def _rank(severity: str) -> int:
    return {"high": 2, "medium": 1}.get(severity, 0)


def _point(lon: float, lat: float, alt: float | None) -> dict[str, Any]:
    coords = [lon, lat] if alt is None else [lon, lat, alt]
    return {"type": "Point", "coordinates": coords}


def _feature(geometry: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": props}
