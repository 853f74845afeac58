"""A traced step in matrix form: the textbook's eqs. 33–35, with the step's own matrices.

BP1 and BP2 multiply element by element (⊙). Written with Σ′(z), the diagonal matrix with
σ′(z_j) on its diagonal and zeros elsewhere, they become ordinary matrix products:

    δ^L = Σ′(z^L) ∇_a C                                        (33, BP1)
    δ^l = Σ′(z^l) (W^{l+1})ᵀ δ^{l+1}                           (34, BP2)
    δ^l = Σ′(z^l) (W^{l+1})ᵀ … Σ′(z^{L−1}) (W^L)ᵀ Σ′(z^L) ∇_a C  (35)

For a batch the samples are the columns of X = A⁰, Z^l = W^l A^{l−1} + b^l, A^l and Δ^l, and
Δ^L = ∇_a C ⊙ σ′(Z^L), Δ^l = ((W^{l+1})ᵀ Δ^{l+1}) ⊙ σ′(Z^l); ∂C/∂W^l = (1/m) Δ^l (A^{l−1})ᵀ
(BP4) and ∂C/∂b^l = (1/m) Δ^l 1 (BP3). An output activation that is not element-wise (softmax)
has no diagonal Σ′: its Jacobian J, J_ij = ∂a_i/∂z_j, is shown whole and δ^L = Jᵀ ∇_a C. A loss
that fuses BP1 (δ^L = a^L − y) is shown as the engine computes it, beside the product it
replaces.

Every number shown is the trace's (``deltaprop.trace``): the matrices are assembled from its
per-neuron records, nothing is recomputed here. ``blocks`` builds ``Equation`` blocks among the
headings and paragraphs of ``deltaprop._blocks``; ``text``, ``latex`` and ``html`` write an
equation, given the function that writes inline parts in that format (``deltaprop._render``'s).
"""

from __future__ import annotations

import html as _html
from dataclasses import dataclass

from ._blocks import Alt, H, Num, P, Sym, Txt

__all__ = ["Matrix", "Equation", "blocks", "text", "latex", "html", "MAX_NEURONS", "CSS"]

#: Widest layer shown: beyond it the matrices are no longer legible.
MAX_NEURONS = 12


@dataclass
class Matrix:
    """A matrix of formatted entries; ``name`` identifies it ("W2", "Sigma'(z2)") in HTML."""

    name: str
    rows: list


@dataclass
class Equation:
    """lhs = side = side …; a side is a list of inline parts and Matrix items."""

    lhs: list
    sides: list
    tag: str = ""


# ---------------------------------------------------------------------------- trace → matrices
class _Step:
    """The trace's numbers as matrices (samples as columns), formatted with ``fmt``."""

    def __init__(self, t, fmt):
        self.t, self.fmt = t, fmt
        self.L, self.m = t.num_layers, len(t.samples)

    def mat(self, name, values) -> Matrix:
        return Matrix(name, [[self.fmt.fixed(v) for v in row] for row in values])

    def columns(self, name, per_sample) -> Matrix:
        """A matrix whose column s is ``per_sample(sample s)``."""
        cols = [per_sample(s) for s in self.t.samples]
        return self.mat(name, [list(r) for r in zip(*cols)])

    def forward(self, l, key):
        return lambda s: [getattr(n, key) for n in s.forward[l - 1].neurons]

    def backward(self, s, l):
        return s.backward[self.L - l].neurons  # backward runs L..1

    def deltas(self, l) -> Matrix:
        return self.columns(f"delta{l}", lambda s: [n.delta for n in self.backward(s, l)])

    def sigma_diag(self, s, l) -> Matrix:
        sp = [n.sigma_prime for n in self.backward(s, l)]
        rows = [["0"] * len(sp) for _ in sp]
        for j, v in enumerate(sp):
            rows[j][j] = self.fmt.fixed(v)
        return Matrix(f"Sigma'(z{l})", rows)

    def jacobian_t(self, s) -> Matrix:
        """Jᵀ of the output activation: row j holds ∂a_i/∂z_j for i = 1..n (the trace's terms)."""
        out = self.backward(s, self.L)
        return self.mat("J^T", [[term.factor for term in n.terms] for n in out])


