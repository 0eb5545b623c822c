"""The parameter table against the recorded download and PARAM_SET echoes."""

from __future__ import annotations

from pathlib import Path

import pytest

import uav.sim
from tests.sim.conftest import load_trace, trace_path
from uav.errors import InputError
from uav.sim.params import (
    TYPE_BY_NAME,
    TYPE_INT8,
    TYPE_REAL32,
    ParamStore,
    coerce,
    read_parm_file,
)


def recorded_table() -> list[tuple[str, float, int]]:
    lines = trace_path("params-default.tsv").read_text("utf-8").splitlines()[1:]
    rows = [line.split("\t") for line in lines if line]
    return [(name, float(value), TYPE_BY_NAME[ptype]) for name, value, ptype in rows]


def test_shipped_defaults_are_the_recorded_download() -> None:
    shipped = (Path(uav.sim.__file__).parent / "data" / "copter-defaults.tsv").read_bytes()
    assert shipped == trace_path("params-default.tsv").read_bytes()


def test_list_is_the_recorded_list_in_order_with_types() -> None:
    store = ParamStore.with_defaults()
    recorded = recorded_table()
    assert store.count == len(recorded) == 1333
    for index, (name, value, ptype) in enumerate(recorded):
        echo = store.echo_at(index)
        assert echo is not None
        assert (echo.name, echo.index, echo.ptype) == (name, index, ptype)
        assert echo.value == pytest.approx(value, rel=1e-6, abs=1e-9)


def test_renamed_params_do_not_exist() -> None:
    store = ParamStore.with_defaults()
    assert store.exists("MAV_SYSID") and store.exists("MAV1_POSITION")
    for old in ("SYSID_THISMAV", "SYSID_MYGCS", "SR0_POSITION"):
        assert not store.exists(old)
        with pytest.raises(KeyError):
            store.get(old)


def test_param_set_echoes_as_recorded_in_fence_trace() -> None:
    """Replays fence.jsonl: each PARAM_SET and the PARAM_VALUE that echoed it."""
    store = ParamStore.with_defaults()
    trace = load_trace("fence")
    pairs = 0
    for i, entry in enumerate(trace):
        if entry["type"] != "PARAM_SET" or entry["dir"] != "tx":
            continue
        sent = entry["fields"]
        echo_entry = next(
            e
            for e in trace[i + 1 :]
            if e["type"] == "PARAM_VALUE" and e["fields"]["param_id"] == sent["param_id"]
        )
        want = echo_entry["fields"]
        echo = store.set(sent["param_id"], sent["param_value"])
        assert echo is not None
        got = (echo.name, echo.value, echo.ptype, echo.count, echo.index)
        assert got == (
            want["param_id"],
            pytest.approx(want["param_value"]),
            want["param_type"],
            want["param_count"],
            want["param_index"],
        )
        pairs += 1
    assert pairs == 5  # FENCE_TYPE, FENCE_ACTION, FENCE_ALT_MAX, FENCE_MARGIN, FENCE_ENABLE


def test_unchanged_default_echo_quirk_only_when_unchanged() -> None:
    store = ParamStore.with_defaults()
    assert store.set("FENCE_TYPE", 7).ptype == TYPE_REAL32  # type: ignore[union-attr]
    assert store.set("FENCE_TYPE", 3).ptype == TYPE_INT8  # type: ignore[union-attr]
    assert store.set("FENCE_TYPE", 3).ptype == TYPE_INT8  # type: ignore[union-attr]


def test_integer_params_round_and_clamp_like_ardupilot() -> None:
    assert coerce(2.999, TYPE_INT8) == 3.0
    assert coerce(2.5, TYPE_INT8) == 2.0
    assert coerce(-2.999, TYPE_INT8) == -3.0
    assert coerce(1000, TYPE_INT8) == 127.0
    assert coerce(0.1, TYPE_REAL32) == pytest.approx(0.1) and coerce(0.1, TYPE_REAL32) != 0.1


def test_unknown_and_non_finite_sets_are_refused() -> None:
    store = ParamStore.with_defaults()
    assert store.set("NO_SUCH_PARAM", 1) is None
    assert store.set("FENCE_ALT_MAX", float("nan")) is None
    assert store.get("FENCE_ALT_MAX") == 100.0


def test_hidden_did_group_matches_remoteid_trace() -> None:
    """DID_ENABLE 1 reveals the 4 DID_* params seen in remoteid.jsonl (count 1337)."""
    recorded = {
        e["fields"]["param_id"]: e["fields"]
        for e in load_trace("remoteid")
        if e["type"] == "PARAM_VALUE" and e["fields"]["param_id"].startswith("DID_")
    }
    store = ParamStore.with_defaults()
    assert not store.exists("DID_MAVPORT")
    store.set("DID_ENABLE", 1)
    assert store.count == 1337
    for name, fields in recorded.items():
        if name in ("DID_ENABLE", "DID_MAVPORT"):
            continue  # set by the scenario's extra.parm
        echo = store.echo(name)
        assert (echo.value, echo.ptype, echo.count) == (
            fields["param_value"],
            fields["param_type"],
            fields["param_count"],
        )
    assert store.echo("DID_MAVPORT").ptype == recorded["DID_MAVPORT"]["param_type"]


def test_hidden_adsb_group_matches_adsb_trace() -> None:
    recorded = {
        e["fields"]["param_id"]: e["fields"]
        for e in load_trace("adsb")
        if e["type"] == "PARAM_VALUE" and e["fields"]["param_id"] in ("ADSB_LIST_RADIUS",)
    }
    store = ParamStore.with_defaults()
    store.set("ADSB_TYPE", 1)
    assert store.count == 1347
    echo = store.echo("ADSB_LIST_RADIUS")
    fields = recorded["ADSB_LIST_RADIUS"]
    assert (echo.value, echo.ptype, echo.count) == (
        fields["param_value"],
        fields["param_type"],
        fields["param_count"],
    )


def test_parm_files_override_defaults(tmp_path: Path) -> None:
    parm = tmp_path / "a.parm"
    parm.write_text(
        "# comment\nFENCE_ENABLE 1\nFENCE_RADIUS,500\nMAV_SYSID=7 @READONLY\n\nNOT_A_PARAM 3\n"
    )
    store = ParamStore.with_defaults()
    unknown = store.apply_defaults(read_parm_file(parm))
    assert unknown == ["NOT_A_PARAM"]
    assert (store.get("FENCE_ENABLE"), store.get("FENCE_RADIUS"), store.get("MAV_SYSID")) == (
        1.0,
        500.0,
        7.0,
    )
    assert store.set("MAV_SYSID", 9) is None  # read-only
    echo = store.set("FENCE_RADIUS", 500)
    assert echo is not None and echo.ptype == TYPE_REAL32  # unchanged default (the .parm's)


@pytest.mark.parametrize("text", ["FENCE_ENABLE\n", "FENCE_ENABLE one\n", "A 1 2\n", "X inf\n"])
def test_bad_parm_lines_are_refused(tmp_path: Path, text: str) -> None:
    parm = tmp_path / "bad.parm"
    parm.write_text(text)
    with pytest.raises(InputError, match="line 1"):
        read_parm_file(parm)


def test_missing_parm_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        read_parm_file(tmp_path / "missing.parm")
