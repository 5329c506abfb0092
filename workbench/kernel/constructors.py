"""A model class's constructor arguments: which it takes, reading them back from an instance,
and building the class from them.

``config.json`` of a model published without a ``transformers`` config holds the class and
its constructor arguments. PyTorch modules keep most of theirs as attributes of the same name
(``Linear.in_features``, ``LSTM.hidden_size``; ``bias`` as a parameter that is ``None`` or
not), so :func:`read_arguments` takes them from there, and then checks them by building the
class again on the meta device (no memory, no weights): the result must have the same
parameter and buffer shapes, and the same value for every attribute that was read. Whatever
cannot be read or does not check out is reported, never guessed.

>>> read_arguments(torch.nn.Linear(4, 2))                      # doctest: +SKIP
Arguments(found={'in_features': 4, 'out_features': 2}, missing=[], problem=None)
>>> construct(torch.nn.Linear, {"in_features": 4, "out_features": 2})   # doctest: +SKIP
Linear(in_features=4, out_features=2, bias=True)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import InvalidRequest

# Keys of config.json that Workbench writes itself; never constructor arguments.
RESERVED = frozenset({"architectures", "module"})

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_JSON_SCALARS = (bool, int, float, str, type(None))


@dataclass(frozen=True)
class Signature:
    """The named constructor parameters of a class; ``forwarded`` when they belong to a base
    class whose ``__init__`` the class's own one reaches through ``*args``/``**kwargs``."""

    params: list[inspect.Parameter]
    forwarded: bool
    var_keyword: bool


@dataclass
class Arguments:
    """What :func:`read_arguments` found on an instance."""

    found: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # required, not readable
    problem: str | None = None  # why the found ones do not rebuild the module


def signature(cls: type) -> Signature:
    """The named parameters of ``cls``'s constructor, looking through forwarding ``__init__``s
    (``LSTM.__init__(self, *args, **kwargs)`` hands them on to ``RNNBase``)."""
    import torch

    own = inspect.signature(cls.__init__)  # type: ignore[misc]
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in own.parameters.values())
    first: type | None = None
    for klass in cls.__mro__:
        if klass is torch.nn.Module or klass is object:
            break
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        first = first or klass
        params = list(inspect.signature(init).parameters.values())[1:]  # without self
        named = [p for p in params if p.kind in _NAMED]
        if named or not any(p.kind in _VARIADIC for p in params):
            return Signature(named, forwarded=klass is not first, var_keyword=var_keyword)
    return Signature([], forwarded=False, var_keyword=var_keyword)


def required(sig: Signature, given: Mapping[str, Any]) -> list[str]:
    """Names of the parameters without a default that ``given`` lacks."""
    return [p.name for p in sig.params if p.default is p.empty and p.name not in given]


def _as_json(value: Any) -> tuple[bool, Any]:
    """``(True, value)`` as JSON can hold it (tuples and sizes become lists), else ``(False, None)``."""
    if isinstance(value, _JSON_SCALARS):
        return True, value
    if isinstance(value, list | tuple):  # torch.Size is a tuple
        items = [_as_json(v) for v in value]
        if all(ok for ok, _ in items):
            return True, [v for _, v in items]
    return False, None


def _read(model: Any, param: inspect.Parameter) -> tuple[bool, Any]:
    import torch

    if param.name.startswith("_") or not hasattr(model, param.name):
        return False, None
    value = getattr(model, param.name)
    if isinstance(param.default, bool) and (value is None or isinstance(value, torch.Tensor)):
        return True, value is not None  # `bias=True` is kept as a bias parameter, or None
    return _as_json(value)


def _shapes(module: Any) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in module.state_dict(keep_vars=True).items()}


def _same_value(a: Any, b: Any) -> bool:
    ok_a, json_a = _as_json(a)
    ok_b, json_b = _as_json(b)
    if ok_a and ok_b:
        return bool(json_a == json_b)
    return (a is None) == (b is None)  # tensors (bias): present on both or on neither


