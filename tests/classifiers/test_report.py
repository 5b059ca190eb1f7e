"""The benchmark report: load_runs, summarise and write_report on synthesised run folders."""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skinaug.atomic import write_json
from skinaug.classifiers.arms import ARMS
from skinaug.classifiers.metrics import classification_metrics
from skinaug.classifiers.report import write_report
from skinaug.classifiers.runs import IncompleteRunWarning, load_runs
from skinaug.classifiers.summary import summarise
from skinaug.errors import SkinaugError
from skinaug.labels import CLASSES

K = len(CLASSES)
PRIOR = np.array([0.05, 0.07, 0.12, 0.03, 0.12, 0.56, 0.05])
SKILL = {"a": 0.35, "b": 0.45, "c": 0.75}  # arm c has a built-in advantage
N_TEST = 400
META = {
    "dataset": "ham10000",
    "workdir": "/data/work",
    "architecture": "resnet18",
    "image_size": 128,
    "weights": "/models/resnet18_imagenet.safetensors",
    "seeds": 2,
    "device": "cuda",
    "device_name": "NVIDIA H100",
    "train_config": {"epochs": 5, "arch": "resnet18", "batch_size": 64},
    "skinaug_version": "0.1.0",
}


def _save_run(
    out: Path, arm: str, seed: int, y: np.ndarray, ids: np.ndarray, rng: np.random.Generator, epochs: int = 5
) -> None:
    folder = out / "runs" / f"{arm}_seed{seed}"
    folder.mkdir(parents=True)
    proba = rng.dirichlet(np.ones(K), size=y.size)
    hit = rng.random(y.size) < SKILL[arm]
    proba[hit, y[hit]] += 1.0
    proba = (proba / proba.sum(axis=1, keepdims=True)).astype(np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, y_true=y.astype(np.int64), proba=proba, image_ids=ids)
    (folder / "predictions.npz").write_bytes(buffer.getvalue())
    history = [
        {"epoch": e, "train_loss": 2.0 / e + 0.1 * seed, "val_mean_recall": SKILL[arm] * (1 - 0.5 / e), "lr": 1e-3}
        for e in range(1, epochs + 1)
    ]
    write_json(
        folder / "run.json",
        {
            "arm": arm,
            "arm_name": ARMS[arm],
            "seed": seed,
            "best_epoch": epochs - 1,
            "epochs_run": epochs,
            "seconds": 61.5 + seed,
            "train_images": {"real": 1000, "synthetic": 500 if arm == "c" else 0},
            "history": history,
            "test_set": "real test split",
        },
    )


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory) -> Path:
    """3 arms x 2 seeds on one shared real test set, plus one incomplete run folder."""
    out = tmp_path_factory.mktemp("bench")
    rng = np.random.default_rng(0)
    y = rng.choice(K, size=N_TEST, p=PRIOR)
    ids = np.array([f"ISIC_{i:07d}" for i in range(N_TEST)])
    for seed in range(2):
        for arm in "abc":
            _save_run(out, arm, seed, y, ids, rng)
    (out / "runs" / "a_seed2").mkdir()
    write_json(out / "runs" / "a_seed2" / "run.json", {"arm": "a", "seed": 2})  # no predictions yet
    return out


@pytest.fixture(scope="module")
def written(bench_out: Path) -> dict:
    with pytest.warns(IncompleteRunWarning, match="a_seed2"):
        runs = load_runs(bench_out)
    results = write_report(bench_out, runs, META, n_boot=500).as_dict()
    return results


def test_load_runs_skips_incomplete_with_warning(bench_out: Path):
    with pytest.warns(IncompleteRunWarning, match=r"a_seed2.*predictions\.npz"):
        runs = load_runs(bench_out)
    assert [(r["arm"], r["seed"]) for r in runs] == [(a, s) for a in "abc" for s in (0, 1)]
    run = runs[0]
    assert run["name"] == "a_seed0" and run["arm_name"] == "real only"
    assert run["proba"].shape == (N_TEST, K) and run["y_true"].dtype == np.int64
    assert run["image_ids"][0] == "ISIC_0000000" and run["external"] is None


