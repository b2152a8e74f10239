"""Read model predictions and line them up with the gold.

Formats: MindFormers predict output (``.npy``: a list of ``{"text_generation_text": [...]}``,
one per batch; matched to gold by order), JSON Lines ``{"id", "output"}`` (matched by id when
both sides have ids, else by order; read with ``datagen.rows.RowReader``, so a BOM, CRLF and
blank lines are fine), and a ``.json`` file holding an object ``{id: output}`` or a list.  A
pickled ``.npy`` is only opened when the user passes ``--allow-pickle``: unpickling can run code.

Bad prediction rows follow a policy: ``stop`` (the default) ends the run at the first one with
its file, line and field; ``collect`` keeps going, keeps each bad row as a reject and scores it
as an empty output (wrong), so one truncated line does not hide the rest of a long run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from datagen.errors import InputError
from datagen.rows import Reject, RowReader

NPY_MAGIC = b"\x93NUMPY"
OUTPUT_KEYS = ("output", "text_generation_text", "prediction")
POLICIES = ("stop", "collect")


class Prediction(NamedTuple):
    id: str | None
    output: str  # "" for a rejected row (policy collect): scored as an empty, wrong output
    where: str  # "file:line" or "file: batch b, text t", for error messages


class Predictions(list):
    """The predictions in file order, with the rows that were rejected (policy ``collect``)."""

    def __init__(self, items=(), rejects: list[Reject] | None = None) -> None:
        super().__init__(items)
        self.rejects: list[Reject] = rejects or []


def _one_text(value):
    """A string, or a one-element list holding one (MindFormers' per-sample list), else None."""
    if type(value) is str:
        return value
    if isinstance(value, (list, tuple)) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    return None


def _check_row(data: dict) -> tuple[str, str] | None:
    """A RowReader check: the row has an output text."""
    for key in OUTPUT_KEYS:
        if key in data:
            if _one_text(data[key]) is None:
                return key, f"must be a string, got {type(data[key]).__name__}"
            return None
    return "output", "missing"


def read_jsonl(path: Path, policy: str = "stop") -> Predictions:
    name = str(path)
    reader = RowReader(path, check=_check_row, policy=policy)
    preds: list[tuple[int, Prediction]] = []
    for row in reader:
        data = row.data
        output = data.get("output")
        if type(output) is not str:
            output = next(_one_text(data[key]) for key in OUTPUT_KEYS if key in data)
        pid = data.get("id")
        preds.append((row.line, Prediction(None if pid is None else str(pid), output, f"{name}:{row.line}")))
    if reader.rejects:
        # a rejected row keeps its place, so matching by order still pairs the right items
        preds += [(r.line, Prediction(None, "", f"{name}:{r.line}")) for r in reader.rejects]
        preds.sort(key=lambda pair: pair[0])
    return Predictions((p for _, p in preds), reader.rejects)


def read_json(path: Path, policy: str = "stop") -> Predictions:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            data = json.load(handle)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg})", path=path, line=exc.lineno) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start + 1})", path=path) from None
    rejects: list[Reject] = []

    def bad(where: str, field: str, reason: str, raw) -> Prediction:
        if policy == "stop":
            raise InputError(reason, path=path, field=f"{where}: {field}" if where else field)
        rejects.append(Reject(str(path), 0, f"{where}: {reason}", json.dumps(raw, ensure_ascii=False)[:200],
                              field))
        return Prediction(None, "", f"{path}: {where}")

    if isinstance(data, dict):
        preds = []
        for k, v in data.items():
            text = _one_text(v)
            preds.append(Prediction(str(k), text, f"{path}: id {k!r}") if text is not None
                         else bad(f"id {k!r}", "output", f"must be a string, got {type(v).__name__}", v))
        return Predictions(preds, rejects)
    if isinstance(data, list):
        preds = []
        for i, value in enumerate(data):
            where = f"item {i}"
            if isinstance(value, dict):
                problem = _check_row(value)
                if problem is not None:
                    preds.append(bad(where, problem[0], problem[1], value))
                    continue
                pid = value.get("id")
                output = next(_one_text(value[key]) for key in OUTPUT_KEYS if key in value)
                preds.append(Prediction(None if pid is None else str(pid), output, f"{path}: {where}"))
            elif _one_text(value) is not None:
                preds.append(Prediction(None, _one_text(value), f"{path}: {where}"))
            else:
                preds.append(bad(where, "output", f"must be a string, got {type(value).__name__}", value))
        return Predictions(preds, rejects)
    raise InputError(f"expected a JSON object {{id: output}} or a list, got {type(data).__name__}", path=path)


