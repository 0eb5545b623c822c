"""`uav auth grant|list|revoke` through CliRunner."""

from __future__ import annotations

import json

from .conftest import DATA, Invoke

GZ = DATA / "geojson" / "guangzhou.geojson"


def event_zone_id(uav: Invoke) -> int:
    zones = json.loads(uav("zones", "load", GZ, "--json").stdout)
    return int(next(z["id"] for z in zones if z["name"] == "Tianhe Sports Center match day"))


def test_grant_list_revoke(uav: Invoke) -> None:
    zid = event_zone_id(uav)
    r = uav(
        "auth",
        "grant",
        "--zone",
        zid,
        "--drone",
        "TH-01",
        "--start",
        "2026-12-05T17:00+08:00",
        "--end",
        "2026-12-05T23:00+08:00",
        "--by",
        "Officer Chen",
        "--reason",
        "match security",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    grant = json.loads(r.stdout)
    assert grant["drone"] == "TH-01" and grant["zone_id"] == zid and grant["revoked_at"] is None
    listed = json.loads(uav("auth", "list", "--json").stdout)
    assert [g["id"] for g in listed] == [grant["id"]]
    r = uav("auth", "revoke", grant["id"], "--by", "Officer Li")
    assert r.exit_code == 0 and "revoked by Officer Li" in r.stderr
    assert json.loads(uav("auth", "list", "--json").stdout) == []
    (revoked,) = json.loads(uav("auth", "list", "--all", "--json").stdout)
    assert revoked["revoked_by"] == "Officer Li"
    r = uav("auth", "list")
    assert r.exit_code == 0 and "0 grant(s)" in r.stderr


def test_grant_errors_are_exit_2(uav: Invoke) -> None:
    zid = event_zone_id(uav)
    r = uav(
        "auth",
        "grant",
        "--zone",
        zid,
        "--drone",
        "TH-01",
        "--start",
        "2026-12-05T23:00+08:00",
        "--end",
        "2026-12-05T17:00+08:00",
        "--by",
        "Chen",
    )
    assert r.exit_code == 2 and "not after start" in r.stderr
    r = uav(
        "auth",
        "grant",
        "--zone",
        999,
        "--drone",
        "TH-01",
        "--start",
        "2026-12-05T17:00",
        "--end",
        "2026-12-05T18:00",
        "--by",
        "Chen",
    )
    assert r.exit_code == 2 and "no zone with id 999" in r.stderr
    r = uav(
        "auth",
        "grant",
        "--zone",
        zid,
        "--drone",
        "TH-01",
        "--start",
        "tomorrow",
        "--end",
        "2026-12-05T18:00",
        "--by",
        "Chen",
    )
    assert r.exit_code == 2 and "--start" in r.stderr and "ISO 8601" in r.stderr
    r = uav("auth", "revoke", 77, "--by", "Chen")
    assert r.exit_code == 2 and "no grant with id 77" in r.stderr
