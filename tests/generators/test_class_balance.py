"""Class-balanced draws for generator training (OptimConfig.class_balance): the class shares they promise, the
plain epochs they leave alone at 0, and batches that depend on the step alone (resume, several processes)."""

from __future__ import annotations

import numpy as np
import pytest

from skinaug.errors import SkinaugError
from skinaug.generators.batches import class_draw_weights, global_batch, rank_share
from skinaug.generators.config import GeneratorConfig

LABELS = np.array([0] * 90 + [1] * 10)  # a 9:1 imbalance


def _minority_share(class_balance: float, steps: int = 600, batch: int = 16) -> float:
    weights = class_draw_weights(LABELS, class_balance)
    drawn = np.concatenate([global_batch(len(LABELS), batch, 0, step, weights) for step in range(steps)])
    return float((LABELS[drawn] == 1).mean())


def test_full_balance_draws_every_class_equally_often() -> None:
    assert _minority_share(1.0) == pytest.approx(0.5, abs=0.03)  # 9,600 draws: sd 0.005


def test_half_balance_draws_classes_in_proportion_to_the_square_root_of_their_size() -> None:
    # share of a class = n * n ** -0.5 = sqrt(n): sqrt(10) / (sqrt(90) + sqrt(10)) = 0.25
    assert _minority_share(0.5) == pytest.approx(0.25, abs=0.03)


def test_zero_keeps_plain_epochs_every_image_once() -> None:
    assert class_draw_weights(LABELS, 0.0) is None
    epoch = np.concatenate([global_batch(len(LABELS), 10, 3, step, None) for step in range(10)])
    assert sorted(epoch.tolist()) == list(range(len(LABELS)))


def test_a_batch_depends_on_the_step_alone_and_splits_across_processes() -> None:
    weights = class_draw_weights(LABELS, 1.0)
    first, again = global_batch(100, 8, 5, 42, weights), global_batch(100, 8, 5, 42, weights)
    assert np.array_equal(first, again)  # a resumed run draws the same images
    assert not np.array_equal(first, global_batch(100, 8, 5, 43, weights))
    shares = [rank_share(first, rank, 2) for rank in range(2)]
    assert np.array_equal(np.concatenate(shares), first)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_a_share_outside_0_1_is_refused(bad: float) -> None:
    with pytest.raises(SkinaugError, match="class_balance must be between 0 and 1"):
        class_draw_weights(LABELS, bad)


def test_configs_without_the_field_load_with_plain_epochs() -> None:
    data = GeneratorConfig().to_dict()
    del data["tokenizer_optim"]["class_balance"]  # a config.json written before the setting
    assert GeneratorConfig.from_dict(data).tokenizer_optim.class_balance == 0.0
    data["transformer_optim"]["class_balance"] = 1.0
    assert GeneratorConfig.from_dict(data).transformer_optim.class_balance == 1.0
