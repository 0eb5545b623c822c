"""Tracker: tracks by id, id-less plots by gating, changes recorded sparingly, closing."""

from __future__ import annotations

from tests.detect_support import T0, det
from uav.detect.model import Category, Detection, Judgement, Severity, TrackChange
from uav.detect.track import Tracker

MS0 = int(T0 * 1000)


def judged(tracker: Tracker, dets: list[Detection], authorised: bool = False) -> list[Judgement]:
    ids = tracker.assign(dets)
    by = "fleet:TH-01" if authorised else None
    return [Judgement(t, Category.DRONE, authorised, by, Severity.LOW) for t in ids]


def feed(tracker: Tracker, dets: list[Detection], authorised: bool = False) -> list:  # type: ignore[type-arg]
    return tracker.observe(dets, judged(tracker, dets, authorised))


def test_tracks_by_identity() -> None:
    tr = Tracker()
    dets = [
        det(0, 0, t=0, remote_id="A"),
        det(0, 0, t=0, remote_id=None, icao="ABC123"),
        det(5, 0, t=1, remote_id="A"),
    ]
    assert tr.assign(dets) == ["rid:A", "icao:ABC123", "rid:A"]


def test_new_then_moved_only_when_moved_far_enough() -> None:
    tr = Tracker(moved_m=100.0, record_interval_s=0.0)
    # a drone flying north at 10 m/s for 30 s, one detection a second
    dets = [det(10.0 * k, 0, t=k, remote_id="A") for k in range(31)]
    changes = feed(tr, dets)
    assert [c.change for c in changes] == [
        TrackChange.NEW,
        TrackChange.MOVED,
        TrackChange.MOVED,
        TrackChange.MOVED,
    ]
    assert [round(c.last_s - T0) for c in changes] == [0, 10, 20, 30]
    assert changes[-1].detections == 31 and changes[-1].first_s == T0


def test_a_moving_track_is_recorded_at_most_every_interval() -> None:
    tr = Tracker()  # 100 m, 30 s
    # flying north at 10 m/s for 95 s, then hovering for 60 s (moving 1 m/s)
    dets = [det(10.0 * k, 0, t=k, remote_id="A") for k in range(96)]
    dets += [det(950.0 + k, 0, t=96 + k, remote_id="A") for k in range(60)]
    changes = feed(tr, dets)
    assert [c.change for c in changes] == [TrackChange.NEW] + [TrackChange.MOVED] * 4
    # 30 s after 90 it had moved 74 m: recorded once it had moved 100 m, at 146 s
    assert [round(c.last_s - T0) for c in changes] == [0, 30, 60, 90, 146]
    assert changes[-1].detections == 147
    assert all(t.detections == 156 for t in tr.tracks)  # every detection counted


def test_an_authorisation_change_is_recorded_within_the_interval() -> None:
    tr = Tracker()
    feed(tr, [det(0, 0, t=0, remote_id="A"), det(50, 0, t=5, remote_id="A")])
    changes = feed(tr, [det(60, 0, t=6, remote_id="A")], authorised=True)
    assert [(round(c.last_s - T0), c.authorised) for c in changes] == [(6, True)]


def test_same_changes_whatever_the_batching() -> None:
    dets = [det(7.0 * k, 3.0 * k, t=k, remote_id="A") for k in range(60)]
    whole = feed(Tracker(), dets)
    pieces: list = []  # type: ignore[type-arg]
    tr = Tracker()
    for i in range(0, 60, 7):
        pieces += feed(tr, dets[i : i + 7])
    assert whole == pieces


def test_authorisation_change_is_recorded() -> None:
    tr = Tracker()
    feed(tr, [det(0, 0, t=0)])
    changes = feed(tr, [det(1, 0, t=1)], authorised=True)
    assert len(changes) == 1 and changes[0].authorised_by == "fleet:TH-01"


def test_closed_after_silence() -> None:
    tr = Tracker(timeout_s=60.0)
    feed(tr, [det(0, 0, t=0, remote_id="A"), det(0, 0, t=30, remote_id="B")])
    assert tr.expire(T0 + 60) == []
    closed = tr.expire(T0 + 60.5)
    assert [(c.track_id, c.change) for c in closed] == [("rid:A", TrackChange.CLOSED)]
    assert [t.track_id for t in tr.tracks] == ["rid:B"]
    again = feed(tr, [det(0, 0, t=100, remote_id="A")])
    assert [(c.track_id, c.change) for c in again] == [("rid:A", TrackChange.NEW)]


def test_late_detection_counts_but_does_not_move() -> None:
    tr = Tracker()
    feed(tr, [det(0, 0, t=10, remote_id="A")])
    assert feed(tr, [det(500, 0, t=5, remote_id="A")]) == []
    (track,) = tr.tracks
    assert track.detections == 2 and track.first_s == T0 + 5 and track.last_s == T0 + 10
    assert track.lat_deg == det(0, 0).lat_deg


def test_plots_gated_into_two_tracks() -> None:
    """Two id-less targets 2 km apart, each moving 15 m/s, interleaved: two plot tracks."""
    tr = Tracker(gate_m=50.0, max_speed_mps=30.0)
    dets = []
    for k in range(20):
        dets.append(det(15.0 * k, 0, t=k, remote_id=None))
        dets.append(det(2000.0 - 15.0 * k, 100, t=k + 0.5, remote_id=None))
    ids = tr.assign(dets)
    assert ids[0::2] == [f"plot:{MS0}"] * 20  # named after their first detection (ms)
    assert ids[1::2] == [f"plot:{MS0 + 500}"] * 20


def test_plot_beyond_gate_or_window_starts_a_new_track() -> None:
    tr = Tracker(gate_m=50.0, max_speed_mps=30.0, gate_window_s=30.0)
    ids = tr.assign(
        [
            det(0, 0, t=0, remote_id=None),
            det(70, 0, t=1, remote_id=None),  # within 50 + 30 * 1
            det(300, 0, t=2, remote_id=None),  # 220 m in 1 s: too fast
            det(70, 0, t=40, remote_id=None),  # the first plot silent for 39 s > window
        ]
    )
    assert ids == [f"plot:{MS0}", f"plot:{MS0}", f"plot:{MS0 + 2000}", f"plot:{MS0 + 40_000}"]


def test_id_less_plot_without_position_gets_its_own_track() -> None:
    tr = Tracker()
    assert tr.assign([det(None, None, remote_id=None), det(None, None, remote_id=None)]) == [
        f"plot:{MS0}",
        f"plot:{MS0 + 1}",  # the same millisecond: the next number
    ]


def test_operator_location_carried() -> None:
    tr = Tracker()
    feed(tr, [det(0, 0, t=0, operator_lat_deg=23.0, operator_lon_deg=113.0)])
    feed(tr, [det(1, 0, t=1)])
    (track,) = tr.tracks
    assert (track.operator_lat_deg, track.operator_lon_deg) == (23.0, 113.0)
