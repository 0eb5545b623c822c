"""`uav fly` against emulated vehicles: check, readiness, upload, arm, AUTO, follow to the
ground; Ctrl-C sends the drone home (a real SIGINT to a `uav` process, and the same
KeyboardInterrupt raised in-process at a chosen moment)."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.fleet_support import HOME_LAT, HOME_LON, register, said, write_plan, write_zone
from tests.sim_plugin import SimVehicle, VehicleFactory
from uav.fleet import FlightAborted, InFlight, Step, fly
from uav.fleet.events import FlyEvent
from uav.store import Store
from uav.store.drones import Drone

SPEEDUP = 25.0
ROOT = Path(__file__).resolve().parents[1]


def landed_at_home(uav: Invoke) -> dict[str, object]:
    r = uav("fleet", "status", "TH-01", "--json", "--timeout", "3")
    (s,) = json.loads(r.stdout)
    assert s["armed"] is False and s["alt_rel_m"] == pytest.approx(0.0, abs=0.5), s
    assert s["lat_deg"] == pytest.approx(HOME_LAT, abs=3e-5), s
    assert s["lon_deg"] == pytest.approx(HOME_LON, abs=3e-5), s
    return dict(s)


@pytest.mark.sitl
@pytest.mark.slow
def test_fly_small_plans_to_landed_and_disarmed(
    uav: Invoke, vehicles: VehicleFactory, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP)  # not ready: fly waits for GPS, EKF and home
    register(uav, v)
    plan = write_plan(tmp_path / "small.plan", [(20.0, 0.0, 10.0), (20.0, 15.0, 12.0)])
    r = uav("fly", "TH-01", "--plan", plan)
    assert r.exit_code == 0, r.stderr
    text = said(r.stderr)
    assert "plan clear" in text
    assert "EKF position no" in text and "EKF position ok, pre-arm passed, home set" in text
    assert "mission upload: 5/5 items" in text and "uploaded and verified" in text
    assert "armed; mission started (AUTO)" in text
    for item in ("item 2/4", "item 3/4", "item 4/4"):
        assert f"flight: AUTO (armed), {item}" in text
    assert "item 2/4, 20 m to go" in text or "item 2/4, 19 m to go" in text
    assert "TH-01: landed and disarmed after" in text and "m from home" in text
    landed_at_home(uav)

    # a plan without RTL or LAND: the RTL the check assumed is added, and flown
    open_ended = write_plan(tmp_path / "no-rtl.plan", [(25.0, 0.0, 10.0)], rtl=False)
    r = uav("fly", "TH-01", "--plan", open_ended)
    assert r.exit_code == 0, r.stderr
    assert "item 3 RTL added, as the check assumed" in said(r.stderr)
    assert "mission upload: 4/4 items" in said(r.stderr)
    landed_at_home(uav)


def test_fly_refuses_a_plan_that_is_not_clear_before_any_link(uav: Invoke, tmp_path: Path) -> None:
    # nothing listens at this URL: a link attempt would end in exit 2, not 1
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    assert uav("zones", "load", write_zone(tmp_path / "z.geojson", "NFZ", 50, 0, 10)).exit_code == 0
    plan = write_plan(tmp_path / "bad.plan", [(100.0, 0.0, 10.0)])
    r = uav("fly", "TH-01", "--plan", plan)
    assert r.exit_code == 1, r.stderr
    assert "bad.plan: NOT CLEAR" in r.stdout
    assert "refused: TH-01: the plan is not clear" in said(r.stderr)
    assert "cannot connect" not in r.stderr
    r = uav("fly", "TH-01", "--plan", write_plan(tmp_path / "ok.plan", [(-20.0, 0.0, 10.0)]))
    assert r.exit_code == 2 and "TH-01: tcp:127.0.0.1:9: cannot connect" in said(r.stderr)
    r = uav("fly", "TH-01", "--plan", plan, "--at", "2000-01-01T00:00Z")
    assert r.exit_code == 2 and "uav fly takes off now" in said(r.stderr)
    assert "cannot connect" not in r.stderr
    assert uav("fly", "TH-09", "--plan", plan).exit_code == 2
    assert uav("fly", "TH-01", "--plan", tmp_path / "missing.plan").exit_code == 2


@pytest.mark.sitl
@pytest.mark.slow
def test_keyboard_interrupt_in_flight_returns_home(
    vehicles: VehicleFactory, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP, ready=True)
    store = Store.open(tmp_path / "lib.db")
    store.add_drone(_drone(v))
    plan = write_plan(tmp_path / "far.plan", [(200.0, 0.0, 20.0)])
    seen: list[FlyEvent] = []

    def on_event(event: FlyEvent) -> None:
        seen.append(event)
        outbound = isinstance(event, InFlight) and event.seq == 2 and not event.returning
        if outbound and (getattr(event, "wp_distance_m", None) or 999.0) < 170.0:
            raise KeyboardInterrupt  # as Ctrl-C would, on the way out

    result = fly(store, "TH-01", plan, on_event=on_event)
    assert result.aborted and result.final.armed is False
    assert result.landed_from_home_m is not None and result.landed_from_home_m < 3.0
    assert Step("Ctrl-C: returning to launch (RTL)") in seen
    back = [e for e in seen if isinstance(e, InFlight) and e.returning]
    assert back and {e.mode for e in back} == {"RTL"}
    assert max(e.wp_distance_m or 0.0 for e in back) > 25.0  # it was away, and came home


@pytest.mark.sitl
def test_keyboard_interrupt_before_take_off_flies_nothing(
    vehicles: VehicleFactory, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=SPEEDUP)
    store = Store.open(tmp_path / "lib.db")
    store.add_drone(_drone(v))
    plan = write_plan(tmp_path / "small.plan", [(20.0, 0.0, 10.0)])

    def on_event(event: FlyEvent) -> None:
        if isinstance(event, Step) and event.text.startswith("waiting for GPS"):
            raise KeyboardInterrupt

    with pytest.raises(FlightAborted, match="TH-01: interrupted before take-off"):
        fly(store, "TH-01", plan, on_event=on_event)


def _drone(v: SimVehicle) -> Drone:
    return Drone(name="TH-01", connect_url=v.url, sysid=v.sysid)


@pytest.mark.sitl
@pytest.mark.slow
def test_ctrl_c_to_a_uav_process_sends_rtl_and_follows_it_down(
    uav: Invoke, db: Path, vehicles: VehicleFactory, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=20.0, ready=True)
    register(uav, v)
    plan = write_plan(tmp_path / "far.plan", [(200.0, 0.0, 20.0)])
    # Python's own Ctrl-C handler, as in a terminal (a test run started in the background
    # would hand SIGINT down ignored)
    start = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    command = [sys.executable, "-c", start + "from cli import main; main()"]
    proc = subprocess.Popen(
        [*command, "--db", str(db), "fly", "TH-01", "--plan", str(plan)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    lines: queue.Queue[str | None] = queue.Queue()
    seen: list[str] = []

    def read() -> None:
        for line in proc.stderr or []:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, name="uav-fly-stderr", daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30.0
        while not any("item 2/3" in line for line in seen):
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, "".join(seen)  # the process ended before the leg
            seen.append(line)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30.0) == 1, "".join(seen)
        reader.join(5.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5.0)
    while (line := lines.get_nowait() if not lines.empty() else None) is not None:
        seen.append(line)
    text = "".join(seen)
    assert "Ctrl-C: returning to launch (RTL)" in text
    assert "flight: RTL (armed), home" in text
    assert "TH-01: flight stopped with Ctrl-C; disarmed" in text
    assert landed_at_home(uav)["mode"] == "RTL"
