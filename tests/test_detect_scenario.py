"""The issue's scenario, live: intruders flying set tracks around the Tianhe Sports Center
event zone (sitl_configs/intruders/stadium-event.toml), started by `uav sitl up --emulator`
from the STADIUM-TRAFFIC config, heard on its MAVLink link by the listen loop, then read
back through `uav detect list|stats|verify|report`.

The traffic: UAVX01, a UAV broadcasting ADS-B, crosses the event zone (entering about 101 s
after boot, leaving at about 150 s, vehicle time); a drone broadcasting Remote ID circles
outside it; a broadcaster's camera drone holding a permit circles inside it; a light aircraft
passes over at 400 m. At --speedup 10 the whole test takes about 20 s of wall time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from uav.detect.evidence import EvidenceLog
from uav.detect.listen import ListenSummary, listen, open_pipeline
from uav.detect.model import IncidentState, Judgement, Severity
from uav.detect.pipeline import Result
from uav.detect.report_query import Filters, incidents, tracks
from uav.detect.sources import MavlinkSource
from uav.detect.sources.base import Backoff
from uav.sitl.binary import emulator_available
from uav.sitl.config import load_config
from uav.sitl.ports import connect_url
from uav.store import Store
from uav.timeutil import now_utc

from .conftest import Invoke

pytestmark = pytest.mark.sitl

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "sitl_configs" / "stadium-traffic.toml"
EVENT_ZONE = ROOT / "examples" / "zones" / "tianhe-stadium-match.gcj02.geojson"
SPEEDUP = 10
WAIT_S = 60.0  # wall-clock bound on listening; the crossing ends about 11 s after `up`

CROSSING = "icao:7801A1"  # UAVX01, ADS-B emitter type 14 (UAV)
RID_INTRUDER = "rid:1581F4XJ7B2C9002"
PERMITTED_SERIAL = "GDTV-MATCH-CAM-01"
PERMITTED = f"rid:{PERMITTED_SERIAL}"
MANNED = "icao:780F3C"  # B7012, emitter type 1 (light aircraft)
RID_OPERATOR = (23.1296, 113.3342)  # the intruder file's operator location


@pytest.fixture
def stadium(tmp_path: Path, free_instance: int, uav: Invoke) -> Iterator[str]:
    """STADIUM-TRAFFIC on a free instance, through `uav sitl up --emulator`; its SERIAL0 URL.
    Always stopped again by `uav sitl down`."""
    if not emulator_available():
        pytest.skip("uav.sim is not importable")
    shipped = load_config(CONFIG)
    assert shipped.intruders is not None
    config = tmp_path / "stadium-traffic.toml"
    text = CONFIG.read_text()
    text = text.replace(f"instance = {shipped.instance} ", f"instance = {free_instance} ")
    text = text.replace('"params/', f'"{CONFIG.parent}/params/')
    text = text.replace('"intruders/', f'"{CONFIG.parent}/intruders/')
    config.write_text(text)
    assert load_config(config).instance == free_instance
    state = tmp_path / "state"
    up = uav("sitl", "up", config, "--emulator", "--speedup", SPEEDUP, "--state-dir", state)
    try:
        assert up.exit_code == 0, up.output
        yield connect_url(free_instance)
    finally:
        down = uav("sitl", "down", "--state-dir", state)
        assert down.exit_code == 0, down.output


class Seen:
    """What the listen loop reported, and its stop condition: every aircraft heard, and the
    crossing UAV's incident closed because it was seen outside the zone."""

    def __init__(self) -> None:
        self.judgements: list[Judgement] = []
        self.closed_while_listening: list[str] = []
        self.deadline = time.monotonic() + WAIT_S

    def __call__(self, result: Result, summary: ListenSummary) -> None:
        self.judgements.extend(result.judgements)
        self.closed_while_listening += [
            i.track_id for i in result.incidents if i.state is IncidentState.CLOSED
        ]

    def enough(self, summary: ListenSummary) -> bool:
        assert time.monotonic() < self.deadline, f"scenario not seen within {WAIT_S:g} s"
        heard = {j.track_id for j in self.judgements}
        return {CROSSING, RID_INTRUDER, PERMITTED, MANNED} <= heard and (
            CROSSING in self.closed_while_listening
        )


