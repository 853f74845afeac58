"""The training step's fast path: BP1–BP4 into preallocated buffers.

``Network.backprop`` is the readable path that returns fresh arrays. Training calls the same
equations thousands of times per epoch, so here every intermediate (the batch, Z^l, A^l, Δ^l and
the flat gradient) lives in a buffer allocated once per batch size, and every operation writes
into one of them. The tests (tests/test_fastpath.py) check that both paths give the same
gradients.

At batch size 10 an epoch of [784, 30, 10] is 6,000 steps of about 30 numpy calls on arrays of a
few hundred numbers, so the cost is the number of calls, not the arithmetic. Hence:

- each step is a fixed list of calls built once per batch size (``functools.partial`` of a ufunc
  with every buffer, view (Wᵀ, Δᵀ) and constant bound in advance, ``out`` positional);
- each activation and loss gives its own fast form as a small fixed set of calls (σ' = a(1 − a) in
  two, the ReLU mask in one), without temporaries or per-call ``np.errstate``;
- BP3's row sum is the matrix-vector product 1ᵀΔ (one BLAS call; ``sum(axis=0)`` is a slower
  reduction);
- the batch mean 1/m, and the learning rate η when the optimizer allows it (``scale``), are
  folded into Δ^L once: by linearity every Δ^l, ∂C/∂W^l and ∂C/∂b^l below inherit the factor, so
  the gradient buffer already holds the SGD step η ∂C/∂θ;
- softmax + cross-entropy with one-hot rows (checked once per ``fit``) gives Δ^L = A − Y
  directly, without the row sums Σ_j y_j of the general fused error;
- a layer without bias has no bias call in either direction; a frozen bias's gradient is
  never computed and stays zero in ``grad`` (allocated zeroed), so no optimizer moves it; a
  shared bias takes BP3 summed over the layer's neurons, 1ᵀΔ1.

Overflow in e^{−z} (σ(z) for z ≪ 0) gives the right limit; ``fit`` runs the step under
``np.errstate(over="ignore")``.
"""

from __future__ import annotations

import functools
import math

import numpy as np

__all__ = ["Workspace"]

_add, _multiply, _matmul, _dot = np.add, np.multiply, np.matmul, np.dot


