"""Known mistakes for intro_ann: the course's typical slips, each a variant of the reference.
When a check fails and the student's result equals one of these variants' results, the
feedback names the mistake above the numbers. Scores never change.

Not here, because no check's result can show them: a forgotten ``model.train()`` or a missing
``torch.no_grad()`` in evaluation change nothing for the course's models (no dropout, no batch
norm; gradients do not change an accuracy)."""

import numpy as np
import torch

from graders import mistake

# ----------------------------------------------------------------------------------------
# gradient_descent


@mistake(
    stub="gradient_descent",
    title="gradient ascent instead of descent",
    explain="Your steps match gradient ascent: x moves uphill, along the gradient",
    hint="step against the gradient, x_k = x_{k-1} - lr * df(x_{k-1})",
)
def gd_ascent(df, x0, lr, n_steps):
    xs = [float(x0)]
    for _ in range(n_steps):
        xs.append(xs[-1] + lr * df(xs[-1]))
    return xs


@mistake(
    stub="gradient_descent",
    title="one step too many",
    explain="Your list has one step more than asked for (an off-by-one in the loop)",
    hint="take exactly n_steps steps: the list holds x0 and then n_steps more values",
)
def gd_one_step_too_many(df, x0, lr, n_steps):
    xs = [float(x0)]
    for _ in range(n_steps + 1):
        xs.append(xs[-1] - lr * df(xs[-1]))
    return xs


@mistake(
    stub="gradient_descent",
    title="x0 left out of the list",
    explain="Your list matches the steps without the starting point x0",
    hint="start the list with x0, then append each step: it holds n_steps + 1 values",
)
def gd_without_x0(df, x0, lr, n_steps):
    xs, x = [], float(x0)
    for _ in range(n_steps):
        x = x - lr * df(x)
        xs.append(x)
    return xs


# ----------------------------------------------------------------------------------------
# perceptron_predict and perceptron_train


@mistake(
    stub="perceptron_predict",
    title="points on the boundary predicted 1",
    explain="Your predictions match `>= 0`: points exactly on the boundary (X @ w + b == 0) get 1",
    hint="predict 1 only where X @ w + b > 0, strictly",
)
def pp_boundary(X, w, b):
    return (np.asarray(X) @ np.asarray(w) + b >= 0).astype(int)


@mistake(
    stub="perceptron_train",
    title="perceptron updated with the prediction, not the error",
    explain="Your weights match updates by the prediction instead of the error",
    hint="update with err = y_i - prediction(x_i): w += lr * err * x_i, b += lr * err",
)
def pt_prediction_update(X, y, lr, epochs):
    X = np.asarray(X, dtype=float)
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(epochs):
        for xi in X:
            pred = perceptron_predict(xi[None, :], w, b)[0]  # noqa: F821 (the reference's)
            w = w + lr * pred * xi
            b = b + lr * pred
    return w, b


# ----------------------------------------------------------------------------------------
# bce_loss


@mistake(
    stub="bce_loss",
    title="sum instead of mean (BCE)",
    explain="Your loss matches the sum over the samples instead of their mean",
    hint="average over the samples (np.mean), so the loss does not grow with N",
)
def bce_sum(p, y):
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    return float(-np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))


# ----------------------------------------------------------------------------------------
# train


