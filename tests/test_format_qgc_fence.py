"""QGroundControl .plan geofences: [lat, lon] order, inclusion/exclusion, lines and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, Polygon

from uav.errors import FormatError, ZoneValidationError
from uav.formats import detect_format, read_zone_file
from uav.formats.qgc import parse
from uav.zones.build import RawCircle, RawPolygon, ZoneDefaults, ZoneFeature
from uav.zones.model import AltitudeRef, Circle, Restriction, VerticalBand

DATA = Path(__file__).parent / "data" / "qgc"
BAD = Path(__file__).parent / "bad"
PLAN = DATA / "guangzhou.plan"

TIANHE_LATLON = [[23.11, 113.31], [23.11, 113.345], [23.15, 113.345], [23.15, 113.31]]


def plan(polygons: list[Any] | None = None, circles: list[Any] | None = None) -> bytes:
    """A minimal plan as QGroundControl writes it (indented, keys sorted)."""
    doc = {
        "fileType": "Plan",
        "geoFence": {"circles": circles or [], "polygons": polygons or [], "version": 2},
        "groundStation": "QGroundControl",
        "mission": {"items": [], "plannedHomePosition": [23.1375, 113.327, 12], "version": 2},
        "rallyPoints": {"points": [], "version": 2},
        "version": 1,
    }
    return json.dumps(doc, indent=4, sort_keys=True).encode()


def parse_bytes(data: bytes) -> list[ZoneFeature]:
    return parse(data, Path("fence.plan"))


def test_parse_reads_polygons_then_circles_with_lines() -> None:
    features = parse(PLAN.read_bytes(), PLAN)
    assert [f.name for f in features] == [
        "QGC fence polygon 1",
        "Canton Tower",  # the item's own "name" key wins
        "QGC fence circle 1",
        "QGC fence circle 2",
    ]
    assert [f.index for f in features] == [0, 1, 2, 3]
    assert [f.restriction for f in features] == [
        "operating-area",
        "prohibited",
        "prohibited",
        "prohibited",
    ]
    # each feature's line is the line of its "{" in the geoFence lists; the survey item's
    # "polygon" key inside "mission" must not disturb the mapping
    lines = PLAN.read_text().splitlines()
    assert [f.line for f in features] == [29, 51, 5, 16]
    for f in features:
        assert f.line is not None and lines[f.line - 1].strip() == "{"
    assert '"name": "Canton Tower"' in lines[51 + 1]


def test_parse_converts_lat_lon_pairs_to_lon_lat() -> None:
    area, tower, tower_circle, airport = parse(PLAN.read_bytes(), PLAN)
    assert area.shapes == [
        RawPolygon(
            [(113.31, 23.11), (113.345, 23.11), (113.345, 23.15), (113.31, 23.15)],
            explicit_close=False,
        )
    ]
    assert tower_circle.shapes == [RawCircle(113.3245, 23.1066, 500.0)]
    assert airport.shapes == [RawCircle(113.299, 23.392, 8000.0)]
    # QGC fences carry no altitudes: the parser leaves the band to the defaults
    assert all(f.floor_m is None and f.ceiling_m is None for f in (area, tower))


def test_read_zone_file_gives_zones_in_lon_lat_order() -> None:
    zones = read_zone_file(PLAN)
    area, tower, tower_circle, airport = zones
    assert area.restriction is Restriction.OPERATING_AREA
    assert isinstance(area.geometry, Polygon)
    assert area.bounds == pytest.approx((113.31, 23.11, 113.345, 23.15))
    assert area.geometry.contains(Point(113.3270, 23.1375))  # Tianhe Sports Center
    assert tower.restriction is Restriction.PROHIBITED
    assert isinstance(tower.geometry, Polygon)
    assert tower.geometry.contains(Point(113.3245, 23.1066))  # Canton Tower
    assert tower_circle.geometry == Circle(lon_deg=113.3245, lat_deg=23.1066, radius_m=500.0)
    assert airport.geometry == Circle(lon_deg=113.299, lat_deg=23.392, radius_m=8000.0)
    assert [z.provenance.feature_index for z in zones] == [0, 1, 2, 3]
    assert {z.provenance.source_format for z in zones} == {"qgc"}


def test_the_file_decides_the_restriction_defaults_only_fill_the_band() -> None:
    defaults = ZoneDefaults(restriction="warning", ceiling_m=120.0, altitude_ref="amsl")
    zones = read_zone_file(PLAN, defaults=defaults)
    assert [z.restriction for z in zones] == [
        Restriction.OPERATING_AREA,
        Restriction.PROHIBITED,
        Restriction.PROHIBITED,
        Restriction.PROHIBITED,
    ]
    assert {z.band for z in zones} == {VerticalBand(0.0, AltitudeRef.AMSL, 120.0, AltitudeRef.AMSL)}


def test_detect_format_routes_plans() -> None:
    data = PLAN.read_bytes()
    assert detect_format(data, PLAN) == "qgc"
    assert detect_format(data, Path("fence.json")) == "qgc"  # by content


def test_swapped_lat_lon_is_reported_by_validation(tmp_path: Path) -> None:
    path = tmp_path / "swapped.plan"
    lonlat = [[lon, lat] for lat, lon in TIANHE_LATLON]  # written the GeoJSON way by mistake
    path.write_bytes(plan(polygons=[{"inclusion": True, "polygon": lonlat, "version": 1}]))
    with pytest.raises(ZoneValidationError, match="look swapped"):
        read_zone_file(path)


def test_polygon_with_two_points_is_reported_by_validation(tmp_path: Path) -> None:
    path = tmp_path / "two.plan"
    item = {"inclusion": False, "polygon": TIANHE_LATLON[:2], "version": 1}
    path.write_bytes(plan(polygons=[item]))
    with pytest.raises(ZoneValidationError, match="2 distinct points") as err:
        read_zone_file(path)
    assert err.value.where.feature_name == "QGC fence polygon 1"


def test_malformed_json_carries_its_line() -> None:
    data = plan(circles=[{"circle": {"center": [23.1, 113.3], "radius": 5}, "inclusion": False}])
    broken = data.replace(b'"radius": 5', b'"radius": 5,')
    with pytest.raises(FormatError, match="malformed JSON") as err:
        parse_bytes(broken)
    assert err.value.where.line == broken.decode()[: broken.index(b'"radius"')].count("\n") + 2


def test_bad_point_error_names_the_point_line() -> None:
    points = [*TIANHE_LATLON[:2], [23.15, 113.345, 30], TIANHE_LATLON[3]]
    data = plan(polygons=[{"inclusion": True, "polygon": points, "version": 1}])
    with pytest.raises(FormatError, match=r"polygon point 2 \[23\.15, 113\.345, 30\]") as err:
        parse_bytes(data)
    text = data.decode().splitlines()
    assert err.value.where.line is not None
    assert text[err.value.where.line - 1].strip() == "["
    assert text[err.value.where.line].strip() == "23.15,"
    assert text[err.value.where.line + 2].strip() == "30"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({"fileType": "Mission", "geoFence": {}}, "fileType 'Mission'"),
        ({"fileType": "Plan", "mission": {}}, "no geoFence"),
        ({"fileType": "Plan", "geoFence": []}, "geoFence is not an object"),
        ({"fileType": "Plan", "geoFence": {"version": 1, "polygon": []}}, "version 1"),
        ({"fileType": "Plan", "geoFence": {"version": 2, "polygons": {}}}, "'polygons' is not"),
        ({"fileType": "Plan", "geoFence": {"version": 2, "polygons": []}}, "no polygon or circle"),
    ],
)
def test_plan_structure_errors(doc: Any, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_bytes(json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ({"polygon": TIANHE_LATLON}, "'inclusion' must be true or false, not None"),
        ({"inclusion": "yes", "polygon": TIANHE_LATLON}, "not 'yes'"),
        ({"inclusion": True, "polygon": "23.1,113.3"}, "'polygon' must be a list"),
        ({"inclusion": True, "polygon": [[23.11, 113.31], [True, 113.3]]}, "polygon point 1"),
        ({"inclusion": True, "polygon": TIANHE_LATLON, "name": 7}, "name 7 is not a text"),
        ("polygon", "not an object"),
    ],
)
def test_polygon_item_errors(polygon: Any, message: str) -> None:
    with pytest.raises(FormatError, match=message) as err:
        parse_bytes(plan(polygons=[polygon]))
    assert err.value.where.feature_index == 0


@pytest.mark.parametrize(
    ("circle", "message"),
    [
        ({"inclusion": False, "circle": {"radius": 500}}, "circle centre None"),
        ({"inclusion": False, "circle": {"center": [23.1, 113.3]}}, "radius None"),
        ({"inclusion": False, "circle": [23.1, 113.3, 500]}, "'circle' must be an object"),
    ],
)
def test_circle_item_errors(circle: Any, message: str) -> None:
    polygon = {"inclusion": True, "polygon": TIANHE_LATLON, "version": 1}
    with pytest.raises(FormatError, match=message) as err:
        parse_bytes(plan(polygons=[polygon], circles=[circle]))
    assert err.value.where.feature_index == 1  # circles are numbered after the polygons
    assert err.value.where.feature_name == "QGC fence circle 1"


def test_non_utf8_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="not UTF-8"):
        parse_bytes(b'{"fileType": "Plan", "x": "\xff"}')
