"""datagen bench curricula: the folder policy (--resume / --force) and signals passed to its runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from datagen.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPECS = [str(ROOT / "configs" / "curricula" / name) for name in ("proxy_plain.yaml", "proxy_reversed.yaml")]


def test_an_existing_bench_folder_needs_resume_or_force(tmp_path, capsys):
    out = tmp_path / "bench"
    out.mkdir()
    (out / "keep.txt").write_text("hours of runs")
    assert main(["bench", "curricula", *SPECS, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"datagen bench curricula: error: --out: {out} exists; pass --resume to continue it or --force to "
        "start over")
    assert main(["bench", "curricula", *SPECS, "--out", str(out), "--resume", "--force"]) == 2
    assert "give one of them" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "hours of runs"


RUNNER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from datagen import signals
    from datagen.train.bench import run_command
    signals.install()
    out = Path(sys.argv[1])
    try:
        run_command(["make", "--ops", "+-*/", "--n", "3000000", "--workers", "1", "--out", str(out / "big.jsonl")],
                    out / "make.log")
    except BaseException as exc:
        print(type(exc).__name__, flush=True)
        sys.exit(143)
""")


@pytest.mark.slow
def test_a_signal_to_the_bench_reaches_its_running_command(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", RUNNER, str(tmp_path)], stdout=subprocess.PIPE, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(p.name.startswith(".big.jsonl.tmp-") for p in
                                                      tmp_path.iterdir()):
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # the bench only, as `kill PID` would
        assert process.wait(timeout=60) == 143
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stdout.read().decode().strip() == "Terminated"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["make.log"]  # the child cleaned up after itself
    assert (tmp_path / "make.log").read_text().strip() == (
        "datagen make: terminated; nothing partial was left at the output path")
