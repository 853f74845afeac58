"""Activation functions σ, each with its derivative σ' right beside it.

Every activation maps the weighted input z of a layer to its activation a = σ(z), and supplies
σ'(z) computed from what the forward pass kept (z and a), so that the backward pass never
repeats a matrix product. Element-wise activations enter the backward pass through BP1 and BP2
as the factor ⊙ σ'(z); softmax is not element-wise and instead multiplies by its Jacobian
(``backward``).

All functions take and return arrays of shape (m, n): one row per sample.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from . import _registry
from ._validation import DeltapropError, DeltapropTypeError, _short, check_positive

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
    "register",
    "unregister",
    "is_known",
]


class Activation:
    """Base class: everything about one activation σ lives in its subclass.

    A subclass defines ``forward`` (σ(z)) and ``derivative`` (σ'(z) from z and a = σ(z)) and
    may override:

    - ``backward``: ∂C/∂z = ∂C/∂a ⊙ σ'(z) in place (the ⊙ σ'(z) of BP1 and BP2); softmax
      replaces it with its Jacobian-vector product;
    - ``forward_ops`` / ``backward_ops``: the same two computations as a fixed list of numpy
      calls writing into the training kernel's buffers (the defaults call ``forward`` and
      ``backward``, so a user-defined subclass trains on the fast path as it is);
    - ``formula``, ``derivative_formula`` (and their ``_latex`` forms): the text that explain
      shows, in a small markup: ``x_{sub}``, ``x^{sup}``, Unicode math otherwise;
    - ``max_derivative``: max_z σ'(z) when σ saturates (σ' → 0 for large |z|), which
      diagnostics compares σ'(z) with; ``can_die``: units that output a constant for z ≤ 0;
    - ``onnx_nodes``: σ as ONNX operators, for the export.

    All arrays have shape (m, n): one row per sample.

    Examples
    --------
    A user-defined activation is one subclass; it trains, explains and gradchecks as is:

    >>> class Cube(Activation):
    ...     name = "cube"
    ...     formula, derivative_formula = "σ(z) = z³", "σ′(z) = 3z²"
    ...     def forward(self, z, out=None):
    ...         return np.power(z, 3, out=out)
    ...     def derivative(self, z, a):
    ...         return 3.0 * z * z
    >>> Cube()(np.array([[2.0]]))
    array([[8.]])
    """

    name = "activation"
    elementwise = True
    #: Range of σ as (low, high), used to decide which losses make sense after it.
    output_range = (-np.inf, np.inf)
    #: σ(z) = z: the training kernel lets A^l be Z^l itself instead of a copy.
    is_identity = False
    #: σ(z + c·1) = σ(z) for every c: a bias shared by the layer's neurons has no effect.
    shift_invariant = False
    #: Formula text (markup: ``_{}`` subscript, ``^{}`` superscript) and LaTeX.
    formula = ""
    derivative_formula = ""
    formula_latex = ""
    derivative_latex = ""
    #: max_z σ'(z) for an activation that saturates; None for one that does not.
    max_derivative: float | None = None
    #: σ is constant for z ≤ 0, so a unit whose z ≤ 0 on every sample learns nothing ("dead").
    can_die = False
    #: The initialiser ``init="auto"`` uses for a layer with this σ: Glorot's variance
    #: 2/(n_in + n_out) suits σ that are linear around 0; He's 2/n_in the ReLU family.
    default_init = "glorot_uniform"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A subclass that redefines σ or σ' must not inherit its parent's fast forms (or
        # backward), which compute the parent's σ: it falls back to the generic ones.
        own = vars(cls)
        if "forward" in own:
            if "forward_ops" not in own:
                cls.forward_ops = Activation.forward_ops
            if "is_identity" not in own:
                cls.is_identity = False
        if "derivative" in own and "backward" not in own:
            cls.backward = Activation.backward
        if ("derivative" in own or "backward" in own) and "backward_ops" not in own:
            cls.backward_ops = Activation.backward_ops

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

    # ---- fast forms: (function, arguments) calls bound once per batch size by the kernel
    def forward_ops(self, Z, A, one):
        """Calls that write σ(Z) into A. `one` is a 0-d array holding 1 in the batch's dtype."""
        return [(self.forward, (Z, A))]

    def backward_ops(self, D, Z, A, T, one):
        """Calls that multiply D in place by σ'(Z) (or the Jacobian); T is an (m, n) scratch."""
        return [(self.backward, (D, Z, A))]

    # ---- what diagnostics asks
    def saturated(self, z, a, threshold=0.01):
        """Boolean mask of σ'(z) < threshold · max σ' (None when σ does not saturate)."""
        if self.max_derivative is None:
            return None
        with np.errstate(under="ignore"):
            return self.derivative(z, a) < threshold * self.max_derivative

    def dead_units(self, z):
        """Boolean mask over units (columns) with z ≤ 0 on every row (None unless ``can_die``)."""
        if not self.can_die:
            return None
        return np.all(z <= 0, axis=0)

    # ---- the export
    def onnx_nodes(self, x, y):
        """σ as ONNX nodes from tensor name `x` to `y`: (op_type, inputs, outputs, attributes)."""
        raise NotImplementedError(
            f"activation {self.name!r} has no ONNX form; define onnx_nodes(x, y) on its class"
        )

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
    is_identity = True
    formula, derivative_formula = "σ(z) = z", "σ′(z) = 1"
    formula_latex, derivative_latex = r"\sigma(z) = z", r"\sigma'(z) = 1"

    def forward(self, z, out=None):
        if out is None:
            return z.copy()
        np.copyto(out, z)
        return out

    def derivative(self, z, a):
        return np.ones_like(z)

    def backward(self, grad_a, z, a):
        return grad_a

    def forward_ops(self, Z, A, one):
        return [] if A is Z else [(np.copyto, (A, Z))]

    def backward_ops(self, D, Z, A, T, one):
        return []

    def onnx_nodes(self, x, y):
        return [("Identity", [x], [y], {})]