def test_load_runs_of_missing_folder_is_empty(tmp_path: Path):
    assert load_runs(tmp_path) == []


def test_every_promised_file_exists(bench_out: Path, written: dict):
    for name in (
        "results.json",
        "report.md",
        "confusion_a.png",
        "confusion_b.png",
        "confusion_c.png",
        "per_class_recall.png",
        "training_curves.png",
    ):
        assert (bench_out / name).is_file(), name
    assert not list(bench_out.glob(".*.tmp"))


def test_results_json_structure(bench_out: Path, written: dict):
    results = json.loads((bench_out / "results.json").read_text())
    assert set(results) == {"meta", "summary", "runs"}
    assert results["meta"]["architecture"] == "resnet18"
    summary = results["summary"]
    assert summary["arm_order"] == ["a", "b", "c"]
    assert summary["seeds"] == [0, 1]
    assert summary["test_set"]["n_images"] == N_TEST and summary["test_set"]["same_images_across_seeds"]
    assert len(results["runs"]) == 6
    for arm in "abc":
        info = summary["arms"][arm]
        assert info["arm_name"] == ARMS[arm] and info["seeds"] == [0, 1]
        for metric in ("mean_recall", "balanced_accuracy", "accuracy", "macro_f1", "gmean", "auroc_macro"):
            assert set(info["metrics"][metric]) == {"mean", "std", "values"}
            assert len(info["metrics"][metric]["values"]) == 2
        assert set(info["per_class_recall"]) == set(CLASSES)
        assert np.sum(info["confusion_sum"]) == 2 * N_TEST
    assert set(summary["arms"]["a"]["gains"]) == set()
    assert set(summary["arms"]["b"]["gains"]) == {"a"}
    assert set(summary["arms"]["c"]["gains"]) == {"a", "b"}
    for key in ("gain", "ci_low", "ci_high", "p_le_0", "n_boot"):
        assert key in summary["arms"]["c"]["gains"]["a"]["mean_recall"]
        assert key in summary["arms"]["c"]["gains"]["a"]["balanced_accuracy"]
    assert set(summary["arms"]["c"]["per_class_recall_delta_vs_a"]) == set(CLASSES)


def test_summary_numbers_are_consistent(bench_out: Path, written: dict):
    with pytest.warns(IncompleteRunWarning):
        runs = load_runs(bench_out)
    summary = written["summary"]
    values = [classification_metrics(r["y_true"], r["proba"])["mean_recall"] for r in runs if r["arm"] == "c"]
    stats = summary["arms"]["c"]["metrics"]["mean_recall"]
    assert stats["mean"] == pytest.approx(np.mean(values))
    assert stats["std"] == pytest.approx(np.std(values, ddof=1))
    gain = summary["arms"]["c"]["gains"]["a"]["mean_recall"]
    assert gain["gain"] == pytest.approx(stats["mean"] - summary["arms"]["a"]["metrics"]["mean_recall"]["mean"])
    assert gain["ci_low"] > 0  # the built-in advantage of arm c is detected
    assert gain["p_le_0"] == 0.0
    recall_a = [classification_metrics(r["y_true"], r["proba"])["mean_recall"] for r in runs if r["arm"] == "a"]
    over_seeds = gain["over_seeds"]  # seed s of c against seed s of a
    assert over_seeds["differences"] == pytest.approx([c - a for c, a in zip(values, recall_a)])
    assert over_seeds["n_seeds"] == 2 and over_seeds["ci_low"] < over_seeds["gain"] < over_seeds["ci_high"]
    delta = summary["arms"]["c"]["per_class_recall_delta_vs_a"]["nv"]
    assert delta == pytest.approx(
        summary["arms"]["c"]["per_class_recall"]["nv"]["mean"] - summary["arms"]["a"]["per_class_recall"]["nv"]["mean"]
    )


