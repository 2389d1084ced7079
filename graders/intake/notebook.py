"""Read a submitted notebook, whatever wrote it: any nbformat version nbformat can upgrade,
UTF-8 with or without a byte-order mark, UTF-16/32 with one, and cells other tools leave odd.

The result is a clean nbformat-4 notebook that holds only what grading reads (cells, their
sources and tags, the notebook's metadata as a dict), so no later stage meets a field of the
wrong type. What was repaired or noticed on the way is kept as notes for the submission's
report; what cannot be graded gets one plain reason, never an exception.
"""

from __future__ import annotations

import ast
import codecs
import contextlib
import json
import logging
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nbformat
from nbformat import NotebookNode

CELL_TYPES = ("code", "markdown", "raw")
RESAVE = (
    "Re-save it as UTF-8: in Jupyter, File > Download > Notebook (.ipynb); in VS Code, "
    "'Save with Encoding' > UTF-8"
)
_BOMS = (  # longest first: a UTF-32-LE mark begins with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8 with a byte-order mark"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


@dataclass
class Read:
    """A notebook as grading sees it, or why there is none."""

    nb: NotebookNode | None
    problem: str = ""
    notes: list[str] = field(default_factory=list)


def decode(data: bytes, what: str = "the file") -> tuple[str | None, str, str]:
    """(text, note, problem): the text of ``data`` and how it was read, or why it cannot be."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec), f"read as {name}", ""
            except UnicodeDecodeError as exc:
                return None, "", f"{what} starts like {name} but is not ({exc.reason}). {RESAVE}"
    head = data[:64]
    if len(data) >= 4 and head[1::2].count(0) > len(head) // 4 and not head[0::2].count(0):
        codec = "utf-16-le"  # UTF-16 without a mark: '{\0"\0...'
    elif len(data) >= 4 and head[0::2].count(0) > len(head) // 4 and not head[1::2].count(0):
        codec = "utf-16-be"
    else:
        codec = ""
    if codec:
        try:
            return data.decode(codec), "read as UTF-16 (no byte-order mark)", ""
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8"), "", ""
    except UnicodeDecodeError as exc:
        byte = data[exc.start]
        guess = ""
        if byte >= 0x80:  # what a one-byte Windows encoding writes for ü, é, “ ...
            char = bytes([byte]).decode("cp1252", errors="replace")
            guess = f" (it looks like Windows-1252 or Latin-1: byte 0x{byte:02x} is {char!r} there)"
        return None, "", f"{what} is not UTF-8 text{guess}. {RESAVE}"


@contextlib.contextmanager
def _captured(notes: list[str]) -> Iterator[None]:
    """nbformat's warnings and logged validation errors, as notes instead of stderr lines
    that name no submission."""
    logger = logging.getLogger("traitlets")
    records: list[logging.LogRecord] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = _Keep()
    saved = logger.handlers[:], logger.propagate
    logger.handlers, logger.propagate = [keep], False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:
        logger.handlers, logger.propagate = saved
    for w in caught:
        notes.append(f"nbformat: {type(w.message).__name__}: {_short(str(w.message))}")
    for r in records:
        notes.append(f"nbformat: {_short(r.getMessage())}")


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def read(data: bytes) -> Read:
    """Read a notebook's bytes: a clean v4 notebook, or the reason it cannot be graded."""
    text, how, problem = decode(data, "the notebook")
    if text is None:
        return Read(None, f"not a valid notebook: {problem}")
    notes = [how] if how else []
    try:
        raw = json.loads(text)
    except ValueError as exc:
        return Read(None, f"not a valid notebook: the file is not JSON ({exc})", notes)
    except RecursionError:
        return Read(None, "not a valid notebook: its JSON is nested too deeply", notes)
    if not isinstance(raw, dict):
        kind = {list: "a list", str: "a string", bool: "true or false", type(None): "null"}.get(
            type(raw), "a number"
        )
        return Read(None, f"not a valid notebook: the file is JSON, but its top level is {kind}")
    version = raw.get("nbformat", 4 if isinstance(raw.get("cells"), list) else None)
    if "nbformat" not in raw and version == 4:
        notes.append("no nbformat version given; read as nbformat 4")
    if not isinstance(version, int) or isinstance(version, bool):
        return Read(None, "not a valid notebook: it gives no nbformat version", notes)
    if version > 4:
        return Read(
            None, f"not a valid notebook: nbformat {version} is newer than this grader reads (4)"
        )
    if version < 4:
        try:
            with _captured(notes):
                raw = nbformat.converter.convert(nbformat.reader.reads(text), 4)
        except Exception as exc:  # nbformat's upgrade meets whatever the file holds
            why = _short(f"{type(exc).__name__}: {exc}", 200)
            return Read(None, f"not a valid notebook: nbformat {version} could not be read ({why})")
        notes.append(f"upgraded from nbformat {version}")
    return _rebuild(raw, notes)


def _source(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(s, str) for s in value):
        return "".join(value)
    return None


def _rebuild(raw: dict[str, Any], notes: list[str]) -> Read:
    cells = raw.get("cells")
    if not isinstance(cells, list):
        return Read(None, "not a valid notebook: it has no list of cells", notes)
    meta = raw.get("metadata", {})
    if not isinstance(meta, dict):
        notes.append("the notebook's metadata is not an object; ignored")
        meta = {}
    # Built by hand: nbformat's new_* helpers validate, and would raise on odd metadata.
    nb = nbformat.from_dict(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": _plain(meta), "cells": []}
    )
    dropped: list[str] = []
    for n, cell in enumerate(cells, 1):
        kind = cell.get("cell_type") if isinstance(cell, dict) else None
        if kind not in CELL_TYPES:
            shown = repr(kind)[:40] if isinstance(cell, dict) else f"a {type(cell).__name__}"
            dropped.append(f"cell {n} (type {shown}: not a code, markdown or raw cell)")
            continue
        assert isinstance(cell, dict)
        source = _source(cell.get("source"))
        if source is None and kind == "code":
            return Read(None, f"not a valid notebook: cell {n} (a code cell) has no source", notes)
        if source is None:
            dropped.append(f"cell {n} (a {kind} cell without source)")
            continue
        cell_meta = cell.get("metadata")
        tags = cell_meta.get("tags") if isinstance(cell_meta, dict) else None
        clean_meta = (
            {"tags": [t for t in tags if isinstance(t, str)]} if isinstance(tags, list) else {}
        )
        new = {"cell_type": kind, "id": f"cell-{n}", "source": source, "metadata": clean_meta}
        if kind == "code":
            new.update(outputs=[], execution_count=None)
        nb.cells.append(nbformat.from_dict(new))
    if dropped:
        notes.append("ignored " + "; ".join(dropped[:5]) + ("; ..." if len(dropped) > 5 else ""))
    language = kernel_language(nb.metadata)
    if language and "python" not in language.lower():
        spec = nb.metadata.get("kernelspec")
        name = spec.get("display_name") or spec.get("name") if isinstance(spec, dict) else ""
        named = f" ({name})" if isinstance(name, str) and name else ""
        return Read(
            None,
            f"the notebook is written for a {language} kernel{named}, and this assignment is "
            "graded in Python: open the template in a Python 3 kernel and copy your answers there",
            notes,
        )
    return Read(nb, "", notes)


def _plain(meta: dict[str, Any]) -> dict[str, Any]:
    """The notebook metadata that grading reads, each part only when it has the right shape."""
    out: dict[str, Any] = {}
    for key in ("kernelspec", "language_info", "grader"):
        if isinstance(meta.get(key), dict):
            out[key] = {k: v for k, v in meta[key].items() if isinstance(v, (str, int, float))}
    return out


def kernel_language(meta: dict[str, Any]) -> str:
    """The programming language the notebook's metadata names ('' if none)."""
    for key, field_name in (("kernelspec", "language"), ("language_info", "name")):
        part = meta.get(key)
        value = part.get(field_name) if isinstance(part, dict) else None
        if isinstance(value, str) and value.strip():
            return re.sub(r"\s+", " ", value.strip())[:40]
    return ""


def signatures(data: bytes, stubs: tuple[str, ...]) -> dict[str, str]:
    """``{stub: "train(model, loss_fn, optimizer, X, y, epochs)"}`` as a template defines them."""
    read_nb = read(data).nb
    out: dict[str, str] = {}
    for cell in read_nb.cells if read_nb is not None else []:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except (SyntaxError, ValueError):  # IPython magics, or not Python at all
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in stubs:
                out.setdefault(node.name, f"{node.name}({ast.unparse(node.args)})")
            elif isinstance(node, ast.ClassDef):
                for stub, shown in _class_signatures(node, stubs).items():
                    out.setdefault(stub, shown)
    return out


def _class_signatures(node: ast.ClassDef, stubs: tuple[str, ...]) -> dict[str, str]:
    """A class stub is called as its ``__init__`` (``TinyNet(hidden)``); a method stub as
    ``Perceptron.train(X, y, lr, epochs)``; ``self`` is not the caller's to pass."""
    out = {}
    for item in node.body:
        if not isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        args = ast.unparse(item.args).split(", ")
        shown = ", ".join(args[1:] if args and args[0] in ("self", "cls") else args)
        if f"{node.name}.{item.name}" in stubs:
            out[f"{node.name}.{item.name}"] = f"{node.name}.{item.name}({shown})"
        if item.name == "__init__" and node.name in stubs:
            out[node.name] = f"{node.name}({shown})"
    return out
