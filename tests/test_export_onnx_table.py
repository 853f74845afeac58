"""ONNX export with the model's preprocessing: raw columns in, probabilities and labels out.

ONNX Runtime's outputs are compared with deltaprop's own predict_proba and predict on the same
raw table (1e-6 in float32, 1e-12 in float64) for every activation and for each kind of
preprocessing: scaling, imputation, one-hot text columns with unseen categories, class names
(strings and numbers), and regression in the target's units.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import deltaprop as dp
from deltaprop._cli_data import output_for
from deltaprop.cli import run
from deltaprop.datasets import Preprocessor, Table

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from deltaprop.export import onnx_model  # noqa: E402
from deltaprop.export.onnx_runtime import run_onnx  # noqa: E402

TOL = {"float32": 1e-6, "float64": 1e-12}


def _raw(n=120, seed=0, missing=False):
    rng = np.random.default_rng(seed)
    size = rng.normal(50, 20, n)
    weight = rng.uniform(100, 3000, n)
    if missing:
        size[::7] = np.nan
    color = rng.choice(["red", "green", "blue"], n).astype(object)
    shape = rng.choice(["round", "long"], n).astype(object)
    if missing:  # empty text cells too: the most frequent category fills them
        color[3::11] = None
    score = (color == "red") * 1.5 - (shape == "long") + np.nan_to_num(size - 50) / 20
    fruit = np.where(score > 0.8, "apple", np.where(score > -0.5, "banana", "cherry"))
    return {"size": size, "weight": weight, "color": color, "shape": shape, "fruit": fruit,
            "grade": (score > 0).astype(int) + 3, "price": 10 * weight + 3 * size}  # fmt: skip


def _model(prep_kwargs, target, table, dtype, hidden="tanh", n_hidden=7):
    features = ["size", "weight", "color", "shape"]
    prep = Preprocessor(target, features=features, **prep_kwargs).fit(table)
    out, loss = output_for(prep)
    sizes = [prep.n_inputs, n_hidden, prep.n_outputs]
    net = dp.Network(sizes, activation=hidden, output_activation=out, loss=loss, dtype=dtype,
                     seed=1)  # fmt: skip
    net.preprocessor = prep
    return net


def _check(net, table, dtype):
    model = onnx_model(net)
    onnx.checker.check_model(model, full_check=True)
    out = run_onnx(model, table)
    err = np.abs(out["probabilities"] - net.predict_proba(table)).max()
    assert err <= TOL[dtype], err
    expected = net.predict(table)
    if "label" in out:
        assert out["label"].tolist() == expected.tolist()
    else:
        np.testing.assert_allclose(out["value"], expected, rtol=TOL[dtype] * 100)
    return err


CASES = {
    "standard, text, string classes": ({}, "fruit", False),
    "minmax, mean imputation": ({"scale": "minmax", "impute": "mean"}, "fruit", True),
    "none, most frequent, unknown zeros": (
        {"scale": "none", "impute": "most_frequent", "unknown": "zeros"}, "fruit", True),
    "two numeric classes (3 and 4)": ({}, "grade", False),
    "regression": ({}, "price", False),
}  # fmt: skip


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", list(CASES))
def test_each_kind_of_preprocessing_equals_deltaprop(case, dtype):
    kwargs, target, missing = CASES[case]
    table = Table(_raw(missing=missing))
    _check(_model(kwargs, target, table, dtype), table, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "hidden", ["sigmoid", "tanh", "relu", "leaky_relu", "swish", "softplus", "identity"]
)
def test_every_activation_with_preprocessing_equals_deltaprop(hidden, dtype):
    table = Table(_raw())
    _check(_model({}, "fruit", table, dtype, hidden=hidden), table, dtype)


def test_unseen_categories_are_zeros_or_a_runtime_error():
    train = Table(_raw())
    new = _raw(5, seed=3)
    new["color"][:] = "purple"
    zeros = _model({"unknown": "zeros"}, "fruit", train, "float64")
    _check(zeros, Table(new), "float64")
    strict = _model({}, "fruit", train, "float64")
    with pytest.raises(dp.DeltapropError, match="ONNX Runtime failed"):
        run_onnx(onnx_model(strict), Table(new))
    # with imputation (a LabelEncoder before the OneHotEncoder) an unseen category stays one
    _check(_model({"unknown": "zeros", "impute": "mean"}, "fruit", train, "float64"),
           Table(new), "float64")  # fmt: skip
    strict = _model({"impute": "mean"}, "fruit", train, "float64")
    with pytest.raises(dp.DeltapropError, match="ONNX Runtime failed"):
        run_onnx(onnx_model(strict), Table(new))


def test_inputs_are_the_columns_by_name_and_metadata_names_the_classes():
    table = Table(_raw())
    net = _model({}, "fruit", table, "float32")
    model = onnx_model(net)
    inputs = {i.name: i.type.tensor_type.elem_type for i in model.graph.input}
    num, text = onnx.TensorProto.DOUBLE, onnx.TensorProto.STRING
    assert inputs == {"size": num, "weight": num, "color": text, "shape": text}
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["classes"]) == ["apple", "banana", "cherry"]
    # columns in another order: fed by name, same result
    shuffled = Table({k: table[k] for k in reversed(table.names)})
    assert run_onnx(model, shuffled)["label"].tolist() == net.predict(table).tolist()


def test_predict_backend_onnxruntime_prints_what_deltaprop_prints(tmp_path, capsys):
    raw = _raw(200)
    lines = ["size,weight,color,shape,fruit"] + [
        f"{a:.3f},{b:.3f},{c},{d},{e}"
        for a, b, c, d, e in zip(
            raw["size"], raw["weight"], raw["color"], raw["shape"], raw["fruit"]
        )  # fmt: skip
    ]
    data = tmp_path / "t.csv"
    data.write_text("\n".join(lines) + "\n")
    model = tmp_path / "m.npz"
    assert run(["train", "--data", str(data), "--target", "fruit", "--out", str(model), "-q",
                "--epochs", "5"]) == 0  # fmt: skip
    capsys.readouterr()
    outputs = []
    for extra in ([], ["--backend", "onnxruntime"]):
        assert run(["predict", str(model), "--input", str(data), *extra]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and len(outputs[0].splitlines()) == 200
    assert run(["export", str(model), str(tmp_path / "m.onnx")]) == 0
    capsys.readouterr()
    probas = []
    for source in (tmp_path / "m.onnx", model):
        assert run(["predict", str(source), "--input", str(data), "--proba"]) == 0
        probas.append(capsys.readouterr().out.splitlines())
    assert probas[0][0] == probas[1][0] == "apple,banana,cherry"
    rows = [np.array([[float(v) for v in line.split(",")] for line in p[1:]]) for p in probas]
    np.testing.assert_allclose(rows[0], rows[1], atol=2e-6)  # float32, printed to 6 digits


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_columns_named_like_the_graphs_own_tensors_export_and_agree(dtype):
    # "x", "W1", "z1", "col0_out", "dp_col0" are names the graph itself uses (or the prefix
    # chosen to avoid them); the graph must stay in single static assignment form
    rng = np.random.default_rng(0)
    n = 40
    cols = {"x": rng.normal(size=n), "W1": rng.normal(size=n), "z1": rng.normal(size=n),
            "col0_out": rng.choice(["a", "b"], n).astype(object),
            "dp_col0": rng.normal(size=n), "é ü/:=": rng.normal(size=n),
            "y": rng.choice(["p", "q", "r"], n).astype(object)}  # fmt: skip
    table = Table(cols)
    prep = Preprocessor("y").fit(table)
    net = dp.Network([prep.n_inputs, 5, 3], activation="leaky_relu", output_activation="softmax",
                     loss="cross_entropy", dtype=dtype, seed=0)  # fmt: skip
    net.preprocessor = prep
    model = onnx_model(net)
    assert [i.name for i in model.graph.input] == list(prep.features)
    out = run_onnx(model, table)
    expected = net.predict_proba(prep.transform(table))
    assert np.max(np.abs(out["probabilities"] - expected)) <= TOL[dtype]
    assert list(out["label"]) == list(prep.labels(net.predict(prep.transform(table))))


@pytest.mark.parametrize("name, why", [("", "an empty name"), ("label", "graph output")])
def test_a_column_name_no_graph_input_can_take_is_refused_naming_it(name, why):
    table = Table({"a": [0.0, 1.0, 2.0, 3.0], name: [1.0, 0.0, 1.0, 2.0], "y": ["u", "v"] * 2})
    prep = Preprocessor("y", features=["a", name]).fit(table)  # an unnamed one chosen explicitly
    net = dp.Network([2, 3, 1], output_activation="sigmoid", loss="binary_cross_entropy")
    net.preprocessor = prep
    with pytest.raises(dp.DeltapropError, match=f"column 2 is named {name!r}, .*{why}"):
        onnx_model(net)
