"""The bash scripts of a rendered plan: one launch per stage, one predict per held-out set, the SQuAD check.

Text only.  Every script starts the same way (shebang, ``set -euo pipefail``, where MindFormers
is) and checks what it loads before it starts, so a missing checkpoint fails in a second with
its path rather than after the model is built.
"""

from __future__ import annotations

from dataclasses import dataclass


def script(lines: list[str]) -> str:
    return "#!/usr/bin/env bash\n" + "\n".join(lines) + "\n"


def mindformers_home(home: str) -> str:
    return f'MINDFORMERS_HOME="${{MINDFORMERS_HOME:-{home}}}"'


LAUNCHERS = ("msrun", "python", "entry")


@dataclass(frozen=True)
class StageLaunch:
    """What one stage's launch script needs to know."""

    label: str
    position: int
    total: int
    name: str
    records: int
    epochs: int
    cards: int
    origin: str  # "the base checkpoint" or "<previous label>'s checkpoint"
    previous_label: str | None
    load: str
    output: str
    command: str  # the entry point and its arguments (run by msrun on every card, or by python)
    master_port: int
    # "msrun": scripts/msrun_launcher.sh, several workers; "python": run_mindformer.py in one
    # process (r1.5+'s launcher refuses one worker); "entry": the plan's own entry, no checkout
    launcher: str = "msrun"
    register_path: str = ""  # the folder MindFormers' auto_register imports yaml-named classes from


def launch_script(stage: StageLaunch, home: str) -> str:
    if stage.launcher not in LAUNCHERS:
        raise ValueError(f"launcher {stage.launcher!r}: expected one of {LAUNCHERS}")
    check = (
        ""
        if stage.previous_label is None
        else f'ls "$LOAD"/rank_0/*.ckpt >/dev/null 2>&1 || {{ echo "{stage.label}: {stage.previous_label} '
        f'left no checkpoint in $LOAD (run it first)" >&2; exit 1; }}'
    )
    where = f"on {stage.cards} card(s)" if stage.launcher != "entry" else "on this machine's CPU"
    needs = {
        "msrun": "# Needs a MindFormers source checkout (scripts/msrun_launcher.sh, run_mindformer.py).",
        "python": "# Needs a MindFormers source checkout (run_mindformer.py); one card, one process.",
        "entry": "# Needs only the mindformers package (mindformers_entry.py drives its Trainer).",
    }[stage.launcher]
    if stage.launcher == "msrun":
        log = "$OUTPUT/msrun_log/worker_0.log"
        run = [
            'mkdir -p "$OUTPUT/msrun_log"',
            'cd "$MINDFORMERS_HOME"',
            (
                f'bash scripts/msrun_launcher.sh "{stage.command}" {stage.cards} {stage.master_port} '
                '"$OUTPUT/msrun_log" True 7200'
            ),
        ]
    else:
        log = "$OUTPUT/train.log"
        run = [
            'mkdir -p "$OUTPUT"',
            *(['cd "$MINDFORMERS_HOME"'] if stage.launcher == "python" else []),
            'export LOCAL_DEFAULT_PATH="$OUTPUT"',  # where MindFormers opens its log folder on import
            *(
                [
                    f'export REGISTER_PATH="{stage.register_path}"',
                    # where MindFormers copies auto_register modules (default ./modules of the caller)
                    'export OM_MODULES_CACHE="$OUTPUT/modules"',
                ]
                if stage.register_path
                else []
            ),
            f'python {stage.command} > "{log}" 2>&1 || {{ tail -20 "{log}" >&2; '
            f'echo "{stage.label}: training failed; see {log}" >&2; exit 1; }}',
        ]
    return script(
        [
            (
                f"# Stage {stage.position} of {stage.total}: {stage.name} "
                f"({stage.records:,} records, {stage.epochs} epoch(s)) {where}; "
                f"loads {stage.origin}."
            ),
            "# Rendered by `datagen train plan`.",
            needs,
            "set -euo pipefail",
            *([mindformers_home(home)] if stage.launcher != "entry" else []),
            f'LOAD="{stage.load}"',
            f'OUTPUT="{stage.output}"',
            f'test -e "$LOAD" || {{ echo "{stage.label}: checkpoint $LOAD not found" >&2; exit 1; }}',
            *([check] if check else []),
            *run,
            (
                f'ls "$OUTPUT"/checkpoint/rank_0/*.ckpt >/dev/null 2>&1 || '
                f'{{ echo "{stage.label}: no checkpoint under $OUTPUT/checkpoint; '
                f'see {log}" >&2; exit 1; }}'
            ),
            f'echo "{stage.label}: done; checkpoints in $OUTPUT/checkpoint"',
        ]
    )


def predict_script(
    name: str, prompts: int, last_label: str, run_root: str, args: list[str], home: str | None
) -> str:
    """``home`` None: no MindFormers checkout (the CPU route, the installed package)."""
    return script(
        [
            (
                f"# Predict held-out set {name!r} ({prompts:,} prompts) on one "
                f"{'card' if home else 'CPU'} with {last_label}'s checkpoint;"
            ),
            "# writes predictions_<set>.npy (the contest's format) and",
            "# predictions_<set>.jsonl ({id, output}).",
            "set -euo pipefail",
            *(
                [mindformers_home(home), 'export PYTHONPATH="$MINDFORMERS_HOME:${PYTHONPATH:-}"']
                if home
                else []
            ),
            f'export LOCAL_DEFAULT_PATH="{run_root}/predict/output"',
            f'python "{run_root}/predict/predict.py" ' + " \\\n    ".join(args),
        ]
    )


def squad_script(
    last_label: str, run_root: str, squad_data: str, resolve: str, command: str, home: str | None
) -> str:
    """``resolve`` prints the one checkpoint file to evaluate (merged when the stage has several ranks)."""
    return script(
        [
            f"# SQuAD F1/EM of {last_label}'s checkpoint; the score line is copied to eval/squad_eval.txt.",
            "set -euo pipefail",
            *([mindformers_home(home)] if home else []),
            f'LOG="{run_root}/eval/squad_eval.log"',
            f'test -e "{squad_data}" || {{ echo "SQuAD MindRecord {squad_data} not found" >&2; exit 1; }}',
            *(['export PYTHONPATH="$MINDFORMERS_HOME:${PYTHONPATH:-}"', 'cd "$MINDFORMERS_HOME"'] if home else []),
            f'export LOCAL_DEFAULT_PATH="{run_root}/eval/output"',
            f'CHECKPOINT="$({resolve})"',
            f'{command} > "$LOG" 2>&1 || {{ tail -20 "$LOG" >&2; echo "SQuAD check failed; see $LOG" >&2; exit 1; }}',
            f'grep "F1 score" "$LOG" | tail -1 | tee "{run_root}/eval/squad_eval.txt"',
        ]
    )


def run_all_script(stage_labels: list[str], predict: list[tuple[str, str]]) -> str:
    """Every stage's launch, then each (set name, script) prediction, then the SQuAD check."""
    lines = [
        "# Every stage in order, then the held-out predictions and the SQuAD check.",
        "# Rendered by `datagen train plan`; stops at the first failure.",
        "set -euo pipefail",
        'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
    ]
    for label in stage_labels:
        lines.append(f'echo "== {label}" && bash "$HERE/{label}/launch.sh"')
    for name, path in predict:
        lines.append(f'echo "== predict {name}" && bash "$HERE/{path}"')
    lines.append('echo "== SQuAD retention" && bash "$HERE/eval/squad_eval.sh"')
    return script(lines)
