"""A sandboxed autograder for machine-learning course notebooks."""

__version__ = "0.1.0"

from .checks import check, helper
from .compare import allclose, exact, within
from .mistakes import mistake

__all__ = ["__version__", "allclose", "check", "exact", "helper", "mistake", "within"]
