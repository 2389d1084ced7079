"""Our own assignments in otter's and nbgrader's source formats (tests/test_import.py), with
submissions and the scores each incumbent's rule gives them. Written for these tests, in the
formats their own code reads (see graders/authoring/otter.py, graders/authoring/nbgrader.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

SIGMOID = "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))"
ACCURACY = "accuracy = float(np.mean(np.array(predictions) == np.array(labels)))"
DATA = "predictions = [1, 0, 1, 1]\nlabels = [1, 0, 0, 1]"


def _value(source: str, shown: str) -> Any:
    cell = new_code_cell(source)
    cell.outputs = [new_output("execute_result", data={"text/plain": shown}, execution_count=1)]
    return cell


def otter_master() -> Any:
    """q1 (2 points over 3 cases, one hidden, one worth 1 by a test config), q2 a variable
    answer (assert probes and a hidden value), q3 graded by hand."""
    return new_notebook(
        cells=[
            new_raw_cell("# ASSIGNMENT CONFIG\nexport_cell: false"),
            new_markdown_cell("# Logistic units"),
            new_code_cell("import numpy as np\nimport otter\ngrader = otter.Notebook()"),
            new_raw_cell("# BEGIN QUESTION\nname: q1\npoints: 2"),
            new_markdown_cell("**Question 1.** Write `sigmoid(z)` for numbers and arrays."),
            new_raw_cell("# BEGIN SOLUTION"),
            new_code_cell("def sigmoid(z):\n    return 1 / (1 + np.exp(-z)) # SOLUTION"),
            new_raw_cell("# END SOLUTION"),
            new_raw_cell("# BEGIN TESTS"),
            _value("sigmoid(0) == 0.5", "True"),
            _value(
                '""" # BEGIN TEST CONFIG\npoints: 1\n""" # END TEST CONFIG\n'
                "bool(np.isclose(sigmoid(2.0), 0.8807970779778823))",
                "True",
            ),
            _value(
                "# HIDDEN\nnp.round(sigmoid(np.array([-1.0, 3.0])), 6).tolist()",
                "[0.268941, 0.952574]",
            ),
            new_raw_cell("# END TESTS"),
            new_raw_cell("# END QUESTION"),
            new_raw_cell("# BEGIN QUESTION\nname: q2"),
            new_markdown_cell(
                "**Question 2.** Assign the share of right predictions to `accuracy`."
            ),
            new_code_cell(DATA),
            new_raw_cell("# BEGIN SOLUTION"),
            new_code_cell(
                f"accuracy = ... # SOLUTION\n# BEGIN SOLUTION NO PROMPT\n{ACCURACY}\n"
                "# END SOLUTION\naccuracy"
            ),
            new_raw_cell("# END SOLUTION"),
            new_raw_cell("# BEGIN TESTS"),
            new_code_cell("assert isinstance(accuracy, float)"),
            new_code_cell("assert 0 <= accuracy <= 1"),
            _value("# HIDDEN\naccuracy", "0.75"),
            new_raw_cell("# END TESTS"),
            new_raw_cell("# END QUESTION"),
            new_raw_cell("# BEGIN QUESTION\nname: q3\nmanual: true\npoints: 3"),
            new_markdown_cell("**Question 3.** Why does the sigmoid suit probabilities?"),
            new_raw_cell("# BEGIN SOLUTION"),
            new_markdown_cell("It maps any real number into (0, 1)."),
            new_raw_cell("# END SOLUTION"),
            new_raw_cell("# END QUESTION"),
        ]
    )


# name: (sigmoid cell, accuracy cell, {question: the score otter's rule gives})
OTTER_SUBMISSIONS = {
    "right": (SIGMOID, ACCURACY, {"q1": 2.0, "q2": 1.0}),
    # tanh instead of the logistic: 0.5 at 0 fails too; only the hidden array case... fails
    "tanh": ("def sigmoid(z):\n    return np.tanh(z)", ACCURACY, {"q1": 0.0, "q2": 1.0}),
    # right for scalars, but math.exp breaks the hidden array case: 0.5 + 1 of 2
    "scalar_only": (
        "import math\ndef sigmoid(z):\n    return 1 / (1 + math.exp(-z))",
        ACCURACY,
        {"q1": 1.5, "q2": 1.0},
    ),
    # the count, not the share: an int, above 1, and not 0.75: every q2 case fails
    "count": (
        SIGMOID,
        "accuracy = int(np.sum(np.array(predictions) == np.array(labels)))",
        {"q1": 2.0, "q2": 0.0},
    ),
    # a float in range but wrong: the public asserts pass, the hidden value does not
    "wrong_share": (SIGMOID, "accuracy = 0.5", {"q1": 2.0, "q2": 2 / 3}),
}


def otter_submission(sigmoid: str, accuracy: str) -> Any:
    """As a student hands it in from otter's student notebook (its client lines included)."""
    return new_notebook(
        cells=[
            new_markdown_cell("# Logistic units"),
            new_code_cell("import numpy as np\nimport otter\ngrader = otter.Notebook()"),
            new_code_cell(sigmoid),
            new_code_cell('grader.check("q1")'),
            new_code_cell(DATA),
            new_code_cell(accuracy),
            new_code_cell('grader.check("q2")'),
            new_markdown_cell("Because it is a smooth step."),
        ]
    )


