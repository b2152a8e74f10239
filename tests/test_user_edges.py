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
        "build": ["curriculum", "build", str(ROOT / "configs" / "curricula" / "proxy_plain.yaml"), "--scale", "0.2",
                  "--out", str(out)],
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
    proc.stdout.close()  # a reader that is gone before the first write, like `| head -c 0`
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


# --- every input checked before any work -----------------------------------------------------

FIXTURES = ROOT / "tests" / "fixtures" / "specs"
STAGED = ["curriculum", "build", "arith_staged", "--skip-mindrecord"]


def staged_data(**changes: str) -> list[str]:
    paths = {"contest": str(FIXTURES / "train.json"), "belle": str(FIXTURES / "school_math_0.25M.json"), **changes}
    return [arg for name, path in paths.items() for arg in ("--data", f"{name}={path}")]


@pytest.mark.parametrize("case", ["unknown name", "missing file", "wrong tokenizer"])
def test_build_checks_every_input_before_any_work(tmp_path, capsys, case):
    out = tmp_path / "run"
    extra = {
        "unknown name": staged_data(contset=str(FIXTURES / "train.json")),
        "missing file": staged_data(belle=str(tmp_path / "school_math.json")),
        "wrong tokenizer": [*staged_data(), "--tokenizer", str(FIXTURES / "train.json")],
    }[case]
    assert main([*STAGED, "--out", str(out), *extra]) == 2
    line = one_line(capsys.readouterr().err)  # no step ran: a step prints its line when done
    expected = {
        "unknown name": "--data: unknown name 'contset': spec arith_staged has no {contset} path (it reads belle, "
                        "contest)",
        "missing file": f"source file {tmp_path / 'school_math.json'} does not exist",
        "wrong tokenizer": f"{FIXTURES / 'train.json'}: sha256 ",
    }[case]
    assert expected in line
    assert not out.exists()


def test_build_names_every_missing_extra_in_one_message(tmp_path, capsys, monkeypatch):
    import datagen.extras

    real = datagen.extras.installed
    monkeypatch.setattr(datagen.extras, "installed", lambda p: p not in ("mindspore", "datasets") and real(p))
    assert main(["curriculum", "build", "proxy_plain", "--out", str(tmp_path / "run")]) == 2
    line = one_line(capsys.readouterr().err)
    assert "needs datasets and mindspore, which are not installed; pip install '.[data,mindspore]'" in line
    monkeypatch.setattr(datagen.extras, "installed", lambda p: p not in ("mindspore", "tiktoken") and real(p))
    records = tmp_path / "r.jsonl"
    records.write_text('{"problem": "1 + 1", "solution": "2"}\n', encoding="utf-8")
    assert main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(tmp_path / "m")]) == 2
    line = one_line(capsys.readouterr().err)
    assert "needs mindspore and tiktoken, which are not installed; pip install '.[mindspore,data]'" in line


# --- shipped specs by name, from any folder --------------------------------------------------


