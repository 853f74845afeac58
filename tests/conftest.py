"""Shared fixtures for the engine's tests."""

import contextlib
import warnings

import numpy as np
import pytest


@contextlib.contextmanager
def _strict_numerics():
    # Overflow, division by zero and invalid operations (inf − inf, 0/0, log of a negative) raise
    # instead of warning; any other warning becomes an error too. Underflow is left alone: a value
    # such as e^{-1000} rounding to 0 is the correct limit, not an error.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            yield


@pytest.fixture
def strict_numerics():
    """A context manager factory: ``with strict_numerics(): ...`` fails on any FP warning."""
    return _strict_numerics


@pytest.fixture
def rng():
    """A fresh, seeded generator per test."""
    return np.random.default_rng(20240607)