def _nbg(cell: Any, **role: Any) -> Any:
    cell.metadata["nbgrader"] = {
        "schema_version": 3,
        "grade": False,
        "solution": False,
        "locked": False,
        **role,
    }
    return cell


RELU = "def relu(x):\n    return [max(0.0, v) for v in x]"


def nbgrader_source() -> Any:
    """relu (a solution region), a test cell of 2 points with hidden tests, one of 1 point, a
    manual Markdown answer (2 points) and a task (1 point)."""
    return new_notebook(
        cells=[
            new_markdown_cell("## ReLU"),
            _nbg(
                new_code_cell(
                    'def relu(x):\n    """max(0, v) for each v of the list x."""\n'
                    "    ### BEGIN SOLUTION\n    return [max(0.0, v) for v in x]\n"
                    "    ### END SOLUTION"
                ),
                grade_id="relu",
                solution=True,
            ),
            _nbg(
                new_code_cell(
                    '"""relu keeps positives and zeroes negatives"""\n'
                    "assert relu([1.0, -2.0]) == [1.0, 0.0]\n### BEGIN HIDDEN TESTS\n"
                    "assert relu([-0.5, 0.0, 3.5]) == [0.0, 0.0, 3.5]\n"
                    "### END HIDDEN TESTS"
                ),
                grade=True,
                grade_id="relu_values",
                points=2,
            ),
            _nbg(
                new_code_cell('"""relu of an empty list is empty"""\nassert relu([]) == []'),
                grade=True,
                grade_id="relu_empty",
                points=1,
            ),
            _nbg(
                new_code_cell(
                    'def relu_rows(rows):\n    """relu of each row, through relu"""\n'
                    "    ### BEGIN SOLUTION\n    return [relu(r) for r in rows]\n"
                    "    ### END SOLUTION"
                ),
                grade_id="relu_rows",
                solution=True,
            ),
            # nbgrader's "uses squares" pattern: it deletes a name the function must look up
            _nbg(
                new_code_cell(
                    '"""relu_rows calls relu"""\nsaved = relu\ndel relu\ntry:\n'
                    "    relu_rows([[1.0]])\nexcept NameError:\n    pass\nelse:\n"
                    '    raise AssertionError("relu_rows does not call relu")\n'
                    "finally:\n    relu = saved"
                ),
                grade=True,
                grade_id="relu_rows_uses_relu",
                points=1,
            ),
            _nbg(
                new_markdown_cell("Why is ReLU cheaper than the sigmoid?"),
                grade_id="why_q",
                locked=True,
            ),
            _nbg(
                new_markdown_cell("No exponential."),
                grade=True,
                solution=True,
                grade_id="why",
                points=2,
            ),
            _nbg(
                new_markdown_cell("Plot relu on [-2, 2]."),
                task=True,
                grade_id="plot_task",
                points=1,
                locked=True,
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


ROWS = "def relu_rows(rows):\n    return [relu(r) for r in rows]"
# name: (relu cell, relu_rows cell, test cell as the student left it, {question: nbgrader's score})
NBGRADER_SUBMISSIONS = {
    "right": (
        RELU,
        ROWS,
        None,
        {"relu_values": 2.0, "relu_empty": 1.0, "relu_rows_uses_relu": 1.0},
    ),
    # right on the visible test, wrong on the hidden one (-0.5 stays)
    "hidden_fail": (
        "def relu(x):\n    return [v if v > -1 else 0.0 for v in x]",
        ROWS,
        None,
        {"relu_values": 0.0, "relu_empty": 1.0, "relu_rows_uses_relu": 1.0},
    ),
    # wrong, and the test cell emptied: nbgrader restores test cells, so it still fails; rows
    # computed again instead of through relu
    "edited_test": (
        "def relu(x):\n    return x",
        "def relu_rows(rows):\n    return [[max(0.0, v) for v in r] for r in rows]",
        "pass",
        {"relu_values": 0.0, "relu_empty": 1.0, "relu_rows_uses_relu": 0.0},
    ),
    "untouched": (
        None,
        None,
        None,
        {"relu_values": 0.0, "relu_empty": 0.0, "relu_rows_uses_relu": 0.0},
    ),
}


def write_nbgrader_submissions(template: Path, folder: Path) -> None:
    """The released notebook (our import's template, whose cells match nbgrader's release)
    with each student's relu cell and test cell."""
    folder.mkdir()
    for name, (relu, rows, test, _) in NBGRADER_SUBMISSIONS.items():
        nb = nbformat.read(template, as_version=4)
        for c in nb.cells:
            stub = c.cell_type == "code" and "raise NotImplementedError" in c.source
            if stub and c.source.startswith("def relu(") and relu:
                c.source = relu
            if stub and c.source.startswith("def relu_rows(") and rows:
                c.source = rows
            if c.cell_type == "code" and c.source.startswith('"""relu keeps') and test:
                c.source = test
        nbformat.write(nb, folder / f"{name}.ipynb")
