"""`uav monitor` and `uav events` on the command line: bad input (exit 2), the events table
and JSON with their filters, and a real `uav` process watching an emulated drone that stops
(an alert, the monitor carries on and ends normally) and stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Invoke
from tests.fleet_support import said
from tests.sim_plugin import SimVehicle, VehicleFactory
from uav.enforce.model import EnforcementEvent, EventKind, Position, Result
from uav.store import Store

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 12, 5, 11, 30, tzinfo=UTC)


def event(drone: str, minutes: float, kind: EventKind = EventKind.ACTION) -> EnforcementEvent:
    return EnforcementEvent(
        drone=drone,
        kind=kind,
        time=T0 + timedelta(minutes=minutes),
        zone_id=7,
        zone_name="Canton Tower",
        restriction="prohibited",
        rule="enters-zone",
        reason="Leg now→+8s enters prohibited zone 'Canton Tower'",
        time_to_breach_s=6.25,
        clearance_m=55.0,
        predicted=Position(23.1066, 113.3245, 30.0),
        actual=Position(23.1060, 113.3245, 30.0),
        groundspeed_mps=10.0,
        mode_before="GUIDED",
        action="RTL",
        result=Result.ACCEPTED,
        latency_sent_ms=2.5,
        latency_confirmed_ms=31.0,
        vehicle_unix_s=(T0 + timedelta(minutes=minutes)).timestamp(),
    )


def test_events_json_and_table_with_filters(uav: Invoke, db: Path) -> None:
    store = Store.open(db)
    stored = [
        store.add_event(e) for e in (event("TH-01", 0), event("TH-02", 5), event("TH-01", 10))
    ]
    r = uav("events", "--json")
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    assert [e["id"] for e in got] == [e.id for e in stored]
    assert got[0] == {**stored[0].to_json(), "time": "2026-12-05T11:30:00.000+00:00"}
    assert EnforcementEvent.from_json(got[1]) == stored[1]
    r = uav("events", "--json", "--drone", "TH-01", "--since", "2026-12-05T19:35+08:00")
    assert [e["id"] for e in json.loads(r.stdout)] == [stored[2].id]
    r = uav("events", "--json", "--until", "2026-12-05T11:35Z")
    assert [e["id"] for e in json.loads(r.stdout)] == [stored[0].id, stored[1].id]
    r = uav("events")
    assert r.exit_code == 0 and "3 event(s)" in r.stderr
    assert "Canton Tower" in r.stdout and "RTL accepted" in r.stdout
    assert "2026-12-05 11:35:00" in r.stdout and "TH-02" in r.stdout


def test_bad_input_exits_2(uav: Invoke, tmp_path: Path) -> None:
    r = uav("monitor", "--duration", "1")
    assert r.exit_code == 2 and "no drones to monitor" in said(r.stderr)
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    r = uav("monitor", "TH-09", "--duration", "1")
    assert r.exit_code == 2 and "TH-09" in r.stderr
    assert uav("monitor", "--action", "explode", "--duration", "1").exit_code == 2
    r = uav("monitor", "--lookahead", "-3", "--duration", "1")
    assert r.exit_code == 2 and "lookahead" in r.stderr
    r = uav("monitor", "--duration", "1", "--json-log", str(tmp_path / "no" / "such" / "f"))
    assert r.exit_code == 2 and "--json-log" in r.stderr
    r = uav("events", "--since", "yesterday-ish")
    assert r.exit_code == 2 and "--since" in r.stderr
    assert json.loads(uav("events", "--json").stdout) == []


class UavProcess:
    """A real `uav` process with its stderr read line by line (every wait bounded)."""

    def __init__(self, db: Path, *args: str) -> None:
        start = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        self.proc = subprocess.Popen(
            [sys.executable, "-c", start + "from cli import main; main()", "--db", str(db), *args],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, name="uav-stderr", daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr or []:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.seen):
            line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            assert line is not None, f"uav ended before {text!r}:\n" + "".join(self.seen)
            self.seen.append(line)

    def finish(self, timeout_s: float) -> int:
        code = self.proc.wait(timeout=timeout_s)
        self.reader.join(5.0)
        while not self.lines.empty():
            line = self.lines.get_nowait()
            if line is not None:
                self.seen.append(line)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5.0)

    @property
    def text(self) -> str:
        return said("".join(self.seen))


@pytest.mark.sitl
def test_a_drone_that_stops_reporting_is_an_alert_and_ctrl_c_ends_cleanly(
    uav: Invoke, db: Path, vehicles: VehicleFactory, tmp_path: Path
) -> None:
    (v,) = vehicles(1, speedup=10.0, ready=True)
    assert uav("fleet", "add", "TH-01", "--connect", v.url, "--sysid", v.sysid).exit_code == 0

    # Ctrl-C: links closed, exit 0, nothing recorded
    p = UavProcess(db, "monitor")
    try:
        p.wait_for("TH-01: link connected", 30.0)
        p.proc.send_signal(signal.SIGINT)
        assert p.finish(30.0) == 0, p.text
    finally:
        p.kill()
    assert "monitor stopped: 0 event(s)" in p.text

    # the drone goes away mid-run: an alert, and the monitor runs on to --duration
    log = tmp_path / "events.jsonl"
    p = UavProcess(db, "monitor", "TH-01", "--duration", "8", "--json-log", str(log))
    try:
        p.wait_for("TH-01: link connected", 30.0)
        stop_vehicle(v)
        p.wait_for("event: TH-01 lost", 30.0)
        assert p.finish(60.0) == 0, p.text
    finally:
        p.kill()
    assert "stopped reporting" in p.text and "monitor stopped: 1 event(s)" in p.text
    assert "1 alert(s)" in p.text
    r = uav("events", "--json")
    (lost,) = json.loads(r.stdout)
    assert (lost["drone"], lost["kind"], lost["action"]) == ("TH-01", "lost", None)
    assert [json.loads(line) for line in log.read_text().splitlines()] == [lost]


def stop_vehicle(v: SimVehicle) -> None:
    v.stop()
