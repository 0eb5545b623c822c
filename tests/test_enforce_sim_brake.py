"""The emulator's BRAKE mode, which the monitor escalates to: it decelerates at
BRAKE_MODE_DECEL_RATE (7.5 m/s^2, from ArduCopter's source) and holds where it stopped,
while RTL from the same speed takes several times as far (no sockets)."""

from __future__ import annotations

import pytest

from uav.sim.flight import BRAKE_DECEL_MSS, Flight
from uav.sim.params import ParamStore
from uav.sim.physics import Body

DT = 0.05
GROUND = 20.1


def cruising(north_mps: float, east_mps: float = 0.0) -> Flight:
    body = Body(alt_m=GROUND + 30, vn_mps=north_mps, ve_mps=east_mps)
    return Flight(body, GROUND, ParamStore.with_defaults().get)


def run(flight: Flight, seconds: float) -> list[Body]:
    out = []
    for k in range(round(seconds / DT)):
        flight.step(DT, k * DT, armed=True)
        b = flight.body
        out.append(Body(b.north_m, b.east_m, b.alt_m, b.vn_mps, b.ve_mps, b.vu_mps))
    return out


@pytest.mark.parametrize(("vn", "ve"), [(10.0, 0.0), (0.0, -12.0), (6.0, 8.0)])
def test_brake_stops_at_the_brake_mode_rate_and_holds(vn: float, ve: float) -> None:
    flight = cruising(vn, ve)
    flight.brake()
    samples = run(flight, 6.0)
    speed0 = (vn**2 + ve**2) ** 0.5
    ideal_m = speed0**2 / (2 * BRAKE_DECEL_MSS)  # 6.7 m from 10 m/s
    stopped = next(k for k, b in enumerate(samples) if b.ground_speed_mps < 0.05)
    assert stopped * DT == pytest.approx(speed0 / BRAKE_DECEL_MSS, abs=2 * DT)
    b = samples[stopped]
    travelled = (b.north_m**2 + b.east_m**2) ** 0.5
    assert travelled == pytest.approx(ideal_m, abs=speed0 * DT)
    # it holds there: no drift back towards where BRAKE was entered, altitude kept
    last = samples[-1]
    assert abs(last.north_m - b.north_m) < 0.05 and abs(last.east_m - b.east_m) < 0.05
    assert last.alt_m == pytest.approx(GROUND + 30, abs=0.05)


def test_brake_stops_much_shorter_than_the_old_hold() -> None:
    held = cruising(10.0)
    held.hold()  # what BRAKE did before: braking at WPNAV_ACCEL / 2
    hold_m = run(held, 15.0)[-1].north_m
    braked = cruising(10.0)
    braked.brake()
    brake_m = run(braked, 15.0)[-1].north_m
    assert brake_m < 7.5 and hold_m > 35.0
