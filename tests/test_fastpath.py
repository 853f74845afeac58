"""The training kernel (``_kernel.Workspace``) against the readable path (``Network.backprop``).

The kernel rewrites BP1–BP4 as a fixed list of in-place numpy calls, folds 1/m (and η for SGD)
into Δ^L, takes BP3's row sums as 1ᵀΔ and uses Δ^L = A − Y for one-hot targets. Each of those
is checked here against the reference path in float64, to 1e-12, for every activation and
every activation × loss pair, several batch sizes, with and without dropout; and one step of
``fit`` is checked against a step applied by hand. No timing is asserted anywhere.
"""

import itertools

import numpy as np
import pytest

import deltaprop as dp
from conftest import HIDDEN, PAIRS
from conftest import targets as _targets
from deltaprop import optimizers
from deltaprop._kernel import Workspace
from deltaprop.training import fit

TOL = 1e-12


def _flat(g):
    """A Gradients object laid out like the network's flat parameter vector."""
    return np.concatenate([w.ravel() for w in g.weights] + [b.ravel() for b in g.biases])


def _kernel_gradient(net, X, Y, **kwargs):
    ws = Workspace(net, X.shape[0], **kwargs)
    ws.X[...] = X
    ws.Y[...] = Y
    ws.forward()
    return ws, ws.backward().copy()


def _assert_close(actual, expected, what=""):
    scale = max(1.0, float(np.abs(expected).max()))
    err = float(np.abs(actual - expected).max())
    assert err <= TOL * scale, f"{what}: kernel − reference = {err:.3g} (scale {scale:.2g})"


def _net(hidden, output, loss, seed, sizes=(4, 5, 3, 3)):
    net = dp.Network(
        list(sizes),
        activation=hidden,
        output_activation=output,
        loss=loss,
        init="scaled_normal",
        seed=seed,
    )
    for b in net.biases:
        b[...] = 0.3 * net.rng.standard_normal(b.shape)
    return net


@pytest.mark.parametrize("m", [1, 3, 10])
@pytest.mark.parametrize("output, loss", PAIRS, ids=[f"{o}-{l}" for o, l in PAIRS])
def test_kernel_gradient_equals_backprop_for_every_output_and_loss(output, loss, m):
    rng = np.random.default_rng(m)
    for hidden in ("sigmoid", "relu"):
        net = _net(hidden, output, loss, seed=m)
        X = rng.normal(size=(m, 4))
        Y = _targets(loss, rng, m, 3)
        ref = net.backprop(X, Y)
        ws, g = _kernel_gradient(net, X, Y)
        _assert_close(g, _flat(ref), f"{hidden}/{output}/{loss}, m={m}")
        # The forward buffers hold the reference's z^L and a^L, and the batch cost matches.
        np.testing.assert_allclose(ws.Z[-1], ref.zs[-1], rtol=0, atol=TOL)
        np.testing.assert_allclose(ws.A[-1], ref.activations[-1], rtol=0, atol=TOL)
        assert ws.batch_cost() == pytest.approx(ref.cost, rel=TOL, abs=TOL)


@pytest.mark.parametrize("m", [1, 4, 10])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_kernel_gradient_equals_backprop_for_every_hidden_activation(hidden, m):
    rng = np.random.default_rng(100 + m)
    for output, loss in (
        ("sigmoid", "quadratic"),
        ("softmax", "cross_entropy"),
        ("identity", "mse"),
    ):
        net = _net(hidden, output, loss, seed=7 + m)
        X = rng.normal(size=(m, 4))
        Y = _targets(loss, rng, m, 3)
        # dropout=[0, 0] must take exactly the path without dropout.
        for kwargs in ({}, {"dropout": [0.0, 0.0], "rng": np.random.default_rng(0)}):
            _, g = _kernel_gradient(net, X, Y, **kwargs)
            _assert_close(g, _flat(net.backprop(X, Y)), f"{hidden}/{output}/{loss}, {kwargs}")


