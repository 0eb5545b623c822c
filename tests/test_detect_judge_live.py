"""End to end against simulated vehicles: two drones broadcasting Remote ID inside an event
zone (an intruder, and a third party holding a permit) and the intruder's simulated ADS-B
traffic (manned aircraft), heard on their MAVLink links by the listen loop, judged, tracked,
logged in the evidence log, then reported."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from uav.detect.evidence import EvidenceLog
from uav.detect.listen import ListenSummary, listen, open_pipeline
from uav.detect.model import Category, IncidentState, Judgement, Severity
from uav.detect.permits import Permit
from uav.detect.pipeline import Result
from uav.detect.report_query import Filters, incidents, sightings
from uav.detect.sources import MavlinkSource
from uav.detect.sources.base import Backoff
from uav.link.transport import open_master
from uav.store import Store
from uav.timeutil import now_utc
from uav.zones.model import Circle, Restriction, Schedule, Zone

pytestmark = pytest.mark.sitl

PARAMS = Path(__file__).resolve().parents[1] / "sitl_configs" / "params"
INTRUDER_PARAMS = [PARAMS / "streams.parm", PARAMS / "adsb-traffic.parm", PARAMS / "remoteid.parm"]
PERMITTED_PARAMS = [PARAMS / "streams.parm", PARAMS / "remoteid.parm"]
WAIT_S = 120.0  # wall-clock bound; generous for a loaded machine, the assertions stay exact
FILL_TIMEOUT_S = 30.0  # wall: the vehicle echoes its Remote ID content within ~1 s
INTRUDER, PERMITTED = "INTR-LIVE-0001", "PERMIT-LIVE-0002"


def fill_remote_id(url: str, serial: str) -> None:
    """Act as the ground station giving the vehicle its Remote ID content (README scenario
    6 of the traces): the vehicle then broadcasts ``serial`` in OPEN_DRONE_ID_BASIC_ID. Sent
    again every second until the vehicle's own BASIC_ID carries it (bounded): a message sent
    while the vehicle is still booting must not leave the test waiting for a serial that
    never comes."""
    master = open_master(url, connect_timeout_s=10.0, source_system=255, source_component=190)
    try:
        mav: Any = master.mav
        zero = [0] * 20
        uas_id = serial.encode().ljust(20, b"\0")
        deadline = time.monotonic() + FILL_TIMEOUT_S
        while True:
            mav.send(mav.open_drone_id_basic_id_encode(1, 1, zero, 1, 2, list(uas_id)))
            mav.send(mav.open_drone_id_operator_id_encode(1, 1, zero, 0, b"CHN-OP-LIVE"))
            if _echoed(master, uas_id, min(1.0, deadline - time.monotonic())):
                return
            assert time.monotonic() < deadline, f"{serial} not broadcast within {FILL_TIMEOUT_S} s"
    finally:
        master.close()


def _echoed(master: Any, uas_id: bytes, within_s: float) -> bool:
    """Whether a BASIC_ID carrying ``uas_id`` arrives within ``within_s`` (wall)."""
    until = time.monotonic() + max(within_s, 0.0)
    while (left := until - time.monotonic()) > 0:
        msg = master.recv_match(type="OPEN_DRONE_ID_BASIC_ID", blocking=True, timeout=left)
        if msg is not None and bytes(msg.uas_id).rstrip(b"\0") == uas_id.rstrip(b"\0"):
            return True
    return False


class Seen:
    """What the listen loop has judged so far, for its stop condition."""

    def __init__(self) -> None:
        self.judgements: list[Judgement] = []
        self.deadline = time.monotonic() + WAIT_S

    def __call__(self, result: Result, summary: ListenSummary) -> None:
        self.judgements.extend(result.judgements)

    def missing(self) -> str:
        """What the stop condition still waits for (for a failure's message)."""
        tracks = sorted({j.track_id for j in self.judgements})
        manned = sum(j.category is Category.MANNED for j in self.judgements)
        return f"tracks seen {tracks}, {manned} manned judgement(s)"

    def enough(self, summary: ListenSummary) -> bool:
        assert time.monotonic() < self.deadline, f"within {WAIT_S:g} s: {self.missing()}"
        tracks = {j.track_id for j in self.judgements}
        manned = sum(j.category is Category.MANNED for j in self.judgements)
        return {f"rid:{INTRUDER}", f"rid:{PERMITTED}"} <= tracks and manned >= 5


def test_intruder_permitted_drone_and_manned_traffic(vehicles: Any, tmp_path: Path) -> None:
    (intruder,) = vehicles(1, params=INTRUDER_PARAMS)
    (permitted,) = vehicles(1, params=PERMITTED_PARAMS)
    fill_remote_id(intruder.url, INTRUDER)
    fill_remote_id(permitted.url, PERMITTED)

    store = Store.open(tmp_path / "uav.db")
    now = now_utc()
    home = intruder.home
    event = Zone(
        "stadium event",
        Restriction.PROHIBITED,
        Circle(home.lon_deg, home.lat_deg, 300.0),
        schedule=Schedule(start=now - timedelta(hours=1), end=now + timedelta(hours=2)),
    )
    (zone,), _ = store.add_zones([event])
    assert zone.id is not None
    permit = store.add_permit(
        Permit(start=now - timedelta(hours=1), end=now + timedelta(hours=2), remote_id=PERMITTED)
    )

    seen = Seen()
    sources = [
        MavlinkSource(intruder.url, name=f"mavlink:{intruder.url}", backoff=Backoff(0.2, 1.0)),
        MavlinkSource(permitted.url, name=f"mavlink:{permitted.url}", backoff=Backoff(0.2, 1.0)),
    ]
    with EvidenceLog(store) as log:
        pipeline = open_pipeline(store, log)
        summary = listen(sources, pipeline, duration_s=WAIT_S, on_result=seen, until=seen.enough)
    assert summary.reason == "until", (summary.reason, seen.missing())
    assert all(r.error is None and r.stats.skipped == 0 for r in summary.sources)

    by_track: dict[str, list[Judgement]] = {}
    for j in seen.judgements:
        by_track.setdefault(j.track_id, []).append(j)
    intr = by_track[f"rid:{INTRUDER}"]
    assert {(j.severity, j.zone_id, j.authorised) for j in intr} == {
        (Severity.HIGH, zone.id, False)
    }
    perm = by_track[f"rid:{PERMITTED}"]
    assert {(j.severity, j.authorised, j.authorised_by) for j in perm} == {
        (Severity.LOW, True, f"permit:{permit.id}")
    }
    assert all(j.zone_ids == (zone.id,) for j in perm)  # placed, though authorised
    manned = [j for j in seen.judgements if j.category is Category.MANNED]
    assert manned and all(j.zone_ids == () and j.severity is Severity.LOW for j in manned)

    # the evidence log holds it all, and the incidents are the intruder's (and, before the
    # vehicles' serials were heard, id-less Remote ID plots at home), never the permitted
    # drone's nor the manned aircraft's
    logged = sightings(store, Filters())
    assert len(logged) == summary.detections
    found = incidents(store, Filters(zone_id=zone.id))
    ids = {i.track_id for i in found}
    assert f"rid:{INTRUDER}" in ids and f"rid:{PERMITTED}" not in ids
    assert all(t.startswith(("rid:", "plot:")) for t in ids)
    assert all(i.state is IncidentState.CLOSED for i in found)  # closed when listening stopped
    (intr_incident,) = [i for i in found if i.track_id == f"rid:{INTRUDER}"]
    assert intr_incident.severity is Severity.HIGH and intr_incident.zone_name == "stadium event"
    store.close()
