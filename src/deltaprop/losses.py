"""Cost functions C, each with its gradient ∇_a C right beside it.

A loss gives the per-sample cost C_x of output activations a^L against targets y (the network
averages these over the batch: C = (1/m) Σ_x C_x) and ∇_a C_x, the first factor of BP1:
δ^L = ∇_a C ⊙ σ'(z^L).

Fused output errors
-------------------
For some (activation, loss) pairs the product in BP1 collapses to δ^L = a − y, which is both
cheaper and numerically stable (no division by a or 1 − a, and the cost is taken from z with
log-sum-exp). Each loss lists those pairs in ``fused``:

- sigmoid + binary_cross_entropy: δ^L = a − y, for any targets y in [0, 1];
- softmax + cross_entropy: δ^L = a Σ_j y_j − y, which is a − y for one-hot or probability rows.

Every other pair, softmax with quadratic loss included, goes through the activation's own
``backward`` (for softmax the full Jacobian-vector product, not a diagonal shortcut).
"""

from __future__ import annotations

import numpy as np

from ._validation import _short

__all__ = ["Loss", "Quadratic", "MSE", "BinaryCrossEntropy", "CrossEntropy", "LOSSES", "get"]


def _clip01(a):
    """a clipped away from 0 and 1 by a few ulps of its dtype, so that ln(a), ln(1 − a) are finite."""
    eps = np.finfo(a.dtype).eps
    return np.clip(a, eps, 1.0 - eps)


class Loss:
    """Base class: ``value`` is C_x per sample, ``gradient`` is ∇_a C_x."""

    name = "loss"
    #: Activation names for which δ^L = ``fused_delta(a, y)`` replaces BP1's product.
    fused: frozenset = frozenset()
    #: The output activation must take values inside this interval for the loss to make sense.
    needs_output_range = (-np.inf, np.inf)

    def value(self, a, y):
        """Per-sample cost C_x, shape (m,)."""
        raise NotImplementedError

    def gradient(self, a, y):
        """∇_a C_x, shape (m, n_L)."""
        raise NotImplementedError

    def fused_delta(self, a, y, out=None):
        """δ^L for a fused pair (see module docstring)."""
        return np.subtract(a, y, out=out)

    def fused_value(self, z, y):
        """C_x computed from z^L for a fused pair (more accurate than from a)."""
        raise NotImplementedError

    def check_targets(self, Y, name="Y"):
        """Raise ValueError when the targets are outside the loss's domain."""

    def config(self) -> dict:
        return {"name": self.name}

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return isinstance(other, Loss) and self.config() == other.config()

    def __hash__(self):
        return hash(self.name)


class Quadratic(Loss):
    r"""The textbook's quadratic cost C_x = ½‖y − a‖²; ∇_a C_x = a − y."""

    name = "quadratic"

    def value(self, a, y):
        d = a - y
        return 0.5 * np.einsum("ij,ij->i", d, d)

    def gradient(self, a, y):
        return a - y


class MSE(Loss):
    r"""Mean squared error over the outputs, C_x = (1/n_L) Σ_j (a_j − y_j)², as Keras defines it.

    ∇_a C_x = 2(a − y)/n_L. (scikit-learn's MLP reports half of this value.)
    """

    name = "mse"

    def value(self, a, y):
        d = a - y
        return np.einsum("ij,ij->i", d, d) / a.shape[1]

    def gradient(self, a, y):
        return (2.0 / a.shape[1]) * (a - y)


class BinaryCrossEntropy(Loss):
    r"""The textbook's cross-entropy for sigmoid outputs.

    C_x = −Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)];
    ∇_a C_x = (a − y) / (a(1 − a)).

    Fused with sigmoid: δ^L = a − y and C_x = Σ_j [max(z_j, 0) − z_j y_j + ln(1 + e^{−|z_j|})].
    Targets must lie in [0, 1].
    """

    name = "binary_cross_entropy"
    fused = frozenset({"sigmoid"})
    needs_output_range = (0.0, 1.0)

    def value(self, a, y):
        a = _clip01(a)
        return -(y * np.log(a) + (1.0 - y) * np.log1p(-a)).sum(axis=1)

    def gradient(self, a, y):
        a = _clip01(a)
        return (a - y) / (a * (1.0 - a))

    def fused_value(self, z, y):
        return (np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum(axis=1)

    def check_targets(self, Y, name="Y"):
        if Y.size and (Y.min() < 0 or Y.max() > 1):
            bad = Y.min() if Y.min() < 0 else Y.max()
            raise ValueError(
                f"{name} contains {bad}; binary_cross_entropy expects targets in [0, 1]"
            )


class CrossEntropy(Loss):
    r"""Categorical cross-entropy for softmax outputs, C_x = −Σ_j y_j ln a_j; ∇_a C_x = −y / a.

    Fused with softmax: δ^L = a Σ_j y_j − y (= a − y for one-hot rows) and
    C_x = Σ_j y_j (logsumexp(z) − z_j). Targets must be ≥ 0.
    """

    name = "cross_entropy"
    fused = frozenset({"softmax"})
    needs_output_range = (0.0, 1.0)

    def value(self, a, y):
        return -(y * np.log(_clip01(a))).sum(axis=1)

    def gradient(self, a, y):
        return -y / _clip01(a)

    def fused_delta(self, a, y, out=None):
        out = np.multiply(a, y.sum(axis=1, keepdims=True), out=out)
        out -= y
        return out

    def fused_value(self, z, y):
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
        return (y * (lse - z)).sum(axis=1)

    def check_targets(self, Y, name="Y"):
        if Y.size and Y.min() < 0:
            raise ValueError(
                f"{name} contains {Y.min()}; cross_entropy expects targets >= 0 "
                f"(one-hot rows or probabilities)"
            )


LOSSES = {cls.name: cls for cls in (Quadratic, MSE, BinaryCrossEntropy, CrossEntropy)}
_ALIASES = {
    "bce": "binary_cross_entropy",
    "ce": "cross_entropy",
    "categorical_cross_entropy": "cross_entropy",
    "squared": "quadratic",
}


def get(loss) -> Loss:
    """Return a Loss from a name or a Loss object.

    Examples
    --------
    >>> get("quadratic").name
    'quadratic'
    """
    if isinstance(loss, Loss):
        return loss
    if isinstance(loss, dict):
        loss = loss.get("name")
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    key = loss.lower() if isinstance(loss, str) else None
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        valid = ", ".join(sorted(LOSSES))
        raise ValueError(f"loss={_short(loss)} is unknown; expected one of: {valid}")
    return LOSSES[key]()
