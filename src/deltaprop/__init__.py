"""deltaprop: dense neural networks trained by backpropagation, written as the textbook derives it.

The engine imports numpy only; the command line, plots and scikit-learn estimators live in
modules that are imported on demand.
"""

from . import activations, datasets, losses
from ._validation import DeltapropError
from .explain import explain, nudge
from .gradcheck import GradcheckReport, gradcheck
from .network import Gradients, Network
from .training import History, TrainingDiverged, TrainingInterrupted, evaluate, fit, resume

__version__ = "0.1.0"

from .io import ModelFileError, load, save

__all__ = [
    "Network",
    "Gradients",
    "gradcheck",
    "GradcheckReport",
    "DeltapropError",
    "activations",
    "datasets",
    "losses",
    "fit",
    "evaluate",
    "resume",
    "History",
    "TrainingDiverged",
    "TrainingInterrupted",
    "explain",
    "nudge",
    "load",
    "save",
    "ModelFileError",
    "__version__",
]
