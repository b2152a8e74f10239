"""BELLE and Alpaca loading: JSON Lines or a JSON list, ids, final numbers, rejected rows."""

from __future__ import annotations

from pathlib import Path

from datagen.curricula.sources import LoadReport, alpaca_records, belle_records

FIXTURES = Path(__file__).parent / "fixtures" / "belle"


def test_belle_jsonl_rows_become_word_records_and_bad_rows_are_kept():
    report = LoadReport("x")
    records = list(belle_records(FIXTURES / "school_math_sample.json", report))
    assert [r["id"] for r in records] == ["bellemath0", "bellemath1", "bellemath2", "bellemath4", "bellemath5",
                                          "bellemath6"]
    assert {r["type"] for r in records} == {"word"} and {r["source"] for r in records} == {"belle"}
    assert [r["answer"] for r in records] == ["12", "8", "19.5", "40", None, "3.8"]
    assert len(report.rejected) == 1 and report.rejected[0].line == 4
    assert (report.rejected[0].field, report.rejected[0].reason) == ("output", "missing")
    assert report.rows == 6 and report.rejected[0].path.endswith("school_math_sample.json")
    assert records[4]["problem"] == "题目：把下面的句子改写成问句。\n今天天气很好。"


def test_a_json_list_reads_the_same_as_json_lines():
    report = LoadReport("x")
    records = list(belle_records(FIXTURES / "school_math_list.json", report))
    assert len(records) == 6 and not report.rejected
    assert records[1]["solution"] == "\n240 ÷ 30 = 8\n答案：8"
    # ids count the list's items (as BELLE's converter does), not the lines they start on
    assert [r["id"] for r in records] == [f"bellemath{i}" for i in range(6)]
    assert records[1]["line"] > 2


def test_a_json_list_with_a_bad_item_keeps_the_item_numbering(tmp_path):
    path = tmp_path / "belle.json"
    path.write_text('[{"instruction": "a", "output": "1"},\n 7,\n {"instruction": "b", "output": "2"}]',
                    encoding="utf-8")
    report = LoadReport("x")
    records = list(belle_records(path, report))
    assert [r["id"] for r in records] == ["bellemath0", "bellemath2"]
    assert [(r.line, r.reason) for r in report.rejected] == [(2, "not a JSON object (an integer)")]


def test_any_alpaca_file_keeps_its_own_prefix():
    report = LoadReport("x")
    records = list(alpaca_records(FIXTURES / "school_math_list.json", report, prefix="mmlu"))
    assert records[0]["id"] == "mmlu0" and records[0]["type"] == "alpaca"
