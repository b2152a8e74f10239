"""``datagen export`` on the command line: one-line errors, --force, --json, warnings, progress, signals."""

import contextlib
import hashlib
import json
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datagen.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "export"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def good_lines() -> list[bytes]:
    raw = (FIXTURES / "golden_records.jsonl").read_bytes()
    return [line for line in raw.split(b"\n") if line.startswith(b'{"id": "syn')]


@pytest.fixture
def records(tmp_path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join(good_lines()[:30]) + b"\n")
    return path


def digest(paths) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(paths)}


@pytest.mark.mindspore
def test_cli_exports_and_reports(records, tmp_path, capsys):
    code = main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(tmp_path / "o.mindrecord"),
                 "--seq-length", "64", "--workers", "0"])
    assert code == 0
    err = capsys.readouterr().err
    assert "records written" in err and "native" in err
    code = main(["export", "--in", str(records), "--to", "conversation", "--out", str(tmp_path / "c.json"), "-q"])
    assert code == 0 and len(json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))) == 30
    assert capsys.readouterr().err == ""
    code = main(["export", "--in", str(tmp_path / "c.json"), "--to", "mindrecord", "--out", str(tmp_path / "x"),
                 "--template", "alpaca"])
    err = capsys.readouterr().err
    assert code == 2 and "already written" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_cli_usage_errors_are_one_line(records, tmp_path, capsys):
    assert main(["export", "--in", str(tmp_path / "missing.jsonl"), "--to", "conversation", "--out", "x"]) == 2
    assert capsys.readouterr().err == f"datagen export: error: {tmp_path / 'missing.jsonl'}: no such file\n"
    code = main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(tmp_path / "o"),
                 "--tokenizer-sha256", "0" * 64])
    err = capsys.readouterr().err
    assert code == 2 and "does not match" in err and len(err.strip().splitlines()) == 1


@pytest.mark.mindspore
@pytest.mark.parametrize("to", ["mindrecord", "conversation"])
def test_an_empty_conversation_list_is_an_error_not_an_empty_output(tmp_path, capsys, to):
    empty = tmp_path / "conv.json"
    empty.write_text("[]\n", encoding="utf-8")
    assert main(["export", "--in", str(empty), "--to", to, "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == f"datagen export: error: {empty}: has no rows to export\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.json"]


@pytest.mark.mindspore
@pytest.mark.slow
def test_truncated_and_dropped_records_are_reported_on_stderr(records, tmp_path, capsys):
    assert main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(tmp_path / "t.mindrecord"),
                 "--seq-length", "64"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("datagen export: warning")]
    summary = json.loads((tmp_path / "t.mindrecord.manifest.json").read_text(encoding="utf-8"))
    assert 0 < summary["truncated"] < 30
    assert warnings[0] == (f"datagen export: warning: {summary['truncated']} of 30 records were longer than "
                           "seq_length + 1 = 65 tokens and were truncated (--overlong drop leaves them out)")
    assert main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(tmp_path / "d.mindrecord"),
                 "--seq-length", "64", "--overlong", "drop"]) == 0
    err = capsys.readouterr().err
    assert (f"datagen export: warning: {summary['truncated']} records longer than seq_length + 1 = 65 tokens "
            "were dropped (--overlong drop)") in err


