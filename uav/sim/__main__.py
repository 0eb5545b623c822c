"""``python -m uav.sim``: the emulator started the way arducopter is.

    python -m uav.sim --model + --speedup 10 --defaults a.parm,b.parm \\
        --home 23.1291,113.3240,20,0 -I 0 [--sysid N] [--serial1 tcp:2] [--base-port 5760] \\
        [--intruders FILE]

Instance N listens on TCP 127.0.0.1 5760+10N (SERIAL0), 5762+10N (SERIAL1), 5763+10N
(SERIAL2) and boots when the first client connects to SERIAL0. SERIAL0 listens before
anything heavy is loaded (about 50 ms after launch; SITL: 15 ms). arducopter options the
emulator has no use for are accepted and ignored with a warning on stderr. It runs until
SIGINT or SIGTERM (exit 0); bad options, unreadable parameter or intruder files or a port in
use exit 2. ``--intruders FILE`` (emulator only, not an arducopter option) adds other aircraft
flying set tracks, described in a TOML/JSON file (:mod:`uav.sim.traffic_intruders`).
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from uav.sim.ports import BASE_PORT, HOST, bind_port, serial_ports

if TYPE_CHECKING:
    from uav.sim.server import EmulatorServer
    from uav.sim.vehicle import EmulatedVehicle

EXIT_OK = 0
EXIT_ERROR = 2
COPTER_MODELS = frozenset({"+", "quad", "x", "copter", "quadplus"})
SERIAL_LINKS = 3
DEFAULT_HOME = "23.1291,113.3240,20,0"


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m uav.sim",
        description="ArduCopter SITL stand-in (MAVLink 2 over TCP).",
        allow_abbrev=False,
    )
    ap.add_argument("-M", "--model", default="+", help="frame (a quadcopter is emulated)")
    ap.add_argument("-s", "--speedup", type=float, default=1.0, help="vehicle s per wall s")
    ap.add_argument("--defaults", default="", help="comma-separated .parm files")
    ap.add_argument("-O", "--home", default=DEFAULT_HOME, help="LAT,LON,ALT,HDG")
    ap.add_argument("-I", "--instance", type=int, default=0, help="ports 5760+10*I ...")
    ap.add_argument("--sysid", type=int, default=None, help="MAV_SYSID")
    ap.add_argument("--base-port", type=int, default=BASE_PORT, help="SERIAL0 port of I=0")
    ap.add_argument(
        "--intruders",
        type=Path,
        default=None,
        help="TOML/JSON file of intruders flying set tracks (emulator only)",
    )
    ap.add_argument("-w", "--wipe", action="store_true", help="accepted (storage is never kept)")
    ap.add_argument("-S", "--synthetic-clock", action="store_true", help="accepted, ignored")
    ap.add_argument("-C", "--console", action="store_true", help="accepted, ignored")
    for n in range(10):
        ap.add_argument(f"--serial{n}", default=None, help=argparse.SUPPRESS)
    for letter in "ABCDEFGH":
        ap.add_argument(f"--uart{letter}", default=None, help=argparse.SUPPRESS)
    return ap


def warn(text: str) -> None:
    print(f"uav.sim: warning: {text}", file=sys.stderr, flush=True)


def fail(text: str) -> int:
    print(f"uav.sim: error: {text}", file=sys.stderr, flush=True)
    return EXIT_ERROR


def link_ports(args: argparse.Namespace) -> list[int | None]:
    """SERIAL0..2 ports; ``--serialN tcp:K[:wait]`` moves one to base+10*I+K, other devices
    switch it off (with a warning). SERIAL1 is uartC and SERIAL2 uartD, as in SITL."""
    ports: list[int | None] = list(serial_ports(args.instance, args.base_port))
    for n in range(SERIAL_LINKS):
        device = getattr(args, f"serial{n}") or getattr(args, f"uart{'ACD'[n]}")
        if device is None:
            continue
        kind, _, rest = device.partition(":")
        offset = rest.split(":", 1)[0]
        if kind == "tcp" and offset.isdigit():
            ports[n] = args.base_port + 10 * args.instance + int(offset)
        else:
            warn(f"SERIAL{n} device {device!r} is not emulated; SERIAL{n} is off")
            ports[n] = None
    return ports


def bind_early(ports: Sequence[int | None]) -> dict[int, socket.socket]:
    """Bind every port now, SERIAL0 listening (OSError if one is taken)."""
    bound: dict[int, socket.socket] = {}
    try:
        for index, port in enumerate(ports):
            if port is not None:
                bound[index] = bind_port(HOST, port, listen=index == 0)
    except OSError:
        for sock in bound.values():
            sock.close()
        raise
    return bound


def make_vehicle(args: argparse.Namespace, ports: Sequence[int | None]) -> EmulatedVehicle:
    from uav.errors import InputError
    from uav.sim.traffic_intruders import load_intruders
    from uav.sim.vehicle import EmulatedVehicle, Home

    if args.model.lower() not in COPTER_MODELS:
        warn(f"--model {args.model!r}: emulating a plus-frame quadcopter")
    if not args.speedup > 0:
        raise InputError("--speedup must be positive")
    defaults = [Path(p) for p in args.defaults.split(",") if p.strip()]
    vehicle = EmulatedVehicle(
        args.instance,
        Home.parse(args.home),
        args.speedup,
        defaults=defaults,
        sysid=args.sysid,
        ports=ports,
        intruders=load_intruders(args.intruders) if args.intruders is not None else (),
    )
    for name in vehicle.unknown_params:
        warn(f"parameter {name} does not exist in ArduCopter 4.7; ignored")
    return vehicle


def main(argv: Sequence[str] | None = None) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    args, unknown = build_parser().parse_known_args(argv)
    if not 0 <= args.instance <= 5976:
        return fail(f"-I {args.instance}: instance out of range 0..5976")
    ports = link_ports(args)
    try:
        bound = bind_early(ports)
    except OSError as exc:
        return fail(f"cannot listen on {HOST} ports {ports}: {exc.strerror or exc}")
    if unknown:
        warn("ignoring arducopter option(s) the emulator does not use: " + " ".join(unknown))
    from uav.errors import UavError
    from uav.sim.server import EmulatorServer

    try:
        vehicle = make_vehicle(args, ports)
        server = EmulatorServer()
        server.add(vehicle, bound)
    except UavError as exc:
        for sock in bound.values():
            sock.close()
        return fail(str(exc))
    for index, port in enumerate(vehicle.ports):
        if port is not None:
            print(f"bind port {port} for SERIAL{index}")
            print(f"SERIAL{index} on TCP port {port}")
    print("Waiting for connection ....", flush=True)
    return run_until(server, stop)


def run_until(server: EmulatorServer, stop: threading.Event) -> int:
    """Serve until ``stop`` is set (by SIGINT or SIGTERM); 2 if the emulator failed."""
    server.start()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return EXIT_ERROR if server.errors else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