class Sigmoid(Activation):
    r"""σ(z) = 1 / (1 + e^{−z}); σ'(z) = σ(z)(1 − σ(z)) = a(1 − a)."""

    name = "sigmoid"
    output_range = (0.0, 1.0)
    formula, derivative_formula = "σ(z) = 1/(1 + e^{−z})", "σ′(z) = a(1 − a)"
    formula_latex = r"\sigma(z) = \frac{1}{1 + e^{-z}}"
    derivative_latex = r"\sigma'(z) = a(1 - a)"
    max_derivative = 0.25  # σ'(0) = 1/4

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

    def forward_ops(self, Z, A, one):
        # 1 / (1 + e^{−z}) in four calls; the kernel runs under errstate(over="ignore").
        return [
            (np.negative, (Z, A)),
            (np.exp, (A, A)),
            (np.add, (A, one, A)),
            (np.reciprocal, (A, A)),
        ]

    def backward_ops(self, D, Z, A, T, one):
        # σ' = a(1 − a), from the kept activation: no exp in the backward pass.
        return [(np.multiply, (D, A, D)), (np.subtract, (one, A, T)), (np.multiply, (D, T, D))]

    def onnx_nodes(self, x, y):
        return [("Sigmoid", [x], [y], {})]


class Tanh(Activation):
    r"""σ(z) = tanh z; σ'(z) = 1 − tanh² z = 1 − a²."""

    name = "tanh"
    output_range = (-1.0, 1.0)
    formula, derivative_formula = "σ(z) = tanh z", "σ′(z) = 1 − a²"
    formula_latex, derivative_latex = r"\sigma(z) = \tanh z", r"\sigma'(z) = 1 - a^2"
    max_derivative = 1.0  # σ'(0) = 1

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a):
        return 1.0 - a * a

    def forward_ops(self, Z, A, one):
        return [(np.tanh, (Z, A))]

    def backward_ops(self, D, Z, A, T, one):
        # σ' = 1 − a²
        return [(np.multiply, (A, A, T)), (np.subtract, (one, T, T)), (np.multiply, (D, T, D))]

    def onnx_nodes(self, x, y):
        return [("Tanh", [x], [y], {})]


