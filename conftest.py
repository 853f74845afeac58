"""Collection of the docstring examples in src/deltaprop (the tests' helpers are in tests/).

A module whose optional dependency is not installed is left out, as its tests skip themselves;
every example runs in a fresh temporary directory, so that it may write files by plain names.
"""

import importlib.util

import pytest

# Relative to this file: scripts that run when imported (the examples, the benchmarks; pytest
# never collects ``__main__.py``), and this file, whose module name tests/conftest.py takes.
collect_ignore = ["conftest.py", "examples", "benchmarks"] + [
    path
    for path, needs in (("src/deltaprop/sklearn.py", "sklearn"),)
    if importlib.util.find_spec(needs) is None
]


@pytest.fixture(autouse=True)
def _examples_run_in_a_temporary_directory(request, monkeypatch):
    if request.node.nodeid.startswith("src/"):
        monkeypatch.chdir(request.getfixturevalue("tmp_path"))