def read_npy(path: Path, allow_pickle: bool) -> Predictions:
    """MindFormers predict output: batches of ``{"text_generation_text": [text, ...]}``, flattened."""
    try:
        import numpy as np
    except ImportError:
        from datagen.errors import MissingExtraError

        raise MissingExtraError("reading a .npy of predictions", "numpy", "data") from None

    with open(path, "rb") as handle:
        if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
            raise InputError("not a .npy file (no NumPy header); refusing to unpickle it", path=path)
    try:
        array = np.load(path, allow_pickle=allow_pickle)
    except ValueError as exc:
        if "pickle" not in str(exc):
            raise InputError(f"cannot read this .npy ({exc})", path=path) from None
        raise InputError(
            "this .npy holds Python objects (MindFormers' list of {'text_generation_text': [...]}) and "
            "loading them unpickles, which can run arbitrary code",
            path=path,
            hint="pass --allow-pickle only if you trust the file, or give the predictions as "
                 "JSON Lines {\"id\", \"output\"}",
        ) from None
    batches = array.tolist() if array.ndim else [array.item()]
    if isinstance(batches, dict):
        batches = [batches]
    preds = Predictions()
    for b, batch in enumerate(batches):
        where = f"batch {b}"
        if isinstance(batch, dict):
            if "text_generation_text" not in batch:
                raise InputError("missing", path=path, field=f"{where}: text_generation_text")
            texts = batch["text_generation_text"]
        else:
            texts = batch
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, (list, tuple)):
            raise InputError(f"expected a dict with 'text_generation_text' or a text, got {type(texts).__name__}",
                             path=path, field=where)
        for t, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"expected a string, got {type(text).__name__}", path=path,
                                 field=f"{where}, text {t}")
            preds.append(Prediction(None, text, f"{path}: {where}, text {t}"))
    return preds


def read_predictions(path: str | Path, allow_pickle: bool = False, policy: str = "stop") -> Predictions:
    """Every prediction of ``path`` in file order (``policy``: what a bad row does, see above)."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
    path = Path(path)
    if path.is_dir():
        raise InputError("is a directory, not a file", path=path)
    if not path.exists():
        raise InputError("no such file", path=path)
    if path.suffix == ".npy":
        return read_npy(path, allow_pickle)
    if path.suffix == ".json":
        return read_json(path, policy)
    return read_jsonl(path, policy)


def align(gold_ids: Sequence[str | None], preds: Sequence[Prediction], gold_path: str, pred_path: str,
          by_order: bool = False, partial: bool = False, rejected: int = 0) -> list[str | None]:
    """Each gold item's output: by id when every gold item and prediction has one, else by order.

    ``partial``: fewer predictions than gold items is allowed (a smoke run predicts a prefix);
    the gold items without one get None.  More predictions than gold items is always an error.
    ``rejected``: bad prediction rows kept as empty outputs (their ids unknown); matching by id,
    that many gold items may lack a prediction and score as empty outputs.
    """
    n_gold, n_pred = len(gold_ids), len(preds)
    hint = "pass --allow-partial to score only the items that have a prediction"
    known = [p for p in preds if not (rejected and p.id is None and p.output == "")] if rejected else preds
    use_ids = not by_order and len(known) > 0 and all(gold_ids) and all(p.id is not None for p in known)
    if not use_ids:
        if n_pred > n_gold or (n_pred < n_gold and not partial):
            short, by = ("predictions", n_gold - n_pred) if n_pred < n_gold else ("gold", n_pred - n_gold)
            raise InputError(
                f"{pred_path} has {n_pred:,} predictions and {gold_path} has {n_gold:,} items "
                f"(matched by order): the {short} side is short by {by:,}",
                hint=hint if short == "predictions" else None,
            )
        return [p.output for p in preds] + [None] * (n_gold - n_pred)
    by_id: dict[str, Prediction] = {}
    for p in known:
        if p.id in by_id:
            raise InputError(f"duplicate id {p.id!r} (first at {by_id[p.id].where})", path=p.where)
        by_id[p.id] = p
    seen: set[str] = set()
    for i, gid in enumerate(gold_ids):
        if gid in seen:
            raise InputError(f"duplicate id {gid!r} (item {i + 1}); ids must be unique to match by id",
                             path=gold_path)
        seen.add(gid)
    extra = [p for p in known if p.id not in seen]
    if extra:
        raise InputError(
            f"{pred_path} has {len(known):,} predictions and {gold_path} has {n_gold:,} items: the gold is "
            f"short by {len(extra):,} ({extra[0].where}: id {extra[0].id!r} is not in the gold)"
        )
    missing = [gid for gid in gold_ids if gid not in by_id]
    if len(missing) > rejected and not partial:
        raise InputError(
            f"{pred_path} has {len(known):,} predictions and {gold_path} has {n_gold:,} items: the "
            f"predictions are short by {len(missing) - rejected:,} (no prediction for id {missing[0]!r})",
            hint=hint,
        )
    fill = "" if len(missing) <= rejected else None
    return [by_id[gid].output if gid in by_id else fill for gid in gold_ids]

