"""Mission Planner fence files: the legacy lat/lon list and QGC WPL 110 fence items."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely.geometry import Point, Polygon

from uav.errors import FormatError, ZoneValidationError
from uav.formats import detect_format, read_zone_file
from uav.formats.mpfence import parse
from uav.zones.build import RawCircle, RawPolygon, ZoneFeature
from uav.zones.model import Circle, Restriction

DATA = Path(__file__).parent / "data" / "mpfence"
BAD = Path(__file__).parent / "bad"
LEGACY = DATA / "tianhe_legacy.fen"
LEGACY_COMMA = DATA / "tianhe_legacy_comma.txt"
WPL = DATA / "guangzhou_fence.waypoints"

TIANHE_LONLAT = [(113.31, 23.11), (113.345, 23.11), (113.345, 23.15), (113.31, 23.15)]
RETURN_POINT_LONLAT = (113.3275, 23.13)


def wpl_line(seq: int, command: int, p1: float, lat: float, lon: float) -> str:
    fields = [seq, 0, 0, command, f"{p1:.6f}", "0.000000", "0.000000", "0.000000"]
    return "\t".join(str(f) for f in [*fields, f"{lat:.6f}", f"{lon:.6f}", "0.000000", 1])


def wpl(*items: tuple[int, float, float, float]) -> bytes:
    rows = [wpl_line(k, *item) for k, item in enumerate(items)]
    return ("QGC WPL 110\n" + "\n".join(rows) + "\n").encode()


def tianhe_inclusion() -> list[tuple[int, float, float, float]]:
    return [(5001, 4, lat, lon) for lon, lat in TIANHE_LONLAT]


def parse_bytes(data: bytes, name: str = "fence.waypoints") -> list[ZoneFeature]:
    return parse(data, Path(name))


# ---------------------------------------------------------------- legacy list


def test_legacy_fence_drops_the_return_point_and_reads_lat_lon() -> None:
    (feature,) = parse(LEGACY.read_bytes(), LEGACY)
    assert feature.restriction == "operating-area"
    assert feature.line == 3  # line 1 is a comment, line 2 the return point
    (shape,) = feature.shapes
    assert isinstance(shape, RawPolygon) and not shape.explicit_close
    assert shape.exterior == [*TIANHE_LONLAT, TIANHE_LONLAT[0]]
    assert RETURN_POINT_LONLAT not in shape.exterior


def test_legacy_fence_loads_as_one_operating_area_in_lon_lat_order() -> None:
    (zone,) = read_zone_file(LEGACY)
    assert zone.restriction is Restriction.OPERATING_AREA
    assert isinstance(zone.geometry, Polygon)
    assert zone.bounds == pytest.approx((113.31, 23.11, 113.345, 23.15))
    assert zone.geometry.contains(Point(113.3270, 23.1375))  # Tianhe Sports Center
    assert zone.provenance.source_format == "mpfence"


def test_legacy_fence_with_commas_and_no_closing_point_gives_the_same_zone() -> None:
    (closed,) = read_zone_file(LEGACY)
    (open_,) = read_zone_file(LEGACY_COMMA)
    assert open_.geometry.equals(closed.geometry)
    (feature,) = parse(LEGACY_COMMA.read_bytes(), LEGACY_COMMA)
    assert feature.line == 4  # comment, blank line, return point


def test_legacy_return_point_outside_the_fence_is_refused() -> None:
    # a survey polygon without a return point: its first vertex would be lost silently
    text = "\n".join(f"{lat} {lon}" for lon, lat in [*TIANHE_LONLAT, TIANHE_LONLAT[0]])
    with pytest.raises(FormatError, match="not inside the fence polygon") as err:
        parse_bytes(("#saved by Mission Planner\n" + text).encode(), "tianhe.poly")
    assert err.value.where.line == 2


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("23.13 113.3275\n23.11 113.31\n23.11 113.345 12\n", 3, "expected 'lat lon'"),
        ("23.13 113.3275\n23.11 113.31\nN23.11 113.345\n", 3, "latitude 'N23.11'"),
        ("# fence\n23.13 113.3275\n23.11 E113.31\n", 3, "longitude 'E113.31'"),
        ("23.13 113.3275\n23.11 nan\n", 2, "not a finite number"),
        ("#saved by Mission Planner\n23.13 113.3275\n", 2, "has one point"),
    ],
)
def test_legacy_errors_carry_their_line(text: str, line: int, message: str) -> None:
    with pytest.raises(FormatError, match=message) as err:
        parse_bytes(text.encode(), "fence.fen")
    assert err.value.where.line == line


def test_legacy_fence_with_too_few_vertices_is_caught_by_validation(tmp_path: Path) -> None:
    path = tmp_path / "short.fen"
    path.write_text("23.13 113.3275\n23.11 113.31\n23.15 113.345\n")
    with pytest.raises(ZoneValidationError, match="a polygon needs at least 3"):
        read_zone_file(path)


# ---------------------------------------------------------------- QGC WPL 110


def test_wpl_fence_items_become_zones_with_their_first_line() -> None:
    features = parse(WPL.read_bytes(), WPL)
    assert [f.line for f in features] == [3, 7, 11, 14, 15, 16]
    assert [f.index for f in features] == [0, 1, 2, 3, 4, 5]
    assert [f.restriction for f in features] == [
        "operating-area",
        "prohibited",
        "prohibited",
        "prohibited",
        "prohibited",
        "operating-area",
    ]
    assert features[0].shapes == [RawPolygon(TIANHE_LONLAT, explicit_close=False)]
    triangle = features[2].shapes[0]
    assert isinstance(triangle, RawPolygon) and len(triangle.exterior) == 3
    assert features[3].shapes == [RawCircle(113.3245, 23.1066, 500.0)]
    assert features[5].shapes == [RawCircle(113.327, 23.1375, 3000.0)]


def test_wpl_fence_loads_in_lon_lat_order() -> None:
    zones = read_zone_file(WPL)
    area, tower, _, tower_circle, airport, sports_centre = zones
    assert area.restriction is Restriction.OPERATING_AREA
    assert area.bounds == pytest.approx((113.31, 23.11, 113.345, 23.15))
    assert tower.restriction is Restriction.PROHIBITED
    assert isinstance(tower.geometry, Polygon)
    assert tower.geometry.contains(Point(113.3245, 23.1066))  # Canton Tower
    assert tower_circle.geometry == Circle(lon_deg=113.3245, lat_deg=23.1066, radius_m=500.0)
    assert airport.geometry == Circle(lon_deg=113.299, lat_deg=23.392, radius_m=8000.0)
    assert sports_centre.restriction is Restriction.OPERATING_AREA
    assert [z.provenance.feature_index for z in zones] == list(range(6))


def test_back_to_back_polygons_of_one_kind_are_split_by_their_count() -> None:
    tower = [(5002, 4, 23.1036, 113.3215), (5002, 4, 23.1036, 113.3275)]
    tower += [(5002, 4, 23.1096, 113.3275), (5002, 4, 23.1096, 113.3215)]
    features = parse_bytes(wpl(*tianhe_inclusion(), *tower, *[(5002, 4, *p[2:]) for p in tower]))
    shapes = [f.shapes[0] for f in features]
    assert [len(s.exterior) for s in shapes if isinstance(s, RawPolygon)] == [4, 4, 4]
    assert [f.line for f in features] == [2, 6, 10]


def test_wpl_with_only_a_return_point_holds_no_zone() -> None:
    with pytest.raises(FormatError, match="no fence polygon or circle"):
        parse_bytes(wpl((5000, 0, 23.13, 113.3275)))


@pytest.mark.parametrize(
    ("items", "line", "message"),
    [
        (
            tianhe_inclusion()[:3],
            2,
            "declares 4 vertices \\(param1\\) but has 3 \\(the file ends\\)",
        ),
        (
            [*tianhe_inclusion()[:3], (5004, 500, 23.1066, 113.3245)],
            2,
            "declares 4 vertices \\(param1\\) but has 3 \\(line 5 does not continue it\\)",
        ),
        (
            [*tianhe_inclusion(), (5001, 4, 23.12, 113.32)],
            6,
            "declares 4 vertices \\(param1\\) but has 1",
        ),
        ([(5001, 2.5, 23.11, 113.31)], 2, "param1 2.5 is not a polygon vertex count"),
        ([(5001, 0, 23.11, 113.31)], 2, "param1 0 is not a polygon vertex count"),
        ([(5000, 0, 23.13, 113.3), (22, 0, 23.13, 113.3)], 3, "command 22 \\(NAV_TAKEOFF\\)"),
        ([(5005, 0, 23.13, 113.3)], 2, "command 5005 \\(not a fence command\\)"),
    ],
)
def test_wpl_item_errors_carry_their_line(
    items: list[tuple[int, float, float, float]], line: int, message: str
) -> None:
    with pytest.raises(FormatError, match=message) as err:
        parse_bytes(wpl(*items))
    assert err.value.where.line == line


def test_wpl_column_errors() -> None:
    good = wpl(*tianhe_inclusion()).decode().splitlines()
    for k, (bad_field, message) in enumerate(
        [("4.0", "command '4.0' is not an integer"), ("x", "param1 'x' is not a number")]
    ):
        lines = list(good)
        fields = lines[2].split("\t")
        fields[3 + k] = bad_field
        lines[2] = "\t".join(fields)
        with pytest.raises(FormatError, match=message) as err:
            parse_bytes("\n".join(lines).encode())
        assert err.value.where.line == 3
    lines = list(good)
    lines[4] += "\t0"
    with pytest.raises(FormatError, match="13 columns; a QGC WPL item has 12") as err:
        parse_bytes("\n".join(lines).encode())
    assert err.value.where.line == 5


def test_wpl_header_problems() -> None:
    body = wpl(*tianhe_inclusion()).decode().split("\n", 1)[1]
    with pytest.raises(FormatError, match="missing the 'QGC WPL 110' header") as err:
        parse_bytes(body.encode())
    assert err.value.where.line == 1
    with pytest.raises(FormatError, match="unsupported header 'QGC WPL 120'"):
        parse_bytes(("QGC WPL 120\n" + body).encode())


def test_empty_and_non_utf8_files() -> None:
    with pytest.raises(FormatError, match="empty file"):
        parse_bytes(b"# nothing here\n\n")
    with pytest.raises(FormatError, match="not UTF-8"):
        parse_bytes(b"23.13\xb0 113.3275\n")


# ---------------------------------------------------------------- detection


def test_detect_format_sends_fence_files_to_mpfence() -> None:
    legacy, fence = LEGACY.read_bytes(), WPL.read_bytes()
    for name in ("f.fen", "f.fence", "f.poly", "f.txt"):
        assert detect_format(legacy, Path(name)) == "mpfence"
    assert detect_format(LEGACY_COMMA.read_bytes(), LEGACY_COMMA) == "mpfence"
    assert detect_format(fence, WPL) == "mpfence"
    assert detect_format(fence, Path("fence.txt")) == "mpfence"  # by its QGC WPL header
    assert detect_format(fence, Path("fence")) == "mpfence"
