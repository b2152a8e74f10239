"""The one row reader: JSON Lines or one JSON list, read tolerantly, with an explicit policy.

``policy="collect"`` keeps going and keeps every bad row as a ``Reject`` (file, 1-based line,
field, reason, raw text); ``policy="stop"`` raises ``InputError`` at the first one. Both accept
a UTF-8 BOM, CRLF line ends and blank lines. JSON Lines are decoded line by line, so one bad
byte costs one row, not the file. A file whose first non-blank byte is ``[`` is a JSON list; it
is parsed item by item (memory holds one read block and one item at a time). ``-`` reads standard
input. ``blocks()`` hands JSON Lines out as undecoded blocks of whole lines, for worker processes
that parse them with ``parse_lines`` / ``iter_lines`` by the same rules; ``add()`` tallies their counts.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal, NamedTuple

from datagen.errors import InputError

Policy = Literal["collect", "stop"]
POLICIES = ("collect", "stop")
BLOCK = 1 << 20
_SCAN = json.JSONDecoder().scan_once  # what json.loads runs, without its per-call wrapper
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


_KINDS = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
          dict: "an object", type(None): "null"}


def json_kind(value) -> str:
    """What a JSON value is, with its article: ``an integer``, ``a list``, ``null``."""
    return _KINDS.get(type(value), f"a {type(value).__name__}")


class Row(NamedTuple):
    """A good row: its 1-based line and its object (a tuple: one is made per row, so cheap)."""

    line: int
    data: dict


# a check returns None for a good row, or (field, reason) for a bad one
Check = Callable[[dict], "tuple[str | None, str] | None"]


@dataclass(frozen=True)
class LineBlock:
    """Whole lines of a JSON Lines file, not yet decoded: a unit of work for another process."""

    path: str
    first_line: int
    data: bytes


@dataclass
class BlockRows:
    """What ``parse_lines`` found in one block."""

    rows: list[Row] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    blank: int = 0


def accept(path: str, line: int, data, raw: str, check: Check | None) -> Row | Reject:
    """The row, or why it is rejected: not an object, or what ``check`` says."""
    if not isinstance(data, dict):
        return Reject(path, line, f"not a JSON object ({json_kind(data)})", raw)
    if check is not None:
        bad = check(data)
        if bad is not None:
            return Reject(path, line, bad[1], raw, bad[0])
    return Row(line, data)


def parse_line(path: str, number: int, raw: bytes, check: Check | None) -> Row | Reject | None:
    """One JSON Lines line (without its ``\\n``): a row, a reject, or None when blank."""
    raw = raw.rstrip(b"\r")
    if not raw or raw.isspace():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reject(path, number, f"not valid UTF-8 (byte {exc.start + 1} of the line)",
                      raw.decode("utf-8", "backslashreplace"))
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return Reject(path, number, f"not valid JSON: {exc.msg} at column {exc.colno}", text)
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        return Reject(path, number, f"not usable JSON: {exc}", text[:200])
    return accept(path, number, data, text, check)


def iter_lines(block: LineBlock, check: Check | None = None) -> Iterator[tuple[Row | Reject | None, bytes]]:
    """(row, reject or None for a blank line; the line's bytes) for each line of ``block``, in order.

    Streaming: a caller that uses each row at once keeps memory (and garbage-collector work) small.
    """
    lines = block.data.split(b"\n")
    if block.data.endswith(b"\n"):
        lines.pop()
    for k, raw in enumerate(lines):
        yield parse_line(block.path, block.first_line + k, raw, check), raw


def parse_lines(block: LineBlock, check: Check | None = None) -> BlockRows:
    """Every line of ``block`` by the reader's rules; rejects are collected (policy is the reader's)."""
    result = BlockRows()
    for item, _ in iter_lines(block, check):
        if item is None:
            result.blank += 1
        elif isinstance(item, Reject):
            result.rejects.append(item)
        else:
            result.rows.append(item)
    return result


def require_strings(*fields: str) -> Check:
    """A check that each of ``fields`` is present and a string."""

    def check(data: dict) -> tuple[str, str] | None:
        for name in fields:
            if name not in data:
                return name, "missing"
            if not isinstance(data[name], str):
                return name, f"not a string ({json_kind(data[name])})"
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
        self.format: str | None = None  # "jsonl" or "json-list" once reading started (or ``sniff()``)
        self.bytes_read = 0  # bytes taken from the file so far (for progress)
        self._started: tuple[IO[bytes], bytes] | None = None

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    @property
    def size(self) -> int | None:
        """The file's size in bytes (None for standard input)."""
        return None if self.name == "-" else self.path.stat().st_size

    def _open(self):
        if self.name == "-":
            return open(sys.stdin.fileno(), "rb", closefd=False)  # closing it keeps standard input open
        if self.path.is_dir():
            raise InputError("is a directory, not a file", path=self.name)
        try:
            return open(self.path, "rb")
        except FileNotFoundError:
            raise InputError("no such file", path=self.name) from None
        except OSError as exc:
            raise InputError(f"cannot read ({exc.strerror})", path=self.name) from None

    def _keep(self, item: Row | Reject | None) -> Row | None:
        """Count one parsed line or item; a reject stops reading under ``policy="stop"``."""
        if item is None:
            self.blank += 1
            return None
        if isinstance(item, Reject):
            if self.policy == "stop":
                raise item.error()
            self.rejects.append(item)
            return None
        self.rows += 1
        return item

    def _accept(self, line: int, data, raw: str) -> Row | None:
        return self._keep(accept(self.name, line, data, raw, self.check))

    def _read(self, handle, size: int = BLOCK) -> bytes:
        block = handle.read(size)
        self.bytes_read += len(block)
        return block

    def _start(self) -> tuple[IO[bytes], bytes]:
        """Open the file and read up to its first non-blank byte (BOM dropped); sets ``format``."""
        if self._started is not None:
            started, self._started = self._started, None
            return started
        handle = self._open()
        try:
            start = self._read(handle)
            if start.startswith(b"\xef\xbb\xbf"):
                start = start[3:]
            while not start.strip():
                block = self._read(handle)
                if not block:
                    break
                start += block
        except BaseException:
            handle.close()
            raise
        self.format = "json-list" if start.lstrip().startswith(b"[") else "jsonl"
        return handle, start

    def sniff(self) -> str:
        """``jsonl`` or ``json-list``, read from the start of the file (kept for the iteration)."""
        if self._started is None:
            self._started = self._start()
        assert self.format is not None
        return self.format

    def _finish(self) -> None:
        if not self.allow_empty and self.rows == 0 and not self.rejects:
            raise InputError("has no rows", path=self.name)

    def __iter__(self) -> Iterator[Row]:
        handle, start = self._start()
        with handle:
            if self.format == "json-list":
                yield from self._list(start, handle)
            else:
                yield from self._lines(start, handle)
        self._finish()

    def blocks(self, size: int = BLOCK) -> Iterator[LineBlock]:
        """JSON Lines as blocks of whole lines of about ``size`` bytes, numbered from line 1.

        Nothing is decoded or counted here: parse each block with ``parse_lines`` (anywhere)
        and pass the results to ``add`` in order. A JSON list cannot be cut this way.
        """
        handle, data = self._start()
        if self.format != "jsonl":
            handle.close()
            raise ValueError(f"{self.name}: blocks() needs JSON Lines, not a JSON list")
        line = 1
        with handle:
            while True:
                while len(data) >= size:
                    # whole lines of at most ``size`` bytes, or one longer line
                    cut = data.rfind(b"\n", 0, size)
                    if cut < 0:
                        cut = data.find(b"\n", size)
                        if cut < 0:
                            break
                    block, data = data[:cut + 1], data[cut + 1:]
                    yield LineBlock(self.name, line, block)
                    line += block.count(b"\n")
                more = self._read(handle, size)
                if not more:
                    break
                data += more
        if data:
            yield LineBlock(self.name, line, data)

    def add(self, rows: int, blank: int, rejects: list[Reject]) -> None:
        """Tally one block's counts (from ``parse_lines``, in block order), applying this reader's policy."""
        if rejects and self.policy == "stop":
            raise rejects[0].error()
        self.rows += rows
        self.blank += blank
        self.rejects.extend(rejects)

    def finish(self) -> None:
        """After the last ``add``: the empty-input check that iteration does itself."""
        self._finish()

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
            block = self._read(handle)
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
        return self._keep(parse_line(self.name, number, raw, self.check))

    def _list(self, first: bytes, handle) -> Iterator[Row]:
        """Parse ``[item, item, ...]`` incrementally; a syntax error stops (the rest is unreadable)."""
        decoder = json.JSONDecoder()
        text = _decode(first, handle, self._read)
        line = 1

        def decoded():
            try:
                return next(text)
            except UnicodeDecodeError as exc:
                # one bad byte makes the rest of a JSON list unreadable: say where it is
                raise InputError(f"not valid UTF-8 (byte {exc.start + 1} of a read block)",
                                 path=self.name, line=line) from None

        buffer, more = decoded(), True
        pos = buffer.index("[") + 1
        line = 1 + buffer.count("\n", 0, pos)
        expect_item = True
        item_number = 0

        def fill() -> bool:
            nonlocal buffer, pos, more
            if not more:
                return False
            try:
                chunk = decoded()
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


