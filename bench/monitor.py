"""Benchmark: ``uav monitor`` with 20 emulated drones at 10 Hz against 10,000 zones.

Starts N emulated ArduCopters in ONE subprocess at speed-up 1 (bench/fleet.py's
``EmulatorServer`` side), builds one zone index from 10,000 seeded synthetic zones over a
30 km square around them (bench/synthetic.py) plus a no-fly circle over their home, and runs
the real monitor (:class:`uav.enforce.Monitor`, one link per drone, GLOBAL_POSITION_INT asked
at 10 Hz). Once the vehicles know their position (about 20 s after boot, as SITL) each one is
inside the no-fly circle, and the monitor sends each its action (RTL; the benchmark lets it
act on drones on the ground, ``act_on_ground``). Printed:

* time from a GLOBAL_POSITION_INT's arrival on the link to the action command being sent,
  p50 / p99 / max over the N actions (target p99 <= 20 ms), and to the mode confirmed.
  ``--stagger-s S`` (default 0.5) boots the vehicles S seconds apart (a bare TCP connect
  boots an emulated vehicle), so their breaches are independent events as in a real fleet;
  ``--stagger-s 0`` boots them together: all 20 breach in the same instant, the worst case
  (one Python process: the 20 decisions queue for the interpreter);
* time from arrival to the decision (the prediction done: an action would be sent then),
  p50 / p99 over every position of the measurement window;
* the CPU this process (the monitor) spends per drone, and the emulator's.

Figures only, no assertions. Run: ``python bench/monitor.py [--drones 20] [--zones 10000]
[--seconds 10]``.
"""

# ruff: noqa: E402  (imports follow the sys.path set-up that lets this run as a script)

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

from fleet import emulator, process_cpu_s
from synthetic import synthetic_zones

from uav.check.index import ZoneIndex
from uav.enforce import Monitor, MonitorOptions
from uav.enforce.model import EnforcementEvent, EventKind
from uav.sitl.ports import connect_url, reserve_instances
from uav.store import Store
from uav.store.drones import Drone
from uav.zones.model import Circle, Restriction, Zone

HOME_LON, HOME_LAT = 113.3240, 23.1291  # the emulator's default home (the traces')
ACTIONS_TIMEOUT_S = 90.0  # wall: boot to position (20 s) and the actions, generously


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))
    return ordered[k]


def build_index(n_zones: int) -> ZoneIndex:
    zones = synthetic_zones(n_zones, lon0_deg=HOME_LON, lat0_deg=HOME_LAT, extent_km=30.0)
    nfz = Zone("Bench NFZ", Restriction.PROHIBITED, Circle(HOME_LON, HOME_LAT, 200.0))
    start = time.perf_counter()
    index = ZoneIndex([*zones, nfz.with_id(n_zones + 1)])
    print(f"zone index: {len(index)} zones built in {time.perf_counter() - start:.2f} s")
    return index


def boot_staggered(instances: Sequence[int], stagger_s: float) -> None:
    """Boot the vehicles ``stagger_s`` apart: an emulated vehicle boots at its first client."""
    if stagger_s <= 0:
        return
    pace = threading.Event()
    for k, instance in enumerate(instances):
        if k:
            pace.wait(stagger_s)
        with socket.create_connection(("127.0.0.1", 5760 + 10 * instance), timeout=5.0):
            pass
    print(f"vehicles booted {stagger_s:g} s apart")


def wait_for_actions(actions: list[EnforcementEvent], n: int) -> None:
    done = threading.Event()
    deadline = time.monotonic() + ACTIONS_TIMEOUT_S
    while len(actions) < n and time.monotonic() < deadline:
        done.wait(0.2)
    if len(actions) < n:
        print(f"only {len(actions)}/{n} drones were acted on within {ACTIONS_TIMEOUT_S:g} s")


