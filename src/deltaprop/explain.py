"""Backpropagation made visible: one gradient step traced number by number, and the nudge test.

``explain(net, x, y, lr)`` returns a :class:`Trace` of one step for one sample (or a batch of a
few): for every layer l and neuron j the weighted input z_j^l with the terms that formed it
(w_jk^l · a_k^{l−1} for each k, plus b_j^l) and a_j^l = σ(z_j^l); the cost; δ^L by BP1 with its
two factors; δ^l by BP2 with the sum Σ_k w_kj^{l+1} δ_k^{l+1} it came from; ∂C/∂b_j^l = δ_j^l
(BP3) and ∂C/∂w_jk^l = a_k^{l−1} δ_j^l (BP4) for every parameter; and w − η ∂C/∂w.

Every number in a trace is the engine's own (``Network.backprop``); next to it the trace keeps
the same quantity recomputed term by term in plain float arithmetic (the ``explicit`` and
``terms`` fields), so the two ways of computing it can be compared, and are in the tests.
What the step needs from the network's parts it asks them: each activation's σ′, whether the
loss fuses BP1 with the output activation, each output's share of the cost, and the formula
text the renderers show.

Layers are numbered as in the textbook: l = 0 is the input, l = 1..L the layers with weights.
Neurons are numbered from 1 (j, k = 1..n_l), as the textbook's w_jk^l is.

``nudge`` adds Δ to one weighted input z_j^l, propagates forward, and compares the change of
the cost with δ_j^l Δ, the derivation's first-order prediction. ``gradient_table`` lists
backprop's gradient beside central finite differences (``deltaprop.gradcheck``) per parameter.

``load_example`` (a JSON or TOML file, or a dict) and ``builtin_example("mazur")`` come from
``deltaprop.examples`` and are re-exported here, as are the data classes of
``deltaprop.trace``. Renderers (``render(obj, format=...)``: "text" via rich, "markdown",
"latex", "html") live in ``deltaprop._render``, which imports rich only when drawing text, so
this module needs numpy only.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import _render
from ._validation import (
    DeltapropError,
    DeltapropTypeError,
    _short,
    check_nonnegative,
    check_positive,
)
from .examples import (
    DEFAULT_LR,
    Example,
    builtin_example,
    builtin_example_path,
    builtin_examples,
    load_example,
)
from .gradcheck import gradcheck as _gradcheck
from .network import Network
from .trace import (
    CostTerm,
    GradientRow,
    GradientTable,
    HiddenDelta,
    LayerBackward,
    LayerForward,
    LayerStep,
    NeuronForward,
    NudgeResult,
    OutputDelta,
    ParamStep,
    SampleTrace,
    Term,
    Trace,
)

__all__ = [
    "explain",
    "Trace",
    "SampleTrace",
    "LayerForward",
    "NeuronForward",
    "CostTerm",
    "LayerBackward",
    "OutputDelta",
    "HiddenDelta",
    "LayerStep",
    "ParamStep",
    "Term",
    "nudge",
    "nudge_series",
    "NudgeResult",
    "gradient_table",
    "GradientTable",
    "GradientRow",
    "render",
    "load_example",
    "builtin_example",
    "builtin_examples",
    "builtin_example_path",
    "Example",
    "param_name",
    "to_rich",
    "parse_nudge",
    "DEFAULT_LR",
    "FORMATS",
]

#: Output formats of ``render``.
FORMATS = ("text", "markdown", "latex", "html")
_MAX_SAMPLES = 8
_MAX_PARAMETERS = 2000

# The parts' formula text a trace carries for the renderers, by attribute name.
_LOSS_TEXT = (
    "formula",
    "share_formula",
    "gradient_formula",
    "fused_formula",
    "formula_latex",
    "gradient_latex",
    "fused_latex",
    "share_latex",
)
_ACTIVATION_TEXT = ("formula", "derivative_formula", "formula_latex", "derivative_latex")


def param_name(kind: str, l: int, j: int | None, k: int | None = None) -> str:
    """ASCII name of a parameter in the textbook's notation: "w^2_12", "b^1_2", "w^1_3,12".

    Indices are 1-based; a comma separates j and k when either has two or more digits. A bias
    shared by the layer (``j`` None) is "b^1".
    """
    if kind == "b":
        return f"b^{l}" if j is None else f"b^{l}_{j}"
    sep = "," if (j or 0) > 9 or (k is not None and k > 9) else ""
    return f"w^{l}_{j}{sep}{k}"


def explain(
    net,
    x,
    y,
    lr=DEFAULT_LR,
    *,
    apply: bool = False,
    max_samples: int = _MAX_SAMPLES,
    max_parameters: int | None = _MAX_PARAMETERS,
    freeze_biases: bool = False,
) -> Trace:
    """Trace one gradient-descent step of ``net`` on (x, y), every number written out.

    Parameters
    ----------
    net : Network
        Not modified (unless ``apply``).
    x : array, shape (n_0,) for one sample or (m, n_0) for m ≤ ``max_samples`` samples
    y : array, shape (n_L,) or (m, n_L), or m integer class labels
    lr : float, default 0.5
        The learning rate η of the step (≥ 0).
    apply : bool, default False
        Also write the updated parameters into ``net``.
    max_samples : int, default 8
    max_parameters : int or None, default 2000
        A trace lists every parameter; larger networks are refused unless this is raised or None.
    freeze_biases : bool, default False
        A weights-only step: the biases keep their values (as in worked examples that update
        the weights only). Biases the network itself freezes (``train_biases``) are never
        updated either. Their gradients are traced all the same.

    Returns
    -------
    Trace
        Printable (``str``), renderable (``render``), ``to_dict()`` for JSON.

    Notes
    -----
    z_j^l = Σ_k w_jk^l a_k^{l−1} + b_j^l, a_j^l = σ(z_j^l);
    δ_j^L = ∂C/∂a_j^L σ'(z_j^L) (BP1; the loss's fused error, such as a_j − y_j, for the pairs
    it declares; Σ_i ∂C/∂a_i ∂a_i/∂z_j for an activation that is not element-wise, such as
    softmax with another loss); δ_j^l = (Σ_k w_kj^{l+1} δ_k^{l+1}) σ'(z_j^l) (BP2);
    ∂C/∂b_j^l = δ_j^l (BP3; Σ_j δ_j^l for a bias b^l shared by the layer);
    ∂C/∂w_jk^l = a_k^{l−1} δ_j^l (BP4), each averaged over the samples;
    w ← w − η ∂C/∂w, b ← b − η ∂C/∂b (unless the biases are frozen).

    Examples
    --------
    >>> net, x, y, lr = builtin_example("mazur")
    >>> trace = explain(net, x, y, lr)
    >>> round(trace.cost, 9), round(trace.param("w^2_11").new_value, 8)
    (0.298371109, 0.35891648)
    >>> round(explain(net, x, y, lr, freeze_biases=True).cost_after, 9)  # Mazur's step
    0.291027774
    """
    X, Y, lr = _check_explain(net, x, y, lr, max_samples, max_parameters)
    g = net.backprop(X, Y)
    Ws = [W.copy() for W in net.weights]
    bs = [b.copy() for b in net.biases]
    rule = _output_rule(net.loss, net.output_activation)
    samples = _samples(net, g, X, Y, Ws, bs, rule)
    updated = [t and not freeze_biases for t in net.trained_biases]
    new_Ws = [W - lr * dW for W, dW in zip(Ws, g.weights)]
    new_bs = [b - lr * db if u else b.copy() for b, db, u in zip(bs, g.biases, updated)]
    steps = [_layer_step(net, g, Ws, bs, new_Ws, new_bs, l, updated[l]) for l in range(len(Ws))]
    cost_after = _cost_with(net, new_Ws, new_bs, X, Y)
    if apply:
        net.weights = new_Ws
        net.biases = new_bs
    return Trace(
        sizes=list(net.sizes),
        activations=[a.name for a in net.layer_activations],
        loss=net.loss.name,
        output_rule=rule,
        lr=lr,
        samples=samples,
        cost=g.cost,
        steps=steps,
        weights=Ws,
        biases=bs,
        grad_weights=[w.copy() for w in g.weights],
        grad_biases=[b.copy() for b in g.biases],
        new_weights=new_Ws,
        new_biases=new_bs,
        cost_after=cost_after,
        applied=bool(apply),
        loss_text=_loss_text(net.loss),
        activation_text=[_text_of(act, _ACTIVATION_TEXT) for act in net.layer_activations],
        bias_modes=list(net.bias_modes),
        biases_updated=updated,
    )


def _samples(net, g, X, Y, Ws, bs, rule) -> list:
    """One SampleTrace per row of X: its forward pass, cost, and errors δ^L..δ^1."""
    factors = _Factors(net, g, Y)
    return [
        SampleTrace(
            index=s + 1,
            x=X[s].tolist(),
            y=Y[s].tolist(),
            forward=_forward_layers(net, g, Ws, bs, s),
            cost=float(factors.sample_costs[s]),
            cost_terms=factors.cost_terms(g, Y, s),
            backward=[_output_layer(net, g, Y, s, rule, factors)]
            + _hidden_layers(net, g, Ws, s, factors),
        )
        for s in range(X.shape[0])
    ]


def _cost_with(net, Ws, bs, X, Y) -> float:
    """C on (X, Y) with the given parameters (the network's own are not touched)."""
    with np.errstate(over="ignore"):
        zs, acts = _forward_with(net, Ws, bs, X)
        return float(net.loss.sample_costs(zs[-1], acts[-1], Y, net.output_activation).mean())


def _check_explain(net, x, y, lr, max_samples, max_parameters):
    """(X, Y, lr) checked, with the limits on the size of a trace."""
    if not isinstance(net, Network):
        raise DeltapropTypeError(f"net={_short(net)} is not a deltaprop Network")
    lr = check_nonnegative(lr, "lr")
    X, single = net.check_inputs(x, "x")
    Y = net.check_targets(y, X.shape[0], single, "y")
    m = X.shape[0]
    if m > max_samples:
        raise DeltapropError(
            f"x has {m} samples; explain traces at most max_samples={max_samples} "
            f"(a trace writes out every number of every sample)"
        )
    if max_parameters is not None and net.num_parameters > max_parameters:
        raise DeltapropError(
            f"the network has {net.num_parameters} parameters; explain lists each "
            f"one and is limited to max_parameters={max_parameters} (pass "
            f"max_parameters=None to trace it anyway)"
        )
    _check_finite_forward(net, X)
    return X, Y, lr


def _check_finite_forward(net, X) -> None:
    """Refuse weights and inputs whose forward pass overflows: a trace of infinities."""
    with np.errstate(all="ignore"):
        zs, acts = net.forward_trace(X)
        for l, (Z, A) in enumerate(zip(zs, acts[1:]), start=1):
            if not (np.isfinite(Z).all() and np.isfinite(A).all()):
                raise DeltapropError(
                    f"the forward pass overflows in layer {l} (z^{l} or a^{l} is not "
                    f"finite); expected weights and inputs whose products stay within "
                    f"floating-point range"
                )


def _fsum(values) -> float:
    """math.fsum, or the plain float sum where exact summation overflows."""
    values = list(values)
    try:
        return math.fsum(values)
    except (OverflowError, ValueError):
        with np.errstate(all="ignore"):
            return float(np.sum(np.asarray(values, dtype=np.float64)))


def _output_rule(loss, activation) -> str:
    """How δ^L is formed: "fused" where the loss says so, else "BP1" or, for σ that is not
    element-wise, "jacobian"."""
    if loss.is_fused(activation):
        return "fused"
    return "BP1" if activation.elementwise else "jacobian"


def _text_of(part, keys) -> dict:
    """A part's formula text attributes (markup or LaTeX), "" where it has none."""
    return {key: str(getattr(part, key, "") or "") for key in keys}


def _loss_text(loss) -> dict:
    """The loss's formula text, "" for what it does not give."""
    return _text_of(loss, _LOSS_TEXT)


class _Factors:
    """What the parts give for a whole batch: σ′ per layer, ∂C/∂a^L, the costs and shares."""

    def __init__(self, net, g, Y):
        acts, loss, aL = net.layer_activations, net.loss, g.activations[-1]
        # The engine formed these already unless the pair is fused; then they are formed here
        # for the explicit check of the fused error, where saturated outputs may overflow.
        with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
            self.sigma_primes = [
                act.derivative(z, a) if act.elementwise else None
                for act, z, a in zip(acts, g.zs, g.activations[1:])
            ]
            self.dC_da = loss.gradient(aL, Y)
            self.shares = loss.shares(aL, Y)
        self.sample_costs = loss.sample_costs(g.zs[-1], aL, Y, net.output_activation)

    def cost_terms(self, g, Y, s) -> list:
        """Each output's share of sample s's cost (value None where the loss gives none)."""
        a, y = g.activations[-1][s], Y[s]
        values = [None] * len(a) if self.shares is None else self.shares[s]
        return [
            CostTerm(j=j + 1, a=float(a[j]), y=float(y[j]), value=_float_or_none(v))
            for j, v in enumerate(values)
        ]


def _float_or_none(v):
    return None if v is None else float(v)


def _term(index, factor, value) -> Term:
    factor, value = float(factor), float(value)
    return Term(index=index + 1, factor=factor, value=value, product=factor * value)


def _forward_layers(net, g, Ws, bs, s) -> list:
    """Layers 1..L of sample s: each z_j^l with its terms w_jk a_k, and a_j^l."""
    layers = []
    for l, (act, mode) in enumerate(zip(net.layer_activations, net.bias_modes)):
        a_prev, W, b = g.activations[l][s], Ws[l], bs[l]
        neurons = []
        for j in range(W.shape[0]):
            terms = [_term(k, W[j, k], a_prev[k]) for k in range(W.shape[1])]
            bias = None if mode == "none" else float(b[0 if mode == "shared" else j])
            neurons.append(
                NeuronForward(
                    j=j + 1,
                    terms=terms,
                    bias=bias,
                    z=float(g.zs[l][s, j]),
                    a=float(g.activations[l + 1][s, j]),
                    explicit=_fsum([t.product for t in terms] + ([] if bias is None else [bias])),
                )
            )
        layers.append(LayerForward(l=l + 1, activation=act.name, neurons=neurons, bias=mode))
    return layers


def _output_layer(net, g, Y, s, rule, factors) -> LayerBackward:
    """δ^L of sample s, with BP1's factors: ∂C/∂a_j and σ′(z_j), or the Jacobian's terms.

    ``explicit`` is BP1's product (the Jacobian's sum for σ that is not element-wise) in plain
    floats; for a fused pair it checks the loss's fused error against the product it replaces.
    """
    act = net.output_activation
    z, a, y = g.zs[-1][s], g.activations[-1][s], Y[s]
    dC_da = factors.dC_da[s]
    n = a.shape[0]
    jac = None if act.elementwise else _jacobian(act, z, a)
    neurons = []
    for j in range(n):
        if jac is None:
            sp = float(factors.sigma_primes[-1][s, j])
            terms, explicit = None, float(dC_da[j]) * sp
        else:
            terms = [_term(i, jac[i, j], dC_da[i]) for i in range(n)]
            sp, explicit = None, _fsum(t.product for t in terms)
        neurons.append(
            OutputDelta(
                j=j + 1,
                rule=rule,
                a=float(a[j]),
                y=float(y[j]),
                dC_da=float(dC_da[j]),
                sigma_prime=sp,
                terms=terms,
                delta=float(g.deltas[-1][s, j]),
                explicit=explicit,
            )
        )
    return LayerBackward(l=net.num_layers, activation=act.name, rule=rule, neurons=neurons)


def _jacobian(act, z, a):
    """∂a_i/∂z_j at row i, column j, from the activation's own backward applied to each e_i."""
    n = a.shape[0]
    eye = np.eye(n, dtype=a.dtype)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore", under="ignore"):
        return act.backward(eye, np.repeat(z[None, :], n, 0), np.repeat(a[None, :], n, 0))


def _hidden_layers(net, g, Ws, s, factors) -> list:
    """δ^l of sample s for l = L−1..1 by BP2, each with the terms w_kj^{l+1} δ_k^{l+1}."""
    layers = []
    for l in range(net.num_layers - 2, -1, -1):
        Wn, dn = Ws[l + 1], g.deltas[l + 1][s]
        wsum = dn @ Wn
        neurons = []
        for j in range(Wn.shape[1]):
            terms = [_term(k, Wn[k, j], dn[k]) for k in range(Wn.shape[0])]
            sp = float(factors.sigma_primes[l][s, j])
            neurons.append(
                HiddenDelta(
                    j=j + 1,
                    terms=terms,
                    weighted_sum=float(wsum[j]),
                    sigma_prime=sp,
                    delta=float(g.deltas[l][s, j]),
                    explicit=_fsum(t.product for t in terms) * sp,
                )
            )
        act = net.layer_activations[l]
        layers.append(LayerBackward(l=l + 1, activation=act.name, rule="BP2", neurons=neurons))
    return layers


def _layer_step(net, g, Ws, bs, new_Ws, new_bs, l, updated) -> LayerStep:
    """Layer l + 1's gradients (BP4, BP3) with each sample's contribution, and the step."""
    A, D = g.activations[l], g.deltas[l]
    m = A.shape[0]
    weights, biases = [], []
    for j in range(Ws[l].shape[0]):
        for k in range(Ws[l].shape[1]):
            contrib = [float(A[s, k]) * float(D[s, j]) for s in range(m)]
            weights.append(
                ParamStep(
                    name=param_name("w", l + 1, j + 1, k + 1),
                    kind="w",
                    l=l + 1,
                    j=j + 1,
                    k=k + 1,
                    value=float(Ws[l][j, k]),
                    a_prev=A[:, k].tolist(),
                    delta=D[:, j].tolist(),
                    contributions=contrib,
                    grad=float(g.weights[l][j, k]),
                    explicit=_fsum(contrib) / m,
                    new_value=float(new_Ws[l][j, k]),
                )
            )
    mode = net.bias_modes[l]
    for i in range(bs[l].shape[0]):
        bj = None if mode == "shared" else i + 1
        # BP3: δ_j per sample, or Σ_j δ_j per sample for a bias that every neuron adds
        contrib = D[:, i].tolist() if bj else [_fsum(D[s].tolist()) for s in range(m)]
        biases.append(
            ParamStep(
                name=param_name("b", l + 1, bj),
                kind="b",
                l=l + 1,
                j=bj,
                k=None,
                value=float(bs[l][i]),
                a_prev=None,
                delta=list(contrib),
                contributions=contrib,
                grad=float(g.biases[l][i]),
                explicit=_fsum(contrib) / m,
                new_value=float(new_bs[l][i]),
                updated=updated,
            )
        )
    return LayerStep(l=l + 1, weights=weights, biases=biases)


def _forward_with(net, Ws, bs, X, start=0, z_start=None):
    """zs and activations of X through the given parameters (the network's own are not touched).

    With ``z_start`` the pass begins at layer ``start`` (0-based) from that weighted input.
    """
    zs, acts = [], [X]
    a = X
    for l, (W, b, act) in enumerate(zip(Ws, bs, net.layer_activations)):
        if l < start:
            continue
        z = z_start if (l == start and z_start is not None) else a @ W.T + (b if b.size else 0)
        a = act.forward(z.copy())
        zs.append(z)
        acts.append(a)
    return zs, acts


# ---------------------------------------------------------------------------- the nudge test
def nudge(net, x, y, layer: int, neuron: int, delta: float = 1e-3) -> NudgeResult:
    """The nudge test: ΔC after z_j^l ← z_j^l + Δ, against δ_j^l Δ.

    Parameters
    ----------
    net : Network
        Not modified.
    x, y : one sample (or a batch: z_j^l is then nudged for every sample, and δ_j^l is the
        batch mean, so that δ_j^l Δ still predicts the change of the batch-mean cost)
    layer : int
        l, 1..L as in the textbook (layer 1 is the first layer with weights, L the output).
    neuron : int
        j, 1..n_l.
    delta : float, default 1e-3
        Δ, a finite non-zero number (negative allowed).

    Returns
    -------
    NudgeResult
        Printable; ``ratio`` = ΔC / (δ_j^l Δ).

    Notes
    -----
    δ_j^l = ∂C/∂z_j^l, so C(z_j^l + Δ) − C(z_j^l) = δ_j^l Δ + O(Δ²): the ratio tends to 1 with
    an error proportional to Δ.

    Examples
    --------
    >>> net, x, y, _ = builtin_example("mazur")
    >>> abs(nudge(net, x, y, layer=1, neuron=1, delta=1e-5).ratio - 1) < 1e-3
    True
    """
    if not isinstance(net, Network):
        raise DeltapropTypeError(f"net={_short(net)} is not a deltaprop Network")
    L = net.num_layers
    layer = _check_index(
        layer, "layer", L, f"layer 1 is the first layer with weights, {L} the output layer"
    )
    neuron = _check_index(
        neuron, "neuron", net.sizes[layer], f"layer {layer} has {net.sizes[layer]} neurons"
    )
    if (
        isinstance(delta, bool)
        or not isinstance(delta, numbers.Real)
        or not math.isfinite(delta)
        or delta == 0
    ):
        raise DeltapropError(
            f"delta={_short(delta)} is invalid; expected a finite non-zero number such as 1e-3"
        )
    delta = float(delta)
    X, single = net.check_inputs(x, "x")
    Y = net.check_targets(y, X.shape[0], single, "y")
    g = net.backprop(X, Y)
    z = g.zs[layer - 1].copy()
    z[:, neuron - 1] += delta
    with np.errstate(over="ignore"):
        zs, acts = _forward_with(net, net.weights, net.biases, X, start=layer - 1, z_start=z)
        cost_after = float(net.loss.sample_costs(zs[-1], acts[-1], Y, net.output_activation).mean())
    error = float(g.deltas[layer - 1][:, neuron - 1].mean())
    predicted = error * delta
    delta_cost = cost_after - g.cost
    ratio = delta_cost / predicted if predicted != 0 else math.nan
    return NudgeResult(
        layer=layer,
        neuron=neuron,
        delta=delta,
        cost_before=g.cost,
        cost_after=cost_after,
        delta_cost=delta_cost,
        error=error,
        predicted=predicted,
        ratio=ratio,
        samples=X.shape[0],
    )


def nudge_series(net, x, y, layer: int, neuron: int, deltas=(1e-1, 1e-2, 1e-3, 1e-4, 1e-5)) -> list:
    """``nudge`` for each Δ in ``deltas``: a list of NudgeResult showing the ratio approach 1."""
    deltas = list(deltas)
    if not deltas:
        raise DeltapropError("deltas is empty; expected at least one step such as 1e-3")
    return [nudge(net, x, y, layer, neuron, d) for d in deltas]


def _check_index(value, name, upper, why):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or not 1 <= value <= upper
    ):
        raise DeltapropError(
            f"{name}={_short(value)} is out of range; expected an integer from 1 to {upper} ({why})"
        )
    return int(value)


