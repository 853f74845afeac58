"""deltaprop: dense neural networks trained by backpropagation, written as the textbook derives it.

The engine imports numpy only; the command line, plots and scikit-learn estimators live in
modules that are imported on demand.
"""

from . import activations, losses
from ._validation import DeltapropError
from .gradcheck import GradcheckReport, gradcheck
from .network import Gradients, Network
from .training import History, TrainingDiverged, TrainingInterrupted, evaluate, fit, resume
from .explain import explain, nudge

__version__ = "0.1.0"



def load(path):
    """Read a model file written by ``Network.save``; see ``deltaprop.io.load``."""
    from .io import load as _load
    return _load(path)


__all__ = [
    "Network", "Gradients", "gradcheck", "GradcheckReport", "DeltapropError", "activations",
    "losses", "fit", "evaluate", "resume", "History", "TrainingDiverged", "TrainingInterrupted",
    "explain", "nudge", "load", "__version__",
]
