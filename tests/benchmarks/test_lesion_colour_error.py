"""benchmarks/lesion_colour_error.py: the error is the lesion's mean-colour shift, blind to the background."""

from __future__ import annotations

import torch

from ..conftest import load_benchmark


def _images() -> tuple[torch.Tensor, torch.Tensor]:
    real = torch.full((2, 3, 8, 8), 100.0)
    masks = torch.zeros(2, 8, 8, dtype=torch.bool)
    masks[:, 2:6, 2:6] = True
    return real, masks


def test_a_reconstruction_in_another_lesion_colour_scores_the_shift() -> None:
    bench = load_benchmark("lesion_colour_error")
    real, masks = _images()
    recon = real.clone()
    recon[0, 0][masks[0]] += 30.0  # image 0: lesion redder by 30 ...
    recon[0, 2][masks[0]] -= 40.0  # ... and less blue by 40: distance 50
    error = bench.lesion_colour_error(real, recon, masks)
    assert torch.allclose(error, torch.tensor([50.0, 0.0]))


def test_background_changes_do_not_count() -> None:
    bench = load_benchmark("lesion_colour_error")
    real, masks = _images()
    recon = real.clone()
    recon[:, :, ~masks[0]] = 255.0  # every background pixel changed
    assert torch.equal(bench.lesion_colour_error(real, recon, masks), torch.zeros(2))


def test_the_table_has_one_row_per_class_and_two_columns_per_tokenizer(tmp_path) -> None:
    bench = load_benchmark("lesion_colour_error")
    row = {"images": 8, "psnr_db": 27.0, "lesion_colour_error": 35.2}
    results = {
        "train_share": {"nv": 0.672, "vasc": 0.013},
        "runs": {"base": {"nv": row, "vasc": row}, "balanced": {"nv": row, "vasc": row}},
    }
    lines = bench.report(results, tmp_path).splitlines()
    assert "| base PSNR dB | base lesion colour error | balanced PSNR dB |" in lines[4]
    assert lines[6] == "| nv | 67.2% | 8 | 27.0 | 35.2 | 27.0 | 35.2 |"
    assert lines[7].startswith("| vasc | 1.3% |")