@pytest.mark.mindspore
@pytest.mark.slow
def test_existing_outputs_are_refused_without_force_and_replaced_with_it(records, tmp_path, capsys):
    out = tmp_path / "out" / "t.mindrecord"
    args = ["export", "--in", str(records), "--to", "mindrecord", "--out", str(out), "--seq-length", "64", "-q"]
    assert main(args) == 0
    before = digest(out.parent.iterdir())
    assert main(args) == 2
    assert capsys.readouterr().err == f"datagen export: error: --out: {out} exists; pass --force to replace it\n"
    assert digest(out.parent.iterdir()) == before
    out.unlink()  # a leftover index alone is part of the set too
    assert main(args) == 2 and "t.mindrecord.db exists; pass --force" in capsys.readouterr().err
    old_shards = [out.with_name(f"t.mindrecord{k}{ext}") for k in range(2) for ext in ("", ".db")]
    for path in old_shards:
        path.write_bytes(b"old")
    assert main([*args, "--force"]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["t.mindrecord", "t.mindrecord.db",
                                                            "t.mindrecord.manifest.json"]
    conversation = ["export", "--in", str(records), "--to", "conversation", "--out", str(tmp_path / "c.json"), "-q"]
    assert main(conversation) == 0 and main(conversation) == 2 and main([*conversation, "--force"]) == 0


@pytest.mark.mindspore
def test_json_option_writes_the_machine_readable_summary(records, tmp_path, capsys):
    out = tmp_path / "t.mindrecord"
    assert main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(out), "--seq-length", "64",
                 "--json", str(tmp_path / "summary.json"), "-q"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    manifest = json.loads(out.with_name("t.mindrecord.manifest.json").read_text(encoding="utf-8"))
    assert summary["records"] == 30 and summary["writer"]["used"] == "native"
    assert {k: v for k, v in summary.items() if k not in ("elapsed_s", "records_per_s")} == manifest
    assert main(["export", "--in", str(records), "--to", "conversation", "--out", "-", "--json", "-"]) == 2
    assert "--json: --out - already writes to standard output" in capsys.readouterr().err


@pytest.mark.mindspore
@pytest.mark.slow
def test_split_digits_names_the_option_and_digits_is_a_warned_alias(records, tmp_path, capsys):
    base = ["export", "--in", str(records), "--to", "mindrecord", "--seq-length", "64", "-q"]
    assert main([*base, "--out", str(tmp_path / "a" / "t.mindrecord"), "--split-digits", "1"]) == 0
    assert capsys.readouterr().err == ""
    assert main([*base, "--out", str(tmp_path / "b" / "t.mindrecord"), "--digits", "1"]) == 0
    assert capsys.readouterr().err == ""  # -q silences the deprecation too (test_user_edges: it warns without)
    data = ("t.mindrecord", "t.mindrecord.db")
    assert digest(tmp_path / "a" / n for n in data) == digest(tmp_path / "b" / n for n in data)
    manifest = json.loads((tmp_path / "a" / "t.mindrecord.manifest.json").read_text(encoding="utf-8"))
    assert manifest["tokenizer"]["split_digits"] == 1
    assert main([*base, "--out", str(tmp_path / "c"), "--digits", "1", "--split-digits", "3"]) == 2
    assert "--digits 1 contradicts --split-digits 3" in capsys.readouterr().err


@pytest.mark.slow
def test_standard_input_and_output_carry_data_and_the_summary_goes_to_stderr(records):
    result = subprocess.run([sys.executable, "-m", "datagen.cli", "export", "--in", "-", "--to", "conversation",
                             "--out", "-"], input=records.read_bytes(), capture_output=True, env=ENV, timeout=120,
                            check=False)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert len(data) == 30 and data[0]["id"] == json.loads(good_lines()[0])["id"]
    assert b"records written" in result.stderr


@pytest.mark.slow
def test_progress_is_a_bar_on_a_terminal(tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(good_lines() * 20) + b"\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "datagen.cli", "export", "--in", str(source), "--to",
                             "conversation", "--out", str(tmp_path / "c.json")],
                            stderr=follower, stdout=subprocess.DEVNULL, env=ENV)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert proc.wait(timeout=120) == 0
    text = shown.decode("utf-8", "replace")
    assert "━" in text and "%" in text and " rows" in text  # a bar with a percentage, not a spinner
    assert not any(frame in text for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")


def lock(folder: Path) -> bool:
    """Make ``folder`` unwritable, for root too (immutable) where possible; False when it cannot be."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            return False
        subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
    else:
        os.chmod(folder, 0o555)
    return not os.access(folder, os.W_OK)


def unlock(folder: Path) -> None:
    if os.geteuid() == 0 and shutil.which("chattr"):
        subprocess.run(["chattr", "-i", str(folder)], capture_output=True, check=False)
    os.chmod(folder, 0o755)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX permissions")
@pytest.mark.parametrize("to", ["conversation", "mindrecord"])
def test_read_only_output_folder_is_a_one_line_error(records, tmp_path, capsys, to):
    locked = tmp_path / "locked"
    locked.mkdir()
    try:
        if not lock(locked):
            pytest.skip("cannot make a folder read-only here")
        assert main(["export", "--in", str(records), "--to", to, "--out", str(locked / "out")]) == 2
        assert capsys.readouterr().err == (f"datagen export: error: --out: cannot write {locked / 'out'}: "
                                           f"{locked} is not a writable directory\n")
        assert list(locked.iterdir()) == []
    finally:
        unlock(locked)


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_a_large_export_leaves_nothing(tmp_path, signum, code):
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(good_lines() * 300) + b"\n")  # about 54k records
    target = tmp_path / "t.mindrecord"
    proc = subprocess.Popen([sys.executable, "-m", "datagen.cli", "export", "--in", str(source), "--to", "mindrecord",
                             "--out", str(target), "--workers", "1"],
                            stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        started = False
        while time.monotonic() < deadline and proc.poll() is None and not started:
            staged = [d for d in tmp_path.iterdir() if d.name.startswith(".t.mindrecord.tmp-")]
            started = any((d / "t.mindrecord").exists() for d in staged)
            time.sleep(0.02)
        assert started, "the MindRecord never started"
        os.killpg(proc.pid, signum)  # the whole group, as a terminal's Ctrl-C or a job manager does
        assert proc.wait(timeout=60) == code
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a hung export must not outlive the test
    err = proc.stderr.read().decode()
    word = "terminated" if code == 143 else "interrupted"
    assert err.strip().splitlines() == [f"datagen export: {word}; nothing partial was left at the output path"]
    time.sleep(0.1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


@pytest.mark.slow
@pytest.mark.parametrize(("blocked", "to", "extra"), [
    ("mindspore", "mindrecord", "mindspore"),
    ("fastchat", "mindrecord", "data"),
    ("tiktoken", "mindrecord", "data"),
])
def test_missing_optional_packages_name_the_extra(records, tmp_path, blocked, to, extra):
    code = (f"import sys; sys.modules[{blocked!r}] = None; from datagen.cli import main; "
            f"sys.exit(main(['export', '--in', {str(records)!r}, '--to', {to!r}, '--out', "
            f"{str(tmp_path / 'out')!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120,
                            check=False)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"which is not installed; pip install '.[{extra}]'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jsonl"]


def readme_commands(section: str) -> list[list[str]]:
    """The commands of the first bash block under ``section`` in README.md, continuation lines joined."""
    import shlex

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index(section):].split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.mark.mindspore
@pytest.mark.slow
def test_the_readme_export_commands_run_as_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    stage = tmp_path / "runs" / "synthetic" / "stage1_easy"
    stage.mkdir(parents=True)
    (stage / "train.jsonl").write_bytes(b"\n".join(good_lines()[:20]) + b"\n")
    (tmp_path / "train-data-conversation.json").write_text(
        (FIXTURES / "golden_conversations.json").read_text(encoding="utf-8"), encoding="utf-8")
    commands = readme_commands("### `datagen export`")
    assert len(commands) == 2
    for command in commands:
        assert command[0] == "datagen"
        assert main(command[1:]) == 0, capsys.readouterr().err
    assert json.loads(Path("train.mindrecord.manifest.json").read_text(encoding="utf-8"))["records"] == 20
    digits1 = json.loads(Path("train-digits1.mindrecord.manifest.json").read_text(encoding="utf-8"))
    assert digits1["tokenizer"]["split_digits"] == 1 and digits1["records"] == 19
