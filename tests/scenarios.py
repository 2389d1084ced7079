"""Scenario submissions: each stub correct, buggy and missing, modules, and misbehaviour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from make_examples import CORRECT  # type: ignore[import-not-found]
from nbformat.v4 import new_code_cell

# "missing": the student deleted the stub's cell content (the name is never defined).
GONE = "# (deleted)"

# The course notebook's own idiom: tqdm progress bars over epochs and batches, pandas imported.
SEED_STYLE = {
    **CORRECT,
    "train": """from tqdm import tqdm


def train(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for epoch in tqdm(range(epochs)):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses""",
    "bce_loss": """import pandas as pd


def bce_loss(p, y):
    frame = pd.DataFrame({"p": p, "y": y})
    terms = frame.y * np.log(frame.p) + (1 - frame.y) * np.log(1 - frame.p)
    return float(-terms.mean())""",
    "train_epoch": """def train_epoch(model, loader, loss_fn, optimizer, device):
    losses = []
    for x, y in tqdm(loader, leave=False):
        optimizer.zero_grad()
        loss = loss_fn(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)""",
}

MIXED = {
    "seed_style": SEED_STYLE,
    # the cell that defines train imports a package the grading environment lacks
    "no_such_package": {**CORRECT, "train": "import tqdm_for_grading_xyz\n\n\n" + CORRECT["train"]},
    # gd off by one, pp missing, pt correct, bce uses log10, train correct (zero_grad last),
    # accuracy with the notebook's threshold slip, train_epoch missing, evaluate per-batch mean
    "mixed_a": {
        **CORRECT,
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    xs = []
    x = x0
    for i in range(n_steps):
        x = x - lr * df(x)
        xs.append(x)
    return xs""",
        "perceptron_predict": GONE,
        "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    w = np.zeros(X.shape[1])
    b = 0.0
    for _ in range(epochs):
        for i in range(len(X)):
            pred = 1 if X[i] @ w + b > 0 else 0
            err = y[i] - pred
            w = w + lr * err * X[i]
            b = b + lr * err
    return w, b""",
        "bce_loss": """def bce_loss(p, y):
    return -np.mean(y * np.log10(p) + (1 - y) * np.log10(1 - p))""",
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    yhat = torch.where(torch.as_tensor(probs) > 0, 1, 0)
    return (torch.as_tensor(y) == yhat.flatten()).float().mean().item()""",
        "train_epoch": GONE,
        "evaluate": """def evaluate(model, loader, device):
    accs = []
    for x, y in loader:
        accs.append((model(x).argmax(dim=1) == y).float().mean().item())
    return sum(accs) / len(accs)""",
    },
    # gd correct with tensors, pp uses >=, pt never updates b, bce missing, train forgets
    # zero_grad, accuracy correct on (N, 1), train_epoch sums instead of averaging, evaluate ok
    "mixed_b": {
        **CORRECT,
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    xs = torch.zeros(n_steps + 1, dtype=torch.float64)
    xs[0] = x0
    for k in range(1, n_steps + 1):
        xs[k] = xs[k - 1] - lr * df(xs[k - 1])
    return xs""",
        "perceptron_predict": """def perceptron_predict(X, w, b):
    return (X @ w + b >= 0).astype(int)""",
        "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    w = np.zeros(X.shape[1])
    b = 0.0
    for _ in range(epochs):
        for xi, yi in zip(X, y):
            err = yi - perceptron_predict(xi, w, b)
            w += lr * err * xi
    return w, b""",
        "bce_loss": GONE,
        "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for epoch in range(epochs):
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses""",
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    p = np.asarray(probs).reshape(-1)
    return float(np.mean((p > threshold).astype(int) == np.asarray(y)))""",
        "train_epoch": """def train_epoch(model, loader, loss_fn, optimizer, device):
    total = 0.0
    for x, y in loader:
        loss = loss_fn(model(x.to(device)), y.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total""",
    },
}

_CORRECT_MODULE = "import numpy as np\nimport torch\n\n\n" + "\n\n\n".join(CORRECT.values()) + "\n"

