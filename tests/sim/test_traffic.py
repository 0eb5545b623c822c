"""Traffic: simulated ADS-B against the adsb recording, intruders, Remote ID against remoteid."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.sim.parts_fakes import (
    CLIENT_IDS,
    GCS_HEARTBEAT,
    Encoder,
    FakeServices,
    Sent,
    load_trace,
    mismatches,
    run_until,
)
from uav.errors import InputError
from uav.geo.local import LocalFrame
from uav.sim.interfaces import Position
from uav.sim.traffic import Traffic
from uav.sim.traffic_adsb import SIM_EMITTER_TYPES, AdsbSimulator
from uav.sim.traffic_intruders import Intruder, IntruderTrack, load_intruders

HOME = (23.1290999, 113.3240000, 20.1)
FRAME = LocalFrame(HOME[1], HOME[0])
ADSB_PARAMS = {"SIM_ADSB_COUNT": 5, "SIM_ADSB_RADIUS": 1500, "SIM_ADSB_ALT": 300, "ADSB_TYPE": 1}
RECORDING_UNIX_T0 = 1795489965.0  # 2026-11-24T03:12:45 UTC, the remoteid recording's connect


def north_east(north_m: float, east_m: float) -> tuple[float, float]:
    lon, lat = FRAME.to_lonlat(east_m, north_m)
    return float(lat), float(lon)


def run_adsb(
    services: FakeServices, traffic: Traffic, t_end: float, stream_hz: float, phase_s: float = 0.03
) -> None:
    """Step the traffic every 10 ms and run the ADSB stream at ``stream_hz``."""
    period_ms = round(1000 / stream_hz)
    link = services.links[0]

    def step() -> None:
        traffic.update()
        now_ms = round(services.now * 1000)
        if (now_ms - round(phase_s * 1000)) % period_ms == 0:
            for msg in traffic.adsb_messages(link.mav):
                link.send(msg)

    run_until(services, t_end, 0.01, step)


def adsb_services(**params: float) -> FakeServices:
    services = FakeServices()
    services.params.update({**ADSB_PARAMS, **params})
    return services


# ----------------------------------------------------------- simulated ADS-B


@pytest.fixture(scope="module")
def adsb_run() -> tuple[list[Sent], list[dict[str, Any]]]:
    """86 s like the recording: ADSB stream at 5 Hz, then 20 Hz from 76 s."""
    services = adsb_services()
    traffic = Traffic(services, seed=0, origin=HOME[:2])
    run_adsb(services, traffic, 76.0, 5.0)
    run_adsb(services, traffic, 86.0, 20.0)
    recorded = [r for r in load_trace("adsb") if r["type"] == "ADSB_VEHICLE"]
    return services.sent("ADSB_VEHICLE"), recorded


def test_adsb_starts_10s_after_boot_like_sitl(adsb_run: Any) -> None:
    ours, recorded = adsb_run
    assert 10.0 <= ours[0].t <= 10.25 and 10.0 <= recorded[0]["t"] <= 10.25


def test_adsb_rates_like_sitl(adsb_run: Any) -> None:
    ours, recorded = adsb_run

    def rate(times: list[float], a: float, b: float) -> float:
        return sum(a <= t < b for t in times) / (b - a)

    our_t, rec_t = [s.t for s in ours], [r["t"] for r in recorded]
    for a, b in ((11.0, 75.0), (77.0, 86.0)):  # 5 Hz stream, then 20 Hz: still ~5 per second
        assert abs(rate(our_t, a, b) - rate(rec_t, a, b)) <= 0.35, (a, b)
    assert abs(len(ours) - len(recorded)) <= 20


def test_each_aircraft_about_once_a_second(adsb_run: Any) -> None:
    ours, _ = adsb_run
    times: dict[int, list[float]] = defaultdict(list)
    for s in ours:
        times[s.msg.ICAO_address].append(s.t)
    gaps = [b - a for ts in times.values() for a, b in itertools.pairwise(ts)]
    # like the recording: nearly always 1.0-1.2 s; list reshuffles (a removed entry's slot
    # taken by the last one) and longer lists make a few shorter or longer gaps
    assert sum(0.95 <= g <= 1.25 for g in gaps) >= 0.85 * len(gaps)
    assert max(gaps) <= 2.1


def test_adsb_fields_like_sitl(adsb_run: Any) -> None:
    ours, recorded = adsb_run
    constant = {"altitude_type": 0, "squawk": 1200, "tslc": 1, "flags": 511}
    assert all(r["fields"][k] == v for r in recorded for k, v in constant.items())
    for s in ours:
        m = s.msg
        assert mismatches(constant, m) == [] and m.callsign == f"SIM{m.ICAO_address}"
        assert m.emitter_type in SIM_EMITTER_TYPES
        east, north = FRAME.to_xy(m.lon * 1e-7, m.lat * 1e-7)
        assert math.hypot(float(north), float(east)) <= 1500.0
        if m.emitter_type == 19:
            assert (m.heading, m.hor_velocity, m.ver_velocity, m.altitude) == (0, 0, 0, 300000)


class _Fields:
    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)


def test_leavers_respawn_and_linger_until_timeout(adsb_run: Any) -> None:
    """Old ICAOs are re-sent unchanged for up to ~3 s after their last report, then gone."""
    ours, _ = adsb_run
    by_icao: dict[int, list[Sent]] = defaultdict(list)
    for s in ours:
        by_icao[s.msg.ICAO_address].append(s)
    assert len(by_icao) > 5  # some aircraft left and were replaced (seed 0)
    ended = [sents for sents in by_icao.values() if sents[-1].t < 80.0]
    assert ended
    for sents in ended:
        last_position = (sents[-1].msg.lat, sents[-1].msg.lon)
        frozen = [s for s in sents if (s.msg.lat, s.msg.lon) == last_position]
        assert 2 <= len(frozen) <= 4 and frozen[-1].t - frozen[0].t <= 3.5  # SITL: 3 sends


def test_respawn_gives_new_icao_inside_radius() -> None:
    import random

    sim = AdsbSimulator(HOME[:2], random.Random(3))
    first = {r.icao for r in sim.report(10.0, 20, 300.0, 300.0)}
    later = {r.icao for r in sim.report(60.0, 20, 300.0, 300.0)}
    assert len(first) == 20 and later - first  # fast aircraft left 300 m and were replaced
    for report in sim.report(61.0, 20, 300.0, 300.0):
        x, y = FRAME.to_xy(report.lon_deg, report.lat_deg)
        assert math.hypot(float(x), float(y)) <= 300.0 + 100.0  # at most one second of flight


def test_same_seed_same_traffic_other_seed_other() -> None:
    def icaos(seed: int) -> list[int]:
        services = adsb_services()
        traffic = Traffic(services, seed=seed, origin=HOME[:2])
        run_adsb(services, traffic, 20.0, 5.0)
        return [s.msg.ICAO_address for s in services.sent("ADSB_VEHICLE")]

    assert icaos(7) == icaos(7) != icaos(8)


def test_no_adsb_without_receiver_or_simulator() -> None:
    services = adsb_services(ADSB_TYPE=0)
    traffic = Traffic(services, origin=HOME[:2])
    run_adsb(services, traffic, 15.0, 5.0)
    assert services.sent("ADSB_VEHICLE") == []
    services = adsb_services(SIM_ADSB_COUNT=-1)
    traffic = Traffic(services, origin=HOME[:2])
    run_adsb(services, traffic, 15.0, 5.0)
    assert services.sent("ADSB_VEHICLE") == []


def test_simulator_waits_for_home_without_origin() -> None:
    services = adsb_services()
    traffic = Traffic(services)
    run_adsb(services, traffic, 14.0, 5.0)
    assert services.sent("ADSB_VEHICLE") == []
    services.home_value = HOME
    run_adsb(services, traffic, 16.0, 5.0)
    assert services.sent("ADSB_VEHICLE")


# ------------------------------------------------------------------- intruders


def north_track(**kw: Any) -> Intruder:
    fields: dict[str, Any] = {
        "icao": 0xA1B2C3,
        "callsign": "DRONE1",
        "waypoints": ((*north_east(0, 0), 80.0), (*north_east(1000, 0), 120.0)),
        "speed_mps": 10.0,
    }
    return Intruder(**{**fields, **kw})


def test_track_positions_along_legs() -> None:
    track = IntruderTrack(north_track(start_s=5.0))
    assert track.state_at(4.9) is None
    leg_m = track.length_m
    state = track.state_at(5.0 + 0.5 * leg_m / 10.0)
    assert state is not None
    east, north = FRAME.to_xy(state.lon_deg, state.lat_deg)
    assert abs(float(north) - 500.0) < 0.5 and abs(float(east)) < 0.5
    assert abs(state.alt_amsl_m - 100.0) < 0.01 and abs(state.course_deg % 360) < 0.01
    assert abs(math.hypot(state.ground_speed_mps, state.vd_mps) - 10.0) < 1e-6
    end = track.state_at(1000.0)
    assert end is not None and end.ground_speed_mps == 0.0 and abs(end.alt_amsl_m - 120.0) < 1e-9


def test_track_loop_and_removal() -> None:
    looped = IntruderTrack(north_track(loop=True))
    lap_s = looped.length_m / 10.0  # out and back
    back, start = looped.state_at(lap_s + 1.0), looped.state_at(1.0)
    assert back is not None and start is not None
    assert abs(back.lat_deg - start.lat_deg) < 1e-7
    returning = looped.state_at(0.75 * lap_s)
    assert returning is not None and abs(returning.course_deg - 180.0) < 0.01
    gone = IntruderTrack(north_track(remove_at_end=True))
    assert gone.state_at(gone.length_m / 10.0 + 0.1) is None


def test_intruder_in_adsb_list_with_its_identity() -> None:
    services = adsb_services(SIM_ADSB_COUNT=-1)
    traffic = Traffic(services, intruders=[north_track(emitter_type=14)])
    run_adsb(services, traffic, 30.0, 5.0)
    msgs = [s.msg for s in services.sent("ADSB_VEHICLE")]
    assert len(msgs) >= 29 and {m.ICAO_address for m in msgs} == {0xA1B2C3}
    m = msgs[-1]
    ground_mps = 10.0 * 1000.0 / math.hypot(1000.0, 40.0)  # 10 m/s along a climbing leg
    assert (m.callsign, m.emitter_type, m.heading, m.flags) == ("DRONE1", 14, 0, 511)
    assert (m.hor_velocity, m.ver_velocity) == (round(ground_mps * 100), 40)
    _, north = FRAME.to_xy(m.lon * 1e-7, m.lat * 1e-7)
    assert abs(float(north) - 29 * ground_mps) < 0.05  # as reported at the 29 s tick


def test_list_radius_from_the_vehicle() -> None:
    services = adsb_services(SIM_ADSB_COUNT=-1)
    services.pos = Position(HOME[0], HOME[1], HOME[2], 0.0)
    waypoints = ((*north_east(2500, 0), 100.0), (*north_east(1500, 0), 100.0))
    far = north_track(waypoints=waypoints, speed_mps=20.0)
    traffic = Traffic(services, intruders=[far])
    run_adsb(services, traffic, 20.0, 5.0)
    assert services.sent("ADSB_VEHICLE") == []  # still beyond ADSB_LIST_RADIUS 2000 m
    run_adsb(services, traffic, 30.0, 5.0)
    first = services.sent("ADSB_VEHICLE")[0]
    assert 25.0 < first.t <= 26.3  # 2000 m reached at 25 s, reported at the next tick


def test_duplicate_icao_refused() -> None:
    traffic = Traffic(FakeServices(), intruders=[north_track()])
    with pytest.raises(ValueError):
        traffic.add_intruder(north_track(callsign="OTHER"))


TOML_TEXT = """
[[intruders]]
icao = "A1B2C3"
callsign = "DRONE1"
speed_mps = 10.0
waypoints = [[23.13, 113.32, 80.0], [23.14, 113.32, 120.0]]
loop = true
start_s = 5.0
broadcasts = ["adsb", "remote_id"]
uas_id = "INTRUDER-0001"
operator = [23.129, 113.323, 20.0]
"""


def test_toml_and_json_describe_the_same_intruders(tmp_path: Path) -> None:
    toml_path = tmp_path / "traffic.toml"
    toml_path.write_text(TOML_TEXT)
    json_path = tmp_path / "traffic.json"
    entry = {
        "icao": 0xA1B2C3, "callsign": "DRONE1", "speed_mps": 10.0,
        "waypoints": [[23.13, 113.32, 80.0], [23.14, 113.32, 120.0]], "loop": True,
        "start_s": 5.0, "broadcasts": ["adsb", "remote_id"], "uas_id": "INTRUDER-0001",
        "operator": [23.129, 113.323, 20.0],
    }  # fmt: skip
    json_path.write_text(json.dumps({"intruders": [entry]}))
    (from_toml,) = load_intruders(toml_path)
    assert load_intruders(json_path) == [from_toml]
    assert (from_toml.remote_id, from_toml.adsb, from_toml.emitter_type) == (True, True, 14)
    traffic = Traffic(FakeServices())
    assert traffic.load_intruders(toml_path) == [from_toml] == traffic.intruders


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "unknown keys"),
        ({"waypoints": []}, "no waypoints"),
        ({"icao": 0}, "24-bit"),
        ({"callsign": "TOOLONGNAME"}, "callsign"),
        ({"speed_mps": 0.0}, "speed_mps"),
        ({"broadcasts": ["radio"]}, "broadcasts"),
        ({"waypoints": [[95.0, 113.0, 10.0]]}, "range"),
        ({"loop": "yes"}, "loop"),
    ],
)
def test_bad_descriptions_are_refused(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    entry: dict[str, Any] = {
        "icao": 1, "callsign": "X", "speed_mps": 5.0,
        "waypoints": [[23.13, 113.32, 80.0], [23.14, 113.32, 80.0]],
    }  # fmt: skip
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"intruders": [{**entry, **change}]}))
    with pytest.raises(InputError, match=message) as error:
        load_intruders(path)
    assert error.value.where.feature_index == 0 and error.value.where.file == path


# -------------------------------------------------------------------- Remote ID


def _gps_fix(services: FakeServices) -> Any:
    def gps() -> Position | None:
        return Position(HOME[0], HOME[1], HOME[2], 0.0) if services.now >= 10.14 else None

    return gps


@pytest.fixture(scope="module")
def remoteid() -> tuple[FakeServices, list[dict[str, Any]]]:
    rows = load_trace("remoteid")
    services = FakeServices()
    services.params.update({"DID_ENABLE": 1, "DID_MAVPORT": 0})
    traffic = Traffic(
        services, gps_position=_gps_fix(services), unix_time_at_boot_s=RECORDING_UNIX_T0
    )
    link = services.links[0]

    def step() -> None:
        traffic.update()
        for msg in traffic.odid_messages(link.mav):
            link.send(msg)

    for row in (r for r in rows if r["dir"] == "tx"):
        run_until(services, row["t"], 0.01, step)
        consumed = traffic.handle(Encoder(row["sys"], row["comp"]).from_trace(row), link)
        assert consumed == row["type"].startswith("OPEN_DRONE_ID"), row["type"]
    run_until(services, rows[-1]["t"], 0.01, step)
    return services, rows


def _odid(sent_or_row: Any) -> bool:
    kind = sent_or_row.type if isinstance(sent_or_row, Sent) else sent_or_row["type"]
    if kind == "STATUSTEXT":
        msg = sent_or_row.msg if isinstance(sent_or_row, Sent) else _Fields(sent_or_row["fields"])
        return str(msg.text).startswith("ODID:")
    return kind.startswith("OPEN_DRONE_ID")


def test_remote_id_replay_like_sitl(remoteid: Any) -> None:
    services, rows = remoteid
    recorded = [r for r in rows if r["dir"] == "rx" and _odid(r)]
    ours = [s for s in services.log if _odid(s)]
    assert [s.type for s in ours] == [r["type"] for r in recorded]
    # the recorded GPS wanders by 1e-7 deg and 1 cm; direction is GPS noise while standing
    location_skip = {"direction", "timestamp", "latitude", "longitude", "altitude_geodetic"}
    for sent, row in zip(ours, recorded, strict=True):
        skip = location_skip if row["type"] == "OPEN_DRONE_ID_LOCATION" else set()
        assert mismatches(row["fields"], sent.msg, skip) == [], row["t"]
        assert abs(sent.t - row["t"]) <= 0.03, (row["t"], row["type"], sent.t)
        if row["type"] == "OPEN_DRONE_ID_LOCATION":
            assert abs(sent.msg.latitude - row["fields"]["latitude"]) <= 1
            assert abs(sent.msg.longitude - row["fields"]["longitude"]) <= 1
            assert abs(sent.msg.timestamp - row["fields"]["timestamp"]) <= 1.0
            assert abs(sent.msg.altitude_geodetic - row["fields"]["altitude_geodetic"]) <= 0.011


def test_remote_id_location_timestamps_step_by_one_second(remoteid: Any) -> None:
    services, _ = remoteid
    stamps = [s.msg.timestamp for s in services.sent("OPEN_DRONE_ID_LOCATION")]
    assert len(stamps) > 50
    assert all(abs((b - a) % 3600 - 1.0) < 0.11 for a, b in itertools.pairwise(stamps))


def test_arm_status_only_counts_on_the_remote_id_port() -> None:
    services = FakeServices(link_count=2)
    services.params.update({"DID_ENABLE": 1, "DID_MAVPORT": 0})
    traffic = Traffic(services, unix_time_at_boot_s=0.0)
    transmitter = Encoder(255, 236)
    run_until(services, 6.0, 0.01, traffic.update)
    traffic.handle(
        transmitter.build("OPEN_DRONE_ID_ARM_STATUS", status=0, error=""), services.links[1]
    )
    run_until(services, 6.5, 0.01, traffic.update)
    assert "ODID: transmitter OK" not in [t for _, t in services.texts()]
    traffic.handle(
        transmitter.build("OPEN_DRONE_ID_ARM_STATUS", status=0, error=""), services.links[0]
    )
    run_until(services, 7.0, 0.01, traffic.update)
    assert [t for _, t in services.texts()][-1] == "ODID: transmitter OK"
    assert traffic.odid_link_index() == 0


def test_remote_id_off_by_default() -> None:
    services = FakeServices()
    traffic = Traffic(services, unix_time_at_boot_s=0.0)
    sent: list[Any] = []

    def step() -> None:
        traffic.update()
        sent.extend(traffic.odid_messages(services.links[0].mav))

    run_until(services, 12.0, 0.01, step)
    assert sent == [] and services.texts() == []
    heartbeat = Encoder(*CLIENT_IDS).build("HEARTBEAT", **GCS_HEARTBEAT)
    assert not traffic.handle(heartbeat, services.links[0])


def test_intruder_remote_id_is_relayed_with_its_own_ids() -> None:
    services = FakeServices()  # DID_ENABLE 0: only the relays go out
    intruder = north_track(remote_id=True, adsb=False, uas_id="INTRUDER-0001", start_s=2.0)
    traffic = Traffic(services, intruders=[intruder], unix_time_at_boot_s=RECORDING_UNIX_T0)
    link = services.links[link_index := traffic.odid_link_index()]

    def step() -> None:
        traffic.update()
        for msg in traffic.odid_messages(link.mav):
            link.send(msg)

    run_until(services, 8.5, 0.01, step)
    kinds = Counter(s.type for s in services.log)
    assert link_index == 0
    assert kinds == {
        "OPEN_DRONE_ID_LOCATION": 7,
        "OPEN_DRONE_ID_BASIC_ID": 7,
        "OPEN_DRONE_ID_SYSTEM": 7,
    }
    # a message pack each second: who it is (and its operator) before where it is
    order = [s.type.removeprefix("OPEN_DRONE_ID_") for s in services.log]
    assert order == ["BASIC_ID", "SYSTEM", "LOCATION"] * 7
    mac = [0x02, 0x00, 0xA1, 0xB2, 0xC3, 0x00] + [0] * 14
    assert all(s.msg.id_or_mac == mac and s.msg.target_system == 0 for s in services.log)
    basic = services.sent("OPEN_DRONE_ID_BASIC_ID")[0].msg
    assert bytes(basic.uas_id).rstrip(b"\0") == b"INTRUDER-0001" and basic.id_type == 1
    last = services.sent("OPEN_DRONE_ID_LOCATION")[-1]
    state = IntruderTrack(intruder).state_at(last.t)
    assert state is not None and last.msg.status == 2 and abs(last.t - 8.0) < 0.011
    assert (last.msg.latitude, last.msg.longitude) == (
        round(state.lat_deg * 1e7),
        round(state.lon_deg * 1e7),
    )
    assert last.msg.speed_horizontal == round(state.ground_speed_mps * 100)
    assert traffic.intruder_state(0xA1B2C3) == IntruderTrack(intruder).state_at(services.now)
