"""``uav detect listen``: run sources into the pipeline until told to stop.

Each source runs on a thread of its own (``source.run(emit, stop, stats)``) and hands
batches of detections to a queue. The listening thread takes what has arrived at least every
``tick_s``, ingests it as one batch (one transaction of the evidence log) and reports the
result. While no detection arrives, the detection clock (the latest detection time) is
carried on by the wall clock so that silent tracks and incidents still close.

Listening stops when ``duration_s`` has passed, when ``max_detections`` new detections have
been ingested (the batch that reaches it is cut there), when every source has ended (files,
replays), or on :class:`KeyboardInterrupt`. Then the sources are stopped and joined
(bounded), and the tracks and incidents still open are closed and logged.

While listening, the garbage collector is set for batch ingest
(:func:`uav.gcpause.batch_ingest_gc`): what is alive at the start (the zones, their index,
the judge's grown polygons) is frozen out of it, and the young generation is collected only
when many more containers live than died, not after every batch.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from uav.detect.model import Detection
from uav.detect.pipeline import EvidenceSink, Pipeline, Result
from uav.detect.sources.base import Source, SourceStats
from uav.gcpause import batch_ingest_gc

TICK_S = 0.25
REFRESH_S = 1.0  # wall seconds between looks at the permits (PermitRefresher)
JOIN_S = 5.0  # per source, once stopped (sources notice `stop` within ~0.2 s)


@dataclass
class SourceRun:
    source: Source
    stats: SourceStats = field(default_factory=SourceStats)
    thread: threading.Thread | None = None
    error: str | None = None  # the exception that ended the source, if any


@dataclass
class ListenSummary:
    detections: int = 0  # new detections ingested
    duplicates: int = 0
    refused: int = 0  # detections the evidence log cannot hold (NaN, ...): not logged
    batches: int = 0
    reason: str = ""  # "duration", "max", "sources ended", "interrupted"
    sources: list[SourceRun] = field(default_factory=list)


def listen(
    sources: Sequence[Source],
    pipeline: Pipeline,
    *,
    duration_s: float | None = None,
    max_detections: int | None = None,
    on_result: Callable[[Result, ListenSummary], None] | None = None,
    until: Callable[[ListenSummary], bool] | None = None,
    tick_s: float = TICK_S,
    refresh: Callable[[], object] | None = None,
    refresh_s: float = REFRESH_S,
) -> ListenSummary:
    """Listen to ``sources`` through ``pipeline``; see the module docstring. ``until``, when
    given, is asked after every batch: True stops listening (reason ``"until"``).
    ``refresh``, when given, is called every ``refresh_s`` (e.g. :class:`PermitRefresher`)."""
    run = _Listening(
        pipeline,
        ListenSummary(sources=[SourceRun(s) for s in sources]),
        duration_s,
        max_detections,
        on_result,
        until,
        tick_s,
        _Every(refresh_s, refresh) if refresh is not None else None,
    )
    with batch_ingest_gc():  # the zones and their index live as long as we listen
        return run.run()


@dataclass
class _Listening:
    """One ``listen``: its pipeline, what it has done so far, and when to stop."""

    pipeline: Pipeline
    summary: ListenSummary
    duration_s: float | None
    max_detections: int | None
    on_result: Callable[[Result, ListenSummary], None] | None
    until: Callable[[ListenSummary], bool] | None
    tick_s: float
    refresh: _Every | None
    inbox: queue.Queue[list[Detection]] = field(default_factory=queue.Queue)

    def run(self) -> ListenSummary:
        stop = threading.Event()
        runs, summary = self.summary.sources, self.summary
        for run in runs:
            run.thread = threading.Thread(
                target=_run_source,
                args=(run, self.inbox.put, stop),
                name=f"source {run.source.name}",
            )
            run.thread.start()
        try:
            summary.reason = self._loop()
        except KeyboardInterrupt:
            summary.reason = "interrupted"
        finally:
            stop.set()
            for run in runs:
                if run.thread is not None:
                    run.thread.join(timeout=JOIN_S)
        if summary.reason != "max":  # what arrived while stopping
            self._ingest(_drain(self.inbox))
        closing = self.pipeline.close_all()
        if self.on_result is not None and (closing.tracks or closing.incidents):
            self.on_result(closing, summary)
        return summary

    def _loop(self) -> str:
        """Ingest what arrives until a reason to stop; that reason."""
        pipeline, summary, inbox = self.pipeline, self.summary, self.inbox
        duration_s, tick_s = self.duration_s, self.tick_s
        start = time.monotonic()
        last_arrival = start
        while True:
            now = time.monotonic()
            if self.refresh is not None:
                self.refresh.maybe(now)
            if duration_s is not None and now - start >= duration_s:
                return "duration"
            wait = tick_s if duration_s is None else max(0.0, min(tick_s, start + duration_s - now))
            batch = _collect(inbox, wait)
            if batch:
                last_arrival = time.monotonic()
                self._ingest(batch)
                if self.max_detections is not None and summary.detections >= self.max_detections:
                    return "max"
                if self.until is not None and self.until(summary):
                    return "until"
            elif pipeline.clock_s is not None:
                quiet = pipeline.tick(pipeline.clock_s + (time.monotonic() - last_arrival))
                if self.on_result is not None and (quiet.tracks or quiet.incidents):
                    self.on_result(quiet, summary)
            if inbox.empty() and all(
                r.thread is not None and not r.thread.is_alive() for r in summary.sources
            ):
                self._ingest(_drain(inbox))
                return "sources ended"

    def _ingest(self, batch: list[Detection]) -> None:
        """Ingest ``batch``; with ``max_detections``, in time-ordered pieces that stop exactly
        there (duplicates do not count)."""
        summary, limit = self.summary, self.max_detections
        rest = sorted(batch, key=lambda d: d.time_s)
        while rest:
            room = len(rest) if limit is None else limit - summary.detections
            if room <= 0:
                return
            piece, rest = rest[:room], rest[room:]
            result = self.pipeline.ingest(piece)
            summary.detections += len(result.detections)
            summary.duplicates += result.duplicates
            summary.refused += result.refused
            summary.batches += 1
            if self.on_result is not None:
                self.on_result(result, summary)


def _run_source(
    run: SourceRun, emit: Callable[[list[Detection]], None], stop: threading.Event
) -> None:
    try:
        run.source.run(emit, stop, run.stats)
    except Exception as exc:  # a broken source ends, the others go on
        run.error = f"{type(exc).__name__}: {exc}"


@dataclass
class _Every:
    period_s: float
    call: Callable[[], object]
    last_s: float = field(default_factory=time.monotonic)

    def maybe(self, now_s: float) -> None:
        if now_s - self.last_s >= self.period_s:
            self.last_s = now_s
            self.call()


class PermitRefresher:
    """Gives the judge the database's permits again whenever they changed (a permit added or
    revoked while ``listen`` runs): detections judged afterwards see them."""

    def __init__(self, store: Any, judge: Any) -> None:
        self.store = store
        self.judge = judge
        self._seen = self._signature(judge.permits)
        self.changes = 0

    @staticmethod
    def _signature(permits: Sequence[Any]) -> tuple[tuple[Any, Any], ...]:
        return tuple(sorted((p.id, p.revoked_at) for p in permits))

    def __call__(self) -> bool:
        permits = self.store.permits()
        signature = self._signature(permits)
        if signature == self._seen:
            return False
        self._seen = signature
        self.judge.use_permits(permits)
        self.changes += 1
        return True


def _collect(inbox: queue.Queue[list[Detection]], wait_s: float) -> list[Detection]:
    """What arrives within ``wait_s`` (at least one batch, if any comes), and all queued."""
    try:
        first = inbox.get(timeout=wait_s) if wait_s > 0 else inbox.get_nowait()
    except queue.Empty:
        return []
    return first + _drain(inbox)


def _drain(inbox: queue.Queue[list[Detection]]) -> list[Detection]:
    out: list[Detection] = []
    while True:
        try:
            out.extend(inbox.get_nowait())
        except queue.Empty:
            return out


def open_pipeline(
    store: Any,
    sink: EvidenceSink,
    *,
    buffer_m: float = 20.0,
    ground_amsl_m: float | None = None,
    track_timeout_s: float = 60.0,
    manned_above_m: float | None = None,
) -> Pipeline:
    """A pipeline over the database's zones, registered drones and permits (read now; give
    ``listen`` a :class:`PermitRefresher` to follow permit changes)."""
    from uav.check.index import ZoneIndex
    from uav.detect.incidents import Incidents
    from uav.detect.judge import FleetIds, Judge
    from uav.detect.track import Tracker

    permits = store.permits() if hasattr(store, "permits") else []
    judge = Judge(
        ZoneIndex(store.zones()),
        FleetIds.from_drones(store.drones()),
        permits,
        buffer_m=buffer_m,
        ground_amsl_m=ground_amsl_m,
        manned_above_m=manned_above_m,
    )
    tracker = Tracker(timeout_s=track_timeout_s)
    return Pipeline(judge, tracker, Incidents(timeout_s=track_timeout_s), sink)
