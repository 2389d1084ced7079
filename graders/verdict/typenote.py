"""Type notes: a right value of the wrong type, said in the feedback.

The wire carries values as data (tensors cross as arrays), so a 0-d tensor where the docstring
promises a float, a numpy array where it promises a list, or a bool array where it promises
ints all compare equal to the reference's. The runtime also sends each value's type, coarsely
(:func:`graders.inside.runtime.describe_type`); here it is compared with the reference's, under the
check's policy (``@check(types=...)``):

- ``note`` (the default): another type is accepted and said ("`xs` is a torch tensor where the
  reference's is a list of floats"), at no cost. The one exception is a tensor that still
  requires grad where the reference has a plain value: it keeps the autograd graph of every
  step alive (memory), and numpy and matplotlib refuse it, so it fails the check.
- ``strict``: the type is the lesson; another type fails the check.
- ``ignore``: no notes.

An int is always accepted where the reference has a float (and an int array for a float one),
as Python's numeric tower does; a detached tensor where the reference's requires grad too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

CONTAINERS = ("list", "tuple")
LEAF_MAX = 40


class TypePolicy(enum.StrEnum):
    NOTE = "note"
    STRICT = "strict"
    IGNORE = "ignore"


@dataclass(frozen=True)
class TypeVerdict:
    fails: bool = False
    text: str = ""  # "" when the types agree (or are unknown)


def clean_type(raw: Any, depth: int = 0) -> Any:
    """A type description from the kernel, kept only if well-formed (else None: unknown)."""
    if depth > 6:
        return None
    if isinstance(raw, str):
        return raw[:LEAF_MAX]
    if not isinstance(raw, dict) or len(raw) != 1:
        return None
    ((key, inner),) = raw.items()
    if key in CONTAINERS and isinstance(inner, list):
        return {key: [clean_type(t, depth + 1) for t in inner[:8]]}
    if key == "dict" and isinstance(inner, dict):
        return {
            "dict": {str(k)[:100]: clean_type(t, depth + 1) for k, t in list(inner.items())[:50]}
        }
    return None


def _compatible(e: Any, g: Any) -> bool:
    """Whether ``g`` is an acceptable type where the reference's is ``e``."""
    if e is None or g is None or e == g:
        return True
    if isinstance(e, str) and isinstance(g, str):
        return (e, g) in {("float", "int"), ("array[float]", "array[int]")} or {e, g} == {
            "tensor",
            "tensor+grad",
        }
    if not (isinstance(e, dict) and isinstance(g, dict)) or e.keys() != g.keys():
        return False
    (key, es), (_, gs) = next(iter(e.items())), next(iter(g.items()))
    if key == "dict":
        return all(_compatible(es[k], gs[k]) for k in es.keys() & gs.keys())
    return not es or all(any(_compatible(x, y) for x in es) for y in gs)


def _leaks(e: Any, g: Any) -> bool:
    """Whether ``g`` holds a tensor that requires grad where ``e`` holds none (a dict
    result field by field: a model's weight requires grad in both)."""
    if e is None or g is None:
        return False
    if isinstance(e, dict) and isinstance(g, dict) and "dict" in e and "dict" in g:
        return any(_leaks(e["dict"][k], g["dict"][k]) for k in e["dict"].keys() & g["dict"].keys())
    return _has_grad(g) and not _has_grad(e)


def _has_grad(t: Any) -> bool:
    if t == "tensor+grad":
        return True
    if isinstance(t, dict):
        ((key, inner),) = t.items()
        return any(_has_grad(x) for x in (inner.values() if key == "dict" else inner))
    return False


def _first_difference(e: Any, g: Any, path: str) -> tuple[str, Any, Any] | None:
    """Where the types part first: a dict result's field, else the whole value."""
    if isinstance(e, dict) and isinstance(g, dict) and "dict" in e and "dict" in g:
        for k in e["dict"].keys() & g["dict"].keys():
            found = _first_difference(e["dict"][k], g["dict"][k], k)
            if found:
                return found
        return None
    if not _compatible(e, g) or _leaks(e, g):
        return path, e, g
    return None


_NAMES = {
    "float": ("a float", "floats"),
    "int": ("an int", "ints"),
    "bool": ("a bool", "bools"),
    "str": ("a string", "strings"),
    "None": ("None", "Nones"),
    "tensor": ("a torch tensor", "torch tensors"),
    "tensor+grad": ("a torch tensor that requires grad", "torch tensors that require grad"),
}


def phrase(t: Any, plural: bool = False) -> str:
    """A type description in words: "a list of floats", "a numpy int array"."""
    if isinstance(t, str):
        if t in _NAMES:
            return _NAMES[t][plural]
        if t.startswith("array[") and t.endswith("]"):
            kind = t[6:-1]
            return f"numpy {kind} arrays" if plural else f"a numpy {kind} array"
        return f"{t} objects" if plural else f"a {t}"
    if isinstance(t, dict) and len(t) == 1:
        ((key, inner),) = t.items()
        if key in CONTAINERS:
            items = " and ".join(phrase(x, True) for x in inner if x is not None)
            if plural:
                return f"{key}s of {items}" if items else f"{key}s"
            return f"a {key} of {items}" if items else f"a {key}"
        return "dicts" if plural else "a dict"
    return "values" if plural else "a value"


def judge(policy: TypePolicy, expected: Any, got: Any, label: str) -> TypeVerdict:
    """The type verdict on a value that compared equal to the reference's."""
    if policy is TypePolicy.IGNORE:
        return TypeVerdict()
    found = _first_difference(expected, got, label or "result")
    if found is None:
        return TypeVerdict()
    where, e, g = found
    if _leaks(e, g):
        return TypeVerdict(
            True,
            f"`{where}` is {phrase(g)}: it keeps the autograd graph of every step alive, and "
            "numpy and matplotlib refuse it. Return plain numbers (`loss.item()`) or "
            "detached tensors.",
        )
    if policy is TypePolicy.STRICT:
        return TypeVerdict(True, f"`{where}` is {phrase(g)}; the docstring asks for {phrase(e)}.")
    return TypeVerdict(
        False,
        f"Note: `{where}` is {phrase(g)}; the docstring asks for {phrase(e)} (the values are "
        "right: no points lost).",
    )
