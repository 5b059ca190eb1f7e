"""Lesion measurements (pyradiomics + colour): the generator's conditioning inputs."""

from .extract import STATUS_FAILED, STATUS_OK, LesionMeasurer, Measurement
from .run import MeasureResult, feature_columns, load_class_means, measure_workdir
from .scaler import RobustScaler
from .settings import MeasureSettings

__all__ = [
    "STATUS_FAILED",
    "STATUS_OK",
    "LesionMeasurer",
    "MeasureResult",
    "MeasureSettings",
    "Measurement",
    "RobustScaler",
    "feature_columns",
    "load_class_means",
    "measure_workdir",
]
