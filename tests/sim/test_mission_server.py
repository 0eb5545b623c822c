"""MissionServer: the recorded SITL conversations replayed, then the rules one by one."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from tests.sim.parts_fakes import (
    CLIENT_IDS,
    GCS_HEARTBEAT,
    Encoder,
    FakeServices,
    MissionClient,
    Sent,
    load_trace,
    mismatches,
    run_until,
)
from uav.sim.fence_items import FenceSet, parse_fence
from uav.sim.mission import MissionServer
from uav.sim.mission_items import StoredItem

STEP_S = 0.001
TIME_TOLERANCE_S = 0.02
PROTOCOL_TYPES = {
    "MISSION_REQUEST",
    "MISSION_ACK",
    "MISSION_COUNT",
    "MISSION_ITEM_INT",
    "MISSION_ITEM",
}
HANDLED_TX = PROTOCOL_TYPES | {
    "MISSION_REQUEST_LIST",
    "MISSION_REQUEST_INT",
    "MISSION_CLEAR_ALL",
    "MISSION_SET_CURRENT",
}
SERVER_TEXTS = {
    "Flight plan received",
    "Mission upload timeout",
    "got MISSION_REQUEST; use MISSION_REQUEST_INT!",
    "Fence Indexed OK",
    "Incorrect item count",
    "Fence validation failed",
    "Fence exceeds storage size",
    "Only 650 items are supported",
    "Only 70 items are supported",
}
SAVED_PARAMS = {"MIS_TOTAL", "FENCE_TOTAL"}
HOME = (23.1290999, 113.3240000, 20.1)


# ------------------------------------------------------------------ trace replay


def _home_time(rows: list[dict[str, Any]]) -> float:
    return min((r["t"] for r in rows if r["type"] == "HOME_POSITION"), default=float("inf"))


def _replay(name: str) -> tuple[list[dict[str, Any]], FakeServices, list[tuple[float, str, float]]]:
    """Feed the client's messages of a trace to a MissionServer at their recorded times."""
    rows = load_trace(name)
    home_at = _home_time(rows)
    services = FakeServices()
    server = MissionServer(services)
    client = Encoder(*CLIENT_IDS)
    saves: list[tuple[float, str, float]] = []

    def step() -> None:
        services.home_value = HOME if services.now >= home_at else None
        server.tick()
        saves.extend((services.now, n, v) for n, v in server.drain_param_saves())

    for row in (r for r in rows if r["dir"] == "tx"):
        run_until(services, row["t"], STEP_S, step)
        consumed = server.handle(client.from_trace(row), services.links[0])
        assert consumed == (row["type"] in HANDLED_TX), row
        saves.extend((services.now, n, v) for n, v in server.drain_param_saves())
    run_until(services, rows[-1]["t"], STEP_S, step)
    return rows, services, saves


def _is_server_rx(row: dict[str, Any]) -> bool:
    if row["dir"] != "rx":
        return False
    if row["type"] == "STATUSTEXT":
        return row["fields"]["text"] in SERVER_TEXTS
    return row["type"] in PROTOCOL_TYPES


def _is_server_sent(sent: Sent) -> bool:
    return sent.type in PROTOCOL_TYPES or (
        sent.type == "STATUSTEXT" and sent.msg.text in SERVER_TEXTS
    )


@pytest.mark.parametrize("trace", ["mission", "fence", "flight"])
def test_replay_answers_like_sitl(trace: str) -> None:
    """Same messages, same order, same fields, same vehicle times as the recording."""
    rows, services, _ = _replay(trace)
    recorded = [r for r in rows if _is_server_rx(r)]
    ours = [s for s in services.log if _is_server_sent(s)]
    assert [s.type for s in ours] == [r["type"] for r in recorded]
    for sent, row in zip(ours, recorded, strict=True):
        assert mismatches(row["fields"], sent.msg) == [], (row["t"], row["type"])
        assert abs(sent.t - row["t"]) <= TIME_TOLERANCE_S, (row["t"], row["type"], sent.t)
        assert (sent.msg.get_srcSystem(), sent.msg.get_srcComponent()) == (row["sys"], row["comp"])


