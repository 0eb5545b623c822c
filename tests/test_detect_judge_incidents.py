"""Incidents (open, updated, closed; one per stay) and the pipeline wiring them to a sink."""

from __future__ import annotations

from tests.detect_support import T0, det, square
from uav.check.index import ZoneIndex
from uav.detect.incidents import Incidents
from uav.detect.judge import Judge
from uav.detect.model import (
    Category,
    Detection,
    Incident,
    IncidentState,
    Judgement,
    Severity,
    TrackChange,
)
from uav.detect.pipeline import MemorySink, Pipeline
from uav.detect.track import Tracker
from uav.zones.model import Restriction

H, M, L = Severity.HIGH, Severity.MEDIUM, Severity.LOW
S0 = int(T0)  # incident ids end with the UNIX second they opened


def j(sev: Severity, zone: int | None, *, track: str = "rid:A", **kw: object) -> Judgement:
    fields: dict[str, object] = {"authorised": False, "authorised_by": None, **kw}
    return Judgement(track, Category.DRONE, severity=sev, zone_id=zone, zone_name=None, **fields)  # type: ignore[arg-type]


def run(book: Incidents, steps: list[tuple[float, Judgement]], **det_kw: object) -> list[Incident]:
    dets = [det(0, 0, t=t, **det_kw) for t, _ in steps]  # type: ignore[arg-type]
    return book.observe(dets, [jj for _, jj in steps])


def states(records: list[Incident]) -> list[tuple[str, str, str]]:
    return [(r.incident_id, r.state.value, r.severity.value) for r in records]


def test_open_update_rate_limited_close_on_leaving() -> None:
    book = Incidents(update_interval_s=30.0)
    steps = [(float(t), j(H, 1)) for t in range(0, 65, 5)] + [(70.0, j(L, None))]
    records = run(book, steps)
    assert states(records) == [
        (f"rid:A@1#{S0}", "open", "high"),
        (f"rid:A@1#{S0}", "updated", "high"),  # t=30
        (f"rid:A@1#{S0}", "updated", "high"),  # t=60
        (f"rid:A@1#{S0}", "closed", "high"),
    ]
    assert [r.updated_s - T0 for r in records] == [0.0, 30.0, 60.0, 60.0]
    assert records[-1].closed_s == T0 + 70.0 and records[-1].detections == 13
    assert book.open == []


def test_one_incident_per_stay_leaving_and_coming_back_makes_two() -> None:
    book = Incidents()
    steps = [(0.0, j(H, 1)), (1.0, j(H, 1)), (2.0, j(L, None)), (3.0, j(H, 1))]
    assert [r[0] for r in states(run(book, steps))] == [
        f"rid:A@1#{S0}",
        f"rid:A@1#{S0}",
        f"rid:A@1#{S0 + 3}",
    ]


def test_moving_to_another_zone_closes_and_opens() -> None:
    book = Incidents()
    records = run(book, [(0.0, j(M, 3)), (1.0, j(H, 1))])
    assert states(records) == [
        (f"rid:A@3#{S0}", "open", "medium"),
        (f"rid:A@3#{S0}", "closed", "medium"),
        (f"rid:A@1#{S0 + 1}", "open", "high"),
    ]


def test_buffer_then_inside_is_one_incident_escalated_at_once() -> None:
    book = Incidents(update_interval_s=30.0)
    records = run(book, [(0.0, j(M, 1)), (1.0, j(M, 1)), (2.0, j(H, 1)), (3.0, j(M, 1))])
    assert states(records) == [
        (f"rid:A@1#{S0}", "open", "medium"),
        (f"rid:A@1#{S0}", "updated", "high"),
    ]
    assert [r.incident_id for r in book.new_high(records)] == [f"rid:A@1#{S0}"]
    assert book.open[0].severity is H  # the highest seen stays


def test_closed_by_silence_at_the_last_detection() -> None:
    book = Incidents(timeout_s=60.0)
    run(book, [(0.0, j(H, 1)), (10.0, j(H, 1))])
    assert book.expire(T0 + 70.0) == []
    (closed,) = book.expire(T0 + 70.5)
    assert (closed.state, closed.closed_s) == (IncidentState.CLOSED, T0 + 10.0)


def test_authorised_manned_and_low_make_no_incident() -> None:
    book = Incidents()
    steps = [
        (0.0, j(L, None, authorised=True, authorised_by="permit:1")),
        (1.0, Judgement("icao:1", Category.MANNED, False, None, H, (1,), 1)),
        (2.0, j(L, None)),
    ]
    assert run(book, steps) == []