def _vec(step, name, values) -> Matrix:
    return step.mat(name, [[v] for v in values])


def _sym(base, l, sub=""):
    return Sym(base, str(l), sub)


_SIGMA = Alt("Σ′", r"\Sigma'")
_NABLA = [Sym("∇", "", "a"), "C"]
_JT = Alt("Jᵀ", "J^{T}")


def blocks(t, fmt, fused=()) -> list:
    """The matrix-form section of trace ``t`` (``fused``: the loss's fused formula, parts)."""
    out: list = [H(2, [Txt("The step in matrix form (eqs. 33–35)")])]
    if max(t.sizes) > MAX_NEURONS:
        why = f"Not shown: a layer of {max(t.sizes)} neurons makes matrices too wide to read."
        return out + [P([Txt(why)])]
    step = _Step(t, fmt)
    out.append(P(_intro(step)))
    out += _forward_blocks(step)
    out += _output_blocks(step, list(fused))
    for l in range(step.L - 1, 0, -1):
        out += _hidden_blocks(step, l)
    out += _gradient_blocks(step)
    return out


def _intro(step) -> list:
    L = step.L
    chain: list = [_sym("δ", 1), " = "]
    for l in range(1, L):
        chain += [_SIGMA, "(", _sym("z", l), ") (", _sym("W", l + 1), ")ᵀ "]
    diagonal = all(n.sigma_prime is not None for n in step.backward(step.t.samples[0], L))
    chain += [_SIGMA, "(", _sym("z", L), ") ", *_NABLA] if diagonal else [_JT, " ", *_NABLA]
    parts: list = [
        Txt("The same step, whole layers at once. "),
        _SIGMA,
        "(z)",
        Txt(" is the diagonal matrix with σ′("),
        Sym("z", "", "j"),
        Txt(") on its diagonal and zeros elsewhere, so BP1, "),
        *[_sym("δ", L), " = ", *_NABLA, " ⊙ σ′(", _sym("z", L), ")"],
        Txt(", is the matrix product "),
        *[_sym("δ", L), " = ", _SIGMA, "(", _sym("z", L), ") ", *_NABLA],
        Txt(" (33), and BP2 is "),
        *[_sym("δ", "l"), " = ", _SIGMA, "(", _sym("z", "l"), ") (", _sym("W", "l+1"), ")ᵀ "],
        _sym("δ", "l+1"),
        Txt(" (34); put together (35): "),
        *chain,
        Txt("."),
    ]
    if step.m > 1:
        parts += [
            Txt(f" For the batch, the {step.m} samples are the columns of "),
            *["X = ", _sym("A", 0), ", ", _sym("Z", "l"), ", ", _sym("A", "l")],
            Txt(" and "),
            _sym("Δ", "l"),
            Txt(", and "),
            _sym("b", "l"),
            Txt(" is added to every column; "),
            _SIGMA,
            Txt(" is shown for each sample."),
        ]
    return parts


def _forward_blocks(step) -> list:
    t, batch = step.t, step.m > 1
    z, a = ("Z", "A") if batch else ("z", "a")
    out: list = [H(3, [Txt("Forward pass: "), _sym(z, "l"), " = ", _sym("W", "l"), " ",
                       _sym(a, "l−1"), " + ", _sym("b", "l"), ", ", _sym(a, "l"), " = σ(",
                       _sym(z, "l"), ")"])]  # fmt: skip
    x = step.columns("A0", lambda s: s.x)
    for l in range(1, step.L + 1):
        prev = x if l == 1 else step.columns(f"A{l - 1}", step.forward(l - 1, "a"))
        W = step.mat(f"W{l}", t.weights[l - 1])
        b = _vec(step, f"b{l}", t.biases[l - 1])
        Z = step.columns(f"Z{l}", step.forward(l, "z"))
        A = step.columns(f"A{l}", step.forward(l, "a"))
        out.append(
            Equation(
                [_sym(z, l)],
                [
                    [_sym("W", l), " ", _sym(a, l - 1), " + ", _sym("b", l)],
                    [W, prev, " + ", b],
                    [Z],
                ],
            )
        )
        out.append(Equation([_sym(a, l)], [["σ(", _sym(z, l), ")"], [A]]))
    return out


