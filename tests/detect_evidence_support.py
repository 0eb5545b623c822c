"""Helpers for the evidence-log tests: detections, judgements, tracks, incidents to log."""

from __future__ import annotations

from uav.detect.model import (
    AltFrame,
    Category,
    Detection,
    Incident,
    IncidentState,
    Judgement,
    SensorKind,
    Severity,
    Track,
)

T0_S = 1_790_000_000.0


def detection(i: int, *, track: int = 0, t0_s: float = T0_S) -> Detection:
    return Detection(
        time_s=t0_s + i * 0.5,
        source="sbs:tcp:127.0.0.1:30003",
        sensor_id="rx-1",
        sensor_kind=SensorKind.ADSB,
        lat_deg=23.1 + i * 1e-5,
        lon_deg=113.3 + track * 1e-3,
        alt_m=100.0 + i,
        alt_frame=AltFrame.PRESSURE,
        icao_address=f"{0xA00000 + track:06X}",
        emitter_type=14,
        received_s=t0_s + i * 0.5 + 0.2,
    )


def judgement(det: Detection, *, zone_ids: tuple[int, ...] = ()) -> Judgement:
    high = bool(zone_ids)
    return Judgement(
        track_id=det.identity or "plot:1",
        category=Category.DRONE,
        authorised=False,
        authorised_by=None,
        severity=Severity.HIGH if high else Severity.LOW,
        zone_ids=zone_ids,
        zone_id=zone_ids[0] if zone_ids else None,
        zone_name="event" if zone_ids else None,
    )


def batch(
    n: int, *, start: int = 0, tracks: int = 3, zone_every: int = 4
) -> tuple[list[Detection], list[Judgement], list[str]]:
    dets = [detection(i, track=i % tracks) for i in range(start, start + n)]
    judgements = [
        judgement(d, zone_ids=(7, 9) if i % zone_every == 0 else ())
        for i, d in enumerate(dets, start)
    ]
    return dets, judgements, [d.key for d in dets]


def track(track_id: str, n: int, last_s: float) -> Track:
    return Track(
        track_id=track_id,
        category=Category.DRONE,
        first_s=T0_S,
        last_s=last_s,
        detections=n,
        lat_deg=23.1,
        lon_deg=113.3,
        alt_m=110.0,
        alt_frame=AltFrame.PRESSURE,
        authorised=False,
        authorised_by=None,
        icao_address=track_id.removeprefix("icao:"),
    )


def incident(track_id: str, state: IncidentState, updated_s: float, n: int) -> Incident:
    return Incident(
        incident_id=f"{track_id}@7#1",
        track_id=track_id,
        zone_id=7,
        zone_name="event",
        severity=Severity.HIGH,
        state=state,
        opened_s=T0_S,
        updated_s=updated_s,
        closed_s=updated_s if state == IncidentState.CLOSED else None,
        detections=n,
        authorised=False,
        lat_deg=23.1,
        lon_deg=113.3,
        alt_m=110.0,
    )
