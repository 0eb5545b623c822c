"""SBS-1 / BaseStation lines, as dump1090 serves them on TCP port 30003 (``sbs:tcp:HOST:PORT``).

A line is ``MSG,<type 1-8>,<session>,<aircraft>,<hex ident>,<flight>,<date gen>,<time gen>,
<date logged>,<time logged>,<callsign>,<altitude ft>,<ground speed kt>,<track deg>,<lat>,
<lon>,<vertical rate ft/min>,<squawk>,<alert>,<emergency>,<spi>,<is on ground>``; each
message type fills some fields (1 callsign; 2 surface position; 3 airborne position; 4
velocity; 5 and 7 altitude; 6 squawk; 8 on-ground) and leaves the rest empty.

:class:`SbsParser` merges the fields per ICAO address, so each position (MSG 2 or 3 with
lat/lon) becomes one :class:`Detection` with the latest callsign, velocity, altitude and squawk
heard for that aircraft within :data:`MERGE_STALE_S`. Units: altitude is pressure altitude in
feet (-> metres, frame ``pressure``), speeds knots (-> m/s), vertical rate ft/min (-> m/s).
``time_s`` comes from the generated date and time (UTC, as dump1090 writes them), else the
logged ones, else the receive time. Missing fields are tolerated, and so are dump1090's
booleans (``-1`` or ``1`` true, ``0`` false, empty unknown); other record kinds (``SEL``,
``ID``, ``AIR``, ``STA``, ``CLK``) are ignored; a line that cannot be read (no ``MSG``
type 1-8, a bad hex ident, a number or date that is not one, coordinates out of range) is
counted in ``stats.skipped`` and skipped. The same position read twice (same aircraft, time
and place) is counted in ``stats.duplicates`` and not emitted again.

:class:`SbsSource` is the TCP client: it connects (bounded), reads lines (a line cut at a
chunk boundary is completed by the next chunk), reconnects after a drop or
``idle_timeout_s`` of silence with a bounded backoff, and ends when ``stop`` is set.
"""

from __future__ import annotations

import calendar
import contextlib
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from uav.detect.model import AltFrame, Detection, SensorKind
from uav.detect.sources.base import (
    POLL_S,
    Backoff,
    Batcher,
    Emit,
    SourceStats,
    clean_text,
    run_reconnecting,
    valid_lat_lon,
)

FT_TO_M = 0.3048
KT_TO_MPS = 1852.0 / 3600.0
FPM_TO_MPS = FT_TO_M / 60.0
MERGE_STALE_S = 60.0  # merged fields older than this are forgotten
MAX_AIRCRAFT = 20_000
MAX_LINE_BYTES = 4096  # a "line" longer than this is garbage, not SBS
CONNECT_TIMEOUT_S = 5.0
IDLE_TIMEOUT_S = 60.0  # dump1090 sends nothing while no aircraft are heard; 60 s of silence
OTHER_RECORDS = frozenset({"SEL", "ID", "AIR", "STA", "CLK"})
N_FIELDS = 22

# field positions
F_TYPE, F_HEX = 1, 4
F_DATE_GEN, F_TIME_GEN, F_DATE_LOG, F_TIME_LOG = 6, 7, 8, 9
F_CALLSIGN, F_ALT, F_GS, F_TRACK, F_LAT, F_LON, F_VR, F_SQUAWK = 10, 11, 12, 13, 14, 15, 16, 17
F_ALERT, F_EMERGENCY, F_SPI, F_GROUND = 18, 19, 20, 21


class SbsError(ValueError):
    pass


@dataclass
class _Aircraft:
    """The latest of each field heard for one ICAO address."""

    last_s: float = 0.0
    callsign: str | None = None
    alt_ft: float | None = None
    gs_kt: float | None = None
    track_deg: float | None = None
    vr_fpm: float | None = None
    squawk: str | None = None
    flags: dict[str, bool] = field(default_factory=dict)
    emitted: tuple[float, float, float] | None = None  # (time, lat, lon) of the last detection