def _sample_label(step, s) -> list:
    return [Txt(f"Sample {s.index}: ")] if step.m > 1 else []


def _output_blocks(step, fused) -> list:
    t, L = step.t, step.L
    rule = t.output_rule
    diagonal = all(n.sigma_prime is not None for n in step.backward(t.samples[0], L))
    factor = [_SIGMA, "(", _sym("z", L), ")"] if diagonal else [_JT]
    out: list = [H(3, [Txt("Output error: BP1 as "), _sym("δ", L), " = ", *factor, " ", *_NABLA])]
    tag = "33" if diagonal else "BP1"
    if not diagonal:
        out.append(P([Txt(f"The {t.activations[-1]} output is not element-wise: its Jacobian J, "),
                       Sym("J", "", "ij"), " = ∂", _sym("a", L, "i"), "/∂", _sym("z", L, "j"),
                       Txt(", is not diagonal, and takes the place of "), _SIGMA,
                       Txt(": "), _sym("δ", L), " = ", _JT, " ", *_NABLA,
                       Txt(" (row j of "), _JT, Txt(" holds ∂"), _sym("a", L, "i"),
                       "/∂", _sym("z", L, "j"), Txt(").")]))  # fmt: skip
    if rule == "fused":
        out.append(P([Txt(f"The {t.loss} loss with a {t.activations[-1]} output fuses BP1: "
                          "the engine computes "), *(fused or [_sym("δ", L)]),
                      Txt(" directly. Below it, the product it replaces, formed from the two "
                          "factors all the same.")]))  # fmt: skip
    for s in t.samples:
        neurons = step.backward(s, L)
        grad = _vec(step, f"dC/da{L}", [n.dC_da for n in neurons])
        delta = _vec(step, f"delta{L}", [n.delta for n in neurons])
        M = step.sigma_diag(s, L) if diagonal else step.jacobian_t(s)
        label = _sample_label(step, s)
        if rule == "fused":
            y = _vec(step, "y", [n.y for n in neurons])
            out.append(Equation([*label, "y"], [[y]]))
            out.append(Equation([_sym("δ", L)], [[delta]], "fused"))
            product = _vec(step, f"product{L}", [n.explicit for n in neurons])
            out.append(Equation([*factor, " ", *_NABLA], [[M, grad], [product]], tag))
        else:
            out.append(
                Equation([*label, _sym("δ", L)], [[*factor, " ", *_NABLA], [M, grad], [delta]],
                         tag)
            )  # fmt: skip
    if step.m > 1 and diagonal and rule == "BP1":
        G = step.columns(f"dC/dA{L}", lambda s: [n.dC_da for n in step.backward(s, L)])
        S = step.columns(f"sigma'(Z{L})", lambda s: [n.sigma_prime for n in step.backward(s, L)])
        out.append(Equation([_sym("Δ", L)], [[*_NABLA, " ⊙ σ′(", _sym("Z", L), ")"],
                                             [G, " ⊙ ", S], [step.deltas(L)]]))  # fmt: skip
    return out