def test_report_md_tables_and_numbers(bench_out: Path, written: dict):
    text = (bench_out / "report.md").read_text()
    summary = json.loads((bench_out / "results.json").read_text())["summary"]
    assert text.startswith("# ")
    for needle in (
        "ham10000",
        "resnet18",
        "128 × 128 px",
        "resnet18_imagenet.safetensors",
        "NVIDIA H100",
        "real test images only",
        "0, 1",
        "up to 5",
    ):
        assert needle in text, needle
    assert "/models/" not in text  # the file name only
    for arm in "abc":
        m = summary["arms"][arm]["metrics"]
        row = (
            f"| {arm} | {ARMS[arm]} | {m['mean_recall']['mean']:.3f} ± {m['mean_recall']['std']:.3f} | "
            f"{m['balanced_accuracy']['mean']:.3f} ± {m['balanced_accuracy']['std']:.3f} | "
            f"{m['macro_f1']['mean']:.3f} ± {m['macro_f1']['std']:.3f} | "
            f"{m['gmean']['mean']:.3f} ± {m['gmean']['std']:.3f} | "
            f"{m['auroc_macro']['mean']:.3f} ± {m['auroc_macro']['std']:.3f} |"
        )
        assert row in text, row
    for arm, ref in (("b", "a"), ("c", "a"), ("c", "b")):
        gain = summary["arms"][arm]["gains"][ref]["mean_recall"]
        assert f"| {arm} vs {ref} " in text
        assert f"{gain['gain']:+.3f} | [{gain['ci_low']:+.3f}, {gain['ci_high']:+.3f}]" in text
        seeds = gain["over_seeds"]
        assert f" | [{seeds['ci_low']:+.3f}, {seeds['ci_high']:+.3f}] | 0, 1 |" in text  # the seeds' interval
    delta = summary["arms"]["c"]["per_class_recall_delta_vs_a"]["mel"]
    assert f"({delta:+.3f})" in text
    for png in ("confusion_a.png", "per_class_recall.png", "training_curves.png"):
        assert f"]({png})" in text
    for run in ("a_seed0", "c_seed1"):
        assert f"| {run} |" in text


def test_pngs_open_and_are_not_blank(bench_out: Path, written: dict):
    for name in ("confusion_a.png", "confusion_c.png", "per_class_recall.png", "training_curves.png"):
        with Image.open(bench_out / name) as image:
            image.load()
            assert image.format == "PNG"
            assert 300 <= image.width <= 1600 and 250 <= image.height <= 1200
            pixels = np.asarray(image.convert("L"))
        assert pixels.std() > 10, name
        assert len(np.unique(pixels)) > 20, name


def test_weights_from_scratch_and_single_seed(tmp_path: Path):
    rng = np.random.default_rng(1)
    y = rng.choice(K, size=120, p=PRIOR)
    ids = np.array([f"img{i}" for i in range(120)])
    _save_run(tmp_path, "a", 0, y, ids, rng, epochs=3)
    _save_run(tmp_path, "c", 0, y, ids, rng, epochs=3)
    results = write_report(tmp_path, load_runs(tmp_path), {"weights": None, "seeds": 1}, n_boot=50).as_dict()
    text = (tmp_path / "report.md").read_text()
    assert "| Weights | from scratch |" in text
    info = results["summary"]["arms"]["c"]
    assert math.isnan(info["metrics"]["mean_recall"]["std"])  # one seed: no std
    assert f"| c | {ARMS['c']} | {info['metrics']['mean_recall']['mean']:.3f} |" in text
    assert (
        json.loads((tmp_path / "results.json").read_text())["summary"]["arms"]["c"]["metrics"]["mean_recall"]["std"]
        is None
    )


def test_runs_that_selected_their_last_epoch_are_flagged(bench_out: Path, written: dict, tmp_path: Path):
    # the fixture's runs selected epoch 4 of 5: nothing to flag
    assert "selected their last epoch" not in (bench_out / "report.md").read_text()
    rng = np.random.default_rng(5)
    y = rng.choice(K, size=120, p=PRIOR)
    ids = np.array([f"img{i}" for i in range(120)])
    for arm in "ab":
        _save_run(tmp_path, arm, 0, y, ids, rng, epochs=3)
    run_json = tmp_path / "runs" / "b_seed0" / "run.json"
    write_json(run_json, {**json.loads(run_json.read_text()), "best_epoch": 3})  # val recall rose to the end
    write_report(tmp_path, load_runs(tmp_path), {"seeds": 1}, n_boot=20)
    assert "**1 of 2 runs selected their last epoch**" in (tmp_path / "report.md").read_text()


