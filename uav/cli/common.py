"""What every command shares: exit codes, consoles, the store, error rendering."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from uav.store import Store

EXIT_OK = 0
EXIT_FINDINGS = 1  # a check found violations, or an action was refused
EXIT_ERROR = 2  # bad input, unknown id, unusable database, or the check could not decide

EXIT_CODES_HELP = (
    "Exit codes: 0 success / clear; 1 violations found or action refused; "
    "2 bad input or error (nothing changed)."
)

out = Console(highlight=False, soft_wrap=False)
err = Console(stderr=True, highlight=False)


@dataclass
class State:
    db: str | None = None  # --db / UAV_DB: an SQLite path or an SQLAlchemy URL


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def open_store(ctx: typer.Context) -> Store:
    from uav.store import Store

    return Store.open(state(ctx).db)


@contextmanager
def handle_errors() -> Iterator[None]:
    """Render uav's own errors on stderr and exit 2."""
    from uav.errors import UavError

    try:
        yield
    except UavError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR) from None


def parse_time(text: str | None, option: str) -> datetime | None:
    """An ISO-8601 option value (naive = this machine's local time) or None."""
    if text is None:
        return None
    from uav.errors import InputError
    from uav.timeutil import parse_instant

    try:
        return parse_instant(text)
    except InputError as exc:
        raise InputError(f"{option}: {exc.message}") from None


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (data stays alone on stdout) when stderr is a terminal,
    shown from the first call of the ``progress(done, total)`` callback it yields with work
    still to do, and stopped when the block ends."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        disable=not err.is_terminal,  # a log file or a pipe gets no bar frames
    )
    task = bar.add_task(label, total=None)

    def progress(done: int, total: int) -> None:
        if not bar.live.is_started:
            if done >= total:  # done at the first word: no bar to watch
                return
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        yield progress
    finally:
        if bar.live.is_started:
            bar.stop()


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 incident", "0 incidents"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
