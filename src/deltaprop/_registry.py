"""The registry checks shared by activations and losses: names for user-defined parts."""

from __future__ import annotations

from ._validation import DeltapropError, DeltapropTypeError, _short

__all__ = ["checked_key", "remove", "qualified"]


def qualified(cls) -> str:
    """module.Class: two classes of the same name in different modules differ."""
    return f"{cls.__module__}.{cls.__qualname__}"


def checked_key(cls, base, kind: str, registry: dict, builtin) -> str:
    """The registry key of `cls` (a subclass of `base`) about to be registered, after every check.

    `kind` is "activation" or "loss", `builtin` the names (and aliases) users may not take.
    """
    if not (isinstance(cls, type) and issubclass(cls, base)) or cls is base:
        raise DeltapropTypeError(
            f"register expects a subclass of {base.__name__}; got {_short(cls)}"
        )
    name = vars(cls).get("name")
    if not isinstance(name, str) or not name.strip():
        raise DeltapropError(
            f"{cls.__name__} has no name of its own; set the class attribute name = '...' "
            f"(the name a model file stores for it) before registering"
        )
    key = name.lower()
    if key in builtin:
        raise DeltapropError(
            f"{kind} name {name!r} of {cls.__name__} belongs to a built-in {kind}; "
            f"choose another name"
        )
    old = registry.get(key)
    if old is not None and qualified(old) != qualified(cls):
        raise DeltapropError(
            f"{kind} name {name!r} is already registered to {qualified(old)}; choose "
            f"another name for {qualified(cls)}"
        )
    return key


def remove(name, kind: str, registry: dict, builtin) -> None:
    """Forget the user-defined part registered under `name` (built-ins stay)."""
    key = name.lower() if isinstance(name, str) else name
    if key in builtin or key not in registry:
        raise DeltapropError(f"{kind} {_short(name)} is not a registered user-defined one")
    del registry[key]
