"""``uav detect listen`` (an in-test source and a real jsonl file), ``--on-alert``, and
``list`` / ``stats`` / ``report`` over the evidence log it wrote."""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli import app
from tests.conftest import Invoke
from tests.detect_support import T0, det, square
from tests.fleet_support import said
from uav.check.index import ZoneIndex
from uav.detect.alerts import AlertOutcome, AlertRunner, run_alert
from uav.detect.incidents import Incidents
from uav.detect.judge import Judge
from uav.detect.listen import listen
from uav.detect.model import Detection, Incident, IncidentState, Severity
from uav.detect.pipeline import MemorySink, Pipeline
from uav.detect.sources.base import SourceStats
from uav.detect.track import Tracker
from uav.store import Store
from uav.store.drones import Drone
from uav.zones.model import Restriction

ZONES = [
    square(1, Restriction.PROHIBITED, south_m=0, west_m=0, size_m=200, name="event"),
    square(2, Restriction.WARNING, south_m=400, west_m=0, size_m=200, name="park"),
]


# opened in the buffer at t = 9 s: the id ends with the UNIX second it opened
INTRUDER_INCIDENT = f"rid:INTRUDER-7@1#{int(T0) + 9}"


def crossing(remote_id: str, north_m: float = 100.0) -> list[Detection]:
    """East at 10 m/s across x = 0..200 m (x = -103 .. 287 m), one detection a second."""
    return [det(north_m, -103 + 10.0 * k, t=k, remote_id=remote_id) for k in range(40)]


class ListSource:
    """A source handing over fixed batches, then ending (or waiting for stop)."""

    def __init__(self, batches: list[list[Detection]], *, hold: bool = False) -> None:
        self.name = "test:list"
        self.batches = batches
        self.hold = hold

    def run(
        self, emit: Callable[[list[Detection]], None], stop: threading.Event, stats: SourceStats
    ) -> None:
        for b in self.batches:
            if stop.is_set():
                return
            stats.add(read=len(b), parsed=len(b))
            emit(b)
        if self.hold:
            stop.wait(30.0)


class BrokenSource:
    name = "test:broken"

    def run(self, emit: object, stop: threading.Event, stats: SourceStats) -> None:
        raise RuntimeError("receiver unplugged")


def memory_pipeline() -> tuple[Pipeline, MemorySink]:
    sink = MemorySink()
    return Pipeline(Judge(ZoneIndex(ZONES)), Tracker(), Incidents(), sink), sink


# --- the library loop ----------------------------------------------------------------------


def test_listen_until_the_sources_end_and_close_what_is_open() -> None:
    p, sink = memory_pipeline()
    src = ListSource([crossing("A")[:20], crossing("A")[20:], crossing("B")[:15]])
    results = []
    summary = listen(
        [src, BrokenSource()], p, duration_s=60.0, on_result=lambda r, s: results.append(r)
    )
    assert summary.reason == "sources ended"
    assert summary.detections == 55 and len(sink.detections) == 55
    assert summary.sources[1].error == "RuntimeError: receiver unplugged"
    # B stopped inside the zone: closed when listening stopped, at its last detection
    closing = results[-1]
    assert [(i.incident_id, i.state) for i in closing.incidents] == [
        ("rid:B@1#1795000009", IncidentState.CLOSED)
    ]
    assert closing.incidents[0].closed_s == T0 + 14
    assert p.tracker.tracks == [] and p.incidents.open == []


def test_listen_max_is_exact_and_duplicates_do_not_count() -> None:
    p, sink = memory_pipeline()
    a = crossing("A")
    summary = listen([ListSource([a[:10], a[:10], a[10:]])], p, max_detections=25)
    assert (summary.reason, summary.detections) == ("max", 25)
    assert summary.duplicates == 10
    assert [d for d, _, _ in sink.detections] == a[:25]


def test_listen_duration_bounds_a_silent_source() -> None:
    p, _ = memory_pipeline()
    summary = listen([ListSource([crossing("A")[:3]], hold=True)], p, duration_s=0.6)
    assert summary.reason == "duration" and summary.detections == 3


# --- the command ---------------------------------------------------------------------------


