"""Collection of the docstring examples in src/deltaprop (the tests' helpers are in tests/).

A module whose optional dependency is not installed is left out, as its tests skip themselves;
every example runs in a fresh temporary directory, so that it may write files by plain names.
"""

import importlib.util

import pytest

# Relative to this file. (``__main__.py`` runs the command when imported; pytest never collects it.)
collect_ignore = [
    path
    for path, needs in (("src/deltaprop/sklearn.py", "sklearn"),)
    if importlib.util.find_spec(needs) is None
]


@pytest.fixture(autouse=True)
def _examples_run_in_a_temporary_directory(request, monkeypatch):
    if request.node.nodeid.startswith("src/"):
        monkeypatch.chdir(request.getfixturevalue("tmp_path"))
