"""Code that runs *inside* the student's kernel (sent as source; this package is not there).

It must stay self-contained (standard library plus numpy, torch where present) and is
executed once, before the submission's first cell, so that it captures ``json.dumps`` and
friends before student code can patch them. Nothing here decides a verdict: it only runs a
probe and encodes what the probe returned as data (see ``graders/verdict/codec.py``).
Student code can tamper with this object, and then at worst its own probe results are garbage;
the expected values are never in the kernel.
"""

from __future__ import annotations

import base64 as _base64
import json as _json
import linecache as _linecache
import os as _os
import sys as _sys
import traceback as _traceback
from typing import Any

_dumps = _json.dumps
_loads = _json.loads
_b64 = _base64.b64encode
_ALLOWED_KINDS = "fiubc"  # complex crosses as a numeric array too, never as a scalar
_PLAIN = (bool, int, float, str)  # bool first: a bool is an int
# The wire format's markers (graders/verdict/codec.py decodes them).
ARRAY_KEY = "__ndarray__"
OPAQUE_KEY = "__opaque__"
TUPLE_KEY = "__tuple__"
_LIB_DIRS = tuple(
    {p for p in (_sys.prefix, _sys.base_prefix, _sys.exec_prefix) if p}
    | {_os.path.dirname(_os.__file__)}
)
# This module's own folder, where it is a file (the self-check wheel's ``_graders/``, the
# harness's package): its frames are the harness's, never the student's.
_OWN_DIR = _os.path.dirname(_os.path.abspath(__file__)) + _os.sep if "__file__" in globals() else ""


class Missing(Exception):
    """The student's namespace lacks a name the probe asked for."""


class StudentNamespace:
    """What a probe sees as ``student``: attribute access into the submission's globals."""

    def __init__(self, ns: dict[str, Any]) -> None:
        object.__setattr__(self, "_ns", ns)

    def __getattr__(self, name: str) -> Any:
        ns = object.__getattribute__(self, "_ns")
        if name not in ns:
            raise Missing(name)
        return ns[name]

    def has(self, name: str) -> bool:
        return name in object.__getattribute__(self, "_ns")


