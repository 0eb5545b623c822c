"""Decoding JSON input files with errors that name the file and the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from uav.errors import FormatError, InputError, Location


def decode_utf8(data: bytes, path: Path, error: type[InputError] = FormatError) -> str:
    """UTF-8 text (a BOM is dropped); bad bytes are reported with their line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"not UTF-8 text ({exc.reason})", Location(file=path, line=line)) from None


def parse_json(text: str, path: Path, error: type[InputError] = FormatError) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"malformed JSON: {exc.msg} (column {exc.colno})",
            Location(file=path, line=exc.lineno),
        ) from None


def load_json(data: bytes, path: Path, error: type[InputError] = FormatError) -> Any:
    return parse_json(decode_utf8(data, path, error), path, error)