@pytest.mark.parametrize("trace", ["mission", "fence", "flight"])
def test_replay_saves_totals_like_sitl(trace: str) -> None:
    """MIS_TOTAL / FENCE_TOTAL are saved with the recorded values at the recorded times."""
    rows, _, saves = _replay(trace)
    recorded = [
        r
        for r in rows
        if r["type"] == "PARAM_VALUE"
        and r["fields"]["param_id"] in SAVED_PARAMS
        and r["fields"]["param_index"] == 65535
    ]
    assert [(n, v) for _, n, v in saves] == [
        (r["fields"]["param_id"], r["fields"]["param_value"]) for r in recorded
    ]
    for (t, _, _), row in zip(saves, recorded, strict=True):
        assert abs(t - row["t"]) <= TIME_TOLERANCE_S, row


@pytest.mark.parametrize("trace", ["mission", "fence"])
def test_replay_announces_each_accepted_change_once(trace: str) -> None:
    """mission_changed() exactly when SITL accepted an upload or a clear (ACK 0)."""
    rows, services, _ = _replay(trace)
    accepted = [
        (r["t"], r["fields"]["mission_type"])
        for r in rows
        if r["dir"] == "rx" and r["type"] == "MISSION_ACK" and r["fields"]["type"] == 0
    ]
    assert len(services.mission_changes) == len(accepted)
    for (t, kind), (t_rec, kind_rec) in zip(services.mission_changes, accepted, strict=True):
        assert kind == kind_rec and abs(t - t_rec) <= TIME_TOLERANCE_S


# ------------------------------------------------------------- a scripted client


