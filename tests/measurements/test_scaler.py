"""The robust measurement scaler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skinaug.errors import SkinaugError
from skinaug.measurements import RobustScaler


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "area": rng.normal(1000, 100, 200),
            "constant": np.full(200, 3.0),
            "mostly_nan": np.where(np.arange(200) < 150, np.nan, 1.0),
            "heavy": np.r_[rng.normal(0, 1, 199), 1e9],
        }
    )


def test_fit_uses_median_and_iqr_and_drops_useless_features() -> None:
    frame = _frame()
    scaler = RobustScaler.fit(frame)
    assert scaler.features == ["area", "heavy"]
    assert set(scaler.dropped) == {"constant", "mostly_nan"}
    q25, q50, q75 = np.percentile(frame["area"], [25, 50, 75])
    assert scaler.center[0] == pytest.approx(q50) and scaler.scale[0] == pytest.approx(q75 - q25)
    assert abs(scaler.center[1]) < 0.3  # the outlier does not move the median


def test_transform_imputes_nan_and_clips_outliers() -> None:
    scaler = RobustScaler.fit(_frame(), clip=5.0)
    rows = pd.DataFrame({"area": [scaler.center[0], np.nan, np.inf], "heavy": [1e12, 0.0, -1e12]})
    z = scaler.transform(rows)
    assert z.dtype == np.float32 and z.shape == (3, 2)
    assert z[0, 0] == 0.0 and z[1, 0] == 0.0 and z[2, 0] == 0.0
    assert z[0, 1] == 5.0 and z[2, 1] == -5.0
    np.testing.assert_allclose(
        scaler.inverse(scaler.transform(_frame().iloc[:5]))[:, 0], _frame()["area"].iloc[:5], rtol=1e-5
    )


def test_round_trip_and_errors(tmp_path: Path) -> None:
    scaler = RobustScaler.fit(_frame(), fitted_on="train")
    scaler.save(tmp_path / "scaler.json")
    again = RobustScaler.load(tmp_path / "scaler.json")
    assert again == scaler
    with pytest.raises(SkinaugError, match="lack 1 feature"):
        scaler.transform(pd.DataFrame({"area": [1.0]}))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(SkinaugError, match="bad.json"):
        RobustScaler.load(tmp_path / "bad.json")
    with pytest.raises(SkinaugError, match="no measured training image"):
        RobustScaler.fit(pd.DataFrame({"a": []}))
