"""Bad input at every public entry point: the API under hypothesis, the command through subprocess.

Each property draws arguments that are valid or invalid on purpose and decides which with an
oracle written from the documented contract (not from the implementation). A call must then
either succeed with a result that is checked (shapes, dtype, finiteness, agreement with a plain
numpy reference) or raise ValueError/TypeError whose message names the offending argument.
Anything else -- an error from inside numpy, a success on invalid input (e.g. a Y of shape
(m, 1) broadcast against a 3-output network), a wrong result -- fails the test.

Every example is counted by property and outcome; the last test prints the table and writes it
to ``robustness_counts.json`` in pytest's base temporary directory.
"""

from __future__ import annotations

import collections
import math
import os
import re
import subprocess
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import CLI, examples, save_and_print_counts
from deltaprop import Network
from deltaprop.gradcheck import gradcheck
from deltaprop.io import ModelFileError, load, save
from deltaprop.training import Callback, TrainingDiverged, fit

COUNTS: collections.Counter = collections.Counter()
SETTINGS = dict(
    deadline=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)

ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "swish", "softplus"]
# (output activation, loss) pairs the constructor accepts.
OUTPUT_PAIRS = [
    ("sigmoid", "quadratic"),
    ("sigmoid", "binary_cross_entropy"),
    ("softmax", "cross_entropy"),
    ("softmax", "quadratic"),
    ("identity", "mse"),
    ("tanh", "quadratic"),
    ("relu", "mse"),
    ("identity", "quadratic"),
]
# Inputs above this magnitude may overflow a forward pass (e.g. identity layers reaching
# ±inf, then inf − inf = NaN); below it every result must be finite and match the reference.
MODERATE = 1e3


def record(prop, outcome):
    COUNTS[f"{prop}: {outcome}"] += 1


def names_argument(message, names):
    """Whether the message mentions one of the argument names as a word."""
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(n)}(?![A-Za-z_])", message) for n in names)


# An invalid value nested in a config dict may be named by its own key.
NESTED = {
    "activation": {"alpha", "beta"},
    "output_activation": {"alpha", "beta"},
    "schedule": {"every", "factor", "min_lr", "patience"},
}


def expect_rejection(prop, exc, names):
    """A rejection must be ValueError/TypeError and name one of `names`; count it."""
    names = set(names).union(*(NESTED.get(n, set()) for n in names))
    assert isinstance(exc, (ValueError, TypeError)), (
        f"{prop}: {type(exc).__name__} escaped instead of ValueError/TypeError: {exc}"
    )
    assert names_argument(str(exc), names), (
        f"{prop}: message does not name any of {sorted(names)}: {exc}"
    )
    record(prop, f"rejected ({type(exc).__name__}, argument named)")


# ----------------------------------------------------------------------------- numpy reference
def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


REF_ACT = {
    "identity": lambda z: z,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "swish": lambda z: z * _sigmoid(z),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "softmax": lambda z: (lambda e: e / e.sum(axis=1, keepdims=True))(
        np.exp(z - z.max(axis=1, keepdims=True))
    ),
}


def _clip(a):
    return np.clip(a, 1e-300, 1.0)


REF_LOSS = {
    "quadratic": lambda a, y: 0.5 * ((a - y) ** 2).sum(axis=1),
    "mse": lambda a, y: ((a - y) ** 2).mean(axis=1),
    "binary_cross_entropy": lambda a, y: (
        -(y * np.log(_clip(a)) + (1 - y) * np.log(_clip(1 - a))).sum(axis=1)
    ),
    "cross_entropy": lambda a, y: -(y * np.log(_clip(a))).sum(axis=1),
}


def ref_forward(net, X, return_z=False):
    """a^L (and z^L) in float64 from the network's parameters, with plain numpy."""
    a = np.asarray(X, dtype=np.float64)
    for W, b, act in zip(net.weights, net.biases, net.layer_activations):
        z = a @ W.astype(np.float64).T + b.astype(np.float64)
        a = REF_ACT[act.name](z)
    return (a, z) if return_z else a


def ref_cost(net, X, Y):
    a, z = ref_forward(net, X, return_z=True)
    out = net.layer_activations[-1].name
    # Cross-entropies of saturated outputs lose every digit when computed from a (1 − a
    # rounds to 0); from z they are exact: ln(1 + e^z) − y z and logsumexp(z) − z_j.
    if net.loss.name == "binary_cross_entropy" and out == "sigmoid":
        return float((np.logaddexp(0.0, z) - Y * z).sum(axis=1).mean())
    if net.loss.name == "cross_entropy" and out == "softmax":
        lse = np.logaddexp.reduce(z, axis=1, keepdims=True)
        return float((Y * (lse - z)).sum(axis=1).mean())
    return float(REF_LOSS[net.loss.name](a, Y).mean())


def tolerance(net):
    return dict(rtol=2e-3, atol=2e-4) if net.dtype == np.float32 else dict(rtol=1e-7, atol=1e-9)


# ----------------------------------------------------------------------------- oracles
def oracle_X(X, net):
    """(valid, X as float64 2-D, single) according to the documented contract of X."""
    if X is None:
        return False, None, False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(X)
    except (ValueError, TypeError):
        return False, None, False
    if arr.dtype.kind not in "iuf" or arr.ndim not in (1, 2) or arr.size == 0:
        return False, None, False
    if arr.shape[-1] != net.sizes[0]:
        return False, None, False
    with np.errstate(over="ignore", invalid="ignore"):
        cast = arr.astype(net.dtype)
    if not np.isfinite(cast).all():
        return False, None, False
    single = arr.ndim == 1
    return True, np.atleast_2d(cast.astype(np.float64)), single


