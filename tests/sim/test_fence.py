"""FenceMonitor: the recorded flight's fence breach replayed, then each rule on its own."""

from __future__ import annotations

import bisect
from typing import Any

import pytest

from tests.sim.parts_fakes import (
    CLIENT_IDS,
    Encoder,
    FakeServices,
    MissionClient,
    load_trace,
    mismatches,
)
from uav.geo.local import LocalFrame
from uav.sim.fence import FenceMonitor
from uav.sim.interfaces import Position
from uav.sim.mission import MissionServer

HOME = (23.1290999, 113.3240000, 20.1)
FRAME = LocalFrame(HOME[1], HOME[0])
RTL, LAND, BRAKE, SMART_RTL, GUIDED = 6, 9, 17, 21, 4


# ------------------------------------------------------------- the recorded flight


class _Track:
    """The recorded GLOBAL_POSITION_INT samples, linearly interpolated in time."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        samples = [r for r in rows if r["type"] == "GLOBAL_POSITION_INT" and r["dir"] == "rx"]
        self.times = [r["fields"]["time_boot_ms"] / 1000 for r in samples]  # vehicle time
        self.fields = [r["fields"] for r in samples]

    def at(self, t: float) -> Position | None:
        i = bisect.bisect_right(self.times, t)
        if i == 0 or i == len(self.times) or self.fields[i - 1]["lat"] == 0:
            return None
        a, b = self.fields[i - 1], self.fields[i]
        f = (t - self.times[i - 1]) / (self.times[i] - self.times[i - 1])

        def mix(key: str, scale: float) -> float:
            return (a[key] + f * (b[key] - a[key])) * scale

        return Position(
            mix("lat", 1e-7), mix("lon", 1e-7), mix("alt", 1e-3), mix("relative_alt", 1e-3),
            mix("vx", 0.01), mix("vy", 0.01), mix("vz", 0.01),
        )  # fmt: skip


@pytest.fixture(scope="module")
def flight() -> dict[str, Any]:
    """Replay flight.jsonl from 44 s to 150 s (arming, guided flight, breach, RTL, landing)."""
    rows = load_trace("flight")
    services = FakeServices()
    mission = MissionServer(services)
    fence = FenceMonitor(services, mission)
    client = Encoder(*CLIENT_IDS)
    track = _Track(rows)
    stream: list[tuple[dict[str, Any], Any]] = []
    pending = [r for r in rows if r["t"] < 150.0]
    index = 0
    step_s = 0.0025
    while index < len(pending):
        row = pending[index]
        while services.now + step_s < row["t"]:
            services.now = round(services.now + step_s, 6)
            services.pos = track.at(services.now) if services.now > 44.0 else None
            if services.now > 44.0:
                fence.update()
        index += 1
        _apply(row, services, mission, client)
        if row["type"] == "FENCE_STATUS":
            stream.append((row, fence.status_message(services.links[0].mav)))
    return {"services": services, "stream": stream, "fence": fence}


def _apply(
    row: dict[str, Any], services: FakeServices, mission: MissionServer, client: Encoder
) -> None:
    fields = row["fields"]
    if row["dir"] == "tx" and row["type"].startswith("MISSION"):
        mission.handle(client.from_trace(row), services.links[0])
        mission.tick()
    elif row["dir"] == "tx" and row["type"] == "PARAM_SET":
        services.params[fields["param_id"]] = fields["param_value"]
    elif row["type"] == "HOME_POSITION":
        services.home_value = (
            fields["latitude"] * 1e-7,
            fields["longitude"] * 1e-7,
            fields["altitude"] * 1e-3,
        )
    elif row["type"] == "HEARTBEAT" and row["sys"] == 1:
        services.armed = bool(fields["base_mode"] & 128)
        services.mode = fields["custom_mode"]


def test_flight_breaches_at_the_polygon_edge_once(flight: dict[str, Any]) -> None:
    services: FakeServices = flight["services"]
    (status,) = services.sent("FENCE_STATUS")
    assert abs(status.t - 86.572) < 0.005
    assert (
        mismatches(
            {"breach_status": 1, "breach_count": 1, "breach_type": 3, "breach_mitigation": 1},
            status.msg,
        )
        == []
    )
    assert abs(status.msg.breach_time - 86572) <= 5
    assert services.mode_requests == [(status.t, RTL, True)]


def test_flight_texts_like_sitl(flight: dict[str, Any]) -> None:
    services: FakeServices = flight["services"]
    upload_texts = {"Fence Indexed OK", "Flight plan received"}
    got = [
        (s.t, s.msg.severity, s.msg.text)
        for s in services.sent("STATUSTEXT")
        if s.msg.text not in upload_texts
    ]
    recorded = [
        (86.603, 5, "Polygon fence breached"),
        (86.603, 6, "Manual recovery started"),
        (95.927, 5, "Fence breach cleared"),
    ]
    assert [g[1:] for g in got] == [r[1:] for r in recorded]
    for (t, _, _), (t_rec, _, _) in zip(got, recorded, strict=True):
        assert abs(t - t_rec) < 0.05


def test_flight_stream_status_matches_every_recorded_fence_status(flight: dict[str, Any]) -> None:
    services: FakeServices = flight["services"]
    (breach,) = services.sent("FENCE_STATUS")
    compared = 0
    for row, ours in flight["stream"]:
        if abs(row["t"] - breach.t) < 0.02:
            continue  # the breach's own out-of-stream FENCE_STATUS, checked above
        assert ours is not None
        assert mismatches(row["fields"], ours, skip={"breach_time"}) == [], row["t"]
        assert abs(ours.breach_time - row["fields"]["breach_time"]) <= 10
        compared += 1
    assert compared > 200


# --------------------------------------------------------------- scripted setups


def fence_items(
    command: int, corners_ne: list[tuple[float, float]], start: int = 0
) -> list[dict[str, Any]]:
    out = []
    for i, (north, east) in enumerate(corners_ne):
        lon, lat = FRAME.to_lonlat(east, north)
        out.append({
            "target_system": 1, "target_component": 1, "seq": start + i, "frame": 0,
            "command": command, "current": 0, "autocontinue": 1, "param1": float(len(corners_ne)),
            "param2": 0.0, "param3": 0.0, "param4": 0.0, "x": round(float(lat) * 1e7),
            "y": round(float(lon) * 1e7), "z": 0.0, "mission_type": 1,
        })  # fmt: skip
    return out


def circle_item(command: int, north: float, east: float, radius: float, seq: int) -> dict[str, Any]:
    (item,) = fence_items(command, [(north, east)], seq)
    item["param1"] = radius
    return item


def upload_fence(
    services: FakeServices, mission: MissionServer, items: list[dict[str, Any]]
) -> None:
    assert MissionClient(services, mission).upload(items, mission_type=1) == 0


class Vehicle:
    """A FakeServices vehicle at home, armed, fence on, that the test moves around."""

    def __init__(self, **params: float) -> None:
        self.services = FakeServices(home_value=HOME, armed=True, mode=GUIDED)
        self.services.params.update(
            {"FENCE_ENABLE": 1, "FENCE_TYPE": 7, "FENCE_ACTION": 1, "FENCE_ALT_MAX": 60, **params}
        )
        self.mission = MissionServer(self.services)
        self.fence = FenceMonitor(self.services, self.mission)

    def at(self, north: float, east: float, alt: float) -> Vehicle:
        lon, lat = FRAME.to_lonlat(east, north)
        self.services.now = round(self.services.now + 0.1, 6)
        self.services.pos = Position(float(lat), float(lon), HOME[2] + alt, alt)
        self.fence.update()
        return self

    def status(self) -> Any:
        return self.fence.status_message(self.services.links[0].mav)

    def modes(self) -> list[int]:
        return [m for _, m, ok in self.services.mode_requests if ok]

    def texts(self) -> list[str]:
        return [t for _, t in self.services.texts()]


def test_max_altitude_breach_and_backup_fence() -> None:
    v = Vehicle().at(0, 0, 59.9)
    assert v.status().breach_status == 0
    v.at(0, 0, 60.5)
    assert (v.status().breach_status, v.status().breach_type, v.status().breach_count) == (1, 2, 1)
    assert v.modes() == [RTL] and "Max Alt fence breached" in v.texts()
    v.services.mode = GUIDED  # the pilot takes over and keeps climbing
    v.at(0, 0, 80.0)
    assert v.fence.breach_count == 1
    v.at(0, 0, 80.6)  # 20 m above where it breached: the backup fence
    assert v.fence.breach_count == 2 and v.modes() == [RTL, RTL]
    v.at(0, 0, 50.0)
    assert v.status().breach_status == 0 and v.status().breach_type == 0
    assert v.status().breach_count == 2 and v.texts()[-1] == "Fence breach cleared"


def test_circle_breach_far_outside_lands() -> None:
    v = Vehicle(FENCE_RADIUS=150).at(149.0, 0.0, 10)
    assert v.fence.breaches == 0
    v.at(100.0, 260.0, 10)  # 279 m from home: more than 100 m beyond the 150 m circle
    assert v.status().breach_type == 3 and v.modes() == [LAND]
    assert "Circle fence breached" in v.texts()


@pytest.mark.parametrize(
    ("action", "refused", "expected"),
    [
        (1, set(), [RTL]),
        (1, {RTL}, [LAND]),
        (2, set(), [LAND]),
        (3, {SMART_RTL}, [RTL]),
        (3, {SMART_RTL, RTL}, [LAND]),
        (4, set(), [BRAKE]),
        (5, {SMART_RTL}, [LAND]),
        (42, set(), [RTL]),
    ],
)
def test_actions_and_fallbacks(action: int, refused: set[int], expected: list[int]) -> None:
    v = Vehicle(FENCE_ACTION=action)
    v.services.refused_modes = refused
    v.at(0, 0, 70)
    assert v.modes() == expected
    assert v.texts()[-1] == "Manual recovery started"


def test_report_only_changes_no_mode() -> None:
    v = Vehicle(FENCE_ACTION=0).at(0, 0, 70)
    assert v.services.mode_requests == [] and len(v.services.sent("FENCE_STATUS")) == 1
    assert v.texts() == ["Max Alt fence breached"]


def test_landing_vehicle_is_left_landing() -> None:
    v = Vehicle()
    v.services.mode = LAND
    v.at(0, 0, 70)
    assert v.services.mode_requests == [] and v.fence.breach_count == 1


def test_no_checks_while_disarmed() -> None:
    v = Vehicle()
    v.services.armed = False
    v.at(0, 0, 500)
    assert v.fence.breach_count == 0 and v.status().breach_status == 0


def test_disabled_fence_sends_no_status_and_forgets_breach() -> None:
    v = Vehicle().at(0, 0, 70)
    v.services.params["FENCE_ENABLE"] = 0
    v.at(0, 0, 70)
    assert v.status() is None and v.fence.breaches == 0
    v.services.params["FENCE_ENABLE"] = 1
    assert v.status().breach_status == 0 and v.status().breach_count == 1


def test_polygons_and_circles_from_the_upload() -> None:
    v = Vehicle(FENCE_TYPE=4)
    items = fence_items(5001, [(200, -200), (200, 200), (-200, 200), (-200, -200)])
    items += [circle_item(5004, -60, 80, 20, seq=4)]
    upload_fence(v.services, v.mission, items)
    v.at(199.0, 0, 10)
    assert v.fence.breaches == 0
    v.at(201.0, 0, 10)  # out of the inclusion polygon
    assert v.fence.breaches == 4 and v.texts()[-2] == "Polygon fence breached"
    v.at(0, 0, 10).at(-60, 62, 10)  # cleared, then 18 m from the exclusion circle's centre
    assert v.fence.breach_count == 2
    v.at(-60, 58.5, 10)
    assert v.fence.breaches == 0


def test_breach_exactly_at_edge_not_margin_early() -> None:
    v = Vehicle(FENCE_TYPE=4, FENCE_MARGIN=5)
    upload_fence(
        v.services, v.mission, fence_items(5002, [(60, -25), (60, 25), (100, 25), (100, -25)])
    )
    v.at(59.9, 0, 30)
    assert v.fence.breaches == 0
    v.at(60.1, 0, 30)
    assert v.fence.breaches == 4


def test_new_upload_replaces_the_geometry() -> None:
    v = Vehicle(FENCE_TYPE=4)
    upload_fence(
        v.services, v.mission, fence_items(5002, [(60, -25), (60, 25), (100, 25), (100, -25)])
    )
    v.at(80, 0, 30)
    assert v.fence.breaches == 4
    upload_fence(
        v.services, v.mission, fence_items(5002, [(-60, -25), (-60, 25), (-100, 25), (-100, -25)])
    )
    v.at(80, 0, 30)
    assert v.fence.breaches == 0


def test_min_altitude_only_after_climbing_above_it() -> None:
    v = Vehicle(FENCE_TYPE=8, FENCE_ALT_MIN=10)
    v.at(0, 0, 0.0).at(0, 0, 5.0)
    assert v.fence.breach_count == 0
    v.at(0, 0, 12.0).at(0, 0, 9.0)
    assert (v.status().breach_type, v.fence.breach_count) == (1, 1)
    assert "Min Alt fence breached" in v.texts()


def test_arm_check() -> None:
    v = Vehicle(FENCE_TYPE=4)
    assert v.fence.arm_check(position_ok=False) == "Fence requires position"
    upload_fence(
        v.services, v.mission, fence_items(5002, [(-10, -10), (-10, 10), (10, 10), (10, -10)])
    )
    v.services.pos = Position(HOME[0], HOME[1], HOME[2], 0.0)
    assert v.fence.arm_check(position_ok=True) == "Vehicle breaching Polygon fence"
    v.at(50, 50, 0)
    assert v.fence.arm_check(position_ok=True) is None
    v.services.params["FENCE_ENABLE"] = 0
    assert v.fence.arm_check(position_ok=False) is None


def test_altitude_fence_works_before_home_is_known() -> None:
    v = Vehicle()
    v.services.home_value = None
    v.at(0, 0, 70)
    assert (v.status().breach_type, v.modes()) == (2, [RTL])
    assert v.fence.arm_check(position_ok=True) == "Fence requires position"
