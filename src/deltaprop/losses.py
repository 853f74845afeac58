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

import inspect

import numpy as np

from . import _registry
from ._validation import DeltapropError, _short

__all__ = [
    "Loss", "Quadratic", "MSE", "BinaryCrossEntropy", "CrossEntropy", "LOSSES", "get",
    "register", "unregister", "is_known",
]  # fmt: skip


def _clip01(a):
    """a clipped away from 0 and 1 by a few ulps of its dtype: ln(a), ln(1 − a) stay finite."""
    eps = np.finfo(a.dtype).eps
    return np.clip(a, eps, 1.0 - eps)


class Loss:
    """Base class: everything about one cost function C lives in its subclass.

    A subclass defines ``value`` (C_x per sample) and ``gradient`` (∇_a C_x) and may override:

    - ``fused`` with ``fused_delta``/``fused_value``: activations for which BP1's product
      collapses to a simpler, stable δ^L (see the module docstring);
    - ``gradient_ops`` / ``fused_ops``: BP1 as numpy calls into the training kernel's buffers
      (the defaults call ``gradient`` and ``fused_delta``, so a user-defined loss trains on
      the fast path as it is);
    - ``shares``: each output's share of C_x, shown by explain;
    - ``formula``, ``share_formula``, ``gradient_formula`` and their ``_latex`` forms: the
      text explain shows (markup: ``_{}`` subscript, ``^{}`` superscript, Unicode math).

    Examples
    --------
    >>> q = get("quadratic")
    >>> q.value(np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]]))
    array([2.5])
    """

    name = "loss"
    #: Activation names for which δ^L = ``fused_delta(a, y)`` replaces BP1's product.
    fused: frozenset = frozenset()
    #: The output activation must take values inside this interval for the loss to make sense.
    needs_output_range = (-np.inf, np.inf)
    #: Formula text (markup: ``_{}`` subscript, ``^{}`` superscript) and LaTeX.
    formula = ""
    share_formula = ""
    gradient_formula = ""
    formula_latex = ""
    share_latex = ""
    gradient_latex = ""
    #: δ^L of a fused pair (``fused_delta``'s rule): a − y unless a subclass says otherwise.
    fused_formula = "δ^{L}_{j} = a^{L}_{j} − y_{j}"
    fused_latex = r"\delta^L_j = a^L_j - y_j"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A subclass that redefines C or ∇C must not inherit its parent's fast forms.
        own = vars(cls)
        if "gradient" in own and "gradient_ops" not in own:
            cls.gradient_ops = Loss.gradient_ops
        if "fused_delta" in own and "fused_ops" not in own:
            cls.fused_ops = Loss.fused_ops
        if "fused_delta" in own and "fused_formula" not in own:
            cls.fused_formula = cls.fused_latex = ""
        if "value" in own and "shares" not in own:
            cls.shares = Loss.shares

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

    def shares(self, a, y):
        """Each output's share of C_x (C_x is the row sum), shape (m, n_L); None if unknown."""
        return None

    def check_targets(self, Y, name="Y"):
        """Raise ValueError when the targets are outside the loss's domain."""

    # ---- BP1 for a given output activation
    def is_fused(self, activation) -> bool:
        """Whether δ^L = ``fused_delta`` replaces BP1's product after `activation`."""
        return activation.name in self.fused

    def output_delta(self, z, a, y, activation):
        """δ^L per sample, shape (m, n_L): BP1 ∇_a C ⊙ σ'(z^L), or the fused error."""
        if self.is_fused(activation):
            return self.fused_delta(a, y)
        return activation.backward(self.gradient(a, y), z, a)  # BP1

    def sample_costs(self, z, a, y, activation):
        """Per-sample costs C_x, shape (m,): from z^L for a fused pair, else from a^L."""
        if self.is_fused(activation):
            return self.fused_value(z, y)
        return self.value(a, y)

    # ---- fast forms for the training kernel
    def gradient_ops(self, A, Y, G):
        """Calls writing ∇_a C / k into G, and the constant k (folded into the batch mean)."""
        return [(lambda: np.copyto(G, self.gradient(A, Y)), ())], 1.0

    def fused_ops(self, A, Y, D, one_hot):
        """Calls writing the fused δ^L into D; `one_hot`: every target row is one-hot."""
        return [(self.fused_delta, (A, Y, D))]

    def delta_ops(self, D, Z, A, Y, activation, T, one, one_hot=False):
        """BP1 as kernel calls writing δ^L / k into D, and the constant k."""
        if self.is_fused(activation):
            return self.fused_ops(A, Y, D, one_hot), 1.0
        ops, k = self.gradient_ops(A, Y, D)
        return ops + activation.backward_ops(D, Z, A, T, one), k  # ∇_a C ⊙ σ'(z^L)

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
    formula = "C_{x} = ½ Σ_{j} (a^{L}_{j} − y_{j})²"
    share_formula = "½(a_{j} − y_{j})²"
    gradient_formula = "a_{j} − y_{j}"
    formula_latex = r"C_x = \tfrac{1}{2} \sum_j (a^L_j - y_j)^2"
    share_latex = r"\tfrac{1}{2}(a_j - y_j)^2"
    gradient_latex = r"a_j - y_j"

    def value(self, a, y):
        d = a - y
        return 0.5 * np.einsum("ij,ij->i", d, d)

    def gradient(self, a, y):
        return a - y

    def shares(self, a, y):
        return 0.5 * (a - y) ** 2

    def gradient_ops(self, A, Y, G):
        return [(np.subtract, (A, Y, G))], 1.0


