"""Reports (csv, geojson, kml, html) rendered from a real pipeline run's records."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import struct
from pathlib import Path

import pytest
from lxml import etree

from tests.detect_support import T0, det, square
from uav.check.index import ZoneIndex
from uav.detect.incidents import Incidents
from uav.detect.judge import Judge
from uav.detect.model import SensorKind
from uav.detect.pipeline import MemorySink, Pipeline
from uav.detect.report import ReportData, Sighting, render, write_report
from uav.detect.track import Tracker
from uav.errors import InputError
from uav.zones.model import Restriction

W_INCIDENT = f"rid:RID-W@3#{int(T0) + 6}"  # opened at t = 6 s
X_INCIDENT = f"rid:RID-X@1#{int(T0) + 9}"  # opened at t = 9 s (in the buffer)


@pytest.fixture(scope="module")
def data() -> ReportData:
    zones = [
        square(1, Restriction.PROHIBITED, south_m=0, west_m=0, size_m=200, name="event <A&B>"),
        square(3, Restriction.WARNING, south_m=400, west_m=0, size_m=200),
    ]
    sink = MemorySink()
    p = Pipeline(Judge(ZoneIndex(zones)), Tracker(), Incidents(), sink)
    dets = [det(100, -103 + 10.0 * k, t=k, remote_id="RID-X") for k in range(40)]
    dets += [det(500, -53 + 10.0 * k, t=k, remote_id="RID-W") for k in range(20)]
    dets += [
        det(300, 5.0 * k, t=k, remote_id=None, icao="780ABC", kind=SensorKind.ADSB, emitter_type=1)
        for k in range(10)
    ]
    p.ingest(dets)
    p.tick(dets[-1].time_s + 3600)
    latest = {i.incident_id: i for i in sink.incidents}
    return ReportData(
        sightings=[Sighting.of(d, j) for d, j, _ in sink.detections],
        tracks=p.tracker.tracks,
        incidents=list(latest.values()),
    )


def test_the_run_made_two_incidents(data: ReportData) -> None:
    assert sorted(i.incident_id for i in data.incidents) == [W_INCIDENT, X_INCIDENT]


def test_csv_one_row_per_incident(data: ReportData) -> None:
    rows = list(csv.DictReader(io.StringIO(render(data, "csv").decode())))
    assert [r["incident_id"] for r in rows] == [W_INCIDENT, X_INCIDENT]  # as opened
    x = rows[1]
    assert x["severity"] == "high" and x["zone_name"] == "event <A&B>"
    assert x["state"] == "closed" and x["closed"].endswith("Z") and x["zone_id"] == "1"
    assert rows[0]["severity"] == "medium"


def test_geojson_incidents_and_track_lines(data: ReportData) -> None:
    doc = json.loads(render(data, "geojson"))
    kinds = [(f["properties"]["kind"], f["geometry"]["type"]) for f in doc["features"]]
    assert kinds.count(("incident", "Point")) == 2
    tracks = {
        f["properties"]["track_id"]: f
        for f in doc["features"]
        if f["properties"]["kind"] == "track"
    }
    assert set(tracks) == {"rid:RID-X", "rid:RID-W", "icao:780ABC"}
    assert len(tracks["rid:RID-X"]["geometry"]["coordinates"]) == 40
    assert tracks["icao:780ABC"]["properties"]["category"] == "manned"


def test_kml_parses_with_placemarks(data: ReportData) -> None:
    root = etree.fromstring(render(data, "kml"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    names = root.xpath("//k:Placemark/k:name/text()", namespaces=ns)
    assert {X_INCIDENT, W_INCIDENT, "rid:RID-X", "icao:780ABC"} <= set(names)
    assert len(root.xpath("//k:LineString", namespaces=ns)) == 3


def test_html_is_self_contained_with_a_png_heat_map(data: ReportData) -> None:
    html = render(data, "html").decode()
    assert not re.search(r"https?://", html)
    assert "<script" not in html and "<link" not in html
    for i in data.incidents:
        assert i.incident_id in html
    assert "event &lt;A&amp;B&gt;" in html  # escaped
    (b64,) = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    png = base64.b64decode(b64)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (640, 520)
    assert html.count("<polyline") == 3


def test_html_without_detections() -> None:
    html = render(ReportData(), "html").decode()
    assert "No incidents." in html and "No positions to map." in html


def test_write_report_and_unknown_format(tmp_path: Path, data: ReportData) -> None:
    out = tmp_path / "r.csv"
    assert write_report(data, "csv", out) == out.stat().st_size
    assert not list(tmp_path.glob(".*tmp"))
    with pytest.raises(InputError):
        render(data, "pdf")
    with pytest.raises(InputError):
        write_report(data, "csv", tmp_path / "no-such-dir" / "r.csv")