class Context:
    """What a probe gets as ``ctx``: its seed, its device, and helpers."""

    def __init__(self, seed: int, device: str, params: dict[str, Any]) -> None:
        self.seed = seed
        self.device = device
        self.params = params
        self.cases: dict[str, dict[str, Any]] | None = None  # set by case()

    def case(self, name: str, func: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one case of a check on its own: ``func(*args, **kwargs)`` (a student's
        function, or a lambda calling it). Its value is recorded as case ``name``; an
        exception costs this case only, and is recorded in its place. Returns the value, or
        None when it raised. A stub that is not defined at all still fails the whole check."""
        if self.cases is None:
            self.cases = {}
        key = str(name)
        try:
            value = func(*args, **kwargs)
            self.cases[key] = _value_result(value)
            return value
        except (Missing, KeyboardInterrupt):
            raise
        except NotImplementedError as exc:
            self.cases[key] = {"kind": "not_implemented", "error": _describe(exc)}
        except BaseException as exc:  # SystemExit too: the student's, not ours
            self.cases[key] = {"kind": "error", "error": _describe(exc)}
            if _out_of_memory(exc):
                _free_memory()
        return None

    def hidden_file(self, name: str) -> bytes:
        """A file of the assignment's hidden_data/ that this check declared (``files=``)."""
        import base64

        files = self.params.get("files", {})
        if name not in files:
            raise KeyError(f"{name!r} is not among this check's files= {sorted(files)}")
        return base64.b64decode(files[name])

    def rng(self) -> Any:
        import numpy as np

        return np.random.default_rng(self.seed)

    def manual_seed(self) -> None:
        import random

        random.seed(self.seed)
        try:
            import numpy as np

            np.random.seed(self.seed % 2**32)
        except ImportError:
            pass
        if "torch" in _sys.modules:
            _sys.modules["torch"].manual_seed(self.seed)


def encode_value(v: Any, other: Any = None, depth: int = 0) -> Any:
    """``v`` as JSON-ready data: numbers, strings, lists, dicts; numeric arrays and tensors
    as base64 arrays, tuples marked. Anything else goes to ``other`` (default: an opaque
    type name and short repr). The harness encodes reference values with this same code."""
    if depth > 30:
        raise ValueError("value nested too deeply")
    if v is None or isinstance(v, (bool, str, int, float)):
        return v
    np = _sys.modules.get("numpy")
    torch = _sys.modules.get("torch")
    if torch is not None and isinstance(v, torch.Tensor):
        v = v.detach().cpu()
        if v.dtype == torch.bfloat16:
            v = v.float()
        v = v.numpy()
    if np is not None:
        if isinstance(v, complex):
            v = np.complex128(v)
        if isinstance(v, np.generic):
            v = np.asarray(v)
            if v.dtype.kind in "fiub":
                return v.item()
        if isinstance(v, np.ndarray):
            if v.dtype.kind in "UO":  # strings as strings, objects item by item
                return encode_value(v.tolist(), other, depth + 1)
            if v.dtype.kind == "c" and v.dtype.itemsize > 16:
                v = v.astype(np.complex128)
            if v.dtype.kind not in _ALLOWED_KINDS:
                return _opaque(v, f"array of dtype {v.dtype}")
            a = np.array(v, order="C", copy=True)  # not ascontiguousarray: it makes 0-d 1-d
            spec = {"dtype": a.dtype.str, "shape": list(a.shape)}
            return {ARRAY_KEY: {**spec, "data": _b64(a.tobytes()).decode("ascii")}}
    if isinstance(v, tuple):
        return {TUPLE_KEY: [encode_value(x, other, depth + 1) for x in v]}
    if isinstance(v, list):
        return [encode_value(x, other, depth + 1) for x in v]
    if isinstance(v, dict):
        return {str(k): encode_value(x, other, depth + 1) for k, x in v.items()}
    return (other or _opaque)(v)


def _value_result(value: Any) -> dict[str, Any]:
    return {"kind": "value", "value": encode_value(value), "type": describe_type(value)}


def describe_type(v: Any, depth: int = 0) -> Any:
    """``v``'s type, coarsely, for the type notes (graders/verdict/typenote.py compares it with the
    reference's): "float", "int", "bool", "str", "None", "tensor" ("tensor+grad" when it
    still requires grad), "array[float|int|bool]", ``{"list"|"tuple": [item types]}`` and
    ``{"dict": {key: type}}``. The encoded value cannot say this: tensors cross as arrays."""
    if depth > 4:
        return "?"
    if v is None:
        return "None"
    if isinstance(v, _PLAIN):  # a subclass by its base: numpy.float64 is a float
        return next(t.__name__ for t in _PLAIN if isinstance(v, t))
    np = _sys.modules.get("numpy")
    torch = _sys.modules.get("torch")
    if torch is not None and isinstance(v, torch.Tensor):
        return "tensor+grad" if v.requires_grad else "tensor"
    if np is not None and isinstance(v, (np.generic, np.ndarray)):
        kind = {"b": "bool", "i": "int", "u": "int", "f": "float"}.get(v.dtype.kind, "other")
        return kind if isinstance(v, np.generic) else f"array[{kind}]"
    if isinstance(v, (list, tuple)):
        items = {_dumps(describe_type(x, depth + 1), sort_keys=True) for x in v[:200]}
        return {"tuple" if isinstance(v, tuple) else "list": [_loads(t) for t in sorted(items)][:8]}
    if isinstance(v, dict):
        fields = list(v.items())[:50]
        return {"dict": {str(k): describe_type(x, depth + 1) for k, x in fields}}
    return type(v).__name__[:40]


def _opaque(v: Any, text: str | None = None) -> dict[str, Any]:
    try:
        r = text if text is not None else repr(v)
    except Exception:  # a hostile __repr__
        r = "<unrepresentable>"
    return {OPAQUE_KEY: {"type": type(v).__name__, "repr": str(r)[:300]}}


def _frames(tb: Any) -> list[dict[str, Any]]:
    """The traceback frames that belong to the student: not ours, not a library's."""
    shell = _sys.modules.get("IPython") and _sys.modules["IPython"].get_ipython()
    name_map: dict[str, int] = {}
    if shell is not None:
        name_map = getattr(getattr(shell, "compile", None), "_filename_map", {}) or {}
    out = []
    for fs in _traceback.extract_tb(tb):
        fn = fs.filename or ""
        if fn.startswith("<grader") or fn.startswith(_LIB_DIRS):
            continue
        if _OWN_DIR and _os.path.abspath(fn).startswith(_OWN_DIR):
            continue
        where = f"Cell In[{name_map[fn]}]" if fn in name_map else _os.path.basename(fn)
        line = fs.line or _linecache.getline(fn, fs.lineno or 0).strip()
        out.append({"where": where, "lineno": fs.lineno, "name": fs.name, "line": line[:300]})
    return out[-20:]


def _describe(exc: BaseException) -> dict[str, Any]:
    try:
        msg = str(exc)
    except Exception:
        msg = "<unprintable message>"
    return {
        "type": type(exc).__name__,
        "message": msg[:2000],
        "frames": _frames(exc.__traceback__),
    }


def memory_kind(type_name: str, message: str) -> str:
    """'gpu' for torch's CUDA out-of-memory error, 'ram' for host memory (a MemoryError, or
    torch's CPU allocator's RuntimeError "can't allocate memory"), else ''. The kernel frees
    memory on these and the harness words its advice from them: one list for both."""
    if type_name == "OutOfMemoryError" or "CUDA out of memory" in message:
        return "gpu"
    if type_name in ("MemoryError", "_ArrayMemoryError") or "can't allocate memory" in message:
        return "ram"
    return ""


def _out_of_memory(exc: BaseException) -> bool:
    try:
        text = str(exc)
    except Exception:
        text = ""
    return isinstance(exc, MemoryError) or bool(memory_kind(type(exc).__name__, text))


def _free_memory() -> None:
    import gc

    _sys.last_traceback = _sys.last_value = None  # type: ignore[assignment]
    gc.collect()
    torch = _sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_initialized():
            torch.cuda.empty_cache()
    except Exception:
        pass


class Runtime:
    """The one object the harness talks to; lives in the kernel as ``__grader_rt__``."""

    def __init__(self, ns: dict[str, Any]) -> None:
        self._ns = ns
        self._last = ""

    def run(self, source: str, func: str, ctx_json: str) -> None:
        spec = _loads(ctx_json)
        result: dict[str, Any]
        free = False
        try:
            scope: dict[str, Any] = {"__name__": "grader_probe"}
            exec(compile(source, "<grader-probe>", "exec"), scope)
            ctx = Context(spec["seed"], spec["device"], spec.get("params", {}))
            value = scope[func](StudentNamespace(self._ns), ctx)
            if ctx.cases is not None:  # each case ran, and is reported, on its own
                result = {"kind": "cases", "cases": ctx.cases}
            else:
                result = _value_result(value)
        except Missing as exc:
            result = {"kind": "missing", "name": str(exc)}
        except NotImplementedError as exc:
            result = {"kind": "not_implemented", "error": _describe(exc)}
        except KeyboardInterrupt as exc:  # where the student's code was, for the notebook
            result = {"kind": "interrupted", "error": _describe(exc)}
        except BaseException as exc:  # SystemExit too: the student's, not ours
            result = {"kind": "error", "error": _describe(exc)}
            free = _out_of_memory(exc)
        if free:
            _free_memory()  # the next check gets back the memory this one held
        try:
            self._last = _dumps(result, allow_nan=True)
        except Exception as exc:
            self._last = _dumps({"kind": "error", "error": _describe(exc)})

    def take(self) -> Any:
        """Hand the last result to the harness through the execute_reply."""
        return _Payload(self.take_text())

    def take_text(self) -> str:
        """The last result as JSON text (the in-notebook check reads it in this process)."""
        payload, self._last = self._last, ""
        return payload


class _Payload:
    def __init__(self, text: str) -> None:
        self._text = text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"application/vnd.grader.probe+json": self._text}

    def __repr__(self) -> str:
        return "<grader payload>"


def _report_crashes() -> None:
    """If the interpreter itself crashes (a segmentation fault in a C extension, say), its
    Python traceback goes to the kernel process's own stderr, which the harness keeps and
    reads to say why the kernel died; ipykernel has pointed fd 2 at the student's output."""
    import faulthandler
    import sys as _sys

    fd = getattr(_sys.stderr, "_original_stdstream_copy", None)
    if isinstance(fd, int):
        try:
            faulthandler.enable(file=fd, all_threads=False)
        except (OSError, ValueError, RuntimeError):
            pass


def install(ns: dict[str, Any]) -> None:
    _report_crashes()
    ns["__grader_rt__"] = Runtime(ns)
