"""The MindRecord writer: the schema MindFormers reads, and every use of MindSpore's internals.

``MindRecordSink`` takes ``curricula.codec.Batch``es. ``FileWriter.write_raw_data`` spends most
of its time re-reading the schema in Python for every row; so after the first row of a file
(written through that public call, which opens the files and sets the header) the rows go
straight to the writer's native call as the blobs it would build itself: the same bytes (a
test compares). If MindSpore's internals are not as expected the public call does it all;
``writer`` / ``writer_note`` say which ran, and the export's summary reports it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path

from datagen.curricula.codec import Batch

from datagen.errors import MissingExtraError
from datagen.extras import require
from datagen.output import disk_full, respect_umask

__all__ = ["SCHEMA", "SCHEMA_DESC", "MindRecordSink", "existing_files", "file_names", "require_mindspore"]

SCHEMA = {"input_ids": {"type": "int32", "shape": [-1]}, "labels": {"type": "int32", "shape": [-1]}}
SCHEMA_DESC = "qa"
NEEDS = ("mindspore", "numpy")  # what writing a MindRecord imports
NATIVE = "native"  # FileWriter's native write_raw_data, fed ready blobs after the first row
PUBLIC = "public"  # FileWriter.write_raw_data for every row


def require_mindspore(what: str = "datagen export --to mindrecord") -> None:
    """Fail before any work when what a MindRecord needs is not installed (cheap: nothing is imported)."""
    require(what, *NEEDS)


def file_names(out: Path, shards: int) -> list[str]:
    """The files FileWriter writes for ``out``: the data file(s) and their ``.db`` index."""
    stems = [out.name] if shards == 1 else [f"{out.name}{k}" for k in range(shards)]
    return [name for stem in stems for name in (stem, stem + ".db")]


def existing_files(out: Path) -> list[Path]:
    """Files of any MindRecord set already at ``out`` (one file or shards, with their indexes)."""
    pattern = re.compile(re.escape(out.name) + r"\d*(\.db)?")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        return []
    return sorted(p for p in parent.iterdir() if pattern.fullmatch(p.name) and not p.is_dir())


def _import_file_writer():
    """``FileWriter``, keeping the process's signal handlers (an import must not replace ours)."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        from mindspore.mindrecord import FileWriter
    except ImportError:
        raise MissingExtraError("MindRecord output", "mindspore", "mindspore") from None
    for signum, handler in handlers.items():
        if handler is not None and signal.getsignal(signum) is not handler:
            signal.signal(signum, handler)
    return FileWriter


def blob_rows(batch: Batch):
    """int32 (records, 2 * width + 4) whose rows' bytes are the blobs FileWriter builds.

    Per row: an 8-byte big-endian length, the padded ids, the length again, the labels.
    """
    import numpy as np

    width = batch.width
    length_words = np.frombuffer((4 * width).to_bytes(8, "big"), dtype=np.int32)
    matrix = np.empty((batch.records, 2 * width + 4), dtype=np.int32)
    matrix[:, 0:2] = matrix[:, width + 2:width + 4] = length_words
    batch.fill(matrix, 2, width + 4)
    return matrix


@contextlib.contextmanager
def _disk_errors(path: Path) -> Iterator[None]:
    """MindSpore reports a full disk as a ``RuntimeError`` with its C++ stack: make it the ``OSError``
    it is (the entry point prints one line; the output's staging names the file)."""
    try:
        yield
    except RuntimeError as exc:
        if "No free disk" in str(exc) or disk_full(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from None
        raise


class MindRecordSink:
    """MindSpore's FileWriter with the schema MindFormers reads, fed whole batches."""

    def __init__(self, path: Path, shards: int, fast: bool = True) -> None:
        file_writer = _import_file_writer()
        self.path = Path(path)
        self.shards = shards
        with _disk_errors(path):
            self.writer = file_writer(str(path), shard_num=shards, overwrite=True)
            self.writer.add_schema(SCHEMA, SCHEMA_DESC)
        self.fast = fast
        self.native = None
        self.rows = 0
        self.writer_note = "asked for" if not fast else ""

    @property
    def writer_used(self) -> str:
        return NATIVE if self.fast else PUBLIC

    def _native_writer(self):
        shard_writer = getattr(self.writer, "_writer", None)
        native = getattr(shard_writer, "_writer", None)
        header = getattr(self.writer, "_header", None)
        try:
            fields = list(header.blob_fields)
        except Exception:  # noqa: BLE001 - any change in MindSpore internals means: use the public call
            self.writer_note = "MindSpore's FileWriter internals differ (no header blob fields)"
            return None
        if native is None or not hasattr(native, "write_raw_data"):
            self.writer_note = "MindSpore's FileWriter internals differ (no native writer)"
            return None
        if fields != list(SCHEMA):
            self.writer_note = f"unexpected blob fields {fields}"
            return None
        return native

    def write(self, batch: Batch) -> None:
        with _disk_errors(self.path):
            self._write(batch)

    def _write(self, batch: Batch) -> None:
        n, width = batch.records, batch.width
        if n == 0:
            return
        matrix = blob_rows(batch)
        start = 0
        if not self.fast or self.native is None:
            # the public call opens the files and sets the header; fast mode needs it for one row only
            first = 1 if self.fast else n
            self._write_public(matrix[:first], width)
            start = first
            if self.fast:
                self.native = self._native_writer()
                if self.native is None:
                    self.fast = False
                    self._write_public(matrix[first:], width)
                    start = n
        if start < n:
            data = matrix[start:].tobytes()
            size = matrix.shape[1] * 4
            self.native.write_raw_data({}, [data[i * size:(i + 1) * size] for i in range(n - start)], True, False)
        self.rows += n

    def _write_public(self, matrix, width: int) -> None:
        if len(matrix):
            self.writer.write_raw_data(
                [{"input_ids": row[2:width + 2], "labels": row[width + 4:]} for row in matrix]
            )

    def commit(self) -> None:
        with _disk_errors(self.path):
            self.writer.commit()
        # FileWriter creates its files 0600: give them the mode any other output gets (the umask's)
        respect_umask(p for p in (self.path.with_name(n) for n in file_names(self.path, self.shards)) if p.exists())

    def report(self) -> dict:
        """Which writer ran: ``native`` (blobs to the native call) or ``public``, and why if public."""
        return {"used": self.writer_used, "note": self.writer_note or None}
