"""A write that fails (file-size limit: every write past LIMIT bytes fails with EFBIG, like a full disk).

Each command must stop with exit status 1 and one `skinaug: error:` line naming the file and the problem,
leave every file that existed before byte-identical (atomic writes), and leave nothing half-written; a
re-run without the limit must then finish normally.
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Callable

import pytest

from skinaug import atomic
from skinaug.errors import SkinaugError, describe_os_error
from skinaug.generators.augment import AugmentConfig, augment
from skinaug.generators.config import load_config
from skinaug.generators.training import TrainOptions, train_generator
from skinaug.prepare import prepare_dataset
from skinaug.splits import SplitConfig

from .conftest import TEMP_FILE, assert_one_line_error, copy_tree, run_cli, snapshot


def file_size_limit(limit: int) -> Callable[[], None]:
    """preexec_fn for the child: no file may grow past `limit` bytes; SIGXFSZ ignored so write() fails with EFBIG."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def run_on_full_disk(limit: int, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run `skinaug ARGS` with a file-size limit of `limit` bytes."""
    return run_cli(*args, preexec_fn=file_size_limit(limit))


def temporaries(folder: Path) -> list[Path]:
    """Atomic-write temporaries and scratch checkpoint folders below `folder` (a failed write must remove them)."""
    return [p for p in folder.rglob("*") if TEMP_FILE.match(p.name) or p.name.endswith((".partial", ".deleting"))]


