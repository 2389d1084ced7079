"""Reference solution for numpy_review. Never shipped to students, never enters a sandbox."""

import numpy as np
import torch
from torch import nn


def standardize(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=0)
    safe = np.where(std == 0, 1.0, std)
    return (X - X.mean(axis=0)) / safe


def pairwise_sq_dists(A, B):
    A = np.asarray(A, dtype=float)
    B = np.asarray(B, dtype=float)
    return ((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1)


def mse(y, yhat):
    return float(np.mean((np.asarray(y, dtype=float) - np.asarray(yhat, dtype=float)) ** 2))


def log_loss(y, p, eps=1e-7):
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def to_tensor(x):
    return torch.tensor(np.asarray(x), dtype=torch.float32)


def to_numpy(t):
    return t.detach().cpu().numpy()


def quadratic_model(x, w, b):
    return w * x**2 + b


def fit_quadratic(x, y, lr, epochs):
    xt, yt = to_tensor(x), to_tensor(y)
    w = torch.ones((), requires_grad=True)
    b = torch.ones((), requires_grad=True)
    loss_fn = nn.MSELoss()
    optimizer = torch.optim.SGD([w, b], lr=lr)
    for _ in range(epochs):
        loss = loss_fn(quadratic_model(xt, w, b), yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return w.item(), b.item()
