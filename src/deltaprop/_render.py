"""Renderers for deltaprop.explain: terminal text (rich), Markdown, LaTeX and HTML.

Each object is first turned into format-neutral blocks (headings, paragraphs, tables) whose
inline parts are prose, math text, symbols in the textbook's notation (w_jk^l and friends) and
formatted numbers; each backend then writes those parts its own way (w²₁₂ in text and Markdown,
w^{2}_{12} in LaTeX, w<sup>2</sup><sub>12</sub> in HTML). So the four formats show the same
numbers, formatted once.

Formulas come from the parts themselves (the trace carries each activation's and the loss's
formula text): ``parse_markup`` turns their small markup (``x_{sub}``, ``x^{sup}``, Unicode
math otherwise) into the same inline parts, and LaTeX uses the part's own ``*_latex`` text
where it has one.

This module reads the objects it renders by their attributes (a trace, a nudge result, a
gradient table, told apart by their ``_layout``) and imports neither ``deltaprop.explain`` nor
``deltaprop.trace``: those import it, so the imports run one way.
"""

from __future__ import annotations

import html as _html
import io
import math
import numbers
import re
from dataclasses import dataclass, replace

from . import _diagram, _matrix
from ._blocks import Alt, Code, Formula, H, Num, P, Sym, Table, Txt
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


# ---------------------------------------------------------------------------- formula markup
# Function names that LaTeX writes upright (\ln, \tanh): words of a formula's plain text.
_FUNCTIONS = re.compile(r"(?<![A-Za-z])(ln|log|exp|tanh|sinh|cosh|sin|cos|max|min)(?![A-Za-z])")


def parse_markup(text: str) -> list:
    """Inline parts of formula markup: ``x_{sub}`` and ``x^{sup}`` become a Sym.

    The script's base is the letter just before it (none after a digit, bracket or symbol); a
    superscript and a subscript in a row attach to the same base, in either order; scripts may
    nest (``e^{z_{j}}``: the script is kept as markup and parsed again where it is drawn).
    Function names such as ln and tanh become an Alt with their LaTeX spelling; everything
    else is Unicode math text. An unmatched brace is plain text.

    >>> parse_markup("a^{L}_{j} − y_{j}")
    [Sym(base='a', sup='L', sub='j'), ' − ', Sym(base='y', sup='', sub='j')]
    """
    parts: list = []
    buf: list = []
    i = 0
    while i < len(text):
        c = text[i]
        end = _closing(text, i + 1) if c in "^_" and text[i + 1 : i + 2] == "{" else None
        if end is None:
            buf.append(c)
            i += 1
            continue
        slot, script = ("sup" if c == "^" else "sub"), text[i + 2 : end]
        prev = parts[-1] if parts and not buf else None
        if isinstance(prev, Sym) and not getattr(prev, slot):
            parts[-1] = replace(prev, **{slot: script})  # a^{L}_{j}: the second script
        else:
            base = buf.pop() if buf and buf[-1].isalpha() else ""
            _flush(buf, parts)
            parts.append(Sym(base, **{slot: script}))
        i = end + 1
    _flush(buf, parts)
    return parts


def _closing(text, start):
    """Index of the brace closing the one at ``start``, or None if it is never closed."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return None


def _flush(buf, parts):
    """Move the plain text in ``buf`` to ``parts``, function names as Alt."""
    text = "".join(buf)
    buf.clear()
    pos = 0
    for m in _FUNCTIONS.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append(Alt(m.group(1), "\\" + m.group(1)))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])


_WORD = r"(?<![A-Za-z\\]){}(?![A-Za-z])"


def _with_layer(text: str, L) -> str:
    """Superscripts' letter L (the output layer) written as the number L: a^{L} → a^{2}."""
    word = re.compile(_WORD.format("L"))
    text = re.sub(r"\^\{([^{}]*)\}", lambda m: "^{" + word.sub(str(L), m.group(1)) + "}", text)
    return re.sub(r"\^L(?![A-Za-z])", "^{" + str(L) + "}", text)  # LaTeX's a^L


def _with_index(text: str, old: str, new: str) -> str:
    """Subscripts' index ``old`` renamed ``new``: a_{j} → a_{i} (and LaTeX's a_j → a_i)."""
    word = re.compile(_WORD.format(old))
    text = re.sub(r"_\{([^{}]*)\}", lambda m: "_{" + word.sub(new, m.group(1)) + "}", text)
    return re.sub("_" + re.escape(old) + "(?![A-Za-z])", "_" + new, text)


