"""A recorded ArduCopter SITL session, served over TCP: the stand-in vehicle of the sitl tests.

:class:`ReplayVehicle` listens like SITL's SERIAL0 and, from the moment a client connects
(t = 0 in every trace), sends the vehicle's side of a recording (``../shared/sitl-traces``:
MAVLink packets from the ``.tlog``, console bytes from the ``.jsonl``) at a speed-up. It
ignores what the client sends, but keeps it for inspection.

Run as a program (``python tests/test_sitl_replay.py --speedup N -I N ...``) it imitates the
``arducopter`` command line that ``uav sitl up`` builds, replaying ``boot`` on 5760+10N; the
CLI tests install it as a fake SITL binary. The tests here check the replay is faithful.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TRACES = Path(os.environ.get("UAV_SITL_TRACES", ROOT.parent / "shared" / "sitl-traces"))
needs_traces = pytest.mark.skipif(
    not (TRACES / "boot.tlog").exists(), reason=f"no SITL traces at {TRACES}"
)


@dataclass(frozen=True)
class Chunk:
    t_s: float  # vehicle seconds after the client connected
    data: bytes


@cache
def vehicle_side(scenario: str) -> tuple[Chunk, ...]:
    """What the vehicle sent on SERIAL0 in ``scenario``, in order, with trace times."""
    from pymavlink import mavutil

    rows = [json.loads(line) for line in (TRACES / f"{scenario}.jsonl").open()]
    first_tx = next(r for r in rows if r["dir"] == "tx")
    log = mavutil.mavlink_connection(str(TRACES / f"{scenario}.tlog"))
    packets = []
    t0: float | None = None
    while (msg := log.recv_match()) is not None:
        if msg.get_srcSystem() == 255:  # the recorder's own packets
            if t0 is None:
                t0 = msg._timestamp - first_tx["t"]
            continue
        packets.append((msg._timestamp, bytes(msg.get_msgbuf())))
    log.close()
    assert t0 is not None
    chunks = [Chunk(ts - t0, data) for ts, data in packets]
    chunks += [
        Chunk(r["t"], bytes.fromhex(r["fields"]["data"]))
        for r in rows
        if r["dir"] == "rx" and r["type"] == "BAD_DATA"
    ]
    return tuple(sorted(chunks, key=lambda c: c.t_s))


class ReplayVehicle:
    """Serve a recorded session on ``127.0.0.1:port``, like SITL's SERIAL0.

    The vehicle clock starts when the first client connects. A client may leave and another
    connect; what falls due meanwhile is dropped, as on a line with nothing attached. After
    the recording ends the vehicle keeps repeating its last ``loop_tail_s`` seconds.
    """

    def __init__(
        self,
        scenario: str,
        port: int,
        *,
        speedup: float,
        from_s: float = 0.0,
        until_s: float | None = None,
        loop_tail_s: float | None = 1.0,
    ) -> None:
        self.chunks = [
            c
            for c in vehicle_side(scenario)
            if c.t_s >= from_s and (until_s is None or c.t_s <= until_s)
        ]
        self.from_s = from_s
        self.speedup = speedup
        self.loop_tail_s = loop_tail_s
        self.received = bytearray()
        self.clients = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", port))
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def start(self) -> ReplayVehicle:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()
        assert not self._thread.is_alive(), "replay thread did not stop"

    def __enter__(self) -> ReplayVehicle:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def schedule(self) -> Iterator[Chunk]:
        """The chunks in sending order, times relative to the first connect."""
        for c in self.chunks:
            yield Chunk(c.t_s - self.from_s, c.data)
        if not self.loop_tail_s or not self.chunks:
            return
        end = self.chunks[-1].t_s
        tail = [c for c in self.chunks if c.t_s > end - self.loop_tail_s]
        for k in itertools.count(1):
            for c in tail:
                yield Chunk(c.t_s - self.from_s + k * self.loop_tail_s, c.data)

    def _serve(self) -> None:
        client = self._accept(None)
        if client is None:
            return
        start = time.monotonic()
        for chunk in self.schedule():
            due = start + chunk.t_s / self.speedup
            while not self._stop.is_set() and time.monotonic() < due:
                client = self._poll(client, min(0.05, due - time.monotonic()))
            if self._stop.is_set():
                break
            if client is not None and not self._send(client, chunk.data):
                client.close()
                client = None
        while not self._stop.is_set():  # the recording is over: a quiet vehicle
            client = self._poll(client, 0.05)
        if client is not None:
            client.close()

    def _accept(self, timeout_s: float | None) -> socket.socket | None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self._stop.is_set():
            wait = 0.05 if deadline is None else max(0.0, min(0.05, deadline - time.monotonic()))
            ready, _, _ = select.select([self._listener], [], [], wait)
            if ready:
                self.clients += 1
                return self._listener.accept()[0]
            if deadline is not None and time.monotonic() >= deadline:
                return None
        return None

    def _poll(self, client: socket.socket | None, timeout_s: float) -> socket.socket | None:
        """Take what the client sends; with no client, take the next one that connects."""
        if client is None:
            return self._accept(max(0.0, timeout_s))
        ready, _, _ = select.select([client], [], [], max(0.0, timeout_s))
        if not ready:
            return client
        try:
            data = client.recv(65536)
        except OSError:
            data = b""
        if not data:
            client.close()
            return None
        self.received += data
        return client

    def _send(self, client: socket.socket, data: bytes) -> bool:
        try:
            client.sendall(data)
        except OSError:
            return False
        return True


def received_messages(data: bytes) -> list[object]:
    """The MAVLink messages in ``data`` (what a client sent to the replay)."""
    from pymavlink.dialects.v20 import ardupilotmega

    mav = ardupilotmega.MAVLink(None)
    mav.robust_parsing = True
    return [m for m in mav.parse_buffer(bytes(data)) or [] if m.get_type() != "BAD_DATA"]


# --- as a program: a fake `arducopter` ------------------------------------------------------

STANDIN_LIFETIME_S = 120.0


def main(argv: list[str]) -> None:
    """``--model M --speedup N [--defaults F] --home H -I N``: replay ``boot`` on 5760+10N.

    Writes ``launch.json`` (argv and cwd) in the working directory first. With
    ``STANDIN_IGNORE_SIGTERM=1`` it ignores SIGTERM (to test the SIGKILL fallback).
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--speedup", type=float, required=True)
    parser.add_argument("--defaults")
    parser.add_argument("--home", required=True)
    parser.add_argument("-I", dest="instance", type=int, required=True)
    args = parser.parse_args(argv)
    Path("launch.json").write_text(json.dumps({"argv": argv, "cwd": os.getcwd()}))
    stopped = threading.Event()
    if os.environ.get("STANDIN_IGNORE_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with ReplayVehicle("boot", 5760 + 10 * args.instance, speedup=args.speedup):
        print("stand-in vehicle listening", flush=True)
        stopped.wait(STANDIN_LIFETIME_S)  # a leaked stand-in still ends on its own


# --- the replay is faithful -------------------------------------------------------------------


@needs_traces
def test_vehicle_side_holds_every_vehicle_packet_and_the_console_text() -> None:
    chunks = vehicle_side("boot")
    console = b"".join(c.data for c in chunks if c.data[:1] != b"\xfd")
    assert console.startswith(b"\n\nInit ArduCopter V4.7.0-dev (2598e9d4)\n")
    times = [c.t_s for c in chunks]
    assert times == sorted(times) and 0 < times[0] < 0.01
    messages = received_messages(b"".join(c.data for c in chunks))
    heartbeats = [m for m in messages if m.get_type() == "HEARTBEAT"]
    assert len(heartbeats) > 60 and all(m.get_srcSystem() == 1 for m in messages)


@needs_traces
def test_replay_serves_the_session_from_connect_at_the_speedup(free_instance: int) -> None:
    port = 5760 + 10 * free_instance
    with ReplayVehicle("boot", port, speedup=100, until_s=3.5) as vehicle:
        start = time.monotonic()
        data = bytearray()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"hello")
            while not _has_two_heartbeat_pairs(data):
                assert time.monotonic() - start < 5, "replay too slow"
                data += s.recv(65536)
        elapsed = time.monotonic() - start
    assert elapsed < 3.5  # 3.02 s of vehicle time at 100x is 0.03 s; generous bound
    assert bytes(vehicle.received).startswith(b"hello")


def _has_two_heartbeat_pairs(data: bytes) -> bool:
    beats = [m for m in received_messages(data) if m.get_type() == "HEARTBEAT"]
    return len(beats) >= 4


if __name__ == "__main__":
    main(sys.argv[1:])
