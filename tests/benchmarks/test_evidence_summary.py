"""benchmarks/evidence_summary.py: every generated arm against b and its copies, read from the runs' reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..conftest import load_benchmark


def _gain(gain: float, low: float, high: float, seed_low: float | None = None, seed_high: float | None = None) -> dict:
    entry: dict[str, Any] = {"gain": gain, "ci_low": low, "ci_high": high, "n_seeds_a": 3}
    if seed_low is not None:
        entry["over_seeds"] = {"ci_low": seed_low, "ci_high": seed_high, "n_seeds": 3}
    return {"mean_recall": entry}


def _arm(mean: float, gains: dict | None = None) -> dict:
    return {"metrics": {"mean_recall": {"mean": mean}}, "gains": gains or {}}


def _write(folder: Path, results: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results))


def test_rows_controls_bold_rule_and_judge_of_a_shared_synthetic_set(tmp_path: Path) -> None:
    script = load_benchmark("evidence_summary")
    arms = {
        "a": _arm(0.40),
        "b": _arm(0.55),
        "d": _arm(0.55),
        "c": _arm(0.46, {"b": _gain(-0.09, -0.13, -0.05, -0.11, -0.08), "c-copies": _gain(-0.05, -0.08, -0.01)}),
        "c-copies": _arm(0.50),
        "share0.5-finish2": _arm(
            0.58,
            {
                "b": _gain(0.03, 0.01, 0.05, 0.005, 0.06),
                "share0.5-copies-finish2": _gain(0.02, 0.001, 0.04, -0.01, 0.05),
            },
        ),
        "share0.5-copies-finish2": _arm(0.56),
        "topup-selected": _arm(0.42, {"b": _gain(-0.13, -0.17, -0.09)}),
        "topup-copies": _arm(0.46),
        "topup-sampler": _arm(0.48, {"b": _gain(-0.08, -0.11, -0.04)}),
        "share0.25": _arm(0.60, {"b": _gain(0.05, 0.02, 0.08)}),  # one seed: no seed interval, so never bold
    }
    # the evidence script nests bench-classifier's results under "bench" and records the judge there
    _write(
        tmp_path / "made", {"bench": {"summary": {"arms": arms}, "meta": {"shortcut": {"synthetic": {"auroc": 0.9}}}}}
    )
    _write(tmp_path / "reused", {"summary": {"arms": {"b": _arm(0.59), "share0.25": _arm(0.6)}}, "meta": {}})
    runs = (
        script.EvidenceRun("made", "run X", "gen X", "5 epochs"),
        script.EvidenceRun("reused", "run X, longer", "gen X", "10 epochs", judge_from="made"),
    )
    rows = script.comparisons(tmp_path, runs)

    by_arm = {(r["run"], r["arm"]): r for r in rows}
    # generated arms only: never a, b, d or a copies control
    assert set(by_arm) == {
        ("run X", "c"),
        ("run X", "share0.5-finish2"),
        ("run X", "topup-selected"),
        ("run X", "topup-sampler"),
        ("run X", "share0.25"),
        ("run X, longer", "share0.25"),
    }
    assert by_arm[("run X", "share0.5-finish2")]["control"] == "share0.5-copies-finish2"
    assert by_arm[("run X", "topup-selected")]["control"] == "topup-copies"
    assert by_arm[("run X", "topup-sampler")]["control"] is None  # no topup-sampler-copies was run
    assert by_arm[("run X", "c")]["vs_b"]["seed_high"] == -0.08
    assert by_arm[("run X, longer", "share0.25")]["judge_auroc"] == 0.9  # the set's judge, from the run that made it
    assert by_arm[("run X, longer", "share0.25")]["vs_b"] is None

    text = script.markdown(rows, runs)
    line = next(x for x in text.splitlines() if x.startswith("| run X | share0.5-finish2 |"))
    cells = [c.strip() for c in line.split("|")]
    assert cells[6].startswith("**+0.030 [+0.010, +0.050]; seeds [+0.005, +0.060]**")  # both intervals above 0
    assert not cells[7].startswith("**")  # the test-image interval is above 0, the seeds' is not: not bold
    single = next(x for x in text.splitlines() if x.startswith("| run X | share0.25 |"))
    assert "| +0.050 [+0.020, +0.080] |" in single  # above 0 on the test images alone: not bold
    assert "6 comparisons of a generated arm with b: **1 above b** on both intervals; 0 above its copies" in text

    script.plot(rows, tmp_path / "summary.png")
    with Image.open(tmp_path / "summary.png") as image:
        assert image.size[0] > 500 and len(np.unique(np.asarray(image.convert("L")))) > 10


def test_the_committed_summary_is_what_the_committed_reports_give() -> None:
    script = load_benchmark("evidence_summary")
    assert script.markdown(script.comparisons(script.RESULTS)) == (script.RESULTS / "summary.md").read_text()
