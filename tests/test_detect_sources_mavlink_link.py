"""``mavlink:tcp:`` link handling against a local TCP server speaking MAVLink 2: console
text before the packets, a dropped connection, a silent one, and a prompt stop."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.tcp_support import ScriptedServer
from uav.detect.model import Detection
from uav.detect.sources import MavlinkSource, SourceStats
from uav.detect.sources.base import Backoff
from uav.link.transport import mavlink

WAIT_S = 20.0


def adsb_packet(icao: int, seq_lat: int = 0) -> bytes:
    mav = mavlink().MAVLink(None, srcSystem=1, srcComponent=1)
    msg = mav.adsb_vehicle_encode(
        icao, 231300000 + seq_lat, 1133250000, 0, 300000, 9000, 1000, 0, b"SIM", 0, 1, 511, 1200
    )
    return bytes(msg.pack(mav))


@pytest.fixture
def started() -> Iterator[list[tuple[threading.Thread, threading.Event, ScriptedServer]]]:
    items: list[tuple[threading.Thread, threading.Event, ScriptedServer]] = []
    yield items
    for thread, stop, server in items:
        stop.set()
        thread.join(WAIT_S)
        assert not thread.is_alive()
        server.close()


def run(
    server: ScriptedServer, started: list[Any], **options: Any
) -> tuple[list[Detection], SourceStats, threading.Event]:
    got: list[Detection] = []
    stats, stop = SourceStats(), threading.Event()
    source = MavlinkSource(server.url, backoff=Backoff(0.05, 0.2), **options)
    thread = threading.Thread(target=source.run, args=(got.extend, stop, stats), daemon=True)
    thread.start()
    started.append((thread, stop, server))
    return got, stats, stop


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.01)


def test_console_text_then_packets_then_a_drop_and_reconnect(started: list[Any]) -> None:
    second_may_send = threading.Event()
    finished = threading.Event()

    def first(conn: socket.socket) -> None:
        conn.sendall(b"\n\nInit ArduCopter V4.7.0-dev (2598e9d4)\n\nFree RAM: 524288\n")
        conn.sendall(adsb_packet(0xAAAAAA) + adsb_packet(0xBBBBBB))

    def second(conn: socket.socket) -> None:
        second_may_send.wait(WAIT_S)
        conn.sendall(adsb_packet(0xCCCCCC))
        finished.wait(WAIT_S)

    server = ScriptedServer([first, second], WAIT_S)
    got, stats, _ = run(server, started)
    wait_for(lambda: stats.reconnects == 1, "the reconnect")
    second_may_send.set()
    wait_for(lambda: len(got) == 3, "three detections")
    finished.set()
    assert [d.icao_address for d in got] == ["AAAAAA", "BBBBBB", "CCCCCC"]
    assert {d.source for d in got} == {f"mavlink:{server.url}"}
    assert stats.skipped == 0 and stats.ignored >= 1  # the console text is not MAVLink
    assert server.accepted == 2


def test_a_silent_tcp_link_is_reopened(started: list[Any]) -> None:
    release = threading.Event()

    def silent(conn: socket.socket) -> None:
        conn.settimeout(WAIT_S)
        assert conn.recv(1) == b""  # says nothing until the client gives up and closes

    def talking(conn: socket.socket) -> None:
        conn.sendall(adsb_packet(0xDDDDDD))
        release.wait(WAIT_S)

    server = ScriptedServer([silent, talking], WAIT_S)
    got, stats, _ = run(server, started, idle_timeout_s=0.3)
    wait_for(lambda: len(got) == 1, "the detection after the idle reconnect")
    release.set()
    assert stats.reconnects == 1 and "nothing received" in (stats.last_error or "")


def test_stop_is_prompt_while_connected(started: list[Any]) -> None:
    release = threading.Event()
    server = ScriptedServer([lambda conn: release.wait(WAIT_S)], WAIT_S)
    _got, _stats, stop = run(server, started)
    wait_for(lambda: server.accepted == 1, "the connection")
    thread = started[-1][0]
    t0 = time.monotonic()
    stop.set()
    thread.join(WAIT_S)
    release.set()
    assert not thread.is_alive() and time.monotonic() - t0 < 2.0
