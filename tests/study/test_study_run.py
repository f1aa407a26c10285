"""A tiny study end to end: report files and schema, resume, determinism, dry run."""

import json
import re
import time

import pytest

from coordbias.study import run_study
from coordbias.study.results import TIMING_KEYS
from coordbias.study.runner import ExperimentsFailed
from coordbias.training import train

pytestmark = pytest.mark.slow

TINY = {"overrides": {"train_size": 8, "val_size": 4}, "log": lambda line: None}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    results = run_study("test", out, **TINY)
    return out, results


def _strip_timing(value):
    if isinstance(value, dict):
        return {k: _strip_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_strip_timing(v) for v in value]
    return value


def test_writes_the_report_files_and_every_run(study):
    out, _ = study
    for name in ("report.md", "report.html", "results.json"):
        assert (out / name).stat().st_size > 0
    for variant in ("vanilla", "coordbias"):
        for seed in (0, 1):
            run = out / "runs" / variant / f"seed{seed}"
            assert (run / "result.json").is_file()
            assert "48" in json.loads((run / "transfer.json").read_text())
    assert not list(out.rglob("*.tmp")), "a temporary file was left behind"


def test_results_json_schema(study):
    out, returned = study
    results = json.loads((out / "results.json").read_text())
    assert results == json.loads(json.dumps(returned))
    assert results["preset"] == "test"
    assert isinstance(results["wall_time_s"], float)
    assert set(results["variants"]) == {"vanilla", "coordbias"}
    for v in results["variants"].values():
        assert v["seeds"] == [0, 1]
        assert len(v["recall"]["mean"]) == 4 and len(v["recall"]["std"]) == 4
        assert all(0.0 <= r <= 1.0 for r in v["recall"]["mean"])
        assert 0.0 <= v["miou"]["mean"] <= 1.0 and v["miou"]["std"] >= 0.0
        assert len(v["val_loss"]["mean"]) == 1 == len(v["val_loss"]["std"])
        assert isinstance(v["params"], int) and v["params"] > 0
        assert v["train_images_per_s"] > 0
        per_seed_miou = [s["miou"] for s in v["per_seed"]]
        assert v["miou"]["mean"] == pytest.approx(sum(per_seed_miou) / 2)
        assert "48" in v["transfer"]
    assert results["variants"]["coordbias"]["params"] > results["variants"]["vanilla"]["params"]
    test = results["tests"][0]
    assert (test["a"], test["b"]) == ("coordbias", "vanilla")
    assert len(test["recall"]) == 4 and "p" in test["miou"]
    weights = results["coord_weights"]["coordbias"]
    assert weights and all(set(w) == {"y", "x"} for w in weights.values())
    assert "vanilla" not in results["coord_weights"]


def test_report_contents(study):
    out, _ = study
    text = (out / "report.md").read_text()
    for needle in (
        "## Setup",
        "## Results",
        "## Against the original",
        "## Significance",
        "Welch",
        "0.428",
        "## Resolution transfer",
        "## Learned coordinate weights",
    ):
        assert needle in text
    for figure in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (out / figure).is_file(), figure


def test_html_is_self_contained(study):
    out, _ = study
    page = (out / "report.html").read_text()
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"(href|src)=\"(https?:)?//", page)
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert "<table>" in page


def test_resume_skips_finished_runs_and_rebuilds_the_report(study, monkeypatch):
    out, first = study
    calls = []
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("result.json")}
    results = run_study("test", out, train_fn=lambda c: calls.append(c), **TINY)
    assert calls == []
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert _strip_timing(results) == _strip_timing(first)


