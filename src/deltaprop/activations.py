"""Activation functions σ, each with its derivative σ' right beside it.

Every activation maps the weighted input z of a layer to its activation a = σ(z), and supplies
σ'(z) computed from what the forward pass kept (z and a), so that the backward pass never
repeats a matrix product. Element-wise activations enter the backward pass through BP1 and BP2
as the factor ⊙ σ'(z); softmax is not element-wise and instead multiplies by its Jacobian
(``backward``).

All functions take and return arrays of shape (m, n): one row per sample.
"""

from __future__ import annotations

import inspect

import numpy as np

from ._validation import _short, check_positive

__all__ = [
    "Activation",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Swish",
    "Softplus",
    "Softmax",
    "ACTIVATIONS",
    "get",
]


class Activation:
    """Base class: ``forward`` computes σ(z), ``derivative`` computes σ'(z).

    Subclasses that are element-wise need only those two; ``backward`` multiplies an incoming
    gradient ∂C/∂a by σ'(z) in place, giving ∂C/∂z (the ⊙ σ'(z) of BP1 and BP2).
    """

    name = "activation"
    elementwise = True
    #: Range of σ as (low, high), used to decide which losses make sense after it.
    output_range = (-np.inf, np.inf)

    def forward(self, z, out=None):
        """σ(z); writes into `out` when given."""
        raise NotImplementedError

    def derivative(self, z, a):
        """σ'(z) from z and a = σ(z) (a new array)."""
        raise NotImplementedError

    def backward(self, grad_a, z, a):
        """∂C/∂z = ∂C/∂a ⊙ σ'(z), written into `grad_a` and returned."""
        grad_a *= self.derivative(z, a)
        return grad_a

    def __call__(self, z):
        return self.forward(np.asarray(z, dtype=float))

    def config(self) -> dict:
        """Name and parameters, enough to rebuild the object with ``get``."""
        return {"name": self.name}

    def __repr__(self):
        params = {k: v for k, v in self.config().items() if k != "name"}
        inner = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other):
        return isinstance(other, Activation) and self.config() == other.config()

    def __hash__(self):
        return hash(tuple(sorted(self.config().items())))


class Identity(Activation):
    r"""σ(z) = z, σ'(z) = 1."""

    name = "identity"

    def forward(self, z, out=None):
        if out is None:
            return z.copy()
        np.copyto(out, z)
        return out

    def derivative(self, z, a):
        return np.ones_like(z)

    def backward(self, grad_a, z, a):
        return grad_a


class Sigmoid(Activation):
    r"""σ(z) = 1 / (1 + e^{−z}); σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)."""

    name = "sigmoid"
    output_range = (0.0, 1.0)

    def forward(self, z, out=None):
        # e^{-z} overflows to inf for z < -709; 1/(1+inf) = 0 is the right limit, so the
        # overflow is silenced rather than avoided with a slower two-branch formula.
        with np.errstate(over="ignore"):
            out = np.negative(z, out=out)
            np.exp(out, out=out)
        out += 1.0
        return np.reciprocal(out, out=out)

    def derivative(self, z, a):
        return a * (1.0 - a)

    def backward(self, grad_a, z, a):
        grad_a *= a
        grad_a *= 1.0 - a
        return grad_a


class Tanh(Activation):
    r"""σ(z) = tanh z; σ'(z) = 1 − tanh² z = 1 − a²."""

    name = "tanh"
    output_range = (-1.0, 1.0)

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a):
        return 1.0 - a * a


class ReLU(Activation):
    r"""σ(z) = max(0, z); σ'(z) = 1 if z > 0 else 0 (the subgradient 0 is used at z = 0)."""

    name = "relu"
    output_range = (0.0, np.inf)

    def forward(self, z, out=None):
        return np.maximum(z, 0.0, out=out)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, grad_a, z, a):
        return np.multiply(grad_a, z > 0, out=grad_a)


