"""Read model predictions and line them up with the gold.

Formats: MindFormers predict output (``.npy``: a list of ``{"text_generation_text": [...]}``,
one per batch; matched to gold by order), JSON Lines ``{"id", "output"}`` (matched by id when
both sides have ids, else by order), and a JSON object ``{id: output}``.  A pickled ``.npy``
is only opened when the user passes ``--allow-pickle``: unpickling can run code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from datagen.cli import UsageError

NPY_MAGIC = b"\x93NUMPY"
OUTPUT_KEYS = ("output", "text_generation_text", "prediction")


@dataclass(frozen=True, slots=True)
class Prediction:
    id: str | None
    output: str
    where: str  # "file:line" or "file: batch b, text t", for error messages


def _text(value, where: str, field: str) -> str:
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str):
        raise UsageError(f"{where}: field {field!r} must be a string, got {type(value).__name__}")
    return value


def _output_field(row: dict, where: str):
    for key in OUTPUT_KEYS:
        if key in row:
            return row[key]
    raise UsageError(f"{where}: field 'output' is missing")


def json_lines(path: Path):
    """(line number, "file:line", row) for each non-blank line; bad JSON is an error naming the line."""
    loads = json.loads
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                row = loads(line)
            except json.JSONDecodeError as exc:
                raise UsageError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
            yield line_no, where, row


def read_jsonl(path: Path) -> list[Prediction]:
    preds: list[Prediction] = []
    for line_no, where, row in json_lines(path):
        if not isinstance(row, dict):
            raise UsageError(f"{where}: expected an object with 'id' and 'output', "
                             f"got {type(row).__name__}")
        output = row.get("output")
        if type(output) is not str:
            output = _text(_output_field(row, where), where, "output")
        pid = row.get("id")
        preds.append(Prediction(None if pid is None else str(pid), output, where))
    return preds


def read_json(path: Path) -> list[Prediction]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if isinstance(data, dict):
        return [Prediction(str(k), _text(v, f"{path}: id {k!r}", "output"), f"{path}: id {k!r}")
                for k, v in data.items()]
    if isinstance(data, list):
        preds = []
        for i, value in enumerate(data):
            where = f"{path}: item {i}"
            if isinstance(value, dict):
                pid = value.get("id")
                output = _text(_output_field(value, where), where, "output")
                preds.append(Prediction(None if pid is None else str(pid), output, where))
            else:
                preds.append(Prediction(None, _text(value, where, "output"), where))
        return preds
    raise UsageError(f"{path}: expected a JSON object {{id: output}} or a list, got {type(data).__name__}")


def read_npy(path: Path, allow_pickle: bool) -> list[Prediction]:
    """MindFormers predict output: batches of ``{"text_generation_text": [text, ...]}``, flattened."""
    import numpy as np

    with open(path, "rb") as handle:
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise UsageError(f"{path}: not a .npy file (no NumPy header); refusing to unpickle it")
    try:
        array = np.load(path, allow_pickle=allow_pickle)
    except ValueError as exc:
        if "pickle" not in str(exc):
            raise UsageError(f"{path}: cannot read this .npy ({exc})") from None
        raise UsageError(
            f"{path}: this .npy holds Python objects (MindFormers' list of "
            "{'text_generation_text': [...]}) and loading them unpickles, which can run arbitrary "
            "code; pass --allow-pickle only if you trust the file, or give the predictions as "
            "JSON Lines {\"id\", \"output\"}"
        ) from None
    batches = array.tolist() if array.ndim else [array.item()]
    if isinstance(batches, dict):
        batches = [batches]
    preds: list[Prediction] = []
    for b, batch in enumerate(batches):
        where = f"{path}: batch {b}"
        if isinstance(batch, dict):
            if "text_generation_text" not in batch:
                raise UsageError(f"{where}: field 'text_generation_text' is missing")
            texts = batch["text_generation_text"]
        else:
            texts = batch
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, (list, tuple)):
            raise UsageError(f"{where}: expected a dict with 'text_generation_text' or a text, "
                             f"got {type(texts).__name__}")
        for t, text in enumerate(texts):
            if not isinstance(text, str):
                raise UsageError(f"{where}, text {t}: expected a string, got {type(text).__name__}")
            preds.append(Prediction(None, text, f"{where}, text {t}"))
    return preds


def read_predictions(path: str | Path, allow_pickle: bool = False) -> list[Prediction]:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"--pred: {path} does not exist or is not a file")
    try:
        if path.suffix == ".npy":
            return read_npy(path, allow_pickle)
        if path.suffix == ".json":
            return read_json(path)
        return read_jsonl(path)
    except UnicodeDecodeError:
        raise UsageError(f"--pred: {path} is not UTF-8 text") from None


def align(gold_ids: Sequence[str | None], preds: Sequence[Prediction], gold_path: str, pred_path: str,
          by_order: bool = False, partial: bool = False) -> list[str | None]:
    """Each gold item's output: by id when every gold item and prediction has one, else by order.

    ``partial``: fewer predictions than gold items is allowed (a smoke run predicts a prefix);
    the gold items without one get None.  More predictions than gold items is always an error.
    """
    n_gold, n_pred = len(gold_ids), len(preds)
    hint = " (pass --allow-partial to score only the items that have a prediction)"
    use_ids = not by_order and n_pred > 0 and all(gold_ids) and all(p.id is not None for p in preds)
    if not use_ids:
        if n_pred > n_gold or (n_pred < n_gold and not partial):
            short, by = ("predictions", n_gold - n_pred) if n_pred < n_gold else ("gold", n_pred - n_gold)
            raise UsageError(
                f"{pred_path} has {n_pred:,} predictions and {gold_path} has {n_gold:,} items "
                f"(matched by order): the {short} side is short by {by:,}"
                + (hint if short == "predictions" else "")
            )
        return [p.output for p in preds] + [None] * (n_gold - n_pred)
    by_id: dict[str, Prediction] = {}
    for p in preds:
        if p.id in by_id:
            raise UsageError(f"{p.where}: duplicate id {p.id!r} (first at {by_id[p.id].where})")
        by_id[p.id] = p
    seen: set[str] = set()
    for i, gid in enumerate(gold_ids):
        if gid in seen:
            raise UsageError(f"{gold_path}: duplicate id {gid!r} (item {i + 1}); "
                             "ids must be unique to match by id")
        seen.add(gid)
    extra = [p for p in preds if p.id not in seen]
    if extra:
        raise UsageError(
            f"{pred_path} has {n_pred:,} predictions and {gold_path} has {n_gold:,} items: the gold is short "
            f"by {len(extra):,} ({extra[0].where}: id {extra[0].id!r} is not in the gold)"
        )
    missing = [gid for gid in gold_ids if gid not in by_id]
    if missing and not partial:
        raise UsageError(
            f"{pred_path} has {n_pred:,} predictions and {gold_path} has {n_gold:,} items: the predictions "
            f"are short by {len(missing):,} (no prediction for id {missing[0]!r}){hint}"
        )
    return [by_id[gid].output if gid in by_id else None for gid in gold_ids]
