"""benchmarks/inter_source_effect.py: an inter item's verdict is scored against its requested and its source's class."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from skinaug.classifiers.models import create_classifier
from skinaug.classifiers.saved import save_classifier
from skinaug.labels import CLASSES
from skinaug.manifest import load_prepared
from skinaug.phantoms import PhantomConfig, make_phantoms
from skinaug.prepare import prepare_dataset
from skinaug.synthetic import write_copy_set

from ..conftest import load_benchmark


def test_recall_source_share_and_the_split_by_source_class() -> None:
    table = pd.DataFrame(
        {
            "requested": ["akiec"] * 4 + ["bcc"] * 2,
            "source": ["nv", "nv", "mel", "mel", "nv", "nv"],
            "judged": ["akiec", "nv", "akiec", "bcc", "nv", "nv"],
            "source_judged": ["nv", "bkl", "mel", "mel", "nv", "nv"],
        }
    )
    rows = load_benchmark("inter_source_effect").summarise(table)
    akiec, bcc = rows["akiec"], rows["bcc"]
    assert akiec["n"] == 4 and akiec["recall"] == 0.5
    assert akiec["judged_as_source"] == 0.25  # one of four named nv, its source's class
    assert akiec["sources_recognised"] == 0.75
    assert akiec["recall_by_source"] == {"mel": 0.5, "nv": 0.5}
    assert akiec["n_by_source"] == {"nv": 2, "mel": 2}
    assert bcc["recall"] == 0.0 and bcc["judged_as_source"] == 1.0
    assert set(rows) == {"akiec", "bcc", "all"}  # classes without items are left out, not scored 0
    assert rows["all"]["recall"] == pytest.approx(0.25)  # the mean over classes, not over items (3/6)
    assert rows["all"]["n"] == 6


def test_verdicts_name_each_items_requested_and_source_class(tmp_path: Path) -> None:
    make_phantoms(tmp_path / "ph", PhantomConfig(n=42, seed=1, width=64, height=48), progress=False)
    prepare_dataset("ham10000", tmp_path / "ph", tmp_path / "work", progress=False)
    write_copy_set(tmp_path / "work", tmp_path / "set", per_class=2, progress=False)
    manifest_file = tmp_path / "set" / "manifest.csv"
    items = pd.read_csv(manifest_file)
    truth = load_prepared(tmp_path / "work").manifest.set_index("image_id")["label"]
    source_class = truth.loc[items["source_image_id"]].to_numpy()
    requested = [CLASSES[(CLASSES.index(c) + 1) % len(CLASSES)] for c in source_class]  # always another class
    items.assign(mode="inter", label=requested).to_csv(manifest_file, index=False)
    torch.manual_seed(0)
    model, _ = create_classifier("resnet18", len(CLASSES))
    save_classifier(tmp_path / "judge", model.eval(), "resnet18", 32, trained_on="nothing (random weights, tests)")
    bench = load_benchmark("inter_source_effect")
    table = bench.verdicts(tmp_path / "work", tmp_path / "set", tmp_path / "judge")
    assert len(table) == 14
    assert table["requested"].tolist() == requested
    assert table["source"].tolist() == source_class.tolist()
    assert set(table["judged"]) <= set(CLASSES) and set(table["source_judged"]) <= set(CLASSES)
    rows = bench.summarise(table)
    assert all(rows[c]["judged_as_source"] + rows[c]["recall"] <= 1.0 for c in CLASSES)  # never both classes


def test_a_set_without_inter_items_is_refused_in_one_line(tmp_path: Path) -> None:
    make_phantoms(tmp_path / "ph", PhantomConfig(n=42, seed=1, width=64, height=48), progress=False)
    prepare_dataset("ham10000", tmp_path / "ph", tmp_path / "work", progress=False)
    write_copy_set(tmp_path / "work", tmp_path / "set", per_class=1, progress=False)
    save_classifier(tmp_path / "judge", create_classifier("resnet18", len(CLASSES))[0].eval(), "resnet18", 32)
    with pytest.raises(SystemExit, match="no inter-class items"):
        load_benchmark("inter_source_effect").verdicts(tmp_path / "work", tmp_path / "set", tmp_path / "judge")
