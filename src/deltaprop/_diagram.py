"""A traced step drawn as the network: neurons as circles, weights as edges, the numbers on them.

Each neuron of layer l ≥ 1 shows its z and a (of the trace's first sample), δ beside it; each
edge k → j of layer l carries ∂C/∂w_jk^l (BP4, averaged over the trace's samples); the input
neurons show x. Three drawings of the same layout: SVG (for the HTML page), TikZ (for the
LaTeX document) and a Mermaid flowchart (for Markdown, which GitHub and many editors draw).

Names are the textbook's (w²₁₁, z¹₁, a¹₁) or, with ``naming="mazur"``, those of the classic
tutorial: inputs i1, i2, hidden neurons h1, h2, outputs o1, o2, weights w1, w2, … numbered
layer by layer, row by row (w5 = w²₁₁), z as net_h1 and a as out_h1. ``naming="rowvector"``
gives the row-vector tutorials' names (h = Φ(x W¹), as seed 002 writes it): inputs x1, hidden
h1, outputs y1, z as h1′ and a as h1, and W¹ₖⱼ from neuron k to neuron j — the textbook's
w¹ⱼₖ, its matrix transposed.

Like ``deltaprop._render`` this module reads a trace by its attributes and imports neither
``deltaprop.trace`` nor ``deltaprop.explain``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from ._validation import DeltapropError

__all__ = ["NAMINGS", "Names", "drawable", "svg", "tikz", "mermaid"]

#: Naming schemes: the textbook's symbols, the classic tutorial's (Mazur's) names, or the
#: row-vector tutorials' (x W, W_ij from neuron i to neuron j).
NAMINGS = ("textbook", "mazur", "rowvector")

_MAX_NEURONS = 12  # per layer: beyond this the drawing is no longer legible
_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _jk(j: int, k: int) -> str:
    return f"{j}{k}" if j < 10 and k < 10 else f"{j},{k}"


@dataclass
class Names:
    """The names a drawing (and the names table) gives to neurons and weights."""

    sizes: list
    naming: str = "textbook"

    def __post_init__(self):
        if self.naming not in NAMINGS:
            raise DeltapropError(f"naming={self.naming!r} is unknown; expected one of {NAMINGS}")

    @property
    def classic(self) -> bool:
        """A tutorial's names (shown with a table of them), not the textbook's symbols."""
        return self.naming != "textbook"

    @property
    def title(self) -> str:
        if self.naming == "rowvector":
            return (
                "Names of the row-vector tutorial (h′ = x W¹, h = Φ(h′), y from h W²; W^l_kj "
                "from neuron k to neuron j, the textbook's w^l_jk; d the target)"
            )
        return "Names of the classic tutorial"

    def neuron(self, l: int, j: int) -> str:
        """The tutorial's i1 / h1 / o1 (or x1 / h1 / y1; h2_1 with several hidden layers);
        the textbook's a^l_j."""
        if not self.classic:
            return f"a{str(l).translate(_SUP)}{str(j).translate(_SUB)}"
        L = len(self.sizes) - 1
        first, last = ("x", "y") if self.naming == "rowvector" else ("i", "o")
        if l == 0:
            return f"{first}{j}"
        if l == L:
            return f"{last}{j}"
        return f"h{j}" if L == 2 else f"h{l}_{j}"

    def weight(self, l: int, j: int, k: int) -> str:
        """w5 (numbered through the layers, row by row), W¹₁₂ (from k to j) or w²₁₁."""
        if self.naming == "rowvector":
            return f"W{str(l).translate(_SUP)}{_jk(k, j).translate(_SUB)}"
        if not self.classic:
            return f"w{str(l).translate(_SUP)}{_jk(j, k).translate(_SUB)}"
        before = sum(self.sizes[i] * self.sizes[i - 1] for i in range(1, l))
        return f"w{before + (j - 1) * self.sizes[l - 1] + k}"

    def neuron_latex(self, l: int, j: int) -> str:
        return self.neuron(l, j).replace("_", r"\_") if self.classic else f"$a^{{{l}}}_{{{j}}}$"

    def weight_latex(self, l: int, j: int, k: int) -> str:
        if self.naming == "rowvector":
            return f"W^{{{l}}}_{{{_jk(k, j)}}}"
        return self.weight(l, j, k) if self.classic else f"w^{{{l}}}_{{{_jk(j, k)}}}"

    def z(self, l: int, j: int) -> str:
        if self.naming == "rowvector":
            return f"{self.neuron(l, j)}′"
        return f"net_{self.neuron(l, j)}" if self.classic else "z"

    def a(self, l: int, j: int) -> str:
        if self.naming == "rowvector":
            return self.neuron(l, j)
        return f"out_{self.neuron(l, j)}" if self.classic else "a"

    def inside(self) -> tuple[str, str]:
        """The words before z and a inside a drawn neuron."""
        return {"mazur": ("net", "out"), "rowvector": ("in", "out")}.get(self.naming, ("z", "a"))


