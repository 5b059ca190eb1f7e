"""`skinaug demo`: the whole pipeline on embedded phantoms (or a real data set) and one readable report."""

from .pipeline import run_demo
from .plans import DemoPlan, choose_plan

__all__ = ["DemoPlan", "choose_plan", "run_demo"]
