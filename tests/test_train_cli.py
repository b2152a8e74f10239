"""The train commands' surface: errors named by the nested command, --force for run folders,
missing extras named before any work."""

from __future__ import annotations

import importlib.util

from datagen.cli import main


def test_errors_are_named_by_the_nested_command(tmp_path, capsys):
    assert main(["train", "smoke", str(tmp_path / "nope"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("datagen train smoke: error: ") and err.count("\n") == 1


def test_proxy_names_the_plot_extra_before_any_work(tmp_path, capsys, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: None if name == "matplotlib" else real_find_spec(name, *a, **k))
    assert main(["train", "proxy", str(tmp_path / "cur"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err == ("datagen train proxy: error: datagen train proxy needs matplotlib, which is not installed; "
                   "pip install '.[plot]'\n")
    assert list(tmp_path.iterdir()) == []


def _fake_modules(monkeypatch):
    # the checks below come before MindSpore is needed; pretend it is there where it is not
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a, **k: real_find_spec(name, *a, **k) or object())


def test_proxy_keeps_an_existing_run_folder_without_force(tmp_path, capsys, monkeypatch):
    _fake_modules(monkeypatch)
    out = tmp_path / "run"
    out.mkdir()
    (out / "proxy.json").write_text("{}")
    assert main(["train", "proxy", str(tmp_path / "cur"), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"datagen train proxy: error: --out: {out} exists; pass --force to replace it")
    assert (out / "proxy.json").read_text() == "{}"


def test_a_failed_forced_proxy_run_puts_the_old_folder_back(tmp_path, capsys, monkeypatch):
    _fake_modules(monkeypatch)
    out = tmp_path / "run"
    out.mkdir()
    (out / "proxy.json").write_text("{}")
    (tmp_path / "cur").mkdir()  # not a built curriculum: the run fails at once
    assert main(["train", "proxy", str(tmp_path / "cur"), "--out", str(out), "--force"]) == 2
    assert "curriculum.json is missing" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cur", "run"]
    assert (out / "proxy.json").read_text() == "{}"
