"""The end-to-end demo behind `make demo`: load the unit's zones and an event zone into a fresh
SQLite database, check three plans, then start police drone TH-01 on uav's ArduCopter emulator,
look at the fleet, fly a checked patrol to landing, turn it back with the live monitor, detect
intruders around the stadium, and stop the simulators. Each step runs the real `uav` command
and must give the exit code shown; the demo fails (exit 1) the moment one does not, and always
stops what it started."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".demo"
UAV = Path(sys.executable).parent / "uav"
MATCH_DAY = "2026-12-05T19:30+08:00"


def demo_env() -> dict[str, str]:
    return {
        **os.environ,
        "UAV_DB": str(DEMO_DIR / "uav.db"),
        "UAV_STATE_DIR": str(DEMO_DIR / "state"),
        "COLUMNS": "140",
    }


def step(title: str, args: list[str], expect: int) -> None:
    print(f"\n\033[1m## {title}\033[0m")
    print(f"$ uav {shlex.join(args)}", flush=True)
    env = demo_env()
    code = subprocess.run([str(UAV), *args], cwd=ROOT, env=env, check=False).returncode
    if code != expect:
        print(f"demo: expected exit code {expect}, got {code}", file=sys.stderr)
        sys.exit(1)
    print(f"(exit code {code}, as expected)")


def main() -> None:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir()
    print(f"uav demo: database {DEMO_DIR / 'uav.db'}")
    step(
        "Load the unit's standing zones (GeoJSON and OpenAir)",
        ["zones", "load", "geofences/guangzhou-tianhe.geojson", "geofences/guangzhou-airports.air"],
        0,
    )
    step(
        "Load the match-day zone, drawn on AMap in GCJ-02; the file has no times or "
        "restriction, the officer gives them",
        [
            "zones",
            "load",
            "examples/zones/tianhe-stadium-match.gcj02.geojson",
            "--crs",
            "gcj02",
            "--restriction",
            "authorization",
            "--start",
            "2026-12-05T17:00+08:00",
            "--end",
            "2026-12-05T23:00+08:00",
        ],
        0,
    )
    step("Zones active during the match", ["zones", "list", "--active-at", MATCH_DAY], 0)
    step(
        "A patrol over Tianhe Park: clear",
        ["plan", "check", "examples/plans/tianhe-park-patrol.plan", "--at", MATCH_DAY],
        0,
    )
    step(
        "A river survey whose leg crosses the Canton Tower no-fly zone between two waypoints "
        "outside it",
        ["plan", "check", "examples/plans/pearl-river-survey.plan", "--at", MATCH_DAY],
        1,
    )
    step(
        "Stadium overwatch during the match, no grant yet",
        [
            "plan",
            "check",
            "examples/plans/stadium-overwatch.plan",
            "--drone",
            "TH-01",
            "--at",
            MATCH_DAY,
        ],
        1,
    )
    zone_id = _event_zone_id()
    step(
        "The duty officer grants TH-01 the stadium for the match",
        [
            "auth",
            "grant",
            "--zone",
            zone_id,
            "--drone",
            "TH-01",
            "--start",
            "2026-12-05T17:00+08:00",
            "--end",
            "2026-12-05T23:00+08:00",
            "--by",
            "Officer Chen",
            "--reason",
            "match security overwatch",
        ],
        0,
    )
    step(
        "Stadium overwatch with the grant: clear",
        [
            "plan",
            "check",
            "examples/plans/stadium-overwatch.plan",
            "--drone",
            "TH-01",
            "--at",
            MATCH_DAY,
        ],
        0,
    )
    step(
        "The same plan flown by another drone is still refused (JSON for other systems)",
        [
            "plan",
            "check",
            "examples/plans/stadium-overwatch.plan",
            "--drone",
            "TH-02",
            "--at",
            MATCH_DAY,
            "--json",
        ],
        1,
    )
    step(
        "Export every zone as KML for Google Earth",
        ["zones", "export", "--format", "kml", "-o", str(DEMO_DIR / "zones.kml")],
        0,
    )
    try:
        fly_th01()
        monitor_th01()
        detect_intruders()
    finally:
        print("\n\033[1m## Stop the simulators\033[0m\n$ uav sitl down", flush=True)
        subprocess.run([str(UAV), "sitl", "down"], cwd=ROOT, env=demo_env(), check=False)
    print("\ndemo finished: every step gave the expected result")


def fly_th01() -> None:
    step(
        "Start police drone TH-01 (sitl_configs/th-01.toml) on uav's ArduCopter emulator at 10x "
        "speed; it waits for GPS and EKF, then registers the drone",
        ["sitl", "up", "TH-01", "--emulator", "--speedup", "10"],
        0,
    )
    step("The fleet", ["fleet", "status"], 0)
    step(
        "Fly a patrol from the station: checked against the zones, uploaded, verified, armed, "
        "AUTO, followed until landed and disarmed",
        ["fly", "TH-01", "--plan", "examples/plans/th01-station-patrol.plan"],
        0,
    )
    step("After the flight", ["fleet", "status", "TH-01", "--json"], 0)


NFZ_WEST = "examples/zones/th01-demo-nfz.geojson"  # 700 m west of TH-01's pad, 25 m radius
WEST_PATROL = "examples/plans/th01-west-patrol.plan"  # 900 m west and back: through it
PILOT_LINK = "tcp:127.0.0.1:5762"  # TH-01's SERIAL1 (sitl_configs/th-01.toml: instance 0)


def monitor_th01() -> None:
    """The live monitor watching TH-01 on a checked patrol; a temporary no-fly zone is then
    declared on its route: the monitor predicts the breach and turns TH-01 back (RTL)."""
    print("\n\033[1m## Start the live monitor on TH-01 (in the background)\033[0m")
    print("$ uav monitor TH-01 --json-log .demo/events.jsonl", flush=True)
    log = str(DEMO_DIR / "events.jsonl")
    monitor = Background("monitor", ["monitor", "TH-01", "--json-log", log])
    try:
        monitor.wait_for("TH-01: link connected", 30.0)
        # the monitor holds TH-01's first telemetry port (SERIAL0, one client per port, as on
        # SITL): the pilot's ground station flies it through the second one (SERIAL1)
        step(
            "The pilot's ground station on TH-01's second telemetry port",
            ["fleet", "add", "TH-01-GCS", "--connect", PILOT_LINK, "--sysid", "1"],
            0,
        )
        print("\n\033[1m## A patrol 900 m west and back, checked clear (in the background)\033[0m")
        print(f"$ uav fly TH-01-GCS --plan {WEST_PATROL}", flush=True)
        fly = Background("fly", ["fly", "TH-01-GCS", "--plan", WEST_PATROL])
        try:
            fly.wait_for("flight: AUTO (armed), item 2", 60.0)
            step(
                "The duty officer declares a temporary no-fly zone on TH-01's route, 700 m "
                "west; the monitor picks it up within a second",
                ["zones", "load", NFZ_WEST],
                0,
            )
            monitor.wait_for("event: TH-01 action RTL accepted", 60.0)
            fly_code = fly.wait(120.0)
        finally:
            fly.stop()
        if fly_code != 0:
            fail(f"uav fly ended with exit code {fly_code}, expected 0 (landed and disarmed)")
    finally:
        code = monitor.stop()
    if code != 0:
        fail(f"the monitor ended with exit code {code}, expected 0")
    step("What the monitor did", ["events"], 0)


EVENT_ZONE = "examples/zones/tianhe-stadium-match.gcj02.geojson"
STADIUM_TRAFFIC = "tcp:127.0.0.1:5800"  # sitl_configs/stadium-traffic.toml: instance 4
CAMERA_DRONE = "GDTV-MATCH-CAM-01"  # the broadcaster's drone (sitl_configs/intruders/)
LISTEN_S = 16  # the scenario's traffic is over about 15 s (at 10x) after the vehicle is up


def detect_intruders() -> None:
    """Detection around the stadium on today's clock: the intruders of
    sitl_configs/intruders/stadium-event.toml, heard on the emulated STADIUM-TRAFFIC vehicle's
    link, judged against an event zone active now, logged, verified and reported."""
    from datetime import datetime, timedelta

    now = datetime.now().astimezone().replace(microsecond=0)
    start, end = (now - timedelta(minutes=10)).isoformat(), (now + timedelta(hours=3)).isoformat()
    step(
        "Detection runs on today's clock: the officer loads the stadium outline again for an "
        "event today, from now for 3 hours",
        ["zones", "load", EVENT_ZONE, "--crs", "gcj02", "--restriction", "authorization",
         "--start", start, "--end", end],
        0,
    )  # fmt: skip
    zone_id = _event_zone_id(latest=True)
    step(
        "The broadcaster's camera drone gets a permit for the event zone (by its Remote ID)",
        ["permits", "add", "--remote-id", CAMERA_DRONE, "--operator", "GDTV broadcast",
         "--start", start, "--end", end, "--zone", zone_id, "--reason", "match broadcast"],
        0,
    )  # fmt: skip
    step(
        "Start the stadium traffic on the emulator (sitl_configs/stadium-traffic.toml): an "
        "ADS-B UAV that will cross the event zone, a Remote ID drone, the permitted camera "
        "drone and a light aircraft, flying set tracks (intruders/stadium-event.toml)",
        ["sitl", "up", "STADIUM-TRAFFIC", "--emulator", "--speedup", "10"],
        0,
    )
    step(
        f"Listen to its link for {LISTEN_S} s: each detection judged, tracked, put in "
        "incidents and appended to the hash-chained evidence log",
        ["detect", "listen", f"mavlink:{STADIUM_TRAFFIC}", "--duration", f"{LISTEN_S}s"],
        0,
    )
    step(
        "Unauthorised drones seen inside the event zone or its buffer (the first 8): the ADS-B "
        "UAV crossing it (the permitted camera drone over the pitch and the light aircraft "
        "are not listed)",
        ["detect", "list", "--unauthorised", "--zone", zone_id, "--limit", "8"],
        0,
    )
    step("Counts per zone, hour and source", ["detect", "stats"], 0)
    step("The evidence log is intact", ["detect", "verify"], 0)
    report = DEMO_DIR / "report.html"
    step(
        "The incident report for the case file",
        ["detect", "report", "--format", "html", "-o", str(report)],
        0,
    )
    print(f"report written: {report} (open it in a browser; it needs no network)")


def fail(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr)
    sys.exit(1)


class Background:
    """A `uav` command running beside the demo's steps; its stderr is echoed as it comes."""

    def __init__(self, label: str, args: list[str]) -> None:
        import queue
        import threading

        # Python's own Ctrl-C handler even if the demo was started with SIGINT ignored
        start = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
        self.label = label
        self.proc = subprocess.Popen(
            [sys.executable, "-c", start + "from cli import main; main()", *args],
            cwd=ROOT,
            env={**demo_env(), "PYTHONUNBUFFERED": "1"},
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stderr or []:
            print(f"   {self.label:>7} | {line}", end="", flush=True)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str, timeout_s: float) -> None:
        import queue
        import time

        deadline = time.monotonic() + timeout_s
        while not any(text in line for line in self.seen):
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                fail(f"{self.label}: no {text!r} within {timeout_s:g} s")
            if line is None:
                fail(f"{self.label} ended before {text!r}")
            self.seen.append(line or "")

    def wait(self, timeout_s: float) -> int:
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            fail(f"{self.label} did not end within {timeout_s:g} s")
            raise

    def stop(self) -> int:
        """Ctrl-C (SIGINT), as an officer would, if it still runs; bounded."""
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(30.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5.0)


def _event_zone_id(*, latest: bool = False) -> str:
    """The stadium zone's id (the one loaded last with ``latest``)."""
    import json

    env = {**os.environ, "UAV_DB": str(DEMO_DIR / "uav.db")}
    out = subprocess.run(
        [str(UAV), "zones", "list", "--json"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ids = [int(z["id"]) for z in json.loads(out) if "Sports Center" in z["name"]]
    return str(max(ids) if latest else ids[0])


if __name__ == "__main__":
    main()