@pytest.mark.parametrize("m", [1, 2, 9])
def test_one_hot_shortcut_equals_the_general_fused_error(m):
    # softmax + cross-entropy: Δ^L = a Σ_j y_j − y in general, a − y for one-hot rows.
    rng = np.random.default_rng(m)
    net = _net("tanh", "softmax", "cross_entropy", seed=3)
    X = rng.normal(size=(m, 4))
    Y = _targets("cross_entropy", rng, m, 3, one_hot=True)
    ref = _flat(net.backprop(X, Y))
    for one_hot in (False, True):
        _, g = _kernel_gradient(net, X, Y, one_hot=one_hot)
        _assert_close(g, ref, f"one_hot={one_hot}")
    # Rows that do not sum to 1 (cross-entropy accepts any y >= 0) need the general error;
    # the flag would be wrong for them, which is why fit sets it only after checking every row.
    Yp = 2.0 * Y + _targets("cross_entropy", rng, m, 3)
    ref_p = _flat(net.backprop(X, Yp))
    _, g = _kernel_gradient(net, X, Yp, one_hot=False)
    _assert_close(g, ref_p, "rows summing to 3")
    _, g = _kernel_gradient(net, X, Yp, one_hot=True)
    assert np.abs(g - ref_p).max() > 1e-3


def test_scale_multiplies_every_gradient_and_can_change_between_batches():
    rng = np.random.default_rng(0)
    net = _net("relu", "softmax", "cross_entropy", seed=1)
    X = rng.normal(size=(6, 4))
    Y = _targets("cross_entropy", rng, 6, 3, one_hot=True)
    ref = _flat(net.backprop(X, Y))
    ws = Workspace(net, 6, one_hot=True)
    ws.X[...] = X
    ws.Y[...] = Y
    for scale in (0.5, 3.0, 1.0):
        ws.scale = scale
        ws.forward()
        _assert_close(ws.backward(), scale * ref, f"scale={scale}")


def test_float32_kernel_matches_float64_reference_to_float32_precision():
    rng = np.random.default_rng(2)
    net64 = _net("sigmoid", "sigmoid", "quadratic", seed=4, sizes=(20, 8, 5))
    net32 = dp.Network(net64.sizes, dtype="float32")
    net32.set_flat(net64.get_flat().astype(np.float32))
    X = rng.uniform(0, 1, (10, 20))
    Y = _targets("quadratic", rng, 10, 5)
    _, g = _kernel_gradient(net32, X.astype(np.float32), Y.astype(np.float32))
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, _flat(net64.backprop(X, Y)), rtol=1e-4, atol=1e-6)


# ---------------------------------------------------------------------- dropout
def _reference_with_masks(net, X, Y, masks):
    """BP1–BP4 written out by hand with the hidden activations multiplied by given masks."""
    acts_fn = net.layer_activations
    a, zs, a_pre, a_out = X, [], [], [X]
    L = net.num_layers
    for l in range(L):
        z = a @ net.weights[l].T + net.biases[l]
        s = acts_fn[l].forward(z.copy())
        a = s * masks[l] if l < L - 1 else s
        zs.append(z)
        a_pre.append(s)
        a_out.append(a)
    delta = net.loss.output_delta(zs[-1], a_out[-1], Y, net.output_activation)
    m = X.shape[0]
    dW, db = [None] * L, [None] * L
    for l in range(L - 1, -1, -1):
        dW[l] = delta.T @ a_out[l] / m
        db[l] = delta.mean(axis=0)
        if l > 0:
            grad_a = (delta @ net.weights[l]) * masks[l - 1]
            delta = acts_fn[l - 1].backward(grad_a, zs[l - 1], a_pre[l - 1])
    return np.concatenate([w.ravel() for w in dW] + [b.ravel() for b in db]), a_out[-1]