def _hidden_blocks(step, l) -> list:
    t = step.t
    Wt = step.mat(f"W{l + 1}^T", t.weights[l].T)
    bp2 = [_SIGMA, "(", _sym("z", l), ") (", _sym("W", l + 1), ")ᵀ ", _sym("δ", l + 1)]
    out: list = [H(3, [Txt(f"Error of layer {l}: BP2 as "), _sym("δ", l), " = ", *bp2])]
    for s in t.samples:
        above = _vec(step, f"delta{l + 1}", [n.delta for n in step.backward(s, l + 1)])
        here = _vec(step, f"delta{l}", [n.delta for n in step.backward(s, l)])
        out.append(
            Equation(
                [*_sample_label(step, s), _sym("δ", l)],
                [bp2,
                 [step.sigma_diag(s, l), Wt, above], [here]],
                "34",
            )
        )  # fmt: skip
    if step.m > 1:
        WD = step.columns(f"W{l + 1}^T Delta{l + 1}",
                          lambda s: [n.weighted_sum for n in step.backward(s, l)])  # fmt: skip
        S = step.columns(f"sigma'(Z{l})", lambda s: [n.sigma_prime for n in step.backward(s, l)])
        out.append(Equation([_sym("Δ", l)], [["((", _sym("W", l + 1), ")ᵀ ", _sym("Δ", l + 1),
                                              ") ⊙ σ′(", _sym("Z", l), ")"],
                                             [WD, " ⊙ ", S], [step.deltas(l)]]))  # fmt: skip
    return out


def _gradient_blocks(step) -> list:
    t, m = step.t, step.m
    batch = m > 1
    d, a = ("Δ", "A") if batch else ("δ", "a")
    mean = ["(1/", Num(str(m)), ") "] if batch else []
    out: list = [H(3, [Txt("Gradients (BP3, BP4) and the step, η = "), Num(f"{t.lr:g}")])]
    for l in range(step.L, 0, -1):
        D = step.deltas(l)
        At = step.columns(f"A{l - 1}", step.forward(l - 1, "a") if l > 1 else lambda s: s.x)
        At = Matrix(f"A{l - 1}^T", [list(r) for r in zip(*At.rows)])
        gW = step.mat(f"dC/dW{l}", t.grad_weights[l - 1])
        gb = _vec(step, f"dC/db{l}", t.grad_biases[l - 1])
        out.append(Equation(["∂C/∂", _sym("W", l)],
                            [[*mean, _sym(d, l), " (", _sym(a, l - 1), ")ᵀ"], [*mean, D, At], [gW]],
                            "BP4"))  # fmt: skip
        ones = [*mean, _sym(d, l), " 1"] if batch else [_sym(d, l)]
        out.append(Equation(["∂C/∂", _sym("b", l)], [ones, [gb]], "BP3"))
        W = step.mat(f"W{l}", t.weights[l - 1])
        eta = Num(f"{t.lr:g}")
        out.append(Equation([_sym("W", l), " − η ∂C/∂", _sym("W", l)],
                            [[W, " − ", eta, " ", gW],
                             [step.mat(f"W{l} new", t.new_weights[l - 1])]]))  # fmt: skip
        out.append(Equation([_sym("b", l), " − η ∂C/∂", _sym("b", l)],
                            [[_vec(step, f"b{l}", t.biases[l - 1]), " − ", eta, " ", gb],
                             [_vec(step, f"b{l} new", t.new_biases[l - 1])]]))  # fmt: skip
    return out


# ---------------------------------------------------------------------------- text
_BRACKETS = {1: [("[", "]")], 2: [("⎡", "⎤"), ("⎣", "⎦")]}


def _matrix_lines(M: Matrix) -> list:
    widths = [max(len(r[c]) for r in M.rows) for c in range(len(M.rows[0]))]
    body = ["  ".join(v.rjust(w) for v, w in zip(r, widths)) for r in M.rows]
    n = len(body)
    marks = _BRACKETS.get(n) or [("⎡", "⎤")] + [("⎢", "⎥")] * (n - 2) + [("⎣", "⎦")]
    return [f"{lo} {line} {hi}" for (lo, hi), line in zip(marks, body)]


def _boxes(items, inline) -> list:
    """Each item as a box of lines: a Matrix drawn, runs of inline parts as one line."""
    out: list = []
    run: list = []
    for it in items + [None]:
        if isinstance(it, Matrix) or it is None:
            if run:
                out.append([inline(run)])
                run = []
            if it is not None:
                out.append(_matrix_lines(it))
        else:
            run.append(it)
    return out


