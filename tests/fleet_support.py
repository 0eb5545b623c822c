"""Helpers for the fleet tests: plans and zones placed around the emulated home, a
parameter file, and a lossy TCP relay that drops chosen MAVLink packets (a bad radio)."""

from __future__ import annotations

import json
import math
import selectors
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import Invoke
from tests.sim_plugin import DEFAULT_HOME, SimVehicle

HOME_LAT, HOME_LON, HOME_AMSL = DEFAULT_HOME.lat_deg, DEFAULT_HOME.lon_deg, DEFAULT_HOME.alt_amsl_m
METRES_PER_DEG = 111_195.0
NAV_WAYPOINT, NAV_RTL, NAV_TAKEOFF = 16, 20, 22


def offset(north_m: float, east_m: float) -> tuple[float, float]:
    """The point ``north_m``/``east_m`` metres from the emulated home."""
    lat = HOME_LAT + north_m / METRES_PER_DEG
    lon = HOME_LON + east_m / (METRES_PER_DEG * math.cos(math.radians(HOME_LAT)))
    return lat, lon


def _item(command: int, frame: int, lat: float, lon: float, alt: float) -> dict[str, object]:
    return {
        "type": "SimpleItem",
        "autoContinue": True,
        "command": command,
        "frame": frame,
        "params": [0, 0, 0, None, lat, lon, alt],
    }


def write_plan(
    path: Path,
    waypoints: list[tuple[float, float, float]],
    *,
    takeoff_alt_m: float = 10.0,
    rtl: bool = True,
    speed_mps: float | None = None,
) -> Path:
    """A QGroundControl plan at the emulated home: take off, each (north m, east m, alt m
    above home) waypoint, then RTL."""
    items = [_item(NAV_TAKEOFF, 3, 0.0, 0.0, takeoff_alt_m)]
    items += [_item(NAV_WAYPOINT, 3, *offset(n, e), alt) for n, e, alt in waypoints]
    if rtl:
        items.append(_item(NAV_RTL, 2, 0.0, 0.0, 0.0))
    doc = {
        "fileType": "Plan",
        "version": 1,
        "groundStation": "test",
        "mission": {
            "version": 2,
            "firmwareType": 3,
            "vehicleType": 2,
            "cruiseSpeed": speed_mps,
            "hoverSpeed": 5,
            "plannedHomePosition": [HOME_LAT, HOME_LON, HOME_AMSL],
            "items": items,
        },
        "geoFence": {"version": 2, "circles": [], "polygons": []},
        "rallyPoints": {"version": 2, "points": []},
    }
    path.write_text(json.dumps(doc, indent=2))
    return path


def write_zone(
    path: Path,
    name: str,
    north_m: float,
    east_m: float,
    radius_m: float,
    restriction: str = "prohibited",
) -> Path:
    """A circle zone (GeoJSON, uav profile) from the ground up, always active."""
    lat, lon = offset(north_m, east_m)
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "name": name,
                    "restriction": restriction,
                    "radius_m": radius_m,
                    "floor_m": 0,
                    "ceiling_m": None,
                    "reason": "test",
                },
            }
        ],
    }
    path.write_text(json.dumps(doc))
    return path


def write_parm(path: Path, **params: float) -> Path:
    path.write_text("".join(f"{k} {v}\n" for k, v in params.items()))
    return path


# ---------------------------------------------------------------------- a lossy relay

MAVLINK2_MAGIC = 0xFD
HEADER = 10
SIGNED = 0x01
SIGNATURE = 13
MISSION_ITEM_INT = 73
MISSION_ITEM_INT_SEQ = slice(28, 30)  # payload offset of seq (fields sorted by size)


def frames(buffer: bytearray) -> Iterator[bytes]:
    """Take whole MAVLink 2 frames off the front of ``buffer`` (the rest stays)."""
    while len(buffer) >= HEADER:
        if buffer[0] != MAVLINK2_MAGIC:
            raise AssertionError(f"the ground station sent a non-MAVLink2 byte {buffer[0]:#x}")
        size = HEADER + buffer[1] + 2 + (SIGNATURE if buffer[2] & SIGNED else 0)
        if len(buffer) < size:
            return
        frame = bytes(buffer[:size])
        del buffer[:size]
        yield frame


