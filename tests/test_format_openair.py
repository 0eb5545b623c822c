"""OpenAir parser: records, coordinates, altitudes, arcs, errors, and the validated zones."""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path

import pytest
from pyproj import Geod
from shapely.geometry import Point, Polygon

from uav.errors import FormatError, InputError, Location, ZoneValidationError
from uav.formats import detect_format, openair, read_zone_file
from uav.geo.local import LocalFrame
from uav.zones.build import RawCircle, RawPolygon, ZoneDefaults, ZoneFeature
from uav.zones.model import AltitudeRef, Circle, Restriction, Zone

DATA = Path(__file__).parent / "data" / "openair"
BAD = Path(__file__).parent / "bad"
GUANGZHOU = DATA / "guangzhou.txt"
GEOD = Geod(ellps="WGS84")
FT = 0.3048
NM = 1852.0


def dms(d: float, m: float, s: float = 0.0) -> float:
    return d + m / 60.0 + s / 3600.0


# The centres and corners as written in guangzhou.txt, in (lon, lat).
BAIYUN_X = (dms(113, 17, 56), dms(23, 23, 31))
TOWER_X = (dms(113, 19, 28), dms(23, 6, 24))
TOWER_NW = (dms(113, 19, 8), dms(23, 6, 43))
TOWER_NE = (dms(113, 19, 48), dms(23, 6, 43))
HAIXINSHA_X = (113.3240, 23.1150)
HAIXINSHA_E = (113.3269, 23.1150)
HAIXINSHA_W = (113.3211, 23.1150)


def line_of(path: Path, text: str) -> int:
    """1-based line number of the first line equal to ``text`` (stripped)."""
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if line.strip() == text:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def parse_file(path: Path) -> list[ZoneFeature]:
    return openair.parse(path.read_bytes(), path)


def parse_text(tmp_path: Path, text: str, name: str = "zones.txt") -> list[ZoneFeature]:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return parse_file(path)


def parse_error(tmp_path: Path, text: str, name: str = "zones.txt") -> FormatError:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    with pytest.raises(FormatError) as info:
        parse_file(path)
    assert str(path) in str(info.value)
    return info.value


def offset(origin: tuple[float, float], bearing_deg: float, dist_m: float) -> Point:
    lon, lat, _ = GEOD.fwd(origin[0], origin[1], bearing_deg, dist_m)
    return Point(lon, lat)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def bearing_deg(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[0]) % 360.0


def flat(points: list[tuple[float, float]]) -> list[float]:
    return [v for p in points for v in p]


def polygon_of(feature: ZoneFeature) -> RawPolygon:
    (shape,) = feature.shapes
    assert isinstance(shape, RawPolygon)
    return shape


def polygon(zone: Zone) -> Polygon:
    assert isinstance(zone.geometry, Polygon)
    return zone.geometry


def zone_named(zones: list[Zone], name: str) -> Zone:
    (zone,) = [z for z in zones if z.name == name]
    return zone


# --- features as parsed -----------------------------------------------------------------------


def test_features_follow_ac_records_with_names_classes_and_lines() -> None:
    feats = parse_file(GUANGZHOU)
    assert [f.index for f in feats] == [0, 1, 2, 3, 4]
    assert [f.line for f in feats] == [
        line_of(GUANGZHOU, f"AC {c}") for c in ("P", "R", "Q", "C", "GP")
    ]
    assert [f.name for f in feats] == [
        "ZGGG Baiyun Airport No-Fly",
        "Canton Tower Restricted",
        "Tianhe Sports Center Events",
        "Guangzhou TMA Sector East",
        "Haixinsha Island Event",
    ]
    # P, R, Q, C (no mapping), GP
    assert [f.restriction for f in feats] == [
        "prohibited",
        "authorization",
        "warning",
        None,
        "prohibited",
    ]


