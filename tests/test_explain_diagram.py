"""Tests of the drawn explain: the network as SVG (HTML), TikZ (LaTeX) and Mermaid (Markdown)
with the step's numbers on it, the classic tutorial's names, and the page in headless Chromium.

Mazur's worked example is the reference: his post gives ∂C/∂w5 = 0.082167041, w5 after the
step 0.35891648, w1 after the step 0.149780716, δ_o1 = 0.138498562.
"""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from conftest import compile_latex
from deltaprop import Network
from deltaprop.explain import builtin_example, explain, render
from test_cli import run as run_command
from test_report import BROWSER_WINDOW, save_screenshot  # noqa: F401  (the same window)


@pytest.fixture(scope="module")
def mazur():
    ex = builtin_example("mazur")
    return explain(ex.net, ex.x, ex.y, lr=ex.lr)


def _svg(page):
    """The network drawing of an HTML page, parsed."""
    match = re.search(r'<svg class="network".*?</svg>', page, re.S)
    assert match, "no network drawing in the page"
    return ET.fromstring(match.group(0))


def _texts(root, cls):
    return {
        (int(e.get("data-l")), int(e.get("data-j")), int(e.get("data-k", 0))): e.text
        for e in root.iter("text")
        if e.get("class") == cls
    }


def _check_drawing(root, t, precision=6):
    """One circle per neuron, one edge per weight, and the trace's numbers on them."""
    circles = [e for e in root.iter("circle") if "neuron" in e.get("class")]
    edges = [e for e in root.iter("line") if e.get("class") == "edge"]
    assert len(circles) == sum(t.sizes)
    assert len(edges) == sum(a * b for a, b in zip(t.sizes[1:], t.sizes[:-1]))
    assert {(int(c.get("data-l")), int(c.get("data-j"))) for c in circles} == {
        (l, j) for l, n in enumerate(t.sizes) for j in range(1, n + 1)
    }
    grads = _texts(root, "grad")
    for l, G in enumerate(t.grad_weights, 1):
        for (j, k), g in np.ndenumerate(G):
            assert grads[l, j + 1, k + 1].endswith(f" = {g:.{precision}f}")
    z, a, d = _texts(root, "z"), _texts(root, "a"), _texts(root, "delta")
    s = t.samples[0]
    backward = {lb.l: lb.neurons for lb in s.backward}
    for lf in s.forward:
        for n in lf.neurons:
            assert z[lf.l, n.j, 0].endswith(f" = {n.z:.{precision}f}")
            assert a[lf.l, n.j, 0].endswith(f" = {n.a:.{precision}f}")
            assert d[lf.l, n.j, 0] == f"δ = {backward[lf.l][n.j - 1].delta:.{precision}f}"
    x = _texts(root, "x")
    assert [x[0, j, 0].split(" = ")[1] for j in range(1, t.sizes[0] + 1)] == [
        f"{v:.{precision}f}" for v in s.x
    ]


def test_html_draws_mazur_with_the_trace_numbers(mazur):
    root = _svg(render(mazur, "html"))
    _check_drawing(root, mazur)
    grads = _texts(root, "grad")
    assert grads[2, 1, 1] == "∂C/∂w²₁₁ = 0.082167"  # Mazur: ∂E/∂w5 = 0.082167041
    assert _texts(root, "delta")[2, 1, 0] == "δ = 0.138499"  # Mazur: δ_o1 = 0.138498562


def test_drawing_of_a_batch_and_another_precision():
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], activation="tanh", output_activation="sigmoid", seed=1)
    t = explain(net, rng.normal(size=(2, 3)), [[0, 1], [1, 0]], lr=0.1)
    page = render(t, "html", precision=4)
    _check_drawing(_svg(page), t, precision=4)
    assert "z and a of sample 1" in page


def test_wide_layers_are_not_drawn():
    net = Network([13, 2], seed=0)
    page = render(explain(net, np.zeros(13), [0.0, 1.0]), "html")
    assert '<svg class="network"' not in page and "too wide to draw legibly" in page


def test_diagram_defaults_and_switches(mazur):
    assert '<svg class="network"' not in render(mazur, "html", diagram=False)
    assert "```mermaid" not in render(mazur, "markdown")
    assert "tikzpicture" not in render(mazur, "latex")
    assert "tikzpicture" in render(mazur, "latex", diagram=True)
    assert render(mazur, "text", diagram=True) == render(mazur, "text")
    with pytest.raises(ValueError, match="naming='tutorial' is unknown"):
        render(mazur, "html", naming="tutorial")


def test_mazur_naming_matches_the_tutorial(mazur):
    md = render(mazur, "markdown", naming="mazur")
    # w5 is w²₁₁, and after the step it is Mazur's 0.35891648; w1 his 0.149780716
    assert "| w5 | w²₁₁ | 0.400000 | 0.082167 | 0.358916 |" in md
    assert "| w1 | w¹₁₁ | 0.150000 | 0.000439 | 0.149781 |" in md
    assert "| w8 | w²₂₂ | 0.550000 | -0.022740 | 0.561370 |" in md
    assert "| net\\_h1 | z¹₁ | 0.377500 |" in md and "| out\\_o2 | a²₂ | 0.772928 |" in md
    root = _svg(render(mazur, "html", naming="mazur"))
    _check_drawing(root, mazur)
    assert _texts(root, "grad")[2, 2, 1] == "∂C/∂w7 = -0.022603"
    names = [e.text for e in root.iter("text") if e.get("class") == "name"]
    assert names == ["i1", "i2", "h1", "h2", "o1", "o2"]


