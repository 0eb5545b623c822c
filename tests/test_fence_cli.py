"""`uav fence` without a vehicle: bad input, unknown drones and dead links are exit 2 and
name what was wrong."""

from __future__ import annotations

from tests.conftest import Invoke
from tests.fleet_support import said


def test_bad_options_are_exit_2_before_any_link(uav: Invoke) -> None:
    # nothing listens at this URL: reaching for the drone would say "cannot connect"
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    cases = [
        (("--action", "loiter"), "--action 'loiter': use one of report, rtl, land"),
        (("--max-points", "71"), "--max-points 71: must be 3 to 70"),
        (("--margin", "-1"), "--margin -1.0: must be >= 0 m"),
        (("--for", "soon"), "cannot read duration 'soon'"),
        (("--radius", "20"), "--radius 20: ArduCopter's FENCE_RADIUS is 30 to 10000 m"),
        (("--max-alt", "0"), "--max-alt 0.0: must be > 0 m"),
    ]
    for args, message in cases:
        r = uav("fence", "push", "TH-01", *args)
        assert r.exit_code == 2, (args, r.stderr)
        assert message in said(r.stderr), (args, r.stderr)
        assert "cannot connect" not in r.stderr


def test_unknown_drones_and_dead_links_are_exit_2(uav: Invoke) -> None:
    for command in ("push", "show", "clear"):
        r = uav("fence", command, "TH-09")
        assert r.exit_code == 2 and "TH-09" in r.stderr, r.stderr
    assert uav("fleet", "add", "TH-01", "--connect", "tcp:127.0.0.1:9").exit_code == 0
    for command in ("push", "show", "clear"):
        r = uav("fence", command, "TH-01")
        assert r.exit_code == 2, r.stderr
        assert "TH-01: tcp:127.0.0.1:9: cannot connect" in said(r.stderr)