def formula(markup: str, latex: str = "", *, layer=None, rename=None) -> list:
    """A part's formula text as inline parts: [Formula], or [] when the part has none.

    ``layer`` writes the output layer's L as that number; ``rename`` = (old, new) renames a
    subscript index. Without markup nothing is shown, so that every format shows the same.
    """
    if not markup:
        return []
    latex = latex or ""
    if layer is not None:
        markup, latex = _with_layer(markup, layer), _with_layer(latex, layer)
    if rename is not None:
        markup, latex = _with_index(markup, *rename), _with_index(latex, *rename)
    return [Formula(tuple(parse_markup(markup)), latex)]


# Str parts are math text in Unicode; these are the characters they may hold beyond ASCII.
_LATEX_MATH = {
    "·": r"\cdot ",
    "−": "-",
    "σ": r"\sigma",
    "′": "'",
    "η": r"\eta ",
    "∂": r"\partial ",
    "½": r"\tfrac{1}{2}",
    "¼": r"\tfrac{1}{4}",
    "¾": r"\tfrac{3}{4}",
    "⅓": r"\tfrac{1}{3}",
    "‖": r"\|",
    "←": r"\leftarrow ",
    "δ": r"\delta ",
    "Δ": r"\Delta ",
    "≈": r"\approx ",
    "→": r"\to ",
    "⊙": r"\odot ",
    "∇": r"\nabla ",
    "↦": r"\mapsto ",
    "Σ": r"\sum ",
    "ε": r"\varepsilon ",
    "…": r"\ldots ",
    "×": r"\times ",
    "²": "^{2}",
    "α": r"\alpha ",
    "≤": r"\le ",
    "≥": r"\ge ",
    "θ": r"\theta ",
    "β": r"\beta ",
    "γ": r"\gamma ",
    "ζ": r"\zeta ",
    "κ": r"\kappa ",
    "λ": r"\lambda ",
    "μ": r"\mu ",
    "ν": r"\nu ",
    "ξ": r"\xi ",
    "π": r"\pi ",
    "ρ": r"\rho ",
    "τ": r"\tau ",
    "φ": r"\varphi ",
    "χ": r"\chi ",
    "ψ": r"\psi ",
    "ω": r"\omega ",
    "Γ": r"\Gamma ",
    "Λ": r"\Lambda ",
    "Φ": r"\Phi ",
    "Ω": r"\Omega ",
    "∑": r"\sum ",
    "∏": r"\prod ",
    "∞": r"\infty ",
    "≠": r"\ne ",
    "±": r"\pm ",
    "∈": r"\in ",
    "⋅": r"\cdot ",
    "¹": "^{1}",
    "³": "^{3}",
    "⁴": "^{4}",
    "ᵀ": "^{T}",
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
_LATEX_BASE = {
    "δ": r"\delta",
    "Σ": r"\sum",
    "Δ": r"\Delta",
    "σ": r"\sigma",
    "∂": r"\partial",
    "∇": r"\nabla",
}

_SUP = dict(zip("0123456789+-−()Llnijk=", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁽⁾ᴸˡⁿⁱʲᵏ⁼"))
_SUB = dict(zip("0123456789+-−()ijkxna=", "₀₁₂₃₄₅₆₇₈₉₊₋₋₍₎ᵢⱼₖₓₙₐ₌"))
_SUB[","] = ","


def _script(text, table, mark):
    """A script in Unicode super/subscript characters, else kept as markup: ^{…}."""
    if "{" in text:  # nested markup such as e^{z_{j}}
        text = _inline_unicode(parse_markup(text))
    if all(c in table for c in text):
        return "".join(table[c] for c in text)
    return f"{mark}{{{text}}}"


def _sym_unicode(s: Sym) -> str:
    out = s.base
    if s.sup:
        out += _script(s.sup, _SUP, "^")
    if s.sub:
        out += _script(s.sub, _SUB, "_")
    return out


def _inline_unicode(parts, escape=None) -> str:
    out: list = []
    for p in parts:
        if isinstance(p, Sym):
            out.append(_sym_unicode(p))
        elif isinstance(p, (Num, Alt)):
            out.append(p.text)
        elif isinstance(p, Code):
            out.append(f"`{p.text}`" if escape else p.text)
        elif isinstance(p, Formula):
            out.append(_inline_unicode(p.parts, escape))
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
    out: list = []
    math_buf: list = []

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
        else:
            math_buf.append(_latex_math_parts([p]))
    flush()
    return "".join(out)


def _latex_math_parts(parts) -> str:
    """Math-mode LaTeX of inline parts other than prose and names."""
    out: list = []
    for p in parts:
        if isinstance(p, Sym):
            s = _LATEX_BASE.get(p.base, _latex_math(p.base))
            if p.sup:
                s += "^{" + _latex_script(p.sup) + "}"
            if p.sub:
                s += "_{" + _latex_script(p.sub) + "}"
            out.append(s + " ")
        elif isinstance(p, Alt):
            out.append(p.latex + " ")
        elif isinstance(p, Formula):
            out.append(p.latex + " " if p.latex else _latex_math_parts(p.parts))
        elif isinstance(p, Num):
            out.append(p.text)
        else:
            out.append(_latex_math(p))
    return "".join(out)


def _latex_script(text: str) -> str:
    return _latex_math_parts(parse_markup(text)) if "{" in text else _latex_math(text)


def _latex_eq_math(parts) -> str:
    """Math-mode LaTeX of an equation's inline parts, prose in \\text."""
    return "".join(
        r"\text{" + _latex_text(p.text) + "}" if isinstance(p, Txt) else _latex_math_parts([p])
        for p in parts
    )


def _inline_html(parts) -> str:
    out: list = []
    for p in parts:
        if isinstance(p, Sym):
            base = _html.escape(p.base)
            s = base if p.base in "ΣΔ∇" else f"<i>{base}</i>"  # "" (no base) is in it too
            if p.sup:
                s += f"<sup>{_html_script(p.sup)}</sup>"
            if p.sub:
                s += f"<sub>{_html_script(p.sub)}</sub>"
            out.append(s)
        elif isinstance(p, Code):
            out.append(f"<code>{_html.escape(p.text)}</code>")
        elif isinstance(p, Formula):
            out.append(_inline_html(p.parts))
        elif isinstance(p, (Num, Txt, Alt)):
            out.append(_html.escape(p.text))
        else:
            out.append(_html.escape(p))
    return "".join(out)


def _html_script(text: str) -> str:
    return _inline_html(parse_markup(text)) if "{" in text else _html.escape(text)


# ---------------------------------------------------------------------------- blocks
@dataclass
class Drawing:
    """The traced network drawn with its numbers (``deltaprop._diagram``)."""

    trace: object
    names: _diagram.Names
    fixed: object  # number → text


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
    out: list = []
    for i, g in enumerate(groups):
        if i:
            out.append(sep)
        out += g if isinstance(g, list) else [g]
    return out


def _jk(j, k):
    j, k = str(j), str(k)
    return f"{j}{k}" if len(j) == 1 and len(k) == 1 else f"{j},{k}"


# ---------------------------------------------------------------------------- trace → blocks
def _name_sym(kind, l, j, k=None):
    """w_jk^l, b_j^l, or b^l for a bias shared by the layer (j None)."""
    return Sym(kind, str(l), "" if j is None else str(j) if k is None else _jk(j, k))


def _loss_formula(t, key, latex_key=None, **kwargs) -> list:
    """The loss's formula text ``key`` (its attribute's name) as inline parts; [] if none."""
    text = getattr(t, "loss_text", None) or {}
    return formula(text.get(key, ""), text.get(latex_key, "") if latex_key else "", **kwargs)


def _activation_formula(t, l, key, latex_key) -> list:
    """Layer l's activation formula text ``key`` as inline parts; [] if none."""
    texts = getattr(t, "activation_text", None) or []
    text = texts[l - 1] if l <= len(texts) else {}
    return formula(text.get(key, ""), text.get(latex_key, ""))


def _derivative_note(t, l, name, lead) -> list:
    """'Activation `name`: σ′(z) = …', the formula where the activation gives one."""
    sp = _activation_formula(t, l, "derivative_formula", "derivative_latex")
    return [Txt(lead), Code(name)] + ([Txt(": "), *sp] if sp else [])


def _trace_blocks(t, fmt) -> list:
    L = t.num_layers
    m = len(t.samples)
    blocks: list = [H(1, [Txt("One gradient-descent step, traced with BP1-BP4")])]
    intro: list = [Txt(f"Network sizes {t.sizes}; activations: ")]
    for l, name in enumerate(t.activations, 1):
        intro += [Txt(f"layer {l} "), Code(name), Txt(", " if l < L else "; ")]
    intro += [Txt("loss "), Code(t.loss)]
    # The output layer stays L here: a number beside the cost's own exponent, as in
    # (a²ⱼ − yⱼ)², would read as a square.
    cost = _loss_formula(t, "formula", "formula_latex")
    if cost:
        intro += [Txt(", "), *cost, Txt(" with "), "L = ", Num(str(L))]
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
    out: list = []
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
    out += _forward_blocks(s, fmt, lvl)
    out += _cost_blocks(t, s, fmt, lvl, m)
    for lb in s.backward:
        if lb.rule == "BP2":
            out += _hidden_error_blocks(t, lb, fmt, lvl)
        elif lb.rule == "fused":
            out += _fused_error_blocks(t, lb, fmt, lvl)
        elif lb.rule == "BP1":
            out += _bp1_error_blocks(t, lb, fmt, lvl)
        else:
            out += _jacobian_error_blocks(t, lb, fmt, lvl)
    return out


def _forward_blocks(s, fmt, lvl) -> list:
    any_bias = any(getattr(lf, "bias", "neuron") != "none" for lf in s.forward)
    out: list = [
        H(
            lvl,
            [
                Txt("Forward pass: "),
                Sym("z", "l"),
                " = ",
                Sym("w", "l"),
                " ",
                Sym("a", "l−1"),
                *([" + ", Sym("b", "l")] if any_bias else []),
                ", ",
                Sym("a", "l"),
                " = σ(",
                Sym("z", "l"),
                ")",
            ],
        )
    ]
    for lf in s.forward:
        l = lf.l
        bias = getattr(lf, "bias", "neuron")
        out.append(H(lvl + 1, [Txt(f"Layer {l} ("), Code(lf.activation), Txt(")")]))
        if bias == "shared":
            out.append(
                P([Txt("One bias "), Sym("b", l), Txt(f" shared by every neuron of layer {l}.")])
            )
        elif bias == "none":
            out.append(
                P(
                    [
                        Txt(f"Layer {l} has no bias: "),
                        Sym("z", l, "j"),
                        Txt(" is the weighted sum alone."),
                    ]
                )
            )
        plus_b = (
            [] if bias == "none" else [" + ", _name_sym("b", l, None if bias == "shared" else "j")]
        )
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
                *plus_b,
            ],
            [Sym("z", l, "j")],
            [Sym("a", l, "j"), " = σ(", Sym("z", l, "j"), ")"],
        ]
        rows = [
            [[Num(str(n.j))], _sum_parts(n.terms, fmt, n.bias), [fmt(n.z)], [fmt(n.a)]]
            for n in lf.neurons
        ]
        out.append(Table(headers, rows, "rwrr"))
    return out


def _cost_blocks(t, s, fmt, lvl, m) -> list:
    L = t.num_layers
    cx = Sym("C", "", "x") if m > 1 else "C"
    # A column of shares where the loss splits C_x by output (its ``shares``).
    shared = any(c.value is not None for c in s.cost_terms)
    headers = [["j"], [Sym("a", "L", "j")], [Sym("y", "", "j")]]
    if shared:
        share = _loss_formula(t, "share_formula")
        headers.append(share or [Txt("share of "), Sym("C", "", "x")])
    rows = [
        [[Num(str(c.j))], [fmt(c.a)], [fmt(c.y)]] + ([[fmt(c.value)]] if shared else [])
        for c in s.cost_terms
    ]
    total = [cx, " = "]
    if shared and all(c.value is not None for c in s.cost_terms):
        total += _join([fmt.factor(c.value) for c in s.cost_terms], " + ") + [" = "]
    total.append(fmt(s.cost))
    return [
        H(lvl, [Txt("Cost "), cx, Txt(f" (output layer L = {L})")]),
        Table(headers, rows, "rrr" + ("r" if shared else "")),
        P(total),
    ]


def _hidden_error_blocks(t, lb, fmt, lvl) -> list:
    l = lb.l
    head = [
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
    ]
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
    return [
        H(lvl, head),
        P(_derivative_note(t, l, lb.activation, "Activation ") + [Txt(".")]),
        Table(headers, rows, "rwrrr"),
    ]


def _fused_error_blocks(t, lb, fmt, lvl) -> list:
    L = lb.l
    fused = _loss_formula(t, "fused_formula", "fused_latex", layer=L)
    note = [
        Code(lb.activation),
        Txt(" output with "),
        Code(t.loss),
        Txt(" loss: the two factors of BP1 cancel, and the engine computes "),
        Sym("δ", L),
        Txt(" directly without forming them; this is the fused output error."),
    ]
    headers = [["j"], [Sym("a", L, "j")], [Sym("y", "", "j")], [Sym("δ", L, "j")]]
    rows = [[[Num(str(n.j))], [fmt(n.a)], [fmt(n.y)], [fmt(n.delta)]] for n in lb.neurons]
    return [
        H(lvl, [Txt("Output error (BP1, fused)" + (": " if fused else "")), *fused]),
        P(note),
        Table(headers, rows, "rrrr"),
    ]


def _bp1_error_blocks(t, lb, fmt, lvl) -> list:
    L = lb.l
    head = [
        Txt("Output error by BP1: "),
        Sym("δ", L, "j"),
        " = ∂C/∂",
        Sym("a", L, "j"),
        " · σ′(",
        Sym("z", L, "j"),
        ")",
    ]
    note = []
    grad = _loss_formula(t, "gradient_formula", "gradient_latex")
    if grad:
        note += [Txt("Loss "), Code(t.loss), Txt(": "), "∂C/∂", Sym("a", "", "j"), " = "]
        note += [*grad, Txt("; ")]
    note += _derivative_note(t, L, lb.activation, "activation ")
    headers = [
        ["j"],
        ["∂C/∂", Sym("a", L, "j")],
        ["σ′(", Sym("z", L, "j"), ")"],
        [Sym("δ", L, "j")],
    ]
    rows = [
        [[Num(str(n.j))], [fmt(n.dC_da)], [fmt(n.sigma_prime)], [fmt(n.delta)]] for n in lb.neurons
    ]
    return [H(lvl, head), P(note + [Txt(".")]), Table(headers, rows, "rrrr")]


def _jacobian_error_blocks(t, lb, fmt, lvl) -> list:
    L = lb.l
    product = [
        Sym("Σ", "", "i"),
        " ∂",
        Sym("a", L, "i"),
        "/∂",
        Sym("z", L, "j"),
        " · ∂C/∂",
        Sym("a", L, "i"),
    ]
    head = [Txt(f"Output error through the {lb.activation} Jacobian: "), Sym("δ", L, "j"), " = "]
    note = [
        Code(lb.activation),
        Txt(" is not element-wise, so BP1's factor "),
        "σ′(z)",
        Txt(" becomes its Jacobian"),
    ]
    jac = _activation_formula(t, L, "derivative_formula", "derivative_latex")
    if jac:
        note += [Txt(", "), *jac]
    note.append(Txt(", and the error is the Jacobian-vector product"))
    grad = _loss_formula(t, "gradient_formula", "gradient_latex", rename=("j", "i"))
    if grad:
        note += [Txt(" with "), "∂C/∂", Sym("a", "", "i"), " = ", *grad]
        note += [Txt(" (loss "), Code(t.loss), Txt(")")]
    headers = [["j"], ["∂C/∂", Sym("a", L, "j")], product, [Sym("δ", L, "j")]]
    rows = [
        [[Num(str(n.j))], [fmt(n.dC_da)], _sum_parts(n.terms, fmt), [fmt(n.delta)]]
        for n in lb.neurons
    ]
    return [H(lvl, head + product), P(note + [Txt(".")]), Table(headers, rows, "rrwr")]


def _step_blocks(t, fmt, m) -> list:
    mean = m > 1
    out: list = [H(2, [Txt("Gradients by BP3 and BP4, and the step "), *_step_rule(t)])]
    out.append(P(_step_intro(t, m) + [Txt("η = "), Num(f"{t.lr:g}"), Txt(".")]))
    updated = _updated_note(t)
    if updated:
        out.append(P(updated))
    for step in reversed(t.steps):
        l = step.l
        out.append(H(3, [Txt(f"Layer {l}")]))
        headers = [[Txt("parameter "), "θ"], ["θ"], [Txt("BP4 / BP3")], ["∂C/∂θ"], ["θ − η ∂C/∂θ"]]
        rows = [_step_row(t, p, l, fmt, m) for p in step.weights + step.biases]
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
                    + ("; weights only, the biases kept their values" if _weights_only(t) else "")
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


def _weights_only(t) -> bool:
    """Whether the step left every bias as it was while the network has some."""
    modes = getattr(t, "bias_modes", None) or []
    updated = getattr(t, "biases_updated", None) or []
    return any(mode != "none" for mode in modes) and not any(updated)


def _step_rule(t) -> list:
    """The update rule in the heading: b's only where some bias is updated."""
    updated = getattr(t, "biases_updated", None)
    if updated is not None and len(updated) and not any(updated):
        return ["w ← w − η ∂C/∂w"]
    return ["w ← w − η ∂C/∂w, b ← b − η ∂C/∂b"]


def _step_intro(t, m) -> list:
    """BP3 (per neuron, or summed over the neurons for a shared bias) and BP4 in words."""
    modes = getattr(t, "bias_modes", None) or ["neuron"] * t.num_layers
    parts: list = []
    if "neuron" in modes:
        parts += [Txt("BP3: "), "∂C/∂", Sym("b", "l", "j"), " = ", Sym("δ", "l", "j"), Txt("; ")]
    if "shared" in modes:
        lead = "a bias shared by layer l: " if parts else "A bias shared by layer l: "
        parts += [Txt(lead), "∂C/∂", Sym("b", "l"), " = "]
        parts += [Sym("Σ", "", "j"), " ", Sym("δ", "l", "j"), Txt("; ")]
    parts += [Txt("BP4: "), "∂C/∂", Sym("w", "l", "jk"), " = ", Sym("a", "l−1", "k"), " "]
    parts += [Sym("δ", "l", "j")]
    parts.append(Txt(f"{', each averaged over the ' + str(m) + ' samples' if m > 1 else ''}; "))
    return parts


def _updated_note(t) -> list:
    """Which parameters the step updated, where some biases were left as they were."""
    modes = getattr(t, "bias_modes", None) or []
    updated = getattr(t, "biases_updated", None) or []
    kept = [l for l, (mode, u) in enumerate(zip(modes, updated), 1) if mode != "none" and not u]
    absent = [l for l, mode in enumerate(modes, 1) if mode == "none"]
    if not kept and not absent:
        return []
    moved = [l for l, (mode, u) in enumerate(zip(modes, updated), 1) if mode != "none" and u]
    parts: list = [Txt("Updated: the weights" + (" only" if not moved else ""))]
    if moved:
        parts.append(Txt(f" and the biases of {_layers_text(moved)}"))
    if kept:
        parts.append(Txt(f"; not updated (frozen): the biases of {_layers_text(kept)}"))
    if absent:
        parts.append(Txt(f"; no bias in {_layers_text(absent)}"))
    return parts + [Txt(".")]


def _layers_text(layers) -> str:
    """ "layer 2" or "layers 1, 2"."""
    return f"layer{'s' if len(layers) > 1 else ''} " + ", ".join(map(str, layers))


def _step_row(t, p, l, fmt, m) -> list:
    """One parameter's row: θ, its BP4/BP3 formula with the numbers, ∂C/∂θ, the new θ."""
    mean = m > 1
    if p.kind == "w":
        sym = _name_sym("w", l, p.j, p.k)
        prods = [[fmt.factor(a), " · ", fmt.factor(d)] for a, d in zip(p.a_prev, p.delta)]
        formula = [Sym("a", l - 1, p.k), " ", Sym("δ", l, p.j), " = "]
    elif p.j is None:  # a shared bias: Σ_j δ_j^l, with the sample's δ_j written out
        sym = _name_sym("b", l, None)
        formula = [Sym("Σ", "", "j"), " ", Sym("δ", l, "j"), " = "]
        if mean:
            prods = [[fmt.factor(d)] for d in p.delta]
        else:
            deltas = _layer_deltas(t, l)
            prods = [_join([fmt.factor(d) for d in deltas], " + ") + [" = ", fmt(p.delta[0])]]
    else:
        sym = _name_sym("b", l, p.j)
        prods = [[fmt.factor(d) if mean else fmt(d)] for d in p.delta]
        formula = [Sym("δ", l, p.j), " = "]
    if mean:
        formula = ["mean(", *formula[:-1], ") = ("] + _join(prods, " + ") + [")/", Num(str(m))]
    else:
        formula += prods[0]
    new = [fmt(p.new_value)]
    if not getattr(p, "updated", True):
        new.append(Txt(" (frozen)"))
    return [[sym], [fmt(p.value)], formula, [fmt(p.grad)], new]


def _layer_deltas(t, l) -> list:
    """δ_j^l of the trace's only sample, j = 1..n_l."""
    for lb in t.samples[0].backward:
        if lb.l == l:
            return [n.delta for n in lb.neurons]
    return []


# ---------------------------------------------------------------------------- nudge, gradients
def _nudge_blocks(r, fmt) -> list:
    z, d = Sym("z", r.layer, r.neuron), Sym("δ", r.layer, r.neuron)
    batch = (
        Txt(f" (for each of the {r.samples} samples; δ is their mean)")
        if r.samples > 1
        else Txt("")
    )
    out: list = [
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
    out: list = [
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
    out: list = [
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
        elif isinstance(b, _matrix.Equation):
            lines = _matrix.text(b, _inline_unicode, width or 120)
            items.append(Text("\n".join([""] + lines), no_wrap=True, overflow="ignore"))
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
    console.print(group, crop=False)  # a wide matrix runs on rather than being cut
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()).strip("\n") + "\n"


def _markdown(blocks) -> str:
    out: list = []
    for b in blocks:
        if isinstance(b, H):
            out.append("#" * b.level + " " + _inline_unicode(b.parts, _md_escape))
        elif isinstance(b, P):
            out.append(_inline_unicode(b.parts, _md_escape))
        elif isinstance(b, Drawing):
            out.append(_diagram.mermaid(b.trace, b.fixed, b.names))
        elif isinstance(b, _matrix.Equation):
            out.append("```text\n" + "\n".join(_matrix.text(b, _inline_unicode, 100)) + "\n```")
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
    head = _LATEX_HEAD
    if any(isinstance(b, Drawing) for b in blocks):
        head = head.replace(
            "\\begin{document}",
            "\\usepackage{tikz}\n\\usetikzlibrary{positioning}\n\\begin{document}",
        )
    if any(isinstance(b, _matrix.Equation) for b in blocks):
        # amsmath's bmatrix takes 10 columns unless told otherwise
        head = head.replace(
            "\\begin{document}", "\\setcounter{MaxMatrixCols}{20}\n\\begin{document}"
        )
    out = [head]
    heads = {1: "section*", 2: "subsection*", 3: "subsubsection*"}
    for b in blocks:
        if isinstance(b, H):
            out.append(
                "\\" + heads.get(b.level, "paragraph*") + "{" + _inline_latex(b.parts) + "}\n"
            )
        elif isinstance(b, P):
            out.append(_inline_latex(b.parts) + "\n")
        elif isinstance(b, Drawing):
            out.append(_diagram.tikz(b.trace, b.fixed, b.names) + "\n")
        elif isinstance(b, _matrix.Equation):
            out.append(_matrix.latex(b, _latex_eq_math) + "\n")
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
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
figure.diagram{margin:1em 0;overflow-x:auto}figure.diagram svg{max-width:100%;height:auto}"""


def _html_doc(blocks, title) -> str:
    css = _CSS + ("\n" + _matrix.CSS if _has_equations(blocks) else "")
    head = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            f"<title>{_html.escape(title)}</title>", f"<style>{css}</style>", "</head>",
            "<body>"]  # fmt: skip
    return "\n".join(head + _html_body(blocks) + ["</body>", "</html>", ""])


def _has_equations(blocks) -> bool:
    return any(isinstance(b, _matrix.Equation) for b in blocks)


_SCOPE = "deltaprop-explain"


def _scoped(css: str) -> str:
    """The page's style rules confined to one element of class ``_SCOPE`` (body → that element),
    so that a rendering embedded in a notebook leaves the rest of the notebook alone."""

    def scope(m):
        sels = [s.strip() for s in m.group(1).split(",")]
        sels = [f".{_SCOPE}" if s == "body" else f".{_SCOPE} {s}" for s in sels]
        return ",".join(sels) + "{" + m.group(2) + "}"

    return re.sub(r"([^{}]+)\{([^{}]*)\}", scope, css.replace("\n", ""))


def _html_fragment(blocks) -> str:
    """A ``<div>`` with its own scoped style: for Jupyter's ``_repr_html_`` and other pages."""
    css = _scoped(_CSS.replace("margin:2em auto;", "margin:0;") + _matrix.CSS)
    body = "\n".join(_html_body(blocks))
    return f'<div class="{_SCOPE}"><style>{css}</style>\n{body}\n</div>'


def _html_body(blocks) -> list:
    out: list = []
    for b in blocks:
        if isinstance(b, H):
            lv = min(b.level, 6)
            out.append(f"<h{lv}>{_inline_html(b.parts)}</h{lv}>")
        elif isinstance(b, P):
            out.append(f"<p>{_inline_html(b.parts)}</p>")
        elif isinstance(b, Drawing):
            out.append(
                f'<figure class="diagram">{_diagram.svg(b.trace, b.fixed, b.names)}</figure>'
            )
        elif isinstance(b, _matrix.Equation):
            out.append(_matrix.html(b, _inline_html))
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
    return out


# ---------------------------------------------------------------------------- entry point
_LAYOUTS = {"trace": _trace_blocks, "nudge": _nudge_blocks, "gradients": _gradient_blocks}


def _layout(obj):
    """The kind of object (a trace class's ``_layout``: "trace", "nudge", "gradients")."""
    layout = getattr(obj, "_layout", None)
    return layout if isinstance(layout, str) else None


def _blocks(obj, fmt) -> list:
    build = _LAYOUTS.get(_layout(obj))
    if build is not None:
        return build(obj, fmt)
    if isinstance(obj, (list, tuple)) and obj and all(_layout(r) == "nudge" for r in obj):
        return _nudge_series_blocks(list(obj), fmt)
    raise DeltapropTypeError(
        f"cannot render {_short(obj)}; expected a Trace, a NudgeResult (or a list "
        f"of them) or a GradientTable"
    )


def _drawn(t, fmt, key, diagram, naming) -> list:
    """The blocks a trace gets in front: the drawing (HTML by default, Markdown and LaTeX when
    asked) and, for the tutorial's naming, the table of its names."""
    names = _diagram.Names(list(t.sizes), naming)
    out: list = []
    if (key == "html" if diagram is None else diagram) and key != "text":
        out.append(H(2, [Txt("The network, drawn")]))
        if _diagram.drawable(t):
            sample = " of sample 1" if len(t.samples) > 1 else ""
            out.append(P([Txt(f"In each neuron z and a{sample}, below it δ; on each edge "
                              "∂C/∂w (BP4). ∂C/∂b of a neuron is its δ (BP3).")]))  # fmt: skip
            out.append(Drawing(t, names, fmt.fixed))
        else:
            out.append(P([Txt(f"Not drawn: a layer of {max(t.sizes)} neurons is too wide to "
                              "draw legibly.")]))  # fmt: skip
    if names.classic:
        out += _names_blocks(t, names, fmt)
    return out


def _names_blocks(t, names, fmt) -> list:
    """The classic tutorial's names beside the textbook's symbols and the step's values."""
    s = t.samples[0]
    rows = []
    for lf in s.forward:
        for n in lf.neurons:
            rows.append(
                [[Txt(names.z(lf.l, n.j))], [Sym("z", lf.l, n.j)], [fmt(n.z)], ["–"], ["–"]]
            )
            rows.append(
                [[Txt(names.a(lf.l, n.j))], [Sym("a", lf.l, n.j)], [fmt(n.a)], ["–"], ["–"]]
            )
    for step in t.steps:
        for p in step.weights:
            rows.append([[Txt(names.weight(p.l, p.j, p.k))], [_name_sym("w", p.l, p.j, p.k)],
                         [fmt(p.value)], [fmt(p.grad)], [fmt(p.new_value)]])  # fmt: skip
    headers = [[Txt("tutorial")], [Txt("textbook")], [Txt("value")], ["∂C/∂w"], [Txt("after")]]
    return [
        H(2, [Txt(names.title)]),
        Table(headers, rows, "llrrr"),
    ]


def render(
    obj, format="text", precision=6, width=None, diagram=None, naming="textbook",
    matrix_form=False, standalone=True,
) -> str:  # fmt: skip
    """See ``deltaprop.explain.render``; ``standalone=False`` gives HTML as a ``<div>`` with
    its own scoped style instead of a page (what a notebook shows)."""
    key = ALIASES.get(format.lower()) if isinstance(format, str) else None
    if key is None:
        raise DeltapropError(
            f"format={_short(format)} is unknown; expected one of: text, markdown, latex, html"
        )
    if width is not None and (
        isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 40
    ):
        raise DeltapropError(f"width={_short(width)} is invalid; expected an integer >= 40")
    if naming not in _diagram.NAMINGS:
        raise DeltapropError(
            f"naming={_short(naming)} is unknown; expected one of {_diagram.NAMINGS}"
        )
    fmt = _Fmt(precision)
    blocks = _blocks(obj, fmt)
    if _layout(obj) == "trace":
        blocks[2:2] = _drawn(obj, fmt, key, diagram, naming)
        if matrix_form:
            fused = _loss_formula(obj, "fused_formula", "fused_latex", layer=obj.num_layers)
            blocks += _matrix.blocks(obj, fmt, fused)
    if key == "text":
        return _text(blocks, width)
    if key == "markdown":
        return _markdown(blocks)
    if key == "latex":
        return _latex(blocks)
    if not standalone:
        return _html_fragment(blocks)
    title = _inline_unicode(blocks[0].parts) if blocks and isinstance(blocks[0], H) else "deltaprop"
    return _html_doc(blocks, title)
