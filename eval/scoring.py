"""Score many outputs against a gold set: the numbers ``datagen eval score`` reports, as a library.

* ``score_records(records, outputs)``: gold records and output texts in memory (a proxy run's
  held-out rows and its decoded texts) -> the report dict;
* ``score_files(gold_path, pred_path, ...)``: what the command does, files in, ``ScoreResult`` out;
* ``score_outputs(gold, outputs)``: the shared loop, for a ``GoldSet`` already read.

``ScoreResult.report`` is exactly the JSON that ``datagen eval score --json`` writes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _json_text  # C, keeps non-ASCII as is
from pathlib import Path
from typing import IO

from datagen.eval.gold import GoldSet, gold_from_records, read_gold
from datagen.eval.metric import Scoreboard
from datagen.eval.predictions import align, read_predictions
from datagen.eval.score import GoldItem, Verdict, score_output

from datagen.errors import UsageError
from datagen.rows import Reject

PROGRESS_EVERY = 2048


@dataclass
class ScoreResult:
    report: dict  # what --json writes
    board: Scoreboard
    gold: GoldSet
    scored: int  # items with a prediction
    rejects: list[Reject] = field(default_factory=list)  # prediction rows that could not be read


def check_template(template: str) -> None:
    from datagen.curricula.templates import TEMPLATES

    if template != "auto" and template not in TEMPLATES:
        raise UsageError(f"unknown template {template!r} (choose from auto, {', '.join(TEMPLATES)})",
                         field="--template")


def _item_line(item: GoldItem, verdict: Verdict) -> str:
    """One --items line, as json.dumps would write it; by hand, several times cheaper per item."""
    strict = verdict.strict
    extracted = verdict.extracted
    return (f'{{"id": {_json_text(item.id if item.id is not None else f"line-{item.line}")}, '
            f'"type": {_json_text(item.type)}, "lang": {_json_text(item.lang)}, '
            f'"answer": {_json_text(item.gold.answer) if item.gold else "null"}, '
            f'"strict": {"null" if strict is None else "true" if strict else "false"}, '
            f'"lenient": {"true" if verdict.lenient else "false"}, '
            f'"extracted": {"null" if extracted is None else _json_text(extracted)}}}\n')


def score_outputs(gold: GoldSet, outputs: Sequence[str | None], template: str = "auto", *,
                  items: IO[str] | None = None, progress: Callable[[int], None] | None = None,
                  pred_name: str = "<predictions>", rejects: Iterable[Reject] = ()) -> ScoreResult:
    """Judge ``outputs[k]`` against ``gold.items[k]``; a None output means "no prediction" (skipped)."""
    check_template(template)
    if len(outputs) != len(gold.items):
        raise UsageError(f"{len(outputs):,} outputs for {len(gold.items):,} gold items")
    board = Scoreboard()
    counts = board.counts  # Scoreboard.add, inline: this runs once per prediction
    scored = 0
    for k, (item, output) in enumerate(zip(gold.items, outputs), 1):
        if output is None:
            continue
        verdict = score_output(output, item, template)
        if verdict.strict is None:
            board.unjudged += 1
        else:
            counts[(item.type, item.lang, item.bucket, verdict.strict, verdict.lenient,
                    verdict.extracted is not None)] += 1
        scored += 1
        if items is not None:
            items.write(_item_line(item, verdict))
        if progress is not None and k % PROGRESS_EVERY == 0:
            progress(k)
    rejects = list(rejects)
    report = {
        "gold": gold.path, "pred": pred_name, **board.as_dict(), "sources": gold.counts,
        "without_prediction": len(gold.items) - scored,
        "rejected_predictions": len(rejects),
        "rejects": [r.as_dict() for r in rejects],
    }
    return ScoreResult(report, board, gold, scored, rejects)


def score_records(records: Iterable[dict], outputs: Sequence[str], template: str = "auto",
                  name: str = "<gold>") -> dict:
    """The ``eval score --json`` report of ``outputs[k]`` against ``records[k]`` (matched by order)."""
    gold = gold_from_records(records, name)
    if len(outputs) != len(gold.items):
        raise UsageError(f"{len(outputs):,} outputs for {len(gold.items):,} gold records (matched by order)")
    return score_outputs(gold, list(outputs), template).report


def score_files(gold_path: str | Path, pred_path: str | Path, template: str = "auto", *,
                allow_pickle: bool = False, by_order: bool = False, allow_partial: bool = False,
                bad_pred: str = "stop", items: IO[str] | None = None,
                progress: Callable[[int, int], None] | None = None) -> ScoreResult:
    """Read, match and score like ``datagen eval score`` (``progress(done, total)``, if given)."""
    check_template(template)
    started = time.perf_counter()
    # the items are acyclic: cyclic GC passes over 100k+ of them only cost time
    enabled = gc.isenabled()
    gc.disable()
    try:
        gold = read_gold(gold_path)
        preds = read_predictions(pred_path, allow_pickle=allow_pickle, policy=bad_pred)
    finally:
        if enabled:
            gc.enable()
    outputs = align([item.id for item in gold.items], preds, str(gold_path), str(pred_path),
                    by_order=by_order, partial=allow_partial, rejected=len(preds.rejects))
    total = len(gold.items)
    tick = (lambda done: progress(done, total)) if progress is not None else None
    result = score_outputs(gold, outputs, template, items=items, progress=tick, pred_name=str(pred_path),
                           rejects=preds.rejects)
    result.report["seconds"] = round(time.perf_counter() - started, 3)
    return result
