"""User-defined activations and losses survive a model file once registered.

``deltaprop.activations.register`` / ``deltaprop.losses.register`` put a class into the same
registry as the built-in parts; ``deltaprop.load`` rebuilds each part from the config saved with
the model by looking its name up there, and never imports anything a file names.
"""

import builtins
import importlib
import sys

import numpy as np
import pytest

import deltaprop as dp
from deltaprop import activations, losses


@pytest.fixture(autouse=True)
def clean_registries():
    """Each test starts and ends with the built-in parts only."""
    saved_a, saved_l = dict(activations.ACTIVATIONS), dict(losses.LOSSES)
    yield
    activations.ACTIVATIONS.clear()
    activations.ACTIVATIONS.update(saved_a)
    losses.LOSSES.clear()
    losses.LOSSES.update(saved_l)


def _cube_class():
    class Cube(activations.Activation):
        name = "cube"

        def forward(self, z, out=None):
            return np.power(z, 3, out=out)

        def derivative(self, z, a):
            return 3.0 * z * z

    return Cube


class ScaledTanh(activations.Activation):
    """σ(z) = s·tanh(z), with its parameter s in the config."""

    name = "scaled_tanh"

    def __init__(self, scale=1.0):
        self.scale = float(scale)

    def forward(self, z, out=None):
        out = np.tanh(z, out=out)
        out *= self.scale
        return out

    def derivative(self, z, a):
        return self.scale * (1.0 - (a / self.scale) ** 2)

    def config(self):
        return {"name": self.name, "scale": self.scale}


class Huber(losses.Loss):
    """C_x = Σ_j h(a_j − y_j), h(d) = ½d² for |d| ≤ δ, else δ(|d| − ½δ)."""

    name = "huber"

    def __init__(self, delta=1.0):
        self.delta = float(delta)

    def value(self, a, y):
        d = np.abs(a - y)
        quad = np.minimum(d, self.delta)
        return (0.5 * quad**2 + self.delta * (d - quad)).sum(axis=1)

    def gradient(self, a, y):
        return np.clip(a - y, -self.delta, self.delta)

    def config(self):
        return {"name": self.name, "delta": self.delta}


def _data(rng, n_in=3, n_out=2, m=7):
    return rng.normal(size=(m, n_in)), rng.normal(size=(m, n_out))


# ----------------------------------------------------------------------------- round trips


def test_a_registered_activation_survives_save_and_load(tmp_path, rng):
    Cube = activations.register(_cube_class())
    net = dp.Network([3, 4, 2], activation=Cube(), output_activation="identity", seed=1)
    X, _ = _data(rng)
    net.save(tmp_path / "cube.npz")
    back = dp.load(tmp_path / "cube.npz")
    assert type(back.layer_activations[0]) is Cube
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    # and by name, like a built-in
    assert dp.Network([3, 2], activation="cube").layer_activations[0] == Cube()


def test_parameters_of_registered_parts_come_back_from_their_config(tmp_path, rng):
    activations.register(ScaledTanh)
    losses.register(Huber)
    net = dp.Network(
        [3, 5, 2], activation=ScaledTanh(2.5), output_activation="identity",
        loss=Huber(0.3), seed=2,
    )  # fmt: skip
    X, Y = _data(rng)
    net.save(tmp_path / "m.npz")
    back = dp.load(tmp_path / "m.npz")
    assert back.layer_activations[0].scale == 2.5
    assert isinstance(back.loss, Huber) and back.loss.delta == 0.3
    assert back.cost(X, Y) == net.cost(X, Y)
    np.testing.assert_array_equal(back.backprop(X, Y).weights[0], net.backprop(X, Y).weights[0])
    # the loss's parameters reach it through get's config dict as well
    assert losses.get({"name": "huber", "delta": 4.0}).delta == 4.0


def test_a_registered_part_trains_after_loading(tmp_path, rng):
    activations.register(ScaledTanh)
    net = dp.Network([3, 4, 2], activation=ScaledTanh(0.5), output_activation="identity", seed=3)
    net.save(tmp_path / "m.npz")
    back = dp.load(tmp_path / "m.npz")
    X, Y = _data(rng, m=12)
    before = back.cost(X, Y)
    back.fit(X, Y, epochs=20, batch_size=4, lr=0.05, seed=0)
    assert back.cost(X, Y) < before


# ----------------------------------------------------------------------------- not registered


@pytest.mark.parametrize("kind", ["activation", "loss"])
def test_an_unregistered_part_is_named_with_how_to_register_it(tmp_path, kind):
    if kind == "activation":
        activations.register(ScaledTanh)
        net = dp.Network([2, 3, 1], activation=ScaledTanh(2.0), output_activation="identity")
        net.save(tmp_path / "m.npz")
        activations.unregister("scaled_tanh")
        fragments = ["layer 1's activation is 'scaled_tanh'", "@deltaprop.activations.register"]
    else:
        losses.register(Huber)
        dp.Network([2, 1], activation="identity", loss=Huber()).save(tmp_path / "m.npz")
        losses.unregister("huber")
        fragments = ["the loss is 'huber'", "@deltaprop.losses.register"]
    with pytest.raises(dp.ModelFileError) as info:
        dp.load(tmp_path / "m.npz")
    message = str(info.value)
    assert message.startswith(str(tmp_path / "m.npz"))
    for fragment in fragments:
        assert fragment in message
    assert "never imports code named by a file" in message