def mission_item_seq(frame: bytes) -> int | None:
    """The seq of a MISSION_ITEM_INT frame (None for other messages)."""
    msgid = int.from_bytes(frame[7:10], "little")
    if msgid != MISSION_ITEM_INT:
        return None
    payload = frame[HEADER : HEADER + frame[1]].ljust(40, b"\0")  # trailing zeros are cut
    return int.from_bytes(payload[MISSION_ITEM_INT_SEQ], "little")


@dataclass
class LossyRelay:
    """Listens on a free localhost port and relays one client to ``upstream``; frames from
    the client for which ``drop(frame)`` is true are not passed on (and are counted)."""

    upstream: tuple[str, int]
    drop: Callable[[bytes], bool]
    port: int = 0
    dropped: list[bytes] = field(default_factory=list)
    passed_items: list[int] = field(default_factory=list)  # MISSION_ITEM_INT seqs passed on
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    def serve(self, listener: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ)
        pairs: dict[socket.socket, tuple[socket.socket, bool, bytearray]] = {}
        try:
            while not self._stop.is_set():
                for key, _ in sel.select(0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if sock is listener:
                        self._accept(listener, sel, pairs)
                    elif sock in pairs and not self._pump(sock, pairs):
                        for s in (sock, pairs[sock][0]):
                            sel.unregister(s)
                            pairs.pop(s, None)
                            s.close()
        finally:
            for s in list(pairs):
                s.close()
            sel.close()

    def _accept(
        self,
        listener: socket.socket,
        sel: selectors.BaseSelector,
        pairs: dict[socket.socket, tuple[socket.socket, bool, bytearray]],
    ) -> None:
        client, _ = listener.accept()
        vehicle = socket.create_connection(self.upstream, timeout=2.0)
        for s in (client, vehicle):
            s.setblocking(True)
            sel.register(s, selectors.EVENT_READ)
        pairs[client] = (vehicle, True, bytearray())
        pairs[vehicle] = (client, False, bytearray())

    def _pump(
        self, sock: socket.socket, pairs: dict[socket.socket, tuple[socket.socket, bool, bytearray]]
    ) -> bool:
        other, from_client, buffer = pairs[sock]
        data = sock.recv(65536)
        if not data:
            return False
        if not from_client:
            other.sendall(data)
            return True
        buffer.extend(data)
        for frame in frames(buffer):
            if self.drop(frame):
                self.dropped.append(frame)
                continue
            seq = mission_item_seq(frame)
            if seq is not None:
                self.passed_items.append(seq)
            other.sendall(frame)
        return True

    def stop(self) -> None:
        self._stop.set()


@contextmanager
def lossy_relay(upstream_url: str, drop: Callable[[bytes], bool]) -> Iterator[LossyRelay]:
    """A running :class:`LossyRelay` in front of ``tcp:HOST:PORT``; stopped on exit."""
    host, port = upstream_url.removeprefix("tcp:").rsplit(":", 1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    relay = LossyRelay((host, int(port)), drop, port=listener.getsockname()[1])
    thread = threading.Thread(target=relay.serve, args=(listener,), name="lossy-relay")
    thread.start()
    try:
        yield relay
    finally:
        relay.stop()
        thread.join(5.0)
        listener.close()
        assert not thread.is_alive(), "the relay did not stop"


def drop_first_item(seq: int) -> Callable[[bytes], bool]:
    """A ``drop`` for :class:`LossyRelay`: the first MISSION_ITEM_INT with this seq."""
    done: list[bool] = []

    def drop(frame: bytes) -> bool:
        if not done and mission_item_seq(frame) == seq:
            done.append(True)
            return True
        return False

    return drop


@contextmanager
def silent_listener() -> Iterator[str]:
    """A ``tcp:`` URL that accepts connections and never says anything (a drone whose
    radio link is up but which does not answer)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield f"tcp:127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def said(text: str) -> str:
    """Console text with rich's line wrapping undone (words joined by single spaces)."""
    return " ".join(text.split())


def register(uav: Invoke, v: SimVehicle, name: str = "TH-01", url: str | None = None) -> None:
    """``uav fleet add`` for a simulated vehicle (its URL unless ``url``), which must work."""
    r = uav("fleet", "add", name, "--connect", url or v.url, "--sysid", v.sysid)
    assert r.exit_code == 0, r.stderr
