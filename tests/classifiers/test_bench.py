"""`bench-classifier` end to end on phantoms: report files, resume, leakage guards, cross-dataset test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
from click.testing import CliRunner

from skinaug.classifiers import bench as bench_module
from skinaug.classifiers.bench import BenchConfig, bench_classifier
from skinaug.classifiers.train import TrainConfig
from skinaug.cli import main
from skinaug.errors import SkinaugError
from skinaug.phantoms import PhantomConfig, make_phantoms
from skinaug.prepare import prepare_dataset
from skinaug.synthetic import write_copy_set

TINY = TrainConfig(arch="test_resnet", image_size=32, epochs=2, batch_size=16, workers=0, patience=2)


@pytest.fixture(scope="module")
def phantom_work(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("bench")
    make_phantoms(root / "ph", PhantomConfig(n=84, seed=1, width=64, height=48), progress=False)
    prepare_dataset("ham10000", root / "ph", root / "work", progress=False)
    write_copy_set(root / "work", root / "syn", per_class=3, progress=False)
    make_phantoms(root / "ph_ext", PhantomConfig(n=35, seed=2, width=64, height=48), progress=False)
    prepare_dataset("ham10000", root / "ph_ext", root / "ext", progress=False)
    ext = pd.read_csv(root / "ext" / "manifest.csv", dtype=str, keep_default_na=False)
    ext["image_id"] = "EXT_" + ext["image_id"]  # phantom ids restart at 0; real data sets have their own ids
    ext[ext["label"].isin(["mel", "nv"])].to_csv(root / "ext" / "manifest.csv", index=False)  # like PH2
    return {"root": root, "work": root / "work", "syn": root / "syn", "ext": root / "ext"}


def test_cli_run_writes_every_promised_file_and_resumes(
    phantom_work: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = phantom_work["root"] / "out"
    args = [
        "bench-classifier",
        str(phantom_work["work"]),
        "--synthetic",
        str(phantom_work["syn"]),
        "--arch",
        "test_resnet",
        "--image-size",
        "32",
        "--epochs",
        "2",
        "--seeds",
        "2",
        "--batch-size",
        "16",
        "--workers",
        "0",
        "--shortcut-steps",
        "5",
        "--select-epoch",
        "last",
        "--test-manifest",
        str(phantom_work["ext"]),
        "--out",
        str(out),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("mean recall on real test: a ") and "report.md" in result.stdout
    for name in (
        "report.md",
        "results.json",
        "per_class_recall.png",
        "training_curves.png",
        *(f"confusion_{arm}.png" for arm in "abcd"),
    ):
        assert (out / name).stat().st_size > 0, name
    results = json.loads((out / "results.json").read_text())
    assert set(results["summary"]["arms"]) == set("abcd")
    assert len(list((out / "runs").glob("*/run.json"))) == 8
    run_c = json.loads((out / "runs" / "c_seed0" / "run.json").read_text())
    assert run_c["train_images"]["synthetic"] == 21
    assert (run_c["epoch_selection"], run_c["best_epoch"], run_c["epochs_run"]) == ("last", 2, 2)
    # what decides the float sums besides the seed is recorded per run
    assert run_c["environment"]["torch_threads"] == torch.get_num_threads()
    assert run_c["environment"]["torch"] == torch.__version__ and run_c["environment"]["device_name"].startswith("CPU")
    assert (out / "runs" / "a_seed0" / "model.safetensors").exists()
    report = (out / "report.md").read_text()
    assert "real test images only" in report and "from scratch" in report
    assert "each run keeps its last epoch" in report
    assert results["meta"]["shared_classes"] == ["mel", "nv"]
    assert "ross-dataset" in report

    def must_not_train(*args, **kwargs):  # noqa: ANN002, ANN003
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(bench_module, "train_classifier", must_not_train)
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 0, again.output
    assert json.loads((out / "results.json").read_text())["summary"]["arms"] == results["summary"]["arms"]


def test_an_interrupted_benchmark_keeps_finished_runs(
    phantom_work: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = phantom_work["root"] / "interrupted"
    original = bench_module.train_classifier
    calls = {"n": 0}

    def dies_on_second_run(*args, **kwargs):  # noqa: ANN002, ANN003
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(bench_module, "train_classifier", dies_on_second_run)
    config = BenchConfig(train=TINY, seeds=1, arms="ab")
    with pytest.raises(KeyboardInterrupt):
        bench_classifier(phantom_work["work"], out, config, progress=False)
    assert (out / "runs" / "a_seed0" / "run.json").exists() and not (out / "runs" / "b_seed0").exists()
    monkeypatch.setattr(bench_module, "train_classifier", original)
    summary = bench_classifier(phantom_work["work"], out, config, progress=False).as_dict()
    assert set(summary["summary"]["arms"]) == {"a", "b"}


def test_a_time_budget_stops_new_runs_reports_them_and_a_rerun_adds_them(
    phantom_work: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    out = phantom_work["root"] / "budget"
    original = bench_module.train_classifier
    clock = {"now": 0.0, "trained": []}

    def one_run_spends_the_budget(*args, **kwargs):  # noqa: ANN002, ANN003
        clock["trained"].append(kwargs["desc"])
        result = original(*args, **kwargs)
        clock["now"] += 120.0  # two minutes per run against a one-minute budget
        return result

    monkeypatch.setattr(bench_module, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(bench_module, "train_classifier", one_run_spends_the_budget)
    budgeted = BenchConfig(train=TINY, seeds=2, arms="ab", shortcut=None, time_budget=1.0)
    report = bench_classifier(phantom_work["work"], out, budgeted, progress=False)
    assert clock["trained"] == ["arm a seed 0"]  # the budget is checked before each run, never mid-run
    results = json.loads((out / "results.json").read_text())
    assert results["meta"]["not_run"] == ["b_seed0", "a_seed1", "b_seed1"]
    assert set(results["summary"]["arms"]) == {"a"}
    assert "b_seed0, a_seed1, b_seed1" in (out / "report.md").read_text()
    assert any("time budget" in n for n in report.notices)
    clock["trained"].clear()
    full = bench_classifier(
        phantom_work["work"], out, BenchConfig(train=TINY, seeds=2, arms="ab", shortcut=None), progress=False
    )
    assert clock["trained"] == ["arm b seed 0", "arm a seed 1", "arm b seed 1"]  # seed by seed, finished ones kept
    assert "not_run" not in json.loads((out / "results.json").read_text())["meta"]
    assert {a: v["n_runs"] for a, v in full.as_dict()["summary"]["arms"].items()} == {"a": 2, "b": 2}


def test_synthetic_made_from_test_images_is_refused(phantom_work: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    leaky = tmp_path / "leaky"
    shutil.copytree(phantom_work["syn"], leaky)
    manifest = pd.read_csv(leaky / "manifest.csv", dtype=str, keep_default_na=False)
    real = pd.read_csv(phantom_work["work"] / "manifest.csv", dtype=str, keep_default_na=False)
    test_image = real.loc[real["split"] == "test", "image_id"].iloc[0]
    manifest.loc[0, "source_image_id"] = test_image
    manifest.to_csv(leaky / "manifest.csv", index=False)
    config = BenchConfig(train=TINY, seeds=1, arms="c", synthetic=str(leaky))
    with pytest.raises(SkinaugError, match=f"{test_image}.*test split"):
        bench_classifier(phantom_work["work"], tmp_path / "out", config, progress=False)


def test_bad_arms_are_refused(phantom_work: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(SkinaugError, match="--arms 'xz'"):
        bench_classifier(phantom_work["work"], tmp_path / "o", BenchConfig(train=TINY, arms="xz"), progress=False)


def test_arm_d_without_imbalanced_learn_is_refused_before_any_arm_trains(
    phantom_work: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "imblearn.over_sampling", None)  # as if not installed: importing it fails
    monkeypatch.setattr(bench_module, "train_classifier", lambda *a, **k: pytest.fail("an arm trained"))
    with pytest.raises(SkinaugError, match="arm d \\(random oversampling\\) needs imbalanced-learn"):
        bench_classifier(phantom_work["work"], tmp_path / "o", BenchConfig(train=TINY, arms="abd"), progress=False)


def test_resuming_with_other_settings_is_refused(phantom_work: dict[str, Path]) -> None:
    out = phantom_work["root"] / "interrupted"  # holds runs of TINY from the test above, or is made now
    bench_classifier(phantom_work["work"], out, BenchConfig(train=TINY, seeds=1, arms="a"), progress=False)
    other = TrainConfig(**{**TINY.__dict__, "epochs": 3})
    with pytest.raises(SkinaugError, match="other settings \\(train differ\\)"):
        bench_classifier(phantom_work["work"], out, BenchConfig(train=other, seeds=1, arms="a"), progress=False)
    assert json.loads((out / "runs" / "a_seed0" / "run.json").read_text())["epoch_selection"] == "val"
    # a folder made before the epoch-selection setting existed: it ran at the default ("val"), and resumes so
    recorded = json.loads((out / "bench_config.json").read_text())
    del recorded["train"]["select"]
    (out / "bench_config.json").write_text(json.dumps(recorded))
    bench_classifier(phantom_work["work"], out, BenchConfig(train=TINY, seeds=1, arms="a"), progress=False)
    last = TrainConfig(**{**TINY.__dict__, "select": "last"})
    with pytest.raises(SkinaugError, match="other settings \\(train differ\\)"):
        bench_classifier(phantom_work["work"], out, BenchConfig(train=last, seeds=1, arms="a"), progress=False)


def test_a_cross_dataset_set_holding_the_training_images_is_refused(phantom_work: dict[str, Path]) -> None:
    root = phantom_work["root"]
    prepare_dataset("ham10000", root / "ph", root / "same_images", progress=False)  # e.g. ISIC 2018 vs HAM10000
    config = BenchConfig(train=TINY, seeds=1, arms="a", test_manifest=str(root / "same_images"))
    with pytest.raises(SkinaugError, match="no image left"):
        bench_classifier(phantom_work["work"], root / "o_same", config, progress=False)
    with pytest.raises(SkinaugError, match="is the training work directory itself"):
        bench_classifier(
            phantom_work["work"],
            root / "o_self",
            BenchConfig(train=TINY, seeds=1, arms="a", test_manifest=str(phantom_work["work"])),
            progress=False,
        )
    assert not (root / "o_same" / "bench_config.json").exists()  # nothing locked by a refused run


def test_new_arms_record_their_draws_shortcut_risk_selection_and_control(
    phantom_work: dict[str, Path], tmp_path: Path
) -> None:
    from skinaug.classifiers.shortcut import ShortcutConfig

    out = tmp_path / "mix"
    config = BenchConfig(
        train=TINY,
        seeds=1,
        arms="a,c,c-copies,topup,share0.5-selected,share0.5,share0.5-finish1",
        synthetic=str(phantom_work["syn"]),
        top_up_to=10,
        shortcut=ShortcutConfig(arch="test_resnet", steps=3, batch_size=8),
    )
    results = bench_classifier(phantom_work["work"], out, config, progress=False)
    arms = results.summary["arms"]
    assert {"a", "b", "c", "c-copies", "topup", "share0.5-selected"} <= set(arms)  # b added: the selection judge
    draws = {a: json.loads((out / "runs" / f"{a}_seed0" / "run.json").read_text())["draws"] for a in arms}
    assert draws["a"]["all"]["synthetic_draws"] == 0 and draws["b"]["all"]["synthetic_draws"] == 0
    assert draws["c"]["all"]["synthetic_draws"] > 0 and draws["c-copies"]["all"]["synthetic_draws"] > 0
    selected = json.loads((out / "selection.json").read_text())
    assert 0 <= selected["kept"] <= selected["requested"] == 21
    assert draws["share0.5-selected"]["all"]["synthetic_share"] <= 0.5 + 1e-9
    assert draws["share0.5-finish1"]["all"]["synthetic_draws"] > 0  # the first epoch mixes; the last is real only
    assert (out / "copy-set" / "manifest.csv").is_file()  # made for the control, same count per class
    assert "c-copies" in arms["c"]["gains"]  # generated vs its copies control, paired
    shortcut = results.meta["shortcut"]
    assert set(shortcut) == {"synthetic", "copies", "selected"}
    assert all(0.0 <= v["auroc"] <= 1.0 for v in shortcut.values() if v["auroc"] == v["auroc"])
    report = (out / "report.md").read_text()
    assert "What each batch holds" in report and "Shortcut risk" in report and "| c vs c-copies" in report
    assert "Image path" in report
    assert "the last 1 epoch(s) real only" in report
    assert "share0.5" in arms["share0.5-finish1"]["gains"]  # what ending on real images changes, paired
    assert "| share0.5-finish1 vs share0.5 (" in report
