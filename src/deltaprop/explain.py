"""Backpropagation made visible: one gradient step traced number by number, and the nudge test.

``explain(net, x, y, lr)`` returns a :class:`Trace` of one step for one sample (or a batch of a
few): for every layer l and neuron j the weighted input z_j^l with the terms that formed it
(w_jk^l · a_k^{l−1} for each k, plus b_j^l) and a_j^l = σ(z_j^l); the cost; δ^L by BP1 with its
two factors; δ^l by BP2 with the sum Σ_k w_kj^{l+1} δ_k^{l+1} it came from; ∂C/∂b_j^l = δ_j^l
(BP3) and ∂C/∂w_jk^l = a_k^{l−1} δ_j^l (BP4) for every parameter; and w − η ∂C/∂w.

Every number in a trace is the engine's own (``Network.backprop``); next to it the trace keeps
the same quantity recomputed term by term in plain float arithmetic (the ``explicit`` and
``terms`` fields), so the two ways of computing it can be compared, and are in the tests.

Layers are numbered as in the textbook: l = 0 is the input, l = 1..L the layers with weights.
Neurons are numbered from 1 (j, k = 1..n_l), as the textbook's w_jk^l is.

``nudge`` adds Δ to one weighted input z_j^l, propagates forward, and compares the change of
the cost with δ_j^l Δ, the derivation's first-order prediction. ``gradient_table`` lists
backprop's gradient beside central finite differences (``deltaprop.gradcheck``) per parameter.

``load_example`` (a JSON or TOML file, or a dict) and ``builtin_example("mazur")`` come from
``deltaprop.examples`` and are re-exported here.

Renderers (``render(obj, format=...)``: "text" via rich, "markdown", "latex", "html") live in
``deltaprop._render`` and are imported only when used, so this module needs numpy only.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, is_dataclass

import numpy as np

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


# ---------------------------------------------------------------------------- the trace
class _Data:
    """Mixin: ``to_dict`` turning nested dataclasses, arrays and numpy scalars into plain data."""

    def to_dict(self) -> dict:
        """The object as JSON-ready plain data (dicts, lists, floats, ints, strings)."""
        return _plain(self)

    def render(self, format: str = "text", precision: int = 6, **kwargs) -> str:
        """Shorthand for ``deltaprop.explain.render(self, format, precision)``."""
        return render(self, format=format, precision=precision, **kwargs)


def _plain(obj):
    if is_dataclass(obj):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


@dataclass
class Term(_Data):
    """One product ``factor · value`` in a sum, with the running index ``index`` (1-based).

    In z_j^l: factor w_jk^l, value a_k^{l−1}, index k. In BP2's sum: factor w_kj^{l+1}, value
    δ_k^{l+1}, index k. In softmax's Jacobian-vector product: factor ∂a_i/∂z_j, value
    ∂C/∂a_i, index i.
    """

    index: int
    factor: float
    value: float
    product: float


@dataclass
class NeuronForward(_Data):
    """Neuron j of layer l in the forward pass.

    ``z`` and ``a`` are the engine's; ``explicit`` is Σ_k w_jk a_k + b_j summed term by term.
    """

    j: int
    terms: list
    bias: float
    z: float
    a: float
    explicit: float


@dataclass
class LayerForward(_Data):
    """Layer l = 1..L of the forward pass: z^l = W^l a^{l−1} + b^l, a^l = σ(z^l)."""

    l: int
    activation: str
    neurons: list


@dataclass
class CostTerm(_Data):
    """Output j's share of the per-sample cost C_x (``value`` is None for a custom loss)."""

    j: int
    a: float
    y: float
    value: float | None


@dataclass
class OutputDelta(_Data):
    """δ_j^L for one sample.

    ``rule`` is "BP1" (δ = ∂C/∂a · σ'(z), factors ``dC_da`` and ``sigma_prime``), "fused"
    (δ = a − y, neither factor formed) or "jacobian" (δ_j = Σ_i ∂C/∂a_i ∂a_i/∂z_j, factors
    ``dC_da`` and the ``terms`` of the sum). ``delta`` is the engine's, ``explicit`` the rule's
    arithmetic.
    """

    j: int
    rule: str
    a: float
    y: float
    dC_da: float | None
    sigma_prime: float | None
    terms: list | None
    delta: float
    explicit: float


