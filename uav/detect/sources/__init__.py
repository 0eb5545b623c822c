"""Sensor feeds -> :class:`~uav.detect.model.Detection` s.

One module per feed, each with a parser that never raises on bad input (it counts and skips)
and a runner implementing :class:`Source`: ``run(emit, stop, stats)`` reads until ``stop`` is
set or the feed ends, and emits batches. :func:`parse_source` makes a source from the
``uav detect listen SOURCE`` syntax.
"""

from uav.detect.sources.aircraft_json import AircraftJsonParser, AircraftJsonSource
from uav.detect.sources.base import Backoff, Batcher, Emit, Source, SourceStats
from uav.detect.sources.jsonl import JsonlParser, JsonlSource
from uav.detect.sources.mavlink import FleetSource, MavlinkSource
from uav.detect.sources.mavlink_parse import MavlinkParser
from uav.detect.sources.replay import ReplaySource
from uav.detect.sources.sbs import SbsParser, SbsSource
from uav.detect.sources.spec import parse_source

__all__ = [
    "AircraftJsonParser",
    "AircraftJsonSource",
    "Backoff",
    "Batcher",
    "Emit",
    "FleetSource",
    "JsonlParser",
    "JsonlSource",
    "MavlinkParser",
    "MavlinkSource",
    "ReplaySource",
    "SbsParser",
    "SbsSource",
    "Source",
    "SourceStats",
    "parse_source",
]
