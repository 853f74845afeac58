"""deltaprop: dense neural networks trained by backpropagation, written as the textbook derives it.

The engine imports numpy only; the command line, plots and scikit-learn estimators live in
modules that are imported on demand.
"""

from . import (
    _launch,  # noqa: F401  (first: Ctrl-C while the command loads)
    _notebook,  # noqa: F401  (Jupyter displays; imports plots, which gives History.plot)
    activations,
    callbacks,
    datasets,
    export,
    losses,
)
from ._validation import DeltapropError, DeltapropTypeError
from ._version import __version__
from .explain import explain, nudge
from .gradcheck import GradcheckReport, gradcheck
from .history import History, TrainingConfig
from .io import ModelFileError, load, save
from .network import Gradients, Network
from .training import TrainingDiverged, TrainingInterrupted, evaluate, fit, resume

__all__ = [
    "Network",
    "Gradients",
    "gradcheck",
    "GradcheckReport",
    "DeltapropError",
    "activations",
    "export",
    "datasets",
    "losses",
    "fit",
    "evaluate",
    "resume",
    "History",
    "TrainingConfig",
    "DeltapropTypeError",
    "callbacks",
    "TrainingDiverged",
    "TrainingInterrupted",
    "explain",
    "nudge",
    "load",
    "save",
    "ModelFileError",
    "__version__",
]