def oracle_Y(Y, m, single, net):
    """(valid, dense float64 targets of shape (m, n_L)) for the documented forms of Y."""
    n_out = net.sizes[-1]
    if Y is None:
        return False, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(Y)
    except (ValueError, TypeError):
        return False, None
    if arr.dtype.kind not in "iuf" or arr.ndim > 2 or arr.size == 0:
        return False, None
    f = arr.astype(np.float64)
    if not np.isfinite(f).all():
        return False, None
    if single and arr.ndim == 0 and n_out > 1:
        f, arr = f.reshape(1), arr.reshape(1)  # one sample's class label
    if single and arr.ndim <= 1 and arr.size == n_out:
        dense = f.reshape(1, n_out)
    elif arr.ndim == 1 and arr.shape[0] == m:
        if n_out == 1:
            dense = f.reshape(m, 1)
        else:
            if not np.all(f == np.round(f)) or f.min() < 0 or f.max() >= n_out:
                return False, None
            dense = np.eye(n_out)[f.astype(np.int64)]
    elif arr.shape == (m, n_out):
        dense = f
    else:
        return False, None
    with np.errstate(over="ignore"):
        if not np.isfinite(dense.astype(net.dtype)).all():
            return False, None
    loss = net.loss.name
    if loss == "binary_cross_entropy" and (dense.min() < 0 or dense.max() > 1):
        return False, None
    if loss == "cross_entropy" and dense.min() < 0:
        return False, None
    return True, dense


# ----------------------------------------------------------------------------- strategies
@st.composite
def networks(draw, max_width=5, dtypes=("float32", "float64")):
    n_hidden = draw(st.integers(0, 2))
    sizes = [draw(st.integers(1, max_width)) for _ in range(n_hidden + 2)]
    out, loss = draw(st.sampled_from(OUTPUT_PAIRS))
    if out == "softmax" and sizes[-1] == 1:
        sizes[-1] = 2
    hidden = [draw(st.sampled_from(ACTIVATIONS)) for _ in range(n_hidden)]
    dtype = draw(st.sampled_from(dtypes))
    return Network(
        sizes,
        activation=hidden,
        output_activation=out,
        loss=loss,
        dtype=dtype,
        seed=draw(st.integers(0, 2**16)),
    )


SPECIAL = [math.nan, math.inf, -math.inf, 1e308, -1e308, 1e39, -1e39, 1e20, 5e-324, 0.0, -0.0]


def element_values(allow_special):
    moderate = st.floats(-10, 10, allow_nan=False, width=32)
    if not allow_special:
        return moderate
    return st.one_of(moderate, moderate, moderate, st.sampled_from(SPECIAL))


@st.composite
def shapes_near(draw, good_shape):
    """The right shape half of the time, otherwise 0-D to 3-D with small (possibly 0) sides."""
    choice = draw(st.integers(0, 5))
    if choice <= 2:
        return tuple(good_shape)
    if choice == 3 and len(good_shape) == 2:  # classic mistakes: transposed, one column, one row
        m, n = good_shape
        return draw(st.sampled_from([(n, m), (m, 1), (1, n), (m, n, 1), (m,), (n,), (1, m)]))
    ndim = draw(st.integers(0, 3))
    return tuple(draw(st.integers(0, 5)) for _ in range(ndim))


@st.composite
def well_formed(draw, good_shape, integers=None):
    """The expected shape with real numbers: moderate values, at times one huge finite value."""
    shape = tuple(good_shape)
    size = int(np.prod(shape))
    if integers is not None and len(shape) == 1 and draw(st.booleans()):
        return np.array(
            draw(st.lists(st.integers(0, max(integers[1] - 1, 0)), min_size=size, max_size=size)),
            dtype=np.int64,
        )
    # Targets (`integers` given) are often in [0, 1], the domain of the cross-entropies.
    low = 0 if integers is not None and draw(st.booleans()) else -3
    values = np.array(
        draw(st.lists(st.floats(low, 3 if low else 1, width=32), min_size=size, max_size=size)),
        dtype=np.float64,
    )
    if draw(st.integers(0, 4)) == 0:
        values[draw(st.integers(0, size - 1))] = draw(
            st.sampled_from([1e20, -1e39, 1e300, -1e308, 1e5])
        )
    kind = draw(st.sampled_from(["float64", "float32", "int64", "list"]))
    values = values.reshape(shape)
    with np.errstate(over="ignore", invalid="ignore"):
        if kind == "list":
            return values.tolist()
        if kind == "int64":
            return np.clip(np.round(values), -1e18, 1e18).astype(np.int64)
        return values.astype(kind)


@st.composite
def array_likes(draw, good_shape, integers=None):
    """Arrays and array-likes of every dtype and shape; `integers` biases towards int labels."""
    if draw(st.booleans()):
        return draw(well_formed(good_shape, integers))
    shape = draw(shapes_near(good_shape))
    kind = draw(
        st.sampled_from(
            [
                "float64",
                "float32",
                "float16",
                "int64",
                "int8",
                "uint8",
                "bool",
                "complex",
                "object",
                "str",
                "bytes",
                "list",
                "ragged",
                "scalar",
                "none",
                "labels",
            ]
        )
    )
    size = int(np.prod(shape)) if shape else 1
    if kind == "labels" or (
        integers is not None and kind in ("int64", "int8") and draw(st.booleans())
    ):
        lo, hi = integers if integers is not None else (-1, 4)
        return np.array(
            draw(st.lists(st.integers(lo, hi), min_size=size, max_size=size)), dtype=np.int64
        ).reshape(shape)
    if kind in ("float64", "float32", "float16", "list", "object", "str", "bytes", "complex"):
        base = np.array(
            draw(st.lists(element_values(True), min_size=size, max_size=size)), dtype=np.float64
        ).reshape(shape)
        with np.errstate(over="ignore", invalid="ignore"):
            if kind in ("float64", "float32", "float16"):
                return base.astype(kind)
            if kind == "list":
                return base.tolist()
            if kind == "object":
                obj = base.astype(object)
                if obj.size and draw(st.booleans()):
                    obj.flat[0] = draw(st.sampled_from([None, "x", [1, 2], {}]))
                return obj
            if kind == "str":
                return base.astype(str)
            if kind == "bytes":
                return base.astype("S8")
            return base + 1j * base
    if kind in ("int64", "int8", "uint8"):
        info = np.iinfo(kind)
        return np.array(
            draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=size, max_size=size)),
            dtype=kind,
        ).reshape(shape)
    if kind == "bool":
        return np.array(
            draw(st.lists(st.booleans(), min_size=size, max_size=size)), dtype=bool
        ).reshape(shape)
    if kind == "ragged":
        rows = draw(
            st.lists(st.lists(st.floats(-3, 3), min_size=0, max_size=4), min_size=2, max_size=4)
        )
        assume(len({len(r) for r in rows}) > 1)
        return rows
    if kind == "scalar":
        return draw(
            st.one_of(
                st.floats(allow_nan=True), st.integers(-5, 5), st.text(max_size=3), st.just(True)
            )
        )
    return None


