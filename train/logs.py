"""MindFormers training logs → step table (CSV / JSON) and a loss curve.

MindFormers' ``MFLossMonitor`` logs two lines per printed step::

    ... - INFO - { Epoch:[  1/  2], step:[   10/  500], loss: 1.234567, per_step_time: 812ms, lr: 1e-05,
                  overflow cond: False, loss_scale: 1.0, global_norm: [0.53]
    ... - INFO -   1.0% |                                                  | 39.40 samples/s/p  1:07:12 }

(releases differ in details: ``loss: 1.234`` in sink mode or ``loss:[1.234/1.456]`` without it,
``lr: [1.e-05]`` as a numpy array, ``global_norm`` and ``train_throughput_per_npu`` only in later
ones).  A run directory from ``train plan`` holds one log per stage (``stage<k>_<name>/output/
msrun_log/worker_0.log``); rank 0's log is read, other ranks repeat it.  One file holding several
runs is split where the step count starts again.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from datagen.errors import InputError
from datagen.output import staged

NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|-inf"
STEP_LINE = re.compile(
    r"Epoch:\[\s*(?P<epoch>\d+)/\s*(?P<epochs>\d+)\],\s*step:\[\s*(?P<step>\d+)/\s*(?P<steps>\d+)\],\s*"
    rf"loss:\s*(?:\[\s*(?P<loss_now>{NUMBER})\s*/\s*(?P<loss_avg>{NUMBER})\s*\]|(?P<loss>{NUMBER}))"
)
# MindSpore's plain LossMonitor: "epoch: 1 step: 10, loss is 2.345"
PLAIN_LINE = re.compile(rf"epoch:\s*(?P<epoch>\d+)\s+step:\s*(?P<step>\d+),\s*loss is\s*(?P<loss>{NUMBER})")
FIELDS = {
    "per_step_time_ms": re.compile(r"per_step_time:\s*(\d+(?:\.\d+)?)\s*ms"),
    "lr": re.compile(rf"\blr:\s*\[?\s*({NUMBER})"),
    "overflow": re.compile(r"overflow cond:\s*(\w+)"),
    "loss_scale": re.compile(rf"loss_scale:\s*\[?\s*({NUMBER})"),
    "global_norm": re.compile(rf"global_norm:\s*\[?\s*({NUMBER})"),
    "tflops_per_npu": re.compile(rf"train_throughput_per_npu:\s*({NUMBER})T"),
}
PROGRESS_LINE = re.compile(rf"(?P<percent>{NUMBER})%\s*\|[^|]*\|\s*(?P<throughput>{NUMBER})\s*samples/s/p")
RANK_OTHER = re.compile(r"^(?:worker|rank)_?([1-9]\d*)(?:\.log)?$")


class LogError(InputError, ValueError):
    """No training step could be read; the message names the files searched."""


@dataclass
class StepRecord:
    stage: int
    stage_name: str
    source: str
    epoch: int
    epochs: int | None
    step: int
    steps_per_epoch: int | None
    stage_step: int
    global_step: int
    loss: float
    loss_avg: float | None = None
    lr: float | None = None
    per_step_time_ms: float | None = None
    throughput: float | None = None  # samples/s per device, from the progress line
    tflops_per_npu: float | None = None
    overflow: str | None = None
    loss_scale: float | None = None
    global_norm: float | None = None


COLUMNS = [f.name for f in fields(StepRecord)]


def _float(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def parse_lines(lines, source: str = "") -> list[list[dict]]:
    """Step dicts from log lines, split into runs wherever the step position goes back."""
    runs: list[list[dict]] = [[]]
    last_position = None
    for line in lines:
        match = STEP_LINE.search(line)
        plain = None if match else PLAIN_LINE.search(line)
        if match or plain:
            found = match or plain
            epoch, step = int(found["epoch"]), int(found["step"])
            epochs = int(found["epochs"]) if match else None
            steps = int(found["steps"]) if match else None
            loss = found["loss"] if found["loss"] is not None else found["loss_now"]
            record = {
                "epoch": epoch,
                "epochs": epochs,
                "step": step,
                "steps_per_epoch": steps,
                "loss": float(loss),
                "loss_avg": _float(match["loss_avg"]) if match else None,
                "source": source,
            }
            for name, pattern in FIELDS.items():
                value = pattern.search(line)
                if value:
                    record[name] = value.group(1) if name == "overflow" else _float(value.group(1))
            position = (epoch - 1) * (steps or 0) + step if steps else (epoch, step)
            if last_position is not None and position <= last_position and runs[-1]:
                runs.append([])
            last_position = position
            runs[-1].append(record)
            continue
        progress = PROGRESS_LINE.search(line)
        if progress and runs[-1] and "throughput" not in runs[-1][-1]:
            runs[-1][-1]["throughput"] = _float(progress["throughput"])
    return [run for run in runs if run]


def _natural_key(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.as_posix())]


def _is_other_rank(relative: Path) -> bool:
    return any(RANK_OTHER.match(part) for part in relative.parts)


def _preference(path: Path) -> tuple:
    name = path.name
    order = 0 if name == "worker_0.log" else 1 if "rank_0" in path.parts else 2 if name == "info.log" else 3
    return (order, _natural_key(path))


def find_logs(root: Path) -> list[tuple[str, Path]]:
    """(stage name, rank-0 log) per stage folder of ``root``, in stage order."""
    if root.is_file():
        return [(root.stem, root)]
    if not root.is_dir():
        raise LogError(f"{root} does not exist")
    candidates = [
        p for p in root.rglob("*") if p.is_file() and (p.suffix in (".log", ".txt") or ".log." in p.name)
    ]
    candidates = [p for p in candidates if not _is_other_rank(p.relative_to(root)) and "error" not in p.name]
    groups: dict[str, list[Path]] = {}
    for path in candidates:
        relative = path.relative_to(root)
        key = relative.parts[0] if len(relative.parts) > 1 else ""
        groups.setdefault(key, []).append(path)
    chosen = []
    for key in sorted(groups, key=lambda k: _natural_key(Path(k))):
        paths = sorted(groups[key], key=_preference)
        if key == "":
            chosen.extend((p.stem, p) for p in sorted(paths, key=_natural_key))
            continue
        with_steps = [p for p in paths if _has_steps(p)]
        if with_steps:
            chosen.append((key, with_steps[0]))
    if not chosen and not candidates:
        raise LogError(f"{root}: no log files (*.log) found")
    return chosen


def _has_steps(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return any(STEP_LINE.search(line) or PLAIN_LINE.search(line) for line in handle)


def parse_logs(root: str | Path) -> list[StepRecord]:
    """Every training step in the logs under ``root`` (a file or a run directory), stages in order."""
    root = Path(root)
    logs = find_logs(root)
    records: list[StepRecord] = []
    stage = 0
    offset = 0
    for name, path in logs:
        with open(path, encoding="utf-8", errors="replace") as handle:
            runs = parse_lines(handle, str(path.relative_to(root) if root.is_dir() else path.name))
        for number, run in enumerate(runs, 1):
            stage += 1
            stage_name = name if len(runs) == 1 else f"{name}#{number}"
            last = 0
            for item in run:
                steps = item["steps_per_epoch"]
                stage_step = (
                    (item["epoch"] - 1) * steps + item["step"] if steps else len(records) + 1 - offset
                )
                last = max(last, stage_step)
                records.append(
                    StepRecord(
                        stage=stage,
                        stage_name=stage_name,
                        stage_step=stage_step,
                        global_step=offset + stage_step,
                        **item,
                    )
                )
            offset += last
    if not records:
        searched = ", ".join(str(p) for _, p in logs) or str(root)
        raise LogError(
            f"no MindFormers training step lines ('{{ Epoch:[..], step:[..], loss: ..') in {searched}"
        )
    return records


def stage_summary(records: list[StepRecord]) -> list[dict]:
    summary: dict[int, dict] = {}
    for r in records:
        item = summary.setdefault(
            r.stage,
            {
                "stage": r.stage,
                "name": r.stage_name,
                "source": r.source,
                "steps": 0,
                "first_step": r.global_step,
                "first_loss": r.loss,
                "min_loss": r.loss,
                "throughputs": [],
            },
        )
        item["steps"] += 1
        item["last_step"] = r.global_step
        item["last_loss"] = r.loss
        item["min_loss"] = min(item["min_loss"], r.loss) if not math.isnan(r.loss) else item["min_loss"]
        if r.throughput is not None:
            item["throughputs"].append(r.throughput)
    out = []
    for item in summary.values():
        values = item.pop("throughputs")
        item["mean_throughput"] = sum(values) / len(values) if values else None
        out.append(item)
    return out


def to_csv(records: list[StepRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: ("" if v is None else v) for k, v in asdict(record).items()})
    return buffer.getvalue()


def to_json(records: list[StepRecord]) -> str:
    def clean(value):
        return None if isinstance(value, float) and not math.isfinite(value) else value

    data = {
        "stages": stage_summary(records),
        "steps": [{k: clean(v) for k, v in asdict(r).items()} for r in records],
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def plot_loss(records: list[StepRecord], path: str | Path, title: str = "") -> None:
    """Loss (and learning rate, where logged) against the step across stages, stage edges marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    has_lr = any(r.lr is not None for r in records)
    figure, axes = plt.subplots(
        2 if has_lr else 1,
        1,
        figsize=(9, 6 if has_lr else 4),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [3, 1]} if has_lr else None,
    )
    loss_axis = axes[0][0]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, item in enumerate(stage_summary(records)):
        steps = [r for r in records if r.stage == item["stage"]]
        colour = colours[index % len(colours)]
        loss_axis.plot(
            [r.global_step for r in steps],
            [r.loss for r in steps],
            color=colour,
            linewidth=1.2,
            label=f"{item['stage']}: {item['name']} ({item['steps']} steps)",
        )
        if index:
            for axis in axes[:, 0]:
                axis.axvline(item["first_step"] - 0.5, color="grey", linestyle=":", linewidth=1)
        if has_lr:
            axes[1][0].plot(
                [r.global_step for r in steps if r.lr is not None],
                [r.lr for r in steps if r.lr is not None],
                color=colour,
                linewidth=1,
            )
    loss_axis.set_ylabel("loss")
    loss_axis.grid(True, alpha=0.3)
    loss_axis.legend(fontsize=8)
    loss_axis.set_title(title or f"training loss, {len(records)} logged steps")
    if has_lr:
        axes[1][0].set_ylabel("learning rate")
        axes[1][0].grid(True, alpha=0.3)
        axes[1][0].ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    axes[-1][0].set_xlabel("step (cumulative over stages)")
    figure.tight_layout()
    target = Path(path)
    try:
        # the staged name has no image suffix: say the format
        with staged(target) as temporary:
            figure.savefig(temporary, dpi=110, format=target.suffix.lstrip(".").lower() or "png")
    finally:
        plt.close(figure)
