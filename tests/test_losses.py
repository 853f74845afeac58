"""Losses: each C_x against an independent formula, each ∇_a C against central differences of C,
the fused output errors against the unfused BP1 product, fused costs against plain costs, and
finite costs without warnings where the plain formulas would take log(0) or overflow."""

import numpy as np
import pytest

from deltaprop import losses
from deltaprop.losses import LOSSES, Loss

NAMES = sorted(LOSSES)
FUSED_PAIRS = [("sigmoid", "binary_cross_entropy"), ("softmax", "cross_entropy")]


# --------------------------------------------------------------------------- references
def ref_value(name, a, y):
    """Per-sample cost C_x, from the definitions."""
    if name == "quadratic":
        return 0.5 * ((y - a) ** 2).sum(axis=1)
    if name == "mse":
        return ((a - y) ** 2).mean(axis=1)
    if name == "binary_cross_entropy":
        return -(y * np.log(a) + (1 - y) * np.log(1 - a)).sum(axis=1)
    if name == "cross_entropy":
        return -(y * np.log(a)).sum(axis=1)
    raise AssertionError(name)


def ref_gradient(name, a, y):
    """∇_a C_x, differentiated by hand."""
    if name == "quadratic":
        return a - y
    if name == "mse":
        return 2 * (a - y) / a.shape[1]
    if name == "binary_cross_entropy":
        return -y / a + (1 - y) / (1 - a)
    if name == "cross_entropy":
        return -y / a
    raise AssertionError(name)


def make_targets(name, rng, shape):
    if name == "binary_cross_entropy":
        return rng.uniform(0, 1, shape)
    if name == "cross_entropy":
        y = rng.uniform(0.1, 1, shape)
        return y / y.sum(axis=1, keepdims=True)
    return rng.normal(size=shape)


def logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax_rows(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


# --------------------------------------------------------------------------- registry
def test_registry_holds_every_required_loss():
    assert set(LOSSES) == {"quadratic", "mse", "binary_cross_entropy", "cross_entropy"}
    for name, cls in LOSSES.items():
        assert issubclass(cls, Loss) and cls.name == name


@pytest.mark.parametrize(
    "alias, name",
    [
        ("bce", "binary_cross_entropy"),
        ("ce", "cross_entropy"),
        ("categorical_cross_entropy", "cross_entropy"),
        ("squared", "quadratic"),
        ("QUADRATIC", "quadratic"),
        ("MSE", "mse"),
    ],
)
def test_aliases_and_case(alias, name):
    assert losses.get(alias).name == name


def test_get_accepts_objects_classes_and_configs():
    obj = losses.CrossEntropy()
    assert losses.get(obj) is obj
    assert isinstance(losses.get(losses.MSE), losses.MSE)
    assert losses.get(obj.config()) == obj
    assert losses.get("mse") != losses.get("quadratic")


@pytest.mark.parametrize("bad", ["hinge", None, 7])
def test_unknown_loss_lists_valid_names(bad):
    with pytest.raises(ValueError, match=rf"loss={bad!r} is unknown; expected one of") as info:
        losses.get(bad)
    for name in LOSSES:
        assert name in str(info.value)


def test_fused_pairs_are_declared():
    assert losses.get("binary_cross_entropy").fused == {"sigmoid"}
    assert losses.get("cross_entropy").fused == {"softmax"}
    assert losses.get("quadratic").fused == set()
    assert losses.get("mse").fused == set()
    # the module docstring lists both pairs and says softmax otherwise uses the full Jacobian
    doc = losses.__doc__
    assert "sigmoid + binary_cross_entropy" in doc and "softmax + cross_entropy" in doc
    assert "Jacobian" in doc


# --------------------------------------------------------------------------- values and gradients
@pytest.mark.parametrize("name", NAMES)
def test_value_matches_reference_formula(name, rng):
    loss = losses.get(name)
    a = rng.uniform(0.05, 0.95, (6, 4))
    y = make_targets(name, rng, a.shape)
    c = loss.value(a, y)
    assert c.shape == (6,)
    np.testing.assert_allclose(c, ref_value(name, a, y), rtol=1e-13)


def test_known_values():
    a = np.array([[0.2, 0.7]])
    y = np.array([[0.0, 1.0]])
    # ½(0.2² + 0.3²) = ½(0.04 + 0.09) = 0.065
    assert losses.get("quadratic").value(a, y)[0] == pytest.approx(0.065, abs=1e-15)
    # (0.04 + 0.09)/2 = 0.065 as well, with gradient 2(a − y)/2 = a − y
    assert losses.get("mse").value(a, y)[0] == pytest.approx(0.065, abs=1e-15)
    np.testing.assert_allclose(losses.get("mse").gradient(a, y), [[0.2, -0.3]], atol=1e-15)
    # −[ln(0.8) + ln(0.7)] = 0.5798184952529421
    assert losses.get("binary_cross_entropy").value(a, y)[0] == pytest.approx(
        0.5798184952529421, abs=1e-14
    )
    # −ln(0.7) = 0.35667494393873245
    assert losses.get("cross_entropy").value(a, y)[0] == pytest.approx(
        0.35667494393873245, abs=1e-14
    )


def test_mse_is_quadratic_scaled_by_two_over_n(rng):
    a, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    np.testing.assert_allclose(
        losses.get("mse").value(a, y), 2 / 3 * losses.get("quadratic").value(a, y), rtol=1e-14
    )


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_reference_formula(name, rng):
    loss = losses.get(name)
    a = rng.uniform(0.05, 0.95, (6, 4))
    y = make_targets(name, rng, a.shape)
    np.testing.assert_allclose(loss.gradient(a, y), ref_gradient(name, a, y), rtol=1e-13)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name, rng):
    loss = losses.get(name)
    a = rng.uniform(0.05, 0.95, (5, 3))
    y = make_targets(name, rng, a.shape)
    h = 1e-6
    numeric = np.empty_like(a)
    for j in range(a.shape[1]):
        e = np.zeros_like(a)
        e[:, j] = h
        # value is per sample, so column j of every row is perturbed at once
        numeric[:, j] = (loss.value(a + e, y) - loss.value(a - e, y)) / (2 * h)
    np.testing.assert_allclose(loss.gradient(a, y), numeric, rtol=1e-7, atol=1e-9)


