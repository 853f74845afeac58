"""Hostile and unusual tables: each case once failed (a traceback, an unloadable model file or a
silent wrong answer) and is now a clear error or the right answer."""

from __future__ import annotations

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import io as dpio
from deltaprop.cli import run
from deltaprop.datasets import DatasetError, Preprocessor, Table


def _write(path, text):
    path.write_text(text)
    return path


def _cli(capsys, *args):
    code = run([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_constant_target_is_refused_instead_of_writing_an_unloadable_model(tmp_path, capsys):
    data = _write(tmp_path / "c.csv", "x,y\n" + "".join(f"{i},7\n" for i in range(20)))
    model = tmp_path / "m.npz"
    code, _, err = _cli(capsys, "train", "--data", data, "--target", "y", "--out", model, "-q")
    assert code == 2
    assert err.startswith("error:") and "one value 7 in every row" in err
    assert "at least two classes" in err and len(err.strip().splitlines()) == 1
    assert not model.exists()
    # a constant number is still a valid regression target (nothing divided by zero)
    t = Table({"x": np.arange(5.0), "y": [7.0] * 5})
    p = Preprocessor("y", task="regression").fit(t)
    assert p.target_scale == 1.0 and np.array_equal(p.encode_target(t), np.zeros(5))


def test_a_category_written_as_numbers_in_the_predict_file_matches_the_training_words(
    tmp_path, capsys
):
    rows = "".join(f"{i},{['1', '2', 'a'][i % 3]},{i % 2}\n" for i in range(30))
    data = _write(tmp_path / "t.csv", "x,c,y\n" + rows)
    model = tmp_path / "m.npz"
    assert _cli(capsys, "train", "--data", data, "--target", "y", "--out", model,
                "--epochs", "2", "-q")[0] == 0  # fmt: skip
    # in this file column c holds only numbers, so it is read as a numeric column
    given = _write(tmp_path / "p.csv", "x,c\n0,1\n1,2\n2,2.0\n")
    code, out, err = _cli(capsys, "predict", model, "--input", given)
    assert code == 0, err
    net = dpio.load(model)
    same = Table({"x": [0.0, 1.0, 2.0], "c": ["1", "2", "2"]})
    expected = net.preprocessor.labels(net.predict(net.preprocessor.transform(same)))
    assert out.split() == [str(v) for v in expected]
    assert np.array_equal(
        net.preprocessor.transform(Table({"x": [0.0], "c": [2.0]})),
        net.preprocessor.transform(Table({"x": [0.0], "c": ["2"]})),
    )


def test_numbers_near_the_float64_limit_are_standardized_without_overflow():
    big = np.array([1e308, -1e308, 5e307, -5e307])
    t = Table({"x": big, "y": [0, 1, 0, 1]})
    p = Preprocessor("y").fit(t)
    spec = p.columns[0]
    # hand-computed: mean 0, std = sqrt((2·1e308² + 2·(5e307)²) / 4) = 1e308·sqrt(0.625)
    assert spec["center"] == pytest.approx(0.0, abs=1e292)
    assert spec["scale"] == pytest.approx(1e308 * np.sqrt(0.625), rel=1e-12)
    X = p.transform(t)
    assert np.allclose(X[:, 0], big / (1e308 * np.sqrt(0.625)))
    assert Preprocessor.from_dict(p.to_dict()).columns == p.columns  # a loadable model
    # a regression target of that size keeps finite scaling too
    r = Preprocessor("x", task="regression").fit(Table({"x": big, "z": np.arange(4.0)}))
    assert r.target_scale == pytest.approx(spec["scale"], rel=1e-12)


def test_a_range_beyond_float64_or_a_value_too_far_to_scale_is_an_error_naming_it():
    t = Table({"x": np.array([1e308, -1e308]), "y": [0, 1]})
    with pytest.raises(DatasetError, match="column 'x' spans -1e\\+308 to 1e\\+308"):
        Preprocessor("y", scale="minmax").fit(t)
    p = Preprocessor("y").fit(Table({"x": [0.0, 1e-300, 2e-300], "y": [0, 1, 0]}))
    with pytest.raises(DatasetError, match="row 1, column 'x': 1e\\+300 is too far"):
        p.transform(Table({"x": [0.0, 1e300]}))


def _forged(tmp_path, change):
    """A model file whose preprocessor entry is edited, with the metadata checksum recomputed
    (as a forger would), so that only the schema check can refuse it."""
    import json
    import zipfile

    t = Table({"size": [1.0, 3.0, 5.0, 2.0], "color": ["red", "blue", "red", "g"],
               "kind": ["a", "b", "c", "a"]})  # fmt: skip
    p = Preprocessor("kind").fit(t)
    net = dp.Network([p.n_inputs, 4, 3], output_activation="softmax", loss="cross_entropy")
    net.preprocessor = p
    net.save(tmp_path / "m.npz")
    with zipfile.ZipFile(tmp_path / "m.npz") as zin:
        with zipfile.ZipFile(tmp_path / "f.npz", "w") as zout:
            for info in zin.infolist():
                data = zin.read(info)
                if info.filename == "metadata.json":
                    meta = json.loads(data)
                    change(meta["preprocessor"], meta)
                    meta["checksum"]["metadata"] = dpio.metadata_digest(meta)
                    data = json.dumps(meta).encode()
                zout.writestr(info, data)
    return tmp_path / "f.npz"


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda p, m: m.update(preprocessor=[1]), "it is a list; expected an object"),
        (lambda p, m: p["columns"].__setitem__(0, [1]), "column \\[1\\] is not an object"),
        (lambda p, m: p["columns"][1].update(name="size"), "repeat a name or hold the target"),
        (lambda p, m: p.update(target="size"), "repeat a name or hold the target"),
        (lambda p, m: p.update(classes=["a", "a", "c"]), "names one class twice"),
        (lambda p, m: p.update(classes=[1, "1", "c"]), "names one class twice"),
        (lambda p, m: p.update(classes=[True, False, "c"]), "not labels"),
        (lambda p, m: p.update(classes=[float("nan"), "b", "c"]), "not labels"),
        (lambda p, m: p["columns"][1].update(fill="zzz"), "fill value not among"),
        (lambda p, m: p["columns"][0].update(scale=True), "invalid scale"),
        (lambda p, m: p.update(target_scale=-1.0), "target_scale is -1.0"),
        (lambda p, m: p["columns"][0].update(kind="text"), "no 'categories' entry"),
    ],
)
def test_a_forged_preprocessor_entry_is_refused_by_its_schema(tmp_path, change, expected):
    with pytest.raises(dpio.ModelFileError, match="stored preprocessor description is malformed"):
        dpio.load(_forged(tmp_path, change))
    with pytest.raises(dpio.ModelFileError, match=expected):
        dpio.load(_forged(tmp_path, change))


def test_a_target_series_named_like_a_feature_column_is_refused_not_swapped_in():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"a": np.arange(8.0), "f": np.linspace(0, 1, 8), "c": ["u", "v"] * 4})
    y = pd.Series(["p", "q"] * 4, name="f")
    net = dp.Network([4, 3, 1], output_activation="sigmoid", loss="binary_cross_entropy")
    with pytest.raises(dp.DeltapropError, match="y is named 'f' like a column of X"):
        net.fit(X, y, epochs=1)
    # the target column itself, passed as y, is the same column: accepted
    Xy = X.assign(kind=y.to_numpy())
    net = dp.Network([4, 3, 1], output_activation="sigmoid", loss="binary_cross_entropy")
    net.fit(Xy, Xy["kind"], epochs=1)
    assert net.preprocessor.features == ["a", "f", "c"] and net.preprocessor.classes == ["p", "q"]


def test_a_date_column_of_a_dataframe_is_refused_naming_it():
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame({"a": np.arange(6.0), "when": pd.date_range("2020-01-01", periods=6)})
    with pytest.raises(DatasetError, match="column 'when' holds dates or durations"):
        Table.from_frame(X)