def report_actions(actions: list[EnforcementEvent]) -> None:
    sent = [e.latency_sent_ms for e in actions if e.latency_sent_ms is not None]
    confirmed = [e.latency_confirmed_ms for e in actions if e.latency_confirmed_ms is not None]
    if not sent:
        print("no action was sent")
        return
    print(
        f"arrival -> action sent, {len(sent)} actions: p50 {percentile(sent, 50):.1f} ms, "
        f"p99 {percentile(sent, 99):.1f} ms, max {max(sent):.1f} ms [target p99 <= 20 ms]"
    )
    if confirmed:
        print(
            f"arrival -> mode confirmed (ACK + HEARTBEAT): p50 "
            f"{percentile(confirmed, 50):.1f} ms, p99 {percentile(confirmed, 99):.1f} ms"
        )
    results = sorted({e.result.value for e in actions})
    print(f"results: {', '.join(results)}")


def measure_window(monitor: Monitor, drones: int, seconds: float, emulator_pid: int) -> None:
    cpu0, wall0, emu0 = time.process_time(), time.perf_counter(), process_cpu_s(emulator_pid)
    threading.Event().wait(seconds)  # the measurement window
    cpu1, wall1, emu1 = time.process_time(), time.perf_counter(), process_cpu_s(emulator_pid)
    wall = wall1 - wall0
    decisions = monitor.decision_latencies_ms(since_s=wall0)
    rate = len(decisions) / wall
    print(
        f"window {wall:.1f} s: {len(decisions)} positions assessed ({rate:.0f}/s, "
        f"{rate / drones:.1f} Hz per drone)"
    )
    if decisions:
        print(
            f"arrival -> decision (prediction against {monitor.zone_count} zones): p50 "
            f"{percentile(decisions, 50):.2f} ms, p99 {percentile(decisions, 99):.2f} ms, "
            f"max {max(decisions):.1f} ms"
        )
    tool_pct = 100.0 * (cpu1 - cpu0) / wall
    print(
        f"monitor CPU (this process): {tool_pct:.1f} % of one core in all, "
        f"{tool_pct / drones:.2f} % per drone"
    )
    if emu0 is not None and emu1 is not None:
        print(f"emulator (its own process): {100.0 * (emu1 - emu0) / wall:.1f} % of one core")


def run(drones: int, n_zones: int, seconds: float, stagger_s: float) -> None:
    index = build_index(n_zones)
    with ExitStack() as stack:
        reservation = stack.enter_context(reserve_instances(drones))
        instances = list(reservation.instances)
        proc = stack.enter_context(emulator(instances, 1.0))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        store = Store.open(folder / "bench.db")
        for k, instance in enumerate(instances):
            name = f"BENCH-{k + 1:02d}"
            store.add_drone(Drone(name=name, connect_url=connect_url(instance), sysid=k + 1))
        print(f"{drones} emulated drones in one process (pid {proc.pid}), speed-up 1")
        boot_staggered(instances, stagger_s)
        actions: list[EnforcementEvent] = []

        def on_event(e: EnforcementEvent) -> None:
            if e.kind is EventKind.ACTION:
                actions.append(e)

        options = MonitorOptions(act_on_ground=True)
        monitor = Monitor(store, options=options, on_event=on_event, index=index)
        stop = threading.Event()
        thread = threading.Thread(target=monitor.run, args=(stop,), name="monitor")
        thread.start()
        try:
            wait_for_actions(actions, drones)
            report_actions(actions)
            measure_window(monitor, drones, seconds, proc.pid)
        finally:
            stop.set()
            thread.join(60.0)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drones", type=int, default=20)
    ap.add_argument("--zones", type=int, default=10_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument(
        "--stagger-s",
        type=float,
        default=0.5,
        help="seconds between the vehicles' boots (0: all breach at once, the worst case)",
    )
    ap.add_argument(
        "--switch-interval-ms",
        type=float,
        default=1.0,
        help="the GIL switch interval, as `uav monitor` sets it (Python's default is 5)",
    )
    args = ap.parse_args(argv)
    sys.setswitchinterval(args.switch_interval_ms / 1000.0)
    run(args.drones, args.zones, args.seconds, args.stagger_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