def is_moderate(X):
    return X is not None and np.all(np.abs(X) <= MODERATE)


# ----------------------------------------------------------------------------- data entry points
DATA_METHODS = [
    "forward",
    "predict",
    "predict_proba",
    "cost",
    "backprop",
    "evaluate",
    "fit",
    "gradcheck",
]


@pytest.mark.slow
@settings(max_examples=examples(400), **SETTINGS)
@given(net=networks(), method=st.sampled_from(DATA_METHODS), data=st.data())
def test_data_entry_points_accept_valid_arrays_and_name_invalid_ones(net, method, data):
    n0, n_out = net.sizes[0], net.sizes[-1]
    m = data.draw(st.integers(1, 5), label="m")
    single_row = data.draw(st.booleans(), label="single_row") and m == 1
    X = data.draw(array_likes((n0,) if single_row else (m, n0)), label="X")
    x_ok, Xd, single = oracle_X(X, net)
    m_eff = Xd.shape[0] if x_ok else m
    takes_y = method in ("cost", "backprop", "evaluate", "fit", "gradcheck")
    y_shape = (
        (n_out,)
        if (single and data.draw(st.booleans()))
        else ((m_eff,) if data.draw(st.booleans()) else (m_eff, n_out))
    )
    Y = data.draw(array_likes(y_shape, integers=(-1, n_out)), label="Y") if takes_y else None
    y_ok, Yd = oracle_Y(Y, m_eff, single, net) if (takes_y and x_ok) else (True, None)
    if method == "gradcheck":
        assume(net.num_parameters <= 60)
    before = net.get_flat()
    prop = f"data/{method}"

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if method == "forward":
                result = net.forward(X)
            elif method == "predict":
                result = net.predict(X)
            elif method == "predict_proba":
                result = net.predict_proba(X)
            elif method == "cost":
                result = net.cost(X, Y)
            elif method == "backprop":
                result = net.backprop(X, Y)
            elif method == "evaluate":
                result = net.evaluate(X, Y)
            elif method == "fit":
                result = net.fit(X, Y, epochs=1, batch_size=2, lr=0.05)
            else:
                result = gradcheck(net, X, Y)
        except TrainingDiverged as exc:
            # Documented outcome of fit on finite data whose gradient overflows.
            assert x_ok and y_ok and not (is_moderate(Xd) and is_moderate(Yd)), (
                f"fit diverged on moderate data: {exc}"
            )
            assert "smaller learning rate" in str(exc)
            assert np.isfinite(net.get_flat()).all()
            record(prop, "diverged (huge finite values)")
            return
        except Exception as exc:
            assert not (x_ok and y_ok), (
                f"{prop}: valid input rejected: {type(exc).__name__}: {exc}\nX={X!r}\nY={Y!r}"
            )
            expect_rejection(prop, exc, {"X"} if not x_ok else {"Y"})
            if method == "fit":
                np.testing.assert_array_equal(net.get_flat(), before)  # nothing trained
            return
    assert x_ok, f"{prop}: invalid X accepted: {X!r} -> {result!r}"
    assert y_ok, (
        f"{prop}: invalid Y accepted (shape {np.shape(Y)}) for m={m_eff}, n_out={n_out}: {Y!r}"
    )

    moderate = is_moderate(Xd) and (Yd is None or is_moderate(Yd))
    m_rows = Xd.shape[0]
    if method in ("forward", "predict_proba"):
        assert result.shape == ((n_out,) if single else (m_rows, n_out))
        assert result.dtype == net.dtype
        out = np.atleast_2d(result)
        if moderate:
            np.testing.assert_allclose(out, ref_forward(net, Xd), **tolerance(net))
    elif method == "predict":
        assert np.shape(result) == (() if single else (m_rows,))
        if n_out > 1:
            assert np.issubdtype(np.asarray(result).dtype, np.integer)
            assert np.all((0 <= result) & (result < n_out))
            if moderate and net.dtype == np.float64:
                ref = ref_forward(net, Xd)
                picked = ref[np.arange(m_rows), np.atleast_1d(result)]
                np.testing.assert_allclose(picked, ref.max(axis=1), rtol=1e-12)
    elif method == "cost":
        assert isinstance(result, float)
        if moderate:
            np.testing.assert_allclose(result, ref_cost(net, Xd, Yd), **tolerance(net))
    elif method == "backprop":
        assert [g.shape for g in result.weights] == [w.shape for w in net.weights]
        assert [g.shape for g in result.biases] == [b.shape for b in net.biases]
        assert [d.shape for d in result.deltas] == [(m_rows, n) for n in net.sizes[1:]]
        if moderate:
            np.testing.assert_allclose(result.cost, ref_cost(net, Xd, Yd), **tolerance(net))
            assert all(np.isfinite(g).all() for g in result.weights + result.biases)
    elif method == "evaluate":
        cost, acc = result
        assert acc is None or 0.0 <= acc <= 1.0
        if moderate:
            np.testing.assert_allclose(cost, ref_cost(net, Xd, Yd), **tolerance(net))
    elif method == "fit":
        assert len(result.epoch) == 1 and np.isfinite(net.get_flat()).all()
    else:
        assert set(result.errors) == {f"{k}{l}" for l in range(1, net.num_layers + 1) for k in "Wb"}
        np.testing.assert_array_equal(net.get_flat(), before)  # parameters restored
    if method != "fit":
        np.testing.assert_array_equal(net.get_flat(), before)
    overflow = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    if moderate:
        assert not overflow, f"{prop}: numpy warnings on moderate data: {overflow[0].message}"
        record(
            prop, "ok (checked against reference)" if method not in ("fit", "gradcheck") else "ok"
        )
    else:
        values = {
            "forward": lambda: result,
            "predict_proba": lambda: result,
            "cost": lambda: result,
            "backprop": lambda: result.cost,
            "evaluate": lambda: result[0],
        }.get(method, lambda: 0.0)()
        finite = bool(np.isfinite(values).all())
        record(
            prop,
            "ok, huge values"
            + ("" if finite else ", non-finite result")
            + (", numpy overflow warning" if overflow else ""),
        )


