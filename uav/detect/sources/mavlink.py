"""MAVLink feeds: ``mavlink:URL`` (a link of its own) and ``fleet`` (the fleet's own links).

``mavlink:URL`` opens a plain pymavlink connection (``tcp:HOST:PORT``, ``udpin:HOST:PORT``,
a serial device, ...) as system 255, component :data:`LISTENER_COMPONENT` (not the 190 that
``uav.link`` uses, so both can talk to one vehicle, e.g. through a router). It sends nothing:
ArduPilot forwards ADSB_VEHICLE on a port once that port's ``MAVn_ADSB`` stream rate is set
(``sitl_configs/params/streams.parm`` sets ``MAV1_ADSB 5``; README scenario 5) and sends
OPEN_DRONE_ID_* on the port ``DID_MAVPORT`` names, unasked (scenario 6). A TCP link that goes
quiet for ``idle_timeout_s`` (a vehicle sends a HEARTBEAT every second) or drops is opened
again after a bounded backoff.

``fleet`` listens on every registered drone's :class:`~uav.link.DroneLink` through
``add_message_listener``: no second connection per drone. A drone's link is opened here
unless the caller passes links it already holds. Detections name the drone as ``sensor_id``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from uav.detect.model import Detection
from uav.detect.sources.base import POLL_S, Backoff, Batcher, Emit, SourceStats, run_reconnecting
from uav.detect.sources.mavlink_parse import MavlinkParser

if TYPE_CHECKING:
    from uav.fleet.links import DroneTarget
    from uav.link import DroneLink

LISTENER_SYSTEM = 255
LISTENER_COMPONENT = 191  # uav.link uses 190
CONNECT_TIMEOUT_S = 5.0
IDLE_TIMEOUT_S = 10.0


@dataclass
class MavlinkSource:
    """``mavlink:URL``: ADS-B and Remote ID arriving on one MAVLink link."""

    url: str
    name: str = ""
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    idle_timeout_s: float = IDLE_TIMEOUT_S  # TCP only; a UDP listener may be quiet
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        self.name = self.name or f"mavlink:{self.url}"

    def run(self, emit: Emit, stop: threading.Event, stats: SourceStats) -> None:
        parser = MavlinkParser(self.name, stats)
        batcher = Batcher(emit, stats)
        run_reconnecting(
            lambda: self._open(stats),
            lambda master: self._read(master, parser, batcher, stop),
            _close,
            where=self.url,
            errors=(OSError, ConnectionError, EOFError),
            stop=stop,
            stats=stats,
            backoff=self.backoff,
            batcher=batcher,
        )

    def _open(self, stats: SourceStats) -> Any | None:
        from uav.link.transport import open_master

        try:
            return open_master(
                self.url,
                connect_timeout_s=self.connect_timeout_s,
                source_system=LISTENER_SYSTEM,
                source_component=LISTENER_COMPONENT,
            )
        except (OSError, ValueError) as exc:
            stats.problem(f"{self.url}: cannot connect: {exc}")
            return None

    def _read(self, master: Any, parser: MavlinkParser, batcher: Batcher, stop: Any) -> None:
        """Read until ``stop`` (returns) or the link drops or goes idle (raises)."""
        idle_limit = self.idle_timeout_s if self.url.startswith("tcp:") else None
        last_mono = time.monotonic()
        try:
            while not stop.is_set():
                master.select(POLL_S)
                got = False
                while (msg := master.recv_msg()) is not None:
                    got = True
                    if msg.get_type() == "BAD_DATA":  # SITL's console text at boot, noise
                        parser.stats.add(read=1, ignored=1)
                        continue
                    batcher.extend(parser.receive(msg, _received_s(msg)))
                batcher.extend(parser.release_due(time.time()))
                batcher.flush_due()
                now = time.monotonic()
                if got:
                    last_mono = now
                elif idle_limit is not None and now - last_mono > idle_limit:
                    raise ConnectionError(f"nothing received for {idle_limit:g} s")
        finally:  # Remote ID still waiting for its ID goes on without it
            batcher.extend(parser.release_all())


def _received_s(msg: Any) -> float:
    stamp = getattr(msg, "_timestamp", None)
    return float(stamp) if stamp else time.time()


def _close(master: Any) -> None:
    with contextlib.suppress(OSError):
        master.close()


@dataclass
class FleetSource:
    """``fleet``: ADS-B and Remote ID on the links of registered drones.

    Give ``targets`` (links are opened here, and closed at the end) and/or ``links`` already
    open elsewhere (only listened to). A target whose link cannot be opened is tried again
    after a backoff while the others run."""

    targets: Sequence[DroneTarget] = ()
    links: Sequence[DroneLink] = ()
    name: str = "fleet"
    backoff: Backoff = field(default_factory=Backoff)

    def run(self, emit: Emit, stop: threading.Event, stats: SourceStats) -> None:
        listener = _FleetListener(self.name, stats)
        opened: list[DroneLink] = []
        listened: list[DroneLink] = []
        waiting = list(self.targets)
        try:
            for link in self.links:
                listener.attach(link)
                listened.append(link)
            while not stop.is_set():
                waiting = self._open_waiting(waiting, listener, opened, listened, stats)
                deadline = time.monotonic() + (self.backoff.max_s if waiting else 1e9)
                while not stop.is_set() and time.monotonic() < deadline:
                    batch = listener.take(POLL_S)
                    if batch:
                        stats.add(parsed=len(batch))
                        emit(batch)
                if not waiting:
                    break
        finally:
            for link in listened:
                link.remove_message_listener(listener.on_message)
            for link in opened:
                link.close()
            rest = listener.take(0.0, final=True)
            if rest:
                stats.add(parsed=len(rest))
                emit(rest)

    def _open_waiting(
        self,
        waiting: list[DroneTarget],
        listener: _FleetListener,
        opened: list[DroneLink],
        listened: list[DroneLink],
        stats: SourceStats,
    ) -> list[DroneTarget]:
        from uav.errors import UavError
        from uav.fleet.links import open_link

        still: list[DroneTarget] = []
        for target in waiting:
            try:
                link = open_link(target)
            except UavError as exc:
                stats.problem(f"{target.name}: {exc}")
                still.append(target)
                continue
            opened.append(link)
            listener.attach(link)
            listened.append(link)
        return still


class _FleetListener:
    """Parses messages on the links' reader threads (quick: one parse each) and queues the
    detections for the source's thread."""

    def __init__(self, name: str, stats: SourceStats) -> None:
        self._name = name
        self._stats = stats
        self._parsers: dict[int, MavlinkParser] = {}
        self._queue: list[Detection] = []
        self._cond = threading.Condition()

    def attach(self, link: DroneLink) -> None:
        drone = link.name

        def sensor(_sysid: int, _compid: int) -> str:
            return drone

        with self._cond:
            self._parsers[id(link)] = MavlinkParser(self._name, self._stats, sensor_name=sensor)
        link.add_message_listener(self.on_message)

    def on_message(self, link: DroneLink, msg: Any) -> None:
        if msg.get_type() == "BAD_DATA":
            return
        with self._cond:
            parser = self._parsers.get(id(link))
            if parser is None:
                return
            detections = parser.receive(msg, _received_s(msg))
            if detections:
                self._queue += detections
                self._cond.notify_all()

    def take(self, timeout_s: float, *, final: bool = False) -> list[Detection]:
        """What has arrived, waiting up to ``timeout_s`` for something, with the Remote ID
        held for its ID that is due (``final``: all of it, the links are closed)."""
        with self._cond:
            if not self._queue and timeout_s > 0:
                self._cond.wait(timeout_s)
            now_s = time.time()
            for parser in self._parsers.values():
                self._queue += parser.release_all() if final else parser.release_due(now_s)
            batch, self._queue = self._queue, []
        return batch
