"""Zones as JSON-ready dicts (for ``--json``) and short texts (for tables)."""

from __future__ import annotations

from typing import Any

from uav.zones.model import Zone


def zone_summary(z: Zone) -> dict[str, Any]:
    """The fields ``uav zones list --json`` gives for each zone."""
    s = z.schedule
    p = z.provenance
    return {
        "id": z.id,
        "name": z.name,
        "restriction": z.restriction.value,
        "geometry_kind": z.geometry_kind,
        "floor_m": z.band.floor_m,
        "floor_ref": z.band.floor_ref.value,
        "ceiling_m": z.band.ceiling_m,
        "ceiling_ref": z.band.ceiling_ref.value,
        "start": s.start.isoformat() if s.start else None,
        "end": s.end.isoformat() if s.end else None,
        "daily": [w.describe() for w in s.daily],
        "timezone": s.timezone,
        "reason": z.reason,
        "authority": z.authority,
        "message": z.message,
        "source": {
            "file": p.source_file,
            "format": p.source_format,
            "feature_index": p.feature_index,
            "sha256": p.sha256,
            "loaded_by": p.loaded_by,
            "loaded_at": p.loaded_at.isoformat() if p.loaded_at else None,
        },
    }


def zone_detail(z: Zone) -> dict[str, Any]:
    """``zone_summary`` plus the geometry as GeoJSON (``uav zones show --json``)."""
    from uav.formats.geojson import zone_feature

    feature = zone_feature(z)
    out = zone_summary(z)
    out["geometry"] = feature["geometry"]
    if "radius_m" in feature["properties"]:
        out["radius_m"] = feature["properties"]["radius_m"]
    return out