def test_altitudes_as_parsed() -> None:
    baiyun, tower, tianhe, tma, haixinsha = parse_file(GUANGZHOU)
    # SFC / UNL
    assert (baiyun.floor_m, baiyun.floor_ref) == (0.0, "agl")
    assert baiyun.ceiling_unlimited and baiyun.ceiling_m is None
    # GND / 1500 ft AGL
    assert (tower.floor_m, tower.floor_ref) == (0.0, "agl")
    assert tower.ceiling_m == pytest.approx(1500 * FT) and tower.ceiling_ref == "agl"
    assert not tower.ceiling_unlimited
    # 0 / 150 M AGL
    assert (tianhe.floor_m, tianhe.floor_ref) == (0.0, "agl")
    assert (tianhe.ceiling_m, tianhe.ceiling_ref) == (150.0, "agl")
    # 2500ft MSL / FL95 (pressure altitude stored as AMSL)
    assert tma.floor_m == pytest.approx(2500 * FT) and tma.floor_ref == "amsl"
    assert tma.ceiling_m == pytest.approx(9500 * FT) and tma.ceiling_ref == "amsl"
    # 1000 AMSL, no unit: feet
    assert haixinsha.ceiling_m == pytest.approx(1000 * FT) and haixinsha.ceiling_ref == "amsl"


def test_dc_without_points_is_a_circle_in_metres() -> None:
    baiyun = parse_file(GUANGZHOU)[0]
    (shape,) = baiyun.shapes
    assert isinstance(shape, RawCircle)
    assert (shape.x, shape.y) == pytest.approx(BAIYUN_X, abs=1e-9)
    assert shape.radius_m == pytest.approx(5 * NM)


def test_polygons_close_implicitly_and_use_every_coordinate_style() -> None:
    _, _, tianhe, tma, _ = parse_file(GUANGZHOU)
    ring = polygon_of(tianhe)
    assert not ring.explicit_close
    # DD:MM.mmm
    assert flat(ring.exterior) == pytest.approx(
        flat(
            [
                (dms(113, 19.380), dms(23, 8.010)),
                (dms(113, 19.860), dms(23, 8.010)),
                (dms(113, 19.860), dms(23, 8.490)),
                (dms(113, 19.380), dms(23, 8.490)),
            ]
        )
    )
    # decimal degrees
    assert flat(polygon_of(tma).exterior) == pytest.approx(
        flat([(113.25, 23.05), (113.45, 23.05), (113.45, 23.2), (113.25, 23.2)])
    )


# --- arcs -------------------------------------------------------------------------------------


def test_da_arc_points_lie_on_the_radius_and_sweep_clockwise() -> None:
    tower = parse_file(GUANGZHOU)[1]
    points = polygon_of(tower).exterior
    assert flat(points[:2]) == pytest.approx(flat([TOWER_NW, TOWER_NE]))
    arc = points[2:]
    radius_m = 0.3 * NM
    for p in arc:
        assert distance_m(TOWER_X, p) == pytest.approx(radius_m, abs=1.0)
    bearings = [bearing_deg(TOWER_X, p) for p in arc]
    assert bearings[0] == pytest.approx(90.0, abs=1e-6)  # exact end points
    assert bearings[-1] == pytest.approx(270.0, abs=1e-6)
    steps = [b - a for a, b in itertools.pairwise(bearings)]
    assert all(0 < s <= 5.0 + 1e-6 for s in steps)  # clockwise, at most 5 degrees apart
    assert len(arc) >= math.ceil(180 / 5) + 1


def test_anticlockwise_da_goes_the_other_way(tmp_path: Path) -> None:
    (feat,) = parse_text(
        tmp_path,
        "AC R\nAN Sector\nV D=-\nV X=23:06:24 N 113:19:28 E\nDA 1, 0, 90\n",
    )
    arc = polygon_of(feat).exterior
    for p in arc:
        assert distance_m(TOWER_X, p) == pytest.approx(NM, abs=1.0)
    bearings = [bearing_deg(TOWER_X, p) for p in arc]
    assert bearings[0] == pytest.approx(0.0, abs=1e-6) or bearings[0] == pytest.approx(360.0)
    assert bearings[-1] == pytest.approx(90.0, abs=1e-6)
    # 0 -> 270 -> 180 -> 90: passes west and south, never north-east
    assert any(abs(b - 270.0) < 3 for b in bearings)
    assert any(abs(b - 180.0) < 3 for b in bearings)
    assert not any(10 < b < 80 for b in bearings)