def load_event_zone(uav: Invoke) -> int:
    """The stadium outline (GCJ-02) as an authorization zone active now, as an officer loads it
    for today's event; returns its id."""
    now = now_utc()
    start, end = (now - timedelta(hours=1)).isoformat(), (now + timedelta(hours=2)).isoformat()
    loaded = uav(
        "zones", "load", EVENT_ZONE, "--crs", "gcj02", "--restriction", "authorization",
        "--start", start, "--end", end,
    )  # fmt: skip
    assert loaded.exit_code == 0, loaded.output
    (zone,) = json.loads(uav("zones", "list", "--json").stdout)
    return int(zone["id"])


def add_permit(uav: Invoke, zone_id: int) -> int:
    now = now_utc()
    added = uav(
        "permits", "add", "--remote-id", PERMITTED_SERIAL, "--operator", "GDTV broadcast",
        "--start", (now - timedelta(hours=1)).isoformat(),
        "--end", (now + timedelta(hours=2)).isoformat(), "--zone", zone_id, "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    return int(json.loads(added.stdout)["id"])


def listed(uav: Invoke, *args: object) -> list[dict[str, Any]]:
    result = uav("detect", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def test_intruders_on_set_tracks_are_detected_judged_and_reported(
    stadium: str, uav: Invoke, db: Path, tmp_path: Path
) -> None:
    zone_id = load_event_zone(uav)
    permit_id = add_permit(uav, zone_id)

    seen = Seen()
    source = MavlinkSource(stadium, name=f"mavlink:{stadium}", backoff=Backoff(0.2, 1.0))
    store = Store.open(db)
    try:
        with EvidenceLog(store) as log:
            pipeline = open_pipeline(store, log)
            summary = listen(
                [source], pipeline, duration_s=WAIT_S, on_result=seen, until=seen.enough
            )
        assert summary.reason == "until", summary.reason
        (run,) = summary.sources
        assert run.error is None and run.stats.skipped == 0
        found = incidents(store, Filters())
        heard = {t.track_id: t for t in tracks(store, {RID_INTRUDER, PERMITTED})}
    finally:
        store.close()

    # the crossing UAV: one incident, high, in the event zone, closed when it left
    (incident,) = found  # nobody else has one: not the permitted drone, not the aircraft
    assert (incident.track_id, incident.zone_id, incident.severity) == (
        CROSSING, zone_id, Severity.HIGH,
    )  # fmt: skip
    assert incident.state is IncidentState.CLOSED and not incident.authorised
    assert incident.closed_s is not None and incident.closed_s > incident.opened_s
    crossing = listed(uav, "--track", CROSSING)
    placed = {d["severity"] for d in crossing if d["zone_id"] == zone_id}
    assert "high" in placed and placed <= {"high", "medium"}  # medium: in the 20 m buffer
    assert not any(d["authorised"] for d in crossing)
    assert {d["category"] for d in crossing} == {"drone"}
    assert crossing[-1]["zone_id"] is None and crossing[-1]["severity"] == "low"  # left

    # the Remote ID intruder: tracked by its serial, with its operator's location
    rid = heard[RID_INTRUDER]
    assert not rid.authorised and rid.remote_id == RID_INTRUDER.removeprefix("rid:")
    assert (rid.operator_lat_deg, rid.operator_lon_deg) == pytest.approx(RID_OPERATOR, abs=1e-6)

    # the permitted drone: authorised by its permit, inside the zone, never an incident
    permitted = heard[PERMITTED]
    assert (permitted.authorised, permitted.authorised_by) == (True, f"permit:{permit_id}")
    by_permit = listed(uav, "--track", PERMITTED)
    assert by_permit and all(d["authorised"] and d["severity"] == "low" for d in by_permit)
    in_zone = {d["track_id"] for d in listed(uav, "--zone", zone_id)}
    assert PERMITTED in in_zone and CROSSING in in_zone

    # the light aircraft: manned, never placed against the drone zones
    manned = listed(uav, "--track", MANNED)
    assert manned and all(
        (d["category"], d["severity"], d["zone_id"]) == ("manned", "low", None) for d in manned
    )
    assert {d["track_id"] for d in listed(uav, "--unauthorised")} == {CROSSING, RID_INTRUDER}

    stats = uav("detect", "stats", "--json")
    assert stats.exit_code == 0, stats.output
    (per_zone,) = json.loads(stats.stdout)["per_zone"]
    assert (per_zone["zone_id"], per_zone["incidents_high"]) == (zone_id, 1)

    verified = uav("detect", "verify")
    assert verified.exit_code == 0, verified.output
    report = tmp_path / "report.html"
    written = uav("detect", "report", "--format", "html", "-o", report)
    assert written.exit_code == 0, written.output
    html = report.read_text()
    assert CROSSING in html and "Tianhe Sports Center match day" in html and "<svg" in html
