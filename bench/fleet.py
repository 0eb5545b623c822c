"""Benchmark: the fleet's status and telemetry load with 20 emulated drones.

Starts N emulated ArduCopters in ONE subprocess (``uav.sim.EmulatorServer``), registers them
in a temporary database and prints:

* ``uav fleet status`` (:func:`uav.fleet.fleet_status`) for all N at once, wall time (target
  <= 2 s for 20), against asking them one at a time in the same run;
* the CPU this process (the tool) spends receiving N drones' telemetry with
  GLOBAL_POSITION_INT, ATTITUDE, VFR_HUD, SYS_STATUS and GPS_RAW_INT at 10 Hz each
  (SET_MESSAGE_INTERVAL) for a while (target <= 10 % of one core), measured with
  ``time.process_time``; the emulator's CPU (its own process) is printed beside it.

Figures only, no assertions. Run: ``python bench/fleet.py [--drones 20] [--seconds 10]
[--rate-hz 10]``. ``--serve I,J,...`` is the emulator side (started by the benchmark).
"""

# ruff: noqa: E402  (imports follow the sys.path set-up that lets this run as a script)

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

from uav.fleet import connect, fleet_status, targets
from uav.link import DroneLink, LinkConfig
from uav.link.commands import command_long
from uav.sitl.ports import connect_url, reserve_instances
from uav.store import Store
from uav.store.drones import Drone

MAV_CMD_SET_MESSAGE_INTERVAL = 511
TELEMETRY = {  # message id: name
    33: "GLOBAL_POSITION_INT",
    30: "ATTITUDE",
    74: "VFR_HUD",
    1: "SYS_STATUS",
    24: "GPS_RAW_INT",
}
READY_LINE = "emulator ready"
STATUS_TIMEOUT_S = 5.0
STATUS_RUNS = 3
BOOT_S = 3.0  # wall seconds (speed-up 1) for the vehicles to finish booting
MAV_DATA_STREAM_ALL = 0


# ---------------------------------------------------------------------- the emulator side


def serve(instances: Sequence[int], speedup: float) -> int:
    """Run the vehicles until SIGTERM/SIGINT or stdin closes (the benchmark went away)."""
    from uav.sim import EmulatedVehicle, EmulatorServer

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def watch_stdin() -> None:
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    with EmulatorServer() as server:
        for k, instance in enumerate(instances):
            server.add(EmulatedVehicle(instance, speedup=speedup, sysid=k + 1))
        print(READY_LINE, flush=True)
        stop.wait()
    return 1 if server.errors else 0


