"""ONNX export: the graph passes onnx's checker and ONNX Runtime computes predict_proba and
predict to 1e-6 (float32) / 1e-12 (float64), for every activation, output and dtype."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import deltaprop
from conftest import HIDDEN
from deltaprop import DeltapropError, Network
from deltaprop.activations import Activation

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from deltaprop.export import onnx_model, to_onnx  # noqa: E402
from deltaprop.export.command import export as export_command  # noqa: E402

TOL = {"float32": 1e-6, "float64": 1e-12}
#: Every hidden activation of the registry, and non-default parameters where it has them.
HIDDEN_CASES = [*HIDDEN, {"name": "leaky_relu", "alpha": 0.3}, {"name": "swish", "beta": 1.7}]
#: (output activation, loss, outputs): classifiers with one and several outputs, regressions.
OUTPUT_CASES = [
    ("softmax", "cross_entropy", 3),
    ("sigmoid", "binary_cross_entropy", 1),
    ("sigmoid", "quadratic", 2),
    ("identity", "quadratic", 1),
    ("identity", "mse", 2),
    ("tanh", "mse", 1),
    ("softplus", "quadratic", 1),
]


def _session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def _ids(case):
    return case if isinstance(case, str) else "-".join(f"{v}" for v in case.values())


def _net(hidden, output, loss, n_out, dtype, seed=3):
    return Network([4, 6, 5, n_out], activation=hidden, output_activation=output, loss=loss,
                   dtype=dtype, seed=seed)  # fmt: skip


def _run(model, X):
    names = [o.name for o in model.graph.output]
    return dict(zip(names, _session(model).run(None, {"x": X})))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output, loss, n_out", OUTPUT_CASES)
@pytest.mark.parametrize("hidden", HIDDEN_CASES, ids=_ids)
def test_onnx_runtime_computes_predict_proba_and_predict(hidden, output, loss, n_out, dtype):
    net = _net(hidden, output, loss, n_out, dtype)
    X = np.random.default_rng(0).normal(0, 2, (64, 4)).astype(dtype)
    model = onnx_model(net)
    onnx.checker.check_model(model, full_check=True)
    out = _run(model, X)
    a = net.predict_proba(X)
    assert out["probabilities"].dtype == net.dtype
    assert out["probabilities"].shape == a.shape
    np.testing.assert_allclose(out["probabilities"], a, rtol=TOL[dtype], atol=TOL[dtype])
    if net.is_classifier:
        assert out["label"].dtype == np.int64
        np.testing.assert_array_equal(out["label"], net.predict(X))
        np.testing.assert_array_equal(out["label"], net.predicted_labels(a))
    else:
        assert "label" not in out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", ["sigmoid", "softplus", "swish", "leaky_relu", "tanh"])
def test_extreme_inputs_stay_finite_and_equal(hidden, dtype):
    # |z| in the hundreds: e^{−z} overflows in the sigmoid, softplus's ln(1 + e^z) needs its
    # stable form, softmax its shift
    net = _net(hidden, "softmax", "cross_entropy", 3, dtype)
    X = np.random.default_rng(1).normal(0, 300, (64, 4)).astype(dtype)
    out = _run(onnx_model(net), X)["probabilities"]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, net.predict_proba(X), rtol=TOL[dtype], atol=TOL[dtype])


def test_the_batch_dimension_is_dynamic_and_the_names_fixed(tmp_path):
    net = _net("relu", "softmax", "cross_entropy", 3, "float32")
    path = net.to_onnx(tmp_path / "m.onnx")
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["probabilities", "label"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 4
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for m in (1, 257):
        X = np.random.default_rng(m).normal(size=(m, 4)).astype(np.float32)
        proba, label = session.run(None, {"x": X})
        assert proba.shape == (m, 3) and label.shape == (m,)
        np.testing.assert_allclose(proba, net.predict_proba(X), atol=1e-6)


def test_metadata_describes_the_network(tmp_path):
    net = _net({"name": "leaky_relu", "alpha": 0.3}, "sigmoid", "binary_cross_entropy", 1,
               "float64")  # fmt: skip
    model = onnx.load(deltaprop.export.to_onnx(net, tmp_path / "m.onnx", opset=18))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["deltaprop_version"] == deltaprop.__version__
    assert json.loads(meta["sizes"]) == [4, 6, 5, 1]
    assert json.loads(meta["activations"])[0] == {"name": "leaky_relu", "alpha": 0.3}
    assert json.loads(meta["loss"]) == {"name": "binary_cross_entropy"}
    assert meta["dtype"] == "float64" and meta["label_rule"] == "a >= 0.5"
    assert model.opset_import[0].version == 18
    assert model.producer_name == "deltaprop"


def test_the_single_output_label_is_a_ge_one_half():
    # weights 0 and bias 0: every a = σ(0) = 0.5 exactly, which the rule counts as class 1
    net = Network([2, 1], activation="sigmoid", loss="binary_cross_entropy", dtype="float32")
    net.weights[0] = np.zeros((1, 2))
    net.biases[0] = np.zeros(1)
    X = np.ones((3, 2), dtype=np.float32)
    assert _run(onnx_model(net), X)["label"].tolist() == [1, 1, 1] == net.predict(X).tolist()


class Cube(Activation):
    name = "cube_export_test"

    def forward(self, z, out=None):
        return np.power(z, 3, out=out)

    def derivative(self, z, a):
        return 3.0 * z * z


class CubeWithOnnx(Cube):
    def onnx_nodes(self, x, y):
        return [("Mul", [x, x], [f"{y}_sq"], {}), ("Mul", [f"{y}_sq", x], [y], {})]


def test_an_activation_without_onnx_form_is_refused_by_name(tmp_path):
    net = Network([3, 4, 2], activation=Cube(), output_activation="softmax", seed=0)
    target = tmp_path / "m.onnx"
    with pytest.raises(DeltapropError, match=r"layer 1 \('cube_export_test', Cube\)"):
        net.to_onnx(target)
    assert not target.exists() and os.listdir(tmp_path) == []


def test_a_user_defined_activation_with_onnx_nodes_exports():
    net = Network([3, 4, 2], activation=CubeWithOnnx(), output_activation="softmax", seed=0)
    X = np.random.default_rng(0).normal(size=(8, 3))
    out = _run(onnx_model(net), X)["probabilities"]
    np.testing.assert_allclose(out, net.predict_proba(X), rtol=1e-12, atol=1e-12)


def test_an_invalid_onnx_form_is_refused_before_writing(tmp_path):
    class Bad(Cube):
        name = "bad_export_test"

        def onnx_nodes(self, x, y):
            return [("NoSuchOperator", [x], [y], {})]

    net = Network([3, 2], activation=Bad(), seed=0)
    with pytest.raises(DeltapropError, match="bad_export_test"):
        to_onnx(net, tmp_path / "m.onnx")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("opset", [12, 10_000, "17"])
def test_an_unsupported_opset_is_refused(opset, tmp_path):
    net = Network([2, 2], seed=0)
    with pytest.raises(DeltapropError, match="opset"):
        to_onnx(net, tmp_path / "m.onnx", opset=opset)


def test_writing_replaces_a_file_and_refuses_a_directory(tmp_path):
    net = Network([2, 2], seed=0)
    target = tmp_path / "m.onnx"
    target.write_bytes(b"old")
    to_onnx(net, target)
    onnx.checker.check_model(onnx.load(target))
    with pytest.raises(DeltapropError, match="directory"):
        to_onnx(net, tmp_path)
    with pytest.raises(FileNotFoundError):
        to_onnx(net, tmp_path / "absent" / "m.onnx")


def test_import_deltaprop_imports_none_of_the_exporters_libraries():
    code = "import deltaprop, sys; print([m in sys.modules for m in ('onnx', 'onnxruntime', "
    code += "'torch', 'sklearn')])"
    env = {**os.environ, "PYTHONPATH": str(Path(deltaprop.__file__).parents[1])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.stdout.strip() == "[False, False, False, False]", done.stderr


# ---------------------------------------------------------------------- the command
def test_the_export_command_writes_a_model_runtime_runs(tmp_path):
    net = _net("tanh", "softmax", "cross_entropy", 3, "float64")
    net.save(tmp_path / "m.npz")
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(export_command, [str(tmp_path / "m.npz"), str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "opset 17" in result.output
    X = np.random.default_rng(0).normal(size=(5, 4))
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    proba, label = session.run(None, {"x": X})
    np.testing.assert_allclose(proba, net.predict_proba(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(label, net.predict(X))


def test_the_export_command_json_and_opset(tmp_path):
    Network([2, 1], activation="identity", loss="mse", seed=0).save(tmp_path / "m.npz")
    args = [str(tmp_path / "m.npz"), str(tmp_path / "m.onnx"), "--opset", "13", "--json"]
    result = CliRunner().invoke(export_command, args)
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["opset"] == 13 and info["outputs"] == ["probabilities"]
    assert onnx.load(tmp_path / "m.onnx").opset_import[0].version == 13


@pytest.mark.parametrize(
    "args, message",
    [
        (["absent.npz", "out.onnx"], "does not exist"),
        (["m.npz", "nodir/out.onnx"], "directory"),
        (["m.npz", "out.onnx", "--opset", "5"], "opset"),
    ],
)
def test_the_export_command_refuses_bad_arguments(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Network([2, 2], seed=0).save(tmp_path / "m.npz")
    result = CliRunner().invoke(export_command, args)
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [False, "shared", ["shared", True, False]], ids=str)
def test_absent_and_shared_biases_export_to_onnx(bias, dtype):
    net = Network([4, 6, 5, 3], activation="relu", output_activation="softmax",
                  loss="cross_entropy", dtype=dtype, seed=4, bias=bias)  # fmt: skip
    for b in net.biases:
        b[...] = np.random.default_rng(1).normal(size=b.shape)
    model = onnx_model(net)
    onnx.checker.check_model(model, full_check=True)
    gemms = [n for n in model.graph.node if n.op_type == "Gemm"]
    assert [len(n.input) for n in gemms] == [2 if m == "none" else 3 for m in net.bias_modes]
    X = np.random.default_rng(0).normal(0, 2, (32, 4)).astype(dtype)
    out = _run(model, X)
    np.testing.assert_allclose(out["probabilities"], net.predict_proba(X),
                               rtol=TOL[dtype], atol=TOL[dtype])  # fmt: skip
    np.testing.assert_array_equal(out["label"], net.predict(X))