def test_db_arc_keeps_its_end_points_and_sweeps_anticlockwise() -> None:
    haixinsha = parse_file(GUANGZHOU)[4]
    points = polygon_of(haixinsha).exterior
    assert points[0] == HAIXINSHA_E and points[-1] == HAIXINSHA_W  # exactly as written
    r_east = distance_m(HAIXINSHA_X, HAIXINSHA_E)
    r_west = distance_m(HAIXINSHA_X, HAIXINSHA_W)
    for p in points[1:-1]:
        r = distance_m(HAIXINSHA_X, p)
        assert min(r_east, r_west) - 1.0 <= r <= max(r_east, r_west) + 1.0
        assert p[1] > HAIXINSHA_X[1]  # V D=- from east to west goes through north
    bearings = [bearing_deg(HAIXINSHA_X, p) for p in points]
    steps = [(a - b) % 360.0 for a, b in itertools.pairwise(bearings)]  # anticlockwise
    assert all(0 < step <= 5.0 + 1e-6 for step in steps)
    assert sum(steps) == pytest.approx(180.0, abs=0.01)


def test_arc_centre_does_not_carry_over_to_the_next_zone(tmp_path: Path) -> None:
    text = "AC P\nAN One\nV X=23:06:24 N 113:19:28 E\nDC 1\nAC P\nAN Two\nDC 1\n"
    err = parse_error(tmp_path, text)
    assert err.where.line == 7 and err.where.feature_index == 1
    assert "DC record before any V X= centre" in str(err)


# --- validated zones --------------------------------------------------------------------------


def test_read_zone_file_needs_a_restriction_for_unmapped_classes() -> None:
    with pytest.raises(ZoneValidationError) as info:
        read_zone_file(GUANGZHOU)
    msg = str(info.value)
    assert f"line {line_of(GUANGZHOU, 'AC C')}" in msg
    assert "'Guangzhou TMA Sector East'" in msg and "no restriction" in msg


def test_read_zone_file_builds_the_guangzhou_zones() -> None:
    zones = read_zone_file(GUANGZHOU, fmt="openair", defaults=ZoneDefaults(restriction="warning"))
    assert len(zones) == 5
    assert all(z.provenance.source_format == "openair" for z in zones)

    baiyun = zone_named(zones, "ZGGG Baiyun Airport No-Fly")
    assert baiyun.restriction is Restriction.PROHIBITED
    assert isinstance(baiyun.geometry, Circle)
    assert baiyun.geometry.radius_m == pytest.approx(9260.0)
    assert baiyun.band.is_ground_to_unlimited
    # the airport reference point (23.392 N 113.299 E) lies well inside
    centre = (baiyun.geometry.lon_deg, baiyun.geometry.lat_deg)
    assert distance_m(centre, (113.299, 23.392)) < 100.0

    tower = zone_named(zones, "Canton Tower Restricted")
    assert tower.restriction is Restriction.AUTHORIZATION
    assert tower.band.ceiling_m == pytest.approx(457.2)
    assert tower.band.ceiling_ref is AltitudeRef.AGL
    poly = polygon(tower)
    assert poly.contains(Point(113.3245, 23.1066))  # the tower
    assert poly.contains(offset(TOWER_X, 180.0, 500.0))  # inside the southern arc
    assert not poly.contains(offset(TOWER_X, 180.0, 600.0))  # beyond the arc
    assert not poly.contains(Point(113.3240, 23.1150))  # Haixinsha, north of the edge

    tma = zone_named(zones, "Guangzhou TMA Sector East")
    assert tma.restriction is Restriction.WARNING  # from the command line
    assert tma.band.floor_ref is AltitudeRef.AMSL
    assert tma.band.floor_m == pytest.approx(762.0)
    assert tma.band.ceiling_m == pytest.approx(2895.6)

    tianhe = zone_named(zones, "Tianhe Sports Center Events")
    assert tianhe.restriction is Restriction.WARNING
    assert polygon(tianhe).contains(Point(113.3270, 23.1375))

    haixinsha = zone_named(zones, "Haixinsha Island Event")
    assert haixinsha.restriction is Restriction.PROHIBITED
    assert polygon(haixinsha).contains(offset(HAIXINSHA_X, 0.0, 150.0))
    assert not polygon(haixinsha).contains(offset(HAIXINSHA_X, 180.0, 150.0))


def test_canton_tower_area_matches_half_disc_plus_trapezoid() -> None:
    zones = read_zone_file(GUANGZHOU, defaults=ZoneDefaults(restriction="warning"))
    tower = zone_named(zones, "Canton Tower Restricted")
    frame = LocalFrame(*TOWER_X)
    area_m2 = frame.project(tower.geometry).area
    r = 0.3 * NM
    (nw_x, ne_x), (nw_y, ne_y) = frame.to_xy([TOWER_NW[0], TOWER_NE[0]], [TOWER_NW[1], TOWER_NE[1]])
    trapezoid = Polygon([(-r, 0.0), (r, 0.0), (ne_x, ne_y), (nw_x, nw_y)])
    expected = trapezoid.area + math.pi * r * r / 2.0
    assert area_m2 == pytest.approx(expected, rel=0.005)


