"""The CLI reads well: every command and group lists with a one-line summary (the first
paragraph of its help; the details and exit codes come after it), counts are English, and
progress bars are drawn on a terminal only."""

from __future__ import annotations

import io
from typing import Any

import pytest
import typer.main
from rich.console import Console

from cli import app
from uav.cli import common
from uav.cli.common import counted, progress_bar

SUMMARY_MAX = 100  # characters: about one line of the command list


def walk(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """Every command under ``cmd`` (typer's click-like commands; groups have ``commands``)."""
    found = [(" ".join(path) or "uav", cmd)]
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            found += walk(sub, (*path, name))
    return found


def summary(cmd: Any) -> str:
    """What the command list shows: the short help when given, else the first paragraph."""
    return cmd.short_help or (cmd.help or "").strip().split("\n\n")[0]


COMMANDS = walk(typer.main.get_command(app))


def test_the_cli_has_its_groups_and_commands() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"zones load", "plan check", "fleet status", "fence push", "detect verify"} <= names
    assert len(names) > 40


def test_every_command_has_a_one_line_summary() -> None:
    long = {
        name: s
        for name, cmd in COMMANDS
        if len(s := summary(cmd)) > SUMMARY_MAX or "\n" in s or not s
    }
    assert not long, long


def test_counts_read_as_english() -> None:
    assert counted(1, "incident") == "1 incident"
    assert [counted(n, "record") for n in (0, 2)] == ["0 records", "2 records"]


def drawn(monkeypatch: pytest.MonkeyPatch, terminal: bool, calls: list[tuple[int, int]]) -> str:
    """What progress_bar writes to a stderr console that is (or is not) a terminal."""
    text = io.StringIO()
    monkeypatch.setattr(common, "err", Console(file=text, force_terminal=terminal, width=80))
    with progress_bar("mission upload") as progress:
        for done, total in calls:
            progress(done, total)
    return text.getvalue()


def test_a_progress_bar_is_drawn_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    shown = drawn(monkeypatch, True, [(0, 5), (3, 5), (5, 5)])
    assert "mission upload" in shown and "5/5" in shown


def test_no_bar_off_a_terminal_nor_for_work_done_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert drawn(monkeypatch, False, [(0, 5), (3, 5), (5, 5)]) == ""
    assert drawn(monkeypatch, True, [(5, 5)]) == ""
