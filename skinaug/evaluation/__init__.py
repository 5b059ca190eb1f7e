"""Fidelity evaluation of synthetic sets: FID/KID/IS/PR (Inception or domain features), CAS, plots, report."""

from .run import EvaluateConfig, EvaluationResult, evaluate

__all__ = ["EvaluateConfig", "EvaluationResult", "evaluate"]
