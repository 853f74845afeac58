"""Weights in from scikit-learn: a Network from a fitted ``MLPClassifier`` or ``MLPRegressor``.

scikit-learn stores layer l as ``coefs_[l]`` of shape (n_in, n_out), used as y = x C + b:
the transpose of the textbook's W^l of shape (n_out, n_in), so W^l = ``coefs_[l].T``. Nothing
here imports scikit-learn: the estimator is read through its fitted attributes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import DeltapropError, DeltapropTypeError
from ..network import Network

__all__ = ["from_sklearn", "SKLEARN_ACTIVATIONS"]

#: scikit-learn's activation names -> deltaprop's (hidden ``activation``, ``out_activation_``).
SKLEARN_ACTIVATIONS = {
    "identity": "identity",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "softmax": "softmax",
}
#: The loss scikit-learn trains each output activation with, in deltaprop's names.
_SKLEARN_LOSSES = {
    "softmax": "cross_entropy",
    "logistic": "binary_cross_entropy",
    "identity": "quadratic",
}


def _activation(name, where):
    if name not in SKLEARN_ACTIVATIONS:
        valid = ", ".join(SKLEARN_ACTIVATIONS)
        raise DeltapropError(f"{where}={name!r} has no deltaprop form; expected one of: {valid}")
    return SKLEARN_ACTIVATIONS[name]


def from_sklearn(estimator: Any) -> Network:
    """A Network with the weights of a fitted scikit-learn MLP.

    Parameters
    ----------
    estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
        Fitted (``coefs_``, ``intercepts_``, ``activation``, ``out_activation_``). A deltaprop
        estimator (``deltaprop.sklearn``) gives a copy of its ``network_``.

    Returns
    -------
    Network
        Layers ``coefs_[l].T``, ``intercepts_[l]``; activation "logistic" becomes "sigmoid";
        the loss is scikit-learn's (cross-entropy after softmax, binary cross-entropy after
        logistic, quadratic after identity); the dtype is the coefficients' (float32 or
        float64). ``predict_proba`` equals the estimator's (its last column for a binary
        classifier) and ``classes_[net.predict(X)]`` its ``predict``. A multilabel classifier's
        outputs are copied too, but ``Network.predict`` takes their argmax.
    """
    network = getattr(estimator, "network_", None)
    if isinstance(network, Network):
        return network.copy()
    needed = ("coefs_", "intercepts_", "activation", "out_activation_")
    absent = [name for name in needed if not hasattr(estimator, name)]
    if absent:
        raise DeltapropTypeError(
            f"estimator {type(estimator).__name__} has no {', '.join(absent)}; expected a "
            f"fitted sklearn.neural_network.MLPClassifier or MLPRegressor"
        )
    coefs = [np.asarray(c) for c in estimator.coefs_]
    hidden = _activation(estimator.activation, "activation")
    output = _activation(estimator.out_activation_, "out_activation_")
    dtype = coefs[0].dtype
    if dtype not in (np.float32, np.float64):
        raise DeltapropError(f"coefs_ are {dtype}; expected float32 or float64")
    sizes = [coefs[0].shape[0]] + [c.shape[1] for c in coefs]
    net = Network(
        sizes,
        activation=[hidden] * (len(coefs) - 1),
        output_activation=output,
        loss=_SKLEARN_LOSSES[estimator.out_activation_],
        dtype=dtype.name,
    )
    for l, (coef, intercept) in enumerate(zip(coefs, estimator.intercepts_)):
        net.weights[l] = coef.T
        net.biases[l] = intercept
    return net