def jsonl(path: Path, dets: list[Detection]) -> Path:
    lines = []
    for d in dets:
        doc = {
            "time": d.time_s,
            "sensor_id": "rf-1",
            "sensor_kind": "rf",
            "lat": d.lat_deg,
            "lon": d.lon_deg,
            "alt_m": d.alt_m,
            "alt_frame": "above-ground",
        }
        if d.remote_id:
            doc["remote_id"] = d.remote_id
        lines.append(json.dumps(doc))
    lines.insert(5, "{not json")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def logged(uav: Invoke, db: Path, tmp_path: Path) -> dict[str, object]:
    """Zones and a fleet drone in the database, then `detect listen` over a jsonl feed with an
    intruder crossing the event zone, a fleet drone crossing it, and one in the park."""
    store = Store.open(db)
    store.add_zones([replace(z, id=None) for z in ZONES])
    store.add_drone(Drone("TH-01", "tcp:127.0.0.1:5760", remote_id="FLEET-1"))
    store.close()
    feed = jsonl(
        tmp_path / "feed.jsonl",
        crossing("INTRUDER-7") + crossing("FLEET-1") + crossing("WALKER-2", north_m=500.0),
    )
    script = tmp_path / "alert.py"
    script.write_text(
        "import json, pathlib, sys\n"
        "doc = json.load(sys.stdin)\n"
        "out = pathlib.Path(sys.argv[1]) / (doc['incident_id'].replace(':', '_') + '.json')\n"
        "out.write_text(json.dumps(doc))\n"
    )
    alerts = tmp_path / "alerts"
    alerts.mkdir()
    res = uav(
        "detect", "listen", f"jsonl:{feed}", "--duration", "60", "--json",
        "--on-alert", f"{sys.executable} {script} {alerts}",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    return {"summary": json.loads(res.stdout), "alerts": alerts, "stderr": res.stderr}


def test_listen_ingests_judges_and_alerts(logged: dict[str, object]) -> None:
    summary = logged["summary"]
    assert isinstance(summary, dict)
    assert summary["detections"] == 120 and summary["stopped"] == "sources ended"
    assert summary["sources"][0]["skipped"] == 1  # the malformed line, counted, not fatal
    assert summary["high_incidents"] == [INTRUDER_INCIDENT]
    assert summary["incidents_opened"] == 2  # the intruder (event) and the walker (park)
    alerts = logged["alerts"]
    assert isinstance(alerts, Path)
    (sent,) = list(alerts.iterdir())
    doc = json.loads(sent.read_text())
    assert (doc["incident_id"], doc["severity"], doc["zone_id"]) == (
        INTRUDER_INCIDENT,
        "high",
        1,
    )
    assert INTRUDER_INCIDENT in str(logged["stderr"])


def test_list_filters(uav: Invoke, logged: dict[str, object]) -> None:
    every = json.loads(uav("detect", "list", "--json").stdout)
    assert len(every) == 120
    unauth = json.loads(uav("detect", "list", "--json", "--unauthorised").stdout)
    assert {s["track_id"] for s in unauth} == {"rid:INTRUDER-7", "rid:WALKER-2"}
    in_event = json.loads(uav("detect", "list", "--json", "--zone", "1").stdout)
    # both crossings inside the zone (x = 7..197 m), and the intruder's buffer approach
    assert {s["track_id"] for s in in_event} == {"rid:INTRUDER-7", "rid:FLEET-1"}
    fleet = [s for s in in_event if s["track_id"] == "rid:FLEET-1"]
    assert len(fleet) == 20 and all(s["authorised"] for s in fleet)
    window = uav(
        "detect", "list", "--json", "--track", "rid:WALKER-2",
        "--since", "2026-11-18T00:00:00Z", "--until", "2026-12-31T00:00:00Z",
    )  # fmt: skip
    assert len(json.loads(window.stdout)) == 40
    table = uav("detect", "list", "--limit", "3")
    assert table.exit_code == 0 and "3 detections" in table.stderr


def test_stats(uav: Invoke, logged: dict[str, object]) -> None:
    st = json.loads(uav("detect", "stats", "--json").stdout)
    assert st["detections"] == 120 and st["unauthorised"] == 80
    zones = {z["zone_id"]: z for z in st["per_zone"]}
    assert zones[1]["detections"] == 40 and zones[1]["unauthorised"] == 20
    assert zones[1]["incidents_high"] == 1 and zones[2]["incidents_medium"] == 1
    assert sum(h["detections"] for h in st["per_hour"]) == 120
    assert [s["detections"] for s in st["per_source"]] == [120]


@pytest.mark.parametrize("fmt", ["csv", "geojson", "kml", "html"])
def test_report_formats(uav: Invoke, logged: dict[str, object], tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    res = uav("detect", "report", "--format", fmt, "-o", out)
    assert res.exit_code == 0, res.output
    text = out.read_text()
    assert INTRUDER_INCIDENT in text and "rid:WALKER-2@2#1795000011" in text


def test_report_bad_format(uav: Invoke, tmp_path: Path) -> None:
    res = uav("detect", "report", "--format", "pdf", "-o", tmp_path / "r.pdf")
    assert res.exit_code == 2 and not (tmp_path / "r.pdf").exists()


def test_listen_bad_source_and_bad_alert(uav: Invoke, tmp_path: Path) -> None:
    assert uav("detect", "listen", "nonsense:x", "--duration", "1").exit_code == 2
    feed = jsonl(tmp_path / "f.jsonl", crossing("A")[:2])
    assert uav("detect", "listen", f"jsonl:{feed}", "--on-alert", "'unclosed").exit_code == 2


# --- the alert runner ----------------------------------------------------------------------


def incident() -> Incident:
    return Incident(
        "rid:A@1#1", "rid:A", 1, "event", Severity.HIGH, IncidentState.OPEN, T0, T0, None, 1,
        False, 23.0, 113.0, 50.0, remote_id="A",
    )  # fmt: skip


def test_alert_failures_are_reported_never_raised() -> None:
    inc = incident()
    ok = run_alert([sys.executable, "-c", "import sys, json; json.load(sys.stdin)"], inc, 30.0)
    assert ok.ok and ok.detail == "exit 0"
    bad = run_alert([sys.executable, "-c", "import sys; sys.exit('no pager')"], inc, 30.0)
    assert not bad.ok and bad.detail == "exit 1: no pager"
    hung = run_alert([sys.executable, "-c", "import threading; threading.Event().wait()"], inc, 0.5)
    assert not hung.ok and hung.detail == "timed out after 0.5 s"
    missing = run_alert(["/nonexistent/uav-alert"], inc, 5.0)
    assert not missing.ok and missing.detail.startswith("cannot run")


def test_alert_runner_runs_each_in_order_and_reports() -> None:
    outcomes: list[AlertOutcome] = []
    runner = AlertRunner(f"{sys.executable} -c 'import sys; sys.exit(0)'", outcomes.append)
    runner.submit(incident())
    runner.submit(replace(incident(), incident_id="rid:B@1#1"))
    assert runner.close()
    assert [(o.incident_id, o.ok) for o in outcomes] == [("rid:A@1#1", True), ("rid:B@1#1", True)]
    assert (runner.sent, runner.failed) == (2, 0)


def test_listen_live_table_on_a_terminal(
    uav: Invoke, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    from rich.console import Console

    import uav.cli.detect as detect_cli

    screen = io.StringIO()
    monkeypatch.setattr(detect_cli, "err", Console(file=screen, force_terminal=True, width=200))
    store = Store.open(db)
    store.add_zones([replace(z, id=None) for z in ZONES])
    store.close()
    feed = jsonl(tmp_path / "feed.jsonl", crossing("INTRUDER-7")[:15])
    res = uav("detect", "listen", f"jsonl:{feed}", "--duration", "60")
    assert res.exit_code == 0, res.output
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", screen.getvalue())
    # the last frame: everything closed when listening stopped
    assert "15 detections, 0 duplicates, 1 incident opened (1 high)" in shown
    assert "incident" in shown and "authorised" in shown  # both tables' headers
    assert "15 detections" in res.stdout


def test_listen_polls_aircraft_json_at_the_given_interval(uav: Invoke, tmp_path: Path) -> None:
    doc = {
        "now": T0,
        "aircraft": [{"hex": "a1b2c3", "lat": 23.13, "lon": 113.33, "seen_pos": 0.5}],
    }
    feed = tmp_path / "aircraft.json"
    feed.write_text(json.dumps(doc))
    res = uav(
        "detect", "listen", f"aircraft-json:{feed}", "--interval", "0.1", "--duration", "1.5",
        "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    (src,) = summary["sources"]
    # one aircraft per poll: polled every 0.1 s (the default is every second), one detection
    # (its position did not change)
    assert src["read"] >= 5, src
    assert summary["detections"] == 1
    assert uav("detect", "listen", f"aircraft-json:{feed}", "--interval", "0").exit_code == 2


def test_a_permit_added_while_listening_applies_to_what_is_judged_after_it(db: Path) -> None:
    from datetime import datetime, timedelta

    from uav.detect.listen import PermitRefresher, open_pipeline
    from uav.detect.permits import Permit

    store = Store.open(db)
    store.add_zones([replace(z, id=None) for z in ZONES])
    pipeline = open_pipeline(store, MemorySink())
    refresher = PermitRefresher(store, pipeline.judge)
    a = crossing("A")

    class TwoPhases:
        name = "test:two-phases"

        def run(
            self, emit: Callable[[list[Detection]], None], stop: threading.Event, st: SourceStats
        ) -> None:
            emit(a[:15])  # into the zone, before the permit
            seen = threading.Event()
            while refresher.changes == 0 and not stop.is_set():  # bounded by listen's duration
                seen.wait(0.02)
            emit(a[15:])

    def on_result(result: Any, _summary: object) -> None:
        if result.detections and not store.permits():
            when = datetime.fromtimestamp(T0) - timedelta(hours=1)
            store.add_permit(Permit(when, when + timedelta(hours=3), remote_id="A"))

    summary = listen(
        [TwoPhases()], pipeline, duration_s=20.0, on_result=on_result,
        refresh=refresher, refresh_s=0.05,
    )  # fmt: skip
    assert summary.reason == "sources ended" and refresher.changes == 1
    judged = pipeline.sink.detections  # type: ignore[attr-defined]
    before = [j for d, j, _ in judged if d.time_s < a[15].time_s]
    after = [j for d, j, _ in judged if d.time_s >= a[15].time_s]
    assert any(j.severity is Severity.HIGH for j in before)
    assert not any(j.authorised for j in before)
    assert after and all(j.authorised and j.authorised_by.startswith("permit:") for j in after)


def test_a_listed_session_replays_to_the_same_sightings(
    uav: Invoke, logged: dict[str, object], tmp_path: Path
) -> None:
    listed = uav("detect", "list", "--json")
    rows = json.loads(listed.stdout)
    assert len(rows) == 120 and all(r["seq"] >= 1 and r["detection"] for r in rows)
    session = tmp_path / "session.json"
    session.write_text(listed.stdout)
    # into the same log: every sighting is already there (same keys), nothing is added
    again = uav("detect", "listen", f"replay:{session}", "--json")
    assert again.exit_code == 0, again.output
    doc = json.loads(again.stdout)
    assert (doc["detections"], doc["duplicates"]) == (0, 120)
    # into a fresh database: judged anew, the same sightings
    fresh = tmp_path / "fresh.db"
    runner_result = CliRunner().invoke(
        app, ["--db", str(fresh), "detect", "listen", f"replay:{session}", "--json"]
    )
    assert runner_result.exit_code == 0, runner_result.output
    assert json.loads(runner_result.stdout)["detections"] == 120
    replayed = CliRunner().invoke(app, ["--db", str(fresh), "detect", "list", "--json"])
    assert [r["detection"] for r in json.loads(replayed.stdout)] == [r["detection"] for r in rows]


def test_a_detection_the_log_cannot_hold_is_refused_and_said(
    uav: Invoke, db: Path, tmp_path: Path
) -> None:
    """A detector line with a NaN among its extra fields: that detection is refused (never
    written as null), the rest logged, and listen says so and exits 1."""
    feed = jsonl(tmp_path / "feed.jsonl", crossing("INTRUDER-7")[:10])
    lines = feed.read_text().splitlines()
    bad = json.loads(lines[-1])
    bad["snr_db"] = float("nan")
    bad["time"] = bad["time"] + 0.5
    lines.append(json.dumps(bad))  # '"snr_db": NaN': Python's json writes it, a detector may
    feed.write_text("\n".join(lines) + "\n")
    res = uav("detect", "listen", f"jsonl:{feed}", "--duration", "60", "--json")
    assert res.exit_code == 1, res.output
    summary = json.loads(res.stdout)
    assert (summary["detections"], summary["refused"]) == (10, 1)
    assert "1 detection(s) held a value the evidence log cannot record" in said(res.stderr)
    assert uav("detect", "verify").exit_code == 0
    assert len(json.loads(uav("detect", "list", "--json").stdout)) == 10