class SbsParser:
    """Stateful SBS-1 line parser for one feed; see the module docstring."""

    def __init__(self, source: str, sensor_id: str, stats: SourceStats | None = None) -> None:
        self.source = source
        self.sensor_id = sensor_id
        self.stats = stats if stats is not None else SourceStats()
        self._aircraft: dict[str, _Aircraft] = {}
        self._days: dict[str, float] = {}

    def parse_line(self, line: str, received_s: float) -> Detection | None:
        self.stats.add(read=1)
        try:
            return self._parse(line.strip(), received_s)
        except (SbsError, ValueError, OverflowError) as exc:
            self.stats.error(f"{exc}: {line.strip()[:120]!r}")
            return None

    def _parse(self, line: str, received_s: float) -> Detection | None:
        f = line.split(",")
        if f[0] in OTHER_RECORDS or line == "":
            self.stats.add(ignored=1)
            return None
        if f[0] != "MSG" or len(f) < 5:
            raise SbsError("not an SBS MSG line")
        f += [""] * (N_FIELDS - len(f))
        msg_type = _int(f[F_TYPE], "transmission type")
        if not 1 <= msg_type <= 8:
            raise SbsError(f"transmission type {msg_type} is not 1-8")
        icao = _hex_ident(f[F_HEX])
        time_s = self._time_s(f, received_s)
        position = self._position(f)
        aircraft = self._merge(icao, f, time_s)
        if position is None:
            self.stats.add(ignored=1)
            return None
        lat_deg, lon_deg = position
        if aircraft.emitted == (time_s, lat_deg, lon_deg):
            self.stats.add(duplicates=1)
            return None
        aircraft.emitted = (time_s, lat_deg, lon_deg)
        return self._detection(icao, aircraft, msg_type, time_s, lat_deg, lon_deg, received_s)

    def _detection(
        self, icao: str, a: _Aircraft, msg_type: int, time_s: float, lat_deg: float,
        lon_deg: float, received_s: float,
    ) -> Detection:  # fmt: skip
        extra: dict[str, Any] = {"msg_type": msg_type, **a.flags}
        if a.squawk:
            extra["squawk"] = a.squawk
        return Detection(
            time_s=time_s,
            source=self.source,
            sensor_id=self.sensor_id,
            sensor_kind=SensorKind.ADSB,
            lat_deg=lat_deg,
            lon_deg=lon_deg,
            alt_m=None if a.alt_ft is None else round(a.alt_ft * FT_TO_M, 3),
            alt_frame=None if a.alt_ft is None else AltFrame.PRESSURE,
            ground_speed_mps=None if a.gs_kt is None else round(a.gs_kt * KT_TO_MPS, 3),
            track_deg=a.track_deg,
            vertical_rate_mps=None if a.vr_fpm is None else round(a.vr_fpm * FPM_TO_MPS, 3),
            icao_address=icao,
            callsign=a.callsign,
            received_s=received_s,
            extra=extra,
        )

    def _merge(self, icao: str, f: list[str], time_s: float) -> _Aircraft:
        a = self._aircraft.get(icao)
        if a is None or time_s - a.last_s > MERGE_STALE_S:
            a = _Aircraft(last_s=time_s)
            self._aircraft.pop(icao, None)
            if len(self._aircraft) >= MAX_AIRCRAFT:
                self._aircraft.pop(next(iter(self._aircraft)))
            self._aircraft[icao] = a
        values = (
            _float(f[F_ALT], "altitude"),
            _float(f[F_GS], "ground speed"),
            _float(f[F_TRACK], "track"),
            _float(f[F_VR], "vertical rate"),
        )  # all read before any is stored: a bad line changes nothing
        flags = {name: _bool(f[i]) for name, i in _FLAG_FIELDS}
        a.last_s = max(a.last_s, time_s)
        a.callsign = clean_text(f[F_CALLSIGN]) or a.callsign
        a.squawk = f[F_SQUAWK].strip() or a.squawk
        for name, value in zip(("alt_ft", "gs_kt", "track_deg", "vr_fpm"), values, strict=True):
            if value is not None:
                setattr(a, name, value)
        a.flags.update({k: v for k, v in flags.items() if v is not None})
        return a

    def _position(self, f: list[str]) -> tuple[float, float] | None:
        lat, lon = _float(f[F_LAT], "latitude"), _float(f[F_LON], "longitude")
        if lat is None or lon is None:
            return None
        if not valid_lat_lon(lat, lon):
            raise SbsError(f"position {lat}, {lon} out of range")
        return lat, lon

    def _time_s(self, f: list[str], received_s: float) -> float:
        for date_i, time_i in ((F_DATE_GEN, F_TIME_GEN), (F_DATE_LOG, F_TIME_LOG)):
            date, clock = f[date_i].strip(), f[time_i].strip()
            if date and clock:
                return round(self._day_s(date) + _clock_s(clock), 3)
        return received_s

    def _day_s(self, date: str) -> float:
        day = self._days.get(date)
        if day is None:
            try:
                y, m, d = (int(x) for x in date.replace("-", "/").split("/"))
                day = float(calendar.timegm((y, m, d, 0, 0, 0)))
            except (ValueError, TypeError):
                raise SbsError(f"bad date {date!r}") from None
            if len(self._days) > 64:
                self._days.clear()
            self._days[date] = day
        return day


