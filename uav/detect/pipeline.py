"""The detection pipeline: a batch of detections -> judged, tracked, incidents -> logged.

``Pipeline.ingest(batch)`` sorts the batch by time, drops sightings already ingested (by
``Detection.key``: repeats inside the batch, then what the sink holds or buffers, asked once
per batch), assigns tracks, judges, folds the batch into tracks and incidents, closes what
went silent by the batch's latest detection time, appends everything to the evidence sink
in that order (detections with their judgements, track changes, incident changes) and
flushes it: one durable transaction per batch. ``tick(now_s)`` closes silent tracks and
incidents when no detections come.

Each sighting is encoded once (:meth:`Detection.sighting_json`, canonical JSON): its key
is a hash of that text, and the evidence log puts the same text into the record's
payload. A detection that cannot be logged (a non-finite number, or a value canonical JSON
cannot hold, in its sighting or ``extra``) is refused before anything is judged: left out
of the batch and counted in ``Result.refused``. The cyclic garbage
collector is paused while a batch is ingested (its objects hold no cycles; walking every
live object several times per batch would cost more than the batch) and restored after, on
every path.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Protocol

from uav.detect.incidents import Incidents
from uav.detect.judge import Judge
from uav.detect.model import Detection, Incident, Judgement, Track, sightings_and_keys
from uav.detect.track import Tracker
from uav.gcpause import paused_gc


class EvidenceSink(Protocol):
    """Where the pipeline's records go (the evidence log, or a test's list)."""

    def known_keys(self, keys: Sequence[str]) -> set[str]:
        """Which of ``keys`` the log already holds."""
        ...

    def append_detections(
        self,
        detections: Sequence[Detection],
        judgements: Sequence[Judgement],
        keys: Sequence[str],
        sightings: Sequence[str] | None = None,
    ) -> None:
        """``keys[i]``: ``detections[i].key``; ``sightings[i]``: its ``sighting_json()``."""
        ...

    def append_tracks(self, tracks: Sequence[Track]) -> None: ...

    def append_incidents(self, incidents: Sequence[Incident]) -> None: ...

    def flush(self) -> object:
        """Make everything appended so far durable (commit); what it returns is unused."""
        ...


@dataclass
class Result:
    """What one ingest did."""

    detections: list[Detection] = field(default_factory=list)  # the new ones, in time order
    judgements: list[Judgement] = field(default_factory=list)  # one per detection
    tracks: list[Track] = field(default_factory=list)  # track changes recorded
    incidents: list[Incident] = field(default_factory=list)  # incident changes recorded
    new_high: list[Incident] = field(default_factory=list)  # first high record of incidents
    duplicates: int = 0
    # detections refused: a non-finite number, or a value canonical JSON cannot hold (an
    # int beyond 64 bits, an unknown type), in the sighting or its extra: not logged
    refused: int = 0


@dataclass
class MemorySink:
    """An :class:`EvidenceSink` keeping everything in lists (tests, dry runs)."""

    detections: list[tuple[Detection, Judgement, str]] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    flushes: int = 0
    _keys: set[str] = field(default_factory=set)

    def known_keys(self, keys: Sequence[str]) -> set[str]:
        return {k for k in keys if k in self._keys}

    def append_detections(
        self,
        detections: Sequence[Detection],
        judgements: Sequence[Judgement],
        keys: Sequence[str],
        sightings: Sequence[str] | None = None,
    ) -> None:
        self.detections.extend(zip(detections, judgements, keys, strict=True))
        self._keys.update(keys)

    def append_tracks(self, tracks: Sequence[Track]) -> None:
        self.tracks.extend(tracks)

    def append_incidents(self, incidents: Sequence[Incident]) -> None:
        self.incidents.extend(incidents)

    def flush(self) -> None:
        self.flushes += 1


class Pipeline:
    """Judge, tracker, incidents and sink wired together; see the module docstring."""

    def __init__(
        self, judge: Judge, tracker: Tracker, incidents: Incidents, sink: EvidenceSink
    ) -> None:
        self.judge = judge
        self.tracker = tracker
        self.incidents = incidents
        self.sink = sink
        self.clock_s: float | None = None  # the latest detection time seen

    def ingest(self, batch: Sequence[Detection]) -> Result:
        """Ingest one batch (any order); one flush of the sink."""
        with paused_gc():
            return self._ingest(batch)

    def _ingest(self, batch: Sequence[Detection]) -> Result:
        detections, keys, sightings, duplicates, refused = self._new_only(sorted(batch, key=_TIME))
        result = Result(duplicates=duplicates, refused=refused)
        if detections:
            track_ids = self.tracker.assign(detections)
            judgements = self.judge.judge(detections, track_ids)
            tracks = self.tracker.observe(detections, judgements)
            incidents = self.incidents.observe(detections, judgements)
            latest = detections[-1].time_s
            self.clock_s = latest if self.clock_s is None else max(self.clock_s, latest)
            self.sink.append_detections(detections, judgements, keys, sightings)
            result = Result(detections, judgements, tracks, incidents, [], duplicates, refused)
        if self.clock_s is not None:
            self._expire(self.clock_s, result)
        result.new_high = self.incidents.new_high(result.incidents)
        self.sink.append_tracks(result.tracks)
        self.sink.append_incidents(result.incidents)
        self.sink.flush()
        return result

    def tick(self, now_s: float) -> Result:
        """Close tracks and incidents silent at ``now_s`` (e.g. the wall clock while a feed
        is quiet); records what closed."""
        with paused_gc():
            return self._tick(now_s)

    def _tick(self, now_s: float) -> Result:
        result = Result()
        self._expire(now_s, result)
        result.new_high = self.incidents.new_high(result.incidents)
        if result.tracks or result.incidents:
            self.sink.append_tracks(result.tracks)
            self.sink.append_incidents(result.incidents)
            self.sink.flush()
        return result

    def close_all(self) -> Result:
        """Close (and record) every open track and incident: listening stops."""
        return self.tick(math.inf)

    def _expire(self, now_s: float, result: Result) -> None:
        result.incidents.extend(self.incidents.expire(now_s))
        closed = self.tracker.expire(now_s)
        result.tracks.extend(closed)
        self.incidents.forget_tracks([t.track_id for t in closed])

    def _new_only(
        self, batch: list[Detection]
    ) -> tuple[list[Detection], list[str], list[str], int, int]:
        """The detections not seen before (first of repeats), their keys and sightings, how
        many were seen before and how many were refused (:func:`_loggable`)."""
        (batch, sightings, keys), refused = _loggable(batch)
        if not keys:
            return batch, keys, sightings, 0, refused
        if len(set(keys)) == len(keys):  # the usual batch: no repeats inside it
            logged = self.sink.known_keys(keys)
            if not logged:
                return batch, keys, sightings, 0, refused
            keep = [i for i, k in enumerate(keys) if k not in logged]
        else:
            fresh: dict[str, int] = {}
            for i, k in enumerate(keys):
                fresh.setdefault(k, i)
            logged = self.sink.known_keys(list(fresh))
            keep = [i for k, i in fresh.items() if k not in logged]
        return (
            [batch[i] for i in keep],
            [keys[i] for i in keep],
            [sightings[i] for i in keep],
            len(batch) - len(keep),
            refused,
        )


def _loggable(
    batch: list[Detection],
) -> tuple[tuple[list[Detection], list[str], list[str]], int]:
    """(the detections that can be logged, their sightings and keys), and how many could
    not (:func:`sightings_and_keys` refused them: checked before anything is judged)."""
    try:
        sightings, keys = sightings_and_keys(batch)
        return (batch, sightings, keys), 0
    except ValueError:
        pass
    ok: list[Detection] = []
    for d in batch:
        try:
            sightings_and_keys([d])
        except ValueError:
            continue
        ok.append(d)
    sightings, keys = sightings_and_keys(ok)
    return (ok, sightings, keys), len(batch) - len(ok)


_TIME = attrgetter("time_s")