@dataclass
class HiddenDelta(_Data):
    """δ_j^l = (Σ_k w_kj^{l+1} δ_k^{l+1}) σ'(z_j^l) for one sample (BP2).

    ``weighted_sum`` is the engine's ((δ^{l+1} W^{l+1})_j), ``terms`` the sum's products.
    """

    j: int
    terms: list
    weighted_sum: float
    sigma_prime: float
    delta: float
    explicit: float


@dataclass
class LayerBackward(_Data):
    """The errors δ^l of one layer, one sample; ``rule``: "BP1", "fused", "jacobian" or "BP2"."""

    l: int
    activation: str
    rule: str
    neurons: list


@dataclass
class SampleTrace(_Data):
    """Forward and backward pass of sample ``index`` (1-based).

    ``forward`` holds layers 1..L, ``backward`` layers L..1 (the order BP1 and BP2 run in).
    """

    index: int
    x: list
    y: list
    forward: list
    cost: float
    cost_terms: list
    backward: list


@dataclass
class ParamStep(_Data):
    """One parameter's gradient and update.

    ``kind`` "w" (w_jk^l, ∂C/∂w = mean over samples of a_k^{l−1} δ_j^l, BP4) or "b" (b_j^l,
    ∂C/∂b = mean of δ_j^l, BP3; ``k`` and ``a_prev`` are None). ``a_prev``, ``delta`` and
    ``contributions`` have one entry per sample; ``grad`` is the engine's, ``explicit`` the
    mean of ``contributions``; ``new_value`` = value − η grad.
    """

    name: str
    kind: str
    l: int
    j: int
    k: int | None
    value: float
    a_prev: list | None
    delta: list
    contributions: list
    grad: float
    explicit: float
    new_value: float


@dataclass
class LayerStep(_Data):
    """Gradients and updates of layer l: ``weights`` row by row (j, then k), then ``biases``."""

    l: int
    weights: list
    biases: list


@dataclass(repr=False, eq=False)
class Trace(_Data):
    """One gradient-descent step traced: see ``explain``.

    Attributes
    ----------
    sizes, activations, loss : the network (activation names for layers 1..L).
    output_rule : "BP1", "fused" or "jacobian" — how δ^L was formed.
    lr : float
        The learning rate η.
    samples : list of SampleTrace
    cost : float
        C, the mean of the samples' C_x.
    steps : list of LayerStep
        Layers 1..L.
    weights, biases, grad_weights, grad_biases, new_weights, new_biases : lists of ndarray
        W^l and b^l before the step, ∂C/∂W^l and ∂C/∂b^l (``Network.backprop``'s), and
        W^l − η ∂C/∂W^l, b^l − η ∂C/∂b^l.
    cost_after : float
        C on the same samples with the updated parameters.
    applied : bool
        Whether the step was applied to the network.
    """

    sizes: list
    activations: list
    loss: str
    output_rule: str
    lr: float
    samples: list
    cost: float
    steps: list
    weights: list
    biases: list
    grad_weights: list
    grad_biases: list
    new_weights: list
    new_biases: list
    cost_after: float
    applied: bool = False

    @property
    def num_layers(self) -> int:
        return len(self.sizes) - 1

    def param(self, name: str) -> ParamStep:
        """The ParamStep of a parameter named as ``param_name`` names it: "w^2_12", "b^1_2"."""
        for step in self.steps:
            for p in step.weights + step.biases:
                if p.name == name:
                    return p
        raise KeyError(f"no parameter named {name!r}; names look like 'w^2_12' or 'b^1_2'")

    def __repr__(self):
        return (
            f"Trace(sizes={self.sizes}, activations={self.activations}, loss={self.loss!r}, "
            f"samples={len(self.samples)}, cost={self.cost:.6g}, lr={self.lr:g})"
        )

    def __str__(self):
        return render(self, "text")


