"""Build assignments/numpy_review/template.ipynb and its example submissions from one source.

The template is the "Review numpy and pytorch" part of the course's Intro ANN notebook, with
eight small exercises. The examples fill the stubs in correctly or with bugs students really
make. Run: python tools/build_numpy_review.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from graders.authoring.scaffold import template_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from build_template import write  # noqa: E402

TODO = "    # YOUR CODE HERE\n    raise NotImplementedError()"
STUBS = {
    "standardize": f'''def standardize(X):
    """Scale every column of the 2-D array X to mean 0 and standard deviation 1 (numpy's
    default std). A column whose values never change becomes all zeros. No loops."""
{TODO}''',
    "pairwise_sq_dists": f'''def pairwise_sq_dists(A, B):
    """Squared Euclidean distances between the rows of A (n, d) and of B (m, d), as an
    (n, m) array: D[i, j] = sum_k (A[i, k] - B[j, k])**2. Use broadcasting, no loops."""
{TODO}''',
    "mse": f'''def mse(y, yhat):
    """Mean squared error of the predictions yhat against the targets y, as a float. y and
    yhat have the same shape, (n,) or (n, 1), and may be numpy arrays or plain lists."""
{TODO}''',
    "log_loss": f'''def log_loss(y, p, eps=1e-7):
    """Binary cross-entropy of probabilities p against 0/1 labels y, as a float. Clip p to
    [eps, 1 - eps] first so that probabilities of exactly 0 or 1 do not give inf."""
{TODO}''',
    "to_tensor": f'''def to_tensor(x):
    """Rule 1: turn everything into a tensor. A numpy array or a list -> a float32 tensor."""
{TODO}''',
    "to_numpy": f'''def to_numpy(t):
    """A torch tensor -> a numpy array, even when t requires grad or lives on a GPU."""
{TODO}''',
    "quadratic_model": f'''def quadratic_model(x, w, b):
    """The playground's model: w * x**2 + b (for numpy arrays and tensors alike)."""
{TODO}''',
    "fit_quadratic": f'''def fit_quadratic(x, y, lr, epochs):
    """Fit quadratic_model to (x, y) like the playground: w and b start at 1.0 (0-d tensors
    that require grad), full-batch SGD with MSELoss for `epochs` steps. Return (w, b) as
    floats."""
{TODO}''',
}


def cells(stub: dict[str, str]) -> list[nbformat.NotebookNode]:
    md, code = new_markdown_cell, new_code_cell
    return [
        md(
            "# Review numpy and pytorch\n\nThe warm-up of the Intro ANN notebook: broadcasting, "
            "vectorised losses, and moving between numpy arrays and torch tensors. Fill in every "
            "function that raises `NotImplementedError`; check your work with "
            "`grader check <this notebook>`."
        ),
        code(
            "import matplotlib.pyplot as plt\nimport numpy as np\nimport torch\nimport torch.nn as nn"
        ),
        md(
            "## Broadcasting\n\n`X.mean(axis=0)` has shape `(d,)`; numpy stretches it over the "
            "`n` rows of `X` when you subtract it. **PROBLEM 1.** `standardize`."
        ),
        code(stub["standardize"]),
        code(
            "X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 60.0]])\n"
            "Z = standardize(X)\nprint(Z.mean(axis=0), Z.std(axis=0))"
        ),
        md(
            "Insert an axis and the same trick compares every row of `A` with every row of `B`: "
            "`A[:, None, :] - B[None, :, :]` has shape `(n, m, d)`. "
            "**PROBLEM 2.** `pairwise_sq_dists`."
        ),
        code(stub["pairwise_sq_dists"]),
        code(
            "A = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, -1.0]])\n"
            "B = np.array([[1.0, 0.0], [-2.0, 2.0]])\npairwise_sq_dists(A, B)"
        ),
        md(
            "## Vectorised losses\n\n$$\\text{MSE} = \\frac{1}{n}\\sum_i (y_i - \\hat y_i)^2 "
            "\\qquad \\text{BCE} = -\\frac{1}{n} \\sum_i y_i \\log(p_i) + (1 - y_i)\\log(1 - p_i)$$"
            "\n\n**PROBLEM 3.** `mse`. **PROBLEM 4.** `log_loss`."
        ),
        code(stub["mse"]),
        code(stub["log_loss"]),
        code(
            "print(mse(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0])))\n"
            "print(log_loss(np.array([1, 0, 1, 1]), np.array([0.9, 0.2, 0.6, 0.99])))"
        ),
        md(
            "## Tensors and arrays\n\nRule 1: turn everything into a tensor "
            "(`torch.tensor(x, dtype=torch.float32)`). The way back is `.numpy()`, which refuses "
            "a tensor that requires grad: `w.detach().numpy()`. **PROBLEM 5.** `to_tensor`. "
            "**PROBLEM 6.** `to_numpy`."
        ),
        code(stub["to_tensor"]),
        code(stub["to_numpy"]),
        code(
            "x = np.linspace(-2, 2, 100)\nxt = to_tensor(x)\nprint(xt.dtype, xt.shape)\n"
            "w = torch.ones((), requires_grad=True)\nto_numpy(w * xt)[:3]"
        ),
        md(
            "## The playground\n\nThe model $w x^2 + b$, fitted to $f(x) = x^2$ with `MSELoss` "
            "and `SGD`. **PROBLEM 7.** `quadratic_model`. **PROBLEM 8.** `fit_quadratic` (use "
            "your `quadratic_model`)."
        ),
        code(stub["quadratic_model"]),
        code(stub["fit_quadratic"]),
        code(
            "w, b = fit_quadratic(x, x**2, 0.1, 20)\nprint(w, b)\n"
            "plt.plot(x, x**2)\nplt.plot(x, quadratic_model(x, w, b), '--r');"
        ),
    ]


def notebook(stub: dict[str, str]) -> nbformat.NotebookNode:
    return template_notebook(cells(stub), "numpy_review")


CORRECT = {
    "standardize": """def standardize(X):
    mu = X.mean(axis=0, keepdims=True)
    sd = X.std(axis=0, keepdims=True)
    sd[sd == 0] = 1
    return (X - mu) / sd""",
    "pairwise_sq_dists": """def pairwise_sq_dists(A, B):
    diff = A[:, None, :] - B[None, :, :]
    return (diff**2).sum(axis=2)""",
    "mse": """def mse(y, yhat):
    return np.mean((np.asarray(y) - np.asarray(yhat)) ** 2)""",
    "log_loss": """def log_loss(y, p, eps=1e-7):
    p = np.clip(p, eps, 1 - eps)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))""",
    "to_tensor": """def to_tensor(x):
    return torch.from_numpy(np.asarray(x)).float()""",
    "to_numpy": """def to_numpy(t):
    return t.detach().cpu().numpy()""",
    "quadratic_model": """def quadratic_model(x, w, b):
    return w * x**2 + b""",
    "fit_quadratic": """def fit_quadratic(x, y, lr, epochs):
    xt, yt = to_tensor(x), to_tensor(y)
    w = torch.ones((), requires_grad=True)
    b = torch.ones((), requires_grad=True)
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD([w, b], lr=lr)
    for epoch in range(epochs):
        loss = loss_fn(quadratic_model(xt, w, b), yt)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return w.item(), b.item()""",
}

# ben: statistics of the whole matrix instead of per column, distances instead of squared
# distances, no clipping in log_loss, float64 tensors, .numpy() on a tensor that needs grad.
BEN = {
    **CORRECT,
    "standardize": """def standardize(X):
    return (X - X.mean()) / X.std()""",
    "pairwise_sq_dists": """def pairwise_sq_dists(A, B):
    return np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=2))""",
    "log_loss": """def log_loss(y, p, eps=1e-7):
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))""",
    "to_tensor": """def to_tensor(x):
    return torch.tensor(x)""",
    "to_numpy": """def to_numpy(t):
    return t.numpy()""",
}

# cy: everything right except the model, which forgot the square; fit_quadratic's checks
# are then skipped ("fix quadratic_model first") rather than failed twice over.
CY = {
    **CORRECT,
    "quadratic_model": """def quadratic_model(x, w, b):
    return w * x + b""",
}


if __name__ == "__main__":
    write(ROOT / "assignments/numpy_review/template.ipynb", notebook(STUBS))
    out = ROOT / "examples/numpy_review"
    out.mkdir(parents=True, exist_ok=True)
    write(out / "ada_correct.ipynb", notebook(CORRECT))
    write(out / "ben_typical_bugs.ipynb", notebook(BEN))
    write(out / "cy_wrong_model.ipynb", notebook(CY))
    write(out / "dee_untouched.ipynb", notebook(STUBS))