MODULES = {
    "module_correct.py": _CORRECT_MODULE,
    "module_syntax_error.py": "def gradient_descent(df, x0, lr, n_steps)\n    return [x0]\n",
    "module_main_guard.py": _CORRECT_MODULE
    + "\nif __name__ == '__main__':\n    while True:\n        pass\n",
}


def notebooks(notebook: Callable[[dict[str, str]], Any]) -> dict[str, Any]:
    """Correct notebooks with one misbehaving cell or function added."""
    out = {}

    nb = notebook(CORRECT)  # a top-level infinite loop: interrupted, the rest still runs
    nb.cells.insert(2, new_code_cell("while True:\n    pass"))
    out["loop_top"] = nb

    nb = notebook(CORRECT)  # a C-level loop ignores the interrupt: the kernel is killed
    nb.cells.insert(2, new_code_cell("sum(range(10**13))"))
    out["loop_c"] = nb

    nb = notebook(
        {
            **CORRECT,
            "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    xs = [x0]
    x = x0
    while len(xs) <= n_steps:  # never appends: loops forever without allocating
        x = x - lr * df(x)
    return xs""",
        }
    )
    out["loop_in_function"] = nb

    nb = notebook(CORRECT)  # the kernel exits halfway: restarted, the cells re-run
    nb.cells.insert(12, new_code_cell("import os\nos._exit(3)"))
    out["exits_kernel"] = nb

    nb = notebook(CORRECT)  # the student's function raises: their frames, not ours
    idx = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def bce_loss"))
    nb.cells[
        idx
    ].source = (
        "def _helper(p):\n    return p / 0\n\n\ndef bce_loss(p, y):\n    return float(_helper(1))"
    )
    out["raises"] = nb

    # issue 13: a seed-style accuracy that takes tensors only (the documented contract)
    out["tensor_accuracy"] = notebook(
        {
            **CORRECT,
            "accuracy": """def accuracy(probs, y, threshold=0.5):
    yhat = (probs.flatten() > threshold).float()
    return (yhat == y).float().mean().item()""",
        }
    )
    # partly right: raises on zero steps only; the other hidden cases still earn their points
    out["partly_right"] = notebook(
        {
            **CORRECT,
            "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    if n_steps == 0:
        raise ValueError("n_steps must be positive")
    xs = [x0]
    for _ in range(n_steps):
        xs.append(xs[-1] - lr * df(xs[-1]))
    return xs""",
        }
    )
    # a stub without its last parameter: the message names the template's signature
    out["wrong_signature"] = notebook(
        {
            **CORRECT,
            "train": """def train(model, loss_fn, optimizer, X, y):
    losses = []
    for _ in range(100):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses""",
        }
    )
    # nbgrader's cheat fixtures replace showtraceback: the failing cell shows no error output
    nb = notebook(CORRECT)
    nb.cells.insert(2, new_code_cell("get_ipython().showtraceback = lambda *a, **k: None"))
    nb.cells.insert(3, new_code_cell("raise ValueError('hidden failure')"))
    out["hides_tracebacks"] = nb
    return out


