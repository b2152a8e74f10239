"""The contest report: score from the LoRA ratio and the accuracy, SQuAD retention, charts.

Pure except ``plot_accuracy``, which renders a PNG into a binary stream (matplotlib, Agg).
"""

from __future__ import annotations

from typing import IO

from datagen.eval.metric import ACCURACY_WEIGHT, RATIO_WEIGHT, contest_score, percent


class ReportError(ValueError):
    """An input that does not hold what the report needs; the message names the field."""


def ratio_from_params(params: dict, where: str) -> dict:
    """``train params --json`` output -> {"trainable", "total", "ratio"} (ratio checked)."""
    if not isinstance(params, dict):
        raise ReportError(f"{where}: expected a JSON object with 'trainable', 'total' and 'ratio'")
    trainable, total, ratio = params.get("trainable"), params.get("total"), params.get("ratio")
    for name, value in (("trainable", trainable), ("total", total)):
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and (not number or value < 0):
            raise ReportError(f"{where}: field {name!r} must be a non-negative number, got {value!r}")
    if ratio is None:
        if trainable is None or not total:
            raise ReportError(f"{where}: field 'ratio' is missing (and 'trainable'/'total' cannot give it)")
        ratio = trainable / total
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or not 0 <= ratio <= 1:
        raise ReportError(f"{where}: field 'ratio' must be a number in [0, 1], got {ratio!r}")
    if trainable is not None and total and abs(trainable / total - ratio) > 1e-9 + 1e-6 * ratio:
        raise ReportError(f"{where}: field 'ratio' is {ratio} but trainable / total is {trainable / total}")
    return {"trainable": trainable, "total": total, "ratio": float(ratio)}


def accuracy_from_score(score: dict, where: str, metric: str) -> tuple[float, dict]:
    """(accuracy, by_type) from an ``eval score --json`` report."""
    if not isinstance(score, dict) or metric not in score:
        raise ReportError(f"{where}: field {metric!r} is missing (is this an 'eval score --json' report?)")
    value = score[metric]
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ReportError(f"{where}: field {metric!r} must be an accuracy in [0, 1], got {value!r}")
    return float(value), score.get("by_type") or {}


def build_report(ratio: dict, accuracy: float, metric: str, score: dict | None = None,
                 squad: dict | None = None) -> dict:
    report = {
        "score": contest_score(ratio["ratio"], accuracy),
        "formula": f"(1 - ratio) x {RATIO_WEIGHT} + accuracy x {ACCURACY_WEIGHT}",
        "accuracy": accuracy,
        "accuracy_metric": metric,
        **ratio,
    }
    if score:
        report["n"] = score.get("n")
        report["strict"] = score.get("strict")
        report["lenient"] = score.get("lenient")
        if score.get("lenient") is not None:
            report["score_lenient"] = contest_score(ratio["ratio"], score["lenient"])
        report["by_type"] = score.get("by_type") or {}
    if squad:
        gate = squad.get("gate") or {}
        report["squad"] = squad
        report["retention_pass"] = gate.get("pass")
    report["valid"] = report.get("retention_pass") is not False
    return report


def gate_caption(report: dict) -> str | None:
    """One line with the SQuAD gate's verdict, for the chart; None without a SQuAD result."""
    gate = (report.get("squad") or {}).get("gate")
    if not gate:
        return None
    verdict = "PASS" if gate.get("pass") else "FAIL (the entry would not count)"
    return (f"SQuAD retention gate ({gate.get('metric', 'mindformers')}): {verdict} — "
            f"F1 {gate['f1']:.3f} (gate {gate['f1_gate']:.3f}), EM {gate['em']:.3f} (gate {gate['em_gate']:.3f})")