def test_wrong_but_broadcastable_targets_are_refused():
    # Each Y below would broadcast against the (m, n_L) output in `a - y`; all must be refused.
    net = Network([4, 5, 3], seed=1)
    X = np.random.default_rng(0).random((6, 4))
    for Y in (
        np.zeros((6, 1)),
        np.zeros((1, 3)),
        np.zeros(3),
        np.zeros((6, 3, 1)),
        0.5,
        np.zeros((3, 6)),
        np.zeros((1, 6)),
        np.zeros((6, 1)) + np.arange(3)[None, :1],
    ):
        for call in (
            net.cost,
            net.backprop,
            net.evaluate,
            gradcheck,
            lambda X, Y: net.fit(X, Y, epochs=1),
        ):
            with pytest.raises(ValueError, match=r"(?<![A-Za-z_])Y(?![A-Za-z_])") as info:
                if call is gradcheck:
                    gradcheck(net, X, Y)
                else:
                    call(X, Y)
            assert "shape" in str(info.value)
            record("broadcastable Y", "rejected (ValueError, names Y)")
    net1 = Network([4, 3, 1], seed=1)  # one output: (m,) is the column of targets
    np.testing.assert_allclose(net1.cost(X, np.zeros(6)), net1.cost(X, np.zeros((6, 1))))
    with pytest.raises(ValueError, match="Y has shape"):
        net1.cost(X, np.zeros((1, 6)))


# ----------------------------------------------------------------------------- hyperparameters
def pool(valid, invalid, weight=1):
    """(value, is_valid) pairs; `weight` valid draws for each invalid one."""
    good = st.sampled_from([(v, True) for v in valid])
    return st.one_of(*[good] * weight, st.sampled_from([(v, False) for v in invalid]))


BAD_REALS = [0, 0.0, -1, -0.5, math.nan, math.inf, -math.inf, True, False, "0.1", None, [0.1], 1j]
BAD_INTS = [0, -1, 2.0, 1.5, True, "3", None, math.nan, math.inf]
FIT_POOLS = {  # three valid draws for each invalid one
    "epochs": pool([1, 2, np.int64(2)], BAD_INTS, 3),
    "batch_size": pool([1, 3, 10**9, np.int32(2)], BAD_INTS, 3),
    "lr": pool([0.05, 1e-3, np.float32(0.1), 1e300, 5e-324, 3], BAD_REALS, 3),
    "l2": pool([0, 0.0, 0.5, 1e3], [-1, -1e-9, math.nan, math.inf, True, "0", None], 3),
    "l1": pool([0, 0.1], [-0.1, math.nan, math.inf, False, "x"], 3),
    "dropout": pool([0.0, 0.2, 0.99], [1.0, -0.1, 1.5, math.nan, True, "0.5", None], 3),
    "optimizer": pool(
        ["sgd", "momentum", "nesterov", "adam", "ADAM"], ["rmsprop", "", 5, None, ["sgd"]], 3
    ),
    "schedule": pool(
        [None, "constant", "step", "cosine", "plateau", {"name": "step", "every": 1}],
        ["linear", 5, {"name": "step", "every": 0}, {"name": "cosine", "x": 1}],
        3,
    ),
    "early_stopping": pool([None, 1, 3], [0, -2, 1.5, True, "2"], 3),
    "monitor": pool(["val_accuracy", "val_cost", "accuracy", "cost"], ["loss", "", 3, None], 3),
    "seed": pool([None, 0, 7, 2**40], [-1, 1.5, "a", True, math.nan], 3),
    "cost_every": pool([1, 50], [0, -5, 2.5, None], 3),
    "checkpoint_every": pool([1, 4], [0, -1, 1.0, "1"], 3),
}


@settings(max_examples=examples(250), **SETTINGS)
@given(net=networks(dtypes=("float64",)), data=st.data())
def test_fit_hyperparameters_work_or_are_named(net, data):
    m = 6
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (m, net.sizes[0]))
    n_out = net.sizes[-1]
    Y = np.arange(m) % n_out if n_out > 1 else rng.uniform(0, 1, m)
    chosen = {
        k: data.draw(p, label=k)
        for k, p in FIT_POOLS.items()
        if data.draw(st.booleans(), label=f"give {k}")
    }
    kwargs = {k: v for k, (v, _) in chosen.items()}
    invalid = {k for k, (_, ok) in chosen.items() if not ok}
    # dropout as a list: one rate per hidden layer, or a list of the wrong length.
    if data.draw(st.booleans(), label="dropout list"):
        n_hidden = net.num_layers - 1
        k = data.draw(st.sampled_from([n_hidden, n_hidden + 1]), label="dropout len")
        kwargs["dropout"] = [0.1] * k
        invalid.discard("dropout")
        if k != n_hidden:
            invalid.add("dropout")
    before = net.get_flat()
    prop = "hyper/fit"
    try:
        history = net.fit(X, Y, **kwargs)
    except TrainingDiverged as exc:
        assert not invalid, f"diverged although {invalid} are invalid"
        assert kwargs.get("lr", 3.0) >= 3 or kwargs.get("l2", 0) >= 1e3, (
            f"diverged at a modest rate: {exc}"
        )
        assert "smaller learning rate" in str(exc) and np.isfinite(net.get_flat()).all()
        record(prop, "diverged (huge lr or l2), weights finite")
        return
    except Exception as exc:
        assert invalid, f"valid hyperparameters {kwargs} rejected: {type(exc).__name__}: {exc}"
        expect_rejection(prop, exc, invalid)
        np.testing.assert_array_equal(net.get_flat(), before)
        return
    assert not invalid, f"invalid {sorted(invalid)} accepted: { {k: kwargs[k] for k in invalid} }"
    epochs = int(kwargs.get("epochs", 30))
    assert 1 <= len(history.epoch) <= epochs
    assert history.epoch == list(range(1, len(history.epoch) + 1))
    if len(history.epoch) < epochs:
        assert history.stop_reason != "completed"
    assert np.isfinite(net.get_flat()).all()
    assert all(math.isfinite(c) for c in history.cost)
    record(prop, "ok")