def test_self_intersecting_polygon_is_refused_by_build_zones(tmp_path: Path) -> None:
    path = tmp_path / "bowtie.txt"
    path.write_text(
        "AC P\nAN Bowtie\nDP 23:06:50 N 113:19:20 E\nDP 23:06:50 N 113:19:40 E\n"
        "DP 23:07:00 N 113:19:20 E\nDP 23:07:00 N 113:19:40 E\n",
        "utf-8",
    )
    assert len(openair.parse(path.read_bytes(), path)) == 1  # the parser does not judge it
    with pytest.raises(ZoneValidationError, match="self-intersecting") as info:
        read_zone_file(path)
    assert "line 1, feature 0 ('Bowtie')" in str(info.value)


# --- coordinates and altitudes ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lon", "lat"),
    [
        ("23:06:24 N 113:19:28 E", dms(113, 19, 28), dms(23, 6, 24)),
        ("23:06:24N 113:19:28E", dms(113, 19, 28), dms(23, 6, 24)),
        ("023:06:24.5 n 113:19:28.25 e", dms(113, 19, 28.25), dms(23, 6, 24.5)),
        ("23:06.4N 113:19.47E", dms(113, 19.47), dms(23, 6.4)),
        ("23.1066 N 113.3245 E", 113.3245, 23.1066),
        ("23:06:24 N, 113:19:28 E", dms(113, 19, 28), dms(23, 6, 24)),
        ("33:52:00 S 151:12:30 E", dms(151, 12, 30), -dms(33, 52)),
        ("51:28:40 N 000:27:41 W", -dms(0, 27, 41), dms(51, 28, 40)),
    ],
)
def test_coordinate_styles(text: str, lon: float, lat: float) -> None:
    assert openair.parse_coordinate(text, Location()) == pytest.approx((lon, lat), abs=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "23:66:24 N 113:19:28 E",  # minutes >= 60
        "23:06:61 N 113:19:28 E",  # seconds >= 60
        "23.5:06 N 113:19:28 E",  # decimals before the last part
        "23:06:24 113:19:28",  # no hemispheres
        "113:19:28 E 23:06:24 N",  # swapped order
        "23:06:24 N",  # latitude only
        "",
    ],
)
def test_unreadable_coordinates(text: str) -> None:
    with pytest.raises(FormatError, match="cannot read coordinate"):
        openair.parse_coordinate(text, Location())


@pytest.mark.parametrize(
    ("text", "alt_m", "ref"),
    [
        ("SFC", 0.0, "agl"),
        ("GND", 0.0, "agl"),
        ("0", 0.0, "agl"),
        ("0ft", 0.0, "agl"),
        ("FL95", 9500 * FT, "amsl"),
        ("FL 65", 6500 * FT, "amsl"),
        ("fl095", 9500 * FT, "amsl"),
        ("2500ft MSL", 2500 * FT, "amsl"),
        ("2500 FT AMSL", 2500 * FT, "amsl"),
        ("2500", 2500 * FT, "amsl"),
        ("1500 ft AGL", 1500 * FT, "agl"),
        ("1500ft GND", 1500 * FT, "agl"),
        ("1500 ft SFC", 1500 * FT, "agl"),
        ("500m", 500.0, "amsl"),
        ("500 M AGL", 500.0, "agl"),
        ("120 m agl", 120.0, "agl"),
        ("1000 AMSL", 1000 * FT, "amsl"),
        ("6500ft STD", 6500 * FT, "amsl"),
    ],
)
def test_altitudes(text: str, alt_m: float, ref: str) -> None:
    alt = openair.parse_altitude(text, Location())
    assert alt.alt_m == pytest.approx(alt_m)
    assert alt.ref == ref
    assert not alt.unlimited


@pytest.mark.parametrize("text", ["UNL", "UNLIM", "unlimited"])
def test_unlimited(text: str) -> None:
    alt = openair.parse_altitude(text, Location())
    assert alt.unlimited and alt.alt_m is None