def test_a_shipped_spec_builds_by_name_from_another_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["curriculum", "build", "proxy_plain", "--scale", "0.01", "--out", "run", "-q",
                 "--skip-mindrecord"]) == 0
    index = json.loads((tmp_path / "run" / "curriculum.json").read_text(encoding="utf-8"))
    assert index["name"] == "proxy_plain"
    assert main(["curriculum", "list"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == sorted(p.stem for p in (ROOT / "configs" / "curricula").glob("*.yaml"))
    assert main(["curriculum", "build", "proxy_plan", "--out", "x"]) == 2
    assert "no shipped spec has that name (shipped: arith_staged, " in capsys.readouterr().err


def test_a_yaml_syntax_error_is_one_line_with_file_line_and_column(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\nstages:\n  - name: a\n    size: [1, 2\n", encoding="utf-8")
    assert main(["curriculum", "build", str(spec), "--out", str(tmp_path / "run")]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"datagen curriculum build: error: {spec}:5: column 1: not valid YAML: ")
    assert "<unicode string>" not in line


# --- help ------------------------------------------------------------------------------------


def _parsers():
    import argparse

    from datagen.cli import build_parser

    def walk(parser, name):
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub_name, sub in action.choices.items():
                    yield from walk(sub, f"{name} {sub_name}")

    return list(walk(build_parser(), "datagen"))


def _options(parser):
    import argparse

    skip = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
    return [a for a in parser._actions if a.option_strings and not isinstance(a, skip)]


def test_every_option_has_help_and_shows_its_default():
    missing = []
    for name, parser in _parsers():
        for action in _options(parser):
            text, default = action.help or "", action.default
            shown = (default in (None, False) or isinstance(default, bool) or "default" in text
                     or any(f"{default:{spec}}" in text for spec in ("", ",", "g") if isinstance(default, (int, float)))
                     or str(default) in text)
            if not text or not shown:
                missing.append(f"{name} {action.option_strings[-1]}")
    assert missing == []


def test_every_train_subcommand_takes_quiet_and_tokenizer_reads_the_same_everywhere():
    parsers = dict(_parsers())
    train = [name for name in parsers if name.startswith("datagen train ")]
    assert len(train) >= 6
    assert [name for name in train if "-q" not in parsers[name]._option_string_actions] == []
    metavars = {name: action.metavar for name, parser in parsers.items() for action in _options(parser)
                if "--tokenizer" in action.option_strings}
    assert len(metavars) >= 4 and set(metavars.values()) == {"PATH"}, metavars


def test_train_params_help_lists_every_preset(capsys):
    from datagen.train.presets import available_presets

    with pytest.raises(SystemExit):
        main(["train", "params", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert len(available_presets()) >= 6
    for name in available_presets():
        assert name in text


def test_quiet_silences_the_export_digits_deprecation(tmp_path):
    records = tmp_path / "r.jsonl"
    records.write_text('{"problem": "1 + 1", "solution": "2"}\n', encoding="utf-8")
    args = ["export", "--in", str(records), "--to", "conversation", "--digits", "3"]
    loud = datagen(*args, "--out", str(tmp_path / "a.json"))
    assert loud.returncode == 0 and "--digits is deprecated" in loud.stderr
    quiet = datagen(*args, "--out", str(tmp_path / "b.json"), "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_wording_an_integer(tmp_path):
    """(The plural of `1 held-out problem` is pinned in test_spec_feasibility.)"""
    from datagen.rows import RowReader, require_strings

    path = tmp_path / "t.jsonl"
    path.write_text('{"problem": 1, "solution": "s"}\n7\n', encoding="utf-8")
    reader = RowReader(path, check=require_strings("problem", "solution"))
    assert list(reader) == []
    assert [r.reason for r in reader.rejects] == ["not a string (an integer)", "not a JSON object (an integer)"]


# --- streams ---------------------------------------------------------------------------------


def test_train_plan_summary_goes_to_stderr_and_quiet_silences_it(tmp_path, capsys):
    import importlib.util

    fixtures = ROOT / "tests" / "fixtures" / "train"
    spec = importlib.util.spec_from_file_location("tiny_curriculum_edges", fixtures / "tiny_curriculum.py")
    tiny = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tiny)
    curriculum = tiny.build(tmp_path / "cur", fake_mindrecords=True)
    args = ["train", "plan", str(curriculum), "--cards", "4", "--base-checkpoint", "/m/base.ckpt"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    out, err = capsys.readouterr()
    assert out == "" and f"written to {tmp_path / 'a'}" in err
    assert main([*args, "--out", str(tmp_path / "b"), "-q"]) == 0
    out, err = capsys.readouterr()  # warnings are kept
    assert out == "" and all(line.startswith("datagen train plan: warning: ") for line in err.splitlines())


def test_train_logs_keeps_its_csv_on_stdout_beside_json_path(tmp_path, capsys):
    log = ROOT / "tests" / "fixtures" / "train" / "mindformers_1_9_two_runs.log"
    assert main(["train", "logs", str(log)]) == 0
    alone = capsys.readouterr().out
    assert alone.startswith("stage,") or alone.splitlines()[0].count(",") >= 2
    assert main(["train", "logs", str(log), "--json", str(tmp_path / "steps.json")]) == 0
    out, err = capsys.readouterr()
    assert out == alone and (tmp_path / "steps.json").is_file()
    assert main(["train", "logs", str(log), "--json", str(tmp_path / "again.json"), "-q", "--csv",
                 str(tmp_path / "steps.csv")]) == 0
    assert capsys.readouterr() == ("", "")
    assert (tmp_path / "steps.csv").read_text(encoding="utf-8") == alone


# --- names -----------------------------------------------------------------------------------


def test_make_default_name_holds_style_lang_and_phrasing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["make", "--ops", "+-", "--n", "50", "-q"]) == 0
    assert main(["make", "--ops", "+-", "--n", "50", "--style", "steps", "--lang", "zh", "-q"]) == 0
    assert main(["make", "--ops", "+-", "--n", "50", "--phrasing", "contest", "-q"]) == 0
    assert main(["make", "--ops", "+-", "--n", "50", "--lang", "mix", "--format", "contest", "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "make-add-sub-n50-seed0-contest-phrasing.jsonl",
        "make-add-sub-n50-seed0-contest.jsonl",
        "make-add-sub-n50-seed0-steps-zh.jsonl",
        "make-add-sub-n50-seed0.jsonl",
    ]


@pytest.mark.parametrize("option", ["--ops", "--types"])
def test_an_empty_ops_or_types_is_an_error_not_every_family(tmp_path, capsys, option):
    assert main(["make", option, "", "--n", "5", "--out", str(tmp_path / "x.jsonl")]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{option}: no " in line and not (tmp_path / "x.jsonl").exists()


def test_x_and_the_signs_are_documented_aliases_in_make_and_specs(tmp_path, capsys):
    from datagen.curricula.spec import parse_spec

    with pytest.raises(SystemExit):
        main(["make", "--help"])
    assert "x or × for *, ÷ for /" in " ".join(capsys.readouterr().out.split())
    out = tmp_path / "m.jsonl"
    assert main(["make", "--ops", "x÷", "--n", "4", "--out", str(out), "-q"]) == 0
    assert {json.loads(line)["type"] for line in out.read_text(encoding="utf-8").splitlines()} == {"mul", "div"}
    spec = parse_spec({"name": "s", "stages": [{"name": "a", "size": 4, "sources": [
        {"kind": "synthetic", "ops": "x÷", "weight": 1}]}]}, "s.yaml")
    assert spec.stages[0].sources[0].types == ("mul", "div")


def test_make_audit_and_export_print_progress_lines_on_a_pipe(tmp_path, monkeypatch, capsys, big_inputs):
    import datagen.progress

    records, contest = big_inputs
    monkeypatch.setattr(datagen.progress, "PIPE_EVERY_S", 0.0)  # every update, for the test
    assert main(["make", "--n", "10000", "--workers", "1", "--out", str(tmp_path / "m.jsonl")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("make: ")]
    assert lines[0].startswith("make: 4,096/10,000 problems (41%), ") and lines[-1].startswith(
        "make: 10,000/10,000 problems (100%), ")
    assert main(["audit", str(contest), "--out", str(tmp_path / "audit")]) == 0
    assert any(line.startswith("audit: ") and " lines, " in line for line in capsys.readouterr().err.splitlines())
    assert main(["export", "--in", str(records), "--to", "conversation", "--out", str(tmp_path / "c.json")]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("export: ")]
    assert lines and lines[-1].startswith("export: 30,000 rows, ")
    assert main(["make", "--n", "10000", "--workers", "1", "--out", str(tmp_path / "q.jsonl"), "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_summaries_without_a_terminal_keep_titles_and_paths_whole(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    out = tmp_path / ("a-rather-long-folder-name-that-a-narrow-table-would-cut-" * 2) / "problems.jsonl"
    assert main(["make", "--ops", "+", "--n", "10", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"output: {out}\n" in err and f"wrote 10 problems to {out}\n" in err
    assert any(line.startswith("datagen make: 10 problems in ") for line in err.splitlines())


def test_mindrecord_files_get_the_umask_mode_not_0600(tmp_path):
    records = tmp_path / "r.jsonl"
    records.write_text('{"problem": "1 + 1", "solution": "2"}\n', encoding="utf-8")
    old = os.umask(0o027)
    try:
        assert main(["export", "--in", str(records), "--to", "mindrecord", "--out", str(tmp_path / "t.mindrecord"),
                     "-q", "--shards", "2", "--workers", "0"]) == 0
    finally:
        os.umask(old)
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.glob("t.mindrecord*")}
    assert modes == {name: 0o640 for name in ("t.mindrecord0", "t.mindrecord0.db", "t.mindrecord1",
                                              "t.mindrecord1.db", "t.mindrecord.manifest.json")}


def test_audit_and_export_count_rows_the_same_way(tmp_path):
    source = tmp_path / "train.json"
    source.write_text('{"problem": "计算 1 + 1 等于多少？", "solution": "1 + 1 = 2"}\n\n{"problem": 3}\nnot json\n'
                      '{"problem": "计算 2 + 2 等于多少？", "solution": "2 + 2 = 4"}\n', encoding="utf-8")
    assert main(["audit", str(source), "--out", str(tmp_path / "a"), "--json", str(tmp_path / "a.json"), "-q"]) == 0
    assert main(["export", "--in", str(source), "--to", "conversation", "--out", str(tmp_path / "c.json"),
                 "--json", str(tmp_path / "e.json"), "-q"]) == 0
    audit = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    export = json.loads((tmp_path / "e.json").read_text(encoding="utf-8"))
    assert [audit[k] for k in ("rows", "rejected", "blank")] == [export[k] for k in ("rows", "rejected", "blank")]
    assert (export["rows"], export["rejected"], export["blank"]) == (2, 2, 1)


# --- the suite leaves nothing behind ---------------------------------------------------------


def test_the_suite_leaves_no_mindformers_logs_or_temporary_folders(tmp_path):
    """A test module that imports MindFormers, run as the suite runs it: nothing left in the temp folder,
    nothing in the working folder (MindFormers' default log folder is ./output)."""
    pytest.importorskip("mindformers")
    temp, work = tmp_path / "tmp", tmp_path / "work"
    temp.mkdir()
    work.mkdir()
    env = {k: v for k, v in ENV.items() if k != "LOCAL_DEFAULT_PATH"} | {"TMPDIR": str(temp)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT),
                           "-c", str(ROOT / "pyproject.toml"), str(ROOT / "tests" / "test_train_params.py"),
                           "-k", "tiny_count_equals_mindformers"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
    leftovers = sorted(p.name for p in temp.iterdir() if p.name.startswith("datagen-mf-"))
    assert leftovers == [] and not (work / "output").exists()


def test_bench_takes_shipped_spec_names_too(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["bench", "curricula", "proxy_plain", "proxy_stps", "--seeds", "2"]) == 2
    line = one_line(capsys.readouterr().err)
    assert "proxy_stps: no such file, and no shipped spec has that name" in line
    assert "proxy_plain" not in line.split("(shipped:")[0]  # the first name was found


def test_a_bench_passes_each_spec_only_the_data_it_reads():
    from datagen.curricula.spec import data_options, load_spec

    given = ["contest=train.json", "belle=school_math.json"]
    assert data_options(load_spec("arith_synthetic"), given) == []
    assert data_options(load_spec("contest_baseline"), given) == ["--data", "contest=train.json"]
    assert data_options(load_spec("arith_staged"), given) == ["--data", given[0], "--data", given[1]]
