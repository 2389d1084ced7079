"""The example submissions `make demo` grades, built from the template's stubs.

Each is a realistic student notebook: the template with stub bodies filled in, correctly or
with a bug students really make. Regenerate with: python tools/build_template.py
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

CORRECT = {
    "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    xs = [x0]
    for i in range(n_steps):
        xs.append(xs[-1] - lr * df(xs[-1]))
    return np.array(xs, dtype=np.float32)""",
    "perceptron_predict": """def perceptron_predict(X, w, b):
    return np.where(X @ w + b > 0, 1, 0)""",
    "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    w = np.zeros(X.shape[1])
    b = 0.0
    for epoch in range(epochs):
        for xi, yi in zip(X, y):
            err = yi - perceptron_predict(xi, w, b)
            w += lr * err * xi
            b += lr * err
    return w, b""",
    "bce_loss": """def bce_loss(p, y):
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))""",
    "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for epoch in range(epochs):
        yhat = model(X)
        loss = loss_fn(yhat, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.detach())  # 0-d tensors: the checks take them, plt.plot too
    return losses""",
    "accuracy": """def accuracy(probs, y, threshold=0.5):
    preds = torch.where(torch.as_tensor(probs) > threshold, 1, 0).flatten()
    return (preds == torch.as_tensor(y)).float().mean().item()""",
    "train_epoch": """def train_epoch(model, loader, loss_fn, optimizer, device):
    losses = []
    for x, y in loader:
        x = x.to(device)
        y = y.to(device)
        yhat = model(x)
        loss = loss_fn(yhat, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return np.mean(losses)""",
    "evaluate": """def evaluate(model, loader, device):
    correct = 0
    total = 0
    for x, y in loader:
        x = x.to(device)
        y = y.to(device)
        yhat = model(x)
        correct += (yhat.argmax(dim=1) == y).sum()
        total += len(y)
    return correct / total""",
}

# bob forgets to clear the gradients, in both training loops.
BOB = {
    **CORRECT,
    "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for epoch in range(epochs):
        yhat = model(X)
        loss = loss_fn(yhat, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses""",
    "train_epoch": """def train_epoch(model, loader, loss_fn, optimizer, device):
    total = 0
    for x, y in loader:
        loss = loss_fn(model(x.to(device)), y.to(device))
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)""",
}

# carol copies the notebook's accuracy slip (threshold 0), hard-codes the gradient-descent
# example, averages per-batch accuracies, and crashes in bce_loss.
CAROL = {
    **CORRECT,
    "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    # the numbers from the notebook
    return [1, 0.8, 0.64, 0.512, 0.4096, 0.32768, 0.262144, 0.2097152, 0.16777216,
            0.134217728, 0.1073741824]""",
    "accuracy": """def accuracy(probs, y, threshold=0.5):
    yhat = torch.where(torch.as_tensor(probs) > 0, 1, 0)
    return (torch.as_tensor(y) == yhat.flatten()).float().mean().item()""",
    "evaluate": """def evaluate(model, loader, device):
    accs = []
    for x, y in loader:
        accs.append((model(x).argmax(dim=1) == y).float().mean().item())
    return sum(accs) / len(accs)""",
    "bce_loss": """def bce_loss(p, y):
    n = len(p)
    return -1 / n * sum(y[i] * np.log(p[i]) + (1 - y[i]) * np.log(1 - p[i]) for i in range(n + 1))""",
}

MODULE = (
    '''"""Erin submits a plain module instead of a notebook."""

import numpy as np
import torch

'''
    + "\n\n\n".join(CORRECT.values())
    + "\n"
)


def build(root: Path, stubs: dict[str, str], notebook: Callable[[dict[str, str]], Any],
          write: Callable[[Path, Any], None]) -> None:  # fmt: skip
    out = root / "examples" / "submissions"
    out.mkdir(parents=True, exist_ok=True)
    write(out / "alice_correct.ipynb", notebook(CORRECT))
    write(out / "bob_forgot_zero_grad.ipynb", notebook(BOB))
    write(out / "carol_typical_bugs.ipynb", notebook(CAROL))
    write(out / "dave_untouched.ipynb", notebook(stubs))
    (out / "erin_module.py").write_text(MODULE)
    (out / "frank_broken.ipynb").write_text(
        '{"cells": [{"cell_type": "code", "source": "print(1)"\n'
    )
