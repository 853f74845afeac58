"""Chapter 2's problem "backpropagation with linear neurons", run.

    python examples/book/linear_neurons.py

With σ(z) = z in every layer, σ'(z) = 1 and the four equations lose their ⊙ σ' factor:

    δ^L = a^L − y                    (BP1, quadratic cost)
    δ^l = (W^{l+1})ᵀ δ^{l+1}         (BP2)
    ∂C/∂b^l = δ^l,  ∂C/∂w^l_jk = a^{l−1}_k δ^l_j   (BP3, BP4 unchanged)

The whole network is then one affine map a^L = M x + c with M = W^3 W^2 W^1, so the gradient
also has a closed form: ∂C/∂W^1 = (W^3 W^2)ᵀ (a^L − y) xᵀ, averaged over the batch. The script
prints backprop's results for a batch of five samples, the simplified BP2 written out, and that
closed form.
"""

import numpy as np

import deltaprop as dp


def show(name, values):
    print(f"{name}:", " ".join(repr(float(v)) for v in np.ravel(values)))


rng = np.random.default_rng(7)
X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
net = dp.Network([3, 4, 4, 2], activation="identity", loss="quadratic", init="normal", seed=1)
g = net.backprop(X, Y)
W1, W2, W3 = net.weights
show("cost", g.cost)
show("dC/dW1", g.weights[0])
show("dC/db3", g.biases[2])

# BP1 and BP2 without σ': rows are samples, so (W^{l+1})ᵀ δ^{l+1} is δ^{l+1} W^{l+1}
delta3 = g.activations[-1] - Y
delta2 = delta3 @ W3
delta1 = delta2 @ W2
show("delta1 by hand", delta1)
print("max |delta by hand - backprop|:",
      max(np.abs(d - e).max() for d, e in zip((delta1, delta2, delta3), g.deltas)))  # fmt: skip

# The collapsed network: a^L = M x + c; ∂C/∂W^1 = mean over samples of (W^3 W^2)ᵀ (a − y) xᵀ
M = W3 @ W2 @ W1
c = W3 @ W2 @ net.biases[0] + W3 @ net.biases[1] + net.biases[2]
A = X @ M.T + c
print("max |a^L - (M x + c)|:", np.abs(A - g.activations[-1]).max())
show("dC/dW1 closed form", ((A - Y) @ W3 @ W2).T @ X / len(X))