@pytest.mark.parametrize("text", ["1500 fathoms", "FL", "high", "1500 ft QNH", "-", "ft 1500"])
def test_unknown_altitudes(text: str) -> None:
    with pytest.raises(FormatError, match="unknown altitude"):
        openair.parse_altitude(text, Location())


@pytest.mark.parametrize(
    ("cls", "restriction"),
    [
        ("P", "prohibited"),
        ("GP", "prohibited"),
        ("R", "authorization"),
        ("CTR", "authorization"),
        ("Q", "warning"),
        ("ctr", "authorization"),
        ("D", None),
        ("TMZ", None),
        ("W", None),
    ],
)
def test_class_mapping(tmp_path: Path, cls: str, restriction: str | None) -> None:
    (feat,) = parse_text(tmp_path, f"AC {cls}\nV X=23:06:24 N 113:19:28 E\nDC 1\n")
    assert feat.restriction == restriction


# --- text handling ----------------------------------------------------------------------------


def test_bom_crlf_and_latin1_names(tmp_path: Path) -> None:
    text = (
        "* caf\xe9 zones\r\nAC R\r\nAN Caf\xe9 du Parc\r\nAL SFC\r\n"
        "AH 400ft AGL\r\n\r\nAC Q\r\nAN Stadium * not a comment in a name\r\n"
        "V X=23:08:15 N 113:19:37 E * centre\r\nDC 0.3\r\n"
        "AC P\r\nAN Bad\r\nAL 1500 leagues\r\n"
    )
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("latin-1"))  # BOM, then latin-1 bytes
    # the first zone has no geometry, so read the error's line first, then a good copy
    with pytest.raises(FormatError) as info:
        parse_file(path)
    assert info.value.where.line == 2  # the AC line of the zone with no geometry, CRLF counted
    assert info.value.where.feature_name == "Café du Parc"

    good = tmp_path / "latin1-good.txt"
    fixed = text.replace(
        "AH 400ft AGL\r\n", "AH 400ft AGL\r\nV X=23:06:24 N 113:19:28 E\r\nDC 1\r\n"
    )
    good.write_bytes(fixed.encode("latin-1"))
    with pytest.raises(FormatError) as info2:
        parse_file(good)
    assert info2.value.where.line == 15 and "unknown altitude '1500 leagues'" in str(info2.value)

    utf8 = tmp_path / "utf8.txt"
    utf8.write_bytes(b"\xef\xbb\xbf" + fixed.split("AC P")[0].encode("utf-8"))
    cafe, stadium = parse_file(utf8)
    assert cafe.name == "Café du Parc" and cafe.line == 2
    assert stadium.name == "Stadium * not a comment in a name"
    assert stadium.shapes == [RawCircle(dms(113, 19, 37), dms(23, 8, 15), 0.3 * NM)]