def _decode(first: bytes, handle, read: Callable[[IO[bytes]], bytes]) -> Iterator[str]:
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    block = first
    while block:
        yield decoder.decode(block)
        block = read(handle)
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def read_rows(path: str | Path, **options) -> RowReader:
    """Shorthand for ``RowReader(path, **options)``."""
    return RowReader(path, **options)


def read_yaml(path: str | Path):
    """A YAML file's data (``yaml.safe_load``); a syntax error is one ``InputError`` naming the file, line
    and column (PyYAML's own message is several lines and names ``"<unicode string>"``)."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid UTF-8 at byte {exc.start}", path=path) from None
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        line = None if mark is None else mark.line + 1
        column = "" if mark is None else f"column {mark.column + 1}: "
        raise InputError(f"{column}not valid YAML: {problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {' '.join(str(exc).split())}", path=path) from None
class LineSlice(RowReader):
    """A JSON Lines reader that yields only lines ``lo+1 … hi`` (a shard's part), numbered as in the file.

    Lines before the slice are read but never decoded; reading stops after it.
    """

    def __init__(self, path: str | Path, lo: int, hi: int, **options) -> None:
        super().__init__(path, **options)
        self.lo, self.hi = lo, hi

    def blocks(self, size: int = BLOCK) -> Iterator[LineBlock]:
        for block in super().blocks(size):
            data, first = block.data, block.first_line
            count = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
            if first + count - 1 <= self.lo:
                continue
            if first > self.hi:
                break
            if first <= self.lo:
                data = data.split(b"\n", self.lo - first + 1)[-1]
                first = self.lo + 1
            keep = self.hi - first + 1
            if data.count(b"\n") >= keep:
                data = b"\n".join(data.split(b"\n", keep)[:keep]) + b"\n"
            yield LineBlock(block.path, first, data)

    def __iter__(self) -> Iterator[Row]:
        for block in self.blocks():
            parsed = parse_lines(block, self.check)
            self.add(len(parsed.rows), parsed.blank, parsed.rejects)
            yield from parsed.rows
        self.finish()


def count_lines(path: str | Path) -> int:
    """Lines of a file (a last line without its line end counts)."""
    lines, last = 0, b"\n"
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(BLOCK), b""):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")