@contextmanager
def emulator(instances: Sequence[int], speedup: float) -> Iterator[subprocess.Popen[str]]:
    """The emulator subprocess, listening; stopped (bounded) on exit."""
    args = [sys.executable, __file__, "--serve", ",".join(map(str, instances))]
    proc = subprocess.Popen(
        [*args, "--speedup", str(speedup)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != READY_LINE:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5.0)


def process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of another process (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------- the measurements


def time_status(store: Store, names: Sequence[str]) -> tuple[float, int]:
    """Wall seconds of one fleet_status call and how many drones answered."""
    start = time.perf_counter()
    found = fleet_status(store, names, timeout_s=STATUS_TIMEOUT_S)
    return time.perf_counter() - start, sum(1 for s in found if s.link == "ok")


def measure_status(store: Store, names: Sequence[str]) -> None:
    boot_s, ok = time_status(store, names)
    print(f"first status (boots the vehicles): {boot_s:.2f} s, {ok}/{len(names)} answered")
    # until "ArduPilot Ready" (2.44 s after boot) a vehicle does not greet a new client with
    # a HEARTBEAT, and a link then waits for the next one (1 Hz): time booted vehicles only
    threading.Event().wait(BOOT_S)
    runs = [time_status(store, names) for _ in range(STATUS_RUNS)]
    walls = [w for w, _ in runs]
    answered = min(n for _, n in runs)
    print(
        f"fleet status, {len(names)} drones at once: median {statistics.median(walls):.2f} s "
        f"(runs {', '.join(f'{w:.2f}' for w in walls)}), {answered}/{len(names)} answered "
        f"[target <= 2 s]"
    )
    one_by_one = [time_status(store, [name]) for name in names]
    total = sum(w for w, _ in one_by_one)
    print(
        f"one drone at a time: {total:.2f} s in all ({total / len(names):.2f} s each), "
        f"{sum(n for _, n in one_by_one)}/{len(names)} answered; "
        f"at once is {total / statistics.median(walls):.1f}x faster"
    )


def ask_rates(link: DroneLink, rate_hz: float) -> None:
    """Only the TELEMETRY messages, at ``rate_hz``: the streams the status queries asked
    for (MAV_DATA_STREAM_ALL at 4 Hz) are stopped first."""
    stop = link.mav.request_data_stream_encode(
        link.target_system, link.target_component, MAV_DATA_STREAM_ALL, 0, 0
    )
    link.send(stop)
    interval_us = round(1e6 / rate_hz)
    for msg_id in TELEMETRY:
        command_long(link, MAV_CMD_SET_MESSAGE_INTERVAL, msg_id, interval_us, name="SET_INTERVAL")


def measure_telemetry(
    store: Store, names: Sequence[str], seconds: float, rate_hz: float, emulator_pid: int
) -> None:
    base = LinkConfig(connect_timeout_s=STATUS_TIMEOUT_S, stream_rate_hz=0)
    with ExitStack() as stack:
        links = [stack.enter_context(connect(t, base)) for t in targets(store, names)]
        for link in links:
            ask_rates(link, rate_hz)
        settle = threading.Event()
        settle.wait(1.0)  # let every stream reach its rate before measuring
        rx0 = sum(link.state.rx_count for link in links)
        cpu0, wall0, emu0 = time.process_time(), time.perf_counter(), process_cpu_s(emulator_pid)
        settle.wait(seconds)  # the measurement window
        cpu1, wall1, emu1 = time.process_time(), time.perf_counter(), process_cpu_s(emulator_pid)
        rx1 = sum(link.state.rx_count for link in links)
    wall = wall1 - wall0
    tool_pct = 100.0 * (cpu1 - cpu0) / wall
    rate = (rx1 - rx0) / wall
    print(
        f"telemetry, {len(names)} drones x {len(TELEMETRY)} messages at {rate_hz:g} Hz "
        f"(+ HEARTBEAT) for {wall:.1f} s: {rate:.0f} messages/s received "
        f"({rate / len(names):.1f} per drone)"
    )
    print(
        f"  tool (this process): {tool_pct:.1f} % of one core, "
        f"{1e6 * (cpu1 - cpu0) / max(1, rx1 - rx0):.0f} us CPU per message [target <= 10 %]"
    )
    if emu0 is not None and emu1 is not None:
        print(f"  emulator (its own process): {100.0 * (emu1 - emu0) / wall:.1f} % of one core")


def run(drones: int, seconds: float, rate_hz: float, speedup: float) -> None:
    with ExitStack() as stack:
        reservation = stack.enter_context(reserve_instances(drones))
        instances = list(reservation.instances)
        proc = stack.enter_context(emulator(instances, speedup))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        store = Store.open(folder / "bench.db")
        names = [f"BENCH-{k + 1:02d}" for k in range(drones)]
        for k, (name, instance) in enumerate(zip(names, instances, strict=True)):
            store.add_drone(Drone(name=name, connect_url=connect_url(instance), sysid=k + 1))
        print(f"{drones} emulated drones in one process (pid {proc.pid}), speed-up {speedup:g}")
        measure_status(store, names)
        measure_telemetry(store, names, seconds, rate_hz, proc.pid)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drones", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=10.0, help="telemetry window")
    ap.add_argument("--rate-hz", type=float, default=10.0)
    ap.add_argument("--speedup", type=float, default=1.0, help="of the emulated vehicles")
    ap.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve is not None:
        return serve([int(i) for i in args.serve.split(",")], args.speedup)
    run(args.drones, args.seconds, args.rate_hz, args.speedup)
    return 0


if __name__ == "__main__":
    sys.exit(main())