def test_style_and_metadata_records_are_ignored(tmp_path: Path) -> None:
    text = (
        "SP 0,1,0,0,255\nSB -1,-1,-1\n"
        "AC R\nAY RESTRICTED\nAN Tower\nAF 123.450\nAG Tower Control\nAX 7000\n"
        "AA 2026-10-01T00:00Z/2026-10-08T00:00Z\nAT 23:06:24 N 113:19:28 E\n"
        "V Z=10\nV X=23:06:24 N 113:19:28 E\nDC 0.5\n"
    )
    (feat,) = parse_text(tmp_path, text)
    assert feat.name == "Tower" and feat.line == 3
    assert feat.shapes == [RawCircle(TOWER_X[0], TOWER_X[1], 0.5 * NM)]


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "index", "needle"),
    [
        ("AC R\nAN A\nDP 23:66:00 N 113:19:28 E\n", 3, 0, "cannot read coordinate"),
        ("AC R\nAN A\nAL 1500 parsecs\n", 3, 0, "unknown altitude '1500 parsecs'"),
        ("AC R\nAN A\nAL UNL\n", 3, 0, "floor 'UNL' cannot be unlimited"),
        ("AC R\nAN A\nDA 1, 0, 90\n", 3, 0, "DA record before any V X= centre"),
        ("AC R\nAN A\nDB 23:06:24 N 113:19:28 E, 23:06:00 N 113:19:28 E\n", 3, 0, "DB record"),
        ("AC R\nAN A\nDC 2\n", 3, 0, "DC record before any V X= centre"),
        ("* x\nAN A\nAC R\n", 2, None, "AN record before the first AC record"),
        ("AL SFC\n", 1, None, "AL record before the first AC record"),
        ("AC R\nAN A\nAL SFC\nAC Q\nAN B\nDP 23:06:24 N 113:19:28 E\n", 1, 0, "no geometry"),
        ("AC R\nAN A\nDY 23:06:24 N 113:19:28 E\n", 3, 0, "unknown OpenAir record 'DY'"),
        ("AC R\nAN A\nTO Terrain\n", 3, 0, "unknown OpenAir record 'TO'"),
        ("AC R\nAN A\nV Q=1\n", 3, 0, "unknown OpenAir variable"),
        ("AC R\nAN A\nV D=x\n", 3, 0, "arc direction"),
        ("AC\nAN A\n", 1, 0, "AC record without an airspace class"),
        ("AC R\nAN A\nAN B\n", 3, 0, "a second AN record"),
        ("AC R\nAN A\nV X=23:06:24 N 113:19:28 E\nDA 0, 0, 90\n", 4, 0, "must be a number > 0"),
        ("AC R\nAN A\nV X=23:06:24 N 113:19:28 E\nDA 1, 0\n", 4, 0, "cannot read DA record"),
        ("AC R\nAN A\nV X=23:06:24 N 113:19:28 E\nDA 1, 90, 90\n", 4, 0, "use DC"),
        ("AC R\nAN A\nV X=23:06:24 N 113:19:28 E\nDC one\n", 4, 0, "cannot read DC radius"),
        (
            "AC R\nAN A\nV X=23:06:24 N 113:19:28 E\nDC 1\nDC 2\n",
            5,
            0,
            "a second DC circle",
        ),
        (
            "AC R\nAN A\nV X=23:06:24 N 113:19:28 E\nDC 1\nDP 23:06:00 N 113:19:28 E\n",
            5,
            0,
            "either a DC circle or DP/DA/DB points",
        ),
    ],
)
def test_errors_name_file_line_and_zone(
    tmp_path: Path, text: str, line: int, index: int | None, needle: str
) -> None:
    err = parse_error(tmp_path, text)
    assert err.where.line == line
    assert err.where.feature_index == index
    assert f"line {line}" in str(err)
    assert needle in str(err)
    if index == 0 and line > 2:
        assert "('A')" in str(err)


def test_empty_or_comment_only_file_is_refused(tmp_path: Path) -> None:
    err = parse_error(tmp_path, "* nothing here\n\n")
    assert "no AC record" in str(err)


# --- detection and the bad-input corpus -------------------------------------------------------


def test_detect_format_picks_openair(tmp_path: Path) -> None:
    assert detect_format(GUANGZHOU.read_bytes(), GUANGZHOU) == "openair"
    air = tmp_path / "guangzhou.air"
    shutil.copy(GUANGZHOU, air)
    assert detect_format(air.read_bytes(), air) == "openair"
    # a real-world-shaped export: BOM, CRLF, header comments, blank lines, tab after AC
    export = tmp_path / "export.txt"
    body = GUANGZHOU.read_text("utf-8").replace("AC P\n", "AC\tP\n", 1).replace("\n", "\r\n")
    export.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))
    assert detect_format(export.read_bytes(), export) == "openair"
    assert len(read_zone_file(export, defaults=ZoneDefaults(restriction="warning"))) == 5


def expect_file(path: Path) -> Path:
    """The sidecar holding a substring the error message must contain."""
    return path.with_name(path.name + ".expect")


BAD_FILES = sorted(BAD.glob("openair-*.txt"))


def test_bad_corpus_is_present() -> None:
    names = {p.stem for p in BAD_FILES}
    assert {
        "openair-bad-coordinate",
        "openair-unknown-altitude",
        "openair-da-without-centre",
        "openair-self-intersecting",
    } <= names
    for p in BAD_FILES:
        assert expect_file(p).is_file(), p


@pytest.mark.parametrize("path", BAD_FILES, ids=lambda p: p.stem)
def test_bad_corpus_messages(path: Path) -> None:
    expect = expect_file(path).read_text("utf-8").strip()
    assert expect and "\n" not in expect
    assert detect_format(path.read_bytes(), path) == "openair"
    with pytest.raises(InputError) as info:
        read_zone_file(path)
    assert expect in str(info.value)
    assert str(path) in str(info.value)