class ReLU(Activation):
    r"""σ(z) = max(0, z); σ'(z) = 1 if z > 0 else 0 (the subgradient 0 is used at z = 0)."""

    name = "relu"
    default_init = "he_normal"
    output_range = (0.0, np.inf)
    formula, derivative_formula = "σ(z) = max(0, z)", "σ′(z) = 1 if z > 0, else 0"
    formula_latex = r"\sigma(z) = \max(0, z)"
    derivative_latex = r"\sigma'(z) = [z > 0]"
    can_die = True

    def forward(self, z, out=None):
        return np.maximum(z, 0.0, out=out)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, grad_a, z, a):
        return np.multiply(grad_a, z > 0, out=grad_a)

    def forward_ops(self, Z, A, one):
        # max(z, 0) against an array of zeros: numpy's SIMD loop for maximum skips a scalar
        # operand (3x slower at 256 x 256); np.maximum deprecates a positional `out`.
        return [(functools.partial(np.maximum, out=A), (Z, np.zeros_like(Z)))]

    def backward_ops(self, D, Z, A, T, one):
        mask = np.empty(Z.shape, dtype=bool)  # σ' = [z > 0]
        return [(np.greater, (Z, 0.0, mask)), (np.multiply, (D, mask, D))]

    def onnx_nodes(self, x, y):
        return [("Relu", [x], [y], {})]


class LeakyReLU(Activation):
    r"""σ(z) = z if z > 0 else αz; σ'(z) = 1 if z > 0 else α.

    Parameters
    ----------
    alpha : float, default 0.01
        Slope for negative z.
    """

    name = "leaky_relu"
    default_init = "he_normal"
    output_range = (-np.inf, np.inf)
    formula, derivative_formula = "σ(z) = z if z > 0, else αz", "σ′(z) = 1 if z > 0, else α"
    formula_latex = r"\sigma(z) = \max(z, \alpha z)"
    derivative_latex = r"\sigma'(z) = 1 \text{ if } z > 0 \text{, else } \alpha"
    can_die = True

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

    def onnx_nodes(self, x, y):
        return [("LeakyRelu", [x], [y], {"alpha": float(self.alpha)})]

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
    default_init = "he_normal"
    formula = "σ(z) = z s(βz), s(t) = 1/(1 + e^{−t})"
    derivative_formula = "σ′(z) = s(βz) + βa(1 − s(βz))"
    formula_latex = r"\sigma(z) = \frac{z}{1 + e^{-\beta z}}"
    derivative_latex = r"\sigma'(z) = s(\beta z) + \beta a (1 - s(\beta z))"

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

    def onnx_nodes(self, x, y):
        return [
            ("Constant", [], [f"{y}_beta"], {"value_float": float(self.beta)}),
            ("Mul", [x, f"{y}_beta"], [f"{y}_bz"], {}),
            ("Sigmoid", [f"{y}_bz"], [f"{y}_s"], {}),
            ("Mul", [x, f"{y}_s"], [y], {}),
        ]

    def config(self):
        return {"name": self.name, "beta": self.beta}


class Softplus(Activation):
    r"""σ(z) = ln(1 + e^z); σ'(z) = s(z) = 1 − e^{−a}.

    The derivative is taken from a: with a = ln(1 + e^z), e^{−a} = 1 − s(z). ``-expm1(-a)``
    keeps full precision where a is tiny.
    """

    name = "softplus"
    default_init = "he_normal"
    output_range = (0.0, np.inf)
    formula, derivative_formula = "σ(z) = ln(1 + e^{z})", "σ′(z) = 1/(1 + e^{−z})"
    formula_latex = r"\sigma(z) = \ln(1 + e^{z})"
    derivative_latex = r"\sigma'(z) = \frac{1}{1 + e^{-z}}"

    def forward(self, z, out=None):
        return np.logaddexp(0.0, z, out=out)

    def derivative(self, z, a):
        return -np.expm1(-a)

    def onnx_nodes(self, x, y):
        return [("Softplus", [x], [y], {})]