# ---------------------------------------------------------------------------- gradient table
def gradient_table(
    net, x, y, eps: float = 1e-6, *, max_parameters: int | None = _MAX_PARAMETERS
) -> GradientTable:
    """Backprop's gradient beside central finite differences, one row per parameter.

    Parameters
    ----------
    net : Network
        Not modified (``gradcheck`` restores every parameter it perturbs).
    x, y : a sample or a small batch
    eps : float, default 1e-6
        The finite-difference step ε.
    max_parameters : int or None, default 2000
        Refuse larger networks (two forward passes per parameter); None: no limit.

    Returns
    -------
    GradientTable
        Printable; ``rows`` of GradientRow named like "w^2_12", ``max_error`` from gradcheck.

    Examples
    --------
    >>> net, x, y, _ = builtin_example("mazur")
    >>> gradient_table(net, x, y).max_error < 1e-7
    True
    """
    if not isinstance(net, Network):
        raise DeltapropTypeError(f"net={_short(net)} is not a deltaprop Network")
    eps = check_positive(eps, "eps")
    if max_parameters is not None and net.num_parameters > max_parameters:
        raise DeltapropError(
            f"the network has {net.num_parameters} parameters; a gradient table runs two "
            f"forward passes per parameter and is limited to max_parameters="
            f"{max_parameters} (pass max_parameters=None to build it anyway)"
        )
    X, single = net.check_inputs(x, "x")
    Y = net.check_targets(y, X.shape[0], single, "y")
    _check_finite_forward(net, X)
    report = _gradcheck(net, X, Y, eps)
    rows = []
    for l in range(1, net.num_layers + 1):
        for kind in ("W", "b"):
            num, ana = report.numerical[f"{kind}{l}"], report.analytic[f"{kind}{l}"]
            shared = kind == "b" and net.bias_modes[l - 1] == "shared"
            for idx in np.ndindex(*ana.shape):
                j = None if shared else idx[0] + 1
                k = idx[1] + 1 if kind == "W" else None
                a, n = float(ana[idx]), float(num[idx])
                diff = abs(a - n)
                scale = max(abs(a), abs(n))
                rows.append(
                    GradientRow(
                        name=param_name(kind.lower(), l, j, k),
                        kind=kind.lower(),
                        l=l,
                        j=j,
                        k=k,
                        backprop=a,
                        numerical=n,
                        abs_diff=diff,
                        rel_diff=diff / scale if scale > 0 else 0.0,
                    )
                )
    return GradientTable(
        rows=rows, eps=eps, errors=dict(report.errors), max_error=float(report.max_error)
    )


