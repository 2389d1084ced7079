"""Reference solution for intro_ann. Never shipped to students, never enters a sandbox."""

import numpy as np
import torch


def gradient_descent(df, x0, lr, n_steps):
    xs = [float(x0)]
    for _ in range(n_steps):
        xs.append(xs[-1] - lr * df(xs[-1]))
    return xs


def perceptron_predict(X, w, b):
    return (np.asarray(X) @ np.asarray(w) + b > 0).astype(int)


def perceptron_train(X, y, lr, epochs):
    X = np.asarray(X, dtype=float)
    w = np.zeros(X.shape[1])
    b = 0.0
    for _ in range(epochs):
        for xi, yi in zip(X, y, strict=True):
            err = yi - perceptron_predict(xi[None, :], w, b)[0]
            w = w + lr * err * xi
            b = b + lr * err
    return w, b


def bce_loss(p, y):
    p = np.asarray(p, dtype=float)
    y = np.asarray(y, dtype=float)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def train(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for _ in range(epochs):
        yhat = model(X)
        loss = loss_fn(yhat, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def accuracy(probs, y, threshold=0.5):
    p = torch.as_tensor(probs).detach().reshape(-1)
    t = torch.as_tensor(y).detach().reshape(-1)
    return float(((p > threshold).long() == t.long()).float().mean())


def train_epoch(model, loader, loss_fn, optimizer, device):
    model.train()
    total, n = 0.0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()
        n += 1
    return total / n


def evaluate(model, loader, device):
    model.eval()
    correct, total = 0, 0
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            correct += (model(x).argmax(dim=1) == y).sum().item()
            total += len(y)
    return correct / total