def test_loading_never_imports_what_a_file_names(tmp_path, monkeypatch):
    class Dotted(activations.Activation):
        name = "evil_module_xyz.Part"

        def forward(self, z, out=None):
            return np.copyto(out, z) if out is not None else z.copy()

        def derivative(self, z, a):
            return np.ones_like(z)

    activations.register(Dotted)
    dp.Network([2, 1], activation=Dotted()).save(tmp_path / "m.npz")
    activations.unregister("evil_module_xyz.Part")
    imported = []
    real_import, real_import_module = builtins.__import__, importlib.import_module

    def spy_import(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    def spy_import_module(name, *args, **kwargs):
        imported.append(name)
        return real_import_module(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", spy_import)
    monkeypatch.setattr(importlib, "import_module", spy_import_module)
    with pytest.raises(dp.ModelFileError, match="'evil_module_xyz.Part'"):
        dp.load(tmp_path / "m.npz")
    assert not [name for name in imported if "evil" in name]
    assert "evil_module_xyz" not in sys.modules


# ----------------------------------------------------------------------------- the decorator


def test_the_decorator_returns_the_class_and_get_finds_it():
    Cube = _cube_class()
    assert activations.register(Cube) is Cube
    assert activations.is_known("cube") and activations.is_known("CUBE")
    assert isinstance(activations.get("cube"), Cube)
    assert isinstance(activations.get({"name": "cube"}), Cube)
    assert "cube" in str(pytest.raises(ValueError, activations.get, "cubic").value)
    assert losses.register(Huber) is Huber and losses.is_known("huber")


def test_registering_the_same_class_again_replaces_it():
    first = activations.register(_cube_class())
    second = activations.register(_cube_class())  # same module and qualified name: a re-run
    assert first is not second and activations.ACTIVATIONS["cube"] is second


@pytest.mark.parametrize(
    "module, target, message",
    [
        (activations, 42, "register expects a subclass of Activation; got 42"),
        (activations, activations.Activation, "expects a subclass of Activation"),
        (activations, losses.Quadratic, "expects a subclass of Activation"),
        (losses, activations.Sigmoid, "register expects a subclass of Loss"),
        (losses, losses.Loss, "expects a subclass of Loss"),
    ],
)
def test_only_subclasses_register(module, target, message):
    with pytest.raises(TypeError, match=message):
        module.register(target)


def test_a_class_needs_a_name_of_its_own():
    class Unnamed(activations.Activation):
        pass

    class Inherits(activations.Sigmoid):  # name "sigmoid" is its parent's
        pass

    for cls in (Unnamed, Inherits):
        with pytest.raises(ValueError, match=f"{cls.__name__} has no name of its own"):
            activations.register(cls)


@pytest.mark.parametrize("name", ["sigmoid", "Linear", "relu"])
def test_built_in_activation_names_are_refused(name):
    cls = type("Mine", (activations.Identity,), {"name": name})
    with pytest.raises(ValueError, match=f"'{name}' of Mine belongs to a built-in activation"):
        activations.register(cls)
    assert activations.ACTIVATIONS[name.lower()].__module__ == "deltaprop.activations"


@pytest.mark.parametrize("name", ["quadratic", "bce", "cross_entropy"])
def test_built_in_loss_names_and_aliases_are_refused(name):
    cls = type("Mine", (losses.Quadratic,), {"name": name})
    with pytest.raises(ValueError, match=f"'{name}' of Mine belongs to a built-in loss"):
        losses.register(cls)


def test_a_name_taken_by_another_class_is_refused():
    activations.register(_cube_class())
    Other = type("Other", (activations.Identity,), {"name": "cube"})
    with pytest.raises(ValueError, match=r"'cube' is already registered to .*Cube; choose"):
        activations.register(Other)


def test_unregister_forgets_user_parts_only():
    activations.register(_cube_class())
    activations.unregister("Cube")
    assert not activations.is_known("cube")
    for module, name in ((activations, "sigmoid"), (losses, "quadratic"), (losses, "nope")):
        with pytest.raises(ValueError, match="is not a registered user-defined one"):
            module.unregister(name)
    assert activations.is_known("sigmoid") and losses.is_known("quadratic")


def test_parameters_a_part_does_not_accept_are_named():
    losses.register(Huber)
    with pytest.raises(ValueError, match=r"loss 'huber' got parameters \{'width': 2\}"):
        losses.get({"name": "huber", "width": 2})
    with pytest.raises(ValueError, match=r"Quadratic accepts no parameters"):
        losses.get({"name": "quadratic", "delta": 1.0})
