"""benchmarks/configs: the class-balanced recipe is tiny_l16 with class-balanced draws and nothing else, so that
run 4 of the evidence differs from run 3 in that alone (apart from what its README states)."""

from __future__ import annotations

import json

from skinaug.generators.config import load_config

from ..conftest import BENCHMARKS


def test_balanced_config_is_tiny_l16_with_class_balanced_draws_in_both_stages() -> None:
    base = json.loads((BENCHMARKS / "configs" / "tiny_l16.json").read_text())
    balanced = json.loads((BENCHMARKS / "configs" / "tiny_l16_balanced.json").read_text())
    for stage in ("tokenizer_optim", "transformer_optim"):
        assert balanced[stage].pop("class_balance") == 1.0
        assert base[stage].get("class_balance", 0.0) == 0.0
    assert balanced.pop("name") == "tiny-l16-balanced"
    base.pop("name")
    assert balanced == base


def test_every_benchmark_config_loads() -> None:
    for path in sorted((BENCHMARKS / "configs").glob("*.json")):
        config = load_config(str(path))
        assert config.name == json.loads(path.read_text())["name"], path
