"""Flying over TCP (50x): arm, take off, go somewhere in GUIDED, RTL, LAND, disarm."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.sim.conftest import GcsFactory, VehicleFactory
from tests.sim.gcs import Gcs

ARM, TAKEOFF, LAND_CMD, RTL_CMD = 400, 22, 21, 20
STABILIZE, GUIDED, LOITER, RTL, LAND, AUTO = 0, 4, 5, 6, 9, 3
ARMED = 128
EKF_POS_HORIZ_ABS, PREARM_BIT = 0x10, 0x10000000
METRES_PER_E7 = 6378137.0 * math.pi / 180 * 1e-7
SPEEDUP = 100.0  # most of each test is waiting ~42 vehicle s for the EKF


def north_east_m(home: Any, lat: int, lon: int) -> tuple[float, float]:
    north = (lat - home.latitude) * METRES_PER_E7
    east = (lon - home.longitude) * METRES_PER_E7 * math.cos(math.radians(home.latitude * 1e-7))
    return north, east


def offset_e7(home: Any, north_m: float, east_m: float) -> tuple[int, int]:
    lat = home.latitude + north_m / METRES_PER_E7
    lon = home.longitude + east_m / (METRES_PER_E7 * math.cos(math.radians(home.latitude * 1e-7)))
    return round(lat), round(lon)


def ready(gcs: Gcs) -> None:
    """Streams on (POSITION 10 Hz, the rest 4 Hz), then wait for the EKF and pre-arm bit."""
    gcs.request_streams(4)
    gcs.request_streams(10, 6)

    def ok() -> bool:
        ekf, status = gcs.latest("EKF_STATUS_REPORT"), gcs.latest("SYS_STATUS")
        return bool(
            ekf
            and status
            and ekf.flags & EKF_POS_HORIZ_ABS
            and status.onboard_control_sensors_health & PREARM_BIT
        )

    gcs.wait_until(ok, 60, "EKF position and pre-arm bit")


def armed_in_guided(gcs: Gcs) -> None:
    ready(gcs)
    assert gcs.set_mode(GUIDED).result == 0
    assert gcs.command(ARM, 1).result == 0


def take_off(gcs: Gcs, height_m: float = 20.0) -> None:
    assert gcs.command(TAKEOFF, 0, 0, 0, math.nan, 0, 0, height_m).result == 0
    gcs.wait_until(
        lambda: gcs.latest("GLOBAL_POSITION_INT").relative_alt > (height_m - 0.3) * 1000,
        40,
        f"{height_m} m",
    )


def disarmed(gcs: Gcs, timeout_s: float) -> Any:
    return gcs.wait_for("HEARTBEAT", lambda m: not m.base_mode & ARMED, timeout_s)


@pytest.fixture
def flying(make_vehicle: VehicleFactory, connect: GcsFactory) -> Gcs:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    armed_in_guided(gcs)
    take_off(gcs)
    return gcs


def test_arming_in_guided_resets_home_and_shows_armed(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    ready(gcs)
    assert gcs.set_mode(GUIDED).result == 0
    mark = gcs.mark()
    assert gcs.command(ARM, 1).result == 0
    gcs.run_for(1.2)
    after = [r.msg for r in gcs.received[mark:]]
    kinds = [m.get_type() for m in after if m.get_type() != "HEARTBEAT"]
    order = [k for k in kinds if k in ("COMMAND_ACK", "GPS_GLOBAL_ORIGIN", "HOME_POSITION")]
    assert order[:3] == ["COMMAND_ACK", "GPS_GLOBAL_ORIGIN", "HOME_POSITION"]
    assert "Arming motors" in [m.text for m in after if m.get_type() == "STATUSTEXT"]
    hb = gcs.wait_for("HEARTBEAT", lambda m: m.base_mode & ARMED, after=mark)
    assert (hb.base_mode, hb.custom_mode, hb.system_status) == (217, GUIDED, 3)


def test_takeoff_climbs_at_most_2_5_mps_and_holds(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    armed_in_guided(gcs)
    mark = gcs.mark()
    take_off(gcs, 20.0)
    gcs.run_for(3)
    positions = [r.msg for r in gcs.received[mark:] if r.type == "GLOBAL_POSITION_INT"]
    assert positions and min(p.vz for p in positions) >= -252  # cm/s, down positive: never
    # faster than WPNAV_SPEED_UP (that it reaches exactly 250 cm/s is checked in virtual time)
    assert gcs.latest("GLOBAL_POSITION_INT").relative_alt == pytest.approx(20000, abs=100)
    active = gcs.wait_for("HEARTBEAT", after=mark, cond=lambda m: m.system_status == 4)
    assert active.base_mode == 217


def test_takeoff_refused_unless_armed_in_guided(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    ready(gcs)
    assert gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 20).result == 4  # disarmed
    gcs.set_mode(GUIDED)
    assert gcs.command(TAKEOFF, 0, 0, 0, 0, 0, 0, 20).result == 4


def test_guided_goto_stops_within_2_m_and_is_echoed(flying: Gcs) -> None:
    gcs = flying
    home = gcs.latest("HOME_POSITION")
    lat, lon = offset_e7(home, -30, 0)
    mark = gcs.mark()
    gcs.mav.set_position_target_global_int_send(0, 1, 1, 6, 3576, lat, lon, 20, *[0] * 8)

    def there() -> float | None:
        p = gcs.latest("GLOBAL_POSITION_INT")
        distance = math.hypot(*north_east_m(home, p.lat, p.lon))
        return distance if abs(distance - 30) < 2 and abs(p.vx) < 20 else None

    gcs.wait_until(there, 30, "30 m south and stopped", hold_for_s=2)
    positions = [r.msg for r in gcs.received[mark:] if r.type == "GLOBAL_POSITION_INT"]
    peak = max(math.hypot(p.vx, p.vy) for p in positions) / 100
    assert 6.0 <= peak <= 8.0  # flight.jsonl: 6.6 m/s on this move
    assert min(north_east_m(home, p.lat, p.lon)[0] for p in positions) > -32
    target = gcs.latest("POSITION_TARGET_GLOBAL_INT")
    assert (target.lat_int, target.lon_int, target.coordinate_frame) == (lat, lon, 0)
    assert target.type_mask == 65016 and target.alt == pytest.approx(home.altitude / 1000 + 20)
    assert gcs.since(0, "COMMAND_ACK")[-1].command == TAKEOFF  # no ACK for the target


def test_rtl_returns_lands_and_disarms_2_s_after_touchdown(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    # at 20x, not SPEEDUP: the 1.5 m/s part of the descent lasts about 7 vehicle seconds,
    # 70 ms of wall time at 100x, which a busy CI machine's scheduler can swallow whole
    gcs = connect(make_vehicle(speedup=20.0))
    armed_in_guided(gcs)
    take_off(gcs)
    home = gcs.latest("HOME_POSITION")
    lat, lon = offset_e7(home, 60, 0)
    gcs.mav.set_position_target_global_int_send(0, 1, 1, 6, 3576, lat, lon, 20, *[0] * 8)
    gcs.wait_until(lambda: north_east_m(home, *_lat_lon(gcs))[0] > 40, 20, "40 m north on the way")
    battery_before = gcs.latest("BATTERY_STATUS")
    assert gcs.set_mode(RTL).result == 0
    off = disarmed(gcs, 150)
    assert (off.custom_mode, off.base_mode) == (RTL, 81)
    texts = [r for r in gcs.received if r.type == "STATUSTEXT"]
    hit = next(r for r in texts if r.msg.text.startswith("SIM Hit ground at"))
    disarm = next(r for r in texts if r.msg.text == "Disarming motors")
    assert float(hit.msg.text.split()[4]) == pytest.approx(0.5, abs=0.01)
    assert gcs.index_of(hit.msg) < gcs.index_of(disarm.msg)  # timing: test_virtual_time.py
    p = gcs.latest("GLOBAL_POSITION_INT")
    assert abs(p.relative_alt) < 1000
    assert math.hypot(*north_east_m(home, p.lat, p.lon)) < 1.0
    descent = [
        r.msg.vz / 100
        for r in gcs.received
        # the whole descent: about 7 s at 1.5 m/s from 20 m, then 20 s at 0.5 m/s (a 30 s
        # window could miss the fast part when a loaded machine stretched the landing)
        if r.type == "GLOBAL_POSITION_INT" and r.vtime_s > hit.vtime_s - 60 and r.msg.vz > 0
    ]
    profile = [
        (round(r.vtime_s - hit.vtime_s, 1), r.msg.vz, r.msg.relative_alt)
        for r in gcs.received
        if r.type == "GLOBAL_POSITION_INT" and r.vtime_s > hit.vtime_s - 60
    ]
    assert max(descent) == pytest.approx(1.5, abs=0.05), str(profile[::5])  # above 10 m
    assert min(descent[-20:]) == pytest.approx(0.5, abs=0.05)  # the last metres
    battery_after = gcs.latest("BATTERY_STATUS")
    assert battery_after.current_consumed > battery_before.current_consumed > 0
    assert battery_after.battery_remaining < battery_before.battery_remaining < 100
    assert gcs.latest("SYS_STATUS").battery_remaining == battery_after.battery_remaining


def test_land_mode_and_land_command(flying: Gcs) -> None:
    gcs = flying
    assert gcs.command(LAND_CMD).result == 0
    assert gcs.latest("HEARTBEAT").custom_mode == LAND
    off = disarmed(gcs, 80)
    assert off.custom_mode == LAND


def test_return_to_launch_command(flying: Gcs) -> None:
    assert flying.command(RTL_CMD).result == 0
    flying.wait_for("HEARTBEAT", lambda m: m.custom_mode == RTL, 0.5, after=0)


def test_disarm_refused_in_flight_unless_forced(flying: Gcs) -> None:
    gcs = flying
    assert gcs.command(ARM, 0).result == 4
    assert gcs.command(ARM, 0, 21196).result == 0
    gcs.wait_until(
        lambda: any(t.startswith("SIM Hit ground") for t in gcs.texts_since(0)), 10, "the crash"
    )


def test_armed_on_the_ground_disarms_after_disarm_delay(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    ready(gcs)
    assert gcs.set_mode(GUIDED).result == 0
    mark = gcs.mark()
    assert gcs.command(ARM, 1).result == 0
    gcs.wait_for("STATUSTEXT", lambda m: m.text == "Disarming motors", 15, after=mark)
    disarmed(gcs, 2)  # the 10 s DISARM_DELAY itself: test_virtual_time.py


def test_mode_change_refused_when_armed_without_position(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    gcs.run_until(25)  # home set, no GPS position in the EKF yet: STABILIZE may arm
    assert gcs.command(ARM, 1).result == 0
    since = gcs.vtime()
    assert gcs.set_mode(GUIDED).result == 4
    gcs.run_for(0.5)
    assert "Mode change to GUIDED failed: requires position" in gcs.texts_since(since)


def test_loiter_with_throttle_at_minimum_descends_and_lands(flying: Gcs) -> None:
    """SITL has no RC input: RC3 sits at 1000, so LOITER sinks at PILOT_SPEED_UP."""
    gcs = flying
    assert gcs.set_mode(LOITER).result == 0
    gcs.wait_until(lambda: gcs.latest("GLOBAL_POSITION_INT").vz > 240, 5, "descending")
    disarmed(gcs, 30)


def test_arm_refused_in_auto_and_rtl(make_vehicle: VehicleFactory, connect: GcsFactory) -> None:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    ready(gcs)
    for mode in (AUTO, RTL):
        gcs.set_mode(mode)
        since = gcs.vtime()
        assert gcs.command(ARM, 1).result == 4
        gcs.run_for(0.3)
        assert "Arm: Mode not armable" in gcs.texts_since(since)


def _lat_lon(gcs: Gcs) -> tuple[int, int]:
    p = gcs.latest("GLOBAL_POSITION_INT")
    return p.lat, p.lon


def test_do_reposition_by_command_int_flies_there(flying: Gcs) -> None:
    gcs = flying
    home = gcs.latest("HOME_POSITION")
    lat, lon = offset_e7(home, 0, 25)
    mark = gcs.mark()
    gcs.mav.command_int_send(1, 1, 6, 192, 0, 0, -1, 1, 0, math.nan, lat, lon, 15)
    ack = gcs.wait_for("COMMAND_ACK", lambda m: m.command == 192, after=mark)
    assert ack.result == 0

    def arrived() -> bool:
        p = gcs.latest("GLOBAL_POSITION_INT")
        north, east = north_east_m(home, p.lat, p.lon)
        return math.hypot(north, east - 25) < 0.5 and abs(p.relative_alt - 15000) < 300

    gcs.wait_until(arrived, 30, "25 m east at 15 m")


def test_fence_enable_command_sets_fence_enable_in_ram(
    make_vehicle: VehicleFactory, connect: GcsFactory
) -> None:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    gcs.run_until(4)
    mark = gcs.mark()
    assert gcs.command(207, 1).result == 0
    gcs.run_for(0.5)
    assert [r for r in gcs.received[mark:] if r.type == "PARAM_VALUE"] == []
    gcs.mav.param_request_read_send(1, 1, b"FENCE_ENABLE", -1)
    assert gcs.wait_for("PARAM_VALUE", lambda m: m.param_id == "FENCE_ENABLE").param_value == 1
    assert gcs.command(207, 5).result == 4


def test_timesync_is_answered(make_vehicle: VehicleFactory, connect: GcsFactory) -> None:
    gcs = connect(make_vehicle(speedup=SPEEDUP))
    gcs.run_until(2)
    mark = gcs.mark()
    gcs.mav.timesync_send(0, 123456789)
    reply = gcs.wait_for("TIMESYNC", lambda m: m.ts1 == 123456789, after=mark)
    assert reply.tc1 == pytest.approx(gcs.vtime() * 1e9, abs=1e9)
