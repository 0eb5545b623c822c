"""The fence storage model against what ArduCopter 4.7 SITL did (fence trace, scenario 3):
the recorded uploads are replayed through :class:`~uav.fence.budget.Budget`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from uav.errors import InputError
from uav.fence.budget import MAX_ITEMS, STORAGE_BYTES, Budget, fence_bytes, fence_items
from uav.fence.items import shapes_of
from uav.link.mission_items import MissionItemInt

FACTS = Path("/work/shared/sitl-traces/fence.facts.json")
ACCEPTED = "MAV_MISSION_ACCEPTED"


@pytest.fixture(scope="module")
def results() -> dict[str, Any]:
    if not FACTS.exists():
        pytest.skip(f"{FACTS} is not on this machine")
    return dict(json.loads(FACTS.read_text())["results"])


def test_single_polygons_as_recorded(results: dict[str, Any]) -> None:
    tries = results["F_single_polygon_limit"]["tries"]
    assert len(tries) >= 8
    for vertices, outcome in tries.items():
        accepted = outcome["ack"] == ACCEPTED
        assert Budget().fits([int(vertices)]) is accepted, (vertices, outcome)
    assert fence_bytes([69]) == 558 and fence_bytes([70]) == 566


def test_four_vertex_polygons_as_recorded(results: dict[str, Any]) -> None:
    tries = results["F4_multi_polygon_limit"]["tries"]
    for polygons, outcome in tries.items():
        counts = [4] * int(polygons)
        assert fence_items(counts) == outcome["items"]
        assert Budget().fits(counts) is (outcome["ack"] == ACCEPTED), (polygons, outcome)
    assert fence_bytes([4] * 16) == 548 and fence_bytes([4] * 17) == 582


def test_refusal_reasons_name_the_limit_the_vehicle_names() -> None:
    assert Budget().why_not([72]) == "72 items where at most 70 are supported"  # NO_SPACE
    assert Budget().why_not([70]) == "566 bytes where the fence storage holds 560"
    assert Budget().why_not([69]) is None


def test_the_recorded_mixed_fence_fits(results: dict[str, Any]) -> None:
    items = [
        MissionItemInt(
            seq=i["seq"],
            command=i["command"],
            frame=i["frame"],
            x=i["x"],
            y=i["y"],
            z=i["z"],
            param1=i["p1"],
            autocontinue=i["autocontinue"],
            mission_type=1,
        )
        for i in results["B_download"]["items"]
    ]
    shapes = shapes_of(items)
    assert [len(p.vertices) for p in shapes.polygons] == [4, 4]
    assert [p.inclusion for p in shapes.polygons] == [True, False]
    assert len(shapes.circles) == 1 and shapes.circles[0].radius_m == 20.0
    assert shapes.return_point is not None
    assert shapes.item_count == 10 == results["A_upload"]["count"]
    assert shapes.bytes_used == 4 + 2 * 34 + 13 + 9
    assert results["A_upload"]["ack"] == 0 and Budget().fits([4, 4], 1, return_point=True)
    assert [i.command for i in shapes.to_items()] == [i.command for i in items]


def test_max_points_lowers_the_item_budget_only() -> None:
    b = Budget.for_max_points(20)
    assert b.max_items == 20 and b.max_bytes == STORAGE_BYTES
    assert b.fits([16], 4) and not b.fits([17], 4)
    assert Budget.for_max_points(None) == Budget(MAX_ITEMS, STORAGE_BYTES)
    for bad in (2, 71):
        with pytest.raises(InputError, match="--max-points"):
            Budget.for_max_points(bad)
