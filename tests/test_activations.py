"""Activations: each σ against an independent numpy formula, each σ' against central differences
of σ itself, softmax's Jacobian-vector product against an explicitly built Jacobian, and
numerical stability for |z| up to 1e3."""

import numpy as np
import pytest

from deltaprop import activations
from deltaprop.activations import ACTIVATIONS, Activation

# One entry per distinct activation (aliases such as "linear" dropped), plus non-default
# parameters of the parametrised ones.
CANONICAL = sorted(name for name, cls in ACTIVATIONS.items() if cls.name == name)
SPECS = [{"name": n} for n in CANONICAL] + [
    {"name": "leaky_relu", "alpha": 0.2},
    {"name": "leaky_relu", "alpha": 1.7},
    {"name": "swish", "beta": 2.5},
    {"name": "swish", "beta": 0.3},
]
ELEMENTWISE_SPECS = [s for s in SPECS if s["name"] != "softmax"]


def spec_id(spec):
    extra = ",".join(f"{k}={v}" for k, v in spec.items() if k != "name")
    return spec["name"] + (f"[{extra}]" if extra else "")


# --------------------------------------------------------------------------- references
# Written straight from the definitions, as functions of z only, with no stabilising tricks:
# they are used on moderate z where the naive formulas are exact to rounding.
def _logistic(z):
    return 1.0 / (1.0 + np.exp(-z))


def ref_forward(spec, z):
    name = spec["name"]
    if name == "identity":
        return z.copy()
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z))
    if name == "relu":
        return np.where(z > 0, z, 0.0)
    if name == "leaky_relu":
        alpha = spec.get("alpha", 0.01)
        return np.where(z > 0, z, alpha * z)
    if name == "swish":
        beta = spec.get("beta", 1.0)
        return z / (1.0 + np.exp(-beta * z))
    if name == "softplus":
        return np.log(1.0 + np.exp(z))
    if name == "softmax":
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
    raise AssertionError(f"no reference for {name}")


def ref_derivative(spec, z):
    name = spec["name"]
    if name == "identity":
        return np.ones_like(z)
    if name == "sigmoid":
        return np.exp(-z) / (1.0 + np.exp(-z)) ** 2
    if name == "tanh":
        return 1.0 / np.cosh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, spec.get("alpha", 0.01))
    if name == "swish":
        # d/dz [z s(βz)] = s(βz) + βz s(βz)(1 − s(βz))
        beta = spec.get("beta", 1.0)
        s = _logistic(beta * z)
        return s + beta * z * s * (1.0 - s)
    if name == "softplus":
        return _logistic(z)
    raise AssertionError(f"no reference for {name}")


def softmax_jacobian(a_row):
    """J[i, j] = ∂a_i/∂z_j = a_i(δ_ij − a_j), built entry by entry."""
    n = a_row.size
    J = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            J[i, j] = a_row[i] * ((1.0 if i == j else 0.0) - a_row[j])
    return J


