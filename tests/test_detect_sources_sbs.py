"""SBS-1 lines: the parser on hand-made lines, and the TCP client against a local server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from tests.tcp_support import ScriptedServer
from uav.detect.model import AltFrame, Detection, SensorKind
from uav.detect.sources.base import Backoff, SourceStats
from uav.detect.sources.sbs import SbsParser, SbsSource

DATE, CLOCK = "2026/11/24", "03:12:45.500"
T = 1795489965.5  # 2026-11-24T03:12:45.5 UTC
WAIT_S = 20.0  # wall-clock bound for live waits (generous: the machine is shared)


def line(msg_type: int, hex_id: str = "780A3B", **fields: str) -> str:
    """A dump1090-style line: 22 fields, the named ones filled in."""
    names = ["callsign", "alt", "gs", "track", "lat", "lon", "vr", "squawk", "alert",
             "emergency", "spi", "ground"]  # fmt: skip
    values = [fields.get(n, "") for n in names]
    head = ["MSG", str(msg_type), "1", "1", hex_id, "1", DATE, CLOCK, DATE, CLOCK]
    return ",".join(head + values)


def parser() -> SbsParser:
    return SbsParser("sbs:tcp:127.0.0.1:30003", "127.0.0.1:30003")


def test_position_message_carries_the_merged_fields() -> None:
    p = parser()
    assert p.parse_line(line(1, callsign="CES5123 "), 1.0) is None
    assert p.parse_line(line(4, gs="250", track="90.5", vr="-640"), 1.0) is None
    assert p.parse_line(line(6, squawk="7000", alert="0", emergency="0", spi="0"), 1.0) is None
    d = p.parse_line(
        line(3, alt="1500", lat="23.1301", lon="113.3252", alert="0", spi="0", ground="0"), 9.0
    )
    assert d is not None
    assert (d.icao_address, d.callsign, d.sensor_kind) == ("780A3B", "CES5123", SensorKind.ADSB)
    assert (d.lat_deg, d.lon_deg) == (23.1301, 113.3252)
    assert (d.alt_m, d.alt_frame) == (457.2, AltFrame.PRESSURE)  # 1500 ft
    assert d.ground_speed_mps == pytest.approx(128.611, abs=1e-3)  # 250 kt
    assert d.track_deg == 90.5
    assert d.vertical_rate_mps == pytest.approx(-3.251, abs=1e-3)  # -640 ft/min
    assert d.time_s == T and d.received_s == 9.0  # generated date/time, UTC
    assert d.extra["squawk"] == "7000" and d.extra["on_ground"] is False
    assert d.emitter_type is None  # SBS carries no emitter category
    assert p.stats.snapshot()["read"] == 4 and p.stats.ignored == 3


def test_odd_booleans_and_missing_fields_are_tolerated() -> None:
    p = parser()
    d = p.parse_line(line(3, lat="23.13", lon="113.32", alert="-1", spi="", ground="1"), 1.0)
    assert d is not None
    assert d.extra["alert"] is True and d.extra["on_ground"] is True and "spi" not in d.extra
    assert d.alt_m is None and d.alt_frame is None
    short = "MSG,3,1,1,780A3C,1,,,,,,,,,23.14,113.33"  # cut short, no times
    d2 = p.parse_line(short + "\r\n", 5.0)
    assert d2 is not None and d2.time_s == 5.0 and d2.lat_deg == 23.14  # receive time


def test_logged_time_when_generated_time_is_missing() -> None:
    p = parser()
    fields = line(3, lat="23.13", lon="113.32").split(",")
    fields[6] = fields[7] = ""
    d = p.parse_line(",".join(fields), 1.0)
    assert d is not None and d.time_s == T


@pytest.mark.parametrize(
    "bad",
    [
        "MSG,9,1,1,780A3B,1,2026/11/24,03:12:45.500,,,,,,,23.1,113.3",  # type 9
        "MSG,3,1,1,78ZZ3B,1,2026/11/24,03:12:45.500,,,,,,,23.1,113.3",  # hex
        "MSG,3,1,1,780A3B,1,2026/11/24,03:12:45.500,,,,abc,,,23.1,113.3",  # altitude
        "MSG,3,1,1,780A3B,1,2026/11/24,03:12:45.500,,,,,,,93.1,113.3",  # latitude
        "MSG,3,1,1,780A3B,1,2026/13/45,03:12:45.500,,,,,,,23.1,113.3",  # date
        "MSG,3,1,1,780A3B,1,2026/11/24,3:1,,,,,,,23.1,113.3",  # time
        "MSG,3,1,1,780A3B,1,2026/11/24,03:12:45.500,,,,nan,,,23.1,113.3",  # NaN
        "garbage \x00\xff",
        "MSG,3",
    ],
)
def test_malformed_lines_are_counted_and_skipped(bad: str) -> None:
    p = parser()
    assert p.parse_line(bad, 1.0) is None
    assert p.stats.skipped == 1 and p.stats.last_error
    good = p.parse_line(line(3, lat="23.13", lon="113.32"), 1.0)
    assert good is not None  # the parser goes on


def test_a_bad_line_changes_no_merged_field() -> None:
    p = parser()
    p.parse_line(line(4, gs="100"), 1.0)
    p.parse_line(line(4, gs="300", vr="xx"), 1.0)  # skipped as a whole
    d = p.parse_line(line(3, lat="23.13", lon="113.32"), 1.0)
    assert d is not None and d.ground_speed_mps == pytest.approx(100 * 1852 / 3600, abs=1e-3)


def test_other_record_kinds_are_ignored_and_repeats_are_duplicates() -> None:
    p = parser()
    assert p.parse_line("STA,,1,1,780A3B,1,2026/11/24,03:12:45.500,,,RM", 1.0) is None
    assert p.stats.ignored == 1 and p.stats.skipped == 0
    pos = line(3, lat="23.13", lon="113.32")
    assert p.parse_line(pos, 1.0) is not None
    assert p.parse_line(pos, 2.0) is None
    assert p.stats.duplicates == 1


# ------------------------------------------------------------- TCP client


@pytest.fixture
def server_factory() -> Iterator[Callable[..., ScriptedServer]]:
    """Fake dump1090s: local TCP servers running one script per connection."""
    servers: list[ScriptedServer] = []

    def make(*scripts: Callable[[socket.socket], None]) -> ScriptedServer:
        server = ScriptedServer(list(scripts), WAIT_S)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


@dataclass
class Running:
    source: SbsSource
    stats: SourceStats
    stop: threading.Event
    thread: threading.Thread
    got: list[Detection]

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_S
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.stats}"
            self.stop.wait(0.01)


@pytest.fixture
def run_source() -> Iterator[Callable[[SbsSource], Running]]:
    started: list[Running] = []

    def start(source: SbsSource) -> Running:
        stats, stop, got = SourceStats(), threading.Event(), []
        thread = threading.Thread(target=source.run, args=(got.extend, stop, stats), daemon=True)
        running = Running(source, stats, stop, thread, got)
        thread.start()
        started.append(running)
        return running

    yield start
    for r in started:
        r.stop.set()
        r.thread.join(WAIT_S)
        assert not r.thread.is_alive(), "the source did not stop"


def hold_until(event: threading.Event) -> Callable[[socket.socket], None]:
    def script(conn: socket.socket) -> None:
        event.wait(WAIT_S)

    return script


def test_tcp_lines_malformed_partial_and_reconnect(
    server_factory: Callable[..., ScriptedServer], run_source: Callable[[SbsSource], Running]
) -> None:
    half_sent = threading.Event()
    release_second = threading.Event()
    done = threading.Event()
    pos_a = line(3, "AAAAAA", alt="1000", lat="23.10", lon="113.30") + "\r\n"
    pos_b = line(3, "BBBBBB", alt="2000", lat="23.20", lon="113.40") + "\r\n"
    pos_c = line(3, "CCCCCC", alt="3000", lat="23.30", lon="113.50") + "\r\n"
    running: list[Running] = []

    def first(conn: socket.socket) -> None:
        conn.sendall((line(1, "AAAAAA", callsign="AAA1") + "\r\n").encode())
        conn.sendall(b"MSG,3,1,1,NOTHEX,,,\r\nthis is not SBS\r\n")
        conn.sendall(pos_a.encode() + pos_b[:40].encode())  # B cut at a chunk boundary
        half_sent.set()
        running[0].wait_for(lambda: running[0].stats.read >= 4, "the first chunks")
        conn.sendall(pos_b[40:].encode())
        running[0].wait_for(lambda: running[0].stats.read >= 5, "the completed line")
        # then the server drops the connection

    def second(conn: socket.socket) -> None:
        release_second.wait(WAIT_S)
        conn.sendall(pos_c.encode())
        done.wait(WAIT_S)

    server = server_factory(first, second)
    source = SbsSource("127.0.0.1", server.port, backoff=Backoff(0.05, 0.2))
    running.append(run_source(source))
    r = running[0]
    r.wait_for(lambda: r.stats.reconnects == 1, "a reconnect")
    release_second.set()
    r.wait_for(lambda: len(r.got) == 3, "three positions")
    done.set()
    a, b, c = r.got
    assert (a.icao_address, a.callsign, a.alt_m) == ("AAAAAA", "AAA1", pytest.approx(304.8))
    assert (b.icao_address, b.lat_deg, b.lon_deg) == ("BBBBBB", 23.20, 113.40)  # joined line
    assert (c.icao_address, c.alt_m) == ("CCCCCC", pytest.approx(914.4))
    assert {d.source for d in r.got} == {f"sbs:tcp:127.0.0.1:{server.port}"}
    snap = r.stats.snapshot()
    assert (snap["read"], snap["parsed"], snap["skipped"], snap["reconnects"]) == (6, 3, 2, 1)
    assert server.accepted == 2


def test_tcp_refused_then_served_and_stop_is_prompt(
    run_source: Callable[[SbsSource], Running],
) -> None:
    probe = socket.create_server(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connects are refused
    r = run_source(SbsSource("127.0.0.1", port, backoff=Backoff(0.05, 0.1)))
    r.wait_for(lambda: "cannot connect" in (r.stats.last_error or ""), "a refused connect")
    assert r.stats.reconnects == 0 and r.thread.is_alive()
    started = time.monotonic()
    r.stop.set()
    r.thread.join(WAIT_S)
    assert not r.thread.is_alive()
    assert time.monotonic() - started < 2.0  # every wait is bounded by POLL_S or the backoff


def test_stop_while_connected_and_idle(
    server_factory: Callable[..., ScriptedServer], run_source: Callable[[SbsSource], Running]
) -> None:
    release = threading.Event()
    server = server_factory(hold_until(release))
    r = run_source(SbsSource("127.0.0.1", server.port))
    r.wait_for(lambda: server.accepted == 1, "the connection")
    r.stop.set()
    r.thread.join(WAIT_S)
    release.set()
    assert not r.thread.is_alive() and r.got == []
