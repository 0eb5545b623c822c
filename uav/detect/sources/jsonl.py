"""JSON lines from RF / radar detectors (``jsonl:PATH`` or ``jsonl:-`` for stdin).

One JSON object per line; blank lines are ignored. The schema:

=====================  ========================================================================
key                    meaning
=====================  ========================================================================
``time``               required. UNIX seconds (number) or ISO 8601 (``2026-11-24T03:12:45.5Z``;
                       without an offset it is UTC).
``sensor_id``          required. The detector's id (string).
``sensor_kind``        ``rf``, ``radar``, ``adsb``, ``remote-id`` or ``other`` (default).
``lat``, ``lon``       WGS-84 degrees of the target, **or**:
``bearing_deg``,       bearing from the sensor (degrees true, clockwise from north) and range
``range_m``,           (metres), with the sensor's own position ``sensor_lat``/``sensor_lon``;
``sensor_lat``,        the target position is computed on the WGS-84 ellipsoid (pyproj.Geod).
``sensor_lon``
``alt_m``,             altitude in metres and its frame: ``amsl``, ``pressure``,
``alt_frame``          ``above-ground`` or ``above-takeoff``. ``alt_m`` without ``alt_frame`` is
                       refused (altitudes always carry their frame). Both optional.
``confidence``         0..1, optional.
``remote_id``,         optional ids when the detector decodes them: Remote ID serial / UAS id,
``icao``,              ICAO address (6 hex digits), operator id, callsign, ADSB emitter type,
``operator_id``,       ODID UA type, SELF_ID text.
``callsign``,
``emitter_type``,
``ua_type``,
``self_id``
``operator_lat``,      the operator's position (degrees), optional.
``operator_lon``
``ground_speed_mps``,  optional motion: speed over ground, course (degrees true), climb (up
``track_deg``,         positive), and horizontal position uncertainty.
``vertical_rate_mps``,
``position_error_m``
=====================  ========================================================================

Other keys are kept in ``Detection.extra``. Example::

    {"time": 1795489975.2, "sensor_id": "rf-north", "sensor_kind": "rf", "bearing_deg": 135,
     "range_m": 850, "sensor_lat": 23.1291, "sensor_lon": 113.3240, "alt_m": 80,
     "alt_frame": "above-ground", "confidence": 0.8, "remote_id": "1581F5FKD229400A"}

A line that is not such an object is skipped and counted; ``stats.last_error`` names its
line number (``line 7: ...``).
"""

from __future__ import annotations

import json
import math
import os
import select
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from uav.detect.model import AltFrame, Detection, SensorKind
from uav.detect.sources.base import POLL_S, Batcher, Emit, SourceStats, valid_lat_lon

KNOWN_KEYS = frozenset(
    {
        "time", "sensor_id", "sensor_kind", "lat", "lon", "bearing_deg", "range_m",
        "sensor_lat", "sensor_lon", "alt_m", "alt_frame", "confidence", "remote_id", "icao",
        "operator_id", "callsign", "emitter_type", "ua_type", "self_id", "operator_lat",
        "operator_lon", "ground_speed_mps", "track_deg", "vertical_rate_mps",
        "position_error_m",
    }
)  # fmt: skip
MAX_RANGE_M = 1_000_000.0
_GEOD: Any = None


class LineError(ValueError):
    pass


def _geod() -> Any:
    global _GEOD
    if _GEOD is None:
        from pyproj import Geod

        _GEOD = Geod(ellps="WGS84")
    return _GEOD


def destination(
    lat_deg: float, lon_deg: float, bearing_deg: float, range_m: float
) -> tuple[float, float]:
    """The point ``range_m`` from (lat, lon) along ``bearing_deg`` (WGS-84 geodesic)."""
    lon, lat, _ = _geod().fwd(lon_deg, lat_deg, bearing_deg, range_m)
    return float(lat), float(lon)


class JsonlParser:
    """One detector feed's lines -> detections; see the module docstring."""

    def __init__(self, source: str, stats: SourceStats | None = None) -> None:
        self.source = source
        self.stats = stats if stats is not None else SourceStats()

    def parse_line(self, line: str, line_no: int, received_s: float | None) -> Detection | None:
        self.stats.add(read=1)
        if not line.strip():
            self.stats.add(ignored=1)
            return None
        try:
            doc = json.loads(line)
            if not isinstance(doc, dict):
                raise LineError("not a JSON object")
            return self._detection(doc, received_s)
        except (LineError, ValueError, TypeError, OverflowError) as exc:
            self.stats.error(f"line {line_no}: {exc}")
            return None

    def _detection(self, doc: dict[str, Any], received_s: float | None) -> Detection:
        lat_deg, lon_deg = _position(doc)
        alt_m = _num(doc, "alt_m")
        frame = doc.get("alt_frame")
        if alt_m is not None and frame is None:
            raise LineError("alt_m needs alt_frame (amsl, pressure, above-ground, above-takeoff)")
        confidence = _num(doc, "confidence")
        if confidence is not None and not 0.0 <= confidence <= 1.0:
            raise LineError(f"confidence {confidence} is not within 0..1")
        op_lat, op_lon = _num(doc, "operator_lat"), _num(doc, "operator_lon")
        if (op_lat is None) != (op_lon is None) or (
            op_lat is not None and op_lon is not None and not valid_lat_lon(op_lat, op_lon)
        ):
            raise LineError("operator_lat/operator_lon: give both, within range")
        return Detection(
            time_s=_time_s(doc.get("time")),
            source=self.source,
            sensor_id=_text(doc, "sensor_id", required=True) or "",
            sensor_kind=_enum(SensorKind, doc.get("sensor_kind", "other"), "sensor_kind"),
            lat_deg=lat_deg,
            lon_deg=lon_deg,
            alt_m=alt_m,
            alt_frame=None if frame is None else _enum(AltFrame, frame, "alt_frame"),
            position_error_m=_num(doc, "position_error_m"),
            ground_speed_mps=_num(doc, "ground_speed_mps"),
            track_deg=_num(doc, "track_deg"),
            vertical_rate_mps=_num(doc, "vertical_rate_mps"),
            icao_address=_icao(doc.get("icao")),
            callsign=_text(doc, "callsign"),
            emitter_type=_int(doc, "emitter_type"),
            remote_id=_text(doc, "remote_id"),
            ua_type=_int(doc, "ua_type"),
            operator_id=_text(doc, "operator_id"),
            operator_lat_deg=op_lat,
            operator_lon_deg=op_lon,
            self_id=_text(doc, "self_id"),
            confidence=confidence,
            received_s=received_s,
            extra={k: v for k, v in doc.items() if k not in KNOWN_KEYS},
        )