def param_name(kind: str, l: int, j: int, k: int | None = None) -> str:
    """ASCII name of a parameter in the textbook's notation: "w^2_12", "b^1_2", "w^1_3,12".

    Indices are 1-based; a comma separates j and k when either has two or more digits.
    """
    if kind == "b":
        return f"b^{l}_{j}"
    sep = "," if j > 9 or k > 9 else ""
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

    Returns
    -------
    Trace
        Printable (``str``), renderable (``render``), ``to_dict()`` for JSON.

    Notes
    -----
    z_j^l = Σ_k w_jk^l a_k^{l−1} + b_j^l, a_j^l = σ(z_j^l);
    δ_j^L = ∂C/∂a_j^L σ'(z_j^L) (BP1; a_j − y_j for the fused pairs; Σ_i ∂C/∂a_i ∂a_i/∂z_j for
    softmax with another loss); δ_j^l = (Σ_k w_kj^{l+1} δ_k^{l+1}) σ'(z_j^l) (BP2);
    ∂C/∂b_j^l = δ_j^l (BP3); ∂C/∂w_jk^l = a_k^{l−1} δ_j^l (BP4), each averaged over the samples;
    w ← w − η ∂C/∂w, b ← b − η ∂C/∂b.

    Examples
    --------
    >>> net, x, y, lr = builtin_example("mazur")
    >>> trace = explain(net, x, y, lr)
    >>> round(trace.cost, 9), round(trace.param("w^2_11").new_value, 8)
    (0.298371109, 0.35891648)
    """
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

    g = net.backprop(X, Y)
    Ws = [W.copy() for W in net.weights]
    bs = [b.copy() for b in net.biases]
    acts_fn = net.layer_activations
    L = net.num_layers
    out_act = acts_fn[-1]
    if out_act.name in net.loss.fused:
        rule = "fused"
    elif out_act.elementwise:
        rule = "BP1"
    else:
        rule = "jacobian"
    per_sample_cost = net.loss.sample_costs(g.zs[-1], g.activations[-1], Y, net.output_activation)
    sigma_primes = [
        act.derivative(z, a) if act.elementwise else None
        for act, z, a in zip(acts_fn, g.zs, g.activations[1:])
    ]
    dC_da = net.loss.gradient(g.activations[-1], Y) if rule != "fused" else None

    samples = []
    for s in range(m):
        forward = []
        for l in range(L):
            a_prev, W, b = g.activations[l][s], Ws[l], bs[l]
            neurons = []
            for j in range(W.shape[0]):
                terms = [_term(k, W[j, k], a_prev[k]) for k in range(W.shape[1])]
                neurons.append(
                    NeuronForward(
                        j=j + 1,
                        terms=terms,
                        bias=float(b[j]),
                        z=float(g.zs[l][s, j]),
                        a=float(g.activations[l + 1][s, j]),
                        explicit=math.fsum([t.product for t in terms] + [float(b[j])]),
                    )
                )
            forward.append(LayerForward(l=l + 1, activation=acts_fn[l].name, neurons=neurons))
        a_out, y_out = g.activations[-1][s], Y[s]
        cost_terms = [
            CostTerm(j=j + 1, a=float(a_out[j]), y=float(y_out[j]), value=v)
            for j, v in enumerate(_cost_shares(net.loss, a_out, y_out))
        ]
        backward = [_output_layer(net, g, s, rule, dC_da, sigma_primes[-1], Y)]
        for l in range(L - 2, -1, -1):
            Wn, dn = Ws[l + 1], g.deltas[l + 1][s]
            wsum = dn @ Wn
            neurons = []
            for j in range(Wn.shape[1]):
                terms = [_term(k, Wn[k, j], dn[k]) for k in range(Wn.shape[0])]
                sp = float(sigma_primes[l][s, j])
                neurons.append(
                    HiddenDelta(
                        j=j + 1,
                        terms=terms,
                        weighted_sum=float(wsum[j]),
                        sigma_prime=sp,
                        delta=float(g.deltas[l][s, j]),
                        explicit=math.fsum(t.product for t in terms) * sp,
                    )
                )
            backward.append(
                LayerBackward(l=l + 1, activation=acts_fn[l].name, rule="BP2", neurons=neurons)
            )
        samples.append(
            SampleTrace(
                index=s + 1,
                x=X[s].tolist(),
                y=Y[s].tolist(),
                forward=forward,
                cost=float(per_sample_cost[s]),
                cost_terms=cost_terms,
                backward=backward,
            )
        )

    new_Ws = [W - lr * dW for W, dW in zip(Ws, g.weights)]
    new_bs = [b - lr * db for b, db in zip(bs, g.biases)]
    steps = []
    for l in range(L):
        A, D = g.activations[l], g.deltas[l]
        wsteps, bsteps = [], []
        for j in range(Ws[l].shape[0]):
            for k in range(Ws[l].shape[1]):
                contrib = [float(A[s, k]) * float(D[s, j]) for s in range(m)]
                wsteps.append(
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
                        explicit=math.fsum(contrib) / m,
                        new_value=float(new_Ws[l][j, k]),
                    )
                )
        for j in range(Ws[l].shape[0]):
            contrib = D[:, j].tolist()
            bsteps.append(
                ParamStep(
                    name=param_name("b", l + 1, j + 1),
                    kind="b",
                    l=l + 1,
                    j=j + 1,
                    k=None,
                    value=float(bs[l][j]),
                    a_prev=None,
                    delta=list(contrib),
                    contributions=contrib,
                    grad=float(g.biases[l][j]),
                    explicit=math.fsum(contrib) / m,
                    new_value=float(new_bs[l][j]),
                )
            )
        steps.append(LayerStep(l=l + 1, weights=wsteps, biases=bsteps))

    with np.errstate(over="ignore"):
        zs_after, acts_after = _forward_with(net, new_Ws, new_bs, X)
        cost_after = float(
            net.loss.sample_costs(zs_after[-1], acts_after[-1], Y, net.output_activation).mean()
        )
    if apply:
        net.weights = new_Ws
        net.biases = new_bs
    return Trace(
        sizes=list(net.sizes),
        activations=[a.name for a in acts_fn],
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
    )


def _term(index, factor, value) -> Term:
    factor, value = float(factor), float(value)
    return Term(index=index + 1, factor=factor, value=value, product=factor * value)


def _output_layer(net, g, s, rule, dC_da, sigma_prime, Y) -> LayerBackward:
    """δ^L of sample s by the rule that applies (BP1, fused, or the softmax Jacobian)."""
    act = net.layer_activations[-1]
    z, a, y = g.zs[-1][s], g.activations[-1][s], Y[s]
    n = a.shape[0]
    jac = None
    if rule == "jacobian":
        # Row i of backward(e_i) is ∂a_i/∂z_· : the activation's own backward builds its Jacobian.
        eye = np.eye(n, dtype=a.dtype)
        jac = act.backward(eye, np.repeat(z[None, :], n, 0), np.repeat(a[None, :], n, 0))
    neurons = []
    for j in range(n):
        common = dict(
            j=j + 1, rule=rule, a=float(a[j]), y=float(y[j]), delta=float(g.deltas[-1][s, j])
        )
        if rule == "fused":
            scale = math.fsum(y.tolist()) if net.loss.name == "cross_entropy" else 1.0
            neurons.append(
                OutputDelta(
                    dC_da=None,
                    sigma_prime=None,
                    terms=None,
                    explicit=float(a[j]) * scale - float(y[j]),
                    **common,
                )
            )
        elif rule == "BP1":
            d, sp = float(dC_da[s, j]), float(sigma_prime[s, j])
            neurons.append(
                OutputDelta(dC_da=d, sigma_prime=sp, terms=None, explicit=d * sp, **common)
            )
        else:
            terms = [_term(i, jac[i, j], dC_da[s, i]) for i in range(n)]
            neurons.append(
                OutputDelta(
                    dC_da=float(dC_da[s, j]),
                    sigma_prime=None,
                    terms=terms,
                    explicit=math.fsum(t.product for t in terms),
                    **common,
                )
            )
    return LayerBackward(l=net.num_layers, activation=act.name, rule=rule, neurons=neurons)


def _cost_shares(loss, a, y) -> list:
    """Each output's share of C_x for the built-in losses (None for others)."""
    a, y = [float(v) for v in a], [float(v) for v in y]
    n = len(a)
    if loss.name == "quadratic":
        return [0.5 * (ai - yi) ** 2 for ai, yi in zip(a, y)]
    if loss.name == "mse":
        return [(ai - yi) ** 2 / n for ai, yi in zip(a, y)]
    if loss.name == "binary_cross_entropy":
        return [-(yi * _safe_log(ai) + (1 - yi) * _safe_log(1 - ai)) for ai, yi in zip(a, y)]
    if loss.name == "cross_entropy":
        return [-yi * _safe_log(ai) if yi else 0.0 for ai, yi in zip(a, y)]
    return [None] * n


