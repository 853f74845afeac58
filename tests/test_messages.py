"""Messages in the user's terms: the value as given, the command's options, one rule for
output directories."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import deltaprop as dp
from deltaprop.cli import run


def test_a_uint64_label_is_reported_as_given_not_wrapped_to_minus_one():
    net = dp.Network([2, 3, 4])
    with pytest.raises(dp.DeltapropError, match="class label 18446744073709551615"):
        net.fit(np.zeros((1, 2)), np.array([2**64 - 1], dtype=np.uint64), epochs=1)


def test_the_estimator_names_a_value_beyond_float32_without_a_cast_warning():
    sk = pytest.importorskip("deltaprop.sklearn")
    X = np.array([[1e300, 0.0], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail here
        with pytest.raises(dp.DeltapropError, match=r"1e\+300 .*beyond the range of float32"):
            sk.MLPClassifier(dtype="float32").fit(X, [0, 1])


def test_a_table_too_small_to_split_says_how_many_rows_it_needs(tmp_path, capsys):
    data = tmp_path / "two.csv"
    data.write_text("a,y\n1,0\n2,1\n")
    assert run(["train", "--data", str(data), "--target", "y"]) == 2
    err = capsys.readouterr().err
    assert "2 row(s) cannot be split" in err and "at least 3 rows" in err
    assert "validation=" not in err  # an argument the command does not have


def test_every_output_needs_an_existing_parent_directory(tmp_path, capsys):
    missing = tmp_path / "absent"
    for args in (
        ["train", "--epochs", "1", "--out", str(missing / "m.npz")],
        ["train", "--epochs", "1", "--plots", str(missing / "plots")],
        ["explain", "--out", str(missing / "x.txt")],
    ):
        assert run(args) == 2, args
        assert "does not exist" in capsys.readouterr().err
    assert not missing.exists()
    pytest.importorskip("matplotlib")
    assert run(["train", "--epochs", "1", "-q", "--plots", str(tmp_path / "plots")]) == 0
    assert (tmp_path / "plots").is_dir()  # a directory output itself is created, like mkdir