def test_runs_that_keep_their_last_epoch_by_rule_are_not_flagged(tmp_path: Path):
    rng = np.random.default_rng(5)
    y = rng.choice(K, size=120, p=PRIOR)
    ids = np.array([f"img{i}" for i in range(120)])
    for arm in "ab":
        _save_run(tmp_path, arm, 0, y, ids, rng, epochs=3)
        run_json = tmp_path / "runs" / f"{arm}_seed0" / "run.json"
        write_json(run_json, {**json.loads(run_json.read_text()), "best_epoch": 3, "epoch_selection": "last"})
    write_report(tmp_path, load_runs(tmp_path), {"seeds": 1}, n_boot=20)
    report = (tmp_path / "report.md").read_text()
    assert "selected their last epoch" not in report  # the last epoch by rule says nothing about still learning
    assert "each run keeps its last epoch" in report and "kept the last epoch" in report
    assert "the epoch is selected on the real validation images" not in report


def test_runs_from_several_environments_are_named_in_the_report(tmp_path: Path):
    # a benchmark resumed on another machine (or with other threads): the report must not name only its own
    rng = np.random.default_rng(6)
    y = rng.choice(K, size=120, p=PRIOR)
    ids = np.array([f"img{i}" for i in range(120)])
    xeon = {"device_name": "CPU (Intel Xeon, 2 cores)", "torch_threads": 1, "torch": "2.14.1"}
    epyc = {"device_name": "CPU (AMD EPYC, 2 cores)", "torch_threads": 2, "torch": "2.14.1"}
    for arm, seed, environment in (("a", 0, xeon), ("b", 0, xeon), ("a", 1, epyc)):
        _save_run(tmp_path, arm, seed, y, ids, rng, epochs=3)
        run_json = tmp_path / "runs" / f"{arm}_seed{seed}" / "run.json"
        write_json(run_json, {**json.loads(run_json.read_text()), "environment": environment})
    meta = {"seeds": 2, "device": "cpu", "device_name": "CPU (AMD EPYC, 2 cores)"}
    results = write_report(tmp_path, load_runs(tmp_path), meta, n_boot=20).as_dict()
    device_row = next(line for line in (tmp_path / "report.md").read_text().splitlines() if line.startswith("| Device"))
    assert "**runs trained in 2 environments**" in device_row
    assert "CPU (Intel Xeon, 2 cores), 1 torch thread, torch 2.14.1: 2 runs" in device_row
    assert "CPU (AMD EPYC, 2 cores), 2 torch threads, torch 2.14.1: 1 run" in device_row
    assert {r["name"]: r["environment"]["torch_threads"] for r in results["runs"]}["a_seed1"] == 2

    # one environment: named once, no warning; runs that predate the record: the report's device only
    for folder in ("a_seed1",):
        shutil.rmtree(tmp_path / "runs" / folder)
    write_report(tmp_path, load_runs(tmp_path), meta, n_boot=20)
    text = (tmp_path / "report.md").read_text()
    assert "runs trained on CPU (Intel Xeon, 2 cores), 1 torch thread" in text and "environments" not in text
    older = tmp_path / "older"
    _save_run(older, "a", 0, y, ids, rng, epochs=3)
    write_report(older, load_runs(older), meta, n_boot=20)
    assert "| Device | cpu (CPU (AMD EPYC, 2 cores)) |" in (older / "report.md").read_text()
    # a folder of older runs resumed on the same machine: one environment, the older runs counted apart
    _save_run(older, "b", 0, y, ids, rng, epochs=3)
    run_json = older / "runs" / "b_seed0" / "run.json"
    write_json(run_json, {**json.loads(run_json.read_text()), "environment": xeon})
    write_report(older, load_runs(older), meta, n_boot=20)
    text = (older / "report.md").read_text()
    assert "runs trained on CPU (Intel Xeon, 2 cores), 1 torch thread, torch 2.14.1; 1 run from before" in text
    assert "environments**" not in text


