"""``replay:FILE``: re-ingest a recorded session.

* ``*.tlog`` (a MAVLink recording, as MAVProxy/pymavlink write them): its ADSB_VEHICLE and
  OPEN_DRONE_ID_* messages, parsed exactly as the live ``mavlink:`` source would
  (:mod:`uav.detect.sources.mavlink_parse`), each received at its tlog timestamp.
* ``*.jsonl`` / ``*.json``: one :meth:`Detection.to_json` record per line, or a line whose
  ``"detection"`` key holds one; or (a file starting with ``[``) a JSON array of such
  records. Each detection is re-created as it was (its ``source`` included), so it has its
  original key.

The parse is deterministic: the same file gives the same detections with the same
:attr:`Detection.key` s every time, so ingesting a replay twice (or a session and its replay)
adds nothing the second time. Detections from a tlog name their source
``replay:<file name>`` (the name without folders, so the path it is given by does not change
the keys). The replay ends at the end of the file, or when ``stop`` is set.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from uav.detect.model import Detection
from uav.detect.sources.base import Batcher, Emit, SourceStats
from uav.detect.sources.mavlink_parse import MavlinkParser
from uav.errors import InputError

TLOG_SUFFIXES = (".tlog",)
JSONL_SUFFIXES = (".jsonl", ".json", ".ndjson")
STOP_CHECK_EVERY = 1000


def replay_kind(path: str) -> str:
    """``tlog`` or ``jsonl`` from the file name; InputError for anything else."""
    suffix = Path(path).suffix.lower()
    if suffix in TLOG_SUFFIXES:
        return "tlog"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    raise InputError(
        f"replay:{path}: cannot tell the recording's format; use a .tlog (MAVLink) or a "
        ".jsonl of detections"
    )


@dataclass
class ReplaySource:
    """``replay:FILE``; see the module docstring."""

    path: str
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or f"replay:{self.path}"
        self.kind = replay_kind(self.path)

    def run(self, emit: Emit, stop: threading.Event, stats: SourceStats) -> None:
        batcher = Batcher(emit, stats)
        try:
            if self.kind == "tlog":
                self._tlog(batcher, stop, stats)
            else:
                self._jsonl(batcher, stop, stats)
        except OSError as exc:
            stats.problem(f"{self.path}: {exc}")
        finally:
            batcher.flush()

    def _tlog(self, batcher: Batcher, stop: threading.Event, stats: SourceStats) -> None:
        from uav.link import transport  # selects MAVLink 2 before pymavlink is used

        if not Path(self.path).is_file():
            raise FileNotFoundError(f"no such file: {self.path}")
        parser = MavlinkParser(f"replay:{Path(self.path).name}", stats)
        log = transport.mavutil.mavlink_connection(self.path)
        try:
            count = 0
            while (msg := log.recv_msg()) is not None:
                count += 1
                if count % STOP_CHECK_EVERY == 0 and stop.is_set():
                    return
                if msg.get_type() == "BAD_DATA":
                    stats.add(read=1, ignored=1)
                    continue
                batcher.extend(parser.receive(msg, float(msg._timestamp)))
        finally:
            batcher.extend(parser.release_all())  # what waited for an ID goes on without
            log.close()

    def _jsonl(self, batcher: Batcher, stop: threading.Event, stats: SourceStats) -> None:
        if _starts_with_bracket(self.path):
            self._json_array(batcher, stats)
            return
        with Path(self.path).open("rb") as fh:
            for line_no, raw in enumerate(fh, start=1):
                if line_no % STOP_CHECK_EVERY == 0 and stop.is_set():
                    return
                stats.add(read=1)
                if not raw.strip():
                    stats.add(ignored=1)
                    continue
                detection = detection_from_line(raw, line_no, stats)
                if detection is not None:
                    batcher.add(detection)

    def _json_array(self, batcher: Batcher, stats: SourceStats) -> None:
        """A JSON array of detection records (one document, not lines)."""
        try:
            records = json.loads(Path(self.path).read_bytes())
        except ValueError as exc:
            stats.add(read=1)
            stats.error(f"not JSON: {exc}")
            return
        if not isinstance(records, list):
            stats.add(read=1)
            stats.error("not a JSON array of detections")
            return
        for index, record in enumerate(records):
            stats.add(read=1)
            detection = detection_from_record(record, f"item {index}", stats)
            if detection is not None:
                batcher.add(detection)


def _starts_with_bracket(path: str) -> bool:
    with Path(path).open("rb") as fh:
        head = fh.read(64).lstrip()
    return head.startswith(b"[")


def detection_from_line(raw: bytes | str, line_no: int, stats: SourceStats) -> Detection | None:
    """One recorded detection line -> the detection, or None (skipped, counted)."""
    try:
        doc: Any = json.loads(raw)
    except ValueError as exc:
        stats.error(f"line {line_no}: {exc}")
        return None
    return detection_from_record(doc, f"line {line_no}", stats)


def detection_from_record(doc: Any, where: str, stats: SourceStats) -> Detection | None:
    """A :meth:`Detection.to_json` record (or ``{"detection": record, ...}``) -> the detection,
    or None (skipped, counted, ``where`` named in the error)."""
    try:
        if isinstance(doc, dict) and isinstance(doc.get("detection"), dict):
            doc = doc["detection"]
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        return Detection.from_json(doc)
    except KeyError as exc:
        stats.error(f"{where}: missing {exc}")
    except (ValueError, TypeError) as exc:
        stats.error(f"{where}: {exc}")
    return None
