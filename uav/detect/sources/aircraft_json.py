"""dump1090 / readsb ``aircraft.json``, polled (``aircraft-json:PATH_OR_URL``).

The document is ``{"now": <UNIX s>, "aircraft": [{...}, ...]}``; per aircraft this reads
``hex`` (6 hex digits; a leading ``~`` marks a non-ICAO address, kept in
``extra["address"]`` with ``icao_address`` None), ``flight`` (callsign), ``lat``/``lon``,
``alt_geom`` (ft, geometric -> metres ``amsl``) or else ``alt_baro`` (ft, pressure -> metres
``pressure``; the string ``"ground"`` -> ``extra["on_ground"]``), ``gs`` (kt), ``track`` (deg),
``geom_rate``/``baro_rate`` (ft/min), ``category`` (DO-260B emitter category, mapped to
MAVLink's ADSB_EMITTER_TYPE by :data:`CATEGORY_TO_EMITTER`: ``B6`` = UAV = 14), ``squawk``,
``seen_pos`` and ``seen`` (s before ``now``). ``time_s = now - seen_pos``. An aircraft
without a position is ignored; one whose position time did not change since the last poll is
counted as a duplicate and not emitted again. A bad entry is skipped (counted) without
losing the rest; a document that is not JSON of that shape is one skipped unit.

:class:`AircraftJsonSource` re-reads a file path, or fetches an ``http(s)://`` URL with
``urllib`` (bounded timeout), every ``interval_s`` until ``stop``.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uav.detect.model import AltFrame, Detection, SensorKind
from uav.detect.sources.base import Batcher, Emit, SourceStats, clean_text, valid_lat_lon

FT_TO_M = 0.3048
KT_TO_MPS = 1852.0 / 3600.0
FPM_TO_MPS = FT_TO_M / 60.0
INTERVAL_S = 1.0
FETCH_TIMEOUT_S = 5.0
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024

# DO-260B emitter category -> MAVLink ADSB_EMITTER_TYPE
CATEGORY_TO_EMITTER = {
    "A0": 0, "A1": 1, "A2": 2, "A3": 3, "A4": 4, "A5": 5, "A6": 6, "A7": 7,
    "B0": 0, "B1": 9, "B2": 10, "B3": 11, "B4": 12, "B6": 14, "B7": 15,
    "C0": 0, "C1": 17, "C2": 18, "C3": 19, "C4": 19, "C5": 19,
}  # fmt: skip


class EntryError(ValueError):
    pass


class AircraftJsonParser:
    """Turns successive ``aircraft.json`` documents into detections; see the module docstring."""

    def __init__(self, source: str, sensor_id: str, stats: SourceStats | None = None) -> None:
        self.source = source
        self.sensor_id = sensor_id
        self.stats = stats if stats is not None else SourceStats()
        self._last_pos_s: dict[str, float] = {}

    def parse_text(self, text: str | bytes, received_s: float) -> list[Detection]:
        try:
            doc = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            self.stats.add(read=1)
            self.stats.error(f"not JSON: {exc}")
            return []
        return self.parse_document(doc, received_s)

    def parse_document(self, doc: Any, received_s: float) -> list[Detection]:
        if not isinstance(doc, dict) or not isinstance(doc.get("aircraft"), list):
            self.stats.add(read=1)
            self.stats.error("not an aircraft.json document (no 'aircraft' list)")
            return []
        now_s = doc.get("now", received_s)
        if not _number(now_s):
            self.stats.add(read=1)
            self.stats.error(f"bad 'now' {now_s!r}")
            return []
        out: list[Detection] = []
        seen: dict[str, float] = {}
        for index, entry in enumerate(doc["aircraft"]):
            self.stats.add(read=1)
            try:
                detection = self._entry(entry, float(now_s), received_s)
            except (EntryError, ValueError, TypeError) as exc:
                self.stats.error(f"aircraft[{index}]: {exc}")
                continue
            if detection is None:
                self.stats.add(ignored=1)
                continue
            address = str(detection.extra["address"])
            seen[address] = detection.time_s
            if self._last_pos_s.get(address) == detection.time_s:
                self.stats.add(duplicates=1)
                continue
            out.append(detection)
        self._last_pos_s = seen  # aircraft no longer listed are forgotten
        return out

    def _entry(self, a: Any, now_s: float, received_s: float) -> Detection | None:
        if not isinstance(a, dict):
            raise EntryError("not an object")
        address = str(a.get("hex", "")).strip().lower()
        non_icao = address.startswith("~")
        hex6 = address.lstrip("~")
        if len(hex6) != 6 or any(c not in "0123456789abcdef" for c in hex6):
            raise EntryError(f"bad hex {a.get('hex')!r}")
        lat, lon = a.get("lat"), a.get("lon")
        if lat is None or lon is None:
            return None
        if not (_number(lat) and _number(lon) and valid_lat_lon(float(lat), float(lon))):
            raise EntryError(f"bad position {lat!r}, {lon!r}")
        seen_pos: Any = a.get("seen_pos", a.get("seen", 0.0))
        if not _number(seen_pos) or seen_pos < 0:
            raise EntryError(f"bad seen_pos {seen_pos!r}")
        extra: dict[str, Any] = {"address": address}
        alt_m, alt_frame = _altitude(a, extra)
        if a.get("squawk") is not None:
            extra["squawk"] = str(a["squawk"])
        return Detection(
            time_s=round(now_s - float(seen_pos), 3),
            source=self.source,
            sensor_id=self.sensor_id,
            sensor_kind=SensorKind.ADSB,
            lat_deg=float(lat),
            lon_deg=float(lon),
            alt_m=alt_m,
            alt_frame=alt_frame,
            ground_speed_mps=_scaled(a.get("gs"), KT_TO_MPS, "gs"),
            track_deg=_scaled(a.get("track"), 1.0, "track"),
            vertical_rate_mps=_scaled(
                a.get("geom_rate", a.get("baro_rate")), FPM_TO_MPS, "vertical rate"
            ),
            icao_address=None if non_icao else hex6.upper(),
            callsign=clean_text(a.get("flight") or ""),
            emitter_type=CATEGORY_TO_EMITTER.get(str(a.get("category", "")).upper()),
            received_s=received_s,
            extra=extra,
        )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _scaled(value: Any, factor: float, what: str) -> float | None:
    if value is None:
        return None
    if not _number(value):
        raise EntryError(f"bad {what} {value!r}")
    return round(float(value) * factor, 3)


def _altitude(a: dict[str, Any], extra: dict[str, Any]) -> tuple[float | None, AltFrame | None]:
    baro = a.get("alt_baro")
    if baro == "ground":
        extra["on_ground"] = True
        baro = None
    baro_m = _scaled(baro, FT_TO_M, "alt_baro")
    geom_m = _scaled(a.get("alt_geom"), FT_TO_M, "alt_geom")
    if geom_m is not None:
        if baro_m is not None:
            extra["alt_baro_m"] = baro_m
        return geom_m, AltFrame.AMSL
    if baro_m is not None:
        return baro_m, AltFrame.PRESSURE
    return None, None


@dataclass
class AircraftJsonSource:
    """``aircraft-json:PATH_OR_URL``: poll a dump1090 ``aircraft.json`` every ``interval_s``."""

    location: str
    name: str = ""
    interval_s: float = INTERVAL_S
    timeout_s: float = FETCH_TIMEOUT_S
    max_polls: int | None = None  # None: until stop

    def __post_init__(self) -> None:
        self.name = self.name or f"aircraft-json:{self.location}"

    @property
    def is_url(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    def run(self, emit: Emit, stop: threading.Event, stats: SourceStats) -> None:
        parser = AircraftJsonParser(self.name, self.location, stats)
        batcher = Batcher(emit, stats)
        polls = 0
        while not stop.is_set():
            started = time.monotonic()
            text = self._fetch(stats)
            if text is not None:
                batcher.extend(parser.parse_text(text, time.time()))
                batcher.flush()
            polls += 1
            if self.max_polls is not None and polls >= self.max_polls:
                break
            stop.wait(max(0.0, self.interval_s - (time.monotonic() - started)))

    def _fetch(self, stats: SourceStats) -> bytes | None:
        try:
            if self.is_url:
                with urllib.request.urlopen(self.location, timeout=self.timeout_s) as resp:
                    data: bytes = resp.read(MAX_DOCUMENT_BYTES + 1)
            else:
                data = Path(self.location).read_bytes()
        except (OSError, urllib.error.URLError, ValueError) as exc:
            stats.problem(f"{self.location}: cannot read: {exc}")
            return None
        if len(data) > MAX_DOCUMENT_BYTES:
            stats.error(f"{self.location}: larger than {MAX_DOCUMENT_BYTES} bytes")
            return None
        return data