@pytest.mark.parametrize("hidden", ["sigmoid", "relu", "tanh", "swish"])
@pytest.mark.parametrize("rates", [[0.5, 0.5], [0.3, 0.0], [0.0, 0.25]])
def test_dropout_gradient_equals_reference_with_the_same_mask(hidden, rates):
    rng = np.random.default_rng(5)
    net = _net(hidden, "softmax", "cross_entropy", seed=9)
    X = rng.normal(size=(8, 4))
    Y = _targets("cross_entropy", rng, 8, 3, one_hot=True)
    ws, g = _kernel_gradient(net, X, Y, dropout=rates, rng=np.random.default_rng(1), one_hot=True)
    masks = []
    for l, p in enumerate(rates, start=1):
        if p > 0:
            mask = ws.mask[l]
            keep = 1.0 - p
            # Inverted dropout: each entry is 0 or 1/keep.
            assert np.all((mask == 0) | np.isclose(mask, 1 / keep, rtol=0, atol=1e-15))
            assert 0 < np.count_nonzero(mask) < mask.size
            masks.append(mask.copy())
        else:
            masks.append(np.ones((8, net.sizes[l])))
    ref, out = _reference_with_masks(net, X, Y, masks)
    np.testing.assert_allclose(ws.A[-1], out, rtol=0, atol=TOL)
    _assert_close(g, ref, f"{hidden}, dropout {rates}")
    # The mask matters: without it the gradient is different.
    assert np.abs(g - _flat(net.backprop(X, Y))).max() > 1e-6


# ---------------------------------------------------------------------- fit's step
def _data(loss, rng, m=12, n_in=4, n_out=3, one_hot=False):
    X = rng.normal(size=(m, n_in))
    return X, _targets(loss, rng, m, n_out, one_hot=one_hot)


@pytest.mark.parametrize(
    "hidden, output, loss, labels",
    [
        ("sigmoid", "sigmoid", "quadratic", False),
        ("relu", "softmax", "cross_entropy", True),  # one-hot from integer labels
        ("relu", "softmax", "cross_entropy", False),  # rows summing to 2: no shortcut
        ("tanh", "identity", "mse", False),
        ("sigmoid", "sigmoid", "binary_cross_entropy", False),
    ],
)
def test_one_sgd_step_of_fit_equals_a_hand_applied_step(hidden, output, loss, labels):
    rng = np.random.default_rng(11)
    X, Y = _data(loss, rng, one_hot=labels)
    if loss == "cross_entropy" and not labels:
        Y = 2.0 * Y
    net = _net(hidden, output, loss, seed=12)
    theta0 = net.get_flat()
    eta = 0.7
    expected = theta0 - eta * _flat(net.backprop(X, Y))
    y_arg = Y.argmax(axis=1) if labels else Y
    fit(net, X, y_arg, epochs=1, batch_size=X.shape[0], lr=eta, shuffle=False, train_metrics=False)
    np.testing.assert_allclose(net.get_flat(), expected, rtol=0, atol=1e-13)


def test_minibatches_of_two_sizes_each_equal_a_hand_applied_step():
    # 7 samples in batches of 3: workspaces for m = 3 and m = 1, both checked step by step.
    rng = np.random.default_rng(3)
    X, Y = _data("quadratic", rng, m=7)
    net = _net("sigmoid", "sigmoid", "quadratic", seed=2)
    ref = net.copy()
    eta = 1.5
    fit(net, X, Y, epochs=1, batch_size=3, lr=eta, shuffle=False, train_metrics=False)
    for start in (0, 3, 6):
        g = _flat(ref.backprop(X[start : start + 3], Y[start : start + 3]))
        ref.set_flat(ref.get_flat() - eta * g)
    np.testing.assert_allclose(net.get_flat(), ref.get_flat(), rtol=0, atol=1e-13)


def test_l2_with_the_folded_learning_rate_equals_a_hand_applied_step():
    rng = np.random.default_rng(4)
    X, Y = _data("quadratic", rng, m=8)
    net = _net("tanh", "sigmoid", "quadratic", seed=5)
    lam, eta, n = 3.0, 0.4, 8
    theta0 = net.get_flat()
    g = _flat(net.backprop(X, Y))
    n_w = net.num_weights
    g[:n_w] += lam / n * theta0[:n_w]
    fit(net, X, Y, epochs=1, batch_size=8, lr=eta, l2=lam, shuffle=False, train_metrics=False)
    np.testing.assert_allclose(net.get_flat(), theta0 - eta * g, rtol=0, atol=1e-13)