def test_resumed_study_trains_only_missing_runs_and_matches_a_single_pass(study, tmp_path):
    """Seed 0, then seeds 0-1: the second call trains seed 1 alone; numbers equal one pass.
    The study's wall time counts every invocation (it used to count the last one only)."""
    _, single_pass = study
    start = time.perf_counter()
    first = run_study("test", tmp_path, seeds=1, **TINY)
    first_s = time.perf_counter() - start
    calls = []

    def counting(config):
        calls.append((config.conv, config.seed))
        return train(config)

    start = time.perf_counter()
    resumed = run_study("test", tmp_path, seeds=2, train_fn=counting, **TINY)
    second_s = time.perf_counter() - start
    assert sorted(calls) == [("coordbias", 1), ("vanilla", 1)]
    # Same seeds on the same machine: identical numbers apart from timings.
    assert _strip_timing(resumed) == _strip_timing(single_pass)
    spent = [r["timing"]["study_wall_time_s"] for r in (first, resumed)]
    assert 0 < spent[0] <= first_s
    assert spent[0] < spent[1] <= first_s + second_s
    assert resumed["wall_time_s"] == spent[1]
    again = run_study("test", tmp_path, seeds=2, train_fn=counting, **TINY)  # nothing to train
    assert spent[1] < again["timing"]["study_wall_time_s"]


def test_more_epochs_train_the_finished_runs_further(study, tmp_path):
    """A larger epochs is the one change a finished run may take: it trains on (resume=True)."""
    import shutil

    out, _ = study
    shutil.copytree(out / "runs", tmp_path / "runs")
    calls = []

    def record_then_stop(config):
        calls.append(config)
        raise RuntimeError("stop here")

    longer = {**TINY["overrides"], "epochs": 2}
    with pytest.raises(RuntimeError, match="stop here"):
        run_study("test", tmp_path, overrides=longer, train_fn=record_then_stop, log=TINY["log"])
    assert [(c.epochs, c.resume) for c in calls] == [(2, True)]


def test_changed_settings_do_not_reuse_stale_runs(study):
    out, _ = study
    with pytest.raises(ValueError, match="holds a run with"):
        run_study("test", out, overrides={"train_size": 12, "val_size": 4}, log=TINY["log"])


def test_dry_run_writes_nothing(tmp_path):
    out = tmp_path / "study"
    lines = []
    listing = run_study(
        "test", out, dry_run_only=True, probe=False, log=lines.append, overrides=TINY["overrides"]
    )
    assert not out.exists()
    assert len(listing["runs"]) == 4 and listing["estimated_s"] > 0
    assert any("vanilla" in line and "seed 1" in line for line in lines)
    probed = run_study("test", out, dry_run_only=True, log=lines.append)
    assert probed["basis"] == "probe" and not out.exists()


def test_experiment_sections_and_figures_reach_the_report(study, tmp_path, monkeypatch):
    import shutil
    import types

    out, _ = study
    shutil.copytree(out / "runs", tmp_path / "runs")

    def run_ok(out_dir, *, quick, seed):
        from coordbias._util.files import write_bytes

        write_bytes(out_dir / "fig.png", (out / "figures" / "recall.png").read_bytes())
        return {"figure": "fig.png", "quick": quick, "seed": seed}

    def markdown_ok(result, fig_dir_rel):
        return f"## Speed\n\nquick={result['quick']}\n\n![speed]({fig_dir_rel}/{result['figure']})"

    def run_broken(out_dir, *, quick, seed):
        raise RuntimeError("boom")

    fake_ok = types.SimpleNamespace(run=run_ok, markdown=markdown_ok)
    fake_broken = types.SimpleNamespace(run=run_broken, markdown=markdown_ok)
    monkeypatch.setitem(__import__("sys").modules, "coordbias.study.experiments.speed", fake_ok)
    monkeypatch.setitem(
        __import__("sys").modules, "coordbias.study.experiments.bn_gradients", fake_broken
    )
    lines = []
    # A failed experiment must not pass silently: the report is written, then the study fails.
    with pytest.raises(ExperimentsFailed, match=r"bn_gradients: RuntimeError: boom"):
        run_study(
            "test",
            tmp_path,
            experiments=["speed", "bn_gradients"],
            overrides=TINY["overrides"],
            train_fn=lambda c: pytest.fail("finished runs must not train again"),
            log=lines.append,
        )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["experiments"]["speed"] == {"figure": "fig.png", "quick": True, "seed": 0}
    assert "bn_gradients" not in results["experiments"]
    assert any("bn_gradients: failed (RuntimeError: boom)" in line for line in lines)
    text = (tmp_path / "report.md").read_text()
    assert "## Speed" in text and "![speed](experiments/speed/fig.png)" in text
    assert "`bn_gradients` experiment has no result" in text
    page = (tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == text.count("![")