NET_POOLS = {
    "sizes": pool(
        [[3, 2], (2, 4, 1), np.array([2, 3]), [np.int64(2), 2], [1, 1, 1, 1]],
        [
            [],
            [3],
            [0, 2],
            [2, -1],
            [2.0, 3],
            [True, 2],
            ["2", 3],
            [None, 2],
            "3-2",
            5,
            None,
            [2**40, 2],
            [2**62, 2**62],
            [[2], [3]],
        ],
    ),
    "activation": pool(
        ["sigmoid", "relu", "TANH", {"name": "leaky_relu", "alpha": 0.2}],
        [
            "sigmoidd",
            "",
            None,
            5,
            "softmax",
            {"name": "relu", "beta": 1},
            {"name": "leaky_relu", "alpha": -1},
        ],
    ),
    "output_activation": pool(
        ["sigmoid", "softmax", "identity"], ["nope", 3.5, {"name": "swish", "beta": math.nan}]
    ),
    "loss": pool(["quadratic", "mse", "cross_entropy", "bce"], ["hinge", "", 0, None]),
    "init": pool(["auto", "normal", "glorot_uniform", "he_normal"], ["bogus", 3, None]),
    "dtype": pool(
        ["float32", "float64", np.float32], ["float16", "int32", int, "f8x", 3, "complex128"]
    ),
    "seed": pool([None, 0, 123, np.int64(5)], [-1, 1.5, "s", True, [1.5]]),
}


@settings(max_examples=examples(250), **SETTINGS)
@given(data=st.data())
def test_network_constructor_works_or_names_the_argument(data):
    chosen = {
        k: data.draw(p, label=k)
        for k, p in NET_POOLS.items()
        if k == "sizes" or data.draw(st.booleans(), label=f"give {k}")
    }
    kwargs = {k: v for k, (v, _) in chosen.items()}
    invalid = {k for k, (_, ok) in chosen.items() if not ok}
    if kwargs.get("activation") == "softmax" and len(np.atleast_1d(kwargs["sizes"])) == 2:
        invalid.discard("activation")  # no hidden layer: softmax is then the output's only
    # Pairs that are invalid together: a loss that needs outputs in (0, 1) behind an output
    # activation that leaves it, and a list of hidden activations of the wrong length.
    prop = "constructor"
    try:
        net = Network(**kwargs)
    except Exception as exc:
        msg = str(exc)
        if isinstance(exc, ValueError) and "loss=" in msg and "output_activation=" in msg:
            # The documented joint constraint, checked before the seed: each argument may be
            # valid alone and the pair still not fit.
            assert kwargs.get("loss") in ("cross_entropy", "bce") or ("loss" in invalid), (
                f"joint constraint without a (0, 1) loss: {exc}"
            )
            record(prop, "rejected (joint constraint: loss vs output_activation)")
            return
        assert invalid, f"valid arguments {kwargs} rejected: {type(exc).__name__}: {exc}"
        expect_rejection(prop, exc, invalid)
        return
    assert not invalid, f"invalid {sorted(invalid)} accepted: { {k: kwargs[k] for k in invalid} }"
    sizes = [int(s) for s in kwargs["sizes"]]
    assert net.sizes == sizes
    assert [w.shape for w in net.weights] == list(zip(sizes[1:], sizes[:-1]))
    assert net.dtype in (np.float32, np.float64) and np.isfinite(net.get_flat()).all()
    assert net.forward(np.zeros(sizes[0])).shape == (sizes[-1],)
    record(prop, "ok")


@settings(max_examples=examples(120), **SETTINGS)
@given(eps=pool([1e-5, 1e-4, np.float64(1e-6)], [0, -1e-5, math.nan, math.inf, "1e-5", True, None]))
def test_gradcheck_eps(eps):
    value, ok = eps
    net = Network([3, 4, 2], activation="tanh", output_activation="sigmoid", seed=0)
    X = np.random.default_rng(1).uniform(-1, 1, (4, 3))
    try:
        report = gradcheck(net, X, [0, 1, 1, 0], eps=value)
    except Exception as exc:
        assert not ok, f"eps={value!r} rejected: {exc}"
        expect_rejection("gradcheck/eps", exc, {"eps"})
        return
    assert ok, f"eps={value!r} accepted"
    assert report.max_error < 1e-6
    record("gradcheck/eps", "ok (max error < 1e-6)")


# ----------------------------------------------------------------------------- save / load
@settings(max_examples=examples(120), **SETTINGS)
@given(
    net=networks(),
    kind=st.sampled_from(["file", "pathlike", "no-dir", "dir", "none", "int", "list", "empty"]),
)
def test_save_and_load_round_trip_or_name_the_path(tmp_path_factory, net, kind):
    base = tmp_path_factory.mktemp("io")
    target = {
        "file": str(base / "m.npz"),
        "pathlike": base / "m.npz",
        "no-dir": str(base / "missing" / "m.npz"),
        "dir": str(base),
        "none": None,
        "int": 3,
        "list": [str(base / "m.npz")],
        "empty": "",
    }[kind]
    net.history = None
    try:
        save(net, target)
    except Exception as exc:
        assert kind not in ("file", "pathlike"), f"save to {target!r} failed: {exc}"
        if isinstance(exc, OSError):
            # Documented: a missing directory or a directory as target is the OS's error.
            assert kind in ("no-dir", "dir", "empty"), f"{kind}: {exc!r}"
            record("save", f"rejected ({type(exc).__name__})")
        else:
            expect_rejection("save", exc, {"path"})
        assert sorted(os.listdir(base)) == [], f"left behind {os.listdir(base)}"
        try:
            load(target)
        except (OSError, ValueError, TypeError) as exc2:
            if isinstance(exc2, (TypeError, ValueError)) and not isinstance(exc2, ModelFileError):
                expect_rejection("load", exc2, {"path"})
            else:
                record("load", f"rejected ({type(exc2).__name__})")
        else:
            raise AssertionError(f"load({target!r}) succeeded")
        return
    assert kind in ("file", "pathlike"), f"save accepted {target!r}"
    assert os.listdir(base) == ["m.npz"]
    back = load(target)
    np.testing.assert_array_equal(back.get_flat(), net.get_flat())
    assert back.sizes == net.sizes and back.dtype == net.dtype
    assert [a.name for a in back.layer_activations] == [a.name for a in net.layer_activations]
    X = np.random.default_rng(0).uniform(-1, 1, (3, net.sizes[0]))
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    record("save/load", "round trip exact")