# --------------------------------------------------------------------------- fused output errors
def test_sigmoid_bce_fused_delta_equals_unfused_bp1_product(rng):
    loss = losses.get("binary_cross_entropy")
    z = rng.normal(scale=2.0, size=(7, 3))
    a = logistic(z)
    y = rng.uniform(0, 1, z.shape)
    # BP1 written out: δ = ∇_a C ⊙ σ'(z), with σ'(z) = e^{−z} / (1 + e^{−z})²
    unfused = (-y / a + (1 - y) / (1 - a)) * (np.exp(-z) / (1 + np.exp(-z)) ** 2)
    fused = loss.fused_delta(a, y)
    np.testing.assert_allclose(fused, unfused, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(fused, a - y, rtol=0, atol=0)
    # and the loss's own (unfused) gradient times a(1 − a) agrees
    np.testing.assert_allclose(loss.gradient(a, y) * a * (1 - a), fused, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("targets", ["one_hot", "probabilities", "unnormalised"])
def test_softmax_ce_fused_delta_equals_jacobian_product(targets, rng):
    loss = losses.get("cross_entropy")
    z = rng.normal(scale=2.0, size=(5, 4))
    a = softmax_rows(z)
    if targets == "one_hot":
        y = np.eye(4)[rng.integers(0, 4, 5)]
    elif targets == "probabilities":
        y = rng.uniform(0.1, 1, z.shape)
        y /= y.sum(axis=1, keepdims=True)
    else:
        y = rng.uniform(0, 1, z.shape)  # rows need not sum to 1
    fused = loss.fused_delta(a, y)
    for i in range(5):
        # J[p, q] = ∂a_p/∂z_q = a_p(δ_pq − a_q); δ = Jᵀ ∇_a C with ∇_a C = −y/a
        J = np.diag(a[i]) - np.outer(a[i], a[i])
        np.testing.assert_allclose(fused[i], J.T @ (-y[i] / a[i]), rtol=1e-10, atol=1e-13)
    if targets != "unnormalised":
        np.testing.assert_allclose(fused, a - y, atol=1e-15)


def test_bce_fused_value_equals_plain_value(rng):
    loss = losses.get("binary_cross_entropy")
    z = rng.normal(scale=3.0, size=(6, 3))
    y = rng.uniform(0, 1, z.shape)
    ref = -(y * np.log(logistic(z)) + (1 - y) * np.log(1 - logistic(z))).sum(axis=1)
    np.testing.assert_allclose(loss.fused_value(z, y), ref, rtol=1e-12)
    np.testing.assert_allclose(loss.fused_value(z, y), loss.value(logistic(z), y), rtol=1e-12)


def test_ce_fused_value_equals_plain_value(rng):
    loss = losses.get("cross_entropy")
    z = rng.normal(scale=3.0, size=(6, 4))
    y = rng.uniform(0, 1, z.shape)
    ref = -(y * np.log(softmax_rows(z))).sum(axis=1)
    np.testing.assert_allclose(loss.fused_value(z, y), ref, rtol=1e-12)
    np.testing.assert_allclose(loss.fused_value(z, y), loss.value(softmax_rows(z), y), rtol=1e-12)


@pytest.mark.parametrize("act, name", FUSED_PAIRS)
def test_fused_delta_is_derivative_of_fused_value(act, name, rng):
    # ∂C_x/∂z by central differences of the fused cost must equal the fused δ^L.
    loss = losses.get(name)
    forward = logistic if act == "sigmoid" else softmax_rows
    z = rng.normal(scale=2.0, size=(4, 3))
    y = rng.uniform(0, 1, z.shape)
    h = 1e-6
    numeric = np.empty_like(z)
    for j in range(z.shape[1]):
        e = np.zeros_like(z)
        e[:, j] = h
        numeric[:, j] = (loss.fused_value(z + e, y) - loss.fused_value(z - e, y)) / (2 * h)
    np.testing.assert_allclose(loss.fused_delta(forward(z), y), numeric, rtol=1e-7, atol=1e-9)


def test_fused_delta_writes_into_out(rng):
    for name in ("binary_cross_entropy", "cross_entropy"):
        a = rng.uniform(0.1, 0.9, (3, 2))
        y = rng.uniform(0, 1, (3, 2))
        buf = np.empty_like(a)
        assert losses.get(name).fused_delta(a, y, out=buf) is buf
        np.testing.assert_allclose(buf, losses.get(name).fused_delta(a, y))


# --------------------------------------------------------------------------- stability
def test_bce_fused_value_exact_for_huge_logits(strict_numerics):
    loss = losses.get("binary_cross_entropy")
    z = np.array([[1e3, 1e3, -1e3, -1e3, 1e3, -800.0]])
    y = np.array([[0.0, 1.0, 0.0, 1.0, 0.3, 0.5]])
    with strict_numerics():
        c = loss.fused_value(z, y)
    # per entry: max(z,0) − zy + ln(1 + e^{−|z|}) = 1000, 0, 0, 1000, 1000 − 300, 400
    assert c[0] == pytest.approx(1000 + 0 + 0 + 1000 + 700 + 400, rel=1e-15)


def test_ce_fused_value_exact_for_huge_logits(strict_numerics):
    loss = losses.get("cross_entropy")
    z = np.array([[1e3, -1e3, 0.0], [-1e3, -1e3, -1e3]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    with strict_numerics():
        c = loss.fused_value(z, y)
    # row 0: logsumexp ≈ 1000 (e^{−1000}, e^{−2000} vanish), cost = 1000 − (−1000) = 2000
    # row 1: three equal logits, cost = ln 3
    np.testing.assert_allclose(c, [2000.0, np.log(3.0)], rtol=1e-12)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_plain_value_and_gradient_finite_at_zero_and_one(name, dtype, strict_numerics):
    # a = 0 and a = 1 exactly (a saturated sigmoid or softmax): no log(0), no division by 0
    loss = losses.get(name)
    a = np.array([[0.0, 1.0, 0.0, 1.0]], dtype=dtype)
    y = np.array([[1.0, 0.0, 0.0, 1.0]], dtype=dtype)
    with strict_numerics():
        c = loss.value(a, y)
        g = loss.gradient(a, y)
    assert np.isfinite(c).all() and np.isfinite(g).all()
    assert c.dtype == dtype and g.dtype == dtype
    if name in ("binary_cross_entropy", "cross_entropy"):
        # a wrong prediction with certainty costs a lot, a right one nothing
        assert c[0] > 10
        assert loss.value(np.array([[1.0, 0.0]], dtype=dtype), np.array([[1.0, 0.0]], dtype=dtype))[
            0
        ] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("act, name", FUSED_PAIRS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_finite_for_huge_logits(act, name, dtype, strict_numerics):
    from deltaprop import activations

    loss = losses.get(name)
    z = np.array([[1e3, -1e3, 710.0], [-1e3, 0.0, 1e3]], dtype=dtype)
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype=dtype)
    with strict_numerics():
        a = activations.get(act).forward(z)
        c = loss.fused_value(z, y)
        d = loss.fused_delta(a, y)
    assert np.isfinite(c).all() and np.isfinite(d).all()
    assert c.dtype == dtype and d.dtype == dtype
    assert (c > 500).all()


# --------------------------------------------------------------------------- float32 and targets
@pytest.mark.parametrize("name", NAMES)
def test_float32_in_float32_out(name, rng):
    loss = losses.get(name)
    a = rng.uniform(0.05, 0.95, (4, 3))
    y = make_targets(name, rng, a.shape)
    a32, y32 = a.astype(np.float32), y.astype(np.float32)
    assert loss.value(a32, y32).dtype == np.float32
    assert loss.gradient(a32, y32).dtype == np.float32
    np.testing.assert_allclose(loss.value(a32, y32), ref_value(name, a, y), rtol=1e-5)


@pytest.mark.parametrize("bad", [1.5, -0.2])
def test_bce_rejects_targets_outside_unit_interval(bad):
    Y = np.array([[0.0, 1.0], [0.5, bad]])
    with pytest.raises(
        ValueError, match=rf"Y contains {bad}; binary_cross_entropy expects targets in \[0, 1\]"
    ):
        losses.get("bce").check_targets(Y)


def test_ce_rejects_negative_targets():
    with pytest.raises(ValueError, match=r"T contains -0.5; cross_entropy expects targets >= 0"):
        losses.get("ce").check_targets(np.array([[1.5, -0.5]]), "T")


def test_quadratic_and_mse_accept_any_targets():
    Y = np.array([[-7.0, 12.5]])
    losses.get("quadratic").check_targets(Y)
    losses.get("mse").check_targets(Y)