def test_mazur_naming_numbers_weights_through_deeper_networks():
    net = Network([2, 3, 2, 1], seed=0)
    md = render(explain(net, [0.1, 0.2], [1.0]), "markdown", naming="mazur")
    # 6 weights into h1_*, then 6 into h2_*, then w13, w14 into o1
    assert "| w6 | w¹₃₂ |" in md and "| w7 | w²₁₁ |" in md and "| w14 | w³₁₂ |" in md
    assert "| net\\_h2\\_1 | z²₁ |" in md


def test_markdown_diagram_is_a_mermaid_flowchart(mazur):
    md = render(mazur, "markdown", diagram=True, naming="mazur")
    block = re.search(r"```mermaid\n(.*?)```", md, re.S).group(1)
    nodes = re.findall(r"^  n(\d)_(\d)\(\(\"(.*)\"\)\)$", block, re.M)
    edges = re.findall(r'^  n\d_\d -- "(.*)" --> n\d_\d$', block, re.M)
    assert len(nodes) == 6 and len(edges) == 8
    assert "∂C/∂w5 = 0.082167" in edges
    assert "h1<br/>net = 0.377500<br/>out = 0.593270<br/>δ = 0.008771" in [n[2] for n in nodes]


def test_latex_diagram_is_a_tikz_picture(mazur, tmp_path):
    tex = render(mazur, "latex", diagram=True, naming="mazur")
    preamble, body = tex.split("\\begin{document}")
    assert "\\usepackage{tikz}" in preamble and "\\usetikzlibrary{positioning}" in preamble
    picture = re.search(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", body, re.S).group(0)
    assert picture.count("\\node[circle") == 6
    assert picture.count("\\draw") == 8
    assert "?" not in picture  # every character mapped to ASCII LaTeX
    assert "$\\partial C/\\partial w5 = 0.082167$" in picture
    assert "$\\mathrm{net} = 0.377500$" in picture and "$\\delta = 0.138499$" in picture
    assert picture.count("{") == picture.count("}")
    assert tex.count("\\begin{") == tex.count("\\end{")
    compile_latex(tex, tmp_path)  # where a TeX installation is present


def test_command_draws_with_the_tutorial_names(tmp_path):
    out = tmp_path / "step.tex"
    proc = run_command("explain", "--builtin", "mazur", "--format", "latex", "--diagram",
                       "--naming", "mazur", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "tikzpicture" in out.read_text() and "w5" in out.read_text()
    proc = run_command("explain", "--builtin", "mazur", "--format", "html", "--no-diagram")
    assert proc.returncode == 0 and '<svg class="network"' not in proc.stdout
    proc = run_command("explain", "--builtin", "mazur", "--naming", "tutorial")
    assert proc.returncode == 2 and "'tutorial' is not one of" in proc.stderr


def test_explain_page_in_chromium(browser, mazur, tmp_path_factory):  # noqa: F811
    shots = tmp_path_factory.mktemp("screenshots")
    page = tmp_path_factory.mktemp("explain") / "mazur.html"
    page.write_text(render(mazur, "html", naming="mazur"), encoding="utf-8")
    browser.get(page.resolve().as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    count = browser.execute_script
    assert count("return document.querySelectorAll('svg.network circle.neuron').length") == 6
    assert count("return document.querySelectorAll('svg.network line.edge').length") == 8
    # what the browser shows on the edges is the trace's ∂C/∂w
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('svg.network text.grad'))"
        ".map(e => [e.dataset.l, e.dataset.j, e.dataset.k, e.textContent, "
        "e.getBoundingClientRect().width])"
    )
    for l, j, k, text, width in shown:
        g = mazur.grad_weights[int(l) - 1][int(j) - 1, int(k) - 1]
        assert text.endswith(f" = {g:.6f}") and width > 0
    # the drawing fits the page: no neuron outside the drawing's box
    box = count("return document.querySelector('svg.network').getBoundingClientRect().right")
    right = count(
        "return Math.max(...Array.from(document.querySelectorAll('svg.network circle'))"
        ".map(c => c.getBoundingClientRect().right))"
    )
    assert right <= box
    save_screenshot(browser, "explain-mazur", shots)


def test_the_row_vector_naming_names_seed_002s_network_in_its_own_terms():
    """W^l_kj (from k to j) is the textbook's w^l_jk: the table pairs the transposed indices
    with the same value; h′ is z and h is a, x the inputs and y the output."""
    from deltaprop.cli import run as run_cli

    ex = builtin_example("no-bias")
    trace = explain(ex.net, ex.x, ex.y, lr=ex.lr)
    text = render(trace, "text", naming="rowvector")
    rows = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0][:1] in "Whxy" and parts[1][:1] in "wza":
            rows[parts[0]] = (parts[1], float(parts[2]))
    sub = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
    for l, W in enumerate(ex.net.weights, 1):
        for j in range(W.shape[0]):
            for k in range(W.shape[1]):
                sup = "¹²³"[l - 1]
                name = f"W{sup}{k + 1}{j + 1}".translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))
                symbol, value = rows[name]
                assert symbol.translate(sub).endswith(f"{j + 1}{k + 1}")  # w^l_jk
                assert value == pytest.approx(W[j, k], abs=5e-7)
    zs = trace.samples[0].forward
    for lf in zs:
        for n in lf.neurons:
            who = ("h" if lf.l < len(ex.net.weights) else "y") + str(n.j)
            assert rows[who + "′"][1] == pytest.approx(n.z, abs=5e-7)
            assert rows[who][1] == pytest.approx(n.a, abs=5e-7)
    assert run_cli(["explain", "--builtin", "no-bias", "--naming", "rowvector"]) == 0
