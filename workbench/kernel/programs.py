"""``torch.export`` programs: export with a dynamic batch, and load only what is safe to load.

``torch.export.load`` is not safe on files from others: it unpickles (``torch.load(...,
weights_only=False)`` for tensors saved with pickle, ``pickle.loads`` for opaque objects, a
fallback to ``weights_only=False`` for the sample inputs), it hands expression strings from the
archive to ``sympy.sympify`` (which evaluates them), and ``ExportedProgram.module()`` executes
the archive's ``guards_code`` as Python. So before loading, :func:`vet_program` checks the
archive against what ``torch.export.save`` writes for a plain model: an allowlist of members,
no pickled payloads or custom objects, graph targets that are ATen/prims operators, symbolic
expressions and guards in a narrow grammar; the sample inputs are then read with
``weights_only`` forced on.

>>> program = export_program(model, torch.randn(8, 4))        # doctest: +SKIP
>>> module = load_program(Path("model.pt2"))                   # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from workbench.errors import InvalidRequest

PROGRAM_FILE = "model.pt2"

_MEMBERS = re.compile(
    r"^(archive_format|archive_version|byteorder|\.data/[A-Za-z_]+|"
    r"models/model\.json|data/weights/model_weights_config\.json|"
    r"data/weights/weight_\d+|data/constants/model_constants_config\.json|"
    r"data/constants/tensor_\d+|data/sample_inputs/model\.pt|"
    r"extra/[A-Za-z0-9_.\-]+)$"
)
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_TARGET = re.compile(
    rf"^(torch\.ops\.(aten|prims)\.{_IDENT}\.{_IDENT}|"
    r"torch\.sym_(not|int|float|ite|max|min|sqrt)|math\.(trunc|ceil|floor|sqrt)|"
    r"_operator\.(getitem|add|sub|mul|floordiv|truediv|mod|pow|neg|pos|eq|ne|lt|le|gt|ge|"
    r"and_|or_|lshift|rshift))$"
)
_SYMPY_NAMES = frozenset(
    (
        "Symbol",
        "Integer",
        "Rational",
        "Float",
        "Max",
        "Min",
        "Eq",
        "Ne",
        "Lt",
        "Le",
        "Gt",
        "Ge",
        "And",
        "Or",
        "Not",
        "Abs",
        "Mul",
        "Add",
        "Pow",
        "True",
        "False",
        "oo",
        "int_oo",
        "nan",
        "FloorDiv",
        "ModularIndexing",
        "Where",
        "PythonMod",
        "Mod",
        "CleanDiv",
        "CeilToInt",
        "FloorToInt",
        "CeilDiv",
        "LShift",
        "RShift",
        "PowByNatural",
        "FloatPow",
        "FloatTrueDiv",
        "IntTrueDiv",
        "IsNonOverlappingAndDenseIndicator",
        "TruncToFloat",
        "TruncToInt",
        "RoundToInt",
        "RoundDecimal",
        "ToFloat",
        "Identity",
        "sqrt",
        "floor",
        "ceiling",
        "positive",
        "negative",
        "nonnegative",
        "nonpositive",
        "integer",
        "real",
        "finite",
    )
)
_EXPR_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)"
    r"|(?P<str>'[a-z]+\d+')|(?P<op>\*\*|//|<=|>=|==|!=|[-+*/%(),=<>&|~]))"
)
_SYMBOL = re.compile(r"^[a-z]+\d+$")
_GUARD_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+)|(?P<input>L\['[A-Za-z_]\w*'\])|"
    r"(?P<method>\.(size|stride)\(\))|(?P<index>\[\d+\])|"
    r"(?P<word>and|or|not)\b|(?P<op>//|<=|>=|==|!=|[-+*%()<>]))"
)


def _refuse(path: Path, why: str) -> InvalidRequest:
    return InvalidRequest(
        f"Refusing to load {path.name}: {why}. Workbench loads only torch.export programs of "
        "plain models (ATen operators, weights without pickle); load the model from its "
        "safetensors weights and class instead.",
        code="UnsafeProgram",
    )


def _tokens_ok(text: str, pattern: re.Pattern[str], names: frozenset[str] | None) -> bool:
    pos = 0
    while pos < len(text):
        m = pattern.match(text, pos)
        if m is None or m.end() == pos:
            return text[pos:].strip() == ""
        name = m.groupdict().get("name")
        if name is not None and names is not None and name not in names and not _SYMBOL.match(name):
            return False
        pos = m.end()
    return True


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def vet_program(path: Path) -> None:
    """Raise InvalidRequest (code UnsafeProgram) unless the archive is safe to load."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise _refuse(path, "it is not a torch.export archive") from None
    with archive:
        names = archive.namelist()
        roots = {n.split("/", 1)[0] for n in names}
        if len(roots) != 1 or any("/" not in n for n in names):
            raise _refuse(path, "its members are not under one root folder")
        root = roots.pop() + "/"
        for name in names:
            if not _MEMBERS.match(name[len(root) :]):
                raise _refuse(
                    path,
                    f"it holds {name[len(root) :]!r}, which torch.export.save "
                    "does not write for a plain model",
                )

        def read_json(member: str) -> Any:
            try:
                return json.loads(archive.read(root + member))
            except (KeyError, ValueError):
                raise _refuse(path, f"{member} is missing or not JSON") from None

        for member, prefix in (
            ("data/weights/model_weights_config.json", "weight_"),
            ("data/constants/model_constants_config.json", "tensor_"),
        ):
            for fqn, payload in (read_json(member).get("config") or {}).items():
                if (
                    not isinstance(payload, dict)
                    or payload.get("use_pickle")
                    or not str(payload.get("path_name", "")).startswith(prefix)
                ):
                    raise _refuse(path, f"{fqn!r} is stored with pickle or as a custom object")
        program = read_json("models/model.json")
        for guard in program.get("guards_code") or []:
            if not isinstance(guard, str) or not _tokens_ok(guard, _GUARD_TOKEN, None):
                raise _refuse(path, f"its guard code {str(guard)[:80]!r} is not a plain shape check")
        for key, value in _walk(program):
            if key == "target" and isinstance(value, str) and not _TARGET.match(value):
                raise _refuse(path, f"its graph calls {value[:80]!r}")
            if key == "expr_str" and (
                not isinstance(value, str) or not _tokens_ok(value, _EXPR_TOKEN, _SYMPY_NAMES)
            ):
                raise _refuse(path, f"it holds the expression {str(value)[:80]!r}")


