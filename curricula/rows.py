"""Tolerant JSON Lines reading: every bad row is kept with its line number and reason."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str
    raw: str

    def as_dict(self) -> dict:
        return {"line": self.line, "reason": self.reason, "raw": self.raw}


@dataclass(frozen=True)
class Row:
    line: int
    data: dict


BLANK = object()


def read_jsonl(path: str | Path, required: tuple[str, ...] = ()) -> Iterator[Row | Reject | object]:
    """Yield a Row, a Reject or BLANK for each line (1-based numbering).

    Accepts a UTF-8 BOM, CRLF line ends and blank lines; decodes each line on its own
    so one bad byte costs one row, not the file.
    """
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                yield BLANK
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Reject(number, f"not valid UTF-8 (byte {exc.start})", raw.decode("utf-8", "backslashreplace"))
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Reject(number, f"not valid JSON: {exc.msg} at column {exc.colno}", text)
                continue
            if not isinstance(data, dict):
                yield Reject(number, f"not a JSON object (a {type(data).__name__})", text)
                continue
            missing = [f for f in required if not isinstance(data.get(f), str)]
            if missing:
                what = "missing" if missing[0] not in data else "not a string:"
                yield Reject(number, f"{what} field '{missing[0]}'", text)
                continue
            yield Row(number, data)


def read_json_or_jsonl(path: str | Path, required: tuple[str, ...] = ()) -> Iterator[Row | Reject | object]:
    """A JSON list (BELLE's download, conversation JSON) or JSON Lines, told apart by the first byte."""
    with open(path, "rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"["):
        yield from read_jsonl(path, required)
        return
    try:
        items = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield Reject(0, f"not a valid JSON list: {exc}", "")
        return
    for number, data in enumerate(items, start=1):
        if not isinstance(data, dict):
            yield Reject(number, f"item {number} is not a JSON object", json.dumps(data, ensure_ascii=False))
            continue
        missing = [f for f in required if not isinstance(data.get(f), str)]
        if missing:
            yield Reject(number, f"item {number}: missing field '{missing[0]}'", json.dumps(data, ensure_ascii=False))
            continue
        yield Row(number, data)
