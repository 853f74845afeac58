"""Renderers for deltaprop.explain: terminal text (rich), Markdown, LaTeX and HTML.

Each object is first turned into format-neutral blocks (headings, paragraphs, tables) whose
inline parts are prose, math text, symbols in the textbook's notation (w_jk^l and friends) and
formatted numbers; each backend then writes those parts its own way (w²₁₂ in text and Markdown,
w^{2}_{12} in LaTeX, w<sup>2</sup><sub>12</sub> in HTML). So the four formats show the same
numbers, formatted once.
"""

from __future__ import annotations

import html as _html
import io
import math
import numbers
from dataclasses import dataclass

from ._validation import DeltapropError, DeltapropTypeError, _short

ALIASES = {
    "text": "text",
    "terminal": "text",
    "txt": "text",
    "markdown": "markdown",
    "md": "markdown",
    "latex": "latex",
    "tex": "latex",
    "html": "html",
}


# ---------------------------------------------------------------------------- inline parts
@dataclass(frozen=True)
class Sym:
    """A symbol with optional superscript and subscript: Sym("w", "2", "12") is w_12^2."""

    base: str
    sup: str = ""
    sub: str = ""

    def __post_init__(self):
        object.__setattr__(self, "sup", str(self.sup))
        object.__setattr__(self, "sub", str(self.sub))


@dataclass(frozen=True)
class Num:
    """A number already formatted."""

    text: str


@dataclass(frozen=True)
class Txt:
    """Prose (LaTeX writes it in text mode)."""

    text: str


@dataclass(frozen=True)
class Code:
    """A name such as a loss or activation (monospace where the format has it)."""

    text: str


@dataclass(frozen=True)
class Alt:
    """Math with a LaTeX spelling of its own: Alt("ln", r"\\ln")."""

    text: str
    latex: str


# Str parts are math text in Unicode; these are the characters they may hold beyond ASCII.
_LATEX_MATH = {
    "·": r"\cdot ",
    "−": "-",
    "σ": r"\sigma",
    "′": "'",
    "η": r"\eta ",
    "∂": r"\partial ",
    "½": r"\tfrac{1}{2}",
    "‖": r"\|",
    "←": r"\leftarrow ",
    "δ": r"\delta ",
    "Δ": r"\Delta ",
    "≈": r"\approx ",
    "→": r"\to ",
    "⊙": r"\odot ",
    "Σ": r"\sum ",
    "ε": r"\varepsilon ",
    "…": r"\ldots ",
    "×": r"\times ",
    "²": "^{2}",
    "α": r"\alpha ",
    "≤": r"\le ",
    "≥": r"\ge ",
    "θ": r"\theta ",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "_": r"\_",
    "~": r"\sim ",
    "^": r"\hat{}",
    "\\": r"\backslash ",
}
_LATEX_TEXT = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "–": "--",
    "—": "---",
    "’": "'",
    "·": r"$\cdot$",
    "→": r"$\to$",
    "…": r"\ldots{}",
    "η": r"$\eta$",
    "δ": r"$\delta$",
    "σ": r"$\sigma$",
    "Δ": r"$\Delta$",
    "ε": r"$\varepsilon$",
    "≤": r"$\le$",
    "′": "'",
    "θ": r"$\theta$",
    "−": "-",
    "|": r"$|$",
}
_LATEX_BASE = {"δ": r"\delta", "Σ": r"\sum", "Δ": r"\Delta", "σ": r"\sigma", "∂": r"\partial"}