class Workspace:
    """Buffers and the step for one batch size m.

    Parameters
    ----------
    net : Network
    m : int
        Rows per batch.
    dropout : list of float, optional
        Inverted-dropout rate per hidden layer.
    rng : np.random.Generator, optional
        Draws the dropout masks.
    scale : float, default 1.0
        ``backward`` returns ``scale`` · ∂C/∂θ (``fit`` sets η here for plain SGD).
    one_hot : bool, default False
        Every target row is one-hot (Σ_j y_j = 1), so softmax + cross-entropy gives
        Δ^L = A − Y without the row sums.

    Attributes
    ----------
    X, Y : (m, n_0) and (m, n_L) batch buffers (filled with ``np.take(..., out=)``).
    Z : list of (m, n_l) weighted inputs, l = 1..L.
    A : list of (m, n_l) activations, A[0] is X.
    D : list of (m, n_l) errors Δ^l (scaled by scale/m).
    grad : flat gradient laid out like the network's parameters, with views gW, gb.
    """

    def __init__(self, net, m, dropout=None, rng=None, *, scale=1.0, one_hot=False):
        dt = net.dtype
        sizes = net.sizes
        acts = net.layer_activations
        self.net = net
        self.m = m
        self.scale = scale
        self.X = np.empty((m, sizes[0]), dtype=dt)
        self.Y = np.empty((m, sizes[-1]), dtype=dt)
        self.Z = [np.empty((m, n), dtype=dt) for n in sizes[1:]]
        # The identity activation's A^l is Z^l itself: no copy.
        self.A = [self.X] + [
            Z if act.is_identity else np.empty_like(Z) for Z, act in zip(self.Z, acts)
        ]
        self.D = [np.empty((m, n), dtype=dt) for n in sizes[1:]]
        self.grad = np.zeros_like(net.parameters)  # frozen biases keep their zero gradient
        self.gW, self.gb = net.parameter_views(self.grad)
        self.output_activation = acts[-1]
        self._ones = np.ones(m, dtype=dt)
        # Constants as 0-d arrays of the network's dtype: a Python float operand costs a
        # scalar conversion per call, twice the time of the operation itself at m = 10.
        self._one = np.ones((), dtype=dt)
        self._factor = np.ones((), dtype=dt)  # scale · k / m, refreshed when it changes
        self._factor_value = None
        self._scratch = [np.empty((m, n), dtype=dt) for n in sizes[1:]]
        self.dropout = None
        if dropout is not None and any(p > 0 for p in dropout):
            # Inverted dropout: hidden activations are kept before (A_pre, for σ') and after
            # the mask (A, for the next layer and BP4).
            self.dropout = list(dropout)
            self.rng = rng
            self.A_pre = [None] + [np.empty((m, n), dtype=dt) for n in sizes[1:-1]]
            self.mask = [None] + [np.empty((m, n), dtype=dt) for n in sizes[1:-1]]

        self._guarded = self._guarded_slices(net, acts)
        self._fwd = _bind(self._forward_program(net, acts))
        # BP1 before the factor scale/m: Δ^L = ∇_a C ⊙ σ'(z^L), or the fused error; the loss
        # writes it (over k, MSE's 2/n_L, folded with scale/m)
        bp1, self._k = net.loss.delta_ops(
            self.D[-1], self.Z[-1], self.A[-1], self.Y, acts[-1], self._scratch[-1], self._one,
            one_hot=one_hot,
        )  # fmt: skip
        self._bp1 = _bind(bp1)
        self._bwd = _bind(self._backward_program(net, acts))

    def _guarded_slices(self, net, acts):
        """The parts of the gradient whose finiteness implies that of all of it.

        Every bias gradient ∂C/∂b^l = 1ᵀΔ^l (BP3) is finite exactly when every Δ^l is. Then
        ∂C/∂W^l = Δ^lᵀ A^{l−1} (BP4) is finite too wherever A^{l−1} cannot be infinite: the
        input X (checked before training) and the output of a bounded σ (sigmoid, tanh): a NaN
        there reaches Δ^L through the forward pass. Only the layers fed by an unbounded σ
        (ReLU, identity, ...) need their weight gradients checked as well. (A product that
        overflows from finite factors makes the weights infinite; fit checks them after each
        epoch.)
        """
        slices = [self.grad[net.num_weights :]]
        for l in range(len(acts)):
            lo, hi = acts[l - 1].output_range if l else (0.0, 0.0)
            # Without a computed ∂C/∂b^l, ∂C/∂W^l stands for Δ^l: a non-finite δ_j of any
            # sample makes row j of Δᵀ A non-finite.
            if not net.trained_biases[l] or not (np.isfinite(lo) and np.isfinite(hi)):
                slices.append(self.gW[l].reshape(-1))
        return slices

    def gradient_is_finite(self) -> bool:
        """Whether every entry of ``grad`` is finite (a dot product per guarded slice)."""
        for g in self._guarded:
            if not math.isfinite(float(_dot(g, g))):
                return False
        return True

    def _forward_program(self, net, acts):
        """Z^l = A^{l−1} (W^l)ᵀ + b^l, A^l = σ_l(Z^l) (then the dropout mask) as calls."""
        fwd, L = [], len(acts)
        for l in range(L):
            Z = self.Z[l]
            fwd.append((_matmul, (self.A[l], net._weights[l].T, Z)))
            if net.bias_modes[l] != "none":  # a shared (1,) bias broadcasts over the neurons
                fwd.append((_add, (Z, net._biases[l], Z)))
            dropped = self.dropout is not None and l < L - 1 and self.dropout[l] > 0
            out = self.A_pre[l + 1] if dropped else self.A[l + 1]
            fwd += acts[l].forward_ops(Z, out, self._one)
            if dropped:
                fwd.append((self._draw_mask, (self.mask[l + 1], 1.0 - self.dropout[l])))
                fwd.append((_multiply, (out, self.mask[l + 1], self.A[l + 1])))
        return fwd

    def _backward_program(self, net, acts):
        """BP4, BP3 and BP2 from the output layer down, as calls."""
        bwd = []
        for l in range(len(acts) - 1, -1, -1):
            D = self.D[l]
            bwd.append((_matmul, (D.T, self.A[l], self.gW[l])))  # BP4: Δᵀ A
            bwd += self._bp3(net, l, D)
            if l > 0:
                Dp = self.D[l - 1]
                bwd.append((_matmul, (D, net._weights[l], Dp)))  # BP2: Δ W ...
                if self.dropout is not None and self.dropout[l - 1] > 0:
                    bwd.append((_multiply, (Dp, self.mask[l], Dp)))
                    a_prev = self.A_pre[l]
                else:
                    a_prev = self.A[l]
                bwd += acts[l - 1].backward_ops(  # ... ⊙ σ'(z)
                    Dp, self.Z[l - 1], a_prev, self._scratch[l - 1], self._one
                )
        return bwd

    def _bp3(self, net, l, D):
        """∂C/∂b^l = 1ᵀ Δ (BP3) as calls: summed over the neurons for a shared bias, none for a
        layer without bias or with frozen biases."""
        if not net.trained_biases[l]:
            return []
        if net.bias_modes[l] == "shared":
            return [(np.add.reduce, (D, None, None, self.gb[l].reshape(())))]
        return [(_matmul, (self._ones, D, self.gb[l]))]

    def _draw_mask(self, mask, keep):
        """1/keep where a uniform draw is below keep, 0 elsewhere (so that E[mask] = 1)."""
        self.rng.random(out=mask, dtype=mask.dtype)
        np.less(mask, keep, out=mask)
        mask *= 1.0 / keep

    @property
    def calls_per_step(self) -> int:
        """numpy calls in one training step (forward, BP1, the batch-mean factor, BP2–BP4)."""
        return len(self._fwd) + len(self._bp1) + 1 + len(self._bwd)

    def program(self) -> list:
        """The step's calls as (phase, name, call) with phase "forward", "BP1" or "backward".

        For profiling: running every call in order, with the batch-mean factor between BP1 and
        the backward phase, is one ``forward()`` plus ``backward()``.
        """
        out = []
        for phase, calls in (("forward", self._fwd), ("BP1", self._bp1), ("backward", self._bwd)):
            for call in calls:
                func = getattr(call, "func", call)
                name = getattr(func, "__name__", None) or type(func).__name__
                out.append((phase, name, call))
        return out

    def forward(self):
        """Z^l = A^{l−1} (W^l)ᵀ + b^l and A^l = σ_l(Z^l) for the batch in ``X``."""
        for op in self._fwd:
            op()
        return self.A[-1]

    def backward(self):
        """Fill ``grad`` with scale · ∂C/∂θ of the batch mean cost (BP1–BP4); returns ``grad``."""
        for op in self._bp1:
            op()
        # The batch mean (and η, MSE's 2/n_L), folded in once for every layer below.
        factor = self.scale * self._k / self.m
        if factor != self._factor_value:
            self._factor[()] = self._factor_value = factor
        _multiply(self.D[-1], self._factor, self.D[-1])
        for op in self._bwd:
            op()
        return self.grad

    def batch_cost(self):
        """Mean C_x over the batch now in the buffers (after ``forward``)."""
        costs = self.net.loss.sample_costs(self.Z[-1], self.A[-1], self.Y, self.output_activation)
        return float(costs.mean())


def _bind(program):
    """(function, arguments) pairs as argument-free calls (faster to call than f(*args))."""
    return [functools.partial(f, *args) for f, args in program]
