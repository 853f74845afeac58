"""What the page draws, computed from the network as plain data.

- ``heatmaps``: every neuron's activation a_j^l over the input plane (one forward pass of the
  grid), quantised to bytes, and the decision regions (the predicted class and how sure);
- ``selected_point``: one training point's forward and backward pass by ``Network.backprop``
  (z^l, a^l, δ^l, ∂C/∂W^l, ∂C/∂b^l) and the one-point gradient step w − η ∂C/∂w;
- ``gradient_norms``: ‖∂C/∂W^l‖ per layer over the training set, where vanishing gradients show.
"""

from __future__ import annotations

import base64

import numpy as np

from ..network import Network
from .data import PlaneData

__all__ = ["heatmaps", "selected_point", "gradient_norms", "encode_bytes", "formulas"]


def encode_bytes(a: np.ndarray) -> str:
    """An array of uint8 as base64 text (a JSON string the page decodes with ``atob``)."""
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _quantise(A: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Values in [−scale, scale] as bytes 0..255 (128 is zero), one block per column."""
    q = np.rint(A / scale * 127.5 + 127.5)
    np.clip(q, 0, 255, out=q)
    return q.T.astype(np.uint8)


def _scales(net: Network, data: PlaneData, l: int, A: np.ndarray) -> np.ndarray:
    """The colour scale of layer l's neurons: the activation's bound, else the largest |a|."""
    if l == 0:
        x0, x1, y0, y1 = data.domain
        return np.array([max(abs(x0), abs(x1)), max(abs(y0), abs(y1))])
    lo, hi = net.layer_activations[l - 1].output_range
    if np.isfinite(lo) and np.isfinite(hi):
        return np.full(A.shape[1], max(abs(lo), abs(hi)))
    return np.maximum(np.abs(A).max(axis=0), 1e-12)


def heatmaps(net: Network, data: PlaneData) -> dict:
    """Each neuron's activation over the grid (neuron-major bytes, 128 = 0) and the regions.

    Returns
    -------
    dict
        ``layers``: for l = 0..L, ``{"scale": [s_j], "data": base64}`` where byte
        q = 127.5 (1 + a_j^l / s_j); ``region``: ``labels`` (the predicted class per cell)
        and ``confidence`` (255 where one output holds all of the positive output mass,
        0 where the outputs are equal), base64 bytes in the grid's order.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        _, acts = net.forward_trace(data.grid)
    # A network near divergence may overflow on the grid: infinities saturate the colours.
    acts = [np.nan_to_num(A, nan=0.0, posinf=1e300, neginf=-1e300) for A in acts]
    layers = []
    for l, A in enumerate(acts):
        scale = _scales(net, data, l, A)
        layers.append({"scale": scale.tolist(), "data": encode_bytes(_quantise(A, scale))})
    out = acts[-1]
    labels = net.predicted_labels(out)
    mass = np.clip(out, 0.0, None)
    total = mass.sum(axis=1)
    k = out.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, mass.max(axis=1) / total, 1.0 / k)
    confidence = np.clip((share - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0) * 255
    return {
        "layers": layers,
        "region": {"labels": encode_bytes(labels), "confidence": encode_bytes(confidence)},
    }


def selected_point(net: Network, x: np.ndarray, label: int, lr: float) -> dict:
    """One point's z, a, δ and gradients by ``Network.backprop``, and the step it implies.

    Returns
    -------
    dict
        ``x``, ``y`` (the one-hot target), ``label``, ``zs`` (L lists), ``activations``
        (L + 1 lists, a^0 = x), ``deltas`` (L lists), ``gradients`` (``weights``: ∂C/∂W^l as
        nested lists shaped like ``Network.weights``, ``biases``), ``cost`` (C_x),
        ``lr``, ``new_weights``/``new_biases`` (W − η ∂C/∂W, b − η ∂C/∂b) and ``cost_after``
        (C_x with them).
    """
    X = np.asarray(x, dtype=net.dtype)[None, :]
    Y = net.one_hot(np.array([label]))
    g = net.backprop(X, Y)  # BP1–BP4 for one sample: the per-sample gradient itself
    new_w = [W - lr * dW for W, dW in zip(net.weights, g.weights)]
    new_b = [b - lr * db for b, db in zip(net.biases, g.biases)]
    after = net.copy()
    after.weights, after.biases = new_w, new_b
    return {
        "x": X[0].tolist(),
        "y": Y[0].tolist(),
        "label": int(label),
        "zs": [z[0].tolist() for z in g.zs],
        "activations": [a[0].tolist() for a in g.activations],
        "deltas": [d[0].tolist() for d in g.deltas],
        "gradients": {
            "weights": [w.tolist() for w in g.weights],
            "biases": [b.tolist() for b in g.biases],
        },
        "cost": g.cost,
        "lr": lr,
        "new_weights": [w.tolist() for w in new_w],
        "new_biases": [b.tolist() for b in new_b],
        "cost_after": after.cost(X, Y),
    }


def gradient_norms(gradient_weights: list) -> list:
    """‖∂C/∂W^l‖ (Frobenius) per layer l = 1..L."""
    return [float(np.linalg.norm(w)) for w in gradient_weights]


def formulas(net: Network) -> dict:
    """The formula text the step-through shows, as the parts write it (``^{…}``, ``_{…}``).

    ``output_rule`` is "fused" where the loss declares δ^L = a − y-like for this output
    activation, "BP1" for ∇_a C ⊙ σ'(z^L), "jacobian" for a σ that is not element-wise.
    """
    loss, out = net.loss, net.output_activation
    rule = "fused" if loss.is_fused(out) else ("BP1" if out.elementwise else "jacobian")
    return {
        "loss": str(getattr(loss, "formula", "") or ""),
        "gradient": str(getattr(loss, "gradient_formula", "") or ""),
        "fused": str(getattr(loss, "fused_formula", "") or ""),
        "output_rule": rule,
        "activations": [
            {
                "name": a.name,
                "formula": str(getattr(a, "formula", "") or ""),
                "derivative": str(getattr(a, "derivative_formula", "") or ""),
            }
            for a in net.layer_activations
        ],
    }
