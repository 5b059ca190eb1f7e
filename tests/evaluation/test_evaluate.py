"""`skinaug evaluate` end to end on phantoms: every promised file, labelled features, API = metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from skinaug.cli import main
from skinaug.evaluation import EvaluateConfig, evaluate
from skinaug.evaluation.judges import JudgeSettings, judge_train
from skinaug.evaluation.plots import inpainting_strips
from skinaug.labels import CLASSES
from skinaug.manifest import load_prepared
from skinaug.synthetic import load_synthetic

from .test_extractors import _random_inception_file

QUICK = ["--judge-epochs", "1", "--judge-min-steps", "0", "--judge-size", "32", "--bootstrap", "20"]
PROMISED = ("report.md", "metrics.json", "grid_real_vs_synthetic.png", "interclass.png", "embedding.png")


def test_cli_without_weights_writes_every_file_and_labels_domain_features(
    eval_workdir: Path, copy_set: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty-hub"))  # no cached Inception weights
    out = tmp_path / "ev"
    result = CliRunner().invoke(
        main, ["evaluate", str(eval_workdir), "--synthetic", str(copy_set), "--out", str(out), *QUICK]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1 and result.stdout.startswith("evaluate: FID (domain features)")
    assert result.stderr.count("no Inception weights") == 1
    for name in PROMISED:
        assert (out / name).stat().st_size > 0, name
    for png in PROMISED[2:]:
        with Image.open(out / png) as image:
            assert image.size[0] > 200 and image.size[1] > 100
    metrics = json.loads((out / "metrics.json").read_text())
    report = (out / "report.md").read_text()
    assert metrics["extractor"]["label"] == "domain features"
    assert "FID (domain features)" in report and "KID×1000 (domain features)" in report
    assert metrics["counts"]["synthetic"] == {c: 8 for c in CLASSES}
    assert set(metrics["per_class"]) == set(CLASSES)
    assert metrics["overall"]["fid"] is not None and metrics["overall"]["fid"] >= 0
    low, high = metrics["overall"]["fid_ci"]
    assert low <= high
    assert len(metrics["interclass"]["fid"]) == 7 and all(len(row) == 7 for row in metrics["interclass"]["fid"])
    assert 0 <= metrics["cas"]["trained_on_synthetic"]["mean_recall"] <= 1
    assert any("real reference image" in w for w in metrics["warnings"])  # tiny classes are flagged
    assert (out / "judge-real" / "model.safetensors").is_file()


def test_python_api_returns_the_numbers_of_metrics_json_and_reuses_its_judge(
    eval_workdir: Path, copy_set: Path, random_classifier: Path, tmp_path: Path
) -> None:
    config = EvaluateConfig(reference_split="val", classifier=str(random_classifier), bootstrap=10, cas=False)
    out = tmp_path / "api"
    metrics = evaluate(eval_workdir, copy_set, out, config, progress=False).metrics
    assert metrics == json.loads((out / "metrics.json").read_text())
    assert metrics["reference_split"] == "val" and metrics["cas"] is None
    assert "random weights" in metrics["conditioning"]["judge"]
    assert not (out / "judge-real").exists()  # the given classifier was used, none was trained


def test_local_inception_weights_are_used_and_named(
    eval_workdir: Path, copy_set: Path, tmp_path: Path, random_classifier: Path
) -> None:
    weights = _random_inception_file(tmp_path / "inception.safetensors")
    config = EvaluateConfig(
        inception_weights=str(weights), classifier=str(random_classifier), bootstrap=5, cas=False, kid_subsets=10
    )
    metrics = evaluate(eval_workdir, copy_set, tmp_path / "inc", config, progress=False).metrics
    assert metrics["extractor"]["label"] == "Inception-v3" and metrics["extractor"]["fid_layer"] == "2048"
    assert "FID (Inception-v3)" in (tmp_path / "inc" / "report.md").read_text()


def test_bad_reference_split_and_foreign_synthetic_set_are_refused(
    eval_workdir: Path, copy_set: Path, tmp_path: Path
) -> None:
    bad = CliRunner().invoke(
        main, ["evaluate", str(eval_workdir), "--synthetic", str(copy_set), "--reference-split", "holdout"]
    )
    assert bad.exit_code == 2 and "holdout" in bad.output
    other = tmp_path / "other"
    other.mkdir()
    manifest = (eval_workdir / "manifest.csv").read_text()
    (other / "manifest.csv").write_text(
        manifest.replace(",train,", ",tmp,").replace(",test,", ",train,").replace(",tmp,", ",test,")
    )  # the same images, split otherwise
    (other / "dataset.json").write_bytes((eval_workdir / "dataset.json").read_bytes())
    refused = CliRunner().invoke(main, ["evaluate", str(other), "--synthetic", str(copy_set), *QUICK])
    assert refused.exit_code == 1 and "made from another split" in refused.stderr


def test_inpainting_strips_show_source_mask_and_result(eval_workdir: Path, copy_set: Path, tmp_path: Path) -> None:
    syn = load_synthetic(copy_set)
    assert not inpainting_strips(tmp_path / "none.png", syn, load_prepared(eval_workdir))  # copies: no strips
    syn.manifest["mode"] = ["intra" if i % 2 else "inter" for i in range(len(syn.manifest))]
    assert inpainting_strips(tmp_path / "strips.png", syn, load_prepared(eval_workdir), count=4)
    with Image.open(tmp_path / "strips.png") as image:
        assert image.size == (110 + 3 * 64, 14 + 4 * 64)  # 4 rows: source | mask | result


def test_the_real_judge_is_recorded_and_reused_on_a_rerun(eval_workdir: Path, copy_set: Path, tmp_path: Path) -> None:
    config = EvaluateConfig(
        judge=JudgeSettings(judge_train(image_size=32, epochs=1), min_steps=0), bootstrap=0, cas=False
    )
    metrics = evaluate(eval_workdir, copy_set, tmp_path / "j", config, progress=False).metrics
    assert metrics["config"]["judge"]["train"]["image_size"] == 32
    assert metrics["overall"]["fid_ci"] == [None, None]  # no bootstrap asked
    saved = json.loads((tmp_path / "j" / "judge-real" / "model.json").read_text())
    assert saved["trained_on"] == "the real train split" and saved["settings"]["epochs"] == 1
    weights = tmp_path / "j" / "judge-real" / "model.safetensors"
    before = weights.stat().st_mtime_ns
    again = evaluate(eval_workdir, copy_set, tmp_path / "j", config, progress=False).metrics
    assert weights.stat().st_mtime_ns == before and again["overall"] == metrics["overall"]
