"""The one row reader: JSON Lines or one JSON list, read tolerantly, with an explicit policy.

``policy="collect"`` keeps going and keeps every bad row as a ``Reject`` (file, 1-based line,
field, reason, raw text); ``policy="stop"`` raises ``InputError`` at the first one. Both accept
a UTF-8 BOM, CRLF line ends and blank lines. JSON Lines are decoded line by line, so one bad
byte costs one row, not the file. A file whose first non-blank byte is ``[`` is a JSON list; it
is parsed item by item (memory holds one read block and one item at a time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Literal, NamedTuple

from datagen.errors import InputError

Policy = Literal["collect", "stop"]
POLICIES = ("collect", "stop")
BLOCK = 1 << 20
_SCAN = json.JSONDecoder().scan_once  # what json.loads runs, without its per-call wrapper


@dataclass(frozen=True)
class Reject:
    """A row that was not used, with where it was and why."""

    path: str
    line: int
    reason: str
    raw: str
    field: str | None = None

    def as_dict(self) -> dict:
        return {"file": self.path, "line": self.line, "field": self.field, "reason": self.reason, "raw": self.raw}

    def __str__(self) -> str:
        field = f"{self.field}: " if self.field else ""
        return f"{self.path}:{self.line}: {field}{self.reason}"

    def error(self) -> InputError:
        return InputError(self.reason, path=self.path, line=self.line, field=self.field)


class Row(NamedTuple):
    """A good row: its 1-based line and its object (a tuple: one is made per row, so cheap)."""

    line: int
    data: dict


# a check returns None for a good row, or (field, reason) for a bad one
Check = Callable[[dict], "tuple[str | None, str] | None"]


def require_strings(*fields: str) -> Check:
    """A check that each of ``fields`` is present and a string."""

    def check(data: dict) -> tuple[str, str] | None:
        for name in fields:
            if name not in data:
                return name, "missing"
            if not isinstance(data[name], str):
                return name, f"not a string (a {type(data[name]).__name__})"
        return None

    return check


class RowReader:
    """Iterate the good rows of ``path``; counts and rejects are attributes afterwards.

    >>> reader = RowReader("train.json", check=require_strings("problem", "solution"))
    >>> for row in reader: ...
    >>> reader.rows, reader.blank, reader.rejects
    """

    def __init__(
        self,
        path: str | Path,
        *,
        check: Check | None = None,
        required: tuple[str, ...] = (),
        policy: Policy = "collect",
        allow_empty: bool = True,
    ) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        self.path = Path(path)
        self.name = str(path)
        self.check = check or (require_strings(*required) if required else None)
        self.policy = policy
        self.allow_empty = allow_empty
        self.rows = 0
        self.blank = 0
        self.rejects: list[Reject] = []
        self.format: str | None = None  # "jsonl" or "json-list" once reading started

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def _open(self):
        if self.path.is_dir():
            raise InputError("is a directory, not a file", path=self.name)
        try:
            return open(self.path, "rb")
        except FileNotFoundError:
            raise InputError("no such file", path=self.name) from None
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror})", path=self.name) from None

    def _reject(self, line: int, reason: str, raw: str, field: str | None = None) -> None:
        reject = Reject(self.name, line, reason, raw, field)
        if self.policy == "stop":
            raise reject.error()
        self.rejects.append(reject)

    def _accept(self, line: int, data, raw: str) -> Row | None:
        if not isinstance(data, dict):
            self._reject(line, f"not a JSON object (a {type(data).__name__})", raw)
            return None
        if self.check is not None:
            bad = self.check(data)
            if bad is not None:
                self._reject(line, bad[1], raw, bad[0])
                return None
        self.rows += 1
        return Row(line, data)

    def __iter__(self) -> Iterator[Row]:
        with self._open() as handle:
            start = handle.read(BLOCK)
            if start.startswith(b"\xef\xbb\xbf"):
                start = start[3:]
            while not start.strip():
                block = handle.read(BLOCK)
                if not block:
                    break
                start += block
            if start.lstrip().startswith(b"["):
                self.format = "json-list"
                yield from self._list(start, handle)
            else:
                self.format = "jsonl"
                yield from self._lines(start, handle)
        if not self.allow_empty and self.rows == 0 and not self.rejects:
            raise InputError("has no rows", path=self.name)

    def _lines(self, first: bytes, handle) -> Iterator[Row]:
        number = 0
        rest = b""
        block = first
        while block:
            data = rest + block
            cut = data.rfind(b"\n") + 1
            rest = data[cut:]
            try:
                # the common case: a block of valid UTF-8 decoded at once, not line by line
                lines = data[:cut].decode("utf-8").split("\n")
                parse = self._text_line
            except UnicodeDecodeError:
                lines = data[:cut].split(b"\n")
                parse = self._line
            lines.pop()  # the block ends with a line end: the last piece is empty
            for raw in lines:
                number += 1
                row = parse(number, raw)
                if row is not None:
                    yield row
            block = handle.read(BLOCK)
        if rest:
            row = self._line(number + 1, rest)
            if row is not None:
                yield row

    def _text_line(self, number: int, text: str) -> Row | None:
        """One decoded line; the JSON scanner is called directly, json.loads only to explain a failure."""
        text = text.removesuffix("\r")
        try:
            data, end = _SCAN(text, 0)
            if end != len(text) and not text[end:].isspace():
                raise ValueError
        except (StopIteration, ValueError):
            if not text or text.isspace():
                self.blank += 1
                return None
            return self._line(number, text.encode("utf-8"))
        if type(data) is dict and self.check is None:
            self.rows += 1
            return Row(number, data)
        return self._accept(number, data, text)

    def _line(self, number: int, raw: bytes) -> Row | None:
        raw = raw.rstrip(b"\r")
        if not raw or raw.isspace():
            self.blank += 1
            return None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            self._reject(number, f"not valid UTF-8 (byte {exc.start + 1} of the line)",
                         raw.decode("utf-8", "backslashreplace"))
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            self._reject(number, f"not valid JSON: {exc.msg} at column {exc.colno}", text)
            return None
        except ValueError as exc:  # e.g. an integer beyond Python's digit limit
            self._reject(number, f"not usable JSON: {exc}", text[:200])
            return None
        return self._accept(number, data, text)

    def _list(self, first: bytes, handle) -> Iterator[Row]:
        """Parse ``[item, item, ...]`` incrementally; a syntax error stops (the rest is unreadable)."""
        decoder = json.JSONDecoder()
        raw = first
        try:
            text = _decode(raw, handle)
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-8 (byte {exc.start + 1})", path=self.name) from None
        buffer, more = next(text), True
        pos = buffer.index("[") + 1
        line = 1 + buffer.count("\n", 0, pos)
        expect_item = True
        item_number = 0

        def fill() -> bool:
            nonlocal buffer, pos, more
            if not more:
                return False
            try:
                chunk = next(text)
            except StopIteration:
                more = False
                return False
            buffer = buffer[pos:] + chunk
            pos = 0
            return True

        def skip_space() -> None:
            nonlocal pos, line
            while True:
                end = len(buffer)
                while pos < end and buffer[pos] in " \t\r\n":
                    if buffer[pos] == "\n":
                        line += 1
                    pos += 1
                if pos < end or not fill():
                    return

        def fail(message: str) -> InputError:
            return InputError(f"not a valid JSON list: {message}", path=self.name, line=line)

        while True:
            skip_space()
            if pos >= len(buffer):
                raise fail("ends before the closing ']'")
            if buffer[pos] == "]":
                if item_number and expect_item:
                    raise fail("a ',' before ']'")
                pos += 1
                skip_space()
                if pos < len(buffer):
                    raise fail("text after the closing ']'")
                return
            if not expect_item:
                if buffer[pos] != ",":
                    raise fail(f"expected ',' or ']', found {buffer[pos]!r}")
                pos += 1
                expect_item = True
                continue
            while True:
                try:
                    data, end = decoder.raw_decode(buffer, pos)
                    if end == len(buffer) and more and fill():
                        continue  # a number may continue in the next block
                    break
                except json.JSONDecodeError as exc:
                    if more and fill():
                        continue
                    at = line + buffer.count("\n", pos, exc.pos)
                    raise InputError(f"not valid JSON in the item that starts here: {exc.msg} (line {at})",
                                     path=self.name, line=line) from None
                except ValueError as exc:
                    raise InputError(f"not usable JSON: {exc}", path=self.name, line=line) from None
            item_text = buffer[pos:end]
            item_number += 1
            row = self._accept(line, data, item_text)
            line += item_text.count("\n")
            pos = end
            expect_item = False
            if row is not None:
                yield row


def _decode(first: bytes, handle) -> Iterator[str]:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    block = first
    while block:
        yield decoder.decode(block)
        block = handle.read(BLOCK)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def read_rows(path: str | Path, **options) -> RowReader:
    """Shorthand for ``RowReader(path, **options)``."""
    return RowReader(path, **options)