# issue 15: each notebook holds one known mistake (assignments/intro_ann/mistakes.py), written
# the way students write it, not as the mistake's own code: {name: (mistake id, stub, code)}
KNOWN_MISTAKES = {
    "km_ascent": (
        "gd_ascent",
        "gradient_descent",
        """def gradient_descent(df, x0, lr, n_steps):
    x = x0
    xs = [x]
    i = 0
    while i < n_steps:
        x += lr * df(x)
        xs.append(x)
        i += 1
    return xs""",
    ),
    "km_extra_step": (
        "gd_one_step_too_many",
        "gradient_descent",
        """def gradient_descent(df, x0, lr, n_steps):
    xs = [x0]
    for step in range(0, n_steps + 1):
        xs.append(xs[step] - lr * df(xs[step]))
    return xs""",
    ),
    "km_no_x0": (
        "gd_without_x0",
        "gradient_descent",
        """def gradient_descent(df, x0, lr, n_steps):
    out = []
    for _ in range(n_steps):
        x0 = x0 - lr * df(x0)
        out.append(x0)
    return out""",
    ),
    "km_boundary": (
        "pp_boundary",
        "perceptron_predict",
        """def perceptron_predict(X, w, b):
    return np.where(X.dot(w) + b >= 0, 1, 0)""",
    ),
    "km_pred_update": (
        "pt_prediction_update",
        "perceptron_train",
        """def perceptron_train(X, y, lr, epochs):
    w = np.zeros(X.shape[1])
    b = 0.0
    for epoch in range(epochs):
        for i in range(len(X)):
            yhat = 1 if np.dot(X[i], w) + b > 0 else 0
            w += lr * yhat * X[i]
            b += lr * yhat
    return w, b""",
    ),
    "km_bce_sum": (
        "bce_sum",
        "bce_loss",
        """def bce_loss(p, y):
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum())""",
    ),
    "km_no_zero_grad": (
        "train_without_zero_grad",
        "train",
        """def train(model, loss_fn, optimizer, X, y, epochs):
    history = []
    for e in range(epochs):
        l = loss_fn(model(X), y)
        l.backward()
        optimizer.step()
        history.append(float(l))
    return history""",
    ),
    "km_zero_grad_late": (
        "train_zero_grad_after_backward",
        "train",
        """def train(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for epoch in range(epochs):
        yhat = model(X)
        loss = loss_fn(yhat, y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return losses""",
    ),
    "km_threshold0": (
        "acc_threshold_zero",
        "accuracy",
        """def accuracy(probs, y, threshold=0.5):
    preds = (probs.squeeze() > 0).float()
    return (preds == y).sum().item() / len(y)""",
    ),
    "km_broadcast": (
        "acc_broadcast",
        "accuracy",
        """def accuracy(probs, y, threshold=0.5):
    yhat = (probs > threshold).float()
    return (yhat == y).float().mean().item()""",
    ),
    "km_epoch_sum": (
        "te_sum",
        "train_epoch",
        """def train_epoch(model, loader, loss_fn, optimizer, device):
    running = 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb.to(device)), yb.to(device))
        loss.backward()
        optimizer.step()
        running += loss.item()
    return running""",
    ),
    "km_epoch_no_zero_grad": (
        "te_without_zero_grad",
        "train_epoch",
        """def train_epoch(model, loader, loss_fn, optimizer, device):
    losses = []
    for x, y in loader:
        loss = loss_fn(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return sum(losses) / len(losses)""",
    ),
    "km_batch_mean": (
        "ev_batch_mean",
        "evaluate",
        """def evaluate(model, loader, device):
    scores = []
    with torch.no_grad():
        for x, y in loader:
            pred = model(x.to(device)).argmax(1)
            scores.append((pred == y.to(device)).float().mean().item())
    return np.mean(scores)""",
    ),
    "km_argmax0": (
        "ev_argmax_dim0",
        "evaluate",
        """def evaluate(model, loader, device):
    right = n = 0
    for x, y in loader:
        guess = torch.argmax(model(x.to(device)), 0)
        right += int((guess == y.to(device)).sum())
        n += y.shape[0]
    return right / n""",
    ),
}

# a known mistake that only a check with feedback "none" sees (acc_hidden, in the tests' copy
# of intro_ann): it is not named, since such a check shows nothing but pass or fail
ONLY_ON_SILENT_CHECKS = {
    "km_fixed_threshold": (
        "acc_fixed_threshold",
        "accuracy",
        """def accuracy(probs, y, threshold=0.5):
    return ((probs.view(-1) >= 0.5).float() == y).float().mean().item()""",
    ),
}

# bugs that are not in mistakes.py: no mistake may be named for them
UNLISTED = {
    "un_log10": (
        "bce_loss",
        """def bce_loss(p, y):
    return -np.mean(y * np.log10(p) + (1 - y) * np.log10(1 - p))""",
    ),
    "un_no_bias": (
        "perceptron_train",
        """def perceptron_train(X, y, lr, epochs):
    w = np.zeros(X.shape[1])
    for _ in range(epochs):
        for xi, yi in zip(X, y):
            w = w + lr * (yi - (xi @ w > 0)) * xi
    return w, 0.0""",
    ),
    "un_lr_squared": (
        "gradient_descent",
        """def gradient_descent(df, x0, lr, n_steps):
    xs = [x0]
    for _ in range(n_steps):
        xs.append(xs[-1] - lr * lr * df(xs[-1]))
    return xs""",
    ),
}
