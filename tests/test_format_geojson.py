"""The GeoJSON zone profile: load, validation, export round trip."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from shapely.geometry import Point, Polygon

from uav.errors import FormatError, ZoneValidationError
from uav.formats import detect_format, geojson, read_zone_file
from uav.geo.crs import wgs84_to_gcj02
from uav.zones.build import ZoneDefaults
from uav.zones.model import AltitudeRef, Circle, Restriction

from .conftest import DATA

GZ = DATA / "geojson" / "guangzhou.geojson"


def write(tmp_path: Path, features: list[dict[str, object]], name: str = "z.geojson") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps({"type": "FeatureCollection", "features": features}, indent=1))
    return p


def square(lon: float, lat: float, d: float = 0.002) -> list[list[list[float]]]:
    return [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]]


def test_guangzhou_file_loads_every_kind_of_zone() -> None:
    zones = {z.name: z for z in read_zone_file(GZ)}
    assert len(zones) == 6
    airport = zones["Baiyun International Airport"]
    assert isinstance(airport.geometry, Circle)
    assert (airport.geometry.lon_deg, airport.geometry.lat_deg) == (113.2988, 23.3924)
    assert airport.geometry.radius_m == 5000
    tower = zones["Canton Tower"]
    assert isinstance(tower.geometry, Polygon)
    assert tower.geometry.contains(Point(113.3245, 23.1066))  # (lon, lat)
    limit = zones["Zhujiang New Town height limit"]
    assert limit.restriction is Restriction.PROHIBITED
    assert limit.band.floor_m == 60 and limit.band.ceiling_m is None
    event = zones["Tianhe Sports Center match day"]
    assert event.restriction is Restriction.AUTHORIZATION
    assert event.schedule.start == datetime.fromisoformat("2026-12-05T17:00:00+08:00")
    show = zones["Haixinsha evening light show"]
    assert show.schedule.timezone == "Asia/Shanghai" and len(show.schedule.daily) == 1
    assert zones["Tianhe unit operating area"].restriction is Restriction.OPERATING_AREA
    assert tower.provenance.sha256 and tower.provenance.feature_index == 1


def test_detects_geojson() -> None:
    assert detect_format(GZ.read_bytes(), GZ) == "geojson"


def test_options_fill_only_what_the_file_lacks(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        [
            {
                "type": "Feature",
                "properties": {"restriction": "warning", "ceiling_m": 90},
                "geometry": {"type": "Polygon", "coordinates": square(113.32, 23.10)},
            },
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": square(113.33, 23.10)},
            },
        ],
    )
    d = ZoneDefaults(restriction="prohibited", ceiling_m=200, altitude_ref="amsl", name="Event")
    a, b = read_zone_file(p, defaults=d)
    assert a.restriction is Restriction.WARNING and a.band.ceiling_m == 90
    assert b.restriction is Restriction.PROHIBITED and b.band.ceiling_m == 200
    assert b.band.ceiling_ref is AltitudeRef.AMSL
    assert (a.name, b.name) == ("Event #0", "Event #1")


def test_gcj02_coordinates_are_converted(tmp_path: Path) -> None:
    wgs = [(113.3220, 23.1045), (113.3270, 23.1045), (113.3270, 23.1087), (113.3220, 23.1087)]
    gcj = [list(wgs84_to_gcj02(*p)) for p in wgs]
    p = write(
        tmp_path,
        [
            {
                "type": "Feature",
                "properties": {"restriction": "prohibited"},
                "geometry": {"type": "Polygon", "coordinates": [[*gcj, gcj[0]]]},
            }
        ],
    )
    (z,) = read_zone_file(p, crs="gcj02")
    assert isinstance(z.geometry, Polygon)
    for got, want in zip(z.geometry.exterior.coords, [*wgs, wgs[0]], strict=False):
        assert got == pytest.approx(want, abs=1e-7)


def test_missing_restriction_is_refused_with_feature(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        [
            {
                "type": "Feature",
                "properties": {"name": "Pearl River bank"},
                "geometry": {"type": "Polygon", "coordinates": square(113.3, 23.1)},
            }
        ],
    )
    with pytest.raises(
        ZoneValidationError, match=r"feature 0 \('Pearl River bank'\).*--restriction"
    ):
        read_zone_file(p)


def test_swapped_lat_lon_is_named(tmp_path: Path) -> None:
    ring = [[23.10, 113.32], [23.10, 113.33], [23.11, 113.33], [23.10, 113.32]]
    p = write(
        tmp_path,
        [
            {
                "type": "Feature",
                "properties": {"restriction": "prohibited"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    )
    with pytest.raises(ZoneValidationError, match="swapped"):
        read_zone_file(p)


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    p = tmp_path / "broken.geojson"
    p.write_text('{"type": "FeatureCollection",\n "features": [\n  {"type": "Feature",,}\n ]}')
    with pytest.raises(FormatError, match=r"broken.geojson, line 3: malformed JSON"):
        read_zone_file(p)


def test_feature_line_is_reported(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        [
            {
                "type": "Feature",
                "properties": {"restriction": "prohibited"},
                "geometry": {"type": "Polygon", "coordinates": square(113.3, 23.1)},
            },
            {
                "type": "Feature",
                "properties": {"restriction": "prohibited", "name": "bad"},
                "geometry": {"type": "LineString", "coordinates": [[113.3, 23.1], [113.4, 23.1]]},
            },
        ],
    )
    text = p.read_text().splitlines()
    line = 1 + [i for i, s in enumerate(text) if '"Feature"' in s][1]
    with pytest.raises(FormatError, match=rf"line {line}, feature 1 \('bad'\): LineString"):
        read_zone_file(p)


def test_export_round_trips(tmp_path: Path) -> None:
    zones = read_zone_file(GZ)
    out = tmp_path / "export.geojson"
    out.write_bytes(geojson.dump(zones))
    again = read_zone_file(out)
    assert len(again) == len(zones)
    for a, b in zip(zones, again, strict=True):
        assert (a.name, a.restriction, a.band, a.schedule, a.reason, a.authority, a.message) == (
            b.name,
            b.restriction,
            b.band,
            b.schedule,
            b.reason,
            b.authority,
            b.message,
        )
        if isinstance(a.geometry, Circle):
            assert a.geometry == b.geometry
        else:
            assert a.geometry.equals_exact(b.geometry, 1e-12)
