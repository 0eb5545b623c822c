"""Convert zone coordinates to WGS-84.

GCJ-02 ("Mars coordinates", used by Chinese web maps such as AMap/Gaode and Tencent) and
BD-09 (Baidu) are obfuscated offsets of WGS-84. The forward transforms are the published
formulas; the inverses are solved by fixed-point iteration to well under a centimetre, so
the round trip error is far below the 1 m the airspace check needs. Outside mainland China
GCJ-02 equals WGS-84, as the Chinese map providers do it.

Every function takes and returns ``(lon_deg, lat_deg)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from uav.errors import InputError

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = math.pi * 3000.0 / 180.0

LonLat = tuple[float, float]


def _outside_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _delta(lon: float, lat: float) -> LonLat:
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
        + (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * math.sqrt(abs(x))
        + (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
        + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
        + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: float, lat: float) -> LonLat:
    if _outside_china(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_bd09(lon: float, lat: float) -> LonLat:
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def wgs84_to_bd09(lon: float, lat: float) -> LonLat:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(forward: Callable[[float, float], LonLat], lon: float, lat: float) -> LonLat:
    """Solve forward(x) = (lon, lat) by fixed-point iteration (the offsets vary slowly)."""
    x, y = lon, lat
    for _ in range(30):
        fx, fy = forward(x, y)
        ex, ey = fx - lon, fy - lat
        x, y = x - ex, y - ey
        if abs(ex) < 1e-10 and abs(ey) < 1e-10:  # ~0.01 mm
            break
    return x, y


def gcj02_to_wgs84(lon: float, lat: float) -> LonLat:
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_wgs84(lon: float, lat: float) -> LonLat:
    return _invert(wgs84_to_bd09, lon, lat)


GEOGRAPHIC_CRS = ("wgs84", "gcj02", "bd09")


def normalise_crs(name: str) -> str:
    """'wgs84' | 'gcj02' | 'bd09' | 'EPSG:n' (case-insensitive aliases accepted)."""
    key = name.strip().lower().replace("-", "").replace("_", "")
    aliases = {
        "wgs84": "wgs84",
        "epsg:4326": "wgs84",
        "4326": "wgs84",
        "gcj02": "gcj02",
        "gcj": "gcj02",
        "mars": "gcj02",
        "bd09": "bd09",
        "bd09ll": "bd09",
        "baidu": "bd09",
    }
    if key in aliases:
        return aliases[key]
    if key.startswith("epsg:") and key[5:].isdigit():
        return f"EPSG:{key[5:]}"
    raise InputError(f"unknown coordinate system {name!r}: use wgs84, gcj02, bd09 or EPSG:n")


def converter(crs: str) -> Callable[[Sequence[LonLat]], list[LonLat]]:
    """A function converting a list of (x, y) points in ``crs`` to WGS-84 (lon, lat)."""
    crs = normalise_crs(crs)
    if crs == "wgs84":
        return lambda pts: [(float(x), float(y)) for x, y in pts]
    if crs == "gcj02":
        return lambda pts: [gcj02_to_wgs84(x, y) for x, y in pts]
    if crs == "bd09":
        return lambda pts: [bd09_to_wgs84(x, y) for x, y in pts]
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        src = CRS.from_user_input(crs)
    except CRSError:
        raise InputError(f"unknown coordinate system {crs}") from None
    tr = Transformer.from_crs(src, "EPSG:4326", always_xy=True)

    def convert(pts: Sequence[LonLat]) -> list[LonLat]:
        xs, ys = tr.transform([p[0] for p in pts], [p[1] for p in pts])
        return list(zip(map(float, xs), map(float, ys), strict=True))

    return convert


def is_geographic(crs: str) -> bool:
    crs = normalise_crs(crs)
    if crs in GEOGRAPHIC_CRS:
        return True
    from pyproj import CRS

    return bool(CRS.from_user_input(crs).is_geographic)
