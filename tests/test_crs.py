"""GCJ-02 / BD-09 / EPSG conversions to WGS-84."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyproj import Geod

from uav.errors import InputError
from uav.geo import crs

GEOD = Geod(ellps="WGS84")

# Inside mainland China, where the offsets apply.
china_lon = st.floats(min_value=75.0, max_value=134.0)
china_lat = st.floats(min_value=18.0, max_value=53.0)


def error_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


def test_gcj02_offset_in_guangzhou_is_hundreds_of_metres() -> None:
    wgs = (113.3245, 23.1066)  # Canton Tower
    gcj = crs.wgs84_to_gcj02(*wgs)
    assert 300 < error_m(wgs, gcj) < 800  # the well-known ~500 m shift


def test_bd09_is_further_offset_than_gcj02() -> None:
    wgs = (113.3245, 23.1066)
    assert error_m(wgs, crs.wgs84_to_bd09(*wgs)) > error_m(wgs, crs.wgs84_to_gcj02(*wgs))


@given(china_lon, china_lat)
def test_gcj02_inverse_is_within_a_metre(lon: float, lat: float) -> None:
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(lon, lat))
    assert error_m((lon, lat), back) < 1.0


@given(china_lon, china_lat)
def test_bd09_inverse_is_within_a_metre(lon: float, lat: float) -> None:
    back = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(lon, lat))
    assert error_m((lon, lat), back) < 1.0


def test_outside_china_gcj02_is_wgs84() -> None:
    assert crs.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)


def test_epsg_converter_handles_web_mercator() -> None:
    convert = crs.converter("EPSG:3857")
    ((lon, lat),) = convert([(12615011.0, 2644160.0)])
    assert lon == pytest.approx(113.32, abs=0.01)
    assert lat == pytest.approx(23.10, abs=0.01)


@pytest.mark.parametrize(
    ("given_name", "expected"),
    [
        ("WGS84", "wgs84"),
        ("gcj-02", "gcj02"),
        ("BD09", "bd09"),
        ("epsg:32649", "EPSG:32649"),
    ],
)
def test_normalise_crs(given_name: str, expected: str) -> None:
    assert crs.normalise_crs(given_name) == expected


def test_unknown_crs_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown coordinate system"):
        crs.normalise_crs("mars-2")
