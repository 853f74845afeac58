"""Export: a Network as an ONNX model, and its weights in and out of PyTorch and scikit-learn.

``Network.to_onnx``, ``Network.to_torch``, ``Network.from_torch`` and ``Network.from_sklearn``
are these functions, handed down to network.py (which sits below this package and does not
import it) when ``import deltaprop`` imports this package. None of onnx, torch or scikit-learn
is imported here: each function imports what it needs when called (the optional extras
``deltaprop[onnx]`` and ``deltaprop[torch]``).
"""

from __future__ import annotations

from ..network import provide
from .onnx import network_graph, onnx_model, to_onnx
from .sklearn import from_sklearn
from .torch import from_torch, to_torch

__all__ = ["to_onnx", "onnx_model", "network_graph", "to_torch", "from_torch", "from_sklearn"]

provide("to_onnx", to_onnx)
provide("to_torch", to_torch)
provide("from_torch", from_torch)
provide("from_sklearn", from_sklearn)