def _join_boxes(boxes) -> list:
    """Boxes side by side, each centred on the same middle line."""
    height = max(len(b) for b in boxes)
    mid = height // 2
    lines = [""] * height
    for box in boxes:
        width = max(len(s) for s in box)
        top = mid - len(box) // 2
        for i in range(height):
            k = i - top
            lines[i] += (box[k] if 0 <= k < len(box) else "").ljust(width) + " "
    return [s.rstrip() for s in lines]


def _width(boxes) -> int:
    return max(len(s) for s in _join_boxes(boxes))


def text(eq: Equation, inline, width: int = 120) -> list:
    """Lines of the equation in monospace text; a side that does not fit on the line starts a
    new one under the first '=', as in a derivation written over several lines."""
    lhs = inline(eq.lhs)
    rows: list = [[[lhs]]]  # a row: boxes side by side
    for side in eq.sides:
        piece = [["="]] + _boxes(side, inline)
        if len(rows[-1]) > 1 and _width(rows[-1] + piece) > width:
            rows.append([[" " * len(lhs)]])
        rows[-1] = rows[-1] + piece
    if eq.tag:
        rows[-1].append([f" ({eq.tag})"])
    out: list = []
    for i, row in enumerate(rows):
        out += ([""] if i else []) + _join_boxes(row)
    return out


# ---------------------------------------------------------------------------- LaTeX
def _latex_matrix(M: Matrix) -> str:
    body = r" \\ ".join(" & ".join(r) for r in M.rows)
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def _latex_side(items, math) -> str:
    out: list = []
    for it in items:
        out.append(_latex_matrix(it) if isinstance(it, Matrix) else math([it]))
    return " ".join(s.strip() for s in out if s.strip())


def latex(eq: Equation, math) -> str:
    """An align* environment, one side per line, aligned on '='; ``math`` writes inline parts
    in math mode (prose parts in \\text)."""
    lhs = math(eq.lhs).strip()
    lines = []
    for i, side in enumerate(eq.sides):
        tag = rf" \tag{{{eq.tag}}}" if eq.tag and i == 0 else ""
        lines.append((lhs if i == 0 else "") + " &= " + _latex_side(side, math) + tag)
    return "{\\small\n\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}}"


# ---------------------------------------------------------------------------- HTML
CSS = """.eq{display:flex;flex-wrap:wrap;align-items:center;gap:.35em;margin:.7em 0;
font-family:Georgia,serif}.eq .side{display:inline-flex;align-items:center;gap:.35em;
white-space:nowrap}.eq .tag{margin-left:1.5em;color:#666}
.mat{display:inline-block;position:relative;padding:0 .35em;vertical-align:middle}
.mat::before,.mat::after{content:"";position:absolute;top:0;bottom:0;width:.3em;
border:1.5px solid #333}.mat::before{left:0;border-right:none}
.mat::after{right:0;border-left:none}.mat table{border-collapse:collapse;margin:0}
.mat td{border:none;padding:.05em .45em;text-align:right;font-size:.88em;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}.mat td.zero{color:#aaa}"""


def _html_matrix(M: Matrix) -> str:
    rows = "".join(
        "<tr>"
        + "".join(f'<td class="zero">{v}</td>' if v == "0" else f"<td>{v}</td>" for v in r)
        + "</tr>"
        for r in M.rows
    )
    return f'<span class="mat" data-name="{_html.escape(M.name)}"><table>{rows}</table></span>'


def html(eq: Equation, inline) -> str:
    """A flex row that wraps between sides; ``inline`` writes inline parts as HTML (each run of
    them one ``<span>``, so that sub- and superscripts stay in their line)."""
    out = [f'<div class="eq"><span class="side"><span>{inline(eq.lhs)}</span></span>']
    for side in eq.sides:
        items: list = []
        run: list = []
        for it in side + [None]:
            if isinstance(it, Matrix) or it is None:
                if run:
                    items.append(f"<span>{inline(run)}</span>")
                    run = []
                if it is not None:
                    items.append(_html_matrix(it))
            else:
                run.append(it)
        out.append(f'<span class="side"><span>=</span>{"".join(items)}</span>')
    if eq.tag:
        out.append(f'<span class="tag">({_html.escape(eq.tag)})</span>')
    return "".join(out) + "</div>"
