"""The point-mass flight model on its own: climb, moves, landing, RTL (no sockets)."""

from __future__ import annotations

import math

import pytest

from uav.sim.flight import SPOOL_UP_S, Flight, Target, Touchdown
from uav.sim.params import ParamStore
from uav.sim.physics import Body, GeoOrigin, approach_speed, e7
from uav.sim.rtl import RtlPlan

DT = 0.05
GROUND = 20.1


@pytest.fixture
def params() -> ParamStore:
    return ParamStore.with_defaults()


def make_flight(params: ParamStore, alt_m: float = GROUND) -> Flight:
    return Flight(Body(alt_m=alt_m), GROUND, params.get)


def fly(flight: Flight, seconds: float, start_s: float = 0.0) -> list[tuple[float, Body]]:
    """Step for ``seconds``; returns (time, copy of the body) after each step."""
    samples = []
    t = start_s
    for _ in range(round(seconds / DT)):
        t += DT
        flight.step(DT, t, armed=True)
        b = flight.body
        samples.append((t, Body(b.north_m, b.east_m, b.alt_m, b.vn_mps, b.ve_mps, b.vu_mps)))
    return samples


def test_takeoff_waits_for_spool_up_then_climbs_at_most_2_5_mps(params: ParamStore) -> None:
    flight = make_flight(params)
    flight.takeoff(GROUND + 20, now_s=0.0, armed_at_s=0.0)
    samples = fly(flight, 20.0)
    first_climb = next(t for t, b in samples if b.alt_m > GROUND + 1e-6)
    assert first_climb == pytest.approx(SPOOL_UP_S, abs=2 * DT)
    assert max(b.vu_mps for _, b in samples) == pytest.approx(2.5, abs=0.01)
    assert flight.body.alt_m == pytest.approx(GROUND + 20, abs=0.05)


def test_goto_stops_on_target_without_overshoot(params: ParamStore) -> None:
    flight = make_flight(params, alt_m=GROUND + 20)
    flight.goto(Target(-30.0, 0.0, GROUND + 20))
    samples = fly(flight, 20.0)
    assert min(b.north_m for _, b in samples) >= -30.0 - 0.2
    peak = max(b.ground_speed_mps for _, b in samples)
    assert 6.0 <= peak <= 8.0  # flight.jsonl: 6.6 m/s on the 30 m move
    assert flight.body.north_m == pytest.approx(-30.0, abs=0.05)
    assert flight.body.ground_speed_mps < 0.05


def test_passing_exactly_over_the_target_still_moving_brakes_to_it(params: ParamStore) -> None:
    """A long step (a starved emulator) can leave the body exactly on its target while it
    still moves: the model stops there rather than dividing by the zero distance."""
    flight = make_flight(params, alt_m=GROUND + 20)
    flight.body.vn_mps = 3.0
    flight.goto(Target(0.0, 0.0, GROUND + 20))
    fly(flight, 10.0)
    assert flight.body.north_m == pytest.approx(0.0, abs=0.05)
    assert flight.body.ground_speed_mps < 0.05


def test_long_move_cruises_at_wpnav_speed(params: ParamStore) -> None:
    flight = make_flight(params, alt_m=GROUND + 30)
    flight.goto(Target(130.0, 0.0, GROUND + 30))
    samples = fly(flight, 30.0)
    assert max(b.ground_speed_mps for _, b in samples) == pytest.approx(10.0, abs=0.01)
    params.set("WPNAV_SPEED", 500)
    flight.goto(Target(0.0, 0.0, GROUND + 30))
    samples = fly(flight, 40.0)
    assert max(b.ground_speed_mps for _, b in samples) == pytest.approx(5.0, abs=0.01)


def test_land_descends_fast_then_at_land_speed_and_touches_down(params: ParamStore) -> None:
    flight = make_flight(params, alt_m=GROUND + 30)
    flight.land()
    touchdown = None
    speeds: dict[str, list[float]] = {"high": [], "low": []}
    t = 0.0
    while touchdown is None and t < 120:
        t += DT
        height = flight.height_m
        touchdown = flight.step(DT, t, armed=True)
        if touchdown is None:
            (speeds["high"] if height > 11 else speeds["low"]).append(-flight.body.vu_mps)
    assert isinstance(touchdown, Touchdown)
    assert max(speeds["high"]) == pytest.approx(1.5, abs=0.01)
    assert max(speeds["low"][40:]) == pytest.approx(0.5, abs=0.01)  # after slowing down
    assert touchdown.speed_mps == pytest.approx(0.5, abs=0.01)
    assert flight.on_ground


def test_rtl_climbs_to_rtl_alt_returns_waits_and_lands(params: ParamStore) -> None:
    flight = make_flight(params, alt_m=GROUND + 5)
    flight.body.north_m = 60.0
    plan = RtlPlan(params.get)
    plan.start(flight, Target(0.0, 0.0, GROUND), 0.0)
    assert plan.phase == "climb"
    t, phases, touchdown = 0.0, [plan.phase], None
    while touchdown is None and t < 200:
        t += DT
        touchdown = flight.step(DT, t, armed=True)
        plan.step(flight, t)
        if plan.phase != phases[-1]:
            phases.append(plan.phase)
    assert phases == ["climb", "return", "loiter", "land"]
    assert touchdown is not None
    assert math.hypot(flight.body.north_m, flight.body.east_m) < 0.5


def test_rtl_above_rtl_alt_returns_at_its_altitude(params: ParamStore) -> None:
    flight = make_flight(params, alt_m=GROUND + 30)
    flight.body.north_m = 80.0
    plan = RtlPlan(params.get)
    plan.start(flight, Target(0.0, 0.0, GROUND), 0.0)
    assert plan.phase == "return"
    assert flight.target is not None and flight.target.alt_m == pytest.approx(GROUND + 30)


def test_disarmed_in_the_air_falls(params: ParamStore) -> None:
    flight = make_flight(params, alt_m=GROUND + 10)
    touchdown = None
    t = 0.0
    while touchdown is None and t < 10:
        t += DT
        touchdown = flight.step(DT, t, armed=False)
    assert touchdown is not None and touchdown.speed_mps > 10


def test_geo_conversion_round_trips() -> None:
    origin = GeoOrigin(23.1291, 113.3240, 20.1)
    lat, lon = origin.to_geo(-30.0, 40.0)
    north, east = origin.to_ne(lat, lon)
    assert (north, east) == (pytest.approx(-30.0), pytest.approx(40.0))
    assert abs(e7(23.1291) - 231290999) <= 1  # boot.jsonl HOME_POSITION.latitude


def test_approach_speed_allows_stopping_in_the_distance() -> None:
    assert approach_speed(0.0, 10, 1.25) == 0.0
    v = approach_speed(8.0, 10, 1.25)
    assert v * v / (2 * 1.25) == pytest.approx(8.0)
    assert approach_speed(1000.0, 10, 1.25) == 10
