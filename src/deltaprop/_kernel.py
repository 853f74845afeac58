"""The training step's fast path: BP1–BP4 into preallocated buffers.

``Network.backprop`` is the readable path that returns fresh arrays. Training calls the same
equations thousands of times per epoch, so here every intermediate (the batch, Z^l, A^l, Δ^l and
the flat gradient) lives in a buffer allocated once per batch size, every operation writes with
``out=`` or in place, and the batch-mean factor 1/m is folded into Δ^L once instead of being
applied to every gradient. The tests check that both paths give the same gradients.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Workspace"]


class Workspace:
    """Buffers and the step for one batch size m.

    Attributes
    ----------
    X, Y : (m, n_0) and (m, n_L) batch buffers (filled with ``np.take(..., out=)``).
    Z : list of (m, n_l) weighted inputs, l = 1..L.
    A : list of (m, n_l) activations, A[0] is X.
    D : list of (m, n_l) errors Δ^l (scaled by 1/m).
    grad : flat gradient laid out like the network's parameters, with views gW, gb.
    """

    def __init__(self, net, m, dropout=None, rng=None):
        dt = net.dtype
        self.net = net
        self.m = m
        self.X = np.empty((m, net.sizes[0]), dtype=dt)
        self.Y = np.empty((m, net.sizes[-1]), dtype=dt)
        self.Z = [np.empty((m, n), dtype=dt) for n in net.sizes[1:]]
        self.A = [self.X] + [np.empty((m, n), dtype=dt) for n in net.sizes[1:]]
        self.D = [np.empty((m, n), dtype=dt) for n in net.sizes[1:]]
        self.grad = np.empty_like(net._theta)
        self.gW, self.gb = net._views(self.grad)
        # Transposed views of W, made once: W.T is free, but creating the view object per call
        # is not at batch size 10.
        self.WT = [W.T for W in net._weights]
        self.fused = net.layer_activations[-1].name in net.loss.fused
        self.dropout = None
        if dropout is not None and any(p > 0 for p in dropout):
            # Inverted dropout: hidden activations are kept before (A_pre, for σ') and after
            # the mask (A, for the next layer and BP4).
            self.dropout = list(dropout)
            self.rng = rng
            self.A_pre = [None] + [np.empty((m, n), dtype=dt) for n in net.sizes[1:-1]]
            self.mask = [None] + [np.empty((m, n), dtype=dt) for n in net.sizes[1:-1]]

    def forward(self):
        """Z^l = A^{l−1} (W^l)ᵀ + b^l and A^l = σ_l(Z^l) for the batch in ``X``."""
        net, Z, A = self.net, self.Z, self.A
        L = len(Z)
        for l in range(L):
            np.matmul(A[l], self.WT[l], out=Z[l])
            Z[l] += net._biases[l]
            if self.dropout is not None and l < L - 1 and self.dropout[l] > 0:
                act_out = self.A_pre[l + 1]
                net.layer_activations[l].forward(Z[l], out=act_out)
                keep = 1.0 - self.dropout[l]
                mask = self.mask[l + 1]
                self.rng.random(out=mask, dtype=mask.dtype)
                np.less(mask, keep, out=mask)   # 1 where kept ...
                mask *= 1.0 / keep              # ... scaled so that E[mask] = 1
                np.multiply(act_out, mask, out=A[l + 1])
            else:
                net.layer_activations[l].forward(Z[l], out=A[l + 1])
        return A[-1]

    def backward(self):
        """Fill ``grad`` with ∂C/∂θ of the batch mean cost (BP1–BP4); returns ``grad``."""
        net, Z, A, D = self.net, self.Z, self.A, self.D
        L = len(Z)
        acts = net.layer_activations
        d = D[-1]
        if self.fused:
            net.loss.fused_delta(A[-1], self.Y, out=d)                          # BP1 (fused)
        else:
            np.copyto(d, net.loss.gradient(A[-1], self.Y))                    # BP1: ∇_a C ...
            acts[-1].backward(d, Z[-1], A[-1])                                # ... ⊙ σ'(z^L)
        d *= 1.0 / self.m          # the batch mean, folded in once for every layer below
        for l in range(L - 1, -1, -1):
            np.matmul(D[l].T, A[l], out=self.gW[l])                            # BP4
            np.sum(D[l], axis=0, out=self.gb[l])                               # BP3
            if l > 0:
                np.matmul(D[l], net._weights[l], out=D[l - 1])                 # BP2: δ W
                if self.dropout is not None and self.dropout[l - 1] > 0:
                    D[l - 1] *= self.mask[l]
                    acts[l - 1].backward(D[l - 1], Z[l - 1], self.A_pre[l])   # ⊙ σ'(z^{l−1})
                else:
                    acts[l - 1].backward(D[l - 1], Z[l - 1], A[l])            # ⊙ σ'(z^{l−1})
        return self.grad

    def batch_cost(self):
        """Mean C_x over the batch now in the buffers (after ``forward``)."""
        return float(self.net._cost_terms(self.Z[-1], self.A[-1], self.Y).mean())