_SUP = dict(zip("0123456789+-−()Llnijk=", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁽⁾ᴸˡⁿⁱʲᵏ⁼"))
_SUB = dict(zip("0123456789+-−()ijkxn=", "₀₁₂₃₄₅₆₇₈₉₊₋₋₍₎ᵢⱼₖₓₙ₌"))
_SUB[","] = ","


def _script(text, table, mark):
    if all(c in table for c in text):
        return "".join(table[c] for c in text)
    return f"{mark}({text})"


def _sym_unicode(s: Sym) -> str:
    out = s.base
    if s.sup:
        out += _script(s.sup, _SUP, "^")
    if s.sub:
        out += _script(s.sub, _SUB, "_")
    return out


def _inline_unicode(parts, escape=None) -> str:
    out = []
    for p in parts:
        if isinstance(p, Sym):
            out.append(_sym_unicode(p))
        elif isinstance(p, (Num, Alt)):
            out.append(p.text)
        elif isinstance(p, Code):
            out.append(f"`{p.text}`" if escape else p.text)
        else:
            text = p.text if isinstance(p, Txt) else p
            out.append(escape(text) if escape else text)
    return "".join(out)


def _md_escape(text: str) -> str:
    for c in "\\`*_|<":
        text = text.replace(c, "\\" + c)
    return text


def _latex_math(text: str) -> str:
    return "".join(_LATEX_MATH.get(c, c) for c in text)


def _latex_text(text: str) -> str:
    return "".join(_LATEX_TEXT.get(c, c) for c in text)


def _inline_latex(parts) -> str:
    out, math_buf = [], []

    def flush():
        if math_buf:
            out.append("$" + "".join(math_buf).strip() + "$")
            math_buf.clear()

    for p in parts:
        if isinstance(p, Txt):
            flush()
            out.append(_latex_text(p.text))
        elif isinstance(p, Code):
            flush()
            out.append(r"\texttt{" + _latex_text(p.text) + "}")
        elif isinstance(p, Sym):
            base = _LATEX_BASE.get(p.base, _latex_math(p.base))
            s = base
            if p.sup:
                s += "^{" + _latex_math(p.sup) + "}"
            if p.sub:
                s += "_{" + _latex_math(p.sub) + "}"
            math_buf.append(s + " ")
        elif isinstance(p, Alt):
            math_buf.append(p.latex + " ")
        elif isinstance(p, Num):
            math_buf.append(p.text)
        else:
            math_buf.append(_latex_math(p))
    flush()
    return "".join(out)


def _inline_html(parts) -> str:
    out = []
    for p in parts:
        if isinstance(p, Sym):
            base = _html.escape(p.base)
            s = base if p.base in "ΣΔ" else f"<i>{base}</i>"
            if p.sup:
                s += f"<sup>{_html.escape(p.sup)}</sup>"
            if p.sub:
                s += f"<sub>{_html.escape(p.sub)}</sub>"
            out.append(s)
        elif isinstance(p, Code):
            out.append(f"<code>{_html.escape(p.text)}</code>")
        elif isinstance(p, (Num, Txt, Alt)):
            out.append(_html.escape(p.text))
        else:
            out.append(_html.escape(p))
    return "".join(out)


# ---------------------------------------------------------------------------- blocks
@dataclass
class H:
    level: int
    parts: list


@dataclass
class P:
    parts: list


@dataclass
class Table:
    headers: list
    rows: list
    align: str  # one letter per column: l(eft), r(ight) or w(ide, wraps)


# ---------------------------------------------------------------------------- formatting numbers
class _Fmt:
    def __init__(self, precision):
        if (
            isinstance(precision, bool)
            or not isinstance(precision, numbers.Integral)
            or not 0 <= precision <= 17
        ):
            raise DeltapropError(
                f"precision={_short(precision)} is invalid; expected an integer "
                f"from 0 to 17 (digits after the decimal point)"
            )
        self.p = int(precision)

    def __call__(self, v) -> Num:
        """Fixed point with p digits after the decimal point."""
        return Num(self.fixed(v))

    def fixed(self, v) -> str:
        if v is None:
            return "–"
        v = float(v)
        if not math.isfinite(v):
            return str(v)
        s = f"{v:.{self.p}f}"
        if s.startswith("-") and float(s) == 0:
            s = s[1:]
        return s

    def sci(self, v, digits=None) -> Num:
        v = float(v)
        d = self.p if digits is None else digits
        return Num(f"{v:.{d}e}" if math.isfinite(v) else str(v))

    def factor(self, v) -> Num:
        """A number inside a product: negatives in parentheses."""
        s = self.fixed(v)
        return Num(f"({s})" if s.startswith("-") else s)


def _sum_parts(terms, fmt, extra=None) -> list:
    """factor·value + factor·value + … (+ extra)."""
    parts = []
    for i, t in enumerate(terms):
        if i:
            parts.append(" + ")
        parts += [fmt.factor(t.factor), " · ", fmt.factor(t.value)]
    if extra is not None:
        parts += [" + " if parts else "", fmt.factor(extra)]
    return parts


def _join(groups, sep=", ") -> list:
    """Parts of each group (a part or a list of parts), separated by ``sep``."""
    out = []
    for i, g in enumerate(groups):
        if i:
            out.append(sep)
        out += g if isinstance(g, list) else [g]
    return out


def _jk(j, k):
    j, k = str(j), str(k)
    return f"{j}{k}" if len(j) == 1 and len(k) == 1 else f"{j},{k}"


# ---------------------------------------------------------------------------- trace → blocks
_COST_FORMULA = {
    "quadratic": lambda L: [
        Sym("C", "", "x"),
        " = ½ ",
        Sym("Σ", "", "j"),
        " (",
        Sym("a", L, "j"),
        " − ",
        Sym("y", "", "j"),
        ")²",
    ],
    "mse": lambda L: [
        Sym("C", "", "x"),
        " = (1/n) ",
        Sym("Σ", "", "j"),
        " (",
        Sym("a", L, "j"),
        " − ",
        Sym("y", "", "j"),
        ")²",
    ],
    "binary_cross_entropy": lambda L: [
        Sym("C", "", "x"),
        " = −",
        Sym("Σ", "", "j"),
        " [",
        Sym("y", "", "j"),
        " ",
        Alt("ln ", r"\ln"),
        Sym("a", L, "j"),
        " + (1 − ",
        Sym("y", "", "j"),
        ") ",
        Alt("ln ", r"\ln"),
        "(1 − ",
        Sym("a", L, "j"),
        ")]",
    ],
    "cross_entropy": lambda L: [
        Sym("C", "", "x"),
        " = −",
        Sym("Σ", "", "j"),
        " ",
        Sym("y", "", "j"),
        " ",
        Alt("ln ", r"\ln"),
        Sym("a", L, "j"),
    ],
}
_COST_SHARE = {
    "quadratic": lambda: ["½(", Sym("a", "", "j"), " − ", Sym("y", "", "j"), ")²"],
    "mse": lambda: ["(", Sym("a", "", "j"), " − ", Sym("y", "", "j"), ")²/n"],
    "binary_cross_entropy": lambda: [
        "−[",
        Sym("y", "", "j"),
        " ",
        Alt("ln ", r"\ln"),
        Sym("a", "", "j"),
        " + (1 − ",
        Sym("y", "", "j"),
        ") ",
        Alt("ln ", r"\ln"),
        "(1 − ",
        Sym("a", "", "j"),
        ")]",
    ],
    "cross_entropy": lambda: ["−", Sym("y", "", "j"), " ", Alt("ln ", r"\ln"), Sym("a", "", "j")],
}
_DC_DA = {
    "quadratic": lambda: [Sym("a", "", "j"), " − ", Sym("y", "", "j")],
    "mse": lambda: ["2(", Sym("a", "", "j"), " − ", Sym("y", "", "j"), ")/n"],
    "binary_cross_entropy": lambda: [
        "(",
        Sym("a", "", "j"),
        " − ",
        Sym("y", "", "j"),
        ")/(",
        Sym("a", "", "j"),
        "(1 − ",
        Sym("a", "", "j"),
        "))",
    ],
    "cross_entropy": lambda: ["−", Sym("y", "", "j"), "/", Sym("a", "", "j")],
}
_SIGMA_PRIME = {
    "sigmoid": ["σ′(z) = a(1 − a)"],
    "tanh": ["σ′(z) = 1 − a²"],
    "relu": ["σ′(z) = 1 if z > 0, else 0"],
    "identity": ["σ′(z) = 1"],
    "leaky_relu": ["σ′(z) = 1 if z > 0, else α"],
    "softplus": ["σ′(z) = 1/(1 + ", Alt("e^{−z}", r"e^{-z}"), ")"],
}


def _name_sym(kind, l, j, k=None):
    return Sym(kind, str(l), str(j) if k is None else _jk(j, k))


def _trace_blocks(t, fmt) -> list:
    L = t.num_layers
    m = len(t.samples)
    blocks = [H(1, [Txt("One gradient-descent step, traced with BP1-BP4")])]
    intro = [Txt(f"Network sizes {t.sizes}; activations: ")]
    for l, name in enumerate(t.activations, 1):
        intro += [Txt(f"layer {l} "), Code(name), Txt(", " if l < L else "; ")]
    intro += [Txt("loss "), Code(t.loss)]
    if t.loss in _COST_FORMULA:
        intro += [Txt(", "), *_COST_FORMULA[t.loss](str(L))]
    intro += [
        Txt("; learning rate "),
        "η = ",
        Num(f"{t.lr:g}"),
        Txt(f"; {m} sample{'s' if m > 1 else ''}. Layer 0 is the input "),
        Sym("a", "0"),
        " = x",
        Txt("; indices j, k count neurons from 1."),
    ]
    blocks.append(P(intro))
    for s in t.samples:
        blocks += _sample_blocks(t, s, fmt, m)
    if m > 1:
        parts = [
            Txt("Cost of the batch: "),
            "C = (1/",
            Num(str(m)),
            ") ",
            Sym("Σ", "", "x"),
            " ",
            Sym("C", "", "x"),
            " = (",
            *_join([fmt(s.cost) for s in t.samples], " + "),
            ")/",
            Num(str(m)),
            " = ",
            fmt(t.cost),
        ]
        blocks.append(P(parts))
    blocks += _step_blocks(t, fmt, m)
    return blocks


def _sample_blocks(t, s, fmt, m) -> list:
    L = t.num_layers
    out = []
    lvl = 2
    if m > 1:
        out.append(H(2, [Txt(f"Sample {s.index}")]))
        lvl = 3

    def vec(vals):
        return ["(", *_join([fmt(v) for v in vals]), ")"]

    out.append(
        P(
            [
                Txt("Input "),
                "x = ",
                Sym("a", "0"),
                " = ",
                *vec(s.x),
                Txt(", target "),
                "y = ",
                *vec(s.y),
                Txt("."),
            ]
        )
    )

    # forward pass
    out.append(
        H(
            lvl,
            [
                Txt("Forward pass: "),
                Sym("z", "l"),
                " = ",
                Sym("w", "l"),
                " ",
                Sym("a", "l−1"),
                " + ",
                Sym("b", "l"),
                ", ",
                Sym("a", "l"),
                " = σ(",
                Sym("z", "l"),
                ")",
            ],
        )
    )
    for lf in s.forward:
        l = lf.l
        out.append(H(lvl + 1, [Txt(f"Layer {l} ("), Code(lf.activation), Txt(")")]))
        headers = [
            ["j"],
            [
                Sym("z", l, "j"),
                " = ",
                Sym("Σ", "", "k"),
                " ",
                Sym("w", l, "jk"),
                " ",
                Sym("a", l - 1, "k"),
                " + ",
                Sym("b", l, "j"),
            ],
            [Sym("z", l, "j")],
            [Sym("a", l, "j"), " = σ(", Sym("z", l, "j"), ")"],
        ]
        rows = [
            [[Num(str(n.j))], _sum_parts(n.terms, fmt, n.bias), [fmt(n.z)], [fmt(n.a)]]
            for n in lf.neurons
        ]
        out.append(Table(headers, rows, "rwrr"))

    # cost
    out.append(H(lvl, [Txt("Cost "), Sym("C", "", "x") if m > 1 else "C"]))
    share = _COST_SHARE.get(t.loss)
    headers = [["j"], [Sym("a", L, "j")], [Sym("y", "", "j")]] + ([share()] if share else [])
    rows = [
        [[Num(str(c.j))], [fmt(c.a)], [fmt(c.y)]] + ([[fmt(c.value)]] if share else [])
        for c in s.cost_terms
    ]
    out.append(Table(headers, rows, "rrr" + ("r" if share else "")))
    total = [Sym("C", "", "x") if m > 1 else "C", " = "]
    if share and all(c.value is not None for c in s.cost_terms):
        total += _join([fmt.factor(c.value) for c in s.cost_terms], " + ") + [" = "]
    total.append(fmt(s.cost))
    out.append(P(total))

    # backward pass
    for lb in s.backward:
        l = lb.l
        if lb.rule == "BP2":
            out.append(
                H(
                    lvl,
                    [
                        Txt(f"Error of layer {l} by BP2: "),
                        Sym("δ", l, "j"),
                        " = (",
                        Sym("Σ", "", "k"),
                        " ",
                        Sym("w", l + 1, "kj"),
                        " ",
                        Sym("δ", l + 1, "k"),
                        ") · σ′(",
                        Sym("z", l, "j"),
                        ")",
                    ],
                )
            )
            note = [Txt("Activation "), Code(lb.activation)]
            if lb.activation in _SIGMA_PRIME:
                note += [Txt(": "), *_SIGMA_PRIME[lb.activation]]
            out.append(P(note + [Txt(".")]))
            headers = [
                ["j"],
                [Sym("Σ", "", "k"), " ", Sym("w", l + 1, "kj"), " ", Sym("δ", l + 1, "k")],
                [Txt("sum")],
                ["σ′(", Sym("z", l, "j"), ")"],
                [Sym("δ", l, "j")],
            ]
            rows = [
                [
                    [Num(str(n.j))],
                    _sum_parts(n.terms, fmt),
                    [fmt(n.weighted_sum)],
                    [fmt(n.sigma_prime)],
                    [fmt(n.delta)],
                ]
                for n in lb.neurons
            ]
            out.append(Table(headers, rows, "rwrrr"))
        else:
            out += _output_error_blocks(t, lb, fmt, lvl)
    return out


def _output_error_blocks(t, lb, fmt, lvl) -> list:
    L = lb.l
    out = []
    if lb.rule == "fused":
        out.append(
            H(
                lvl,
                [
                    Txt("Output error (BP1, fused): "),
                    Sym("δ", L, "j"),
                    " = ",
                    Sym("a", L, "j"),
                    " − ",
                    Sym("y", "", "j"),
                ],
            )
        )
        extra = (
            Txt(" (a·Σy − y in general, which is a − y for targets that sum to 1)")
            if t.loss == "cross_entropy"
            else Txt("")
        )
        out.append(
            P(
                [
                    Code(lb.activation),
                    Txt(" output with "),
                    Code(t.loss),
                    Txt(" loss: the two factors of BP1 cancel and the engine computes "),
                    Sym("δ", L),
                    " = a − y",
                    extra,
                    Txt(" directly; this is the fused output error."),
                ]
            )
        )
        headers = [["j"], [Sym("a", L, "j")], [Sym("y", "", "j")], [Sym("δ", L, "j")]]
        rows = [[[Num(str(n.j))], [fmt(n.a)], [fmt(n.y)], [fmt(n.delta)]] for n in lb.neurons]
        out.append(Table(headers, rows, "rrrr"))
    elif lb.rule == "BP1":
        out.append(
            H(
                lvl,
                [
                    Txt("Output error by BP1: "),
                    Sym("δ", L, "j"),
                    " = ∂C/∂",
                    Sym("a", L, "j"),
                    " · σ′(",
                    Sym("z", L, "j"),
                    ")",
                ],
            )
        )
        note = []
        if t.loss in _DC_DA:
            note += [
                Txt("Loss "),
                Code(t.loss),
                Txt(": "),
                "∂C/∂",
                Sym("a", "", "j"),
                " = ",
                *_DC_DA[t.loss](),
                Txt("; "),
            ]
        note += [Txt("activation "), Code(lb.activation)]
        if lb.activation in _SIGMA_PRIME:
            note += [Txt(": "), *_SIGMA_PRIME[lb.activation]]
        out.append(P(note + [Txt(".")]))
        headers = [
            ["j"],
            ["∂C/∂", Sym("a", L, "j")],
            ["σ′(", Sym("z", L, "j"), ")"],
            [Sym("δ", L, "j")],
        ]
        rows = [
            [[Num(str(n.j))], [fmt(n.dC_da)], [fmt(n.sigma_prime)], [fmt(n.delta)]]
            for n in lb.neurons
        ]
        out.append(Table(headers, rows, "rrrr"))
    else:
        out.append(
            H(
                lvl,
                [
                    Txt("Output error through the softmax Jacobian: "),
                    Sym("δ", L, "j"),
                    " = ",
                    Sym("Σ", "", "i"),
                    " ∂",
                    Sym("a", L, "i"),
                    "/∂",
                    Sym("z", L, "j"),
                    " · ∂C/∂",
                    Sym("a", L, "i"),
                ],
            )
        )
        note = [
            Code(lb.activation),
            Txt(" is not element-wise, so BP1's factor "),
            "σ′(z)",
            Txt(" becomes its Jacobian, "),
            "∂",
            Sym("a", "", "i"),
            "/∂",
            Sym("z", "", "j"),
            " = ",
            Sym("a", "", "i"),
            "(1[i = j] − ",
            Sym("a", "", "j"),
            ")",
            Txt(" for softmax, and the error is the Jacobian-vector product"),
        ]
        if t.loss in _DC_DA:
            note += [
                Txt(" with "),
                "∂C/∂",
                Sym("a", "", "i"),
                " = ",
                *[_subst_i(p) for p in _DC_DA[t.loss]()],
                Txt(" (loss "),
                Code(t.loss),
                Txt(")"),
            ]
        out.append(P(note + [Txt(".")]))
        headers = [
            ["j"],
            ["∂C/∂", Sym("a", L, "j")],
            [
                Sym("Σ", "", "i"),
                " ∂",
                Sym("a", L, "i"),
                "/∂",
                Sym("z", L, "j"),
                " · ∂C/∂",
                Sym("a", L, "i"),
            ],
            [Sym("δ", L, "j")],
        ]
        rows = [
            [[Num(str(n.j))], [fmt(n.dC_da)], _sum_parts(n.terms, fmt), [fmt(n.delta)]]
            for n in lb.neurons
        ]
        out.append(Table(headers, rows, "rrwr"))
    return out


def _subst_i(p):
    return Sym(p.base, p.sup, p.sub.replace("j", "i")) if isinstance(p, Sym) else p


def _step_blocks(t, fmt, m) -> list:
    out = [
        H(2, [Txt("Gradients by BP3 and BP4, and the step "), "w ← w − η ∂C/∂w, b ← b − η ∂C/∂b"])
    ]
    mean = m > 1
    out.append(
        P(
            [
                Txt("BP3: "),
                "∂C/∂",
                Sym("b", "l", "j"),
                " = ",
                Sym("δ", "l", "j"),
                Txt("; BP4: "),
                "∂C/∂",
                Sym("w", "l", "jk"),
                " = ",
                Sym("a", "l−1", "k"),
                " ",
                Sym("δ", "l", "j"),
                Txt(f"{', each averaged over the ' + str(m) + ' samples' if mean else ''}; "),
                "η = ",
                Num(f"{t.lr:g}"),
                Txt("."),
            ]
        )
    )
    for step in reversed(t.steps):
        l = step.l
        out.append(H(3, [Txt(f"Layer {l}")]))
        headers = [[Txt("parameter "), "θ"], ["θ"], [Txt("BP4 / BP3")], ["∂C/∂θ"], ["θ − η ∂C/∂θ"]]
        rows = []
        for p in step.weights + step.biases:
            if p.kind == "w":
                sym = _name_sym("w", l, p.j, p.k)
                prods = [[fmt.factor(a), " · ", fmt.factor(d)] for a, d in zip(p.a_prev, p.delta)]
                formula = [Sym("a", l - 1, p.k), " ", Sym("δ", l, p.j), " = "]
            else:
                sym = _name_sym("b", l, p.j)
                prods = [[fmt.factor(d) if mean else fmt(d)] for d in p.delta]
                formula = [Sym("δ", l, p.j), " = "]
            if mean:
                formula = (
                    ["mean(", *formula[:-1], ") = ("] + _join(prods, " + ") + [")/", Num(str(m))]
                )
            else:
                formula += prods[0]
            rows.append([[sym], [fmt(p.value)], formula, [fmt(p.grad)], [fmt(p.new_value)]])
        out.append(Table(headers, rows, "lrwrr"))
    out.append(
        P(
            [
                Txt("Cost on the same sample" + ("s" if mean else "") + " after the step: "),
                "C = ",
                fmt(t.cost_after),
                Txt(" (before: "),
                fmt(t.cost),
                Txt(
                    ")"
                    + (
                        "; the step was applied to the network."
                        if t.applied
                        else "; the network itself was not changed."
                    )
                ),
            ]
        )
    )
    return out


# ---------------------------------------------------------------------------- nudge, gradients
def _nudge_blocks(r, fmt) -> list:
    z, d = Sym("z", r.layer, r.neuron), Sym("δ", r.layer, r.neuron)
    batch = (
        Txt(f" (for each of the {r.samples} samples; δ is their mean)")
        if r.samples > 1
        else Txt("")
    )
    out = [
        H(1, [Txt("The nudge test at "), z]),
        P(
            [
                Txt("Add "),
                "Δ",
                Txt(" to the weighted input "),
                z,
                batch,
                Txt(
                    ", propagate forward through the layers above, and compare the change of the "
                    "cost with "
                ),
                d,
                " Δ",
                Txt(": since "),
                d,
                " = ∂C/∂",
                z,
                ", ΔC ≈ ",
                d,
                " Δ",
                Txt(" for small "),
                "Δ",
                Txt("."),
            ]
        ),
    ]
    rows = [
        [["Δ"], [fmt.sci(r.delta)]],
        [["C", Txt(" before")], [fmt(r.cost_before)]],
        [["C", Txt(" after "), z, " ← ", z, " + Δ"], [fmt(r.cost_after)]],
        [["ΔC"], [fmt.sci(r.delta_cost)]],
        [[d, Txt(" (backprop)")], [_general(fmt, r.error)]],
        [[d, " Δ"], [fmt.sci(r.predicted)]],
        [["ΔC / (", d, " Δ)"], [fmt(r.ratio)]],
    ]
    out.append(Table([[Txt("quantity")], [Txt("value")]], rows, "lr"))
    return out


def _nudge_series_blocks(results, fmt) -> list:
    r0 = results[0]
    z, d = Sym("z", r0.layer, r0.neuron), Sym("δ", r0.layer, r0.neuron)
    out = [
        H(1, [Txt("The nudge test at "), z, Txt(" for shrinking "), "Δ"]),
        P(
            [
                Txt("C = "),
                fmt(r0.cost_before),
                Txt("; backprop's "),
                d,
                " = ",
                _general(fmt, r0.error),
                Txt(". The ratio ΔC / ("),
                d,
                Txt(" Δ) tends to 1 as Δ → 0, with an error proportional to Δ."),
            ]
        ),
    ]
    headers = [
        ["Δ"],
        ["C", Txt(" after")],
        ["ΔC"],
        [d, " Δ"],
        ["ΔC / (", d, " Δ)"],
        ["|ratio − 1|"],
    ]
    rows = [
        [
            [fmt.sci(r.delta)],
            [fmt(r.cost_after)],
            [fmt.sci(r.delta_cost)],
            [fmt.sci(r.predicted)],
            [fmt(r.ratio)],
            [fmt.sci(abs(r.ratio - 1), 2)],
        ]
        for r in results
    ]
    out.append(Table(headers, rows, "rrrrrr"))
    return out


def _general(fmt, v) -> Num:
    v = float(v)
    return fmt(v) if v == 0 or 1e-3 <= abs(v) < 1e6 else fmt.sci(v)


def _gradient_blocks(g, fmt) -> list:
    errs = []
    for i, (k, v) in enumerate(g.errors.items()):
        errs += ([Txt(", ")] if i else []) + [Txt(f"{k} "), Num(f"{v:.2e}")]
    out = [
        H(1, [Txt("Backprop against central finite differences")]),
        P(
            [
                Txt("Finite difference (C(θ + ε) − C(θ − ε)) / 2ε with "),
                "ε = ",
                Num(f"{g.eps:g}"),
                Txt(
                    "; relative difference = |backprop − numerical| / max(|backprop|, "
                    "|numerical|). Largest error per tensor (gradcheck's measure, relative to the "
                    "tensor's largest gradient): "
                ),
                *errs,
                Txt("; overall "),
                Num(f"{g.max_error:.2e}"),
                Txt("."),
            ]
        ),
    ]
    headers = [
        [Txt("parameter")],
        [Txt("backprop")],
        [Txt("finite difference")],
        [Txt("|difference|")],
        [Txt("relative difference")],
    ]
    rows = []
    for r in g.rows:
        sym = _name_sym(r.kind, r.l, r.j, r.k)
        rows.append(
            [
                [sym],
                [fmt(r.backprop)],
                [fmt(r.numerical)],
                [fmt.sci(r.abs_diff, 2)],
                [fmt.sci(r.rel_diff, 2)],
            ]
        )
    out.append(Table(headers, rows, "lrrrr"))
    return out


# ---------------------------------------------------------------------------- backends
def _text_rich(blocks, width):
    from rich import box
    from rich.console import Console, Group
    from rich.table import Table as RTable
    from rich.text import Text

    items = []
    for b in blocks:
        if isinstance(b, H):
            if items:
                items.append(Text(""))
            style = {1: "bold underline", 2: "bold"}.get(b.level, "bold italic")
            items.append(Text(_inline_unicode(b.parts), style=style))
        elif isinstance(b, P):
            items.append(Text(_inline_unicode(b.parts)))
        else:
            tab = RTable(box=box.SIMPLE_HEAD, show_header=True, header_style="bold", pad_edge=False)
            for head, al in zip(b.headers, b.align):
                # Numbers never wrap; the columns of sums wrap between their terms.
                tab.add_column(
                    _inline_unicode(head),
                    justify="right" if al == "r" else "left",
                    overflow="fold",
                    no_wrap=al != "w",
                )
            for row in b.rows:
                tab.add_row(*[Text(_inline_unicode(c)) for c in row])
            items.append(tab)
    return Group(*items), Console


def to_rich(obj, precision=6):
    """A rich renderable of ``obj`` (for ``Console().print``, with colour in a terminal)."""
    return _text_rich(_blocks(obj, _Fmt(precision)), None)[0]


def _text(blocks, width) -> str:
    try:
        group, Console = _text_rich(blocks, width)
    except ImportError:
        return _markdown(blocks)
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width or 120,
        color_system=None,
        force_terminal=False,
        force_jupyter=False,
        highlight=False,
        emoji=False,
        markup=False,
        legacy_windows=False,
        soft_wrap=False,
    )
    console.print(group)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()).strip("\n") + "\n"