def away_from_zero(rng, shape, low=0.05, high=4.0):
    """Random z with low ≤ |z| ≤ high: ReLU-type kinks are never within a finite-difference step."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(low, high, size=shape)


# --------------------------------------------------------------------------- registry
def test_registry_holds_every_required_activation():
    required = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "swish", "softplus", "softmax"}
    assert required <= set(ACTIVATIONS)
    for name, cls in ACTIVATIONS.items():
        assert issubclass(cls, Activation)
        assert activations.get(name).name == cls.name


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_get_by_name_is_case_insensitive(name):
    assert type(activations.get(name.upper())) is ACTIVATIONS[name]


def test_linear_is_identity():
    assert isinstance(activations.get("linear"), activations.Identity)


def test_get_accepts_objects_classes_and_configs():
    obj = activations.LeakyReLU(alpha=0.3)
    assert activations.get(obj) is obj
    assert isinstance(activations.get(activations.Tanh), activations.Tanh)
    rebuilt = activations.get(obj.config())
    assert isinstance(rebuilt, activations.LeakyReLU) and rebuilt.alpha == 0.3
    assert rebuilt == obj and rebuilt != activations.LeakyReLU(alpha=0.31)
    assert activations.get({"name": "swish", "beta": 2.0}).beta == 2.0


def test_default_parameters():
    assert activations.get("leaky_relu").alpha == 0.01
    assert activations.get("swish").beta == 1.0


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="activation='sigmod' is unknown") as info:
        activations.get("sigmod")
    for name in ACTIVATIONS:
        assert name in str(info.value)


@pytest.mark.parametrize("bad", [None, 3, ["relu"]])
def test_non_string_name_is_rejected(bad):
    with pytest.raises(ValueError, match="is unknown; expected one of"):
        activations.get(bad)


@pytest.mark.parametrize(
    "cls, param", [(activations.LeakyReLU, "alpha"), (activations.Swish, "beta")]
)
@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), float("inf"), "big", True])
def test_invalid_parameter_is_rejected(cls, param, bad):
    with pytest.raises(ValueError, match=rf"{param}=.*expected a finite number > 0"):
        cls(**{param: bad})


def test_unexpected_parameter_is_rejected():
    with pytest.raises(
        ValueError, match=r"'relu' got parameters \{'alpha': 0.1\}; ReLU accepts no"
    ):
        activations.get({"name": "relu", "alpha": 0.1})
    with pytest.raises(
        ValueError,
        match=r"'leaky_relu' got parameters \{'beta': 1\}; LeakyReLU accepts \('alpha',\)",
    ):
        activations.get({"name": "leaky_relu", "beta": 1})


# --------------------------------------------------------------------------- values
@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_forward_matches_reference_formula(spec, rng):
    act = activations.get(dict(spec))
    z = away_from_zero(rng, (5, 6))
    np.testing.assert_allclose(act.forward(z), ref_forward(spec, z), rtol=1e-13, atol=1e-15)
    # __call__ accepts plain lists
    np.testing.assert_allclose(act(z.tolist()), ref_forward(spec, z), rtol=1e-13, atol=1e-15)


def test_known_values():
    z = np.array([[-2.0, -0.5, 0.5, 3.0]])
    np.testing.assert_allclose(activations.get("relu").forward(z), [[0.0, 0.0, 0.5, 3.0]])
    np.testing.assert_allclose(
        activations.get("leaky_relu").forward(z), [[-0.02, -0.005, 0.5, 3.0]]
    )
    np.testing.assert_allclose(activations.LeakyReLU(0.25).forward(z), [[-0.5, -0.125, 0.5, 3.0]])
    # sigmoid(0) = 1/2, softplus(0) = ln 2, swish(0) = 0, tanh(0) = 0
    zero = np.zeros((1, 1))
    assert activations.get("sigmoid").forward(zero)[0, 0] == 0.5
    assert activations.get("softplus").forward(zero)[0, 0] == pytest.approx(np.log(2.0), abs=1e-16)
    assert activations.get("swish").forward(zero)[0, 0] == 0.0
    # swish with β = 2 at z = 1: 1/(1 + e^{-2}) = 0.8807970779778823
    assert activations.Swish(2.0).forward(np.ones((1, 1)))[0, 0] == pytest.approx(
        0.8807970779778823, abs=1e-15
    )
    # ReLU's subgradient at 0 is 0; leaky ReLU's is α
    assert activations.get("relu").derivative(zero, zero)[0, 0] == 0.0
    assert activations.LeakyReLU(0.2).derivative(zero, zero)[0, 0] == 0.2


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS, ids=spec_id)
def test_derivative_matches_reference_formula(spec, rng):
    act = activations.get(dict(spec))
    z = away_from_zero(rng, (4, 5))
    a = act.forward(z)
    np.testing.assert_allclose(
        act.derivative(z, a), ref_derivative(spec, z), rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS, ids=spec_id)
def test_derivative_matches_central_differences(spec, rng):
    act = activations.get(dict(spec))
    z = away_from_zero(rng, (4, 5))
    h = 1e-6
    numeric = (act.forward(z + h) - act.forward(z - h)) / (2 * h)
    analytic = act.derivative(z, act.forward(z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS, ids=spec_id)
def test_elementwise_backward_is_gradient_times_derivative(spec, rng):
    act = activations.get(dict(spec))
    z = away_from_zero(rng, (3, 4))
    a = act.forward(z)
    g = rng.standard_normal(z.shape)
    out = act.backward(g.copy(), z, a)
    np.testing.assert_allclose(out, g * ref_derivative(spec, z), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("spec", ELEMENTWISE_SPECS, ids=spec_id)
def test_backward_agrees_with_derivative_at_zero(spec):
    # the subgradient convention at a kink is the same in both: 0 for ReLU, α for leaky ReLU
    act = activations.get(dict(spec))
    z = np.array([[0.0, -0.0, 1.0, -1.0]])
    a = act.forward(z)
    g = np.array([[2.0, 3.0, 5.0, 7.0]])
    np.testing.assert_allclose(
        act.backward(g.copy(), z, a), g * act.derivative(z, a), rtol=1e-15, atol=0
    )
    np.testing.assert_allclose(act.derivative(z, a), ref_derivative(spec, z), rtol=1e-15)


@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_forward_writes_into_out(spec, rng):
    act = activations.get(dict(spec))
    z = away_from_zero(rng, (3, 4))
    z_before = z.copy()
    buf = np.full_like(z, np.nan)
    result = act.forward(z, out=buf)
    assert result is buf
    np.testing.assert_allclose(buf, ref_forward(spec, z), rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(z, z_before)


# --------------------------------------------------------------------------- softmax
def test_softmax_rows_sum_to_one_and_shift_invariant(rng):
    sm = activations.get("softmax")
    z = rng.normal(scale=5.0, size=(6, 4))
    a = sm.forward(z)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert (a > 0).all()
    np.testing.assert_allclose(sm.forward(z + rng.normal(size=(6, 1)) * 100), a, rtol=1e-12)
    # equal logits give the uniform distribution
    np.testing.assert_allclose(sm.forward(np.full((1, 4), 3.3)), 0.25, rtol=1e-15)


def test_softmax_jacobian_builder_matches_central_differences(rng):
    # The explicit Jacobian used below is itself checked against finite differences of forward.
    sm = activations.get("softmax")
    z = rng.normal(size=(1, 5))
    J = softmax_jacobian(sm.forward(z)[0])
    h = 1e-6
    numeric = np.empty((5, 5))
    for j in range(5):
        e = np.zeros((1, 5))
        e[0, j] = h
        numeric[:, j] = (sm.forward(z + e)[0] - sm.forward(z - e)[0]) / (2 * h)
    np.testing.assert_allclose(J, numeric, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_softmax_backward_is_jacobian_vector_product(n, rng):
    sm = activations.get("softmax")
    z = rng.normal(scale=2.0, size=(4, n))
    a = sm.forward(z)
    g = rng.standard_normal((4, n))
    out = sm.backward(g.copy(), z, a)
    for row in range(4):
        J = softmax_jacobian(a[row])
        # ∂C/∂z_j = Σ_i (∂a_i/∂z_j) ∂C/∂a_i = (Jᵀ g)_j
        np.testing.assert_allclose(out[row], J.T @ g[row], rtol=1e-12, atol=1e-15)
    # and it is not the diagonal shortcut g ⊙ a(1 − a)
    assert np.abs(out - g * a * (1 - a)).max() > 1e-3


def test_softmax_has_no_elementwise_derivative():
    sm = activations.get("softmax")
    assert sm.elementwise is False
    with pytest.raises(TypeError, match="Jacobian"):
        sm.derivative(np.zeros((1, 2)), np.full((1, 2), 0.5))


# --------------------------------------------------------------------------- dtype
@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_float32_in_float32_out(spec, rng):
    act = activations.get(dict(spec))
    z = away_from_zero(rng, (3, 4)).astype(np.float32)
    a = act.forward(z)
    assert a.dtype == np.float32
    np.testing.assert_allclose(a, ref_forward(spec, z.astype(np.float64)), rtol=2e-6, atol=1e-6)
    g = np.ones_like(z)
    assert act.backward(g, z, a).dtype == np.float32
    if act.elementwise:
        d = act.derivative(z, a)
        assert d.dtype == np.float32
        np.testing.assert_allclose(
            d, ref_derivative(spec, z.astype(np.float64)), rtol=1e-5, atol=1e-6
        )


# --------------------------------------------------------------------------- stability
EXTREME = np.array(
    [[-1e3, -800.0, -710.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 710.0, 800.0, 1e3]]
)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("spec", SPECS, ids=spec_id)
def test_no_warnings_and_finite_for_large_z(spec, dtype, strict_numerics):
    act = activations.get(dict(spec))
    z = EXTREME.astype(dtype)
    with strict_numerics():
        a = act.forward(z)
        back = act.backward(np.ones_like(z), z, a)
        d = act.derivative(z, a) if act.elementwise else back
    for arr in (a, back, d):
        assert arr.dtype == dtype
        assert np.isfinite(arr).all()


def test_limits_at_large_z(strict_numerics):
    z = np.array([[-1e3, 1e3]])
    with strict_numerics():
        sig = activations.get("sigmoid")
        a = sig.forward(z)
        np.testing.assert_array_equal(a, [[0.0, 1.0]])
        np.testing.assert_array_equal(sig.derivative(z, a), [[0.0, 0.0]])
        np.testing.assert_array_equal(activations.get("tanh").forward(z), [[-1.0, 1.0]])
        sp = activations.get("softplus")
        a = sp.forward(z)
        assert a[0, 0] >= 0.0 and a[0, 0] < 1e-300 and a[0, 1] == 1e3
        np.testing.assert_array_equal(sp.derivative(z, a), [[0.0, 1.0]])
        sw = activations.get("swish")
        a = sw.forward(z)
        assert a[0, 0] == 0.0 and a[0, 1] == 1e3
        np.testing.assert_array_equal(sw.derivative(z, a), [[0.0, 1.0]])
        np.testing.assert_array_equal(activations.get("leaky_relu").forward(z), [[-10.0, 1e3]])
        # softmax of [1000, -1000, 0, 999]: only the two top logits survive, in ratio e : 1
        sm = activations.get("softmax").forward(np.array([[1e3, -1e3, 0.0, 999.0]]))
        np.testing.assert_allclose(
            sm,
            [[1 / (1 + np.exp(-1)), 0.0, 0.0, np.exp(-1) / (1 + np.exp(-1))]],
            rtol=1e-15,
            atol=1e-300,
        )


def test_softplus_derivative_keeps_precision_for_very_negative_z():
    # For z = −40, σ'(z) = s(−40) ≈ e^{−40} must not round to 0 through 1 − e^{−a}.
    sp = activations.get("softplus")
    z = np.array([[-40.0, -30.0]])
    d = sp.derivative(z, sp.forward(z))
    np.testing.assert_allclose(d, 1.0 / (1.0 + np.exp(-z)), rtol=1e-12)