# ----------------------------------------------------------------------------- the command
DIGITS_LAYERS = "64-8-10"


COMMANDS = {"train", "evaluate", "predict", "info", "explain", "presets"}


def _cli(args, cwd, timeout=120):
    env = dict(os.environ, PYTHONWARNINGS="ignore", COLUMNS="100")
    return subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def _write(path, text):
    path.write_text(text)
    return str(path)


def _bad_files(tmp):
    """Input files for the bad invocations: a corrupt model, odd CSVs, a good model."""
    files = {}
    files["garbage"] = tmp / "garbage.npz"
    files["garbage"].write_bytes(b"PK\x03\x04" + os.urandom(200))
    files["text"] = tmp / "notes.npz"
    files["text"].write_text("hello\n")
    files["empty"] = tmp / "empty.npz"
    files["empty"].write_bytes(b"")
    good = Network([4, 3, 2], seed=0)
    save(good, tmp / "good.npz")
    raw = (tmp / "good.npz").read_bytes()
    files["truncated"] = tmp / "truncated.npz"
    files["truncated"].write_bytes(raw[: len(raw) // 2])
    with zipfile.ZipFile(tmp / "good.npz") as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members["W1.npy"] = members["W1.npy"][:-8] + bytes(8)  # valid .npy, checksum now wrong
    with zipfile.ZipFile(tmp / "tampered.npz", "w") as zf:
        for name, blob in members.items():
            zf.writestr(name, blob)
    files["tampered"] = tmp / "tampered.npz"
    files["good"] = tmp / "good.npz"
    _write(
        tmp / "labels.csv",
        "a,b,c,d,label\n"
        + "".join(f"{i % 3},{i % 5},{i % 7},{i % 2},{i % 12}\n" for i in range(60)),
    )
    _write(tmp / "words.csv", "a,b,label\n1,2,x\nfoo,3,y\n4,5,x\n")
    _write(tmp / "ragged.csv", "a,b,label\n1,2,0\n3,4\n")
    _write(tmp / "nan.csv", "a,b,label\n1,nan,0\n3,4,1\n")
    _write(tmp / "x.csv", "1,2,3,4\n5,6,7,8\n")
    _write(tmp / "xwords.csv", "1,2,zz,4\n")
    _write(tmp / "xwide.csv", "1,2,3\n")
    return files


BAD_INVOCATIONS = [
    # (id, args; {tmp} is the directory of the input files, OUT the --out path)
    ("layers-letters", ["train", "--layers", "64-abc-10"]),
    ("layers-empty-part", ["train", "--layers", "64--10"]),
    ("layers-one-width", ["train", "--layers", "64"]),
    ("layers-zero-width", ["train", "--layers", "64-0-10"]),
    ("layers-negative", ["train", "--layers", "64--3-10"]),
    ("layers-huge", ["train", "--layers", "64-99999999999999-10"]),
    ("layers-wrong-input", ["train", "--layers", "10-8-10"]),
    ("layers-wrong-output", ["train", "--layers", "64-8-3"]),
    ("unknown-preset", ["train", "--preset", "nosuchpreset"]),
    ("unknown-dataset", ["train", "--dataset", "nosuchdata"]),
    ("unknown-activation", ["train", "--layers", DIGITS_LAYERS, "--activation", "sigmoidd"]),
    (
        "unknown-output-activation",
        ["train", "--layers", DIGITS_LAYERS, "--output-activation", "nope"],
    ),
    ("softmax-hidden", ["train", "--layers", DIGITS_LAYERS, "--activation", "softmax"]),
    ("unknown-loss", ["train", "--layers", DIGITS_LAYERS, "--loss", "hinge"]),
    (
        "loss-activation-mismatch",
        [
            "train",
            "--layers",
            DIGITS_LAYERS,
            "--loss",
            "cross_entropy",
            "--output-activation",
            "identity",
        ],
    ),
    ("unknown-optimizer", ["train", "--layers", DIGITS_LAYERS, "--optimizer", "rmsprop"]),
    ("unknown-init", ["train", "--layers", DIGITS_LAYERS, "--init", "bogus"]),
    ("unknown-schedule", ["train", "--layers", DIGITS_LAYERS, "--schedule", "linear"]),
    ("negative-lr", ["train", "--layers", DIGITS_LAYERS, "--lr", "-0.5"]),
    ("zero-lr", ["train", "--layers", DIGITS_LAYERS, "--lr", "0"]),
    ("nan-lr", ["train", "--layers", DIGITS_LAYERS, "--lr", "nan"]),
    ("inf-lr", ["train", "--layers", DIGITS_LAYERS, "--lr", "inf"]),
    ("text-lr", ["train", "--lr", "fast"]),
    ("zero-epochs", ["train", "--layers", DIGITS_LAYERS, "--epochs", "0"]),
    ("negative-epochs", ["train", "--layers", DIGITS_LAYERS, "--epochs", "-3"]),
    ("zero-batch", ["train", "--layers", DIGITS_LAYERS, "--batch-size", "0"]),
    ("negative-l2", ["train", "--layers", DIGITS_LAYERS, "--l2", "-1"]),
    ("dropout-one", ["train", "--layers", DIGITS_LAYERS, "--dropout", "1.0"]),
    ("zero-patience", ["train", "--layers", DIGITS_LAYERS, "--patience", "0"]),
    ("negative-seed", ["train", "--layers", DIGITS_LAYERS, "--seed", "-1"]),
    (
        "zero-checkpoint-every",
        [
            "train",
            "--layers",
            DIGITS_LAYERS,
            "--checkpoint-every",
            "0",
            "--checkpoint",
            "{tmp}/ck.npz",
        ],
    ),
    ("momentum-without-optimizer", ["train", "--layers", DIGITS_LAYERS, "--momentum", "0.9"]),
    (
        "momentum-out-of-range",
        ["train", "--layers", DIGITS_LAYERS, "--optimizer", "momentum", "--momentum", "1.5"],
    ),
    ("unknown-option", ["train", "--no-such-option"]),
    ("missing-data-file", ["train", "--data", "{tmp}/nope.csv", "--target", "label"]),
    ("missing-npz-file", ["train", "--data", "{tmp}/nope.npz"]),
    ("csv-without-target", ["train", "--data", "{tmp}/labels.csv"]),
    ("csv-unknown-target", ["train", "--data", "{tmp}/labels.csv", "--target", "nolabel"]),
    ("csv-non-numeric", ["train", "--data", "{tmp}/words.csv", "--target", "label"]),
    ("csv-ragged", ["train", "--data", "{tmp}/ragged.csv", "--target", "label"]),
    ("csv-nan", ["train", "--data", "{tmp}/nan.csv", "--target", "label"]),
    (
        "csv-labels-exceed-output",
        ["train", "--data", "{tmp}/labels.csv", "--target", "label", "--layers", "4-5-3"],
    ),
    ("npz-is-text", ["train", "--data", "{tmp}/notes.npz"]),
    ("resume-missing", ["train", "--resume", "{tmp}/nope.npz"]),
    ("resume-not-checkpoint", ["train", "--resume", "{tmp}/good.npz"]),
    ("resume-corrupt", ["train", "--resume", "{tmp}/garbage.npz"]),
    (
        "out-in-missing-dir",
        ["train", "--layers", DIGITS_LAYERS, "--epochs", "1", "--out", "{tmp}/no/such/dir/m.npz"],
    ),
    ("evaluate-missing-model", ["evaluate", "{tmp}/nope.npz", "--dataset", "digits"]),
    ("evaluate-garbage-model", ["evaluate", "{tmp}/garbage.npz", "--dataset", "digits"]),
    ("evaluate-text-model", ["evaluate", "{tmp}/notes.npz", "--dataset", "digits"]),
    ("evaluate-empty-model", ["evaluate", "{tmp}/empty.npz", "--dataset", "digits"]),
    ("evaluate-truncated-model", ["evaluate", "{tmp}/truncated.npz", "--dataset", "digits"]),
    ("evaluate-tampered-model", ["evaluate", "{tmp}/tampered.npz", "--dataset", "digits"]),
    ("evaluate-model-is-dir", ["evaluate", "{tmp}", "--dataset", "digits"]),
    ("evaluate-wrong-features", ["evaluate", "{tmp}/good.npz", "--dataset", "digits"]),
    ("evaluate-no-data", ["evaluate", "{tmp}/good.npz"]),
    (
        "evaluate-labels-exceed-output",
        ["evaluate", "{tmp}/good.npz", "--data", "{tmp}/labels.csv", "--target", "label"],
    ),
    ("info-garbage-model", ["info", "{tmp}/garbage.npz"]),
    ("info-truncated-model", ["info", "{tmp}/truncated.npz"]),
    ("info-tampered-model", ["info", "{tmp}/tampered.npz"]),
    ("info-missing-model", ["info", "{tmp}/nope.npz"]),
    ("predict-garbage-model", ["predict", "{tmp}/garbage.npz", "--input", "{tmp}/x.csv"]),
    ("predict-truncated-model", ["predict", "{tmp}/truncated.npz", "--input", "{tmp}/x.csv"]),
    ("predict-missing-input", ["predict", "{tmp}/good.npz", "--input", "{tmp}/nope.csv"]),
    ("predict-non-numeric-input", ["predict", "{tmp}/good.npz", "--input", "{tmp}/xwords.csv"]),
    ("predict-wrong-width-input", ["predict", "{tmp}/good.npz", "--input", "{tmp}/xwide.csv"]),
    ("predict-input-is-model", ["predict", "{tmp}/good.npz", "--input", "{tmp}/garbage.npz"]),
    ("out-is-directory", ["train", "--layers", DIGITS_LAYERS, "--epochs", "1", "--out", "{here}"]),
    (
        "checkpoint-in-missing-dir",
        [
            "train",
            "--layers",
            DIGITS_LAYERS,
            "--epochs",
            "1",
            "--checkpoint",
            "{here}/no/dir/ck.npz",
        ],
    ),
    ("unknown-command", ["frobnicate"]),
]


def _case_id(case):
    return case.values[0] if hasattr(case, "values") else case[0]


def _prepare(case, args, inputs, workdir):
    argv = [a.replace("{tmp}", str(inputs)).replace("{here}", str(workdir)) for a in args]
    if argv[0] == "train":
        argv += ["--quiet", "--epochs", "1"] if "--epochs" not in argv else ["--quiet"]
        if "--out" not in argv:
            argv += ["--out", str(workdir / "model.npz")]
    return argv


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Every bad invocation, run concurrently (each in its own empty working directory)."""
    from concurrent.futures import ThreadPoolExecutor

    inputs = tmp_path_factory.mktemp("cli-inputs")
    _bad_files(inputs)
    before = sorted(os.listdir(inputs))
    jobs = {}
    with ThreadPoolExecutor(max_workers=3) as pool:
        for case in BAD_INVOCATIONS:
            name, args = case.values if hasattr(case, "values") else case
            workdir = tmp_path_factory.mktemp(f"cli-{name}")
            jobs[name] = (
                workdir,
                pool.submit(_cli, _prepare(name, args, inputs, workdir), workdir),
            )
        runs = {name: (workdir, fut.result()) for name, (workdir, fut) in jobs.items()}
    return runs, inputs, before


@pytest.mark.slow
@pytest.mark.parametrize("case, args", BAD_INVOCATIONS, ids=[_case_id(c) for c in BAD_INVOCATIONS])
def test_bad_invocation_gives_one_line_and_exit_2(cli_runs, case, args):
    runs, inputs, before = cli_runs
    workdir, proc = runs[case]
    err_lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, (
        f"exit {proc.returncode}\nstdout: {proc.stdout[-500:]}\nstderr: {proc.stderr[-1500:]}"
    )
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert len(err_lines) == 1, f"{len(err_lines)} lines on stderr:\n{proc.stderr[-1500:]}"
    assert err_lines[0].startswith("error:"), err_lines[0]
    hint = re.search(r"\(see `([^`]*)`\)", err_lines[0])
    if hint:  # the help it points to must exist
        words = hint.group(1).split()
        assert words[0] == "deltaprop" and words[-1] == "--help", err_lines[0]
        assert len(words) == 2 or (len(words) == 3 and words[1] in COMMANDS), err_lines[0]
    # No model, checkpoint or temporary file anywhere: the working directory (which holds the
    # --out path) stays empty and the inputs' directory unchanged.
    assert sorted(os.listdir(workdir)) == [], f"left behind: {os.listdir(workdir)}"
    assert sorted(os.listdir(inputs)) == before, "inputs directory changed"
    assert not [f for f in os.listdir(inputs.parent) if f.endswith(".tmp")]
    record("cli bad invocation", "exit 2, one line, nothing written")


# ----------------------------------------------------------------------------- memory
class _TracedWindow(Callback):
    """tracemalloc's current and peak traced memory between batches k0 and each of `ends`.

    Reads only ``get_traced_memory`` (no snapshots), so the measurement itself allocates
    nothing that stays.
    """

    def __init__(self, k0, ends, epoch=2):
        self.k0, self.ends, self.epoch_wanted = k0, set(ends), epoch
        self.epoch, self.kept, self.peak = 0, {}, {}

    def on_epoch_begin(self, epoch, n_batches):
        self.epoch = epoch

    def on_batch_end(self, batch, cost):
        if self.epoch != self.epoch_wanted:
            return
        if batch == self.k0:
            tracemalloc.reset_peak()
            self.base = tracemalloc.get_traced_memory()[0]
        elif batch in self.ends:
            current, peak = tracemalloc.get_traced_memory()
            self.kept[batch - self.k0] = current - self.base
            self.peak[batch - self.k0] = peak - self.base


MEMORY_CONFIGS = [
    dict(act="sigmoid", out="sigmoid", loss="quadratic", optimizer="sgd"),
    dict(act="relu", out="softmax", loss="cross_entropy", optimizer="adam"),
    dict(
        act="tanh",
        out="sigmoid",
        loss="binary_cross_entropy",
        optimizer="momentum",
        dtype="float32",
    ),
    dict(act="relu", out="identity", loss="mse", optimizer="nesterov", l2=0.1, l1=0.1),
    dict(act="swish", out="softmax", loss="quadratic", optimizer="sgd", dropout=0.3),
]


@pytest.mark.parametrize(
    "cfg", MEMORY_CONFIGS, ids=lambda c: f"{c['act']}-{c['loss']}-{c['optimizer']}"
)
def test_training_loop_keeps_no_memory_per_batch(cfg):
    cfg = dict(cfg)
    dtype = cfg.pop("dtype", "float64")
    sizes, m = [20, 16, 12, 4], 10
    rng = np.random.default_rng(0)
    X, y = rng.random((4200, 20)), rng.integers(0, 4, 4200)  # 420 batches an epoch
    net = Network(
        sizes,
        activation=cfg.pop("act"),
        output_activation=cfg.pop("out"),
        loss=cfg.pop("loss"),
        seed=0,
        dtype=dtype,
    )
    window = _TracedWindow(k0=10, ends=(60, 410))
    tracemalloc.start()
    try:
        fit(net, X, y, epochs=2, batch_size=m, lr=0.01, callbacks=[window], cost_every=10**9, **cfg)
    finally:
        tracemalloc.stop()
    # Kept memory does not grow with the number of batches: the same few hundred bytes (the
    # measurement's own objects) after 50 and after 400 batches.
    assert window.kept[50] < 2048 and window.kept[400] < 2048, window.kept
    assert abs(window.kept[400] - window.kept[50]) < 1024, window.kept
    # Transient memory within a step is a small multiple of one batch's arrays.
    batch_bytes = m * sum(sizes) * net.dtype.itemsize
    assert window.peak[400] <= 8 * batch_bytes + 8192, (window.peak, batch_bytes)
    record(
        "memory per batch",
        f"kept {window.kept[400]} B over 400 batches, "
        f"transient peak {window.peak[400]} B ({cfg['optimizer']})",
    )


def test_fit_peak_memory_is_data_plus_small_terms():
    # 20,000 × 200 float32 (16 MB): a temporary the size of X, even as booleans (4 MB), would
    # exceed the bound below.
    rng = np.random.default_rng(0)
    n, sizes, m = 20000, [200, 8, 3], 100
    X = rng.random((n, sizes[0]), dtype=np.float32)
    y = rng.integers(0, 3, n)
    net = Network(sizes, seed=0, dtype="float32")
    s = 4
    bound = (
        n * sizes[-1] * s  # one-hot targets
        + 6 * net.num_parameters * s  # θ copies, gradient, optimizer state
        + 4096 * sum(sizes[1:]) * s * 3  # evaluation chunk
        + m * sum(sizes) * s * 8  # batch workspace
        + n * 8
        + 2**20
    )  # permutation, Python objects
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fit(net, X, y, epochs=2, batch_size=m, lr=1.0)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak <= bound, f"peak {peak} B above the data, bound {bound} B"
    assert bound < X.nbytes // 4
    record("memory peak of fit", f"{peak} B above the data (bound {bound} B, X {X.nbytes} B)")


def test_evaluation_holds_one_chunk_at_a_time():
    # Cost and accuracy are computed 4096 rows at a time: the peak is one chunk's Z^l and A^l
    # (2 × 4096 × Σ n_l numbers), not two chunks' nor the whole data's.
    rng = np.random.default_rng(0)
    sizes = [20, 256, 3]
    X = rng.random((3 * 4096, 20), dtype=np.float32)
    y = rng.integers(0, 3, len(X))
    net = Network(
        sizes,
        activation="relu",
        output_activation="softmax",
        loss="cross_entropy",
        seed=0,
        dtype="float32",
    )
    chunk = 2 * 4096 * sum(sizes[1:]) * 4
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        net.evaluate(X, y)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert peak <= 1.5 * chunk, f"peak {peak} B, one chunk {chunk} B"
    record("memory peak of evaluate", f"{peak} B for one chunk of {chunk} B")


# ----------------------------------------------------------------------------- the counts
def test_zz_report_counts(tmp_path_factory, capsys):
    """Print and save how every example ended (runs last in this module)."""
    path = tmp_path_factory.getbasetemp() / "robustness_counts.json"
    save_and_print_counts(COUNTS, path, "robustness examples", capsys)
    if len(COUNTS) and any(k.startswith("data/") for k in COUNTS):
        rejected = sum(n for k, n in COUNTS.items() if k.startswith("data/") and "rejected" in k)
        accepted = sum(n for k, n in COUNTS.items() if k.startswith("data/") and "ok" in k)
        assert rejected > 50 and accepted > 50, "the strategies should exercise both outcomes"
