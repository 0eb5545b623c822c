"""KML / KMZ zones: parsing, validation through read_zone_file, errors, and the dump round trip."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path

import fastkml
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon

from uav.errors import FormatError, ZoneValidationError
from uav.formats import detect_format, read_zone_file
from uav.formats.kml import dump, parse
from uav.zones.build import RawCircle, RawPolygon, ZoneDefaults, ZoneFeature
from uav.zones.model import (
    AltitudeRef,
    Circle,
    DailyWindow,
    Restriction,
    Schedule,
    VerticalBand,
    Zone,
)

DATA = Path(__file__).parent / "data" / "kml"
BAD = Path(__file__).parent / "bad"
ZONES_KML = DATA / "guangzhou_zones.kml"
CST = timezone(timedelta(hours=8))


def line_of(path: Path, needle: str) -> int:
    """1-based line of the first line of ``path`` containing ``needle``."""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def kml_doc(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2">\n'
        f"<Document>\n{body}\n</Document>\n</kml>\n"
    ).encode()


def placemark(name: str, geometry: str, data: dict[str, str] | None = None) -> str:
    items = "".join(
        f'<Data name="{k}"><value>{v}</value></Data>'
        for k, v in (data or {"restriction": "prohibited"}).items()
    )
    extended = f"<ExtendedData>{items}</ExtendedData>"
    return f"<Placemark><name>{name}</name>{extended}{geometry}</Placemark>"


TOWER_SQUARE = (
    "<Polygon><outerBoundaryIs><LinearRing><coordinates>"
    "113.3215,23.1036 113.3275,23.1036 113.3275,23.1096 113.3215,23.1096 113.3215,23.1036"
    "</coordinates></LinearRing></outerBoundaryIs></Polygon>"
)
TOWER_POINT = "<Point><coordinates>113.3245,23.1066</coordinates></Point>"


def parse_bytes(data: bytes, name: str = "zones.kml") -> list[ZoneFeature]:
    return parse(data, Path(name))


# ---------------------------------------------------------------- the Guangzhou file


def test_parse_keeps_document_order_skips_routes_and_maps_placemark_lines() -> None:
    features = parse(ZONES_KML.read_bytes(), ZONES_KML)
    assert [f.name for f in features] == [
        "Tianhe patrol area",
        "Canton Tower",
        "Canton Tower 500 m",
        "Baiyun International Airport",
        "Pearl River light show",
    ]  # the "Evening patrol route" LineString is not a zone and takes no index
    assert [f.index for f in features] == [0, 1, 2, 3, 4]
    ids = ["tianhe-area", "canton-tower", "canton-tower-circle", "baiyun-airport", "river-event"]
    assert [f.line for f in features] == [line_of(ZONES_KML, f'id="{i}"') for i in ids]


def test_parse_reads_extended_data_schema_data_and_fallbacks() -> None:
    area, tower, tower_circle, airport, event = parse(ZONES_KML.read_bytes(), ZONES_KML)
    assert area.restriction == "operating-area"
    assert area.ceiling_m == 120.0 and area.floor_ref == "agl" and area.ceiling_ref == "agl"
    assert area.authority == "Guangzhou PSB Tianhe Branch"
    # no ExtendedData message: the description is the message
    assert tower.message == "No drones near the tower: call the tower security desk."
    assert tower.reason == "landmark and broadcast mast"
    # SchemaData/SimpleData, "UNL" ceiling
    assert tower_circle.restriction == "prohibited"
    assert tower_circle.ceiling_unlimited and tower_circle.ceiling_m is None
    assert tower_circle.shapes == [RawCircle(113.3245, 23.1066, 500.0)]
    assert airport.shapes == [RawCircle(113.299, 23.392, 8000.0)]
    assert event.daily == ["Mon-Fri 19:00-22:30", "Sat,Sun 18:30-23:00"]
    assert event.start == datetime(2026, 10, 1, tzinfo=CST)  # from the TimeSpan
    assert event.end == datetime(2026, 10, 8, tzinfo=CST)
    assert event.floor_ref == "agl" and event.ceiling_ref == "amsl"
    assert len(event.shapes) == 2


def test_parse_polygon_rings_are_lon_lat_without_altitude() -> None:
    area, tower, *_ = parse(ZONES_KML.read_bytes(), ZONES_KML)
    (ring,) = area.shapes
    assert isinstance(ring, RawPolygon) and ring.explicit_close
    assert ring.exterior[0] == (113.31, 23.11)  # the file wrote 113.3100,23.1100,0
    assert ring.exterior[0] == ring.exterior[-1]
    (shape,) = tower.shapes
    assert isinstance(shape, RawPolygon)
    assert shape.holes == [
        [(113.324, 23.106), (113.325, 23.106), (113.325, 23.107), (113.324, 23.107),
         (113.324, 23.106)]
    ]  # fmt: skip


def test_read_zone_file_gives_validated_zones_in_lon_lat_order() -> None:
    zones = read_zone_file(ZONES_KML)
    by_name = {z.name: z for z in zones}
    area = by_name["Tianhe patrol area"]
    assert area.restriction is Restriction.OPERATING_AREA
    assert isinstance(area.geometry, Polygon)
    assert area.bounds == pytest.approx((113.31, 23.11, 113.345, 23.15))
    assert area.geometry.contains(Point(113.3270, 23.1375))  # Tianhe Sports Center (lon, lat)
    assert area.band == VerticalBand(0.0, AltitudeRef.AGL, 120.0, AltitudeRef.AGL)
    assert area.provenance.source_format == "kml" and area.provenance.feature_index == 0

    tower = by_name["Canton Tower"].geometry
    assert isinstance(tower, Polygon) and len(tower.interiors) == 1
    assert not tower.contains(Point(113.3245, 23.1066))  # the tower itself sits in the hole
    assert tower.contains(Point(113.3220, 23.1040))

    circle = by_name["Canton Tower 500 m"].geometry
    assert circle == Circle(lon_deg=113.3245, lat_deg=23.1066, radius_m=500.0)
    assert by_name["Canton Tower 500 m"].band.ceiling_m is None
    airport = by_name["Baiyun International Airport"]
    assert airport.geometry == Circle(lon_deg=113.299, lat_deg=23.392, radius_m=8000.0)

    event = by_name["Pearl River light show"]
    assert isinstance(event.geometry, MultiPolygon) and len(event.geometry.geoms) == 2
    assert event.restriction is Restriction.AUTHORIZATION
    assert event.band == VerticalBand(30.0, AltitudeRef.AGL, 300.0, AltitudeRef.AMSL)
    assert event.schedule.timezone == "Asia/Shanghai"
    assert event.schedule.daily == (
        DailyWindow(time(19, 0), time(22, 30), frozenset({1, 2, 3, 4, 5})),
        DailyWindow(time(18, 30), time(23, 0), frozenset({6, 7})),
    )
    # 2026-10-03 is a Saturday: 20:00 Beijing time is inside the weekend window
    assert event.schedule.is_active(datetime(2026, 10, 3, 20, 0, tzinfo=CST).timestamp())
    assert not event.schedule.is_active(datetime(2026, 10, 9, 20, 0, tzinfo=CST).timestamp())


def test_command_line_defaults_fill_but_do_not_override() -> None:
    defaults = ZoneDefaults(restriction="warning", ceiling_m=60.0)
    by_name = {z.name: z for z in read_zone_file(ZONES_KML, defaults=defaults)}
    assert by_name["Tianhe patrol area"].band.ceiling_m == 120.0  # the file said 120
    assert by_name["Canton Tower 500 m"].band.ceiling_m is None  # the file said UNL
    assert by_name["Canton Tower"].band.ceiling_m == 60.0  # the file said nothing
    assert by_name["Canton Tower"].restriction is Restriction.PROHIBITED


def test_detect_format_routes_kml_and_kmz() -> None:
    data = ZONES_KML.read_bytes()
    assert detect_format(data, ZONES_KML) == "kml"
    assert detect_format(data, Path("zones.xml")) == "kml"
    assert detect_format(b"PK\x03\x04rest", Path("download")) == "kml"


# ---------------------------------------------------------------- KMZ


def write_kmz(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return path


def test_kmz_reads_doc_kml(tmp_path: Path) -> None:
    kmz = write_kmz(
        tmp_path / "guangzhou.kmz",
        {"files/tower.png": b"\x89PNG", "doc.kml": ZONES_KML.read_bytes(), "old.kml": b"x"},
    )
    assert parse(kmz.read_bytes(), kmz) == parse(ZONES_KML.read_bytes(), ZONES_KML)
    zones = read_zone_file(kmz)
    assert [z.provenance.source_format for z in zones] == ["kml"] * 5
    assert zones[2].geometry == Circle(113.3245, 23.1066, 500.0)


def test_kmz_with_one_differently_named_kml_is_read(tmp_path: Path) -> None:
    kmz = write_kmz(tmp_path / "z.kmz", {"Guangzhou zones.kml": ZONES_KML.read_bytes()})
    assert len(parse(kmz.read_bytes(), kmz)) == 5


def test_kmz_with_two_kml_and_no_doc_kml_is_refused(tmp_path: Path) -> None:
    kmz = write_kmz(tmp_path / "z.kmz", {"a.kml": ZONES_KML.read_bytes(), "b.kml": b"<kml/>"})
    with pytest.raises(FormatError, match=r"no doc\.kml \(it holds: a\.kml, b\.kml\)"):
        parse(kmz.read_bytes(), kmz)


def test_truncated_kmz_is_a_format_error(tmp_path: Path) -> None:
    kmz = write_kmz(tmp_path / "z.kmz", {"doc.kml": ZONES_KML.read_bytes()})
    data = kmz.read_bytes()[:200]
    with pytest.raises(FormatError, match="not a readable KMZ"):
        parse(data, kmz)


# ---------------------------------------------------------------- errors


def test_point_without_radius_names_placemark_and_line() -> None:
    data = kml_doc(placemark("Haixinsha", TOWER_SQUARE) + "\n" + placemark("Tower", TOWER_POINT))
    with pytest.raises(FormatError) as err:
        parse_bytes(data)
    assert err.value.where.line == 5
    assert err.value.where.feature_index == 1 and err.value.where.feature_name == "Tower"
    assert "radius_m" in err.value.message


def test_radius_on_a_polygon_is_refused() -> None:
    data = kml_doc(placemark("Tower", TOWER_SQUARE, {"radius_m": "500"}))
    with pytest.raises(FormatError, match="not a Point"):
        parse_bytes(data)


@pytest.mark.parametrize(
    ("key", "value"),
    [("floor_m", "ground"), ("ceiling_m", "120 m"), ("radius_m", "five hundred")],
)
def test_non_numeric_metres_are_refused(key: str, value: str) -> None:
    data = kml_doc(placemark("Tower", TOWER_POINT, {"radius_m": "500", key: value}))
    with pytest.raises(FormatError, match=f"{key} must be a number of metres, not '{value}'"):
        parse_bytes(data)


def test_bad_time_is_refused_with_its_key() -> None:
    data = kml_doc(placemark("Tower", TOWER_SQUARE, {"end": "next Tuesday"}))
    with pytest.raises(FormatError, match="end: cannot read time 'next Tuesday'"):
        parse_bytes(data)


def test_timespan_that_disagrees_with_start_is_refused() -> None:
    span = "<TimeSpan><begin>2026-10-02T00:00:00+08:00</begin></TimeSpan>"
    body = placemark("Tower", TOWER_SQUARE, {"start": "2026-10-01T00:00:00+08:00"})
    body = body.replace("<ExtendedData>", span + "<ExtendedData>")
    with pytest.raises(FormatError, match="disagrees with the TimeSpan"):
        parse_bytes(kml_doc(body))


def test_timespan_that_agrees_with_start_is_accepted() -> None:
    span = "<TimeSpan><begin>2026-09-30T16:00:00Z</begin></TimeSpan>"
    body = placemark("Tower", TOWER_SQUARE, {"start": "2026-10-01T00:00:00+08:00"})
    body = body.replace("<ExtendedData>", span + "<ExtendedData>")
    (feature,) = parse_bytes(kml_doc(body))
    assert feature.start == datetime(2026, 9, 30, 16, tzinfo=UTC)


def test_duplicate_extended_data_key_is_refused() -> None:
    data = kml_doc(placemark("Tower", TOWER_SQUARE).replace(
        "</ExtendedData>", '<Data name="restriction"><value>warning</value></Data></ExtendedData>'
    ))  # fmt: skip
    with pytest.raises(FormatError, match="'restriction' is given twice"):
        parse_bytes(data)


def test_xml_syntax_error_carries_its_line() -> None:
    data = kml_doc(placemark("Tower", TOWER_SQUARE)).replace(b"</Placemark>", b"")
    with pytest.raises(FormatError, match="XML syntax error") as err:
        parse_bytes(data)
    # line 4 holds the <Placemark>; line 5 the </Document> that meets it still open
    assert err.value.where.line == 5
    assert "Placemark line 4" in err.value.message


def test_bad_coordinates_point_at_their_own_line() -> None:
    geometry = TOWER_SQUARE.replace(" 113.3275,23.1096", "\n\n113.3275 23.1096")
    with pytest.raises(FormatError, match=r"'113\.3275' is not lon,lat") as err:
        parse_bytes(kml_doc(placemark("Tower", geometry)))
    assert err.value.where.line == 6  # the placemark starts on line 4, two line breaks later


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ("", "no geometry"),
        (TOWER_POINT + TOWER_SQUARE, "has 2 geometries"),
        (f"<MultiGeometry>{TOWER_SQUARE}{TOWER_POINT}</MultiGeometry>", "Point, Polygon is not"),
        ("<MultiGeometry></MultiGeometry>", "an empty MultiGeometry is not"),
        (
            "<LinearRing><coordinates>113.3215,23.1036 113.3275,23.1036 113.3275,23.1096 "
            "113.3215,23.1036</coordinates></LinearRing>",
            "LinearRing is not a zone geometry",
        ),
        ("<Polygon></Polygon>", "without outerBoundaryIs"),
    ],
)
def test_placemarks_that_are_not_zones_are_refused(geometry: str, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_bytes(kml_doc(placemark("Tower", geometry)))


def test_a_file_with_only_routes_holds_no_zone() -> None:
    route = "<LineString><coordinates>113.327,23.1375 113.3245,23.1066</coordinates></LineString>"
    with pytest.raises(FormatError, match="no polygon or point\\+radius placemark"):
        parse_bytes(kml_doc(placemark("Patrol", route)))


def test_network_link_is_refused() -> None:
    href = "<Link><href>https://example.org/zones.kml</href></Link>"
    link = f"<NetworkLink><name>Live zones</name>{href}</NetworkLink>"
    with pytest.raises(FormatError, match="NetworkLink"):
        parse_bytes(kml_doc(placemark("Tower", TOWER_SQUARE) + link))


def test_non_kml_xml_is_refused() -> None:
    with pytest.raises(FormatError, match="root element is <gpx>"):
        parse_bytes(b'<?xml version="1.0"?>\n<gpx version="1.1"></gpx>')


def test_xml_entities_are_refused_not_expanded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("officer passwords")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE kml [<!ENTITY s SYSTEM "file://{secret}">]>\n'
        f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"{placemark('Tower &s;', TOWER_SQUARE)}</Document></kml>"
    ).encode()
    with pytest.raises(FormatError, match="entity &s; is not allowed") as err:
        parse_bytes(data)
    assert "passwords" not in str(err.value)


def test_google_earth_2_1_namespace_and_no_namespace_are_read() -> None:
    body = placemark("Tower", TOWER_SQUARE)
    for header in ('<kml xmlns="http://earth.google.com/kml/2.1">', "<kml>"):
        data = f"{header}<Document>{body}</Document></kml>".encode()
        (feature,) = parse_bytes(data)
        assert feature.name == "Tower" and feature.restriction == "prohibited"


def test_unclosed_ring_is_caught_by_validation(tmp_path: Path) -> None:
    path = tmp_path / "open.kml"
    path.write_bytes(kml_doc(placemark("Tower", TOWER_SQUARE.replace(" 113.3215,23.1036<", "<"))))
    with pytest.raises(ZoneValidationError, match="is not closed"):
        read_zone_file(path)


# ---------------------------------------------------------------- dump round trip


def sample_zones() -> list[Zone]:
    tower = Polygon(
        [(113.3215, 23.1036), (113.3275, 23.1036), (113.3275, 23.1096), (113.3215, 23.1096)],
        [[(113.324, 23.106), (113.324, 23.107), (113.325, 23.107), (113.325, 23.106)]],
    )
    river = MultiPolygon(
        [
            Polygon([(113.321, 23.113), (113.327, 23.113), (113.327, 23.117), (113.321, 23.117)]),
            Polygon([(113.318, 23.118), (113.324, 23.118), (113.324, 23.122), (113.318, 23.122)]),
        ]
    )
    return [
        Zone(
            name="Canton Tower <core> & mast",
            restriction=Restriction.PROHIBITED,
            geometry=tower,
            band=VerticalBand(0.0, AltitudeRef.AGL, None, AltitudeRef.AGL),
            reason="landmark",
            authority="Guangzhou PSB",
            message="No drones: call 020-1234 5678",
        ),
        Zone(
            name="Pearl River light show",
            restriction=Restriction.AUTHORIZATION,
            geometry=river,
            band=VerticalBand(30.5, AltitudeRef.AGL, 300.25, AltitudeRef.AMSL),
            schedule=Schedule(
                start=datetime(2026, 10, 1, tzinfo=CST),
                end=datetime(2026, 10, 8, 6, 30, tzinfo=UTC),
                daily=(
                    DailyWindow(time(19, 0), time(22, 30), frozenset({1, 2, 3, 4, 5})),
                    DailyWindow(time(22, 0), time(2, 0), frozenset({6, 7})),
                ),
                timezone="Asia/Shanghai",
            ),
        ),
        Zone(
            name="Baiyun International Airport",
            restriction=Restriction.PROHIBITED,
            geometry=Circle(lon_deg=113.2991234567891, lat_deg=23.3921987654321, radius_m=8000.5),
            band=VerticalBand(50.0, AltitudeRef.AMSL, 1200.0, AltitudeRef.AMSL),
            schedule=Schedule(timezone="Asia/Shanghai"),
        ),
        Zone(
            name="Tianhe patrol area",
            restriction=Restriction.OPERATING_AREA,
            geometry=Polygon([(113.31, 23.11), (113.345, 23.11), (113.345, 23.15), (113.31, 23.2)]),
            band=VerticalBand(0.0, AltitudeRef.AGL, 120.0, AltitudeRef.AGL),
            schedule=Schedule(daily=(DailyWindow(time(8, 0), time(20, 0)),)),
        ),
    ]


def assert_same_zone(got: Zone, want: Zone) -> None:
    assert got.name == want.name
    assert got.restriction is want.restriction
    assert got.band == want.band
    assert got.schedule == want.schedule
    assert (got.reason, got.authority, got.message) == (want.reason, want.authority, want.message)
    if isinstance(want.geometry, Circle):
        assert isinstance(got.geometry, Circle)
        assert got.geometry.lon_deg == pytest.approx(want.geometry.lon_deg, abs=1e-9)
        assert got.geometry.lat_deg == pytest.approx(want.geometry.lat_deg, abs=1e-9)
        assert got.geometry.radius_m == want.geometry.radius_m
    else:
        assert not isinstance(got.geometry, Circle)
        assert got.geometry.geom_type == want.geometry.geom_type
        assert got.geometry.normalize().equals_exact(want.geometry.normalize(), 1e-9)


def test_dump_then_load_gives_the_same_zones(tmp_path: Path) -> None:
    zones = sample_zones()
    path = tmp_path / "export.kml"
    path.write_bytes(dump(zones))
    # defaults must not leak into what the file states explicitly
    back = read_zone_file(path, defaults=ZoneDefaults(restriction="warning", ceiling_m=10.0))
    assert len(back) == len(zones)
    for got, want in zip(back, zones, strict=True):
        assert_same_zone(got, want)


def test_dump_writes_one_placemark_per_zone_that_fastkml_reads(tmp_path: Path) -> None:
    data = dump(sample_zones())
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    document = fastkml.KML.from_string(data.decode("utf-8").split("\n", 1)[1])
    placemarks = list(fastkml.find_all(document, of_type=fastkml.Placemark))
    assert [p.name for p in placemarks] == [z.name for z in sample_zones()]
    circle = placemarks[2].kml_geometry
    assert isinstance(circle, fastkml.Point)
    assert circle.kml_coordinates.coords == [(113.2991234567891, 23.3921987654321)]


def test_dump_of_an_empty_list_is_refused_on_load(tmp_path: Path) -> None:
    path = tmp_path / "none.kml"
    path.write_bytes(dump([]))
    with pytest.raises(FormatError, match="no polygon"):
        read_zone_file(path)
