"""explain's matrix form (eqs. 33–35): the matrices printed are the step's, and their products
are the errors and gradients, checked against finite differences computed here."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import deltaprop
from conftest import compile_latex
from deltaprop import Network
from deltaprop.explain import builtin_example, explain, render

SRC = str(Path(deltaprop.__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")]))
PREC = 10
TOL = 2e-10  # half a unit in the 10th digit, and a little rounding


def _matrices(page: str) -> dict:
    """name → list of the matrices of that name, in page order, parsed from the HTML."""
    out: dict = {}
    for name, body in re.findall(
        r'<span class="mat" data-name="([^"]*)"><table>(.*?)</table>', page
    ):
        rows = re.findall(r"<tr>(.*?)</tr>", body)
        M = np.array([[float(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r)] for r in rows])
        out.setdefault(html.unescape(name), []).append(M)
    return out


def _section(text: str) -> str:
    return text[text.index("The step in matrix form") :]


def _numbers(text: str) -> Counter:
    return Counter(re.findall(r"-?\d+\.\d{" + str(PREC) + r"}\b", text))


def _cost(net, X, Y, l, Z):
    """C with the weighted inputs of layer l (1-based) set to Z, then forward through the rest."""
    a = net.layer_activations[l - 1].forward(Z.copy())
    for W, b, act in zip(net.weights[l:], net.biases[l:], net.layer_activations[l:]):
        a = act.forward(a @ W.T + b)
    return float(np.mean(0.5 * np.sum((a - Y) ** 2, axis=1)))


def _fd_delta(net, X, Y, l, eps=1e-6):
    """δ^l = ∂C_x/∂z^l per sample by central differences (C of the batch is a mean: × m)."""
    zs, _ = net.forward_trace(X)
    Z = zs[l - 1]
    m = X.shape[0]
    D = np.zeros_like(Z)
    for s in range(m):
        for j in range(Z.shape[1]):
            Zp, Zm = Z.copy(), Z.copy()
            Zp[s, j] += eps
            Zm[s, j] -= eps
            D[s, j] = m * (_cost(net, X, Y, l, Zp) - _cost(net, X, Y, l, Zm)) / (2 * eps)
    return D


def test_mazur_matrices_are_the_steps_and_their_products_are_the_errors():
    net, x, y, lr = builtin_example("mazur")
    t = explain(net, x, y, lr)
    M = _matrices(render(t, "html", precision=PREC, matrix_form=True))
    # the printed parameters and forward quantities are the trace's
    for l in (1, 2):
        np.testing.assert_allclose(M[f"W{l}"][0], t.weights[l - 1], atol=TOL)
        np.testing.assert_allclose(M[f"b{l}"][0][:, 0], t.biases[l - 1], atol=TOL)
        z = [n.z for n in t.samples[0].forward[l - 1].neurons]
        np.testing.assert_allclose(M[f"Z{l}"][0][:, 0], z, atol=TOL)
        np.testing.assert_allclose(M[f"W{l} new"][0], t.new_weights[l - 1], atol=TOL)
        np.testing.assert_allclose(M[f"dC/dW{l}"][0], t.grad_weights[l - 1], atol=TOL)
    # Z = W A + b, as printed
    np.testing.assert_allclose(M["W1"][0] @ M["A0"][0] + M["b1"][0], M["Z1"][0], atol=1e-9)
    # Σ′(z²) is diagonal with sigmoid's a(1 − a), ∇_a C = a − y (quadratic cost), computed here
    zs, acts = net.forward_trace(np.asarray(x, float)[None, :])
    a2 = acts[-1][0]
    S2 = M["Sigma'(z2)"][0]
    np.testing.assert_allclose(S2, np.diag(a2 * (1 - a2)), atol=TOL)
    np.testing.assert_allclose(M["dC/da2"][0][:, 0], a2 - np.asarray(y), atol=TOL)
    # (33): Σ′(z²) ∇_a C is δ², and δ² is ∂C/∂z² by finite differences
    X, Y = np.asarray(x, float)[None, :], np.asarray(y, float)[None, :]
    d2 = M["delta2"][0][:, 0]
    np.testing.assert_allclose(S2 @ M["dC/da2"][0][:, 0], d2, atol=1e-9)
    np.testing.assert_allclose(d2, _fd_delta(net, X, Y, 2)[0], atol=1e-8)
    assert abs(d2[0] - 0.13849856) < 1e-8  # Mazur's post
    # (34): Σ′(z¹) (W²)ᵀ δ² is δ¹
    S1, W2t = M["Sigma'(z1)"][0], M["W2^T"][0]
    np.testing.assert_allclose(W2t, t.weights[1].T, atol=TOL)
    a1 = acts[1][0]
    np.testing.assert_allclose(S1, np.diag(a1 * (1 - a1)), atol=TOL)
    d1 = M["delta1"][0][:, 0]
    np.testing.assert_allclose(S1 @ W2t @ d2, d1, atol=1e-9)
    np.testing.assert_allclose(d1, _fd_delta(net, X, Y, 1)[0], atol=1e-8)
    # BP4 as an outer product, and the step
    np.testing.assert_allclose(np.outer(d2, a1), M["dC/dW2"][0], atol=1e-9)
    np.testing.assert_allclose(M["W2"][-1] - lr * M["dC/dW2"][0], M["W2 new"][0], atol=1e-9)
    assert abs(M["W2 new"][0][0, 0] - 0.35891648) < 1e-8  # Mazur's w5⁺


def test_batch_softmax_jacobian_is_the_full_matrix_and_gives_delta():
    net = Network([3, 4, 3], activation="tanh", output_activation="softmax", loss="quadratic")
    rng = np.random.default_rng(3)
    net.weights = [rng.normal(size=W.shape) for W in net.weights]
    X = rng.random((3, 3))
    Y = np.eye(3)[[0, 2, 1]]
    t = explain(net, X, Y, 0.1)
    assert t.output_rule == "jacobian"
    M = _matrices(render(t, "html", precision=PREC, matrix_form=True))
    zs, acts = net.forward_trace(X)
    D2 = _fd_delta(net, X, Y, 2)
    for s in range(3):
        a = acts[-1][s]
        J = np.diag(a) - np.outer(a, a)  # softmax: ∂a_i/∂z_j = a_i(δ_ij − a_j), computed here
        JT = M["J^T"][s]
        assert np.abs(JT - np.diag(np.diag(JT))).max() > 1e-3  # not diagonal
        np.testing.assert_allclose(JT, J.T, atol=TOL)
        np.testing.assert_allclose(JT @ M["dC/da2"][s][:, 0], M["delta2"][s][:, 0], atol=1e-9)
        np.testing.assert_allclose(M["delta2"][s][:, 0], D2[s], atol=1e-8)
        # (34) for each sample, with tanh's Σ′ = diag(1 − a²)
        a1 = acts[1][s]
        np.testing.assert_allclose(M["Sigma'(z1)"][s], np.diag(1 - a1**2), atol=TOL)
        d1 = M["Sigma'(z1)"][s] @ M["W2^T"][s] @ M["delta2"][s][:, 0]
        np.testing.assert_allclose(d1, M["delta1"][s][:, 0], atol=1e-9)
    # the batch forms: columns are samples
    D1 = _fd_delta(net, X, Y, 1)
    Delta1 = M["delta1"][-1]  # the Hadamard form's result, Δ¹ with one column per sample
    np.testing.assert_allclose(Delta1, D1.T, atol=1e-8)
    WD, S = M["W2^T Delta2"][0], M["sigma'(Z1)"][0]
    np.testing.assert_allclose(WD * S, Delta1, atol=1e-9)
    np.testing.assert_allclose(WD, net.weights[1].T @ D2.T, atol=1e-8)
    A1T = M["A1^T"][0]
    np.testing.assert_allclose(A1T, acts[1], atol=TOL)
    np.testing.assert_allclose(M["delta2"][-1] @ A1T / 3, M["dC/dW2"][0], atol=1e-9)
    np.testing.assert_allclose(M["dC/dW2"][0], t.grad_weights[1], atol=TOL)


def test_fused_output_shows_the_engine_error_beside_the_product_it_replaces():
    net = Network([2, 2, 1], output_activation="sigmoid", loss="binary_cross_entropy", seed=2)
    t = explain(net, [0.3, -0.8], [1.0], 0.5)
    assert t.output_rule == "fused"
    page = render(t, "html", precision=PREC, matrix_form=True)
    M = _matrices(page)
    a = net.forward_trace(np.array([[0.3, -0.8]]))[1][-1][0]
    np.testing.assert_allclose(M["delta2"][0][:, 0], a - 1.0, atol=TOL)  # a − y
    product = M["Sigma'(z2)"][0] @ M["dC/da2"][0][:, 0]
    np.testing.assert_allclose(product, M["product2"][0][:, 0], atol=1e-9)
    np.testing.assert_allclose(product, a - 1.0, atol=1e-9)
    assert "fuses BP1" in page


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_every_format_prints_the_same_numbers_as_the_html(fmt):
    net, x, y, lr = builtin_example("mazur")
    t = explain(net, x, y, lr)
    page = _section(render(t, "html", precision=PREC, matrix_form=True))
    cells = Counter()
    for body in re.findall(r"<table>(.*?)</table>", page):
        cells.update(_numbers(body))
    other = _section(render(t, fmt, precision=PREC, matrix_form=True, width=200))
    # every matrix entry printed in HTML is printed as often in the other format
    got = _numbers(other)
    assert cells and all(got[k] >= v for k, v in cells.items()), fmt


def test_text_draws_matrices_with_brackets_and_the_equation_numbers():
    net, x, y, lr = builtin_example("mazur")
    text = _section(render(explain(net, x, y, lr), "text", matrix_form=True))
    assert "δ² = Σ′(z²) ∇ₐC = ⎣" in text or "δ² = Σ′(z²) ∇ₐC =" in text
    lines = text.splitlines()
    row = next(i for i, s in enumerate(lines) if "δ² = Σ′(z²) ∇ₐC =" in s)
    assert "⎡ 0.186816         0 ⎤" in lines[row - 1]  # the diagonal Σ′, zeros off it
    assert "⎣        0  0.175510 ⎦" in lines[row]
    assert lines[row].endswith("(33)")
    assert any(s.endswith("(34)") for s in lines)


@pytest.mark.parametrize("example", ["mazur", "relu-softmax"])
def test_latex_matrix_form_is_a_well_formed_document(example, tmp_path):
    net, x, y, lr = builtin_example(example)
    tex = render(explain(net, x, y, lr), "latex", matrix_form=True)
    assert tex.isascii()
    assert r"\setcounter{MaxMatrixCols}{20}" in tex
    assert tex.count(r"\begin{align*}") == tex.count(r"\end{align*}") > 0
    assert tex.count(r"\begin{bmatrix}") == tex.count(r"\end{bmatrix}") > 20
    first = r"\delta^{2} &= \Sigma' ( z^{2} ) \nabla_{a} C \tag{33}"
    assert first in tex if example == "mazur" else r"J^{T}" in tex
    for env in re.findall(r"\\begin\{align\*\}(.*?)\\end\{align\*\}", tex, re.S):
        assert env.count("{") == env.count("}")
    assert tex.count("\\begin{") == tex.count("\\end{")
    compile_latex(tex, tmp_path)  # where a TeX installation is present


def test_default_output_has_no_matrix_form_and_wide_layers_are_not_drawn():
    net, x, y, lr = builtin_example("mazur")
    assert "matrix form" not in render(explain(net, x, y, lr), "html")
    wide = Network([2, 13, 1], seed=0)
    text = render(explain(wide, [0.1, 0.2], [1.0]), "text", matrix_form=True)
    assert "Not shown: a layer of 13 neurons" in text


def test_command_matrix_form():
    env_cmd = [sys.executable, "-m", "deltaprop", "explain", "--builtin", "mazur"]
    out = subprocess.run(
        env_cmd + ["--format", "markdown", "--matrix-form"], capture_output=True, text=True, env=ENV
    )
    assert out.returncode == 0, out.stderr
    assert "## The step in matrix form (eqs. 33–35)" in out.stdout
    assert "```text" in out.stdout and "0.138499" in _section(out.stdout)
    bad = subprocess.run(
        env_cmd + ["--gradients", "--matrix-form"], capture_output=True, text=True, env=ENV
    )
    assert bad.returncode == 2
    assert "--matrix-form" in bad.stderr and "Traceback" not in bad.stderr
