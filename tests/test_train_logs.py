"""`datagen train logs`: MindFormers step lines → CSV / JSON / loss curve, stages in order."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from datagen.train.logs import LogError, parse_lines, parse_logs

from datagen.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "train"
RUN = FIXTURES / "two_stage_run"


def test_two_stage_run_gives_every_step_once_in_stage_order():
    records = parse_logs(RUN)
    assert len(records) == 24 + 15  # rank 1 and MindFormers' info.log repeat rank 0's lines
    assert [r.stage for r in records] == [1] * 24 + [2] * 15
    assert {r.stage_name for r in records} == {"stage1_add", "stage2_sub"}
    assert records[0].source == "stage1_add/output/msrun_log/worker_0.log"
    assert [r.global_step for r in records] == list(range(1, 40))
    assert (records[12].epoch, records[12].step, records[12].stage_step) == (2, 1, 13)
    assert records[0].loss == 2.299 and records[23].loss == 0.942 and records[24].loss == 1.198
    assert records[0].lr == 1e-05 and records[0].per_step_time_ms == 48213
    assert records[1].throughput == pytest.approx(36.11738)
    assert records[0].overflow == "False" and records[0].loss_scale == 1.0


def test_mindformers_1_9_lines_and_two_runs_in_one_file():
    records = parse_logs(FIXTURES / "mindformers_1_9_two_runs.log")
    assert [r.stage for r in records] == [1] * 8 + [2] * 6  # the step count restarts: a new run
    first = records[0]
    assert (first.loss, first.loss_avg, first.lr) == (3.018095, 3.018095, 2e-05)
    assert first.global_norm == pytest.approx(1.1711767) and first.tflops_per_npu == pytest.approx(152.325)
    assert records[8].global_step == 9 and records[8].stage_step == 1


def test_plain_mindspore_loss_monitor_lines_are_read():
    runs = parse_lines(["epoch: 1 step: 1, loss is 2.5", "epoch: 1 step: 2, loss is 2.25"])
    assert [r["loss"] for r in runs[0]] == [2.5, 2.25]


@pytest.mark.slow
def test_cli_writes_csv_json_and_png(tmp_path, capsys):
    csv_path, json_path, png = tmp_path / "steps.csv", tmp_path / "steps.json", tmp_path / "loss.png"
    assert (
        main(
            ["train", "logs", str(RUN), "--csv", str(csv_path), "--json", str(json_path), "--plot", str(png)]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "39 steps in 2 stage(s)" in captured.err and captured.out == ""  # a summary: stderr
    with open(csv_path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 39 and rows[-1]["global_step"] == "39" and rows[-1]["stage_name"] == "stage2_sub"
    data = json.loads(json_path.read_text())
    assert [(s["name"], s["steps"]) for s in data["stages"]] == [("stage1_add", 24), ("stage2_sub", 15)]
    assert data["stages"][1]["first_step"] == 25
    head = png.read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert not list(tmp_path.glob(".*tmp*"))


def test_cli_without_outputs_prints_csv(capsys):
    assert main(["train", "logs", str(FIXTURES / "mindformers_1_9_two_runs.log")]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("stage,stage_name,source,epoch,epochs,step")
    assert len(captured.out.splitlines()) == 1 + 14
    assert "14 steps in 2 stage(s)" in captured.err


def test_log_without_loss_lines_exits_2_naming_it_and_writes_nothing(tmp_path, capsys):
    log = tmp_path / "worker_0.log"
    log.write_text(
        "2024-07-27 14:02:33,299 - mindformers[x.py:1] - INFO - .........Starting Training Model..\n"
    )
    csv_path = tmp_path / "steps.csv"
    assert main(["train", "logs", str(log), "--csv", str(csv_path), "--plot", str(tmp_path / "l.png")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(log) in err and "no MindFormers training step lines" in err
    assert not csv_path.exists() and not (tmp_path / "l.png").exists()


def test_missing_log_dir_is_an_error(tmp_path):
    with pytest.raises(LogError, match="does not exist"):
        parse_logs(tmp_path / "nope")


@pytest.mark.slow
def test_existing_outputs_are_kept_without_force(tmp_path, capsys):
    csv_path, png = tmp_path / "steps.csv", tmp_path / "loss.png"
    csv_path.write_text("mine")
    assert main(["train", "logs", str(RUN), "--csv", str(csv_path), "--plot", str(png)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"datagen train logs: error: --csv: {csv_path} exists; pass --force to replace it")
    assert csv_path.read_text() == "mine" and not png.exists()
    assert main(["train", "logs", str(RUN), "--csv", str(csv_path), "--plot", str(png), "--force"]) == 0
    assert csv_path.read_text().startswith("stage,") and png.stat().st_size > 0


@pytest.mark.slow
def test_json_to_stdout_is_the_data_and_the_summary_stays_on_stderr(capsys):
    assert main(["train", "logs", str(RUN), "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)["steps"]) == 39 and "39 steps" in captured.err


def test_plot_without_matplotlib_names_the_extra_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    csv_path, png = tmp_path / "steps.csv", tmp_path / "loss.png"
    assert main(["train", "logs", str(RUN), "--csv", str(csv_path), "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert err == ("datagen train logs: error: datagen train logs --plot needs matplotlib, which is not "
                   "installed; pip install '.[plot]'\n")
    assert list(tmp_path.iterdir()) == []
