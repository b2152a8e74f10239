"""datagen bench curricula: paired statistics, the proxy's schedule and rise check, and resuming
(one result file per spec and seed, rerun only when its configuration changes).  The proxy
itself is replaced by a fake that writes a proxy.json, so these tests need no MindSpore."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

pytest.importorskip("scipy")

from datagen.train import bench
from datagen.train.proxy import ProxyError, learning_rates, markdown, rise_over_last_quarter

CONFIGS = Path(__file__).parent.parent / "configs" / "curricula"


def test_paired_t_and_wilcoxon_on_known_differences():
    assert bench.paired_t_p([1, 2, 3, 4, 5, 6]) == pytest.approx(0.0059335, abs=1e-6)
    # six seeds all ahead: the smallest two-sided exact Wilcoxon p, 2 / 2**6
    assert bench.wilcoxon_p([1, 2, 3, 4, 5, 6]) == pytest.approx(0.03125)
    assert bench.wilcoxon_p([1, -2, 3, 4, 5, 6]) == pytest.approx(0.09375)
    assert bench.paired_t_p([0.1] * 6) == 0.0 and bench.paired_t_p([0.0] * 6) == 1.0
    assert bench.wilcoxon_p([0.0] * 6) == 1.0


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    differences = [0.05, 0.2, 0.1, -0.02, 0.3, 0.15]
    low, high = bench.bootstrap_interval(differences)
    assert (low, high) == bench.bootstrap_interval(differences)
    assert min(differences) <= low < sum(differences) / 6 < high <= max(differences)
    assert bench.bootstrap_interval([0.1] * 6) == pytest.approx((0.1, 0.1))


def test_compare_paired_counts_seeds_ahead_and_calls_significance_by_the_paired_t():
    base = [0.10, 0.50, 0.30, 0.20, 0.40, 0.60]
    better = [b + d for b, d in zip(base, [0.1, 0.2, 0.15, 0.1, 0.25, 0.05])]
    cell = bench.compare_paired(better, base)
    assert cell["wins"] == 6 and cell["losses"] == 0
    assert cell["delta"] == pytest.approx(0.141667, abs=1e-5)
    assert cell["significant"] and cell["p_paired_t"] < 0.01
    # differences that help as often as they hurt are not called
    assert not bench.compare_paired(base[::-1], base)["significant"]


def test_constant_schedule_holds_the_peak_after_warm_up_and_cosine_decays():
    constant = learning_rates("constant", 1000, 1e-3, 100)
    cosine = learning_rates("cosine", 1000, 1e-3, 100)
    assert constant[0] == pytest.approx(1e-5) and constant[99] == pytest.approx(1e-3)
    assert constant[100:] == [1e-3] * 900
    assert cosine[:100] == constant[:100] and cosine[100] == pytest.approx(1e-3)
    assert cosine[550] == pytest.approx(5e-4, rel=0.01) and cosine[-1] < 1e-7
    with pytest.raises(ProxyError, match="schedule"):
        learning_rates("linear", 10, 1e-3, 1)


def test_rise_over_last_quarter_flags_a_run_still_climbing():
    def curve(values):
        return [{"step": 500 * k, "split": "in_distribution", "type": "all", "strict": v, "n": 400}
                for k, v in enumerate(values)]

    assert rise_over_last_quarter(curve([0, 0.02, 0.05, 0.10, 0.15, 0.30, 0.60, 0.70, 0.90]), 4000) == \
        {"in_distribution": 30.0}
    assert rise_over_last_quarter(curve([0, 0.02, 0.5, 0.8, 0.9, 0.9, 0.91, 0.91, 0.92]), 4000) == \
        {"in_distribution": 1.0}
    # no evaluation between half and three quarters of the budget: nothing to say
    assert rise_over_last_quarter(curve([0, 0.5]), 4000) == {}


def fake_report(name: str, seed: int, steps: int) -> dict:
    """A proxy.json as the proxy writes it; reversed is 10 points ahead on add for every seed."""
    add = 0.3 + 0.05 * seed + (0.1 if "reversed" in name else 0.0)
    sub = 0.2 + 0.03 * seed
    by_type = {"add": {"strict": add, "lenient": add, "n": 100},
               "sub": {"strict": sub, "lenient": sub, "n": 100}}
    digits = {"add": {"digits=2": {"strict": add, "lenient": add, "n": 40},
                      "digits=3": {"strict": add, "lenient": add, "n": 60}}}
    final = {"in_distribution": {"overall": {"strict": (add + sub) / 2, "lenient": 0, "n": 200},
                                 "by_type": by_type, "by_type_difficulty": digits}}
    curve = [{"step": s, "split": "in_distribution", "type": "all", "strict": (add + sub) / 2 * s / steps,
              "n": 200} for s in (0, steps // 2, steps)]
    return {"curriculum": name, "final": final, "curve": curve, "rising": {"in_distribution": 50.0},
            "steps": steps, "seconds": 1.0, "peak_rss_mb": 900.0, "parameters": 1, "vocabulary": 40,
            "seq_length": 20}


@pytest.fixture
def fake_runs(monkeypatch):
    calls = []

    def run_command(args, log):
        calls.append(args)
        if args[:2] == ["curriculum", "build"]:
            out = Path(args[args.index("--out") + 1])
            out.mkdir(parents=True, exist_ok=True)
            (out / "curriculum.json").write_text("{}", encoding="utf-8")
        else:
            curriculum, out = Path(args[2]), Path(args[args.index("--out") + 1])
            seed, steps = int(args[args.index("--seed") + 1]), int(args[args.index("--steps") + 1])
            out.mkdir(parents=True)
            report = fake_report(curriculum.parent.name, seed, steps)
            (out / "proxy.json").write_text(json.dumps(report), encoding="utf-8")
        return 2.0

    monkeypatch.setattr(bench, "run_command", run_command)
    return calls


def bench_args(out: Path, **changes) -> argparse.Namespace:
    values = {"specs": [str(CONFIGS / "proxy_plain.yaml"), str(CONFIGS / "proxy_reversed.yaml")], "seeds": 6,
              "seed_list": None, "steps": 4000, "size": None, "batch_size": 128, "lr": 1e-3,
              "schedule": "constant", "warmup": 100, "layers": None, "hidden": None, "eval_every": 250,
              "eval_limit": 400,
              "heldout_limit": 0, "data": None, "out": str(out), "quiet": True}
    values.update(changes)
    return argparse.Namespace(**values)


def trained(calls) -> list[tuple[str, str]]:
    return [(Path(c[2]).parent.name, c[c.index("--seed") + 1]) for c in calls if c[:2] == ["train", "proxy"]]


@pytest.mark.slow
def test_bench_pairs_seeds_and_resumes_only_what_changed(tmp_path, fake_runs):
    summary = bench.bench(bench_args(tmp_path), lambda m: None)
    # seed by seed across the specs, so a bench stopped early holds complete pairs
    assert trained(fake_runs)[:4] == [("proxy_plain", "0"), ("proxy_reversed", "0"),
                                      ("proxy_plain", "1"), ("proxy_reversed", "1")]
    assert len(trained(fake_runs)) == 12
    add = summary["table"]["in_distribution"]["add"]["proxy_reversed"]["paired"]
    assert add["delta"] == pytest.approx(0.1) and add["wins"] == 6
    assert add["p_wilcoxon"] == pytest.approx(0.03125)
    assert add["ci95"] == pytest.approx([0.1, 0.1])
    assert "paired" not in summary["table"]["in_distribution"]["sub"]["proxy_plain"]
    assert summary["table"]["in_distribution"]["sub"]["proxy_reversed"]["paired"]["delta"] == pytest.approx(0)
    digit = summary["digits"]["in_distribution"]["add"]["3"]["proxy_reversed"]
    assert digit["paired"]["delta"] == pytest.approx(0.1)
    assert (tmp_path / "proxy_plain" / "results" / "seed5.json").is_file()

    fake_runs.clear()
    again = bench.bench(bench_args(tmp_path), lambda m: None)
    assert fake_runs == [] and again["table"] == summary["table"]

    # one more seed runs only that seed; other steps run everything again
    bench.bench(bench_args(tmp_path, seeds=7), lambda m: None)
    assert trained(fake_runs) == [("proxy_plain", "6"), ("proxy_reversed", "6")]
    fake_runs.clear()
    bench.bench(bench_args(tmp_path, steps=3000), lambda m: None)
    assert len(trained(fake_runs)) == 12


def test_a_result_file_from_another_configuration_or_broken_is_run_again(tmp_path):
    path = tmp_path / "seed0.json"
    assert bench.read_result(path, "abc") is None
    path.write_text('{"config_hash": "abc", "accuracy": {}}', encoding="utf-8")
    assert bench.read_result(path, "abc") == {"config_hash": "abc", "accuracy": {}}
    assert bench.read_result(path, "def") is None
    path.write_text('{"config_hash": "abc", ', encoding="utf-8")
    assert bench.read_result(path, "abc") is None
    a = bench.config_hash("spec", ["--steps", "4000"], 0)
    assert a == bench.config_hash("spec", ["--steps", "4000"], 0)
    others = {bench.config_hash("spec", ["--steps", "3000"], 0),
              bench.config_hash("spec2", ["--steps", "4000"], 0),
              bench.config_hash("spec", ["--steps", "4000"], 1)}
    assert len(others | {a}) == 4


@pytest.mark.slow
def test_bench_report_shows_deltas_per_seed_values_digits_and_run_costs(tmp_path, fake_runs):
    args = bench_args(tmp_path)
    summary = bench.bench(args, lambda m: None)
    text = bench.markdown(summary)
    assert "Δ +10.0 [+10.0, +10.0], t p=0.000*, W p=0.031, 6/6 seeds ahead" in text
    assert "- add: proxy_plain 30.0 / 35.0 / 40.0 / 45.0 / 50.0 / 55.0; proxy_reversed 40.0 / 45.0" in text
    assert "| add | 3 | 42.5 | 52.5 (Δ +10.0, t p=0.000*) |" in text
    # the fake curves reach 50 % only at the last step of reversed seed 5 (30 + 5 * 4 points)
    assert "| proxy_plain | 2–2 (mean 2) | 900 | seed 0, seed 1, seed 2, seed 3, seed 4, seed 5 | " \
        "— / — / — / — / — / — |" in text
    assert "| proxy_reversed | 2–2 (mean 2) | 900 | seed 0, seed 1, seed 2, seed 3, seed 4, seed 5 | " \
        "— / — / — / — / — / 4,000 |" in text
    assert bench.jump_step(fake_report("proxy_reversed", 5, 4000)["curve"], 0.5) == 4000
    assert bench.jump_step(fake_report("proxy_reversed", 5, 4000)["curve"], 0.2) == 2000
    bench.plot_curves(tmp_path, summary, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_proxy_report_tables_accuracy_by_digit_count():
    report = fake_report("proxy_plain", 0, 100)
    report.update(parameters=112_832, options={"batch_size": 128, "schedule": "constant",
                                               "learning_rate": 1e-3, "warmup_steps": 100, "seed": 0})
    text = markdown(report)
    assert "constant learning rate 0.001 after 100 warm-up steps" in text
    assert "| add | 3 | 30.0% | 60 |" in text
    assert "Still rising over the last quarter" in text