def markdown(report: dict) -> str:
    lines = ["# Contest score", "", "| | |", "|---|---|"]
    lines.append(f"| accuracy ({report['accuracy_metric']}) | {percent(report['accuracy'])} |")
    if report.get("strict") is not None and report["accuracy_metric"] != "strict":
        lines.append(f"| accuracy (strict) | {percent(report['strict'])} |")
    if report.get("lenient") is not None and report["accuracy_metric"] != "lenient":
        lines.append(f"| accuracy (lenient, contest-compatible) | {percent(report['lenient'])} |")
    if report.get("trainable") is not None and report.get("total"):
        lines.append(f"| trainable / total parameters | {report['trainable']:,} / {report['total']:,} |")
    lines.append(f"| ratio | {report['ratio']:.6f} ({100 * report['ratio']:.4f} %) |")
    lines.append(f"| **score** = (1 − ratio) × 0.3 + accuracy × 0.7 | **{report['score']:.4f}** |")
    if report.get("score_lenient") is not None and report["accuracy_metric"] != "lenient":
        lines.append(f"| score with the lenient accuracy | {report['score_lenient']:.4f} |")
    squad = report.get("squad")
    if squad:
        g = squad.get("gate") or {}
        if g:
            metric = g.get("metric", "mindformers")
            name = "MindFormers EmF1Metric" if metric == "mindformers" else f"{metric}, not MindFormers'"
            verdict = "pass" if g.get("pass") else "**FAIL** (the entry would not count)"
            lines.append(f"| SQuAD F1 ({name}) | {g['f1']:.3f} (gate {g['f1_gate']:.3f}, "
                         f"margin {g['f1_margin']:+.3f}) |")
            lines.append(f"| SQuAD EM ({name}) | {g['em']:.3f} (gate {g['em_gate']:.3f}, "
                         f"margin {g['em_margin']:+.3f}) |")
            base = g.get("base") or {}
            lines.append(f"| retention gate (≥ {100 * g['fraction']:g} % of base F1 {base.get('f1', 0):.3f} / "
                         f"EM {base.get('em', 0):.3f}) | {verdict} |")
            for diagnostic in squad.get("diagnostics", ()):
                d = squad.get(diagnostic)
                if d:
                    lines.append(f"| SQuAD {diagnostic} (diagnostic) | F1 {d['f1']:.3f} / EM {d['em']:.3f} |")
    by_type = report.get("by_type") or {}
    if by_type:
        lines += ["", "## Accuracy by type", "", "| type | n | strict | lenient |", "|---|---:|---:|---:|"]
        for name, row in by_type.items():
            lines.append(f"| {name} | {row.get('n', 0):,} | {percent(row.get('strict'))} "
                         f"| {percent(row.get('lenient'))} |")
    return "\n".join(lines) + "\n"


def accuracy_figure(by_type: dict, title: str = "Accuracy by type", caption: str | None = None):
    """Grouped bars, strict and lenient accuracy per type; ``caption`` (the gate's verdict) below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(by_type)
    strict = [100 * (by_type[n].get("strict") or 0) for n in names]
    soft = [100 * (by_type[n].get("lenient") or 0) for n in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(names) + 2), 4.4 if caption else 4.0), dpi=110)
    x = range(len(names))
    ax.bar([i - 0.2 for i in x], strict, width=0.4, label="strict", color="#2b6cb0")
    ax.bar([i + 0.2 for i in x], soft, width=0.4, label="lenient (contest)", color="#a0aec0")
    ax.set_xticks(list(x), names, rotation=35, ha="right")
    ax.set_ylim(0, 115)  # headroom so the legend never covers a bar
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel("accuracy (%)")
    ax.set_title(title)
    ax.legend(loc="upper right", ncol=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    if caption:
        color = "#2f855a" if "PASS" in caption else "#c53030"
        fig.text(0.01, 0.01, caption, fontsize=8, color=color, ha="left", va="bottom", fontweight="bold")
        fig.tight_layout(rect=(0, 0.05, 1, 1))
    else:
        fig.tight_layout()
    return fig


def plot_accuracy(by_type: dict, stream: IO[bytes], title: str = "Accuracy by type",
                  caption: str | None = None) -> None:
    """``accuracy_figure`` as PNG into ``stream``."""
    import matplotlib.pyplot as plt

    fig = accuracy_figure(by_type, title, caption)
    fig.savefig(stream, format="png")
    plt.close(fig)
