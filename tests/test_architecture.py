"""The package's shape: imports flow one way, functions fit on a screen, modules keep to their
own members, and the parts (activations, losses) are asked rather than switched on.

Every check reads the source with ``ast``, so it sees imports inside functions as well.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "deltaprop"
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = ["deltaprop", *rel.parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """The absolute name of a relative import's base (``from ..x import y`` in `module`)."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def import_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports anywhere in its source (functions included)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = _resolve(name, is_package, node.level, node.module)
                else:
                    base = node.module or ""
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules, or None (depth-first search)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_among_the_package_modules():
    graph = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, " → ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    # callbacks.Checkpoint writes through io; training uses the kernel; the engine is below
    assert "deltaprop.io" in graph["deltaprop.callbacks"]
    assert "deltaprop._kernel" in graph["deltaprop.training"]
    assert "deltaprop.network" in graph["deltaprop.io"]


ENGINE = (
    "activations",
    "losses",
    "network",
    "_kernel",
    "init",
    "gradcheck",
    "_validation",
    "_registry",
    "_provided",
)


@pytest.mark.parametrize("module", ENGINE)
def test_the_engine_imports_numpy_and_engine_modules_only(module):
    path = SRC / f"{module}.py"
    allowed_external = {"numpy", "__future__", "functools", "inspect", "copy", "dataclasses",
                        "numbers", "math", "typing", "os", "collections", "warnings"}  # fmt: skip
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            assert node.module.split(".")[0] in allowed_external, (module, node.module)
        elif isinstance(node, ast.ImportFrom):
            assert node.module in ENGINE or node.module is None, (module, node.module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert alias.name.split(".")[0] in allowed_external, (module, alias.name)


def _functions(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _code_lines(fn) -> int:
    """Lines of a function without its docstring (the documentation may be long)."""
    lines = fn.end_lineno - fn.lineno + 1
    first = fn.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        if isinstance(first.value.value, str):
            lines -= first.end_lineno - first.lineno + 1
    return lines


def test_every_function_fits_on_a_screen():
    too_long = []
    for path in sorted(SRC.rglob("*.py")):
        for fn in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            lines = _code_lines(fn)
            if lines > MAX_FUNCTION_LINES:
                too_long.append(f"{path.relative_to(SRC)}:{fn.lineno} {fn.name} ({lines} lines)")
    assert not too_long, too_long


# Private members of another module's objects: only network.py and the kernel share them.
# scikit-learn's stopping rule is a helper class of the estimators in the same module.
_OWN_PRIVATE = {("sklearn.py", "est")}


def _private_accesses(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr, value = node.attr, node.value
        if not attr.startswith("_") or attr.startswith("__"):
            continue
        if isinstance(value, ast.Name) and value.id in ("self", "cls", *imported):
            continue
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "super":
            continue
        yield node.lineno, ast.unparse(node), getattr(value, "id", None)


def test_no_module_reads_the_private_members_of_another_modules_objects():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel in ("network.py", "_kernel.py"):
            continue
        for line, text, owner in _private_accesses(path):
            if (rel, owner) not in _OWN_PRIVATE:
                found.append(f"{rel}:{line} {text}")
    assert not found, found


def test_the_private_member_scan_sees_an_access(tmp_path):
    bad = tmp_path / "m.py"
    bad.write_text("def f(net):\n    return net._theta\n")
    assert [t for _, t, _ in _private_accesses(bad)] == ["net._theta"]


# No module outside the parts switches on a part's type or name: it asks the part.
_ASKING_MODULES = ("_kernel.py", "network.py", "training.py", "callbacks.py", "diagnostics.py",
                   "explain.py", "_render.py", "trace.py", "gradcheck.py", "init.py")  # fmt: skip


def _part_names():
    from deltaprop.activations import ACTIVATIONS
    from deltaprop.losses import LOSSES

    return set(ACTIVATIONS) | set(LOSSES)


@pytest.mark.parametrize("module", _ASKING_MODULES)
def test_modules_ask_the_parts_instead_of_switching_on_them(module):
    path = SRC / module
    if not path.exists():
        pytest.skip(f"{module} does not exist")
    names = _part_names()
    part_classes = {
        "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Swish", "Softplus", "Softmax",
        "Quadratic", "MSE", "BinaryCrossEntropy", "CrossEntropy",
    }  # fmt: skip
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        # A part's name compared with something, or used as a key of a lookup table
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            operands = [k for k in node.keys if k is not None]
        else:
            operands = []
        for op in operands:
            for const in ast.walk(op):
                if isinstance(const, ast.Constant) and const.value in names:
                    pytest.fail(f"{module}:{const.lineno} switches on part {const.value!r}")
        if isinstance(node, ast.Attribute) and node.attr in part_classes:
            pytest.fail(f"{module}:{node.lineno} refers to part class {node.attr}")
