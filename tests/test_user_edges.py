"""What a new user hits at the edges (issue 19): full disk, closed pipes, early checks, names, help."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from datagen.cli import main

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def datagen(*args: str, cwd: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "datagen.cli", *args], capture_output=True, text=True,
                          env=ENV, cwd=cwd, check=False, **kwargs)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- a full disk ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory):
    """A 2 MB tmpfs: every output that does not fit ends with a full disk."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root and mount(8)")
    folder = tmp_path_factory.mktemp("full")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True,
                          text=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.fixture(scope="module")
def big_inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    records, contest = folder / "records.jsonl", folder / "train.json"
    assert main(["make", "--n", "30000", "--out", str(records), "-q", "--workers", "1"]) == 0
    assert main(["make", "--n", "30000", "--format", "contest", "--phrasing", "contest", "--out", str(contest),
                 "-q", "--workers", "1"]) == 0
    return records, contest


@pytest.mark.parametrize("command", ["make", "audit", "export-conversation", "export-mindrecord", "build"])
def test_a_full_disk_ends_in_one_line_and_exit_2_leaving_nothing(full_disk, big_inputs, command):
    records, contest = big_inputs
    out = full_disk / f"out-{command}"
    args = {
        "make": ["make", "--n", "50000", "--workers", "1", "--out", str(out)],
        "audit": ["audit", str(contest), "--out", str(out)],
        "export-conversation": ["export", "--in", str(records), "--to", "conversation", "--out", str(out)],
        "export-mindrecord": ["export", "--in", str(records), "--to", "mindrecord", "--out", str(out),
                              "--workers", "0"],
        "build": ["curriculum", "build", "proxy_plain", "--scale", "0.2", "--out", str(out)],
    }[command]
    done = datagen(*args, "-q")
    assert done.returncode == 2, done.stderr
    line = one_line(done.stderr)
    assert "No space left on device" in line and str(out) in line
    assert list(full_disk.iterdir()) == []  # cleanup intact: nothing partial, no temporary


# --- a closed pipe ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [
    "make --format contest --n 30000 --workers 1 --out -",
    "export --in {records} --to conversation --out -",
    "audit {contest} --out {tmp}/audit --json -",
    "train params --model llama3_8b --json -",
])
def test_a_reader_that_closes_the_pipe_is_a_normal_end(big_inputs, tmp_path, command):
    records, contest = big_inputs
    args = command.format(records=records, contest=contest, tmp=tmp_path).split()
    proc = subprocess.Popen([sys.executable, "-m", "datagen.cli", *args, "-q"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)
    proc.stdout.read(10)
    proc.stdout.close()  # like `| head -c 10`
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert stderr == ""


def test_version():
    done = datagen("--version")
    from datagen import __version__

    assert done.returncode == 0 and done.stdout.strip() == f"datagen {__version__}"


# --- answers that do not fit the window ------------------------------------------------------

LONG_DIVISIONS = """\
name: cut
template: alpaca_zh
seq_length: 200
heldout: {count: 5}
stages:
  - name: only
    size: 300
    sources:
      - {kind: synthetic, ops: "/", weight: 1, style: steps, options: {digits: 1-3, decimals: 1, steps_sig: 8}}
"""


@pytest.fixture
def long_spec(tmp_path):
    path = tmp_path / "cut.yaml"
    path.write_text(LONG_DIVISIONS, encoding="utf-8")
    return path


def test_a_spec_whose_answers_do_not_fit_is_refused_before_export(long_spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["curriculum", "build", str(long_spec), "--out", str(out), "-q", "--skip-mindrecord"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{long_spec}: seq_length: " in err and "of 300 records of stage only (div " in err
    assert "more than seq_length + 1 = 201" in err and "--overlong drop" in err and "--overlong truncate" in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["cut.yaml"]


def test_overlong_drop_leaves_them_out_and_counts_them(long_spec, tmp_path):
    out = tmp_path / "run"
    assert main(["curriculum", "build", str(long_spec), "--out", str(out), "-q", "--overlong", "drop"]) == 0
    manifest = json.loads((out / "stage1_only" / "manifest.json").read_text(encoding="utf-8"))
    window = manifest["window"]
    assert window["policy"] == "drop" and window["record_length"] == 201
    assert window["dropped"] == window["overlong"] == window["overlong_by_type"]["div"] > 0
    assert manifest["records"] == 300 - window["dropped"] == manifest["export"]["mindrecord"]["records"]
    assert manifest["truncated_answers"] == 0 == manifest["export"]["mindrecord"]["truncated"]
    assert window["longest"] > 201  # the longest measured, dropped or not
    index = json.loads((out / "curriculum.json").read_text(encoding="utf-8"))
    assert index["stages"][0]["dropped_overlong"] == window["dropped"]


def test_overlong_truncate_is_asked_for_by_name_and_counted_as_the_export_counts(long_spec, tmp_path):
    out = tmp_path / "run"
    assert main(["curriculum", "build", str(long_spec), "--out", str(out), "-q", "--overlong", "truncate"]) == 0
    manifest = json.loads((out / "stage1_only" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["records"] == 300
    assert manifest["truncated_answers"] == manifest["window"]["overlong"] > 0
    assert manifest["truncated_answers"] == manifest["export"]["mindrecord"]["truncated"]
