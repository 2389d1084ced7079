"""A class for the similarity report: independent solutions of intro_ann in different styles,
and planted copies (renamed, reordered, commented, split across cells, one stub only).

Each independent student was written on its own, the way different students write: loops or
vectorised, numpy or torch, helper functions, other names. Right or wrong does not matter here.
"""

from __future__ import annotations

import re
from typing import Any

from nbformat.v4 import new_code_cell

INDEPENDENT: dict[str, dict[str, str]] = {
    "ana": {
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    xs = [x0]
    for _ in range(n_steps):
        xs.append(xs[-1] - lr * df(xs[-1]))
    return xs""",
        "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    w = np.zeros(X.shape[1])
    b = 0.0
    for _ in range(epochs):
        for xi, yi in zip(X, y):
            err = yi - perceptron_predict(xi[None, :], w, b)[0]
            w = w + lr * err * xi
            b = b + lr * err
    return w, b""",
        "bce_loss": """def bce_loss(p, y):
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))""",
        "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses""",
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    preds = (probs.reshape(-1) > threshold).float()
    return (preds == y).float().mean().item()""",
        "evaluate": """def evaluate(model, loader, device):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x.to(device))
            correct += (out.argmax(dim=1) == y.to(device)).sum().item()
            total += y.shape[0]
    return correct / total""",
    },
    "ben": {
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    history = np.empty(n_steps + 1)
    history[0] = x0
    for k in range(1, n_steps + 1):
        grad = df(history[k - 1])
        history[k] = history[k - 1] - lr * grad
    return list(history)""",
        "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    n_samples, n_features = X.shape
    weights = np.zeros(n_features)
    bias = 0.0
    epoch = 0
    while epoch < epochs:
        i = 0
        while i < n_samples:
            activation = np.dot(X[i], weights) + bias
            predicted = 1 if activation > 0 else 0
            update = lr * (y[i] - predicted)
            weights += update * X[i]
            bias += update
            i += 1
        epoch += 1
    return weights, bias""",
        "bce_loss": """def bce_loss(p, y):
    total = 0.0
    for pi, yi in zip(p, y):
        if yi == 1:
            total -= math.log(pi)
        else:
            total -= math.log(1 - pi)
    return total / len(p)""",
        "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    history = []
    for e in range(epochs):
        prediction = model(X)
        cost = loss_fn(prediction, y)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        history.append(float(cost.detach()))
    return history""",
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    labels = torch.where(probs.view(-1) > threshold, 1.0, 0.0)
    n_right = int((labels == y.view(-1)).sum())
    return n_right / len(y)""",
        "evaluate": """def evaluate(model, loader, device):
    hits, seen = 0, 0
    for batch_x, batch_y in loader:
        batch_x, batch_y = batch_x.to(device), batch_y.to(device)
        with torch.no_grad():
            logits = model(batch_x)
        guess = torch.argmax(logits, dim=1)
        hits += int(torch.sum(guess == batch_y))
        seen += len(batch_y)
    return hits / seen""",
    },
    "chen": {
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    points = [float(x0)]
    x = float(x0)
    step = 0
    while step < n_steps:
        x -= lr * df(x)
        points.append(x)
        step += 1
    return points""",
        "perceptron_train": """def _step(w, b, x, target, lr):
    out = int(x @ w + b > 0)
    delta = target - out
    return w + lr * delta * x, b + lr * delta


def perceptron_train(X, y, lr, epochs):
    w, b = np.zeros(len(X[0])), 0.0
    for _ in range(epochs):
        for idx in range(len(X)):
            w, b = _step(w, b, X[idx], y[idx], lr)
    return w, b""",
        "bce_loss": """def bce_loss(p, y):
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    y = np.asarray(y, dtype=float)
    terms = y * np.log(p) + (1.0 - y) * np.log(1.0 - p)
    return -terms.sum() / terms.size""",
        "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    out = []
    for _ in range(epochs):
        optimizer.zero_grad()
        l = loss_fn(model.forward(X), y)
        l.backward()
        optimizer.step()
        out += [l.item()]
    return out""",
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    p = probs.detach().numpy().ravel()
    t = y.detach().numpy().ravel()
    return float(np.mean((p > threshold).astype(int) == t))""",
        "evaluate": """def evaluate(model, loader, device):
    results = []
    model.eval()
    with torch.no_grad():
        for inputs, labels in loader:
            predicted = model(inputs.to(device)).argmax(1).cpu()
            results.append(predicted == labels)
    return torch.cat(results).float().mean().item()""",
    },
    "dara": {
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    def step(x):
        return x - lr * df(x)

    trajectory = [x0]
    current = x0
    for i in range(n_steps):
        current = step(current)
        trajectory.append(current)
    return trajectory""",
        "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    X = np.array(X, dtype=float)
    w = np.zeros(X.shape[1])
    b = 0
    for ep in range(epochs):
        for row, label in zip(X, y):
            yhat = perceptron_predict(row.reshape(1, -1), w, b)[0]
            if yhat != label:
                w += lr * (label - yhat) * row
                b += lr * (label - yhat)
    return w, float(b)""",
        "bce_loss": """def bce_loss(p, y):
    pt = torch.tensor(p, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    return torch.nn.functional.binary_cross_entropy(pt, yt).item()""",
        "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    recorded = [None] * epochs
    for i in range(epochs):
        optimizer.zero_grad()
        current_loss = loss_fn(model(X), y)
        current_loss.backward()
        optimizer.step()
        recorded[i] = current_loss.item()
    return recorded""",
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    flat = probs.flatten()
    good = 0
    for prob, label in zip(flat.tolist(), y.tolist()):
        good += int((prob > threshold) == bool(label))
    return good / len(flat)""",
        "evaluate": """def evaluate(model, loader, device):
    n_correct = 0
    n_total = 0
    for data, target in loader:
        data = data.to(device)
        target = target.to(device)
        scores = model(data)
        n_correct += scores.argmax(dim=1).eq(target).sum().item()
        n_total += target.numel()
    return n_correct / n_total""",
    },
    "emil": {
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    xs = np.zeros(n_steps + 1)
    xs[0] = x0
    for t in range(n_steps):
        xs[t + 1] = xs[t] - lr * df(xs[t])
    return xs.tolist()""",
        "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    d = X.shape[1]
    theta = np.zeros(d + 1)
    Xb = np.hstack([X, np.ones((len(X), 1))])
    for _ in range(epochs):
        for xb, t in zip(Xb, y):
            o = 1 if xb @ theta > 0 else 0
            theta += lr * (t - o) * xb
    return theta[:d], theta[d]""",
        "bce_loss": """def bce_loss(p, y):
    losses = -(y * np.log(p)) - (1 - y) * np.log(1 - p)
    return np.mean(losses)""",
        "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    epoch_losses = []
    for n in range(epochs):
        yp = model(X)
        err = loss_fn(yp, y)
        optimizer.zero_grad()
        err.backward()
        optimizer.step()
        epoch_losses.append(err.detach().cpu().item())
    return epoch_losses""",
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    guesses = probs.squeeze(-1) > threshold
    return torch.mean((guesses.long() == y.long()).float()).item()""",
        "evaluate": """def evaluate(model, loader, device):
    model.eval()
    right = []
    with torch.no_grad():
        for xb, yb in loader:
            right.extend((model(xb.to(device)).argmax(dim=1) == yb.to(device)).tolist())
    return sum(right) / len(right)""",
    },
    "fern": {
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    return functools.reduce(
        lambda acc, _: acc + [acc[-1] - lr * df(acc[-1])], range(n_steps), [x0]
    )""",
        "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    weight_vec = np.zeros(np.shape(X)[1], dtype=float)
    intercept = 0.0
    for _epoch in range(epochs):
        for k, sample in enumerate(X):
            error = y[k] - (1 if sample.dot(weight_vec) + intercept > 0 else 0)
            weight_vec = weight_vec + lr * error * sample
            intercept = intercept + lr * error
    return weight_vec, intercept""",
        "bce_loss": """def bce_loss(p, y):
    eps = 1e-9
    p = np.array(p)
    return -np.average(np.where(np.array(y) == 1, np.log(p + eps), np.log(1 - p + eps)))""",
        "train": """def train(model, loss_fn, optimizer, X, y, epochs):
    def one_epoch():
        optimizer.zero_grad()
        value = loss_fn(model(X), y)
        value.backward()
        optimizer.step()
        return value.item()

    return [one_epoch() for _ in range(epochs)]""",
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    yhat = np.where(probs.detach().cpu().numpy().reshape(-1) > threshold, 1, 0)
    return (yhat == y.cpu().numpy()).mean()""",
        "evaluate": """def evaluate(model, loader, device):
    tally = {"ok": 0, "all": 0}
    with torch.inference_mode():
        for features, classes in iter(loader):
            best = model(features.to(device)).max(dim=1).indices
            tally["ok"] += (best.cpu() == classes).sum().item()
            tally["all"] += classes.size(0)
    return tally["ok"] / tally["all"]""",
    },
}

STUBS = ("gradient_descent", "perceptron_train", "bce_loss", "train", "accuracy", "evaluate")

# Renamed names in ben's code for the planted copies: every local name and parameter changes.
RENAMES = {
    "history": "hist_list", "grad": "g", "n_samples": "rows", "n_features": "cols",
    "weights": "wts", "bias": "offset", "epoch": "ep", "activation": "act",
    "predicted": "guess_label", "update": "delta_w", "total": "acc_loss", "pi": "prob",
    "yi": "lab", "prediction": "model_out", "cost": "objective", "labels": "lbls",
    "n_right": "num_ok", "hits": "good", "seen": "count", "batch_x": "inp",
    "batch_y": "tgt", "logits": "raw", "guess": "pick",
}  # fmt: skip


def rename(code: str) -> str:
    return re.sub(r"\b(\w+)\b", lambda m: RENAMES.get(m.group(1), m.group(1)), code)


def _comment(code: str) -> str:
    """Comments on every other line and blank lines inside the function."""
    lines = code.split("\n")
    out = []
    for i, line in enumerate(lines):
        out.append(line + ("  # my own idea" if i % 2 and not line.endswith(":") else ""))
        if i == 1:
            out.append("")
            out.append("    # (worked this out in office hours)")
    return "\n".join(out)


def planted() -> dict[str, dict[str, str]]:
    """zoe: ben's whole notebook renamed, commented, with the stubs in another order (the
    split across cells happens in :func:`notebooks`). yuri: ana's own code everywhere, except
    `train`, which is chen's, renamed; the other stubs are yuri's own."""
    zoe = {s: _comment(rename(INDEPENDENT["ben"][s])) for s in reversed(STUBS)}
    yuri = {
        "gradient_descent": """def gradient_descent(df, x0, lr, n_steps):
    out = [x0]
    while len(out) <= n_steps:
        prev = out[-1]
        out.append(prev - lr * df(prev))
    return out""",
        "perceptron_train": """def perceptron_train(X, y, lr, epochs):
    W = np.zeros(X.shape[-1])
    B = 0.0
    for _ in range(epochs):
        preds_changed = False
        for j in range(X.shape[0]):
            out = np.heaviside(X[j] @ W + B, 0)
            W, B = W + lr * (y[j] - out) * X[j], B + lr * (y[j] - out)
    return W, B""",
        "bce_loss": """def bce_loss(p, y):
    return float(sklearn.metrics.log_loss(y, p, labels=[0, 1]))""",
        "train": rename(INDEPENDENT["chen"]["train"])
        .replace("out", "loss_log")
        .replace(" l ", " batch_loss "),
        "accuracy": """def accuracy(probs, y, threshold=0.5):
    return ((probs > threshold).squeeze().int() == y.int()).sum().item() / y.numel()""",
        "evaluate": """def evaluate(model, loader, device):
    correct_count = 0
    for inputs, expected in loader:
        with torch.no_grad():
            o = model(inputs.to(device))
        correct_count += (o.argmax(-1) == expected.to(device)).count_nonzero().item()
    return correct_count / len(loader.dataset)""",
    }
    return {"zoe": zoe, "yuri": yuri}


# (copy, original, stub or None for the whole submission)
PLANTED_PAIRS = [("zoe", "ben", None), ("yuri", "chen", "train")]


def notebooks(notebook: Any, template: dict[str, str]) -> dict[str, Any]:
    """Every student's notebook (the template with their stubs). zoe's cells are split: each
    stub's code is spread over two cells (imports and a helper in one, the function next)."""
    students = {**INDEPENDENT, **planted()}
    out = {name: notebook({**template, **stubs}) for name, stubs in students.items()}
    for nb in out.values():
        nb.cells.insert(1, new_code_cell("import functools\nimport math\n\nimport sklearn.metrics"))
    nb = out["zoe"]
    # zoe splits ben's evaluate over two cells: a helper and the function that uses it
    idx = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def evaluate"))
    src = nb.cells[idx].source
    nb.cells[idx].source = "def _count(pick, tgt):\n    return int(torch.sum(pick == tgt))"
    uses = src.replace("int(torch.sum(pick == tgt))", "_count(pick, tgt)")
    nb.cells.insert(idx + 1, new_code_cell(uses))
    # and reorders: evaluate's two cells move to the top, before gradient_descent
    moved = [nb.cells.pop(idx), nb.cells.pop(idx)]
    first = next(i for i, c in enumerate(nb.cells) if c.source.startswith("def gradient_descent"))
    nb.cells[first:first] = moved
    return out