def test_operator_location_from_remote_id() -> None:
    book = Incidents()
    run(book, [(0.0, j(L, None))], operator_lat_deg=23.5, operator_lon_deg=113.5)
    (opened,) = run(book, [(1.0, j(H, 1))])
    assert (opened.operator_lat_deg, opened.operator_lon_deg) == (23.5, 113.5)


def test_new_high_once_per_incident() -> None:
    book = Incidents(update_interval_s=0.0)
    first = run(book, [(0.0, j(H, 1)), (1.0, j(H, 1))])
    assert len(book.new_high(first)) == 1
    second = run(book, [(2.0, j(H, 1)), (3.0, j(L, None)), (4.0, j(H, 1))])
    assert [r.incident_id for r in book.new_high(second)] == [f"rid:A@1#{S0 + 4}"]


# --- the pipeline --------------------------------------------------------------------------

ZONES = [
    square(1, Restriction.PROHIBITED, south_m=0, west_m=0, size_m=200, name="event"),
    square(3, Restriction.WARNING, south_m=0, west_m=800, size_m=200),
]


def pipeline(sink: MemorySink) -> Pipeline:
    return Pipeline(Judge(ZoneIndex(ZONES)), Tracker(moved_m=95.0), Incidents(), sink)


def crossing(remote_id: str = "RID-X") -> list[Detection]:
    """An intruder flying east at 10 m/s through the event zone (x 0..200 m): x = -103 m at
    t = 0 ... 287 m at t = 39 (never exactly on an edge)."""
    return [det(100, -103 + 10.0 * k, t=k, remote_id=remote_id) for k in range(40)]


def test_pipeline_crossing_makes_one_high_incident_and_logs_everything() -> None:
    sink = MemorySink()
    p = pipeline(sink)
    result = p.ingest(list(reversed(crossing())))  # any order in, time order out
    assert [d.time_s for d in result.detections] == sorted(d.time_s for d in result.detections)
    assert len(sink.detections) == 40 and sink.flushes == 1
    severities = [jj.severity for _, jj, _ in sink.detections]
    assert severities.count(H) == 20  # x = 7 .. 197 m
    # opened in the buffer (x = -13 m, medium), high on entry, closed on leaving the buffer
    assert [(r.state, r.severity) for r in sink.incidents] == [
        (IncidentState.OPEN, M),
        (IncidentState.UPDATED, H),
        (IncidentState.CLOSED, H),
    ]
    assert sink.incidents[0].opened_s == T0 + 9 and sink.incidents[-1].closed_s == T0 + 33
    assert [r.incident_id for r in result.new_high] == [f"rid:RID-X@1#{S0 + 9}"]
    assert [(t.change, t.last_s - T0) for t in sink.tracks] == [
        (TrackChange.NEW, 0),
        (TrackChange.MOVED, 30),  # 30 s on, 300 m away
    ]


def test_pipeline_is_idempotent_on_replay() -> None:
    sink = MemorySink()
    p = pipeline(sink)
    p.ingest(crossing())
    again = p.ingest(crossing())
    assert again.duplicates == 40 and again.detections == [] and len(sink.detections) == 40
    fresh = pipeline(sink)  # a new session on the same log
    assert fresh.ingest(crossing()).duplicates == 40
    assert len(sink.detections) == 40


def test_pipeline_tick_closes_silent_tracks_and_incidents() -> None:
    sink = MemorySink()
    p = pipeline(sink)
    p.ingest(crossing()[:15])  # stops inside the zone at x = 37 m
    assert p.tick(T0 + 30.0).incidents == []
    closed = p.tick(T0 + 100.0)
    assert [r.state for r in closed.incidents] == [IncidentState.CLOSED]
    assert [t.change for t in closed.tracks] == [TrackChange.CLOSED]
    assert p.tracker.tracks == [] and p.incidents.open == []


def test_ids_stay_unique_across_sessions() -> None:
    """A new listening session (a new book) never reuses an earlier session's incident id."""
    first = run(Incidents(), [(0.0, j(H, 1))])
    later = run(Incidents(), [(100.0, j(H, 1))])
    assert first[0].incident_id != later[0].incident_id
    assert later[0].incident_id == f"rid:A@1#{S0 + 100}"
