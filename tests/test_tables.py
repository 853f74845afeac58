"""A user's own table: reading, preprocessing kept in the model, labels, regression.

References are independent: numpy's mean/std computed here, one-hot rows written by hand,
the file's own labels, scikit-learn's MLP on the same standardized split.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import deltaprop as dp
from conftest import rewrite_metadata
from deltaprop import io as dpio
from deltaprop.cli import run
from deltaprop.datasets import DatasetError, Preprocessor, Table, load_csv, load_table, read_table
from deltaprop.datasets import table as table_module


def _write(path, text):
    path.write_text(text)
    return str(path)


def _fruit_rows(n=300, seed=0):
    """A table with two text columns, a numeric one and three fruit labels."""
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(50, 20, n).round(1)
    shape = rng.choice(["round", "long"], n)
    score = 1.5 * (color == "red") - (shape == "long") + (size - 50) / 20
    fruit = np.where(score > 0.8, "apple", np.where(score > -0.5, "banana", "cherry"))
    return color, size, shape, fruit


def _fruit_csv(path, n=300, seed=0):
    color, size, shape, fruit = _fruit_rows(n, seed)
    lines = ["color,size_g,shape,fruit"] + [
        f"{c},{s},{h},{f}" for c, s, h, f in zip(color, size, shape, fruit)
    ]
    return _write(path, "\n".join(lines) + "\n")


# ---------------------------------------------------------------------- reading
def test_read_table_kinds_empty_cells_and_lines(tmp_path):
    p = _write(tmp_path / "t.csv", "a,b,c\n1,red,\n\n2.5, blue ,3\n")
    t = read_table(p)
    assert t.names == ("a", "b", "c")
    assert (t.kind("a"), t.kind("b"), t.kind("c")) == ("numeric", "text", "numeric")
    assert t["a"].tolist() == [1.0, 2.5]
    assert t["b"].tolist() == ["red", "blue"]  # stripped
    assert np.isnan(t["c"][0]) and t["c"][1] == 3.0
    assert t.where(1) == "line 4"  # the blank line 3 is skipped, the file's numbering kept


def test_a_column_turning_to_text_in_a_later_chunk_keeps_its_earlier_values(tmp_path, monkeypatch):
    monkeypatch.setattr(table_module, "_CHUNK_ROWS", 2)
    p = _write(tmp_path / "t.csv", "code,x\n1,0\n2.0,1\n3,2\nA7,3\n")
    t = read_table(p)
    assert t.kind("code") == "text"
    assert t["code"].tolist() == ["1", "2", "3", "A7"]  # 2.0 and 2 are one category
    assert t["x"].tolist() == [0.0, 1.0, 2.0, 3.0]


def test_read_table_refuses_infinity_naming_line_and_column(tmp_path):
    p = _write(tmp_path / "t.csv", "a,b\n1,2\n3,inf\n")
    with pytest.raises(DatasetError, match=r"line 3, column 'b': 'inf'; expected a finite"):
        read_table(p)


# ---------------------------------------------------------------------- preprocessing
def _table():
    return Table(
        {
            "size": [1.0, 3.0, 5.0, 7.0],
            "flat": [2.0, 2.0, 2.0, 2.0],
            "color": ["red", "blue", "red", "green"],
            "kind": ["a", "b", "a", "c"],
        }
    )


def test_standard_scaling_and_one_hot_equal_a_hand_computation():
    p = Preprocessor("kind").fit(_table())
    size = np.array([1.0, 3.0, 5.0, 7.0])
    expected = np.column_stack(
        [
            (size - size.mean()) / size.std(),
            np.zeros(4),  # a constant column: centred, divided by 1, never by 0
            [[0, 0, 1], [1, 0, 0], [0, 0, 1], [0, 1, 0]],  # blue, green, red
        ]
    )
    np.testing.assert_allclose(p.transform(_table()), expected)
    assert p.input_names == ["size", "flat", "color=blue", "color=green", "color=red"]
    assert p.classes == ["a", "b", "c"] and p.n_outputs == 3
    assert p.encode_target(_table()).tolist() == [0, 1, 0, 2]
    assert p.labels([2, 0]).tolist() == ["c", "a"]


def test_minmax_and_none_scaling():
    t = _table()
    mm = Preprocessor("kind", scale="minmax").fit(t).transform(t)
    np.testing.assert_allclose(mm[:, 0], [0.0, 1 / 3, 2 / 3, 1.0])
    raw = Preprocessor("kind", scale="none").fit(t).transform(t)
    np.testing.assert_allclose(raw[:, :2], [[1, 2], [3, 2], [5, 2], [7, 2]])


def test_columns_are_matched_by_name_and_extra_ones_ignored():
    p = Preprocessor("kind").fit(_table())
    t = _table()
    shuffled = Table(
        {
            "note": ["x"] * 4,
            "color": t["color"],
            "kind": t["kind"],
            "flat": t["flat"],
            "size": t["size"],
        }  # fmt: skip
    )
    np.testing.assert_array_equal(p.transform(shuffled), p.transform(t))
    without_target = Table({k: t[k] for k in ("size", "flat", "color")})
    np.testing.assert_array_equal(p.transform(without_target), p.transform(t))


def test_a_missing_column_is_named():
    p = Preprocessor("kind").fit(_table())
    t = _table()
    with pytest.raises(DatasetError, match=r"no column named 'color'.*trained on"):
        p.transform(Table({"size": t["size"], "flat": t["flat"]}))


def test_unseen_category_is_an_error_naming_it_or_zeros_on_request():
    t = _table()
    new = Table({"size": [2.0], "flat": [2.0], "color": ["purple"]}, ["line 9"], "new.csv")
    with pytest.raises(DatasetError, match=r"line 9, column 'color': category 'purple'"):
        Preprocessor("kind").fit(t).transform(new)
    row = Preprocessor("kind", unknown="zeros").fit(t).transform(new)
    assert row[0, 2:].tolist() == [0.0, 0.0, 0.0]


def test_empty_cells_are_refused_by_line_or_imputed_with_training_values():
    t = Table(
        {"x": [1.0, np.nan, 4.0, 4.0], "c": ["u", None, "v", "v"], "y": [0, 1, 0, 1]},
        ["line 2", "line 3", "line 4", "line 5"],
        "f.csv",
    )
    with pytest.raises(DatasetError, match=r"f.csv: line 3, column 'x': empty value"):
        Preprocessor("y").fit(t)
    mean = Preprocessor("y", impute="mean", scale="none").fit(t).transform(t)
    assert mean[1, 0] == pytest.approx(3.0)  # mean of 1, 4, 4
    assert mean[1, 1:].tolist() == [0.0, 1.0]  # text: the most frequent category, v
    frequent = Preprocessor("y", impute="most_frequent", scale="none").fit(t).transform(t)
    assert frequent[1, 0] == 4.0


def test_nan_targets_are_refused_naming_the_rows(tmp_path):
    p = _write(tmp_path / "t.csv", "x,y\n1,a\n2,\n3,b\n4,nan\n")
    with pytest.raises(DatasetError, match=r"2 row\(s\) \(line 3, line 5\)"):
        load_table(p, "y")


def test_regression_is_detected_and_values_come_back_in_their_units():
    rng = np.random.default_rng(0)
    ints = rng.integers(20, 400, 100).astype(float)  # whole numbers, many distinct values
    t = Table({"x": rng.normal(size=100), "y": ints})
    p = Preprocessor("y").fit(t)
    assert p.task == "regression" and p.classes is None and p.n_outputs == 1
    z = p.encode_target(t)
    np.testing.assert_allclose(z, (ints - ints.mean()) / ints.std())
    np.testing.assert_allclose(p.values(z), ints)
    few = Table({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 1.0]})
    assert Preprocessor("y").fit(few).task == "classification"
    assert Preprocessor("y", task="regression").fit(few).task == "regression"
    with pytest.raises(DatasetError, match="holds text"):
        Preprocessor("kind", task="regression").fit(_table())


def test_to_dict_round_trips_through_json_and_malformed_data_is_refused():
    t = _table()
    p = Preprocessor("kind", impute="mean").fit(t)
    q = Preprocessor.from_dict(json.loads(json.dumps(p.to_dict())))
    np.testing.assert_array_equal(q.transform(t), p.transform(t))
    assert q.classes == p.classes
    bad = p.to_dict()
    bad["columns"][0]["scale"] = 0.0
    with pytest.raises(dp.DeltapropError, match="malformed"):
        Preprocessor.from_dict(bad)


def test_inverse_transform_gives_back_the_columns():
    t = _table()
    p = Preprocessor("kind").fit(t)
    back = p.inverse_transform(p.transform(t))
    np.testing.assert_allclose(back["size"], t["size"])
    assert back["color"].tolist() == t["color"].tolist()


def test_load_table_fits_scaling_on_the_training_rows_only():
    rng = np.random.default_rng(1)
    x = rng.normal(10, 3, 200)
    t = Table({"x": x, "y": (x > 10).astype(int)})
    ds, prep = load_table(t, "y", seed=0, dtype="float64")
    col = prep.columns[0]
    train_x = ds.X_train[:, 0] * col["scale"] + col["center"]
    assert col["center"] == pytest.approx(train_x.mean())
    assert col["scale"] == pytest.approx(train_x.std())
    assert col["center"] != pytest.approx(x.mean(), abs=1e-9)
    assert len(ds.y_train) + len(ds.y_val) + len(ds.y_test) == 200


def test_load_csv_keeps_its_arrays_and_offers_the_preprocessor(tmp_path):
    p = _write(tmp_path / "t.csv", "a,b,y\n1,10,x\n3,10,z\n5,40,x\n")
    data = load_csv(p, "y")
    assert data.X.tolist() == [[1, 10], [3, 10], [5, 40]]
    a = np.array([1.0, 3.0, 5.0])
    np.testing.assert_allclose(
        data.preprocessor.transform(data.table)[:, 0], (a - a.mean()) / a.std()
    )
    assert data.preprocessor.classes == ["x", "z"]


# ---------------------------------------------------------------------- Python API
def test_fit_on_a_dataframe_keeps_labels_and_matches_the_encoded_arrays():
    pd = pytest.importorskip("pandas")
    color, size, shape, fruit = _fruit_rows(240)
    df = pd.DataFrame({"color": color, "size_g": size, "shape": shape, "fruit": fruit})
    kwargs = dict(epochs=40, batch_size=16, lr=0.01, optimizer="adam", seed=0, verbose=0)
    arch = dict(activation="relu", output_activation="softmax", loss="cross_entropy", seed=0)
    net = dp.Network([6, 12, 3], **arch)
    net.fit(df.drop(columns="fruit"), df["fruit"], **kwargs)
    assert net.preprocessor.classes == ["apple", "banana", "cherry"]
    # the same run on the arrays the preprocessor gives: identical weights
    ref = dp.Network([6, 12, 3], **arch)
    ref.fit(net.preprocessor.transform(df), net.preprocessor.encode_target(df), **kwargs)
    for W, V in zip(net.weights, ref.weights):
        np.testing.assert_array_equal(W, V)
    labels = net.predict(df)
    assert set(labels) <= {"apple", "banana", "cherry"}
    acc = float((labels == df["fruit"].to_numpy()).mean())
    assert net.evaluate(df, "fruit")[1] == pytest.approx(acc)
    assert acc > 0.8


def test_fit_on_a_table_names_the_widths_the_network_needs():
    net = dp.Network([3, 4, 3], seed=0)
    expected = r"encodes to 5 inputs .*Network\(\[5, \.\.\., 3\]\)"
    with pytest.raises(dp.DeltapropError, match=expected):
        net.fit(_table(), "kind", epochs=1)


def test_the_preprocessor_travels_in_the_model_file(tmp_path):
    t = _table()
    p = Preprocessor("kind").fit(t)
    net = dp.Network([p.n_inputs, 4, 3], output_activation="softmax", loss="cross_entropy")
    net.preprocessor = p
    net.save(tmp_path / "m.npz")
    back = dpio.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(back.preprocessor.transform(t), p.transform(t))
    assert back.predict(t).tolist() == net.predict(t).tolist()
    assert dpio.load(tmp_path / "m.npz").preprocessor.classes == ["a", "b", "c"]


# ---------------------------------------------------------------------- the command
def _cli(capsys, *args):
    code = run([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_labels_round_trip_through_train_save_predict_and_evaluate(tmp_path, capsys):
    data = _fruit_csv(tmp_path / "fruit.csv", n=400)
    model = tmp_path / "m.npz"
    code, out, err = _cli(capsys, "train", "--data", data, "--target", "fruit", "--out", model)
    assert code == 0, err
    assert "chosen for this table:" in out and "--optimizer adam --lr 0.001" in out
    # predict on the training file's own layout, its columns reordered, the target present
    color, size, shape, fruit = _fruit_rows(400)
    rows = ["fruit,shape,size_g,color"] + [
        f"{f},{h},{s},{c}" for c, s, h, f in zip(color[:50], size[:50], shape[:50], fruit[:50])
    ]
    swapped = _write(tmp_path / "swapped.csv", "\n".join(rows) + "\n")
    code, out, err = _cli(capsys, "predict", model, "--input", swapped)
    assert code == 0, err
    printed = out.splitlines()
    net = dpio.load(model)
    table = read_table(data).take(np.arange(50))
    assert printed == [str(v) for v in net.predict(table)]  # one label per row, nothing else
    # a subset of the file: scored with the model's classes, not re-mapped
    cherries = [r for r in rows[1:] if r.startswith("cherry")]
    subset = _write(tmp_path / "sub.csv", "\n".join(rows[:1] + cherries) + "\n")
    code, out, err = _cli(capsys, "evaluate", model, "--data", subset, "--json")
    result = json.loads(out)
    sub = read_table(subset)
    expected = float((net.predict(sub) == sub["fruit"]).mean())
    assert result["accuracy"] == pytest.approx(expected) and expected > 0.5
    code, out, err = _cli(capsys, "predict", model, "--input", swapped, "--proba")
    assert out.splitlines()[0] == "apple,banana,cherry"
    assert len(out.splitlines()) == 51


def test_predict_names_a_missing_column_and_an_unseen_category(tmp_path, capsys):
    data = _fruit_csv(tmp_path / "fruit.csv", n=200)
    model = tmp_path / "m.npz"
    assert _cli(capsys, "train", "--data", data, "--target", "fruit", "--out", model,
                "--epochs", "2", "-q")[0] == 0  # fmt: skip
    gone = _write(tmp_path / "gone.csv", "color,shape\nred,round\n")
    code, out, err = _cli(capsys, "predict", model, "--input", gone)
    assert code == 2 and "no column named 'size_g'" in err and not out
    odd = _write(tmp_path / "odd.csv", "color,size_g,shape\npurple,40,round\n")
    code, out, err = _cli(capsys, "predict", model, "--input", odd)
    assert code == 2 and "line 2, column 'color': category 'purple'" in err
    zeros = tmp_path / "z.npz"
    assert _cli(capsys, "train", "--data", data, "--target", "fruit", "--out", zeros,
                "--epochs", "2", "-q", "--unknown", "zeros")[0] == 0  # fmt: skip
    code, out, err = _cli(capsys, "predict", zeros, "--input", odd)
    assert code == 0 and out.strip() in ("apple", "banana", "cherry")


def test_empty_cells_and_nan_targets_exit_2_naming_them(tmp_path, capsys):
    p = _write(tmp_path / "t.csv", "x,c,y\n1,a,0\n,b,1\n3,a,0\n4,b,1\n5,a,0\n6,b,1\n")
    code, _, err = _cli(capsys, "train", "--data", p, "--target", "y", "-q")
    assert code == 2 and "line 3, column 'x': empty value" in err and "--impute" in err
    code, _, err = _cli(capsys, "train", "--data", p, "--target", "y", "-q", "--impute", "mean",
                        "--epochs", "1")  # fmt: skip
    assert code == 0, err
    q = _write(tmp_path / "q.csv", "x,y\n1,0\n2,\n3,1\n4,0\n")
    code, _, err = _cli(capsys, "train", "--data", q, "--target", "y", "-q")
    assert code == 2 and "(line 3)" in err


def test_regression_trains_an_identity_output_and_reports_r2_in_original_units(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=300), rng.uniform(0, 10, 300)
    price = 5000 + 800 * x1 + 150 * x2 + rng.normal(0, 50, 300)
    lines = ["x1,x2,price"] + [f"{a:.4f},{b:.4f},{c:.2f}" for a, b, c in zip(x1, x2, price)]
    data = _write(tmp_path / "p.csv", "\n".join(lines) + "\n")
    model = tmp_path / "m.npz"
    code, out, err = _cli(capsys, "train", "--data", data, "--target", "price", "--json",
                          "--out", model)  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["config"]["activations"][-1]["name"] == "identity"
    assert result["test_r2"] > 0.95 and "test_accuracy" not in result
    net = dpio.load(model)
    pred = net.predict(read_table(data))
    assert result["test_mae"] < 200
    assert np.abs(pred - price).mean() < 200  # dollars, not standardized units
    code, out, err = _cli(capsys, "evaluate", model, "--data", data, "--json")
    ev = json.loads(out)
    ss = ((price - pred) ** 2).sum() / ((price - price.mean()) ** 2).sum()
    assert ev["r2"] == pytest.approx(1 - ss, rel=1e-4)
    assert ev["samples"] == 300
    code, out, err = _cli(capsys, "predict", model, "--input", data)
    assert [float(v) for v in out.split()] == pytest.approx(pred.tolist(), rel=1e-5)


def test_adam_without_lr_takes_its_own_learning_rate(capsys):
    code, out, err = _cli(capsys, "train", "--optimizer", "adam", "--epochs", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["config"]["training"]["lr"] == 0.001


def test_a_run_at_chance_level_says_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    lines = ["a,b,label"] + [f"{u:.3f},{v:.3f},{w}" for u, v, w in
                              zip(rng.normal(size=200), rng.normal(size=200),
                                  rng.choice(["p", "q", "r"], 200))]  # fmt: skip
    data = _write(tmp_path / "noise.csv", "\n".join(lines) + "\n")
    code, out, err = _cli(capsys, "train", "--data", data, "--target", "label", "--epochs", "3")
    assert code == 0
    assert "is at chance level" in err and "likely causes" in err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["wine", "iris", "breast_cancer", "diabetes"])
def test_real_tables_train_close_to_scikit_learns_mlp(tmp_path, capsys, name):
    sk = pytest.importorskip("sklearn.datasets")
    nn = pytest.importorskip("sklearn.neural_network")
    load = getattr(sk, f"load_{name}")
    bunch = load(**({"scaled": False} if name == "diabetes" else {}))
    names = [f"f{j}" for j in range(bunch.data.shape[1])]
    target = [str(bunch.target_names[i]) for i in bunch.target] if name in ("wine", "iris") \
        else bunch.target  # fmt: skip
    lines = [",".join(names + ["target"])] + [
        ",".join(f"{v:.6g}" for v in row) + f",{t}" for row, t in zip(bunch.data, target)
    ]
    data = _write(tmp_path / f"{name}.csv", "\n".join(lines) + "\n")
    code, out, err = _cli(capsys, "train", "--data", data, "--target", "target", "--json")
    assert code == 0, err
    result = json.loads(out)
    ds, prep = load_table(data, "target", dtype="float64")
    X = np.vstack([ds.X_train, ds.X_val])
    y = np.concatenate([ds.y_train, ds.y_val])
    if name == "diabetes":
        ref = nn.MLPRegressor(max_iter=500, random_state=0).fit(X, y)
        theirs, ours = ref.score(ds.X_test, ds.y_test), result["test_r2"]
        assert ours > theirs - 0.1, (ours, theirs)
    else:
        ref = nn.MLPClassifier(max_iter=500, random_state=0).fit(X, y)
        theirs = float((ref.predict(ds.X_test) == ds.y_test).mean())
        ours = result["test_accuracy"]
        assert ours >= theirs - 0.07, (ours, theirs)


def test_explain_and_report_apply_the_models_preprocessing(tmp_path, capsys):
    data = _fruit_csv(tmp_path / "fruit.csv", n=200)
    model = tmp_path / "m.npz"
    assert _cli(capsys, "train", "--data", data, "--target", "fruit", "--out", model,
                "--epochs", "3", "-q")[0] == 0  # fmt: skip
    code, out, err = _cli(capsys, "explain", "--model", model, "--input", "red,40,long",
                          "--target", "apple")  # fmt: skip
    assert code == 0, err
    net = dpio.load(model)
    row = Table({"color": ["red"], "size_g": [40.0], "shape": ["long"]})
    x = net.preprocessor.transform(row)[0]
    shown = next(line for line in out.splitlines() if line.startswith("Input x"))
    assert "(" + ", ".join(f"{v:.6f}" for v in x) + ")" in shown
    assert "target y = (1.000000, 0.000000, 0.000000)" in shown  # apple, class 0
    code, out, err = _cli(capsys, "report", model, "--data", data, "-o", tmp_path / "r.html")
    assert code == 0, err
    assert (tmp_path / "r.html").stat().st_size > 1000


def test_the_metadata_checksum_refuses_an_edited_scale_and_old_files_still_load(tmp_path):
    t = _table()
    p = Preprocessor("kind").fit(t)
    net = dp.Network([p.n_inputs, 4, 3], output_activation="softmax", loss="cross_entropy")
    net.preprocessor = p
    net.save(tmp_path / "m.npz")

    def rewrite(change, name):
        return rewrite_metadata(tmp_path / "m.npz", tmp_path / name, change)

    edited = rewrite(lambda m: m["preprocessor"]["columns"][0].update(scale=2.0), "e.npz")
    with pytest.raises(dpio.ModelFileError, match="metadata's SHA-256 differs"):
        dpio.load(edited)
    old = rewrite(lambda m: m["checksum"].pop("metadata"), "old.npz")  # as written before
    assert dpio.load(old).preprocessor.columns[0]["scale"] == p.columns[0]["scale"]


def test_the_report_plots_a_table_regression_in_the_targets_units(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from deltaprop import plots
    from deltaprop._cli_data import model_dataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    price = 5000 + 800 * x + rng.normal(0, 30, 200)
    lines = ["x,price"] + [f"{a:.4f},{b:.2f}" for a, b in zip(x, price)]
    data = _write(tmp_path / "p.csv", "\n".join(lines) + "\n")
    model = tmp_path / "m.npz"
    assert _cli(capsys, "train", "--data", data, "--target", "price", "--out", model,
                "--epochs", "30", "-q")[0] == 0  # fmt: skip
    net = dpio.load(model)
    fig, _ = plots.figures(net, dataset=model_dataset(net, data, None, 0))["predicted"]
    points = fig.axes[0].collections[0].get_offsets()
    assert points[:, 0].min() > 3000 and points[:, 0].max() < 7000  # dollars, not z-scores
    test_prices = price[np.isin(np.round(price, 2), np.round(points[:, 0], 2))]
    assert len(test_prices) == len(points)  # the true values are the file's own


def test_an_unnamed_index_column_written_by_to_csv_is_named_not_learned(tmp_path, capsys):
    data = _write(tmp_path / "t.csv", ",x,y\n0,1.5,a\n1,2.5,b\n2,3.0,a\n3,0.5,b\n4,1.0,a\n")
    code, out, err = _cli(capsys, "train", "--data", data, "--target", "y", "-q")
    assert code == 2 and "column 1 has no name" in err and "index=False" in err


def test_a_resumed_table_run_continues_with_its_own_preprocessing_and_split(tmp_path, capsys):
    """Three epochs, then three more from the checkpoint, equal six epochs in one run: the
    resumed run splits the file by the checkpoint's seed (not the default) and encodes it with
    the checkpoint's preprocessing (not fitted again, here on a file whose values changed)."""
    data = _fruit_csv(tmp_path / "fruit.csv", n=200)
    common = ["--target", "fruit", "--seed", "7", "-q"]
    whole, part, resumed = (tmp_path / f"{k}.npz" for k in ("whole", "part", "resumed"))
    ck = tmp_path / "ck.npz"
    assert _cli(capsys, "train", "--data", data, "--epochs", 6, "--out", whole, *common)[0] == 0
    code, _, err = _cli(capsys, "train", "--data", data, "--epochs", 3, "--checkpoint", ck,
                        "--out", part, *common)  # fmt: skip
    assert code == 0, err
    code, _, err = _cli(capsys, "train", "--resume", ck, "--epochs", 6, "--data", data,
                        "--out", resumed, "-q")  # fmt: skip
    assert code == 0, err
    a, b = dpio.load(whole), dpio.load(resumed)
    np.testing.assert_array_equal(a.parameters, b.parameters)
    assert a.preprocessor.to_dict() == b.preprocessor.to_dict()
    # The same rows with every number doubled: refitting would rescale; resuming must not.
    text = (tmp_path / "fruit.csv").read_text().splitlines()
    doubled = [text[0]] + [
        ",".join(str(2 * float(v)) if v.replace(".", "").isdigit() else v for v in line.split(","))
        for line in text[1:]
    ]
    _write(tmp_path / "doubled.csv", "\n".join(doubled) + "\n")
    again = tmp_path / "again.npz"
    code, out, err = _cli(capsys, "train", "--resume", ck, "--epochs", 8, "--data",
                          tmp_path / "doubled.csv", "--out", again, "--json")  # fmt: skip
    assert code == 0, err
    assert dpio.load(again).preprocessor.to_dict() == dpio.load(part).preprocessor.to_dict()
    # What training scored on its test rows is what the model's own preprocessing gives there.
    test_cost = json.loads(out)["metrics"]["test_cost"]
    code, out, err = _cli(capsys, "evaluate", again, "--data", tmp_path / "doubled.csv",
                          "--split", "test", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["cost"] == pytest.approx(test_cost, rel=1e-6)


def test_resuming_a_table_run_needs_its_data_and_its_own_table_options(tmp_path, capsys):
    data = _fruit_csv(tmp_path / "fruit.csv", n=120)
    ck = tmp_path / "ck.npz"
    code, _, err = _cli(capsys, "train", "--data", data, "--target", "fruit", "--epochs", 2,
                        "--checkpoint", ck, "--out", tmp_path / "m.npz", "-q")  # fmt: skip
    assert code == 0, err
    code, _, err = _cli(capsys, "train", "--resume", ck, "--epochs", 4, "-q")
    assert code == 2
    assert "trained on a table (target 'fruit'" in err and "expected --data FILE" in err
    code, _, err = _cli(capsys, "train", "--resume", ck, "--epochs", 4, "--data", data,
                        "--scale", "minmax", "-q")  # fmt: skip
    assert code == 2 and "--scale minmax conflicts with the checkpoint's 'standard'" in err
    code, _, err = _cli(capsys, "train", "--resume", ck, "--epochs", 4, "--data", data,
                        "--target", "color", "-q")  # fmt: skip
    assert code == 2 and "--target color conflicts with the checkpoint's 'fruit'" in err


def test_inputs_beyond_the_dtypes_range_are_refused_naming_the_column(tmp_path):
    rows = "\n".join(f"{(i + 1) * 1e38},{i % 3},{'pq'[i % 2]}" for i in range(12))
    p = _write(tmp_path / "big.csv", "a,b,y\n" + rows + "\n")
    with pytest.raises(DatasetError, match=r"input 'a' reaches 1\.2e\+39 after preprocessing, "
                       r"beyond float32's range"):  # fmt: skip
        load_table(p, "y", scale="none", validation=0, test=0)
    ds, _ = load_table(p, "y", scale="none", validation=0, test=0, dtype="float64")
    assert np.isfinite(ds.X_train).all() and ds.X_train.max() == 1.2e39
    ds, _ = load_table(p, "y", validation=0, test=0)  # standardized: well within float32
    assert np.isfinite(ds.X_train).all()