def item(
    seq: int, command: int = 16, frame: int = 3, x: int = 231294593, y: int = 1133236093,
    z: float = 20.0, mission_type: int = 0, param1: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    return {
        "seq": seq, "frame": frame, "command": command, "current": 0, "autocontinue": 1,
        "param1": param1, "param2": 0.0, "param3": 0.0, "param4": 0.0, "x": x, "y": y, "z": z,
        "mission_type": mission_type,
    }  # fmt: skip


def mission(n: int, z: float = 20.0) -> list[dict[str, Any]]:
    home = item(0, frame=0, x=231291000, y=1133240000, z=20.0)
    return [home] + [item(i, z=z + i) for i in range(1, n + 1)]


def square_fence(command: int, north_m: float, half_m: float) -> list[dict[str, Any]]:
    d_lat, d_lon = round(half_m / 11.0757), round(half_m / 10.246)
    lat0 = 231290999 + round(north_m / 11.0757)
    corners = [(1, -1), (1, 1), (-1, 1), (-1, -1)]
    return [
        item(
            i,
            command=command,
            frame=0,
            x=lat0 + a * d_lat,
            y=1133240000 + b * d_lon,
            z=0.0,
            mission_type=1,
            param1=4.0,
        )
        for i, (a, b) in enumerate(corners)
    ]


@pytest.fixture
def services() -> FakeServices:
    return FakeServices(link_count=2)


@pytest.fixture
def server(services: FakeServices) -> MissionServer:
    return MissionServer(services)


@pytest.fixture
def client(services: FakeServices, server: MissionServer) -> MissionClient:
    return MissionClient(services, server)


# ---------------------------------------------------------------------- uploads


def test_upload_stores_items_1_to_n_and_announces(
    client: MissionClient, server: MissionServer
) -> None:
    assert client.upload(mission(3)) == 0
    stored = server.items(0)
    assert [m.seq for m in stored] == [1, 2, 3]
    assert [m.z for m in stored] == [21.0, 22.0, 23.0]
    assert server.mission_total == 4
    assert client.services.mission_changes == [(0.0, 0)]
    assert (6, "Flight plan received") in client.services.texts()
    assert server.drain_param_saves() == [
        ("MIS_TOTAL", 2.0),
        ("MIS_TOTAL", 3.0),
        ("MIS_TOTAL", 4.0),
    ]


def test_shorter_upload_truncates(client: MissionClient, server: MissionServer) -> None:
    client.upload(mission(5))
    server.drain_param_saves()
    client.upload(mission(2))
    assert [m.seq for m in server.items(0)] == [1, 2]
    assert server.drain_param_saves() == [("MIS_TOTAL", 3.0)]


def test_download_normalises_frames_and_reports_home(
    client: MissionClient, services: FakeServices, server: MissionServer
) -> None:
    items = mission(2)
    items[1]["frame"] = 6  # GLOBAL_RELATIVE_ALT_INT downloads as 3
    items.append(item(3, command=178, frame=2, x=0, y=0, z=0.0, param1=1.0))
    assert client.upload(items) == 0
    before_home = client.download()
    assert (before_home[0].x, before_home[0].y, before_home[0].z) == (0, 0, 0.0)
    services.home_value = (23.1290999, 113.324, 20.1)
    after_home = client.download()
    assert (after_home[0].x, after_home[0].y, after_home[0].frame) == (231290999, 1133240000, 0)
    assert after_home[1].frame == 3
    assert after_home[3].frame == 0 and after_home[3].command == 178
    assert all(m.target_system == 255 and m.target_component == 190 for m in after_home)


def test_float_mission_item_is_stored_as_int(client: MissionClient, server: MissionServer) -> None:
    client.send("MISSION_COUNT", count=2, mission_type=0)
    client.send("MISSION_ITEM", **{**item(0, frame=0), "x": 23.1291, "y": 113.324})
    client.send("MISSION_ITEM", **{**item(1), "x": 23.1294593, "y": 113.3236093})
    assert client.last("MISSION_ACK").type == 0
    (stored,) = server.items(0)
    # float32 degrees carry ~1e-6 deg: the stored INT is the float32 value scaled exactly
    assert (stored.x, stored.y) == (
        round(float(np.float32(23.1294593)) * 1e7),
        round(float(np.float32(113.3236093)) * 1e7),
    )


@pytest.mark.parametrize(
    ("change", "ack"),
    [
        ({"x": 950000000}, 10),  # INVALID_PARAM5_X
        ({"y": 1850000000}, 11),  # INVALID_PARAM6_Y
        ({"frame": 8}, 2),  # UNSUPPORTED_FRAME
        ({"command": 9999}, 3),  # UNSUPPORTED
    ],
)
def test_bad_item_ends_upload_but_earlier_items_stay(
    client: MissionClient, server: MissionServer, change: dict[str, Any], ack: int
) -> None:
    client.upload(mission(3, z=100.0))
    new = mission(3, z=40.0)
    new[2].update(change)
    assert client.upload(new) == ack
    assert [m.z for m in server.items(0)] == [41.0, 102.0, 103.0]
    assert client.services.mission_changes == [(0.0, 0)]


def test_wrong_seq_is_refused_but_upload_continues(client: MissionClient) -> None:
    items = mission(3)
    client.send("MISSION_COUNT", count=4, mission_type=0)
    client.send("MISSION_ITEM_INT", **items[0])
    client.send("MISSION_ITEM_INT", **items[2])
    assert client.last("MISSION_ACK").type == 13
    for i in (1, 2, 3):
        client.send("MISSION_ITEM_INT", **items[i])
    assert client.last("MISSION_ACK").type == 0


def test_request_resent_every_second_and_cancelled_8s_after_last_item(
    client: MissionClient, services: FakeServices, server: MissionServer
) -> None:
    items = mission(4)
    client.send("MISSION_COUNT", count=5, mission_type=0)
    for i in (0, 1, 2):
        services.now += 0.01
        client.send("MISSION_ITEM_INT", **items[i])
    last_item_s = services.now
    run_until(services, last_item_s + 9.0, 0.001, server.tick)
    requests = [s for s in services.sent("MISSION_REQUEST") if s.msg.seq == 3]
    gaps = [b.t - a.t for a, b in itertools.pairwise(requests)]
    assert len(requests) == 8 and all(abs(g - 1.0) < 0.0015 for g in gaps)
    (cancel,) = services.sent("MISSION_ACK")
    assert cancel.msg.type == 15 and abs(cancel.t - (last_item_s + 8.0)) < 0.0015
    assert (4, "Mission upload timeout") in services.texts()
    assert [m.seq for m in server.items(0)] == [1, 2]
    assert not server.transfer_in_progress()


def test_count_over_limit_is_refused_at_once(client: MissionClient, services: FakeServices) -> None:
    assert not client.send("HEARTBEAT", **GCS_HEARTBEAT)
    client.send("MISSION_COUNT", count=651, mission_type=0)
    assert client.last("MISSION_ACK").type == 4
    assert services.sent("MISSION_REQUEST") == []
    assert (4, "Only 650 items are supported") in services.texts()


def test_second_uploader_is_denied(services: FakeServices, server: MissionServer) -> None:
    first, second = MissionClient(services, server, 0), MissionClient(services, server, 1)
    first.send("MISSION_COUNT", count=3, mission_type=0)
    second.send("MISSION_COUNT", count=3, mission_type=0)
    assert second.last("MISSION_ACK").type == 14
    assert [s.link for s in services.sent("MISSION_REQUEST")] == [0]


def test_replies_go_to_the_asking_link_and_sender(
    services: FakeServices, server: MissionServer
) -> None:
    other = MissionClient(services, server, 1)
    other.encoder = Encoder(250, 7)
    other.send("MISSION_REQUEST_LIST", mission_type=0)
    (reply,) = services.sent(link=1)
    assert reply.type == "MISSION_COUNT" and (
        reply.msg.target_system,
        reply.msg.target_component,
    ) == (250, 7)
    assert services.sent(link=0) == []


def test_client_can_cancel_its_upload(client: MissionClient, server: MissionServer) -> None:
    client.send("MISSION_COUNT", count=3, mission_type=0)
    client.send("MISSION_ACK", type=15, mission_type=0)
    assert not server.transfer_in_progress()


# -------------------------------------------------------------------- downloads


def test_legacy_request_warns_once_per_link(services: FakeServices, server: MissionServer) -> None:
    a, b = MissionClient(services, server, 0), MissionClient(services, server, 1)
    a.upload(mission(2))
    for c in (a, a, b):
        c.send("MISSION_REQUEST", seq=1, mission_type=0)
    floats = services.sent("MISSION_ITEM", link=0)
    assert len(floats) == 2 and abs(floats[0].msg.x - 23.1294593) < 1e-6
    warnings = [t for t in services.texts() if t[1].startswith("got MISSION_REQUEST")]
    assert len(warnings) == 2  # once for link 0, once for link 1 (each text goes to both)


def test_request_beyond_count_is_invalid_sequence(client: MissionClient) -> None:
    client.send("MISSION_REQUEST_INT", seq=5, mission_type=0)
    assert client.last("MISSION_ACK").type == 13


def test_clear_all_leaves_nothing_not_even_home(
    client: MissionClient, services: FakeServices, server: MissionServer
) -> None:
    services.home_value = HOME
    server.tick()
    client.upload(mission(2))
    client.send("MISSION_CLEAR_ALL", mission_type=0)
    assert client.last("MISSION_ACK").type == 0
    assert client.download() == []
    assert server.items(0) == [] and server.mission_total == 0
    assert services.mission_changes[-1] == (0.0, 0)


def test_clear_all_types(client: MissionClient, server: MissionServer) -> None:
    client.upload(mission(1))
    client.upload(square_fence(5001, 0.0, 200.0), mission_type=1)
    client.upload([item(0, command=5100, frame=3, mission_type=2, z=30.0)], mission_type=2)
    client.send("MISSION_CLEAR_ALL", mission_type=255)
    assert client.last("MISSION_ACK").type == 0 and client.last("MISSION_ACK").mission_type == 255
    assert server.items(0) == server.items(1) == server.items(2) == []
    assert server.fence() == FenceSet()


def test_unknown_mission_type_is_unsupported(client: MissionClient) -> None:
    client.send("MISSION_REQUEST_LIST", mission_type=7)
    assert client.last("MISSION_ACK").type == 3


# ------------------------------------------------------------------ fence, rally


def test_fence_items_download_in_frame_0_without_altitude(
    client: MissionClient, server: MissionServer
) -> None:
    fence = square_fence(5001, 0.0, 200.0)
    fence[0]["z"] = 55.0
    assert client.upload(fence, mission_type=1) == 0
    down = client.download(mission_type=1)
    assert [(m.frame, m.autocontinue, m.z, m.param1) for m in down] == [(0, 0, 0.0, 4.0)] * 4
    assert [(m.x, m.y) for m in down] == [(f["x"], f["y"]) for f in fence]
    assert [m.seq for m in server.items(1)] == [0, 1, 2, 3]
    assert len(server.fence().polygons) == 1 and server.fence().polygons[0].inclusion


def test_refused_fence_keeps_the_old_one(client: MissionClient, server: MissionServer) -> None:
    client.upload(square_fence(5001, 0.0, 200.0), mission_type=1)
    before = server.revision(1)
    assert client.upload(square_fence(5002, 80.0, 20.0)[:3], mission_type=1) == 1
    assert server.revision(1) == before
    assert [m.command for m in server.items(1)] == [5001] * 4
    assert client.services.texts()[-2:] == [
        (6, "Incorrect item count"),
        (4, "Fence validation failed"),
    ]


@pytest.mark.parametrize(("vertices", "ok"), [(69, True), (70, False)])
def test_fence_storage_limit(vertices: int, ok: bool) -> None:
    items = [
        StoredItem(i, 0, 5002, 0, float(vertices), 0.0, 0.0, 0.0, 231290000 + i, 1133240000, 0.0, 1)
        for i in range(vertices)
    ]
    if ok:
        assert parse_fence(items).storage_bytes() == 558
    else:
        with pytest.raises(Exception, match="Fence exceeds storage size"):
            parse_fence(items)


def test_rally_round_trip(client: MissionClient, server: MissionServer) -> None:
    rally = [
        item(0, command=5100, frame=6, mission_type=2, z=30.4),
        item(1, command=5100, frame=3, mission_type=2, z=25.0),
    ]
    assert client.upload(rally, mission_type=2) == 0
    down = client.download(mission_type=2)
    assert [(m.frame, m.z) for m in down] == [(3, 30.0), (3, 25.0)]
    assert client.services.mission_changes[-1][1] == 2
    assert server.drain_param_saves()[-1] == ("RALLY_TOTAL", 2.0)


def test_rally_rejects_non_rally_command(client: MissionClient) -> None:
    assert client.upload([item(0, command=16, mission_type=2)], mission_type=2) == 3


# --------------------------------------------------------------- current item


def test_set_current(client: MissionClient, server: MissionServer) -> None:
    client.upload(mission(3))
    client.send("MISSION_SET_CURRENT", seq=2)
    assert server.current_seq == 2
    client.send("MISSION_SET_CURRENT", seq=9)
    assert server.current_seq == 2
    server.set_current(3)
    assert server.current_seq == 3
    with pytest.raises(ValueError):
        server.set_current(4)


def test_home_written_to_empty_mission_saves_mis_total_1(
    services: FakeServices, server: MissionServer
) -> None:
    server.tick()
    assert server.drain_param_saves() == []
    services.home_value = HOME
    server.tick()
    server.tick()
    assert server.drain_param_saves() == [("MIS_TOTAL", 1.0)]
    assert server.mission_total == 1 and server.items(0) == []
