"""The book's SGD gathering mini-batches by rows (RowPairs) trains exactly as reading the pairs.

mnist_loader's training pairs are views of the rows of two matrices and know their rows, so the
fast step gathers a mini-batch with one ``take``. Each test trains twice from the same seeds:
once on such pairs (or a copy of their list) and once on an equal list of separate arrays that
no RowPairs knows, which goes through the pair-by-pair path; the parameters must be identical.
"""

import copy
import gc
import io
import pickle
import random
from contextlib import redirect_stdout

import numpy as np
import pytest

from deltaprop.book import _engine, network, network2
from deltaprop.book._engine import RowPairs, owner_of


def _row_pairs(n=53, n0=6, nL=3, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    X = rng.random((n, n0)).astype(dtype)
    Y = np.zeros((n, nL))
    Y[np.arange(n), rng.integers(0, nL, n)] = 1.0
    return RowPairs(X, Y)


def _separate(pairs):
    """The same pairs as fresh arrays: read one by one by the fast step."""
    return [(x.copy(), y.copy()) for x, y in pairs]


def _train(module, data, seed=5, epochs=3, batch=4, **kwargs):
    np.random.seed(seed)
    random.seed(seed)
    net = module.Network([6, 5, 3], **kwargs)
    args = (data, epochs, batch, 0.5) if module is network else (data, epochs, batch, 0.5, 0.1)
    with redirect_stdout(io.StringIO()):
        net.SGD(*args)
    return net


def _params(net):
    return [a.copy() for a in net.weights + net.biases]


@pytest.mark.parametrize("module", [network, network2])
@pytest.mark.parametrize("copy_list", [False, True])
def test_gathering_rows_trains_as_reading_each_pair(module, copy_list):
    pairs = _row_pairs()
    data = list(pairs) if copy_list else pairs  # the Python 3 habit: list(training_data)
    plain = _separate(pairs)  # before SGD shuffles `pairs` in place
    assert owner_of(data) is pairs and owner_of(plain) is None
    by_rows = _train(module, data)
    by_pairs = _train(module, plain)
    for a, b in zip(_params(by_rows), _params(by_pairs)):
        np.testing.assert_array_equal(a, b)
    assert by_rows._rows is None and by_rows._matrices is None  # only during SGD


def test_a_foreign_pair_in_a_batch_falls_back_to_reading_pairs():
    pairs = _row_pairs()
    mixed = list(pairs) + _separate(_row_pairs(n=7, seed=1))
    plain = _separate(pairs) + _separate(_row_pairs(n=7, seed=1))
    for a, b in zip(_params(_train(network, mixed)), _params(_train(network, plain))):
        np.testing.assert_array_equal(a, b)


def test_changed_inputs_are_seen():
    """The pairs are views: an x changed in place is what the rows path reads."""
    pairs = _row_pairs()
    for x, _ in pairs:
        x[:3] = 0.25
    plain = _separate(pairs)
    for a, b in zip(_params(_train(network, pairs)), _params(_train(network, plain))):
        np.testing.assert_array_equal(a, b)


def test_copies_and_pickles_are_plain_lists_and_a_dead_list_forgets_its_ids():
    pairs = _row_pairs()
    assert type(copy.copy(pairs)) is list and type(pickle.loads(pickle.dumps(pairs))) is list
    unpickled = pickle.loads(pickle.dumps(pairs))
    assert owner_of(unpickled) is None  # new objects, no rows known
    ids = list(pairs.rows)
    assert all(i in _engine._OWNERS for i in ids)
    kept = list(pairs)  # the pairs outlive their RowPairs
    del pairs
    gc.collect()
    assert not any(i in _engine._OWNERS for i in ids)
    assert owner_of(kept) is None


def test_float64_inputs_are_gathered_without_staging(monkeypatch):
    pairs = _row_pairs(dtype=np.float64)
    plain = _separate(pairs)
    staging = []
    real = _engine.BookNetwork._step_buffers

    def spy(self, m):
        step = real(self, m)
        staging.append(step[3])
        return step

    monkeypatch.setattr(_engine.BookNetwork, "_step_buffers", spy)
    by_rows = _train(network, pairs)
    assert staging == [None, None]  # batches of 4 and the last one of 1 (53 = 13 · 4 + 1)
    for a, b in zip(_params(by_rows), _params(_train(network, plain))):
        np.testing.assert_array_equal(a, b)


def test_the_pairs_are_views_of_the_rows():
    pairs = _row_pairs(n=5)
    for i, (x, y) in enumerate(pairs):
        assert x.shape == (6, 1) and y.shape == (3, 1)
        assert np.shares_memory(x, pairs.X[i]) and np.shares_memory(y, pairs.Y[i])
        assert pairs.rows[id(pairs[i])] == i
    labelled = RowPairs(pairs.X, np.arange(5))
    assert [int(label) for _, label in labelled] == [0, 1, 2, 3, 4]
    with pytest.raises(_engine.DeltapropError, match=r"RowPairs takes X of shape"):
        RowPairs(pairs.X, np.zeros(4))


def test_evaluation_gathers_rows_as_well():
    rng = np.random.default_rng(2)
    X = rng.random((2600, 6)).astype(np.float32)  # three blocks of at most 1,000 rows
    labels = rng.integers(0, 3, 2600)
    test = RowPairs(X, labels)
    plain = [(x.copy(), lab) for x, lab in test]
    net = _train(network, _row_pairs())
    assert owner_of(test[100:]) is test
    np.testing.assert_array_equal(net.outputs(test, "t"), net.outputs(plain, "t"))
    np.testing.assert_array_equal(net.outputs(test[7:], "t"), net.outputs(plain[7:], "t"))
    assert net.evaluate(test) == net.evaluate(plain) > 0


def test_following_the_rows_shuffles_as_random_shuffle_does():
    """The positions are shuffled and the pairs put in their order: the same order and the
    same random state as random.shuffle on the list itself."""
    pairs = _row_pairs()
    plain = list(pairs)
    random.seed(11)
    random.shuffle(plain)
    after = random.random()
    net = network.Network([6, 5, 3])
    data = list(pairs)
    random.seed(11)
    with net.training_on(data, follow=True):
        net.shuffle(data)
        assert [id(p) for p in data] == [id(p) for p in plain]
        assert list(net._order) == [pairs.rows[id(p)] for p in data]
        # a list reordered behind its back is looked up again, not trusted
        data.reverse()
        net.shuffle(data)
        assert list(net._order) == [pairs.rows[id(p)] for p in data]
    assert random.random() != after  # two shuffles drew more numbers than one
    random.seed(11)
    with net.training_on(list(pairs), follow=True) as _:
        net.shuffle(list(pairs))
    assert random.random() == after
    assert net._order is None and net._batch_rows is None


def test_each_mini_batch_gets_its_slice_of_the_rows(monkeypatch):
    pairs = _row_pairs()
    seen = []
    real = _engine.BookNetwork._fast_step

    def spy(self, mini_batch, eta, decay=1.0):
        ready = self._batch_rows
        if ready is None:  # pairs no RowPairs knows: nothing followed, nothing looked up
            seen.append(self._rows)
        else:
            assert ready[0] is mini_batch
            seen.append(list(ready[1]) == [pairs.rows[id(p)] for p in mini_batch])
        return real(self, mini_batch, eta, decay)

    monkeypatch.setattr(_engine.BookNetwork, "_fast_step", spy)
    _train(network, list(pairs), epochs=2)
    _train(network2, list(pairs), epochs=2)
    assert len(seen) == 2 * 2 * 14 and all(x is True for x in seen)  # 13 batches of 4, 1 of 1
    seen.clear()
    _train(network, _separate(pairs), epochs=1)
    assert seen == [None] * 14
