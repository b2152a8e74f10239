"""datagen make: determinism, uniqueness, the contest format, and bad input."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from datagen.cli import main
from datagen.generate import Generator, Request
from datagen.rng import Interleave, Permutation, water_fill

ROOT = Path(__file__).resolve().parents[1]


def run(args, capsys=None):
    code = main(["make", "-q", *args])
    return code


def read(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.slow
def test_output_is_byte_identical_for_any_worker_count(tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert run(["--ops", "+-*/", "--n", "20000", "--seed", "7", "--workers", "1", "--out", str(a)]) == 0
    assert run(["--ops", "+-*/", "--n", "20000", "--seed", "7", "--workers", "2", "--out", str(b)]) == 0
    assert a.read_bytes() == b.read_bytes()
    assert len(a.read_bytes().splitlines()) == 20000


def test_default_output_path_is_printed_and_written(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["make", "--ops", "+-", "--n", "50"]) == 0
    path = tmp_path / "data" / "make-add-sub-n50-seed0.jsonl"
    assert len(read(path)) == 50
    assert "data/make-add-sub-n50-seed0.jsonl" in capsys.readouterr().err.replace("\n", "")


def test_records_carry_the_documented_fields(tmp_path):
    out = tmp_path / "r.jsonl"
    assert run(["--types", "all", "--n", "140", "--out", str(out)]) == 0
    records = read(out)
    for field in ("id", "type", "lang", "problem", "answer", "solution", "difficulty", "source"):
        assert all(field in r for r in records)
    assert {r["type"] for r in records} == set(
        "add sub mul div pow sqrt linear_eq func_value mean area mass discount growth fraction".split()
    )
    assert {r["lang"] for r in records} == {"zh", "en"}
    assert len({r["id"] for r in records}) == 140


@pytest.mark.slow
def test_one_run_never_repeats_a_problem():
    gen = Generator(Request(types=("add", "mul", "fraction", "sqrt"), n=40000, seed=3))
    keys = set()
    for i in range(40000):
        r = gen.item(i)
        keys.add((r["type"], tuple(r["operands"])))
    assert len(keys) == 40000


def test_seeds_share_items_only_by_chance():
    def keys(seed):
        gen = Generator(Request(types=("add",), n=2000, seed=seed, configs={}))
        return {tuple(gen.item(i)["operands"]) for i in range(2000)}

    # each of 16 digit classes holds >= 4e6 pairs; 125 items per class -> expected overlap ~0
    assert len(keys(1) & keys(2)) <= 2


def test_small_classes_are_filled_then_the_rest_go_to_larger_ones():
    # 1-digit non-negative integers: 10 x 10 = 100 sums; 2-digit class is big
    gen = Generator(
        Request(types=("add",), n=1000, seed=0, configs={"add": _cfg("add", digits=(1, 2), decimals=0, negative=False)})
    )
    classes = [tuple(gen.item(i)["difficulty"]["digits"]) for i in range(1000)]
    assert classes.count((1, 1)) == 100
    assert len(classes) == 1000


def _cfg(family, **kw):
    from datagen.family import load_families

    return load_families()[family].config(**kw)


def test_too_few_distinct_problems_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "x.jsonl"
    code = run(["--types", "add", "--digits", "1", "--decimals", "0", "--no-negative", "--n", "200", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert "only 100" in err and "--allow-duplicates" in err
    assert not out.exists()
    assert run(["--types", "add", "--digits", "1", "--decimals", "0", "--no-negative", "--n", "200",
                "--allow-duplicates", "--out", str(out)]) == 0
    assert len(read(out)) == 200


@pytest.mark.parametrize(
    "args, option",
    [
        (["--ops", "+%"], "--ops"),
        (["--types", "add,cube"], "--types"),
        (["--n", "0"], "--n"),
        (["--n", "-5"], "--n"),
        (["--digits", "5-3"], "--digits"),
        (["--types", "mean", "--terms", "1"], "--terms"),
        (["--types", "mean", "--exponents", "2-3"], "--exponents"),
        (["--set", "mass.colour=1"], "--set"),
        (["--workers", "0"], "--workers"),
    ],
)
def test_bad_options_name_the_option_and_exit_2(tmp_path, capsys, args, option):
    out = tmp_path / "bad.jsonl"
    assert run([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and option in err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_an_error_and_leaves_nothing(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert run(["--n", "10", "--out", str(blocker / "out.jsonl")]) == 2
    assert "--out" in capsys.readouterr().err
    assert run(["--n", "10", "--out", str(tmp_path)]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


CONTEST = {
    "add": (r"计算 (-?\d+\.\d{2}) \+ (-?\d+\.\d{2}) 等于多少？", r"(\S+) \+ (\S+) = (-?\d+\.\d{2})"),
    "sub": (r"计算 (-?\d+\.\d{2}) - (-?\d+\.\d{2}) 等于多少？", r"(\S+) - (\S+) = (-?\d+\.\d{2})"),
    "mul": (r"计算 (-?\d+\.\d{2}) \* (-?\d+\.\d{2}) 等于多少？", r"(\S+) \* (\S+) = (-?\d+\.\d{4})"),
    "div": (r"计算 (-?\d+\.\d{2}) / (-?\d+\.\d{2}) 等于多少？", r"(\S+) / (\S+) = (-?[\d.E+-]+)"),
    "pow": (r"计算 (-?[\d.]+) 的 (\d+) 次方？", r"(\S+)\^(\d+) = (-?[\d.]+)"),
    "sqrt": (r"计算 ([\d.]+) 的平方根？", r"√(\S+) = ([\d.]+)"),
    "linear_eq": (r"解方程 (-?\d+)x \+ (-?\d+) = 0", r"方程的解为：(-?[\d.e+-]+)"),
    "func_value": (r"当 x = (-?[\d.]+) 时，求函数 y = (-?\d+)x\^(\d+) 的值", r"函数的值为：(-?[\d.E+-]+)"),
    "mean": (r"求以下数据的平均值：\[(-?\d+(?:, -?\d+)*)\]", r"平均值为 (-?[\d.]+)"),
    "area": (r"一个长方形的长为 (\d+) 厘米，宽为 (\d+) 厘米，请计算其面积。", r"面积为 (\d+) 平方厘米"),
    "mass": (r"某物体的密度为 ([\d.]+) 克/立方厘米，体积为 (\d+) 立方厘米，请计算该物体的质量。", r"([\d.]+) 克"),
    "discount": (r"商品原价为 ([\d.]+) 元，打折后的价格为 ([\d.]+) 元，请计算打折的折扣比例。", r"-?[\d.e+-]+"),
    "growth": (r"去年销售额为 ([\d.]+) 万元，今年销售额增加了 (\d+)%，请计算今年的销售额。", r"[\d.e+-]+"),
    "fraction": (r"将分数 (\d+)/(\d+) 进行简化。", r"最简化的形式为：(\d+)/(\d+)"),
}


def test_contest_format_lines_parse_with_the_contest_templates(tmp_path):
    out = tmp_path / "c.jsonl"
    assert run(["--types", "all", "--lang", "zh", "--n", "2800", "--format", "contest", "--out", str(out)]) == 0
    rows = read(out)
    assert all(set(r) == {"problem", "solution"} for r in rows)
    matched = 0
    for row in rows:
        hits = [t for t, (p, s) in CONTEST.items() if re.fullmatch(p, row["problem"])]
        if not hits:
            continue  # the zh alternative phrasings
        (family,) = hits
        assert re.fullmatch(CONTEST[family][1], row["solution"]), (family, row)
        matched += 1
    assert matched > 1000  # half the zh items use the contest's own phrasing


def test_stdout_output(capsysbinary):
    assert main(["make", "--ops", "*", "--n", "3", "--out", "-", "-q"]) == 0
    lines = capsysbinary.readouterr().out.decode().splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["mul"] * 3


def test_permutation_is_a_bijection():
    for size in (1, 2, 3, 7, 100, 1023, 1025):
        perm = Permutation(size, key=12345)
        assert sorted(perm(i) for i in range(size)) == list(range(size))


def test_interleave_and_water_fill():
    assert water_fill(10, [2, 100, 100]) == [2, 4, 4]
    assert water_fill(5, [1, 1]) == [1, 1]
    order = Interleave([1, 3, 2])
    assert [order.locate(t) for t in range(6)] == [(0, 0), (1, 0), (2, 0), (1, 1), (2, 1), (1, 2)]


def test_reversed_style_writes_the_contest_result_backwards():
    from datagen.numbers import reverse_digits

    contest = Generator(Request(types=("add", "mul", "area"), n=60, seed=4, style="contest"))
    backwards = Generator(Request(types=("add", "mul", "area"), n=60, seed=4, style="reversed"))
    for i in range(60):
        a, b = contest.item(i), backwards.item(i)
        assert a["problem"] == b["problem"] and a["answer"] == b["answer"]
        shown = re.findall(r"-?[\d.]+", a["solution"])[-1]
        assert re.findall(r"-?[\d.]+", b["solution"])[-1] == reverse_digits(shown)
        assert reverse_digits(reverse_digits(shown)) == shown
    assert reverse_digits("-123.45") == "-54.321"


def test_a_second_make_to_an_existing_path_refuses_and_keeps_the_file(tmp_path, capsys):
    out = tmp_path / "a.jsonl"
    assert run(["--ops", "+", "--n", "20", "--out", str(out)]) == 0
    first = out.read_bytes()
    capsys.readouterr()
    assert run(["--ops", "*", "--n", "5", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"datagen make: error: --out: {out} exists; pass --force to replace it"
    assert out.read_bytes() == first
    assert run(["--ops", "*", "--n", "5", "--out", str(out), "--force"]) == 0
    assert [r["type"] for r in read(out)] == ["mul"] * 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl"]


def test_json_summary_counts_what_was_written(tmp_path, capsys):
    out, summary = tmp_path / "a.jsonl", tmp_path / "summary.json"
    assert run(["--ops", "+-", "--n", "30", "--out", str(out), "--json", str(summary)]) == 0
    data = json.loads(summary.read_text())
    records = read(out)
    assert data["n"] == 30 and data["out"] == str(out)
    assert data["by_type"]["add"]["zh"] == sum(1 for r in records if r["type"] == "add" and r["lang"] == "zh")
    assert sum(data["by_lang"].values()) == 30
    assert capsys.readouterr().out == ""  # the summary went to the file; stdout stays for data
    assert main(["make", "--ops", "+", "--n", "3", "--json", "-", "--out", str(tmp_path / "b.jsonl"), "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 3
    assert run(["--ops", "+", "--n", "3", "--out", "-", "--json", "-"]) == 2


def _wait_for_temporary(folder, process, prefix):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any(p.name.startswith(prefix) and p.stat().st_size > 0 for p in folder.iterdir()):
            return True
        time.sleep(0.02)
    return False


def _gone(group: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "to_group", "word"),
    [(signal.SIGTERM, 143, False, "terminated"), (signal.SIGINT, 130, True, "interrupted")],
)
def test_a_signal_during_a_big_make_leaves_nothing_and_stops_the_workers(tmp_path, signum, code, to_group, word):
    # SIGTERM as `kill PID` sends it (the parent only); SIGINT as a terminal's Ctrl-C (the whole group)
    out = tmp_path / "big.jsonl"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "datagen.cli", "make", "--ops", "+-*/", "--n", "3000000", "--workers", "2",
         "--out", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True,
    )
    try:
        assert _wait_for_temporary(tmp_path, process, ".big.jsonl.tmp-")
        if to_group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
        assert process.wait(timeout=30) == code
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    err = process.stderr.read().decode()
    assert err == f"datagen make: {word}; nothing partial was left at the output path\n"
    assert list(tmp_path.iterdir()) == []
    assert _gone(process.pid)  # no worker outlives the command


def test_a_read_only_output_folder_is_one_line_not_a_traceback(readonly_dir, capsys):
    out = readonly_dir / "a.jsonl"
    assert run(["--ops", "+", "--n", "10", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"datagen make: error: --out: cannot write {out}: {readonly_dir}")
    assert err.count("\n") == 1 and list(readonly_dir.iterdir()) == []


@pytest.mark.slow
def test_a_dead_worker_fails_the_run_instead_of_hanging(monkeypatch):
    from datagen import make
    from datagen.errors import DatagenError

    real = make.Generator.chunk

    def dying(self, start, stop):
        if start == make.CHUNK * 3:
            os._exit(9)  # the worker vanishes as under the OOM killer
        return real(self, start, stop)

    monkeypatch.setattr(make.Generator, "chunk", dying)
    request = make.Request(types=("add",), n=make.CHUNK * 6)
    with pytest.raises(DatagenError, match="worker process died"):
        for _ in make.produce(make.Generator(request), request.n, 2):
            pass


def test_text_options_are_set_from_the_command_line(tmp_path):
    out = tmp_path / "t.jsonl"
    assert run(["--types", "mixed,unit", "--set", "mixed.operators=+-*", "--set", "unit.dimensions=time,currency",
                "--n", "200", "--seed", "3", "--out", str(out)]) == 0
    records = read(out)
    mixed = [r for r in records if r["type"] == "mixed"]
    units = [r for r in records if r["type"] == "unit"]
    assert mixed and units
    assert all("/" not in r["problem"] and "÷" not in r["problem"] for r in mixed)
    assert {r["answer"].split(" ", 1)[1] for r in units} <= {
        "s", "min", "h", "d", "元", "万元", "亿元", "yuan", "ten-thousand yuan", "hundred-million yuan"}


@pytest.mark.parametrize("setting, allowed", [
    ("mixed.operators=+%", "'+-*/'"),
    ("unit.dimensions=time,speed", "length, mass, volume, time, currency"),
])
def test_a_wrong_text_option_names_the_option_and_the_allowed_values(tmp_path, capsys, setting, allowed):
    out = tmp_path / "t.jsonl"
    assert run(["--types", "mixed,unit", "--set", setting, "--n", "10", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"--set {setting.split('=')[0]}" in err and allowed in err and "integer" not in err
    assert not out.exists()


def test_text_options_are_set_from_a_spec():
    from datagen.curricula.spec import parse_spec

    from datagen.make import configs_from_options

    stage = {"name": "a", "size": 10, "sources": [{
        "kind": "synthetic", "types": ["mixed", "unit"], "weight": 1,
        "options": {"set": {"mixed.operators": "+-*", "unit.dimensions": ["time", "currency"]}}}]}
    spec = parse_spec({"name": "t", "seed": 1, "stages": [stage]})
    source = spec.stages[0].sources[0]
    configs = configs_from_options(source.types, source.options)
    assert configs["mixed"].operators == "+-*" and configs["unit"].dimensions == "time,currency"


def test_reversed_style_refuses_a_non_numeric_family_in_plain_words(tmp_path, capsys):
    assert run(["--types", "quadratic", "--style", "reversed", "--n", "4", "--out", str(tmp_path / "q.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "'quadratic' does not answer with a number (answer kind 'roots')" in err and "a roots" not in err