# ---------------------------------------------------------------------------- rendering
def render(
    obj,
    format: str = "text",
    precision: int = 6,
    *,
    width: int | None = None,
    diagram: bool | None = None,
    naming: str = "textbook",
    matrix_form: bool = False,
    standalone: bool = True,
) -> str:
    """Render a Trace, NudgeResult, list of NudgeResult or GradientTable as a string.

    Parameters
    ----------
    obj : Trace, NudgeResult, list of NudgeResult, or GradientTable
    format : {"text", "markdown", "latex", "html"}
        "text" is drawn by rich (plain characters, no colour codes; without rich installed it
        falls back to the Markdown rendering); "latex" is a complete document (pdflatex,
        amsmath, booktabs) written in ASCII; "html" a self-contained page with every value
        escaped. Aliases: "md", "tex", "terminal".
    precision : int, default 6
        Digits after the decimal point (0 to 17).
    width : int, optional
        Line width of the "text" rendering (default 120).
    diagram : bool, optional
        For a Trace: draw the network with the step's numbers (z and a in each neuron, δ
        beside it, ∂C/∂w on each edge) as SVG in "html" (the default there), a TikZ picture
        in "latex" and a Mermaid flowchart in "markdown"; "text" draws none.
    naming : {"textbook", "mazur", "rowvector"}
        "mazur" names neurons and weights as the classic tutorial does (i1, h1, o1; w1…w8
        numbered layer by layer and row by row, so w5 = w²₁₁; net_h1 = z¹₁, out_h1 = a¹₁) in
        the drawing and adds a table of those names beside the textbook's.
    matrix_form : bool, default False
        For a Trace: add the step in matrix form, the textbook's eqs. 33–35, with the step's
        own matrices: Z = W A + b; δ^L = Σ′(z^L) ∇_a C with Σ′(z) the diagonal matrix of
        σ′(z_j) (the full Jacobian for softmax, and the loss's fused error beside the product
        it replaces); δ^l = Σ′(z^l) (W^{l+1})ᵀ δ^{l+1}; ∂C/∂W = δ (a^{l−1})ᵀ and the step.
        With several samples, the batch forms Δ^L = ∇_a C ⊙ σ′(Z^L) and
        Δ^l = ((W^{l+1})ᵀ Δ^{l+1}) ⊙ σ′(Z^l) too. Layers wider than 12 neurons are not shown.
    standalone : bool, default True
        "html" only: a complete page; False gives a ``<div>`` carrying its own scoped style,
        to embed in another page (what a Jupyter notebook shows).

    Returns
    -------
    str
    """
    return _render.render(
        obj, format=format, precision=precision, width=width, diagram=diagram, naming=naming,
        matrix_form=matrix_form, standalone=standalone,
    )  # fmt: skip


