"""The data of an explained gradient step: plain dataclasses, nothing but numbers and text.

``deltaprop.explain`` builds these objects (``explain``, ``nudge``, ``gradient_table``) and
``deltaprop._render`` draws them; this module imports neither. Every object turns into
JSON-ready data with ``to_dict()``; ``render()`` and ``str()`` are shorthands that hand the
object to the renderers (imported only when called, and the renderers know nothing of this
module: they read the attributes).

Layers are numbered as in the textbook: l = 0 is the input, l = 1..L the layers with weights.
Neurons are numbered from 1 (j, k = 1..n_l), as the textbook's w_jk^l is.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

import numpy as np

__all__ = [
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
    "NudgeResult",
    "GradientTable",
    "GradientRow",
]


class _Data:
    """Mixin: ``to_dict`` turning nested dataclasses, arrays and numpy scalars into plain data."""

    def to_dict(self) -> dict:
        """The object as JSON-ready plain data (dicts, lists, floats, ints, strings)."""
        return _plain(self)

    def render(self, format: str = "text", precision: int = 6, **kwargs) -> str:
        """Shorthand for ``deltaprop.explain.render(self, format, precision)``."""
        from . import _render  # one way: the renderers never import this module

        return _render.render(self, format=format, precision=precision, **kwargs)

    def _repr_html_(self):
        """Jupyter's rich display: explain's HTML (a trace with the network drawn) as a
        ``<div>`` with its own scoped style; None for the parts of a trace."""
        if getattr(self, "_layout", None) is None:
            return None
        return self.render("html", standalone=False)

    def __str__(self):
        if getattr(self, "_layout", None) is None:
            return repr(self)
        return self.render("text")


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
    ``bias`` is b_j (b^l for a bias shared by the layer), None for a layer without bias.
    """

    j: int
    terms: list
    bias: float | None
    z: float
    a: float
    explicit: float


@dataclass
class LayerForward(_Data):
    """Layer l = 1..L of the forward pass: z^l = W^l a^{l−1} + b^l, a^l = σ(z^l).

    ``bias``: "neuron" (b_j^l), "shared" (one b^l for every neuron) or "none" (no bias term).
    """

    l: int
    activation: str
    neurons: list
    bias: str = "neuron"


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

    ``rule`` is "BP1" (δ = ∂C/∂a · σ'(z), factors ``dC_da`` and ``sigma_prime``), "jacobian"
    (δ_j = Σ_i ∂C/∂a_i ∂a_i/∂z_j, factors ``dC_da`` and the ``terms`` of the sum) or "fused"
    (the loss's ``fused_delta``, such as a − y, which the engine computes without forming
    either factor). ``delta`` is the engine's, ``explicit`` the rule's arithmetic in plain
    floats. For "fused" the factors are formed here all the same and ``explicit`` is BP1's
    product (or the Jacobian's sum) that the fusion replaces: it checks that the pair's fused
    error is right, and agrees with ``delta`` up to rounding unless a^L saturates (where the
    unfused product loses the precision that fusing keeps).
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
    ∂C/∂b = mean of δ_j^l, BP3; ``k`` and ``a_prev`` are None; for a bias b^l shared by the
    layer ``j`` is None too and ∂C/∂b = mean of Σ_j δ_j^l, so ``delta`` holds each sample's
    Σ_j δ_j^l). ``a_prev``, ``delta`` and ``contributions`` have one entry per sample;
    ``grad`` is the engine's, ``explicit`` the mean of ``contributions``; ``new_value`` =
    value − η grad, or value where ``updated`` is False (a frozen bias).
    """

    name: str
    kind: str
    l: int
    j: int | None
    k: int | None
    value: float
    a_prev: list | None
    delta: list
    contributions: list
    grad: float
    explicit: float
    new_value: float
    updated: bool = True


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
        W^l − η ∂C/∂W^l, b^l − η ∂C/∂b^l (b^l itself where the biases were not updated).
    cost_after : float
        C on the same samples with the updated parameters.
    applied : bool
        Whether the step was applied to the network.
    loss_text : dict
        The loss's formula text, by the loss's attribute names: "formula", "share_formula",
        "gradient_formula", "fused_formula" in explain's markup (``x_{sub}``, ``x^{sup}``,
        Unicode math otherwise; "" where the loss has none) and "formula_latex",
        "gradient_latex", "fused_latex" in LaTeX.
    activation_text : list of dict
        For layers 1..L, the activation's "formula", "derivative_formula" (markup) and
        "formula_latex", "derivative_latex".
    bias_modes : list of str
        For layers 1..L: "neuron", "shared" or "none" (``Network.bias_modes``).
    biases_updated : list of bool
        For layers 1..L, whether the step updated b^l (False: no bias, frozen biases, or
        ``explain(..., freeze_biases=True)``, a weights-only step).
    """

    _layout = "trace"

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
    loss_text: dict = field(default_factory=dict)
    activation_text: list = field(default_factory=list)
    bias_modes: list = field(default_factory=list)
    biases_updated: list = field(default_factory=list)

    @property
    def num_layers(self) -> int:
        return len(self.sizes) - 1

    def param(self, name: str) -> ParamStep:
        """The ParamStep of a parameter named as ``param_name`` names it: "w^2_12", "b^1_2"
        (a shared bias: "b^1")."""
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

    _layout = "nudge"

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


@dataclass
class GradientRow(_Data):
    """One parameter: backprop's ∂C/∂θ, the central difference, and how far apart they are.

    ``rel_diff`` = |backprop − numerical| / max(|backprop|, |numerical|) (0 when both are 0);
    entries near zero show rounding noise here, hence also ``abs_diff``.
    """

    name: str
    kind: str
    l: int
    j: int | None
    k: int | None
    backprop: float
    numerical: float
    abs_diff: float
    rel_diff: float


@dataclass
class GradientTable(_Data):
    """Rows layer by layer (weights row-major, then biases); ``errors``: gradcheck's per tensor."""

    _layout = "gradients"

    rows: list
    eps: float
    errors: dict
    max_error: float