def _safe_log(v):
    return math.log(v) if v > 0 else -math.inf


def _forward_with(net, Ws, bs, X, start=0, z_start=None):
    """zs and activations of X through the given parameters (the network's own are not touched).

    With ``z_start`` the pass begins at layer ``start`` (0-based) from that weighted input.
    """
    zs, acts = [], [X]
    a = X
    for l, (W, b, act) in enumerate(zip(Ws, bs, net.layer_activations)):
        if l < start:
            continue
        z = z_start if (l == start and z_start is not None) else a @ W.T + b
        a = act.forward(z.copy())
        zs.append(z)
        acts.append(a)
    return zs, acts


# ---------------------------------------------------------------------------- the nudge test
@dataclass
class NudgeResult(_Data):
    """What ``nudge`` measured.

    Attributes
    ----------
    layer, neuron : int
        l (1..L) and j (1..n_l).
    delta : float
        Δ, added to z_j^l.
    cost_before, cost_after : float
        C, and C after z_j^l ← z_j^l + Δ and a forward pass through the layers above.
    delta_cost : float
        ΔC = cost_after − cost_before.
    error : float
        δ_j^l = ∂C/∂z_j^l by backprop (averaged over the samples for a batch).
    predicted : float
        δ_j^l Δ, the first-order prediction of ΔC.
    ratio : float
        ΔC / (δ_j^l Δ); → 1 as Δ → 0 (NaN when δ_j^l = 0).
    samples : int
    """

    layer: int
    neuron: int
    delta: float
    cost_before: float
    cost_after: float
    delta_cost: float
    error: float
    predicted: float
    ratio: float
    samples: int = 1

    def __str__(self):
        return render(self, "text")


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
@dataclass
class GradientRow(_Data):
    """One parameter: backprop's ∂C/∂θ, the central difference, and how far apart they are.

    ``rel_diff`` = |backprop − numerical| / max(|backprop|, |numerical|) (0 when both are 0);
    entries near zero show rounding noise here, hence also ``abs_diff``.
    """

    name: str
    kind: str
    l: int
    j: int
    k: int | None
    backprop: float
    numerical: float
    abs_diff: float
    rel_diff: float