def _build(cls: type, kwargs: Mapping[str, Any]) -> Any:
    """``cls(**kwargs)`` without allocating memory where the class allows it."""
    import torch

    try:
        with torch.device("meta"):
            return cls(**kwargs)
    except TypeError:
        raise
    except Exception:  # an __init__ that computes on its tensors; build it for real
        return cls(**kwargs)


def _check(model: Any, kwargs: Mapping[str, Any], read: Mapping[str, Any]) -> tuple[bool, str] | None:
    """``None`` if ``type(model)(**kwargs)`` has the model's shapes and the values read, else
    ``(whether it could be built, why not)``."""
    call = f"{type(model).__name__}({_text(kwargs)})"
    try:
        rebuilt = _build(type(model), kwargs)
    except Exception as exc:
        return False, f"{call} fails: {exc}"
    if _shapes(rebuilt) != _shapes(model):
        return True, f"{call} has other parameters or shapes than the model"
    differ = [n for n in read if not _same_value(getattr(rebuilt, n, None), getattr(model, n, None))]
    if differ:
        return True, f"{call} differs from the model in {', '.join(differ)}"
    return None


def read_arguments(model: Any, given: Mapping[str, Any] | None = None) -> Arguments:
    """The constructor arguments of ``model``: those ``given``, and the others read from the
    attributes named like them, checked by rebuilding the class on the meta device."""
    given = dict(given or {})
    sig = signature(type(model))
    read: dict[str, Any] = {}  # every value read, checked against the rebuilt module
    passed: dict[str, Any] = {}  # those to pass: required, or other than the default
    missing: list[str] = []
    for param in sig.params:
        if param.name in given:
            continue
        ok, value = _read(model, param)
        if ok:
            read[param.name] = value
            if param.default is param.empty or not _same_value(value, param.default):
                passed[param.name] = value
        elif param.default is param.empty:
            missing.append(param.name)
    if given and not read and not missing:
        return Arguments(found=given)  # the publisher's own arguments, as before
    if missing:
        return Arguments(found={**given, **passed}, missing=missing)
    # A forwarding __init__ may fill leading base parameters itself (LSTM gives RNNBase its
    # `mode`): leave those out, one more at a time, until the class takes the rest.
    leading = [p.name for p in sig.params if p.kind is p.POSITIONAL_OR_KEYWORD and p.name in passed]
    problems: list[tuple[bool, str]] = []
    for drop in range(len(leading) + 1 if sig.forwarded else 1):
        kwargs = {**given, **{k: v for k, v in passed.items() if k not in leading[:drop]}}
        problem = _check(model, kwargs, read)
        if problem is None:
            return Arguments(found=kwargs)
        problems.append(problem)
    # The telling problem is a module that was built but differs, not a call that failed.
    built = [p for built, p in problems if built]
    return Arguments(found=given, problem=(built or [p for _, p in problems])[0])


def construct(cls: type, config: Mapping[str, Any]) -> Any:
    """``cls`` built from ``config`` (its ``from_config`` classmethod when it has one).

    Raises InvalidRequest (code InvalidConfig) when ``config`` lacks a required argument.
    """
    from_config: Callable[..., Any] | None = getattr(cls, "from_config", None)
    if callable(from_config) and inspect.ismethod(from_config):
        return from_config(dict(config))
    sig = signature(cls)
    if sig.var_keyword:
        kwargs = {k: v for k, v in config.items() if k not in RESERVED}
    else:
        kwargs = {p.name: config[p.name] for p in sig.params if p.name in config}
    # Behind a forwarding __init__ the class fills some base parameters itself; it says
    # what it lacks when called.
    missing = [] if sig.forwarded else required(sig, kwargs)
    if missing:
        raise InvalidRequest(
            f"config.json has no value for {', '.join(missing)}, which {cls.__name__}() needs.",
            code="InvalidConfig",
        )
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise InvalidRequest(
            f"{cls.__name__}({_text(kwargs)}) fails with the arguments in config.json: {exc}",
            code="InvalidConfig",
        ) from exc


def _text(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