@contextmanager
def _weights_only() -> Iterator[None]:
    """Force ``torch.load`` into ``weights_only`` mode, even where a caller asks otherwise."""
    old = os.environ.get("TORCH_FORCE_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TORCH_FORCE_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = old


def load_program(path: Path) -> Any:
    """The module of a vetted ``torch.export`` archive (in eval mode: exported that way)."""
    import torch

    vet_program(path)
    with _weights_only():
        try:
            program = torch.export.load(str(path))
        except Exception as exc:
            raise _refuse(path, f"torch.export.load failed ({exc})") from exc
    module = program.module()
    for sub in module.modules():  # .eval() is refused on exported modules; they are in eval
        sub.training = False
    return module


# -- export ----------------------------------------------------------------------------------


def _as_args(example_inputs: Any) -> tuple[Any, ...]:
    import torch

    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    tensors = [a for a in args if isinstance(a, torch.Tensor)]
    if not tensors or any(t.ndim == 0 for t in tensors):
        raise InvalidRequest(
            "example_inputs must be a tensor or a tuple of tensors with a batch "
            "dimension first, e.g. torch.randn(8, 4).",
            code="InvalidExample",
        )
    if len({t.shape[0] for t in tensors}) != 1:
        raise InvalidRequest(
            "All example input tensors must have the same batch size (dimension 0).", code="InvalidExample"
        )
    return args


def _grow_batch(args: tuple[Any, ...], size: int) -> tuple[Any, ...]:
    import torch

    def grow(t: Any) -> Any:
        if not isinstance(t, torch.Tensor):
            return t
        reps = -(-size // t.shape[0])
        return torch.cat([t] * reps)[:size]

    return tuple(grow(a) for a in args)


def export_program(model: Any, example_inputs: Any, path: Path) -> None:
    """Export ``model`` (in eval mode) with a dynamic batch dimension to ``path``, and check
    that the saved program loads and gives the model's outputs at another batch size."""
    import torch

    args = _as_args(example_inputs)
    batch = (
        args[0].shape[0]
        if isinstance(args[0], torch.Tensor)
        else next(a for a in args if isinstance(a, torch.Tensor)).shape[0]
    )
    if batch < 2:  # sizes 0 and 1 are specialised by torch.export, so trace with 2
        args, batch = _grow_batch(args, 2), 2
    dim = torch.export.Dim("batch", min=1)
    shapes = tuple({0: dim} if isinstance(a, torch.Tensor) else None for a in args)
    was_training = model.training
    model.eval()
    try:
        try:
            program = torch.export.export(model, args, dynamic_shapes=shapes)
        except Exception as exc:
            raise InvalidRequest(
                f"torch.export could not export {type(model).__name__} with a dynamic batch "
                f"dimension: {exc}. Publish without example_inputs to skip the program.",
                code="ExportFailed",
            ) from exc
        torch.export.save(program, str(path))
        other = _grow_batch(args, batch + 1)
        loaded = load_program(path)
        with torch.no_grad():
            want, got = model(*other), loaded(*other)
        if not _same(want, got):
            raise InvalidRequest(
                f"The exported program of {type(model).__name__} does not give "
                f"the model's outputs at batch size {batch + 1}.",
                code="ExportFailed",
            )
    finally:
        model.train(was_training)


def _same(a: Any, b: Any) -> bool:
    import torch

    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and bool(torch.allclose(a, b, rtol=1e-4, atol=1e-5))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)
