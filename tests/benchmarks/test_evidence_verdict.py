"""benchmarks/evidence_ham10000.py: the verdict names the arms that beat b and their control, and what limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skinaug.atomic import write_json

from ..conftest import load_benchmark


def _gain(low: float, high: float) -> dict[str, Any]:
    return {"mean_recall": {"gain": (low + high) / 2, "ci_low": low, "ci_high": high}}


SUMMARY = {
    "arms": {
        "a": {"gains": {}},
        "b": {"gains": {"a": _gain(0.1, 0.2)}},
        "c": {"gains": {"b": _gain(-0.05, 0.01), "c-copies": _gain(-0.02, 0.03)}},
        "c-copies": {"gains": {"b": _gain(-0.04, 0.02)}},
        "topup": {"gains": {"b": _gain(0.01, 0.06), "topup-copies": _gain(0.005, 0.04)}},
        "topup-copies": {"gains": {"b": _gain(-0.01, 0.03)}},
    }
}
GOOD_GENERATOR = {"conditioning": {"mean_recall": 0.8}}


def test_an_arm_that_beats_b_and_its_control_is_named_and_nothing_limits() -> None:
    decision = load_benchmark("evidence_ham10000").verdict(
        SUMMARY, {"retention": 0.9}, GOOD_GENERATOR, {"synthetic": {"auroc": 0.6}}
    )
    assert decision["generated_arms"] == ["c", "topup"]  # copies arms are controls, not generated
    assert decision["beat_b_with_ci_above_0"] == ["topup"]  # c's interval crosses 0
    assert decision["beat_copies_control_with_ci_above_0"] == ["topup"]
    assert decision["limiting_factors"] == []


def test_a_gain_that_the_seeds_do_not_confirm_is_not_a_win() -> None:
    """The bootstrap over test images lies above 0 but the seed-paired interval crosses it: not beating b."""
    topup = _gain(0.01, 0.06)
    topup["mean_recall"]["over_seeds"] = {"gain": 0.035, "ci_low": -0.02, "ci_high": 0.09, "n_seeds": 3}
    confirmed = _gain(0.005, 0.04)
    confirmed["mean_recall"]["over_seeds"] = {"gain": 0.02, "ci_low": 0.001, "ci_high": 0.04, "n_seeds": 3}
    summary = {"arms": {**SUMMARY["arms"], "topup": {"gains": {"b": topup, "topup-copies": confirmed}}}}
    decision = load_benchmark("evidence_ham10000").verdict(
        summary, {"retention": 0.9}, GOOD_GENERATOR, {"synthetic": {"auroc": 0.6}}
    )
    assert decision["beat_b_with_ci_above_0"] == []
    assert decision["beat_copies_control_with_ci_above_0"] == ["topup"]


def test_each_measured_limit_is_reported() -> None:
    worse = {
        "arms": {**SUMMARY["arms"], "topup": {"gains": {"b": _gain(-0.01, 0.02), "topup-copies": _gain(-0.03, 0.0)}}}
    }
    decision = load_benchmark("evidence_ham10000").verdict(
        worse, {"retention": 0.49}, {"conditioning": {"mean_recall": 0.34}}, {"synthetic": {"auroc": 0.995}}
    )
    assert decision["beat_b_with_ci_above_0"] == [] and decision["beat_copies_control_with_ci_above_0"] == []
    text = " ".join(decision["limiting_factors"])
    for words in ("tokenizer blur", "49%", "conditioning", "0.34", "copies control", "shortcut", "0.995"):
        assert words in text, words


def _results(arms: dict[str, tuple[int, float, tuple[float, float] | None]], retention: float) -> dict[str, Any]:
    """A results.json with the fields a comparison reads: arm -> (seeds, mean recall, CI vs b or None)."""
    return {
        "plan": {"name": "plan"},
        "retention": {"retention": retention, "psnr_db": 31.0},
        "evaluation": {"conditioning": {"mean_recall": 0.4}, "overall": {"fid": 18.0}},
        "bench": {
            "meta": {"shortcut": {"synthetic": {"auroc": 0.98}}},
            "summary": {
                "arm_order": list(arms),
                "arms": {
                    name: {
                        "seeds": list(range(seeds)),
                        "metrics": {"mean_recall": {"mean": recall}},
                        "gains": {"b": _gain(*ci)} if ci else {},
                    }
                    for name, (seeds, recall, ci) in arms.items()
                },
            },
        },
    }


def test_the_comparison_puts_each_arm_of_the_previous_run_beside_this_one() -> None:
    previous = _results({"b": (2, 0.555, None), "c": (1, 0.498, (-0.11, -0.02))}, retention=0.72)
    current = _results({"b": (3, 0.570, None), "c": (3, 0.560, (-0.03, 0.01)), "topup": (1, 0.5, (-0.1, -0.05))}, 0.91)
    lines = load_benchmark("evidence_ham10000").compare_runs(previous, current, "run 1")
    text = "\n".join(lines)
    assert "| tokenizer retention | 0.720 | 0.910 |" in text
    assert "| c | 1 | 0.498 | -0.065 [-0.110, -0.020] | 3 | 0.560 | -0.010 [-0.030, +0.010] |" in text
    # an arm the previous run did not have is shown with dashes, not dropped
    assert "| topup | — | — | — | 1 | 0.500 | -0.075 [-0.100, -0.050] |" in text
    assert "| b | 2 | 0.555 | — | 3 | 0.570 | — |" in text


def test_a_classifier_still_learning_when_it_stops_is_reported_as_a_limit(tmp_path: Path) -> None:
    evidence = load_benchmark("evidence_ham10000")
    for seed, best in ((0, 5), (1, 5), (2, 3)):
        write_json(tmp_path / f"b_seed{seed}" / "run.json", {"seed": seed, "best_epoch": best, "epochs_run": 5})
    write_json(tmp_path / "c_seed0" / "run.json", {"seed": 0, "best_epoch": 5, "epochs_run": 5})  # another arm
    rows = evidence.training_length(tmp_path)
    assert rows == [
        {"seed": 0, "best_epoch": 5, "epochs": 5},
        {"seed": 1, "best_epoch": 5, "epochs": 5},
        {"seed": 2, "best_epoch": 3, "epochs": 5},
    ]
    args = (SUMMARY, {"retention": 0.9}, GOOD_GENERATOR, {"synthetic": {"auroc": 0.6}})
    # seed 2 peaked before its last epoch: the classifier has fit the real images there, no limit
    assert evidence.verdict(*args, rows)["limiting_factors"] == []
    still_learning = [dict(row, best_epoch=5) for row in rows]
    limits = evidence.verdict(*args, still_learning)["limiting_factors"]
    assert len(limits) == 1 and "training length" in limits[0] and "3 of 3" in limits[0]


def test_runs_that_keep_their_last_epoch_by_rule_say_nothing_about_training_length(tmp_path: Path) -> None:
    evidence = load_benchmark("evidence_ham10000")
    write_json(tmp_path / "b_seed0" / "run.json", {"seed": 0, "best_epoch": 5, "epochs_run": 5})
    write_json(
        tmp_path / "b_seed1" / "run.json", {"seed": 1, "best_epoch": 5, "epochs_run": 5, "epoch_selection": "last"}
    )
    assert evidence.training_length(tmp_path) == [{"seed": 0, "best_epoch": 5, "epochs": 5}]
