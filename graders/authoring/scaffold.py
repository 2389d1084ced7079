"""``grader new NAME``: the four files of a new assignment, already passing ``grader verify``.

One small exercise (a vectorised mean squared error; with ``--class``, a ``Scaler`` class
students write whole) with a public check and a hidden one, so that an instructor starts from
something that works and replaces it step by step, following docs/writing-an-assignment.md.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from ..errors import UsageError
from ..student.cells import add_check_cells

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

TOML = """name = {name}
title = {title}
version = "0.1.0"
# The functions (or classes, or Class.method) students write; every check's title starts with one.
stubs = [{stub}]

[grading]
# Hidden checks draw their inputs from this seed. Keep it secret; it is never shipped.
# 128 random bits: too many to search from anything students see.
secret_seed = "{seed}"
# Imported right after the kernel starts, before the student's first cell.
heavy_imports = ["numpy"]

[limits]
cell_timeout = 30
check_timeout = 10
submission_timeout = 120
memory_mb = 2048
"""

CHECKS = '''"""Checks for {name}. Each probe runs in the student's kernel and once on the reference;
the harness compares the two results. Points total 100."""

from graders import allclose, check

FLOAT = allclose(rtol=1e-6, atol=1e-9)


@check(stub="mse", points=40, compare=FLOAT, label="loss")
def mse_example(student, ctx):
    """the notebook's example"""
    import numpy as np

    return student.mse(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0]))


@check(stub="mse", points=60, hidden=True, cases=True, compare=FLOAT, label="loss")
def mse_hidden(student, ctx):
    """hidden targets and predictions of other lengths"""
    rng = ctx.rng()  # seeded from the secret seed: a hard-coded answer cannot pass
    for n in (1, 7, 100):  # each case runs, and scores, on its own
        ctx.case(f"{{n}} values", student.mse, rng.normal(size=n), rng.normal(size=n))
'''

SOLUTION = '''"""Reference solution for {name}. Never shipped to students, never sandboxed."""

import numpy as np


def mse(y, yhat):
    return float(np.mean((np.asarray(y, dtype=float) - np.asarray(yhat, dtype=float)) ** 2))
'''

STUB = '''def mse(y, yhat):
    """Mean squared error of the predictions yhat against the targets y, as a float."""
    # YOUR CODE HERE
    raise NotImplementedError()'''


# --class: the stub is a class; checks construct it and call its methods.
CLASS_CHECKS = '''"""Checks for {name}. Each probe runs in the student's kernel and once on the
reference; the harness compares the two results. Points total 100."""

from graders import allclose, check

FLOAT = allclose(rtol=1e-6, atol=1e-9)


@check(stub="Scaler", points=40, compare=FLOAT, label="Z")
def scaler_example(student, ctx):
    """fit and transform the notebook's example"""
    import numpy as np

    X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]])
    return student.Scaler().fit(X).transform(X)


@check(stub="Scaler", points=60, hidden=True, cases=True, compare=FLOAT, label="Z")
def scaler_hidden(student, ctx):
    """fitted on one matrix, applied to another"""
    rng = ctx.rng()  # seeded from the secret seed: a hard-coded answer cannot pass
    for n, d in ((5, 2), (20, 4)):
        fitted = student.Scaler().fit(rng.normal(3.0, 2.0, (n, d)))
        ctx.case(f"{{n}}x{{d}}", fitted.transform, rng.normal(0.0, 1.0, (4, d)))
'''

CLASS_SOLUTION = '''"""Reference solution for {name}. Never shipped to students, never sandboxed."""

import numpy as np


class Scaler:
    def fit(self, X):
        X = np.asarray(X, dtype=float)
        self.mean, self.std = X.mean(axis=0), X.std(axis=0)
        return self

    def transform(self, X):
        return (np.asarray(X, dtype=float) - self.mean) / self.std
'''

CLASS_STUB = '''class Scaler:
    """Standardise columns: fit(X) keeps each column's mean and standard deviation (numpy's
    default) and returns self; transform(X) returns (X - mean) / std, for any X with as many
    columns."""

    def fit(self, X):
        # YOUR CODE HERE
        raise NotImplementedError()

    def transform(self, X):
        # YOUR CODE HERE
        raise NotImplementedError()'''


def template_notebook(cells: list[nbformat.NotebookNode], name: str) -> nbformat.NotebookNode:
    """A template (or a filled-in copy of one): a Python 3 notebook whose metadata names its
    assignment (``grader check`` reads it), with stable cell ids that keep diffs small."""
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["grader"] = {"assignment": name}
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:02d}"
    return nb  # type: ignore[no-any-return]


def template(name: str, title: str, classes: bool = False) -> nbformat.NotebookNode:
    if classes:
        problem = [
            new_markdown_cell("**PROBLEM 1.** `Scaler`: a class with `fit` and `transform`."),
            new_code_cell(CLASS_STUB),
            new_code_cell(
                "X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]])\n"
                "Scaler().fit(X).transform(X)"
            ),
        ]
    else:
        problem = [
            new_markdown_cell("**PROBLEM 1.** `mse`: no loops."),
            new_code_cell(STUB),
            new_code_cell("mse(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0]))"),
        ]
    cells = [
        new_markdown_cell(
            f"# {title}\n\nFill in everything that raises `NotImplementedError`. "
            "Run the `check(...)` cell after each exercise to check your work here, or "
            "`grader check <this notebook>` in a terminal."
        ),
        new_code_cell("import numpy as np"),
        *problem,
    ]
    nb = template_notebook(cells, name)
    add_check_cells(nb, ["Scaler" if classes else "mse"], name)
    return nb


def new_assignment(
    root: Path, name: str, title: str | None = None, classes: bool = False
) -> list[Path]:
    """Write assignments/NAME/{assignment.toml, template.ipynb, checks.py} and
    reference/NAME/solution.py below ``root``; refuse to overwrite anything. ``classes``: the
    exercise is a class students write (``grader new --class``)."""
    if not NAME.match(name):
        raise UsageError(
            f"{name!r} is not a usable assignment name: lower case letters, digits and _, "
            "starting with a letter"
        )
    folder, ref = root / "assignments" / name, root / "reference" / name
    for d in (folder, ref):
        if d.exists():
            raise UsageError(f"{d} already exists; choose another name or remove it")
    title = title or name.replace("_", " ").capitalize()
    folder.mkdir(parents=True)
    ref.mkdir(parents=True)
    files = {
        folder / "assignment.toml": TOML.format(
            name=json.dumps(name),
            title=json.dumps(title),
            seed=secrets.token_hex(16),
            stub=json.dumps("Scaler" if classes else "mse"),
        ),
        folder / "template.ipynb": nbformat.writes(template(name, title, classes)) + "\n",
        folder / "checks.py": (CLASS_CHECKS if classes else CHECKS).format(name=name),
        ref / "solution.py": (CLASS_SOLUTION if classes else SOLUTION).format(name=name),
    }
    for path, text in files.items():
        path.write_text(text)
    return list(files)
