"""datagen audit on a fixture with every type, duplicates, wrong solutions and bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagen.cli import main

FIXTURE = Path(__file__).parent / "fixtures" / "contest" / "train_sample.json"


def audit(tmp_path, source=FIXTURE):
    out = tmp_path / "audit"
    assert main(["audit", str(source), "--out", str(out), "-q"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    rejects = [json.loads(x) for x in (out / "rejects.jsonl").read_text().splitlines()]
    return summary, records, rejects


def test_audit_counts_every_kind_of_row(tmp_path):
    summary, records, rejects = audit(tmp_path)
    assert summary["rows"] == 23
    assert summary["rejected"] == 5
    assert summary["blank"] == 2
    assert summary["duplicates"] == 2
    assert summary["problem_duplicates"] == 1
    assert summary["disagreements"] == 4
    assert summary["by_type"] == {
        "add": 3, "sub": 2, "mul": 2, "div": 1, "pow": 2, "sqrt": 2, "linear_eq": 1, "func_value": 1,
        "mean": 1, "area": 1, "mass": 1, "discount": 1, "growth": 1, "fraction": 2, "competition": 1,
        "unknown": 1,
    }
    assert len(records) == summary["rows"] - summary["duplicates"]


def test_rejects_keep_line_numbers_and_reasons(tmp_path):
    _, _, rejects = audit(tmp_path)
    assert [(r["line"], r["field"], r["reason"].split(" (")[0].split(":")[0]) for r in rejects] == [
        (24, None, "not valid UTF-8"),
        (25, None, "not valid JSON"),
        (26, None, "not a JSON object"),
        (27, "solution", "missing"),
        (28, "solution", "not a string"),
    ]
    assert rejects[1]["raw"] == '{"problem": "x", "solution": '
    assert {r["file"] for r in rejects} == {str(FIXTURE)}


def test_audit_never_stops_early_and_judges_each_row(tmp_path):
    _, records, _ = audit(tmp_path)
    by_line = {r["line"]: r for r in records}
    assert by_line[30]["verdict"] == "agrees"  # the row after the bad ones is still read
    assert by_line[1]["answer"] == "1835.05" and by_line[1]["source"] == "contest"
    assert {r["line"] for r in records if r["verdict"] == "disagrees"} == {15, 16, 17, 22}
    assert {r["type"] for r in records if r["verdict"] == "unchecked"} == {"competition", "unknown"}
    assert by_line[13]["verdict"] == "agrees"  # 3920.0000000000005: float64 rounding of 3920
    assert by_line[16]["answer"] == "1/2"  # 2/4 is not the reduced form


@pytest.mark.slow
def test_generated_contest_rows_all_agree_with_the_audit(tmp_path):
    rows = tmp_path / "gen.json"
    assert main(["make", "--types", "all", "--n", "2800", "--format", "contest", "--seed", "5",
                 "--out", str(rows), "-q"]) == 0
    summary, records, rejects = audit(tmp_path, rows)
    assert summary["rows"] == 2800 and not rejects
    assert summary["disagreements"] == 0
    assert "unknown" not in summary["by_type"] and "competition" not in summary["by_type"]


def test_audit_of_a_missing_file_is_a_usage_error(tmp_path, capsys):
    assert main(["audit", str(tmp_path / "nope.json"), "--out", str(tmp_path / "o")]) == 2
    assert "nope.json" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_a_json_list_input_is_audited_row_by_row(tmp_path):
    rows = [{"problem": "计算 1.00 + 2.00 等于多少？", "solution": "1.00 + 2.00 = 3.00"},
            {"problem": "计算 2.00 * 3.00 等于多少？", "solution": "2.00 * 3.00 = 6.0000"},
            {"problem": "计算 1 的 2 次方？"}]
    source = tmp_path / "train_list.json"
    source.write_text("[\n" + ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n]\n",
                      encoding="utf-8")
    summary, records, rejects = audit(tmp_path, source)
    assert summary["format"] == "json-list" and summary["rows"] == 2
    assert [(r["line"], r["verdict"]) for r in records] == [(2, "agrees"), (3, "agrees")]
    assert [(r["line"], r["field"], r["reason"]) for r in rejects] == [(4, "solution", "missing")]


@pytest.mark.parametrize("content", [b"", b"\n  \r\n\n"])
def test_an_empty_input_is_an_error_and_writes_nothing(tmp_path, capsys, content):
    source = tmp_path / "train.json"
    source.write_bytes(content)
    out = tmp_path / "audit"
    assert main(["audit", str(source), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"datagen audit: error: {source}: has no rows"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.json"]


def test_a_directory_input_says_it_is_a_directory(tmp_path, capsys):
    assert main(["audit", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"datagen audit: error: {tmp_path}: is a directory") and "no such file" not in err
    assert not (tmp_path / "o").exists()


def test_an_earlier_audit_is_kept_without_force_and_replaced_with_it(tmp_path, capsys):
    out = tmp_path / "audit"
    audit(tmp_path)
    before = (out / "records.jsonl").read_bytes()
    (out / "summary.json").write_text("mine")
    assert main(["audit", str(FIXTURE), "--out", str(out), "-q"]) == 2
    assert "exists; pass --force" in capsys.readouterr().err
    assert (out / "summary.json").read_text() == "mine"
    assert main(["audit", str(FIXTURE), "--out", str(out), "-q", "--force"]) == 0
    assert json.loads((out / "summary.json").read_text())["rows"] == 23
    assert (out / "records.jsonl").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit"]


def test_force_never_replaces_a_folder_holding_other_files(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    source = data / "train.json"
    source.write_bytes(FIXTURE.read_bytes())
    assert main(["audit", str(source), "--out", str(data), "--force", "-q"]) == 2
    assert "holds files audit did not write (train.json)" in capsys.readouterr().err
    assert source.read_bytes() == FIXTURE.read_bytes()


def test_an_empty_existing_folder_is_used_without_force_and_json_goes_to_stdout(tmp_path, capsys):
    out = tmp_path / "audit"
    out.mkdir()
    assert main(["audit", str(FIXTURE), "--out", str(out), "-q", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["rows"] == 23 and captured.err == ""
    assert sorted(p.name for p in out.iterdir()) == ["records.jsonl", "rejects.jsonl", "summary.json"]
def write_rows(path: Path, rows) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def row(problem: str, solution: str) -> dict:
    return {"problem": problem, "solution": solution}


MASS = "某物体的密度为 {d} 克/立方厘米，体积为 {v} 立方厘米，请计算该物体的质量。"
DISCOUNT = "商品原价为 {p} 元，打折后的价格为 {q} 元，请计算打折的折扣比例。"


def test_equations_in_any_sign_notation_are_classified_and_solved(tmp_path):
    source = write_rows(tmp_path / "eq.json", [
        row("解方程 5x - 3 = 0", "方程的解为：0.6"),
        row("解方程 x + 5 = 0", "方程的解为：-5.0"),
        row("解方程 -x - 2.5 = 0", "方程的解为：-2.5"),
        row("解方程 -39x + 20 = 0", "方程的解为：0.5128205128205128"),
    ])
    summary, records, _ = audit(tmp_path, source)
    assert summary["by_type"] == {"linear_eq": 4}
    assert [r["answer"] for r in records] == ["0.6", "-5", "-2.5", "20/39"]
    assert [r["verdict"] for r in records] == ["agrees"] * 4


def test_float_artefacts_agree_by_one_rule_for_every_float_family_with_their_own_sub_verdict(tmp_path):
    source = write_rows(tmp_path / "floats.json", [
        row(MASS.format(d="1.19", v="390"), "464.09999999999997 克"),  # 1.19 * 390 in doubles
        row(MASS.format(d="1.19", v="390"), "464.1 克"),
        row(MASS.format(d="7.85", v="120"), "942.0 克"),
        row("去年销售额为 3500.00 万元，今年销售额增加了 12%，请计算今年的销售额。", "3920.0000000000005"),
        row("求以下数据的平均值：[0.1, 0.2]", "平均值为 0.15000000000000002"),
        row(DISCOUNT.format(p="1234.56", q="1234.55"), repr((1234.56 - 1234.55) / 1234.56 * 100)),
        row(MASS.format(d="1.19", v="391"), "464.09999999999997 克"),  # wrong numbers
        row(MASS.format(d="1.19", v="390"), "464.1000001 克"),  # beyond float rounding
        row("计算 0.10 + 0.20 等于多少？", "0.10 + 0.20 = 0.30000000000000004"),  # sums were not floats
    ])
    summary, records, _ = audit(tmp_path, source)
    got = [(r["type"], r["verdict"], r["sub_verdict"]) for r in records]
    assert got == [
        ("mass", "agrees", "float64"),
        ("mass", "agrees", "exact"),
        ("mass", "agrees", "exact"),
        ("growth", "agrees", "float64"),
        ("mean", "agrees", "float64"),
        ("discount", "agrees", "float64"),
        ("mass", "disagrees", "wrong"),
        ("mass", "disagrees", "wrong"),
        ("add", "disagrees", "wrong"),
    ]
    assert summary["by_sub_verdict"] == {"exact": 2, "float64": 4, "wrong": 3}
    assert summary["by_verdict"] == {"agrees": 6, "disagrees": 3}


def test_a_row_with_a_huge_number_is_a_reject_and_the_audit_goes_on(tmp_path):
    huge = "9" * 5000
    source = write_rows(tmp_path / "huge.json", [
        row("计算 1.00 + 2.00 等于多少？", "1.00 + 2.00 = 3.00"),
        row(f"计算 {huge} + 1 等于多少？", "1"),
        row("计算 1 + 1 等于多少？", f"1 + 1 = {huge}"),
        row("计算 9 的 999999999 次方？", "9^999999999 = 1"),
        row(f"求以下数据的平均值：[{huge}, 1]", "1"),
        row("计算 2.00 + 2.00 等于多少？", "2.00 + 2.00 = 4.00"),
    ])
    summary, records, rejects = audit(tmp_path, source)
    assert [r["line"] for r in rejects] == [2, 3, 4, 5]
    assert all(r["reason"].startswith("too large to check") for r in rejects)
    assert "5,000 digits" in rejects[0]["reason"]
    assert summary["rejected"] == 4 and summary["rows"] == 2
    assert [(r["line"], r["verdict"]) for r in records] == [(1, "agrees"), (6, "agrees")]