class LeakyReLU(Activation):
    r"""σ(z) = z if z > 0 else αz; σ'(z) = 1 if z > 0 else α.

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative z.
    """

    name = "leaky_relu"
    output_range = (-np.inf, np.inf)

    def __init__(self, alpha: float = 0.01):
        self.alpha = check_positive(alpha, "alpha")

    def forward(self, z, out=None):
        result = np.where(z > 0, z, self.alpha * z)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, self.alpha).astype(z.dtype)

    def config(self):
        return {"name": self.name, "alpha": self.alpha}


class Swish(Activation):
    r"""σ(z) = z · s(βz) with s the logistic sigmoid.

    σ'(z) = s(βz) + βz s(βz)(1 − s(βz)) = s(βz) + β a (1 − s(βz)).

    Parameters
    ----------
    beta : float, default 1.0
    """

    name = "swish"

    def __init__(self, beta: float = 1.0):
        self.beta = check_positive(beta, "beta")

    def _s(self, z):
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-self.beta * z))

    def forward(self, z, out=None):
        result = z * self._s(z)
        if out is None:
            return result
        np.copyto(out, result)
        return out

    def derivative(self, z, a):
        s = self._s(z)
        return s + self.beta * a * (1.0 - s)

    def config(self):
        return {"name": self.name, "beta": self.beta}


class Softplus(Activation):
    r"""σ(z) = ln(1 + e^z); σ'(z) = s(z) = 1 − e^{−a}.

    The derivative is taken from a: with a = ln(1 + e^z), e^{−a} = 1 − s(z). ``-expm1(-a)``
    keeps full precision where a is tiny.
    """

    name = "softplus"
    output_range = (0.0, np.inf)

    def forward(self, z, out=None):
        return np.logaddexp(0.0, z, out=out)

    def derivative(self, z, a):
        return -np.expm1(-a)


class Softmax(Activation):
    r"""a_j = e^{z_j} / Σ_k e^{z_k}, over each row; output layer only.

    Not element-wise: ∂a_i/∂z_j = a_i(δ_ij − a_j), so the backward pass is the
    Jacobian-vector product ∂C/∂z = a ⊙ (∂C/∂a − Σ_i a_i ∂C/∂a_i). With cross-entropy the
    product simplifies to a − y, which the loss declares as a fused output error.
    """

    name = "softmax"
    elementwise = False
    output_range = (0.0, 1.0)

    def forward(self, z, out=None):
        # Subtracting the row maximum keeps e^{z} finite for any z.
        out = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def derivative(self, z, a):
        raise TypeError(
            "softmax has no element-wise derivative; its Jacobian is used through "
            "backward(grad_a, z, a)"
        )

    def backward(self, grad_a, z, a):
        dot = np.einsum("ij,ij->i", grad_a, a)[:, None]
        grad_a -= dot
        grad_a *= a
        return grad_a


ACTIVATIONS = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, Swish, Softplus, Softmax)
}
ACTIVATIONS["linear"] = Identity


def get(activation) -> Activation:
    """Return an Activation from a name, a config dict or an Activation object.

    Examples
    --------
    >>> get("leaky_relu").alpha
    0.01
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, dict):
        params = dict(activation)
        name = params.pop("name", None)
        return _from_name(name, params)
    if isinstance(activation, type) and issubclass(activation, Activation):
        return activation()
    return _from_name(activation, {})


def _from_name(name, params):
    if not isinstance(name, str) or name.lower() not in ACTIVATIONS:
        valid = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"activation={_short(name)} is unknown; expected one of: {valid}")
    cls = ACTIVATIONS[name.lower()]
    try:
        return cls(**params)
    except TypeError:
        accepted = tuple(inspect.signature(cls).parameters)
        raise ValueError(
            f"activation {name!r} got parameters {params}; "
            f"{cls.__name__} accepts {accepted or 'no parameters'}"
        ) from None