class Softmax(Activation):
    r"""a_j = e^{z_j} / Σ_k e^{z_k}, over each row; output layer only.

    Not element-wise: ∂a_i/∂z_j = a_i(δ_ij − a_j), so the backward pass is the
    Jacobian-vector product ∂C/∂z = a ⊙ (∂C/∂a − Σ_i a_i ∂C/∂a_i). With cross-entropy the
    product simplifies to a − y, which the loss declares as a fused output error.
    """

    name = "softmax"
    elementwise = False
    output_range = (0.0, 1.0)
    shift_invariant = True  # e^{z_j + c} / Σ_k e^{z_k + c} = e^{z_j} / Σ_k e^{z_k}
    formula = "a_{j} = e^{z_{j}} / Σ_{k} e^{z_{k}}"
    derivative_formula = "∂a_{i}/∂z_{j} = a_{i}(δ_{ij} − a_{j})"
    formula_latex = r"a_j = \frac{e^{z_j}}{\sum_k e^{z_k}}"
    derivative_latex = r"\frac{\partial a_i}{\partial z_j} = a_i(\delta_{ij} - a_j)"

    def forward(self, z, out=None):
        # Subtracting the row maximum keeps e^{z} finite for any z.
        out = np.subtract(z, z.max(axis=1, keepdims=True), out=out)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def derivative(self, z, a):
        raise DeltapropTypeError(
            "softmax has no element-wise derivative; its Jacobian is used through "
            "backward(grad_a, z, a)"
        )

    def backward(self, grad_a, z, a):
        dot = np.einsum("ij,ij->i", grad_a, a)[:, None]
        grad_a -= dot
        grad_a *= a
        return grad_a

    def forward_ops(self, Z, A, one):
        # e^{z − max z} / Σ e^{z − max z}; the row sums as a matrix-vector product (one BLAS call)
        r = np.empty((Z.shape[0], 1), dtype=Z.dtype)
        ones = np.ones(Z.shape[1], dtype=Z.dtype)
        return [
            (np.maximum.reduce, (Z, 1, None, r, True)),
            (np.subtract, (Z, r, A)),
            (np.exp, (A, A)),
            (np.matmul, (A, ones, r[:, 0])),
            (np.divide, (A, r, A)),
        ]

    def backward_ops(self, D, Z, A, T, one):
        # a ⊙ (g − (g · a)) row by row
        r = np.empty((D.shape[0], 1), dtype=D.dtype)
        ones_n = np.ones(D.shape[1], dtype=D.dtype)
        return [
            (np.multiply, (D, A, T)),
            (np.matmul, (T, ones_n, r[:, 0])),
            (np.subtract, (D, r, D)),
            (np.multiply, (D, A, D)),
        ]

    def onnx_nodes(self, x, y):
        return [("Softmax", [x], [y], {"axis": -1})]


ACTIVATIONS = {
    cls.name: cls for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, Swish, Softplus, Softmax)
}
ACTIVATIONS["linear"] = Identity
_BUILTIN = frozenset(ACTIVATIONS)


def register(cls):
    """Class decorator: make a user-defined Activation known by its ``name``.

    A registered class is found by ``get`` and by ``Network(activation=...)`` under its name,
    and a model file that uses it loads again (``deltaprop.load`` rebuilds it from the
    ``config()`` saved with the model: ``cls(**params)``). Loading only looks names up here; it
    never imports or runs code named by a file, so register the class before loading.

    Parameters
    ----------
    cls : type
        A subclass of Activation with its own ``name``; one with parameters also overrides
        ``config()`` to return them (and accepts them as keyword arguments).

    Returns
    -------
    type
        `cls`, unchanged.

    Raises
    ------
    DeltapropTypeError
        `cls` is not an Activation subclass.
    DeltapropError
        The name is missing, belongs to a built-in activation, or is registered to another
        class (registering a class of the same module and name again replaces it, as when a
        notebook cell is run twice).

    Examples
    --------
    >>> @register
    ... class Cube(Activation):
    ...     name = "cube"
    ...     def forward(self, z, out=None):
    ...         return np.power(z, 3, out=out)
    ...     def derivative(self, z, a):
    ...         return 3.0 * z * z
    >>> get("cube")
    Cube()
    >>> unregister("cube")
    """
    key = _registry.checked_key(cls, Activation, "activation", ACTIVATIONS, _BUILTIN)
    ACTIVATIONS[key] = cls
    return cls


def unregister(name: str) -> None:
    """Forget the user-defined activation registered under `name` (built-ins stay)."""
    _registry.remove(name, "activation", ACTIVATIONS, _BUILTIN)


def is_known(name) -> bool:
    """Whether `name` is a built-in or registered activation (what a model file may name)."""
    return isinstance(name, str) and name.lower() in ACTIVATIONS


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
        raise DeltapropError(f"activation={_short(name)} is unknown; expected one of: {valid}")
    cls = ACTIVATIONS[name.lower()]
    try:
        return cls(**params)
    except TypeError:
        accepted = tuple(inspect.signature(cls).parameters)
        raise DeltapropError(
            f"activation {name!r} got parameters {params}; "
            f"{cls.__name__} accepts {accepted or 'no parameters'}"
        ) from None
