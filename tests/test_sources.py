"""BELLE and Alpaca loading: JSON Lines or a JSON list, ids, final numbers, rejected rows."""

from __future__ import annotations

from pathlib import Path

from curricula.sources import LoadReport, alpaca_records, belle_records

FIXTURES = Path(__file__).parent / "fixtures" / "belle"


def test_belle_jsonl_rows_become_word_records_and_bad_rows_are_kept():
    report = LoadReport("x")
    records = list(belle_records(FIXTURES / "school_math_sample.json", report))
    assert [r["id"] for r in records] == ["bellemath0", "bellemath1", "bellemath2", "bellemath4", "bellemath5",
                                          "bellemath6"]
    assert {r["type"] for r in records} == {"word"} and {r["source"] for r in records} == {"belle"}
    assert [r["answer"] for r in records] == ["12", "8", "19.5", "40", None, "3.8"]
    assert len(report.rejected) == 1 and report.rejected[0].line == 4
    assert "output" in report.rejected[0].reason
    assert records[4]["problem"] == "题目：把下面的句子改写成问句。\n今天天气很好。"


def test_a_json_list_reads_the_same_as_json_lines():
    report = LoadReport("x")
    records = list(belle_records(FIXTURES / "school_math_list.json", report))
    assert len(records) == 6 and not report.rejected
    assert records[1]["solution"] == "\n240 ÷ 30 = 8\n答案：8"


def test_any_alpaca_file_keeps_its_own_prefix():
    report = LoadReport("x")
    records = list(alpaca_records(FIXTURES / "school_math_list.json", report, prefix="mmlu"))
    assert records[0]["id"] == "mmlu0" and records[0]["type"] == "alpaca"
