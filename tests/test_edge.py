"""The edge layer: one row reader, one atomic writer, one --force policy, signals end cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import datagen.rows as rows_module
from datagen.errors import InputError, MissingExtraError, OutputError
from datagen.output import atomic_open, check_target, staged
from datagen.rows import RowReader, require_strings

ROOT = Path(__file__).resolve().parents[1]


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_reader_collects_every_bad_row_with_line_field_and_reason(tmp_path):
    path = write(tmp_path / "t.jsonl", b'\xef\xbb\xbf{"problem": "a", "solution": "b"}\r\n\r\n'
                 b'{"problem": 1}\nnot json\n\xff\xfe\n[1]\n{"problem": "c", "solution": "d"}')
    reader = RowReader(path, check=require_strings("problem", "solution"))
    got = [(row.line, row.data["problem"]) for row in reader]
    assert got == [(1, "a"), (7, "c")]
    assert reader.blank == 1 and reader.rows == 2
    assert [(r.line, r.field, r.reason.split(" (")[0]) for r in reader.rejects] == [
        (3, "problem", "not a string"),
        (4, None, "not valid JSON: Expecting value at column 1"),
        (5, None, "not valid UTF-8"),
        (6, None, "not a JSON object"),
    ]
    assert str(reader.rejects[0]) == f"{path}:3: problem: not a string (an integer)"


def test_reader_stop_policy_raises_at_the_first_bad_row(tmp_path):
    path = write(tmp_path / "t.jsonl", b'{"problem": "a", "solution": "b"}\n{"problem": "a"}\n')
    with pytest.raises(InputError) as info:
        list(RowReader(path, required=("problem", "solution"), policy="stop"))
    assert str(info.value) == f"{path}:2: solution: missing"


@pytest.mark.parametrize("block", [7, 1 << 20])
def test_reader_reads_a_json_list_item_by_item_with_line_numbers(tmp_path, monkeypatch, block):
    monkeypatch.setattr(rows_module, "BLOCK", block)
    items = [{"problem": str(i) * 3, "solution": "s"} for i in range(5)] + [3]
    path = tmp_path / "t.json"
    path.write_text("\ufeff[\n" + ",\n".join(json.dumps(i) for i in items) + "\n]\n", encoding="utf-8")
    reader = RowReader(path, required=("problem",))
    assert [row.line for row in reader] == [2, 3, 4, 5, 6]
    assert reader.format == "json-list"
    assert [(r.line, r.reason) for r in reader.rejects] == [(7, "not a JSON object (an integer)")]


def test_reader_refuses_a_broken_list_and_names_the_line(tmp_path):
    path = write(tmp_path / "t.json", b'[\n{"a": "1"},\n{"a": 2\n')
    with pytest.raises(InputError) as info:
        list(RowReader(path))
    assert info.value.path == str(path) and info.value.line == 3


def test_reader_names_directories_missing_and_empty_inputs(tmp_path):
    with pytest.raises(InputError, match="is a directory"):
        list(RowReader(tmp_path))
    with pytest.raises(InputError, match="no such file"):
        list(RowReader(tmp_path / "nope.jsonl"))
    empty = write(tmp_path / "empty.jsonl", b"")
    assert list(RowReader(empty)) == []
    with pytest.raises(InputError, match="has no rows"):
        list(RowReader(empty, allow_empty=False))


def test_reader_turns_an_oversized_integer_into_a_reject(tmp_path):
    path = write(tmp_path / "t.jsonl", ('{"a": %s}\n{"a": 1}\n' % ("9" * 5000)).encode())
    reader = RowReader(path)
    assert [row.data for row in reader] == [{"a": 1}]
    assert reader.rejects[0].line == 1 and "digits" in reader.rejects[0].reason


def test_force_policy_keeps_an_existing_output(tmp_path):
    target = write(tmp_path / "out.jsonl", b"keep")
    with pytest.raises(OutputError, match="exists; pass --force"):
        check_target(target, force=False)
    check_target(target, force=True)
    with pytest.raises(OutputError, match="is a directory"):
        check_target(tmp_path, force=True)
    check_target(tmp_path / "new" / "x.jsonl", force=False)
    assert target.read_bytes() == b"keep"


def test_atomic_open_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with atomic_open(target) as handle:
            handle.write("half")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_staged_directory_replaces_the_old_one_whole(tmp_path):
    target = tmp_path / "run"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with staged(target, directory=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert sorted(p.name for p in target.iterdir()) == ["new.txt"]


def test_missing_extra_names_the_install_command():
    err = MissingExtraError("datagen export --to mindrecord", "mindspore", "mindspore")
    assert str(err) == ("datagen export --to mindrecord needs mindspore, which is not installed; "
                        "pip install '.[mindspore]'")


SLOW_WRITER = textwrap.dedent("""
    import sys, time
    from datagen import signals
    from datagen.errors import Terminated
    from datagen.output import atomic_open
    signals.install()
    try:
        with atomic_open(sys.argv[1]) as handle:
            handle.write("x" * 1000)
            handle.flush()
            print("ready", flush=True)
            time.sleep(30)
    except Terminated:
        sys.exit(143)
    except KeyboardInterrupt:
        sys.exit(130)
""")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_removes_the_temporary_file(tmp_path, signum, code):
    target = tmp_path / "out.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(target)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"ready"
    assert any(p.name.startswith(".out.jsonl.tmp-") for p in tmp_path.iterdir())
    proc.send_signal(signum)
    assert proc.wait(timeout=20) == code
    time.sleep(0.05)
    assert list(tmp_path.iterdir()) == []