class MSE(Loss):
    r"""Mean squared error over the outputs, C_x = (1/n_L) Σ_j (a_j − y_j)², as Keras defines it.

    ∇_a C_x = 2(a − y)/n_L. (scikit-learn's MLP reports half of this value.)
    """

    name = "mse"
    formula = "C_{x} = (1/n) Σ_{j} (a^{L}_{j} − y_{j})²"
    share_formula = "(a_{j} − y_{j})²/n"
    gradient_formula = "2(a_{j} − y_{j})/n"
    formula_latex = r"C_x = \frac{1}{n} \sum_j (a^L_j - y_j)^2"
    share_latex = r"\frac{(a_j - y_j)^2}{n}"
    gradient_latex = r"\frac{2(a_j - y_j)}{n}"

    def value(self, a, y):
        d = a - y
        return np.einsum("ij,ij->i", d, d) / a.shape[1]

    def gradient(self, a, y):
        return (2.0 / a.shape[1]) * (a - y)

    def shares(self, a, y):
        return (a - y) ** 2 / a.shape[1]

    def gradient_ops(self, A, Y, G):
        return [(np.subtract, (A, Y, G))], 2.0 / A.shape[1]  # 2(a − y)/n_L


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
    formula = "C_{x} = −Σ_{j} [y_{j} ln a^{L}_{j} + (1 − y_{j}) ln(1 − a^{L}_{j})]"
    share_formula = "−[y_{j} ln a_{j} + (1 − y_{j}) ln(1 − a_{j})]"
    gradient_formula = "(a_{j} − y_{j})/(a_{j}(1 − a_{j}))"
    formula_latex = r"C_x = -\sum_j \left[y_j \ln a^L_j + (1 - y_j) \ln(1 - a^L_j)\right]"
    share_latex = r"-\left[y_j \ln a_j + (1 - y_j) \ln(1 - a_j)\right]"
    gradient_latex = r"\frac{a_j - y_j}{a_j(1 - a_j)}"

    def value(self, a, y):
        a = _clip01(a)
        return -(y * np.log(a) + (1.0 - y) * np.log1p(-a)).sum(axis=1)

    def gradient(self, a, y):
        a = _clip01(a)
        return (a - y) / (a * (1.0 - a))

    def shares(self, a, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return -(
                np.where(y != 0, y * np.log(a), 0.0)
                + np.where(y != 1, (1.0 - y) * np.log1p(-a), 0.0)
            )

    def fused_value(self, z, y):
        return (np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))).sum(axis=1)

    def fused_ops(self, A, Y, D, one_hot):
        return [(np.subtract, (A, Y, D))]  # δ^L = a − y

    def check_targets(self, Y, name="Y"):
        if Y.size and (Y.min() < 0 or Y.max() > 1):
            bad = Y.min() if Y.min() < 0 else Y.max()
            raise DeltapropError(
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
    formula = "C_{x} = −Σ_{j} y_{j} ln a^{L}_{j}"
    share_formula = "−y_{j} ln a_{j}"
    gradient_formula = "−y_{j}/a_{j}"
    formula_latex = r"C_x = -\sum_j y_j \ln a^L_j"
    share_latex = r"-y_j \ln a_j"
    fused_formula = "δ^{L}_{j} = a^{L}_{j} Σ_{k} y_{k} − y_{j}"
    fused_latex = r"\delta^L_j = a^L_j \sum_k y_k - y_j"
    gradient_latex = r"-\frac{y_j}{a_j}"

    def value(self, a, y):
        return -(y * np.log(_clip01(a))).sum(axis=1)

    def gradient(self, a, y):
        return -y / _clip01(a)

    def shares(self, a, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(y != 0, -y * np.log(a), 0.0)

    def fused_delta(self, a, y, out=None):
        out = np.multiply(a, y.sum(axis=1, keepdims=True), out=out)
        out -= y
        return out

    def fused_ops(self, A, Y, D, one_hot):
        if one_hot and A.shape[1] > 1:
            return [(np.subtract, (A, Y, D))]  # Σ_j y_j = 1: δ^L = a − y
        return [(self.fused_delta, (A, Y, D))]

    def fused_value(self, z, y):
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax + np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
        return (y * (lse - z)).sum(axis=1)

    def check_targets(self, Y, name="Y"):
        if Y.size and Y.min() < 0:
            raise DeltapropError(
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
_BUILTIN = frozenset(LOSSES) | frozenset(_ALIASES)


def register(cls):
    """Class decorator: make a user-defined Loss known by its ``name``.

    A registered class is found by ``get`` and by ``Network(loss=...)`` under its name, and a
    model file that uses it loads again (``deltaprop.load`` rebuilds it from the ``config()``
    saved with the model: ``cls(**params)``). Loading only looks names up here; it never
    imports or runs code named by a file, so register the class before loading.

    Parameters
    ----------
    cls : type
        A subclass of Loss with its own ``name``; one with parameters also overrides
        ``config()`` to return them (and accepts them as keyword arguments).

    Returns
    -------
    type
        `cls`, unchanged.

    Raises
    ------
    DeltapropTypeError
        `cls` is not a Loss subclass.
    DeltapropError
        The name is missing, belongs to a built-in loss (or an alias), or is registered to
        another class (registering a class of the same module and name again replaces it).

    Examples
    --------
    >>> @register
    ... class Quartic(Loss):
    ...     name = "quartic"
    ...     def value(self, a, y):
    ...         return 0.25 * ((a - y) ** 4).sum(axis=1)
    ...     def gradient(self, a, y):
    ...         return (a - y) ** 3
    >>> get("quartic")
    Quartic()
    >>> unregister("quartic")
    """
    key = _registry.checked_key(cls, Loss, "loss", LOSSES, _BUILTIN)
    LOSSES[key] = cls
    return cls


def unregister(name: str) -> None:
    """Forget the user-defined loss registered under `name` (built-ins stay)."""
    _registry.remove(name, "loss", LOSSES, _BUILTIN)


def is_known(name) -> bool:
    """Whether `name` is a built-in (or alias) or registered loss (what a model file may name)."""
    return isinstance(name, str) and _ALIASES.get(name.lower(), name.lower()) in LOSSES


def get(loss) -> Loss:
    """Return a Loss from a name, a config dict (``{"name": ..., **params}``) or a Loss object.

    Examples
    --------
    >>> get("quadratic").name
    'quadratic'
    """
    if isinstance(loss, Loss):
        return loss
    params = {}
    if isinstance(loss, dict):
        params = dict(loss)
        loss = params.pop("name", None)
    if isinstance(loss, type) and issubclass(loss, Loss):
        return loss()
    key = _ALIASES.get(loss.lower(), loss.lower()) if isinstance(loss, str) else None
    if key is None or key not in LOSSES:
        valid = ", ".join(sorted(LOSSES))
        raise DeltapropError(f"loss={_short(loss)} is unknown; expected one of: {valid}")
    cls = LOSSES[key]
    try:
        return cls(**params)
    except TypeError:
        accepted = tuple(inspect.signature(cls).parameters)
        raise DeltapropError(
            f"loss {loss!r} got parameters {params}; {cls.__name__} accepts "
            f"{accepted or 'no parameters'}"
        ) from None
