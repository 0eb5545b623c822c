"""The mission protocol against the recorded mission and fence conversations, and against a
scripted mission server (what ArduCopter does per the traces) for lost messages and round
trips."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DATA
from tests.link.fakevehicle import FakeVehicle
from tests.link.traces import Conversation, Entry, exchange, rx, tx
from uav.errors import InputError
from uav.link.connection import DroneLink
from uav.link.errors import MissionMismatch, MissionRejected, WaitTimeout
from uav.link.mission_items import (
    FENCE,
    MISSION,
    MissionItemInt,
    difference,
    mission_items_to_plan_json,
    on_vehicle,
    plan_to_mission_items,
)
from uav.link.missions import clear, download, upload, verify
from uav.link.state import Home
from uav.plans.model import MavCmd
from uav.plans.path import POSITIONAL
from uav.plans.readers import read_plan

ITEM_FIELDS = ("seq", "command", "frame", "x", "y", "z", "param1", "param2", "param3", "param4")


def item_of(fields: dict[str, Any]) -> MissionItemInt:
    return MissionItemInt(
        **{k: fields[k] for k in ITEM_FIELDS},
        autocontinue=fields["autocontinue"],
        current=fields["current"],
        mission_type=fields["mission_type"],
    )


def uploaded_items(entries: list[Entry]) -> list[MissionItemInt]:
    """The items the recording client uploaded, padded to its MISSION_COUNT with waypoints."""
    (count_entry, *_) = tx(entries, "MISSION_COUNT")
    count, mission_type = count_entry.fields["count"], count_entry.fields["mission_type"]
    items: dict[int, MissionItemInt] = {}
    for entry in tx(entries, "MISSION_ITEM_INT"):
        items.setdefault(entry.fields["seq"], item_of(entry.fields))
    filler = MissionItemInt(0, 16, 0, 231291000, 1133240000, 20.0, mission_type=mission_type)
    return [items.get(seq, replace(filler, seq=seq)) for seq in range(count)]


def items_sent(fake: FakeVehicle) -> list[MissionItemInt]:
    return [MissionItemInt.from_message(m) for m in fake.sent_of("MISSION_ITEM_INT")]


# ---------------------------------------------------------------------- recorded conversations


def test_upload_answers_mission_request_as_recorded(fake: FakeVehicle, link: DroneLink) -> None:
    entries = exchange("mission", "A:", "B:", start="MISSION_COUNT")
    assert {e.type for e in rx(entries)} >= {"MISSION_REQUEST"}
    assert not rx(entries, "MISSION_REQUEST_INT")  # SITL asks with the old message
    items = uploaded_items(entries)
    conv = Conversation(entries).install(fake)
    progress: list[tuple[int, int]] = []
    upload(link, MISSION, items, progress=lambda done, total: progress.append((done, total)))
    assert conv.wait_done()
    assert progress == [(n, 7) for n in range(1, 8)]
    assert items_sent(fake) == items  # the same MISSION_ITEM_INTs as the recording client's


def test_upload_answers_a_re_request(fake: FakeVehicle, link: DroneLink) -> None:
    """D1: the vehicle asked for seq 3 again 1 s later; the link answers every request."""
    entries = exchange("mission", "D1:", "D2:", start="MISSION_COUNT")
    assert [e.fields["seq"] for e in rx(entries, "MISSION_REQUEST")].count(3) == 2
    conv = Conversation(entries).install(fake)
    upload(link, MISSION, uploaded_items(entries))
    assert conv.wait_done()
    assert [i.seq for i in items_sent(fake)].count(3) == 2


REFUSALS = [
    # scenario, step, until, code, texts
    ("mission", "F:", "G:", 4, ("Only 650 items are supported",)),  # NO_SPACE
    ("mission", "E1: upload", "E1: download", 10, ()),  # INVALID_PARAM5_X
    ("mission", "E2", "E3", 2, ()),  # UNSUPPORTED_FRAME
    ("mission", "E3", "E4", 3, ()),  # UNSUPPORTED (command 9999)
    ("fence", "C:", "D:", 4, ("Only 70 items are supported",)),  # NO_SPACE
    ("fence", "D:", "D: download", 1, ("Fence validation failed",)),  # ERROR
    ("fence", "E:", "F:", 2, ()),  # UNSUPPORTED_FRAME
]


@pytest.mark.parametrize(("scenario", "step", "until", "code", "texts"), REFUSALS)
def test_refusing_ack_raises_mission_rejected_with_the_texts(
    fake: FakeVehicle,
    link: DroneLink,
    scenario: str,
    step: str,
    until: str,
    code: int,
    texts: tuple[str, ...],
) -> None:
    entries = exchange(scenario, step, until, start="MISSION_COUNT")
    items = uploaded_items(entries)
    conv = Conversation(entries).install(fake)
    with pytest.raises(MissionRejected) as info:
        upload(link, items[0].mission_type, items)
    assert conv.wait_done()
    assert (info.value.mission_type, info.value.ack_code) == (items[0].mission_type, code)
    assert info.value.texts == texts
    recorded = [item_of(e.fields) for e in tx(entries, "MISSION_ITEM_INT")]
    assert items_sent(fake) == recorded  # it stopped where the recording client stopped


def test_download_mission_as_recorded(fake: FakeVehicle, link: DroneLink) -> None:
    entries = exchange("mission", "B:", "B2:", start="MISSION_REQUEST_LIST")
    conv = Conversation(entries).install(fake)
    progress: list[int] = []
    items = download(link, MISSION, progress=lambda done, _total: progress.append(done))
    assert conv.wait_done()
    assert items == [item_of(e.fields) for e in rx(entries, "MISSION_ITEM_INT")]
    assert progress == list(range(1, 8))
    assert (items[0].x, items[0].y, items[0].z) == (0, 0, 0.0)  # home not set yet (t < 20 s)
    assert [i.frame for i in items] == [0, 3, 3, 0, 3, 3, 0]  # frame 2 came back as 0
    ack = fake.wait_for(lambda m: m.get_type() == "MISSION_ACK")
    assert (ack.type, ack.mission_type) == (0, MISSION)


def test_verify_mission_after_upload(fake: FakeVehicle, link: DroneLink) -> None:
    upload_entries = exchange("mission", "A:", "B:", start="MISSION_COUNT")
    items = uploaded_items(upload_entries)
    Conversation(upload_entries).install(fake)
    upload(link, MISSION, items)
    conv = Conversation(exchange("mission", "B:", "B2:", start="MISSION_REQUEST_LIST"))
    conv.install(fake)
    got = verify(link, MISSION, items)
    assert conv.wait_done()
    assert [difference(on_vehicle(a), b) for a, b in zip(items[1:], got[1:], strict=True)] == [
        None
    ] * 6
    assert difference(items[3], got[3]) is not None  # without the 2 -> 0 rule it would differ


def test_verify_reports_what_differs(fake: FakeVehicle, link: DroneLink) -> None:
    entries = exchange("mission", "B:", "B2:", start="MISSION_REQUEST_LIST")
    items = uploaded_items(exchange("mission", "A:", "B:", start="MISSION_COUNT"))
    items[4] = replace(items[4], z=35.0)
    Conversation(entries).install(fake)
    with pytest.raises(MissionMismatch, match=r"item 4: z 20\.0 where 35\.0 was uploaded"):
        verify(link, MISSION, items)


def test_fence_download_is_normalised_for_verify(fake: FakeVehicle, link: DroneLink) -> None:
    fence_items = uploaded_items(exchange("fence", "A:", "B:", start="MISSION_COUNT"))
    Conversation(exchange("fence", "A:", "B:", start="MISSION_COUNT")).install(fake)
    upload(link, FENCE, fence_items)
    conv = Conversation(exchange("fence", "B:", "C:", start="MISSION_REQUEST_LIST")).install(fake)
    got = verify(link, FENCE, fence_items)
    assert conv.wait_done()
    assert len(got) == 10
    assert {(i.frame, i.autocontinue, i.z) for i in got} == {(0, 0, 0.0)}
    assert [i.command for i in got] == [5001] * 4 + [5002] * 4 + [5004, 5000]
    # as uploaded they differ (autocontinue 1): the normalisation is what makes verify pass
    assert any(difference(a, b) is not None for a, b in zip(fence_items, got, strict=True))


def test_clear_then_download_gives_nothing(fake: FakeVehicle, link: DroneLink) -> None:
    conv = Conversation(exchange("mission", "C:", "D1:", start="MISSION_CLEAR_ALL")).install(fake)
    clear(link, MISSION)
    assert download(link, MISSION) == []
    assert conv.wait_done()


def test_after_home_is_set_seq_0_is_home(fake: FakeVehicle, link: DroneLink) -> None:
    entries = exchange("mission", "H:", None, start="MISSION_COUNT")
    items = uploaded_items(entries)
    conv = Conversation(entries).install(fake)
    upload(link, MISSION, items)
    got = download(link, MISSION)
    assert conv.wait_done()
    assert (got[0].x, got[0].y, got[0].z) == (231290999, 1133240000, pytest.approx(20.1))


# ---------------------------------------------------------------------- scripted mission server


class MissionServer:
    """ArduCopter's side of the mission protocol as the traces show it: MISSION_REQUEST (40)
    for each item, ACK at the end, downloads normalised (mission frame 2 -> 0 and seq 0 =
    home; fence frame 0, autocontinue 0, z 0). ``lose`` drops the first copy of those seqs
    (and asks again, as the vehicle does 1 s later); ``ignore_counts`` ignores that many
    MISSION_COUNTs; ``skip_requests`` ignores the first download request for those seqs."""

    HOME = (231290999, 1133240000, 20.1)

    def __init__(self, fake: FakeVehicle) -> None:
        self.fake = fake
        self.stored: dict[int, list[Any]] = {0: [], 1: [], 2: []}
        self.incoming: dict[int, tuple[int, dict[int, Any]]] = {}
        self.lose: set[int] = set()
        self.ignore_counts = 0
        self.skip_requests: set[int] = set()
        self.invalid_sequence_at: int | None = None
        for name in (
            "MISSION_COUNT",
            "MISSION_ITEM_INT",
            "MISSION_REQUEST_LIST",
            "MISSION_REQUEST_INT",
        ):
            fake.on(name, getattr(self, name.lower()))

    def ack(self, code: int, mission_type: int) -> Any:
        return self.fake.mav.mission_ack_encode(255, 190, code, mission_type)

    def request(self, seq: int, mission_type: int) -> Any:
        return self.fake.mav.mission_request_encode(255, 190, seq, mission_type)

    def mission_count(self, m: Any) -> list[Any]:
        if self.ignore_counts:
            self.ignore_counts -= 1
            return []
        self.incoming[m.mission_type] = (m.count, {})
        if m.count == 0:
            self.stored[m.mission_type] = []
            return [self.ack(0, m.mission_type)]
        return [self.request(0, m.mission_type)]

    def mission_item_int(self, m: Any) -> list[Any]:
        count, got = self.incoming[m.mission_type]
        if m.seq in self.lose:
            self.lose.discard(m.seq)
            return [self.request(m.seq, m.mission_type)]
        got[m.seq] = m
        replies = []
        if self.invalid_sequence_at == m.seq:
            replies.append(self.ack(13, m.mission_type))
        if len(got) < count:
            return [*replies, self.request(m.seq + 1, m.mission_type)]
        self.stored[m.mission_type] = [self.normalised(got[seq]) for seq in range(count)]
        return [*replies, self.ack(0, m.mission_type)]

    def normalised(self, m: Any) -> Any:
        item = MissionItemInt.from_message(m)
        if m.mission_type == MISSION and item.seq == 0:
            item = replace(item, x=self.HOME[0], y=self.HOME[1], z=self.HOME[2])
        return on_vehicle(item)

    def mission_request_list(self, m: Any) -> list[Any]:
        count = len(self.stored[m.mission_type])
        return [self.fake.mav.mission_count_encode(255, 190, count, m.mission_type)]

    def mission_request_int(self, m: Any) -> list[Any]:
        if m.seq in self.skip_requests:
            self.skip_requests.discard(m.seq)
            return []
        item = self.stored[m.mission_type][m.seq]
        return [item.encode(self.fake.mav, 255, 190)]


@pytest.fixture
def server(fake: FakeVehicle) -> MissionServer:
    return MissionServer(fake)


def some_items(n: int = 5, mission_type: int = MISSION) -> list[MissionItemInt]:
    return [
        MissionItemInt(
            seq, 16, 3, 231291000 + 1000 * seq, 1133240000, 20.0 + seq, mission_type=mission_type
        )
        for seq in range(n)
    ]


def test_a_lost_item_is_sent_again(
    fake: FakeVehicle, link: DroneLink, server: MissionServer
) -> None:
    server.lose = {3}
    upload(link, MISSION, some_items())
    assert [i.seq for i in items_sent(fake)] == [0, 1, 2, 3, 3, 4]
    assert len(server.stored[MISSION]) == 5


def test_mission_count_is_sent_again_when_nothing_comes(
    fake: FakeVehicle, link: DroneLink, server: MissionServer
) -> None:
    server.ignore_counts = 1
    upload(link, MISSION, some_items(), reply_timeout_s=0.2)
    assert len(fake.sent_of("MISSION_COUNT")) == 2
    assert len(server.stored[MISSION]) == 5


def test_upload_to_a_vehicle_that_never_asks_times_out(fake: FakeVehicle, link: DroneLink) -> None:
    with pytest.raises(WaitTimeout, match="mission upload: the next request after 0 of 5 items"):
        upload(link, MISSION, some_items(), reply_timeout_s=0.1)
    assert len(fake.sent_of("MISSION_COUNT")) == 3


def test_invalid_sequence_ack_does_not_end_the_upload(
    fake: FakeVehicle, link: DroneLink, server: MissionServer
) -> None:
    server.invalid_sequence_at = 2  # trace mission E4: ACK 13, and the transfer went on
    upload(link, MISSION, some_items())
    assert len(server.stored[MISSION]) == 5


def test_download_asks_again_for_an_unanswered_item(
    fake: FakeVehicle, link: DroneLink, server: MissionServer
) -> None:
    upload(link, FENCE, some_items(4, FENCE))
    server.skip_requests = {1}
    got = download(link, FENCE, reply_timeout_s=0.2)
    assert [i.seq for i in got] == [0, 1, 2, 3]
    assert [m.seq for m in fake.sent_of("MISSION_REQUEST_INT")] == [0, 1, 1, 2, 3]


def test_upload_refuses_badly_numbered_items(link: DroneLink) -> None:
    items = some_items()
    with pytest.raises(InputError, match="numbered 0, 1"):
        upload(link, MISSION, items[1:])
    with pytest.raises(InputError, match="mission type 0"):
        upload(link, MISSION, some_items(3, FENCE))


@pytest.mark.parametrize(
    "name", ["canton-tower.plan", "zhujiang-survey.plan", "tianhe-patrol.waypoints"]
)
def test_plan_round_trip_through_the_vehicle(
    tmp_path: Path, link: DroneLink, server: MissionServer, name: str
) -> None:
    """plan -> items -> upload -> verify (download) -> .plan -> read_plan: the same plan."""
    plan = read_plan(DATA / "plans" / name)
    items = plan_to_mission_items(plan)
    upload(link, MISSION, items)
    got = verify(link, MISSION, items)
    home = Home(got[0].lat_deg, got[0].lon_deg, got[0].z)
    path = tmp_path / "downloaded.plan"
    path.write_text(json.dumps(mission_items_to_plan_json(got, home)))
    back = read_plan(path)
    assert (back.home_lat_deg, back.home_lon_deg, back.home_amsl_m) == (23.1290999, 113.324, 20.1)
    assert len(back.items) == len(plan.items)
    for want, have in zip(plan.items, back.items, strict=True):
        assert (have.seq, have.command) == (want.seq, want.command)
        if want.command in POSITIONAL or want.command in (MavCmd.NAV_TAKEOFF, MavCmd.NAV_LAND):
            assert have.frame == want.frame
        else:  # no altitude to place: written as frame 2 (the vehicle keeps no 0-or-2)
            assert have.frame is None
        for field in ("lat_deg", "lon_deg", "alt_m", "param1", "param2", "param3", "param4"):
            a, b = getattr(want, field), getattr(have, field)
            assert (a != a and b != b) or a == pytest.approx(b, abs=1e-5), (want.seq, field)
