"""benchmarks/lesion_focus_ablation.py at a tiny size: every arm trains for each seed, is measured and reported;
an earlier table with the same settings is resumed, not retrained."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ..conftest import load_benchmark
from .conftest import micro_config


def test_lesion_focus_ablation_runs_every_arm_at_a_tiny_size(measured_phantoms: Path, tmp_path: Path) -> None:
    bench = load_benchmark("lesion_focus_ablation")
    report = bench.run(
        measured_phantoms, tmp_path, micro_config(), steps=4, batch=4, max_train=16, val_images=6, seeds=(1, 2)
    )
    on, off = report["arms"]["lesion focus 1"], report["arms"]["--no-lesion-focus"]
    assert (on["weight"], off["weight"]) == (1.0, 0.0)
    for run in report["runs"]:
        for arm in run["arms"].values():
            for key in ("background_psnr_db", "ring_psnr_db", "lesion_psnr_db", "background_l1", "lesion_focus_term"):
                assert math.isfinite(arm[key]), key
        # same data, seed and steps: only the term's weight differs, and it changes the trained tokenizer
        assert run["arms"]["lesion focus 1"]["background_l1"] != run["arms"]["--no-lesion-focus"]["background_l1"]
    # each seed trains its own tokenizers: the seeds differ
    assert [r["seed"] for r in report["runs"]] == [1, 2]
    first, second = (r["arms"]["lesion focus 1"]["background_l1"] for r in report["runs"])
    assert first != second
    table = (tmp_path / "lesion_focus_ablation.md").read_text()
    assert "| lesion focus 1 | 1 | 2 |" in table and "| --no-lesion-focus | 0 | 2 |" in table
    assert "| lesion focus 1 | 1 | " in table and "| lesion focus 1 | mean +- sd |" in table
    assert json.loads((tmp_path / "lesion_focus_ablation.json").read_text())["steps"] == 4
    assert (tmp_path / "lesion_focus_ablation.png").stat().st_size > 0


def test_an_added_weight_trains_only_the_new_arms(
    measured_phantoms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = load_benchmark("lesion_focus_ablation")
    small = dict(steps=2, batch=4, max_train=8, val_images=4, seeds=(0,))
    first = bench.run(measured_phantoms, tmp_path, micro_config(), weights=(1.0,), **small)
    trained: list[float] = []
    real_train = bench.train_arm

    def counting(config, weight, *args, **kwargs):  # type: ignore[no-untyped-def]
        trained.append(weight)
        return real_train(config, weight, *args, **kwargs)

    monkeypatch.setattr(bench, "train_arm", counting)
    second = bench.run(measured_phantoms, tmp_path, micro_config(), weights=(1.0, 4.0), **small)
    assert trained == [4.0]  # off and weight 1 come from the first run's JSON
    for name in ("--no-lesion-focus", "lesion focus 1"):
        assert second["runs"][0]["arms"][name] == first["runs"][0]["arms"][name]
    assert set(second["difference_vs_off"]) == {"lesion focus 1", "lesion focus 4"}
    # other settings (more steps) are another experiment: nothing is reused
    trained.clear()
    bench.run(measured_phantoms, tmp_path, micro_config(), weights=(1.0,), **{**small, "steps": 3})
    assert trained == [0.0, 1.0]


def test_json_from_before_the_weight_sweep_is_reused(tmp_path: Path) -> None:
    bench = load_benchmark("lesion_focus_ablation")
    settings = {"config": "c", "image_size": 64, "steps": 200, "batch": 16, "train_images": 20, "val_images": 8}
    old = {
        **settings,
        "runs": [{"seed": 0, "arms": {"lesion focus on": {"weight": 1.0}, "--no-lesion-focus": {"weight": 0.0}}}],
    }
    (tmp_path / "old.json").write_text(json.dumps(old))
    assert set(bench._previous_runs(tmp_path / "old.json", settings)[0]) == {"lesion focus 1", "--no-lesion-focus"}
    # its arms were trained on the machine the old JSON names
    (tmp_path / "old.json").write_text(json.dumps({**old, "machine": "old box"}))
    arms = bench._previous_runs(tmp_path / "old.json", settings)[0]
    assert {a["machine"] for a in arms.values()} == {"old box"}
    runs = [
        {"seed": 0, "arms": arms},
        {"seed": 1, "arms": {"--no-lesion-focus": {"weight": 0.0, "machine": "new box"}}},
    ]
    assert bench.trained_on({"machine": "new box", "runs": runs}) == "Trained on old box (seeds 0); new box (seeds 1)"
    assert bench.trained_on({"machine": "new box", "runs": runs[1:]}) == "new box"
    assert bench._previous_runs(tmp_path / "old.json", {**settings, "val_images": 9}) == {}


def _arm(bench, weight: float, psnr: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {"weight": weight, "seconds_per_step": 1.0, **{m: psnr for m in bench.METRICS}}


def test_summary_pairs_every_weight_with_the_off_arm_of_its_seed() -> None:
    bench = load_benchmark("lesion_focus_ablation")
    runs = [
        {
            "seed": 0,
            "arms": {
                "lesion focus 1": _arm(bench, 1, 21.0),
                "--no-lesion-focus": _arm(bench, 0, 20.0),
                "lesion focus 5": _arm(bench, 5, 22.0),
            },
        },
        {
            "seed": 1,
            "arms": {
                "lesion focus 1": _arm(bench, 1, 23.0),
                "--no-lesion-focus": _arm(bench, 0, 22.5),
                "lesion focus 5": _arm(bench, 5, 24.0),
            },
        },
        {"seed": 2, "arms": {"lesion focus 1": _arm(bench, 1, 19.0), "--no-lesion-focus": _arm(bench, 0, 19.3)}},
    ]
    summary = bench.summarise(runs)
    assert list(summary["arms"]) == ["--no-lesion-focus", "lesion focus 1", "lesion focus 5"]
    diff = summary["difference_vs_off"]["lesion focus 1"]["background_psnr_db"]
    assert diff["per_seed"] == pytest.approx([1.0, 0.5, -0.3])
    assert diff["mean"] == pytest.approx(0.4)
    assert diff["sd"] == pytest.approx(0.6557, abs=1e-4)  # sample sd of 1.0, 0.5, -0.3
    assert diff["same_sign"] is False and not bench.measurable(diff)
    # 95 % Student-t interval over the 3 seeds: 0.4 +- t(0.975, 2) 4.3027 * 0.6557 / sqrt(3)
    assert (diff["ci_low"], diff["ci_high"]) == (pytest.approx(-1.2289, abs=1e-3), pytest.approx(2.0289, abs=1e-3))
    assert not bench.interval_excludes_zero(diff)
    five = summary["difference_vs_off"]["lesion focus 5"]["background_psnr_db"]
    assert five["seeds"] == [0, 1] and five["per_seed"] == pytest.approx([2.0, 1.5])  # seed 2 has no weight-5 arm
    assert summary["arms"]["lesion focus 5"]["seeds"] == 2
    on = summary["arms"]["lesion focus 1"]["background_psnr_db"]
    assert on["mean"] == pytest.approx(21.0) and on["sd"] == pytest.approx(2.0)


def test_measurable_needs_one_sign_on_three_seeds_and_a_mean_twice_the_sd() -> None:
    bench = load_benchmark("lesion_focus_ablation")

    def diff(values: list[float]) -> dict[str, object]:
        arr = [float(v) for v in values]
        mean = sum(arr) / len(arr)
        sd = (sum((v - mean) ** 2 for v in arr) / (len(arr) - 1)) ** 0.5
        return {"per_seed": arr, "mean": mean, "sd": sd, "same_sign": len({v > 0 for v in arr}) == 1}

    assert bench.measurable(diff([1.0, 1.1, 0.9]))
    assert bench.measurable(diff([-1.0, -1.1, -0.9]))
    assert not bench.measurable(diff([1.0, 1.1]))  # two seeds are not enough
    assert not bench.measurable(diff([0.1, 2.0, 0.05]))  # one sign but mean < 2 sd
    assert not bench.measurable(diff([1.0, 1.1, -0.1]))  # sign flips


def test_an_interval_on_one_side_of_zero_is_marked_in_the_table() -> None:
    bench = load_benchmark("lesion_focus_ablation")
    runs = [
        {"seed": s, "arms": {"lesion focus 5": _arm(bench, 5, 20.0 + d), "--no-lesion-focus": _arm(bench, 0, 20.0)}}
        for s, d in enumerate((1.0, 1.1, 0.9))
    ]
    diff = bench.summarise(runs)["difference_vs_off"]["lesion focus 5"]["background_psnr_db"]
    # 1.0 +- 4.3027 * 0.1 / sqrt(3)
    assert (diff["ci_low"], diff["ci_high"]) == (pytest.approx(0.7516, abs=1e-3), pytest.approx(1.2484, abs=1e-3))
    assert bench.interval_excludes_zero(diff)
    report = {
        "config": "c", "image_size": 64, "steps": 2, "batch": 4, "seeds": [0, 1, 2], "train_images": 8,
        "val_images": 4, "workdir": "w", "machine": "m", "threads": 1, "runs": runs, **bench.summarise(runs),
    }  # fmt: skip
    table = bench.markdown(report)
    assert "| lesion focus 5 | 95 % CI | [+0.7516, +1.2484] **excludes 0** |" in table


def test_a_bad_seed_list_is_a_one_line_error() -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "lesion_focus_ablation.py"
    done = subprocess.run(
        [sys.executable, str(script), "nowhere", "--seed-list", "3,x"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "--seed-list 3,x: expected whole numbers" in done.stderr and "Traceback" not in done.stderr


def test_lanes_trained_apart_merge_into_one_table_without_training(
    measured_phantoms: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skinaug.errors import SkinaugError

    bench = load_benchmark("lesion_focus_ablation")
    small = dict(steps=2, batch=4, max_train=8, val_images=4, weights=(1.0,))
    lane_a = bench.run(measured_phantoms, tmp_path / "a", micro_config(), seeds=(0,), **small)
    lane_b = bench.run(measured_phantoms, tmp_path / "b", micro_config(), seeds=(1,), **small)

    def no_training(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("--report-only trained an arm")

    monkeypatch.setattr(bench, "train_arm", no_training)
    lanes = [tmp_path / "a" / "lesion_focus_ablation.json", tmp_path / "b" / "lesion_focus_ablation.json"]
    # seed 2 is in no lane: with train=False it is left out, not trained
    table = bench.run(
        measured_phantoms, tmp_path / "all", micro_config(), seeds=(0, 1, 2), merge=lanes, train=False, **small
    )
    assert table["runs"][0]["arms"] == lane_a["runs"][0]["arms"]
    assert table["runs"][1]["arms"] == lane_b["runs"][0]["arms"]
    assert table["runs"][2]["arms"] == {}
    assert table["difference_vs_off"]["lesion focus 1"]["background_psnr_db"]["seeds"] == [0, 1]
    assert "| lesion focus 1 | 1 | 2 |" in (tmp_path / "all" / "lesion_focus_ablation.md").read_text()
    # a lane made with other settings is another experiment: refused, naming the file
    with pytest.raises(SkinaugError, match="a/lesion_focus_ablation.json: no runs made with these settings"):
        bench.run(measured_phantoms, tmp_path / "all", micro_config(), seeds=(0, 1), merge=lanes, train=False,
                  **{**small, "steps": 3})  # fmt: skip