def drawable(t) -> bool:
    """Whether the trace's network is small enough to draw legibly."""
    return max(t.sizes) <= _MAX_NEURONS


@dataclass
class _Layout:
    """Where each neuron sits (centres in px) and the numbers the drawing shows."""

    t: Any
    fixed: Any  # number → text with the chosen precision
    names: Names

    dx: int = 380
    dy: int = 170
    r: int = 54
    top: int = 60
    left: int = 90

    def __post_init__(self):
        self.height = self.top + max(self.t.sizes) * self.dy + 20
        self.width = self.left * 2 + (len(self.t.sizes) - 1) * self.dx

    def centre(self, l: int, j: int) -> tuple[float, float]:
        n = self.t.sizes[l]
        offset = (max(self.t.sizes) - n) * self.dy / 2
        return self.left + l * self.dx, self.top + offset + (j - 0.5) * self.dy

    def neurons(self):
        """(l, j, lines inside the circle, δ text or None) for every neuron."""
        s = self.t.samples[0]
        for j, x in enumerate(s.x, 1):
            yield 0, j, [f"x{str(j).translate(_SUB)} = {self.fixed(x)}"], None
        deltas = {lb.l: lb.neurons for lb in s.backward}
        for lf in s.forward:
            for n in lf.neurons:
                # The neuron's name stands above it: inside, just "net"/"z" and "out"/"a".
                z, a = self.names.inside()
                inside = [f"{z} = {self.fixed(n.z)}", f"{a} = {self.fixed(n.a)}"]
                yield lf.l, n.j, inside, f"δ = {self.fixed(deltas[lf.l][n.j - 1].delta)}"

    def edges(self):
        """(l, j, k, weight name, ∂C/∂w text) for every weight."""
        for l, G in enumerate(self.t.grad_weights, 1):
            for j in range(1, G.shape[0] + 1):
                for k in range(1, G.shape[1] + 1):
                    name = self.names.weight(l, j, k)
                    yield l, j, k, name, self.fixed(G[j - 1, k - 1])

    def label_at(self, l: int, j: int, k: int) -> tuple[float, float]:
        """A point on edge k → j where its label sits; spread by k so labels do not collide."""
        (x0, y0), (x1, y1) = self.centre(l - 1, k), self.centre(l, j)
        n = self.t.sizes[l - 1]
        f = 0.3 + (0.4 * (k - 1) / (n - 1) if n > 1 else 0.2)
        return x0 + f * (x1 - x0), y0 + f * (y1 - y0)


_SVG_STYLE = (
    ".edge{stroke:#9aa4b1;stroke-width:1.2}"
    ".neuron{fill:#fff;stroke:#2b5d8a;stroke-width:2}.input{stroke:#777}"
    "text{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:11px;fill:#222}"
    ".grad{font-size:10.5px;fill:#8a3b12;paint-order:stroke;stroke:#fff;stroke-width:4px}"
    ".delta{fill:#1c6b2d}.head{font-family:system-ui,sans-serif;font-size:13px;font-weight:600}"
    ".name{font-family:system-ui,sans-serif;fill:#555}"
)