def test_folding_is_used_only_by_optimizers_that_define_both_updates():
    assert optimizers.SGD().folds_lr
    assert optimizers.Momentum().folds_lr and optimizers.Nesterov().folds_lr
    assert not optimizers.Adam().folds_lr

    class HalfStepSGD(optimizers.SGD):
        """Overrides update() alone: fit must call it, not SGD's update_scaled."""

        def update(self, params, grads):
            grads *= 0.5 * self.lr
            params -= grads

    opt = HalfStepSGD(lr=0.8)
    assert not opt.folds_lr
    rng = np.random.default_rng(6)
    X, Y = _data("quadratic", rng, m=5)
    net = _net("sigmoid", "sigmoid", "quadratic", seed=8)
    expected = net.get_flat() - 0.4 * _flat(net.backprop(X, Y))
    fit(
        net, X, Y, epochs=1, batch_size=5, optimizer=opt, lr=0.8, shuffle=False, train_metrics=False
    )
    np.testing.assert_allclose(net.get_flat(), expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov"])
def test_update_scaled_and_update_follow_the_rule(name):
    eta, mu = 0.3, 0.7
    rng = np.random.default_rng(7)
    params = rng.normal(size=50)
    grads = [rng.normal(size=50) for _ in range(3)]
    kwargs = {} if name == "sgd" else {"momentum": mu}
    a = optimizers.get(name, lr=eta, **kwargs)
    b = optimizers.get(name, lr=eta, **kwargs)
    pa, pb, expected, v = params.copy(), params.copy(), params.copy(), np.zeros(50)
    a.init(pa)
    b.init(pb)
    for g in grads:
        a.update(pa, g.copy())
        b.update_scaled(pb, eta * g)
        if name == "sgd":
            expected = expected - eta * g
        else:
            v = mu * v - eta * g
            expected = expected + (v if name == "momentum" else mu * v - eta * g)
    np.testing.assert_allclose(pa, expected, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(pb, expected, rtol=1e-13, atol=1e-14)


def test_the_book_network_makes_few_numpy_calls_per_batch():
    # At batch size 10 the step's cost is its number of numpy calls (issue 5). Counted, not
    # timed: forward 2 × (matmul, bias, 4 for σ); BP1 5; per layer BP4 + BP3, BP2 + 3 for σ'.
    net = dp.Network([784, 30, 10], dtype="float32", seed=0)
    ws = Workspace(net, 10)
    calls = len(ws._fwd) + len(ws._bp1) + 1 + len(ws._bwd)
    assert calls <= 25, f"the kernel makes {calls} numpy calls per batch; expected at most 25"


# ---------------------------------------------------------------------- the benchmark suite
def test_benchmark_suite_runs_and_writes_its_report(tmp_path, monkeypatch):
    # A smoke run of deltaprop.bench (behind `deltaprop bench`) on a little random data: the
    # report's structure is checked, never a time.
    from deltaprop import bench

    monkeypatch.setenv("DELTAPROP_DATA", str(tmp_path / "nowhere"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    status = bench.main(
        [
            "--quick",
            "--samples",
            "600",
            "--rounds",
            "1",
            "--configs",
            "1",
            "--systems",
            "deltaprop,book,bound",
            "--dataset",
            "random",
            "--threads",
            "1",
            "--book-fraction",
            "0.1",
            "--out",
            str(tmp_path),
        ]
    )
    assert status == 0
    import json

    report = json.loads((tmp_path / "bench-quick.json").read_text())
    res = report["results"]["1"]
    assert set(res["systems"]) == {"deltaprop", "book", "bound"}
    assert all(row["samples_per_s"] > 0 for row in res["systems"].values())
    assert set(res["ratios"]) == set(res["comparisons"]) == {"book", "bound"}
    assert report["meta"]["threads"] == 1 and report["meta"]["samples"] == 600
    assert "random" in report["meta"]["data"]
    md = (tmp_path / "bench-quick.md").read_text()
    assert "| (1) [784,30,10]" in md and "matmul bound" in md


def test_book_network_is_the_textbook_algorithm():
    # The benchmark's reimplementation of network.py: one update_mini_batch equals one SGD
    # step on the batch-mean gradient of deltaprop's reference path (same weights).
    from deltaprop.bench import book_network

    rng = np.random.default_rng(0)
    book = book_network()([4, 3, 2], dtype=np.float64)
    net = dp.Network([4, 3, 2], activation="sigmoid", loss="quadratic")
    net.weights = book.weights
    net.biases = [b[:, 0] for b in book.biases]
    X = rng.normal(size=(5, 4))
    Y = rng.uniform(size=(5, 2))
    g = net.backprop(X, Y)
    book.update_mini_batch([(x[:, None], y[:, None]) for x, y in zip(X, Y)], 0.5)
    for l in range(2):
        np.testing.assert_allclose(
            book.weights[l], net.weights[l] - 0.5 * g.weights[l], rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            book.biases[l][:, 0], net.biases[l] - 0.5 * g.biases[l], rtol=0, atol=1e-12
        )


# ---------------------------------------------------------------------- the finiteness guard
GUARD_CASES = [
    ("sigmoid", "sigmoid", "quadratic"),
    ("relu", "softmax", "cross_entropy"),
    ("tanh", "identity", "mse"),
    ("relu", "sigmoid", "binary_cross_entropy"),
    ("swish", "softmax", "cross_entropy"),
    ("leaky_relu", "identity", "quadratic"),
]


def _guard_trial(hidden, output, loss, dtype, scale, seed):
    """(guard's verdict, whether the whole gradient is finite), or None if θ overflowed."""
    rng = np.random.default_rng(seed)
    net = dp.Network([4, 6, 5, 3], activation=hidden, output_activation=output, loss=loss,
                     dtype=dtype, seed=seed)  # fmt: skip
    with np.errstate(over="ignore"):
        theta = (rng.standard_normal(net.num_parameters) * scale).astype(dtype)
    if not np.isfinite(theta).all():
        return None
    net.parameters[...] = theta
    ws = Workspace(net, 7, one_hot=True)
    ws.X[...] = rng.standard_normal((7, 4))
    ws.Y[...] = np.eye(3)[rng.integers(0, 3, 7)]
    with np.errstate(all="ignore"):
        ws.forward()
        ws.backward()
        squares = float(np.sum(ws.grad.astype(np.float64) ** 2))
        return ws.gradient_is_finite(), bool(np.isfinite(ws.grad).all()), squares


def test_the_guard_sees_every_non_finite_gradient():
    # The guard checks the bias gradients and the weight gradients fed by unbounded σ only;
    # with parameters up to the dtype's range (overflow, inf − inf, 0 · inf everywhere), it
    # must say "not finite" whenever any entry of the full gradient is. It may also say so when
    # the gradient is finite but its sum of squares overflows the dtype (a diverging step).
    seen_bad = 0
    big = {"float32": float(np.finfo(np.float32).max), "float64": float(np.finfo(np.float64).max)}
    for (hidden, output, loss), dtype in itertools.product(GUARD_CASES, ("float32", "float64")):
        top = 1e38 if dtype == "float32" else 1e300
        for scale in np.geomspace(1e2, top, 30):
            for seed in range(3):
                trial = _guard_trial(hidden, output, loss, dtype, scale, seed)
                if trial is not None:
                    guard, full, squares = trial
                    seen_bad += not full
                    case = (hidden, output, loss, dtype, scale, seed)
                    if not full:
                        assert not guard, case
                    elif not guard:
                        assert squares > big[dtype] / 2, case
    assert seen_bad > 50  # the sweep did reach non-finite gradients


def test_the_guard_checks_weights_fed_by_an_unbounded_activation():
    # One ReLU unit overflows to +inf; the sigmoid output saturates to 0 or 1, so every δ and
    # bias gradient stays finite while ∂C/∂W² = δ²ᵀ a¹ holds ±inf: only the weight check sees it.
    net = dp.Network([2, 3, 2], activation="relu", output_activation="sigmoid", loss="bce",
                     dtype="float32", seed=0)  # fmt: skip
    net.weights[0][...] = [[3e38, 3e38], [0.5, -0.5], [0.1, 0.2]]
    net.biases[0][...] = 0.0
    ws = Workspace(net, 2)
    ws.X[...] = [[1.0, 1.0], [2.0, 0.5]]
    ws.Y[...] = [[1.0, 0.0], [0.0, 1.0]]
    with np.errstate(all="ignore"):
        ws.forward()
        ws.backward()
        assert np.isinf(ws.A[1][:, 0]).all()
        assert np.isfinite(ws.gb[0]).all() and np.isfinite(ws.gb[1]).all()
        assert not np.isfinite(ws.gW[1]).all()
        assert not ws.gradient_is_finite()