@dataclass
class GradientTable(_Data):
    """Rows layer by layer (weights row-major, then biases); ``errors``: gradcheck's per tensor."""

    rows: list
    eps: float
    errors: dict
    max_error: float

    def __str__(self):
        return render(self, "text")


def gradient_table(net, x, y, eps: float = 1e-6) -> GradientTable:
    """Backprop's gradient beside central finite differences, one row per parameter.

    Parameters
    ----------
    net : Network
        Not modified (``gradcheck`` restores every parameter it perturbs).
    x, y : a sample or a small batch
    eps : float, default 1e-6
        The finite-difference step ε.

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
    X, single = net.check_inputs(x, "x")
    Y = net.check_targets(y, X.shape[0], single, "y")
    report = _gradcheck(net, X, Y, eps)
    rows = []
    for l in range(1, net.num_layers + 1):
        for kind in ("W", "b"):
            num, ana = report.numerical[f"{kind}{l}"], report.analytic[f"{kind}{l}"]
            for idx in np.ndindex(*ana.shape):
                j = idx[0] + 1
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
def render(obj, format: str = "text", precision: int = 6, *, width: int | None = None) -> str:
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

    Returns
    -------
    str
    """
    from . import _render

    return _render.render(obj, format=format, precision=precision, width=width)


def to_rich(obj, precision: int = 6):
    """A rich renderable of what ``render`` accepts, for ``rich.console.Console().print``.

    Unlike ``render(obj, "text")`` (a plain string), printing this to a terminal keeps rich's
    styles (bold headings) and fits the terminal's width. Needs rich.
    """
    from . import _render

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