_FLAG_FIELDS = (
    ("alert", F_ALERT),
    ("emergency", F_EMERGENCY),
    ("spi", F_SPI),
    ("on_ground", F_GROUND),
)


def _int(text: str, what: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise SbsError(f"bad {what} {text!r}") from None


def _float(text: str, what: str) -> float | None:
    s = text.strip()
    if not s:
        return None
    try:
        value = float(s)
    except ValueError:
        raise SbsError(f"bad {what} {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise SbsError(f"bad {what} {text!r}")
    return value


def _bool(text: str) -> bool | None:
    s = text.strip()
    if s in ("-1", "1"):
        return True
    if s == "0":
        return False
    return None


def _hex_ident(text: str) -> str:
    s = text.strip().lstrip("~").upper()
    if len(s) != 6 or any(c not in "0123456789ABCDEF" for c in s):
        raise SbsError(f"bad hex ident {text!r}")
    return s


def _clock_s(clock: str) -> float:
    try:
        h, m, s = clock.split(":")
        seconds = int(h) * 3600 + int(m) * 60 + float(s)
    except ValueError:
        raise SbsError(f"bad time {clock!r}") from None
    if not 0 <= seconds < 86401:
        raise SbsError(f"bad time {clock!r}")
    return seconds


@dataclass
class SbsSource:
    """``sbs:tcp:HOST:PORT``: a TCP client of dump1090's SBS-1 output."""

    host: str
    port: int
    name: str = ""
    connect_timeout_s: float = CONNECT_TIMEOUT_S
    idle_timeout_s: float = IDLE_TIMEOUT_S
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        self.name = self.name or f"sbs:tcp:{self.host}:{self.port}"

    def run(self, emit: Emit, stop: threading.Event, stats: SourceStats) -> None:
        parser = SbsParser(self.name, f"{self.host}:{self.port}", stats)
        batcher = Batcher(emit, stats)
        run_reconnecting(
            lambda: self._connect(stats),
            lambda sock: self._read(sock, parser, batcher, stop),
            _close_socket,
            where=f"{self.host}:{self.port}",
            errors=(OSError,),
            stop=stop,
            stats=stats,
            backoff=self.backoff,
            batcher=batcher,
        )

    def _connect(self, stats: SourceStats) -> socket.socket | None:
        try:
            return socket.create_connection((self.host, self.port), timeout=self.connect_timeout_s)
        except OSError as exc:
            stats.problem(f"{self.host}:{self.port}: cannot connect: {exc}")
            return None

    def _read(
        self, sock: socket.socket, parser: SbsParser, batcher: Batcher, stop: threading.Event
    ) -> None:
        """Read lines until ``stop`` (returns) or the connection drops or idles (raises)."""
        sock.settimeout(POLL_S)
        pending = b""
        last_mono = time.monotonic()
        while not stop.is_set():
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                batcher.flush_due()
                if time.monotonic() - last_mono > self.idle_timeout_s:
                    raise ConnectionError(
                        f"nothing received for {self.idle_timeout_s:g} s"
                    ) from None
                continue
            if not chunk:
                raise ConnectionError("the server closed the connection")
            last_mono = time.monotonic()
            received_s = time.time()
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > MAX_LINE_BYTES:
                parser.stats.error(f"a line longer than {MAX_LINE_BYTES} bytes")
                pending = b""
            for raw in lines:
                detection = parser.parse_line(raw.decode("ascii", "replace"), received_s)
                if detection is not None:
                    batcher.add(detection)
            batcher.flush_due()


def _close_socket(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()