def test_runs_without_a_recorded_rule_take_their_folders(tmp_path: Path):
    rng = np.random.default_rng(6)
    y = rng.choice(K, size=60, p=PRIOR)
    ids = np.array([f"img{i}" for i in range(60)])
    _save_run(tmp_path, "b", 0, y, ids, rng, epochs=3)  # its run.json records no epoch rule
    assert "epoch_selection" not in load_runs(tmp_path)[0]  # no bench_config.json: nothing to take
    write_json(tmp_path / "bench_config.json", {"train": {"epochs": 3, "select": "last"}})
    assert load_runs(tmp_path)[0]["epoch_selection"] == "last"
    write_json(tmp_path / "bench_config.json", {"train": {"epochs": 3}})  # made before the setting existed
    assert load_runs(tmp_path)[0]["epoch_selection"] == "val"


def test_arms_of_one_seed_on_different_images_are_refused(tmp_path: Path):
    rng = np.random.default_rng(2)
    y = rng.choice(K, size=100, p=PRIOR)
    _save_run(tmp_path, "a", 0, y, np.array([f"img{i}" for i in range(100)]), rng)
    _save_run(tmp_path, "b", 0, y, np.array([f"other{i}" for i in range(100)]), rng)
    with pytest.raises(SkinaugError, match="different test images"):
        summarise(load_runs(tmp_path), n_boot=10)


def test_seeds_on_different_images_use_the_shared_ones(tmp_path: Path):
    rng = np.random.default_rng(3)
    y = rng.choice(K, size=150, p=PRIOR)
    ids = np.array([f"img{i}" for i in range(150)])
    for arm in "ac":
        _save_run(tmp_path, arm, 0, y, ids, rng)
        _save_run(tmp_path, arm, 1, y[:120], ids[:120], rng)  # seed 1 saw 120 of the images
    with pytest.warns(UserWarning, match="120 images they all share"):
        summary = summarise(load_runs(tmp_path), n_boot=50)
    assert summary["test_set"]["bootstrap_images"] == 120
    assert not summary["test_set"]["same_images_across_seeds"]
    assert summary["arms"]["c"]["gains"]["a"]["mean_recall"]["n_images"] == 120


def test_external_test_set_is_summarised_and_reported(tmp_path: Path):
    rng = np.random.default_rng(4)
    y = rng.choice(K, size=100, p=PRIOR)
    ids = np.array([f"img{i}" for i in range(100)])
    y_ext = rng.choice([1, 4, 5], size=60)  # the classes both data sets have
    for arm in "ac":
        for seed in (0, 1):
            _save_run(tmp_path, arm, seed, y, ids, rng)
            proba = np.zeros((60, K), dtype=np.float32)
            proba[:, [1, 4, 5]] = rng.dirichlet(np.ones(3), size=60)
            buffer = io.BytesIO()
            np.savez(buffer, y_true=y_ext, proba=proba, image_ids=np.array([f"ext{i}" for i in range(60)]))
            (tmp_path / "runs" / f"{arm}_seed{seed}" / "external_predictions.npz").write_bytes(buffer.getvalue())
    results = write_report(tmp_path, load_runs(tmp_path), {}, n_boot=50).as_dict()
    external = results["summary"]["external"]
    assert external["test_set"]["n_images"] == 60
    assert math.isnan(external["arms"]["a"]["per_class_recall"]["df"]["mean"])
    assert "a" in external["arms"]["c"]["gains"]
    assert "external_metrics" in results["runs"][0]
    assert "## Results on the cross-dataset test set" in (tmp_path / "report.md").read_text()


def test_unreadable_predictions_are_a_skinaug_error(tmp_path: Path):
    folder = tmp_path / "runs" / "a_seed0"
    folder.mkdir(parents=True)
    (folder / "predictions.npz").write_bytes(b"not a zip")
    write_json(folder / "run.json", {"arm": "a", "seed": 0})
    with pytest.raises(SkinaugError, match="predictions.npz"):
        load_runs(tmp_path)


def test_no_runs_is_a_skinaug_error(tmp_path: Path):
    with pytest.raises(SkinaugError, match="no complete"):
        write_report(tmp_path, [], {})
