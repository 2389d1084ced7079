"""Mutated notebooks and zips, as real-world files arrive: truncated, fields of the wrong type,
odd encodings, deep nesting, odd archive entries. Deterministic (one seed), no kernel needed to
make them; tests/test_fuzz.py grades them all in one run."""

from __future__ import annotations

import copy
import json
import random
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any

ODD_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    [],
    {},
    [None],
    {"a": [1]},
    "\x00",
    [[[]]],
]
ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig", "cp1252", "latin-1"]
ZIP_NAMES = [
    "./", "./hw.ipynb", "a/../../evil.ipynb", "/abs.ipynb", "C:/win.ipynb", "dir\\file.ipynb",
    "x" * 300 + ".ipynb", "ünï/cödé.ipynb", "__MACOSX/._hw.ipynb", ".hidden.ipynb",
    "deep/" * 40 + "hw.ipynb", "notes.pdf", "data.csv", "hw.py", "a//b.ipynb", " .ipynb",
]  # fmt: skip


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value that can be replaced: keys of objects, items of lists."""
    out = [path] if path else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*path, i))
    return out


def _set(node: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> None:
    for key in path[:-1]:
        node = node[key]
    if delete and isinstance(node, dict):
        del node[path[-1]]
    else:
        node[path[-1]] = value


def mutate_notebook(base: dict[str, Any], rng: random.Random) -> bytes:
    text = json.dumps(base, ensure_ascii=False)
    kind = rng.choice(
        ["field", "field", "field", "delete", "truncate", "encode", "flip", "nest", "version",
         "cell_type", "source"]
    )  # fmt: skip
    nb = copy.deepcopy(base)
    if kind in ("field", "delete"):
        path = rng.choice(_paths(nb))
        _set(nb, path, copy.deepcopy(rng.choice(ODD_VALUES)), delete=kind == "delete")
    elif kind == "truncate":
        return text.encode()[: rng.randrange(0, len(text))]
    elif kind == "encode":
        nb["cells"][0]["source"] = "# Größe — “quoted” ø\n" + str(nb["cells"][0]["source"])
        codec = rng.choice(ENCODINGS)
        return json.dumps(nb, ensure_ascii=False).encode(codec, errors="replace")
    elif kind == "flip":
        data = bytearray(text.encode())
        for _ in range(rng.randint(1, 5)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    elif kind == "nest":
        depth = rng.choice([50, 5000, 200_000])
        path = rng.choice(_paths(nb))
        return json.dumps(nb).replace('"nbformat_minor"', '"deep": ' + "[" * depth + "]" * depth
                                      + ', "nbformat_minor"').encode()  # fmt: skip
    elif kind == "version":
        nb["nbformat"] = rng.choice([1, 2, 3, 5, "4", None, 4.0, -4])
    elif kind == "cell_type":
        nb["cells"][rng.randrange(len(nb["cells"]))]["cell_type"] = rng.choice(
            ["heading", "Code", "", None, 7, "markdown", "raw"]
        )
    else:
        nb["cells"][rng.randrange(len(nb["cells"]))]["source"] = rng.choice(
            [
                [1, 2],
                None,
                {"a": "b"},
                ["x = 1\n", 2],
                3.5,
                "\ud800".encode("utf-8", "replace").decode(),
            ]
        )
    return json.dumps(nb, ensure_ascii=False).encode("utf-8", errors="replace")


def mutate_zip(path: Path, base: bytes, rng: random.Random) -> None:
    kind = rng.choice(["names", "names", "names", "truncate", "nested", "empty", "special"])
    with zipfile.ZipFile(path, "w") as zf:
        if kind in ("names", "truncate"):
            for name in rng.sample(ZIP_NAMES, rng.randint(1, 5)):
                zf.writestr(name, b"" if name.endswith("/") else base)
        elif kind == "nested":
            inner = path.with_suffix(".inner.zip")
            with zipfile.ZipFile(inner, "w") as z2:
                z2.writestr("hw.ipynb", base)
            zf.write(inner, "inner.zip")
            inner.unlink()
        elif kind == "special":
            link = zipfile.ZipInfo("link.ipynb")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(link, "/etc/passwd")
            enc = zipfile.ZipInfo("locked.ipynb")
            enc.flag_bits |= 0x1  # says "encrypted"
            zf.writestr(enc, base)
            zf.writestr("file", b"x")
            zf.writestr("file/under_a_file.ipynb", base)
            zf.writestr("dup.ipynb", base)
            with warnings.catch_warnings():  # zipfile warns of the duplicate it is asked for
                warnings.simplefilter("ignore")
                zf.writestr("dup.ipynb", b"{")
    if kind == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: rng.randrange(1, len(data))])


def write_inputs(folder: Path, base: dict[str, Any], n_notebooks: int, n_zips: int) -> None:
    rng = random.Random(1313)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_notebooks):
        (folder / f"m{i:03d}.ipynb").write_bytes(mutate_notebook(base, rng))
    good = json.dumps(base).encode()
    for i in range(n_zips):
        mutate_zip(folder / f"z{i:03d}.zip", mutate_notebook(base, rng) if i % 2 else good, rng)