def to_rich(obj, precision: int = 6):
    """A rich renderable of what ``render`` accepts, for ``rich.console.Console().print``.

    Unlike ``render(obj, "text")`` (a plain string), printing this to a terminal keeps rich's
    styles (bold headings) and fits the terminal's width. Needs rich.
    """
    return _render.to_rich(obj, precision=precision)


def parse_nudge(text: str):
    """Parse "LAYER,NEURON[,DELTA]" (the command line's ``--nudge``) into (layer, neuron, delta).

    ``delta`` is None when not given. Raises ValueError with a one-line message.

    Examples
    --------
    >>> parse_nudge("2,1,1e-4")
    (2, 1, 0.0001)
    """
    parts = [p.strip() for p in str(text).split(",")]
    try:
        if len(parts) not in (2, 3):
            raise ValueError
        layer, neuron = int(parts[0]), int(parts[1])
        delta = float(parts[2]) if len(parts) == 3 else None
    except ValueError:
        raise DeltapropError(
            f"nudge={_short(text)} is invalid; expected LAYER,NEURON[,DELTA] such "
            f"as 2,1 or 2,1,1e-4 (layers 1..L, neurons from 1)"
        ) from None
    if delta is not None and (not math.isfinite(delta) or delta == 0):
        raise DeltapropError(
            f"nudge={_short(text)} has DELTA={parts[2]}; expected a finite non-zero "
            f"number such as 1e-4"
        )
    return layer, neuron, delta