def _position(doc: dict[str, Any]) -> tuple[float, float]:
    lat, lon = _num(doc, "lat"), _num(doc, "lon")
    if lat is not None and lon is not None:
        if not valid_lat_lon(lat, lon):
            raise LineError(f"lat/lon {lat}, {lon} out of range")
        return lat, lon
    bearing, range_m = _num(doc, "bearing_deg"), _num(doc, "range_m")
    s_lat, s_lon = _num(doc, "sensor_lat"), _num(doc, "sensor_lon")
    if bearing is None or range_m is None or s_lat is None or s_lon is None:
        raise LineError("give lat and lon, or bearing_deg, range_m, sensor_lat and sensor_lon")
    if not valid_lat_lon(s_lat, s_lon):
        raise LineError(f"sensor_lat/sensor_lon {s_lat}, {s_lon} out of range")
    if not 0.0 <= range_m <= MAX_RANGE_M:
        raise LineError(f"range_m {range_m} is not within 0..{MAX_RANGE_M:g}")
    return destination(s_lat, s_lon, bearing, range_m)


def _time_s(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise LineError(f"bad time {value!r}")
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            raise LineError(f"bad time {value!r}: UNIX seconds or ISO 8601") from None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    raise LineError("time is required: UNIX seconds or ISO 8601")


def _num(doc: dict[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LineError(f"{key} must be a number, not {value!r}")
    return float(value)


def _int(doc: dict[str, Any], key: str) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 255:
        raise LineError(f"{key} must be an integer 0..255, not {value!r}")
    return value


def _text(doc: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = doc.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise LineError(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise LineError(f"{key} must be a string, not {value!r}")
    return value.strip()


def _icao(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip().upper()
    if len(text) != 6 or any(c not in "0123456789ABCDEF" for c in text):
        raise LineError(f"icao must be 6 hex digits, not {value!r}")
    return text


def _enum(kind: Any, value: Any, key: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise LineError(f"{key} {value!r} is not one of {allowed}") from None


@dataclass
class JsonlSource:
    """``jsonl:PATH`` (read to the end) or ``jsonl:-`` (stdin, until EOF or ``stop``)."""

    path: str
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"jsonl:{self.path}"

    def run(self, emit: Emit, stop: threading.Event, stats: SourceStats) -> None:
        parser = JsonlParser(self.name, stats)
        batcher = Batcher(emit, stats)
        try:
            if self.path == "-":
                self._read_stream(sys.stdin.buffer, parser, batcher, stop)
            else:
                with Path(self.path).open("rb") as fh:
                    self._read_file(fh, parser, batcher, stop)
        except OSError as exc:
            stats.problem(f"{self.path}: {exc}")
        finally:
            batcher.flush()

    @staticmethod
    def _read_file(fh: IO[bytes], parser: JsonlParser, batcher: Batcher, stop: Any) -> None:
        for line_no, raw in enumerate(fh, start=1):
            if line_no % 1000 == 0 and stop.is_set():
                return
            detection = parser.parse_line(raw.decode("utf-8", "replace"), line_no, time.time())
            if detection is not None:
                batcher.add(detection)
            batcher.flush_due()

    @staticmethod
    def _read_stream(
        stream: IO[bytes], parser: JsonlParser, batcher: Batcher, stop: threading.Event
    ) -> None:
        """A pipe: wait for data at most POLL_S at a time, so ``stop`` is seen."""
        fd = stream.fileno()
        pending, line_no = b"", 0
        while not stop.is_set():
            ready, _, _ = select.select([fd], [], [], POLL_S)
            batcher.flush_due()
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if chunk:
                *lines, pending = (pending + chunk).split(b"\n")
            else:  # EOF: what is left is the last line
                lines, pending = ([pending] if pending else []), b""
            for raw in lines:
                line_no += 1
                detection = parser.parse_line(raw.decode("utf-8", "replace"), line_no, time.time())
                if detection is not None:
                    batcher.add(detection)
            if not chunk:
                return
