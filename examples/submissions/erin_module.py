"""Erin submits a plain module instead of a notebook."""

import numpy as np
import torch

def gradient_descent(df, x0, lr, n_steps):
    xs = [x0]
    for i in range(n_steps):
        xs.append(xs[-1] - lr * df(xs[-1]))
    return np.array(xs, dtype=np.float32)


def perceptron_predict(X, w, b):
    return np.where(X @ w + b > 0, 1, 0)


def perceptron_train(X, y, lr, epochs):
    w = np.zeros(X.shape[1])
    b = 0.0
    for epoch in range(epochs):
        for xi, yi in zip(X, y):
            err = yi - perceptron_predict(xi, w, b)
            w += lr * err * xi
            b += lr * err
    return w, b


def bce_loss(p, y):
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def train(model, loss_fn, optimizer, X, y, epochs):
    losses = []
    for epoch in range(epochs):
        yhat = model(X)
        loss = loss_fn(yhat, y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.detach())  # 0-d tensors: the checks take them, plt.plot too
    return losses


def accuracy(probs, y, threshold=0.5):
    preds = torch.where(torch.as_tensor(probs) > threshold, 1, 0).flatten()
    return (preds == torch.as_tensor(y)).float().mean().item()


def train_epoch(model, loader, loss_fn, optimizer, device):
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
    return np.mean(losses)


def evaluate(model, loader, device):
    correct = 0
    total = 0
    for x, y in loader:
        x = x.to(device)
        y = y.to(device)
        yhat = model(x)
        correct += (yhat.argmax(dim=1) == y).sum()
        total += len(y)
    return correct / total