def svg(t, fixed, names: Names) -> str:
    """The SVG drawing (an ``<svg>`` element): one ``circle.neuron`` per neuron and one
    ``line.edge`` per weight, each carrying ``data-l``/``data-j`` (and ``data-k``)."""
    g = _Layout(t, fixed, names)
    e = html.escape
    out = [
        f'<svg class="network" viewBox="0 0 {g.width} {g.height}" width="{g.width}" '
        f'height="{g.height}" role="img" aria-label="the network with the step\'s numbers">'
        f"<style>{_SVG_STYLE}</style>"
    ]
    for l in range(len(t.sizes)):
        act = "input" if l == 0 else t.activations[l - 1]
        out.append(
            f'<text class="head" x="{g.left + l * g.dx}" y="22" text-anchor="middle">'
            f"layer {l} ({e(act)})</text>"
        )
    for l, j, k, _, _ in g.edges():
        (x0, y0), (x1, y1) = g.centre(l - 1, k), g.centre(l, j)
        out.append(
            f'<line class="edge" data-l="{l}" data-j="{j}" data-k="{k}" x1="{x0:.1f}" '
            f'y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}"/>'
        )
    for l, j, k, name, grad in g.edges():
        x, y = g.label_at(l, j, k)
        out.append(
            f'<text class="grad" data-l="{l}" data-j="{j}" data-k="{k}" x="{x:.1f}" '
            f'y="{y:.1f}" text-anchor="middle">∂C/∂{e(name)} = {e(grad)}</text>'
        )
    for l, j, inside, delta in g.neurons():
        x, y = g.centre(l, j)
        cls = "neuron input" if l == 0 else "neuron"
        out.append(
            f'<circle class="{cls}" data-l="{l}" data-j="{j}" cx="{x:.1f}" cy="{y:.1f}" r="{g.r}"/>'
        )
        out.append(
            f'<text class="name" x="{x:.1f}" y="{y - g.r - 5:.1f}" text-anchor="middle">'
            f"{e(names.neuron(l, j))}</text>"
        )
        for i, line in enumerate(inside):
            dy = (i - (len(inside) - 1) / 2) * 15 + 4
            kind = "za"[i] if l else "x"
            out.append(
                f'<text class="{kind}" data-l="{l}" data-j="{j}" x="{x:.1f}" '
                f'y="{y + dy:.1f}" text-anchor="middle">{e(line)}</text>'
            )
        if delta:
            out.append(
                f'<text class="delta" data-l="{l}" data-j="{j}" x="{x:.1f}" '
                f'y="{y + g.r + 15:.1f}" text-anchor="middle">{e(delta)}</text>'
            )
    out.append("</svg>")
    return "".join(out)


def _tex_line(line: str) -> str:
    """'net = 0.377500' → '$\\mathrm{net} = 0.377500$'; z, a, δ and x₁ as math symbols."""
    name, value = line.split(" = ")
    if len(name) > 1 and name.isalpha() and name.isascii():
        name = rf"\mathrm{{{name}}}"
    name = name.replace("δ", r"\delta")
    for i, c in enumerate("₀₁₂₃₄₅₆₇₈₉"):
        name = name.replace(c, f"_{{{i}}}")
    return f"${name} = {value}$"


def tikz(t, fixed, names: Names) -> str:
    """The drawing as a TikZ picture (needs ``\\usepackage{tikz}``), 1 px = 0.02 cm."""
    g = _Layout(t, fixed, names)
    cm = 0.02
    out = [r"\begin{center}", r"\begin{tikzpicture}[x=1cm,y=-1cm,font=\scriptsize]"]
    for l, j, inside, delta in g.neurons():
        x, y = g.centre(l, j)
        body = r"\\ ".join(_tex_line(s) for s in inside)
        label = names.neuron_latex(l, j)
        out.append(
            rf"\node[circle,draw,minimum size={2 * g.r * cm:.2f}cm,inner sep=1pt,"
            rf"align=center,label=above:{{{label}}}] (n{l}-{j}) at ({x * cm:.2f},"
            rf"{y * cm:.2f}) {{{body}}};"
        )
        if delta:
            out.append(rf"\node[below=1pt of n{l}-{j}.south,anchor=north] {{{_tex_line(delta)}}};")
    for l, j, k, _, grad in g.edges():
        f = g.label_at(l, j, k)
        (x0, _), (x1, _) = g.centre(l - 1, k), g.centre(l, j)
        pos = (f[0] - x0) / (x1 - x0)
        name = names.weight_latex(l, j, k)
        out.append(
            rf"\draw[gray] (n{l - 1}-{k}) -- node[pos={pos:.2f},fill=white,inner sep=1pt]"
            rf" {{$\partial C/\partial {name} = {grad}$}} (n{l}-{j});"
        )
    out += [r"\end{tikzpicture}", r"\end{center}"]
    return "\n".join(out)


def mermaid(t, fixed, names: Names) -> str:
    """The drawing as a Mermaid flowchart in a fenced code block (for Markdown)."""
    g = _Layout(t, fixed, names)
    out = ["```mermaid", "flowchart LR"]
    for l, j, inside, delta in g.neurons():
        lines = [names.neuron(l, j), *inside] + ([delta] if delta else [])
        out.append(f'  n{l}_{j}(("{"<br/>".join(lines)}"))')
    for l, j, k, name, grad in g.edges():
        out.append(f'  n{l - 1}_{k} -- "∂C/∂{name} = {grad}" --> n{l}_{j}')
    out.append("```")
    return "\n".join(out)
