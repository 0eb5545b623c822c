"""`uav zones ...` through CliRunner: exit codes, stdout data, stderr messages."""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import DATA, Invoke, db_snapshot

GZ = DATA / "geojson" / "guangzhou.geojson"


def load(uav: Invoke, *args: object) -> list[dict[str, object]]:
    r = uav("zones", "load", GZ, "--json", *args)
    assert r.exit_code == 0, r.stderr
    return list(json.loads(r.stdout))


def test_load_prints_zones_and_says_where(uav: Invoke, db: Path) -> None:
    r = uav("zones", "load", GZ)
    assert r.exit_code == 0, r.stderr
    assert "Canton Tower" in r.stdout
    assert "loaded 6 zone(s) from 1 file(s)" in r.stderr and str(db) in r.stderr


def test_load_json_carries_provenance(uav: Invoke) -> None:
    zones = load(uav)
    assert [z["name"] for z in zones][:2] == ["Baiyun International Airport", "Canton Tower"]
    src = zones[1]["source"]
    assert isinstance(src, dict)
    assert src["file"] == str(GZ.resolve()) and src["feature_index"] == 1
    assert len(str(src["sha256"])) == 64 and src["loaded_by"]


def test_replace_swaps_zones_from_the_same_file(uav: Invoke) -> None:
    load(uav)
    r = uav("zones", "load", GZ, "--replace")
    assert r.exit_code == 0 and "replaced 6" in r.stderr
    assert len(json.loads(uav("zones", "list", "--json").stdout)) == 6
    load(uav)
    assert len(json.loads(uav("zones", "list", "--json").stdout)) == 12


def test_list_filters_by_time_and_place(uav: Invoke) -> None:
    load(uav)
    r = uav("zones", "list", "--active-at", "2026-12-05T18:00+08:00", "--json")
    assert "Tianhe Sports Center match day" in {z["name"] for z in json.loads(r.stdout)}
    r = uav("zones", "list", "--active-at", "2026-12-06T18:00+08:00", "--json")
    assert "Tianhe Sports Center match day" not in {z["name"] for z in json.loads(r.stdout)}
    r = uav("zones", "list", "--near", "23.3924,113.2988", "--radius", "1000", "--json")
    assert [z["name"] for z in json.loads(r.stdout)] == ["Baiyun International Airport"]


def test_list_bad_near_is_exit_2(uav: Invoke) -> None:
    r = uav("zones", "list", "--near", "somewhere")
    assert r.exit_code == 2 and "--near" in r.stderr and "LAT,LON" in r.stderr


def test_show_and_show_unknown(uav: Invoke) -> None:
    ids = [z["id"] for z in load(uav)]
    r = uav("zones", "show", ids[0], "--json")
    assert r.exit_code == 0
    detail = json.loads(r.stdout)
    assert detail["radius_m"] == 5000 and detail["geometry"]["type"] == "Point"
    r = uav("zones", "show", ids[1])
    assert r.exit_code == 0 and "Canton Tower" in r.stdout and "landmark" in r.stdout
    r = uav("zones", "show", 999)
    assert r.exit_code == 2 and "no zone with id 999" in r.stderr


def test_export_geojson_round_trips_through_load(uav: Invoke, tmp_path: Path) -> None:
    before = load(uav)
    out = tmp_path / "export.geojson"
    r = uav("zones", "export", "-o", out)
    assert r.exit_code == 0 and "exported 6 zone(s)" in r.stderr
    uav("zones", "remove", *[z["id"] for z in before])
    r = uav("zones", "load", out, "--json")
    assert r.exit_code == 0
    after = json.loads(r.stdout)
    strip = ("id", "source")
    assert [{k: v for k, v in z.items() if k not in strip} for z in after] == [
        {k: v for k, v in z.items() if k not in strip} for z in before
    ]


def test_export_to_stdout_and_bad_format(uav: Invoke) -> None:
    load(uav)
    r = uav("zones", "export")
    assert r.exit_code == 0 and json.loads(r.stdout)["type"] == "FeatureCollection"
    r = uav("zones", "export", "--format", "shp")
    assert r.exit_code == 2 and "use geojson or kml" in r.stderr


def test_remove_all_or_nothing(uav: Invoke, db: Path) -> None:
    ids = [z["id"] for z in load(uav)]
    before = db_snapshot(db)
    r = uav("zones", "remove", ids[0], 999)
    assert r.exit_code == 2 and "999" in r.stderr and "nothing removed" in r.stderr
    assert db_snapshot(db) == before
    r = uav("zones", "remove", ids[0])
    assert r.exit_code == 0 and "removed zone" in r.stderr
    assert len(json.loads(uav("zones", "list", "--json").stdout)) == 5


def test_a_bad_file_among_good_ones_loads_nothing(uav: Invoke, db: Path, tmp_path: Path) -> None:
    load(uav)
    before = db_snapshot(db)
    bad = tmp_path / "bad.geojson"
    bad.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", '
        '"properties": {"restriction": "no entry"}, "geometry": {"type": "Polygon", '
        '"coordinates": [[[113.3, 23.1], [113.31, 23.1], [113.31, 23.11], '
        "[113.3, 23.1]]]}}]}"
    )
    r = uav("zones", "load", GZ, bad)
    assert r.exit_code == 2
    assert "bad.geojson" in r.stderr and "unknown restriction 'no entry'" in r.stderr
    assert db_snapshot(db) == before


def test_missing_file_is_exit_2(uav: Invoke, tmp_path: Path) -> None:
    r = uav("zones", "load", tmp_path / "nowhere.geojson")
    assert r.exit_code == 2 and "nowhere.geojson" in r.stderr


def test_help_documents_exit_codes(uav: Invoke) -> None:
    r = uav("zones", "--help")
    assert r.exit_code == 0 and "Exit codes" in r.stdout


def test_export_kml_round_trips_through_load(uav: Invoke, tmp_path: Path) -> None:
    before = load(uav)
    out = tmp_path / "export.kml"
    assert uav("zones", "export", "--format", "kml", "-o", out).exit_code == 0
    uav("zones", "remove", *[z["id"] for z in before])
    r = uav("zones", "load", out, "--json")
    assert r.exit_code == 0, r.stderr
    strip = ("id", "source")
    assert [{k: v for k, v in z.items() if k not in strip} for z in json.loads(r.stdout)] == [
        {k: v for k, v in z.items() if k not in strip} for z in before
    ]
