"""Central finite differences of the cost, checked against backpropagation.

For every parameter w: ∂C/∂w ≈ (C(w + ε) − C(w − ε)) / 2ε, with error O(ε²). This costs two
forward passes per parameter, which is exactly why backpropagation (one forward and one
backward pass for all of them) is the method used to train; here it serves as the independent
reference that BP1–BP4 are implemented right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._validation import check_positive

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from .network import Network

__all__ = ["gradcheck", "GradcheckReport", "numerical_gradient"]


@dataclass
class GradcheckReport:
    """Result of ``gradcheck``.

    Attributes
    ----------
    errors : dict
        Relative error per parameter tensor, keys "W1", "b1", ..., "WL", "bL": the largest
        |numerical − backprop| over the tensor's entries divided by the tensor's largest
        gradient magnitude. A shared bias's "b" has one entry; a layer without bias has an
        empty "b" (error 0: nothing to check).
    max_error : float
        The largest of them.
    numerical, analytic : dict
        The finite-difference and backprop gradients, same keys.
    eps : float
    """

    errors: dict[str, float]
    max_error: float
    numerical: dict[str, np.ndarray]
    analytic: dict[str, np.ndarray]
    eps: float

    def passed(self, tol: float = 1e-7) -> bool:
        return self.max_error <= tol

    def __str__(self) -> str:
        lines = [
            f"gradient check (central differences, eps={self.eps:g})",
            f"{'tensor':>8}  {'shape':>12}  {'max rel. error':>14}",
        ]
        for key, err in self.errors.items():
            lines.append(f"{key:>8}  {str(self.analytic[key].shape):>12}  {err:14.3e}")
        lines.append(f"{'overall':>8}  {'':>12}  {self.max_error:14.3e}")
        return "\n".join(lines)


def _relative_error(num: np.ndarray, ana: np.ndarray) -> float:
    """The worst error relative to the tensor's scale: max |num − ana| / max(|num|, |ana|).

    Relative to the tensor's largest entry rather than entry by entry: the rounding noise of a
    finite difference (about machine epsilon · C / ε) would otherwise swamp entries that are
    nearly zero, while a wrong entry of any significant size still shows.
    """
    if num.size == 0:
        return 0.0
    scale = max(np.abs(num).max(), np.abs(ana).max())
    return float(np.abs(num - ana).max() / scale) if scale > 0 else 0.0


def numerical_gradient(net: Network, X: ArrayLike, Y: ArrayLike, eps: float = 1e-5) -> np.ndarray:
    """Central-difference ∂C/∂θ for every parameter, laid out like ``net.get_flat()``."""
    eps = check_positive(eps, "eps")
    Xc, single = net.check_inputs(X)
    Yc = net.check_targets(Y, Xc.shape[0], single)
    theta = net.parameters
    grad = np.empty(theta.size, dtype=np.float64)
    saved = theta.copy()

    def cost() -> float:
        with np.errstate(over="ignore"):
            zs, acts = net.forward_trace(Xc)
            return float(net.loss.sample_costs(zs[-1], acts[-1], Yc, net.output_activation).mean())

    try:
        for i in range(theta.size):
            theta[i] = saved[i] + eps
            plus = cost()
            theta[i] = saved[i] - eps
            minus = cost()
            theta[i] = saved[i]
            grad[i] = (plus - minus) / (2 * eps)
    finally:
        theta[...] = saved
    return grad


def gradcheck(net: Network, X: ArrayLike, Y: ArrayLike, eps: float = 1e-5) -> GradcheckReport:
    """Compare backprop's gradient with central finite differences for every weight and bias.

    Parameters
    ----------
    net : Network
    X : array, shape (m, n_0)
    Y : array, shape (m, n_L) or m class labels
    eps : float, default 1e-5
        The step ε. Truncation error grows as ε² and rounding error as machine epsilon · C / ε;
        in float64 they balance near ε ≈ (machine epsilon)^(1/3) ≈ 1e-5. Use a float64 network
        for checks at 1e-7.

    Returns
    -------
    GradcheckReport
        Printable; ``.max_error`` is the largest relative error over all parameters.

    Examples
    --------
    >>> from deltaprop import Network
    >>> net = Network([3, 4, 2], seed=0)
    >>> gradcheck(net, [[0.1, 0.2, 0.3]], [[0.0, 1.0]]).max_error < 1e-7
    True
    """
    numerical = numerical_gradient(net, X, Y, eps)
    grads = net.backprop(X, Y)
    num_W, num_b = net.parameter_views(numerical)
    errors: dict[str, float] = {}
    num: dict[str, np.ndarray] = {}
    ana: dict[str, np.ndarray] = {}
    for l in range(net.num_layers):
        for kind, n, a in (("W", num_W[l], grads.weights[l]), ("b", num_b[l], grads.biases[l])):
            key = f"{kind}{l + 1}"
            num[key], ana[key] = n, a
            errors[key] = _relative_error(n, a)
    return GradcheckReport(
        errors=errors, max_error=max(errors.values()), numerical=num, analytic=ana, eps=eps
    )