def test_prepare_keeps_the_previous_work_directory(
    phantom_root: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    expected(
        "full disk",
        "prepare into an earlier work directory: exit 1 naming manifest.csv; the earlier work directory byte-identical",
    )
    work = tmp_path / "work"
    prepare_dataset("ham10000", phantom_root, work, progress=False)
    before = snapshot(work)
    result = run_on_full_disk(1024, "prepare", "--format", "ham10000", phantom_root, "--out", work, "--seed", "1")
    assert_one_line_error(result, str(work / "manifest.csv"), "File too large", "previous content kept")
    assert snapshot(work) == before and not temporaries(work)
    prepare_dataset("ham10000", phantom_root, work, SplitConfig(seed=1), progress=False)
    assert snapshot(work) != before  # the same command without the limit does write (the seed changes the split)


def test_measure_keeps_the_previous_measurements(
    measured_work: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    expected(
        "full disk",
        "measure failing at features.csv or at its cache: exit 1 naming the file; earlier measurements byte-identical",
    )
    work = copy_tree(measured_work, tmp_path / "work")
    before = snapshot(work)
    result = run_on_full_disk(4096, "measure", work, "--workers", "1")  # every image cached: features.csv fails
    assert_one_line_error(result, str(work / "measurements" / "features.csv"), "File too large")
    assert snapshot(work) == before and not temporaries(work)
    fresh_cache = run_on_full_disk(1024, "measure", work, "--workers", "1", "--cache-dir", tmp_path / "cache")
    assert_one_line_error(fresh_cache, str(tmp_path / "cache"), ".json", "File too large")
    assert snapshot(work) == before and not temporaries(tmp_path)


def test_augment_keeps_every_finished_image(
    measured_work: Path, trained_generator: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    expected(
        "full disk",
        "augment topping up a set: exit 1 naming the image; finished images kept, no manifest "
        "until the set is whole; a re-run completes it",
    )
    out = tmp_path / "syn"
    augment(measured_work, trained_generator, out, AugmentConfig(per_class=1, batch_size=4), progress=False)
    images = snapshot(out, skip=("manifest.csv", "grid.png", "synthetic.json", "images/metadata.csv"))
    result = run_on_full_disk(
        1024,
        "augment",
        measured_work,
        "--generator",
        trained_generator,
        "--out",
        out,
        "--batch-size",
        "4",
        "--per-class",
        "2",
    )  # a 32 px mask fits, a 32 px image does not
    assert_one_line_error(result, str(out / "images"), ".png", "File too large")
    assert (
        snapshot(out, skip=("manifest.csv", "grid.png", "synthetic.json", "images/metadata.csv")).items()
        >= images.items()
    )
    assert not temporaries(out)
    assert not (out / "manifest.csv").exists(), "a set being topped up has no manifest until it is complete"
    syn, made = augment(measured_work, trained_generator, out, AugmentConfig(per_class=2, batch_size=4), progress=False)
    assert len(syn.manifest) == 14 and made == 7


def test_train_generator_keeps_the_tokenizer_checkpoint(
    measured_work: Path, micro2_config: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    expected(
        "full disk",
        "train-generator failing to write its first transformer checkpoint: exit 1 naming it; "
        "the tokenizer checkpoints and other files unchanged; a re-run finishes",
    )
    out = tmp_path / "gen"
    config = load_config(str(micro2_config))
    train_generator(measured_work, out, config, TrainOptions(stage="tokenizer", device="cpu", progress=False))
    before = snapshot(out)
    # the transformer stage writes its token cache (OUT/cache/tokens-*, derived and keyed) before the checkpoint
    result = run_on_full_disk(
        100_000,
        "train-generator",
        measured_work,
        "--config",
        micro2_config,
        "--out",
        out,
        "--device",
        "cpu",
        "--stage",
        "transformer",
    )  # its weights are larger than the limit
    assert_one_line_error(result, str(out / "transformer" / "step0000002"), "File too large", "previous one kept")
    assert snapshot(out, skip=("cache/tokens-",)) == before and not temporaries(out)
    train_generator(measured_work, out, config, TrainOptions(stage="transformer", device="cpu", progress=False))
    assert (out / "transformer" / "LATEST").read_text().strip() == "step0000002"


def test_train_generator_failing_at_its_first_files_can_simply_be_rerun(
    measured_work: Path, micro2_config: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    expected(
        "full disk",
        "train-generator failing at class_means.json: exit 1 naming it; config.json is written "
        "last, so the same command simply runs again",
    )
    out = tmp_path / "gen"
    means = measured_work / "measurements" / "class_means.json"
    scaler_size = (measured_work / "measurements" / "scaler.json").stat().st_size
    limit = (scaler_size + means.stat().st_size) // 2
    assert micro2_config.stat().st_size < scaler_size < limit < means.stat().st_size
    command = ("train-generator", measured_work, "--config", micro2_config, "--out", out, "--device", "cpu")
    result = run_on_full_disk(limit, *command)  # scaler.json fits, class_means.json does not
    assert_one_line_error(result, str(out / "class_means.json"), "File too large")
    assert not (out / "config.json").exists(), "config.json marks a generator folder: it must come last"
    # the same run again, without --resume: the folder holds no generator yet
    train_generator(measured_work, out, load_config(str(micro2_config)), TrainOptions(device="cpu", progress=False))
    assert (out / "class_means.json").read_bytes() == means.read_bytes()


def test_bench_classifier_decoded_image_cache(
    measured_work: Path, tmp_path: Path, expected: Callable[[str, str], None]
) -> None:
    expected(
        "full disk",
        "bench-classifier failing at its decoded-image cache: exit 1 naming the .npy file; no "
        "half-written cache, work directory unchanged",
    )
    work = copy_tree(measured_work, tmp_path / "work")
    shutil.rmtree(work / "measurements")
    before = snapshot(work)
    out = tmp_path / "bench"
    result = run_on_full_disk(
        8192,
        "bench-classifier",
        work,
        "--arch",
        "resnet18",
        "--image-size",
        "32",
        "--epochs",
        "1",
        "--seeds",
        "1",
        "--arms",
        "a",
        "--workers",
        "0",
        "--device",
        "cpu",
        "--out",
        out,
    )
    assert_one_line_error(result, str(out / "decoded"), ".npy", "File too large")
    assert snapshot(work) == before and not temporaries(tmp_path)
    assert not list((out / "decoded").glob("*")), "a half-written decoded-image cache was left"


def test_no_space_left_is_called_disk_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expected: Callable[[str, str], None]
) -> None:
    expected(
        "full disk",
        "ENOSPC (which a file-size limit cannot produce) is reported as 'disk full', naming the "
        "file, by atomic writes and by the CLI's OSError line; the earlier file kept",
    )
    target = tmp_path / "manifest.csv"
    target.write_text("earlier\n")

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    with pytest.raises(SkinaugError, match=r"manifest.csv: could not write \(disk full \(No space left on device\)\)"):
        atomic.write_text(target, "new\n")
    assert target.read_text() == "earlier\n" and [p.name for p in tmp_path.iterdir()] == ["manifest.csv"]
    error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    assert describe_os_error(error) == f"{target}: disk full (No space left on device)"
