"""datagen audit on a fixture with every type, duplicates, wrong solutions and bad rows."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert [(r["line"], r["reason"].split(" (")[0].split(":")[0]) for r in rejects] == [
        (24, "not valid UTF-8"),
        (25, "not valid JSON"),
        (26, "not a JSON object"),
        (27, "missing field 'solution'"),
        (28, "not a string"),
    ]
    assert rejects[1]["raw"] == '{"problem": "x", "solution": '


def test_audit_never_stops_early_and_judges_each_row(tmp_path):
    _, records, _ = audit(tmp_path)
    by_line = {r["line"]: r for r in records}
    assert by_line[30]["verdict"] == "agrees"  # the row after the bad ones is still read
    assert by_line[1]["answer"] == "1835.05" and by_line[1]["source"] == "contest"
    assert {r["line"] for r in records if r["verdict"] == "disagrees"} == {15, 16, 17, 22}
    assert {r["type"] for r in records if r["verdict"] == "unchecked"} == {"competition", "unknown"}
    assert by_line[13]["verdict"] == "agrees"  # 3920.0000000000005: float64 rounding of 3920
    assert by_line[16]["answer"] == "1/2"  # 2/4 is not the reduced form


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