@mistake(
    stub="train",
    title="forgot optimizer.zero_grad()",
    explain="Your losses match what happens when gradients accumulate across epochs",
    hint="call `optimizer.zero_grad()` before `loss.backward()` in every epoch",
)
def train_without_zero_grad(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for _ in range(epochs):
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


@mistake(
    stub="train",
    title="zero_grad() between backward() and step()",
    explain="Your model never learns: the gradients are cleared after `loss.backward()` and "
    "before `optimizer.step()`, so every step is zero",
    hint="order each epoch as zero_grad, forward, loss, backward, step",
)
def train_zero_grad_after_backward(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for _ in range(epochs):
        loss = loss_fn(model(X), y)
        loss.backward()
        optimizer.zero_grad()
        optimizer.step()
        losses.append(loss.item())
    return losses


# ----------------------------------------------------------------------------------------
# accuracy


@mistake(
    stub="accuracy",
    title="threshold 0 on probabilities",
    explain="Your accuracy matches predictions `probs > 0`: every probability is above 0, "
    "so everything is predicted 1",
    hint="compare the probabilities with the threshold (0.5 by default), not with 0",
)
def acc_threshold_zero(probs, y, threshold=0.5):
    p = torch.as_tensor(probs).detach().reshape(-1)
    return float(((p > 0).long() == torch.as_tensor(y).long()).float().mean())


@mistake(
    stub="accuracy",
    title="(N, 1) against (N,) broadcast into N x N",
    explain="Your accuracy matches comparing (N, 1) predictions with (N,) labels, which "
    "broadcasts into an N x N table of every prediction against every label",
    hint="flatten the predictions first (`probs.flatten()` or `.squeeze(1)`)",
)
def acc_broadcast(probs, y, threshold=0.5):
    return float(((probs > threshold).long() == torch.as_tensor(y).long()).float().mean())


@mistake(
    stub="accuracy",
    title="threshold argument ignored",
    explain="Your accuracy matches a threshold of 0.5 whatever `threshold` is passed",
    hint="use the `threshold` parameter instead of a fixed 0.5",
)
def acc_fixed_threshold(probs, y, threshold=0.5):
    p = torch.as_tensor(probs).detach().reshape(-1)
    return float(((p > 0.5).long() == torch.as_tensor(y).long()).float().mean())


# ----------------------------------------------------------------------------------------
# train_epoch and evaluate


@mistake(
    stub="train_epoch",
    title="sum of batch losses instead of their mean",
    explain="Your epoch loss matches the sum of the batch losses instead of their mean",
    hint="divide the total by the number of batches",
)
def te_sum(model, loader, loss_fn, optimizer, device):
    model.train()
    total = 0.0
    for x, yb in loader:
        x, yb = x.to(device), yb.to(device)
        loss = loss_fn(model(x), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total


@mistake(
    stub="train_epoch",
    title="forgot optimizer.zero_grad() (per batch)",
    explain="Your epoch matches what happens when gradients accumulate from batch to batch",
    hint="call `optimizer.zero_grad()` before `loss.backward()` for every batch",
)
def te_without_zero_grad(model, loader, loss_fn, optimizer, device):
    model.train()
    total, n = 0.0, 0
    for x, yb in loader:
        x, yb = x.to(device), yb.to(device)
        loss = loss_fn(model(x), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
        n += 1
    return total / n


@mistake(
    stub="evaluate",
    title="mean of per-batch accuracies",
    explain="Your accuracy matches the mean of the per-batch accuracies, which weighs the "
    "last, smaller batch like the full ones",
    hint="count correct predictions and samples over all batches, then divide once",
)
def ev_batch_mean(model, loader, device):
    model.eval()
    accs = []
    with torch.no_grad():
        for x, yb in loader:
            x, yb = x.to(device), yb.to(device)
            accs.append((model(x).argmax(dim=1) == yb).float().mean().item())
    return sum(accs) / len(accs)


@mistake(
    stub="evaluate",
    title="argmax over the batch axis",
    explain="Your accuracy matches `argmax(dim=0)`, the most likely sample per class, instead "
    "of the most likely class per sample",
    hint="take `model(x).argmax(dim=1)`: one class per row",
    checks=["ev_example"],  # with a smaller last batch the shapes no longer fit: it raises
)
def ev_argmax_dim0(model, loader, device):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for x, yb in loader:
            x, yb = x.to(device), yb.to(device)
            correct += (model(x).argmax(dim=0) == yb).sum().item()
            total += len(yb)
    return correct / total