def _markdown(blocks) -> str:
    out = []
    for b in blocks:
        if isinstance(b, H):
            out.append("#" * b.level + " " + _inline_unicode(b.parts, _md_escape))
        elif isinstance(b, P):
            out.append(_inline_unicode(b.parts, _md_escape))
        else:
            lines = [
                "| " + " | ".join(_inline_unicode(h, _md_escape) for h in b.headers) + " |",
                "|" + "|".join("---:" if a == "r" else ":---" for a in b.align) + "|",
            ]
            for row in b.rows:
                lines.append("| " + " | ".join(_inline_unicode(c, _md_escape) for c in row) + " |")
            out.append("\n".join(lines))
    return "\n\n".join(out) + "\n"


_LATEX_HEAD = r"""\documentclass[10pt]{article}
\usepackage[a4paper,margin=1.5cm]{geometry}
\usepackage{amsmath}
\usepackage{booktabs}
\usepackage{array}
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
\begin{document}
"""


_LATEX_COLUMN = {"r": "r", "l": "l", "w": r">{\raggedright\arraybackslash}p{0.42\linewidth}"}


def _latex(blocks) -> str:
    out = [_LATEX_HEAD]
    heads = {1: "section*", 2: "subsection*", 3: "subsubsection*"}
    for b in blocks:
        if isinstance(b, H):
            out.append(
                "\\" + heads.get(b.level, "paragraph*") + "{" + _inline_latex(b.parts) + "}\n"
            )
        elif isinstance(b, P):
            out.append(_inline_latex(b.parts) + "\n")
        else:
            spec = "".join(_LATEX_COLUMN[a] for a in b.align)
            lines = [
                r"{\small",
                r"\begin{tabular}{" + spec + "}",
                r"\toprule",
                " & ".join(_inline_latex(h) for h in b.headers) + r" \\",
                r"\midrule",
            ]
            for row in b.rows:
                lines.append(" & ".join(_inline_latex(c) for c in row) + r" \\")
            lines += [r"\bottomrule", r"\end{tabular}}", r"\par\medskip", ""]
            out.append("\n".join(lines))
    out.append("\\end{document}\n")
    text = "\n".join(out)
    # pdflatex reads ASCII safely; anything else left would be a missing mapping above.
    return "".join(c if ord(c) < 128 else "?" for c in text)


_CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;
max-width:72em;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.5em}h2{font-size:1.25em;margin-top:1.6em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0 1em}
th,td{padding:.25em .8em;border-bottom:1px solid #ddd;vertical-align:top}
th{border-bottom:2px solid #888;text-align:left}
td.r,th.r{text-align:right;font-variant-numeric:tabular-nums}
td{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
td i,th i{font-family:Georgia,serif}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}"""


def _html_doc(blocks, title) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{_html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
    ]
    for b in blocks:
        if isinstance(b, H):
            lv = min(b.level, 6)
            out.append(f"<h{lv}>{_inline_html(b.parts)}</h{lv}>")
        elif isinstance(b, P):
            out.append(f"<p>{_inline_html(b.parts)}</p>")
        else:
            cls = ["r" if a == "r" else "l" for a in b.align]
            lines = [
                "<table>",
                "<thead><tr>"
                + "".join(f'<th class="{c}">{_inline_html(h)}</th>' for h, c in zip(b.headers, cls))
                + "</tr></thead>",
                "<tbody>",
            ]
            for row in b.rows:
                lines.append(
                    "<tr>"
                    + "".join(f'<td class="{c}">{_inline_html(v)}</td>' for v, c in zip(row, cls))
                    + "</tr>"
                )
            lines += ["</tbody>", "</table>"]
            out.append("\n".join(lines))
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------- entry point
def _blocks(obj, fmt) -> list:
    from .explain import GradientTable, NudgeResult, Trace

    if isinstance(obj, Trace):
        return _trace_blocks(obj, fmt)
    if isinstance(obj, NudgeResult):
        return _nudge_blocks(obj, fmt)
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(r, NudgeResult) for r in obj):
        return _nudge_series_blocks(list(obj), fmt)
    if isinstance(obj, GradientTable):
        return _gradient_blocks(obj, fmt)
    raise DeltapropTypeError(
        f"cannot render {_short(obj)}; expected a Trace, a NudgeResult (or a list "
        f"of them) or a GradientTable"
    )


def render(obj, format="text", precision=6, width=None) -> str:
    """See ``deltaprop.explain.render``."""
    key = ALIASES.get(format.lower()) if isinstance(format, str) else None
    if key is None:
        raise DeltapropError(
            f"format={_short(format)} is unknown; expected one of: text, markdown, latex, html"
        )
    if width is not None and (
        isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 40
    ):
        raise DeltapropError(f"width={_short(width)} is invalid; expected an integer >= 40")
    blocks = _blocks(obj, _Fmt(precision))
    if key == "text":
        return _text(blocks, width)
    if key == "markdown":
        return _markdown(blocks)
    if key == "latex":
        return _latex(blocks)
    title = _inline_unicode(blocks[0].parts) if blocks and isinstance(blocks[0], H) else "deltaprop"
    return _html_doc(blocks, title)
