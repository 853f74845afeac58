"""Network.summary: the layer table, like Keras's model.summary()."""

import pytest

import deltaprop as dp


@pytest.mark.parametrize(
    "sizes, kwargs",
    [
        ([784, 30, 10], {}),
        ([2, 16, 16, 2], {"activation": "tanh", "output_activation": "softmax",
                          "loss": "cross_entropy", "dtype": "float32"}),
        ([4, 5, 6, 3], {"activation": ["relu", "swish"], "output_activation": "identity"}),
    ],
)  # fmt: skip
def test_the_table_lists_every_layer_and_adds_up(sizes, kwargs, capsys):
    net = dp.Network(sizes, **kwargs)
    net.summary()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["layer", "neurons", "activation", "W", "shape", "parameters"]
    rows = [line.split() for line in lines[1:-1]]
    assert [r[-1] for r in rows][0] == "0"
    names = ["input"] + [f"hidden {i}" for i in range(1, len(sizes) - 1)] + ["output"]
    assert [" ".join(r[:2]) if r[0] == "hidden" else r[0] for r in rows] == names
    counts = [int(r[-1].replace(",", "")) for r in rows]
    assert counts[1:] == [n * p + n for p, n in zip(sizes, sizes[1:])]
    assert sum(counts) == net.num_parameters
    acts = [r[-4] for r in rows[1:]]
    assert acts == [a.name for a in net.layer_activations]
    size = net.num_parameters * net.dtype.itemsize
    assert lines[-1].startswith(f"{net.num_parameters:,} parameters ({net.dtype.name}, ")
    assert lines[-1].endswith(f"loss {net.loss.name}")
    assert (f"{size / 1000:.1f} kB" if size >= 1000 else f"{size} B") in lines[-1]


def test_print_fn_receives_the_text():
    got = []
    assert dp.Network([3, 2]).summary(print_fn=got.append) is None
    assert len(got) == 1 and got[0].splitlines()[1].split()[:2] == ["input", "3"]
