"""Known mistakes for numpy_review: each a variant of the reference, named in the feedback
when a failing check's result equals the variant's. Scores never change."""

import numpy as np
import torch
from torch import nn

from graders import mistake


@mistake(
    stub="standardize",
    title="statistics of the whole matrix, not per column",
    explain="Your result matches subtracting the mean (and dividing by the standard deviation) "
    "of the whole matrix, not of each column",
    hint="pass `axis=0` to `mean` and `std`: one statistic per column, broadcast over the rows",
)
def standardize_whole_matrix(X):
    X = np.asarray(X, dtype=float)
    std = X.std()
    return (X - X.mean()) / (std if std else 1.0)


@mistake(
    stub="standardize",
    title="sample standard deviation (ddof=1)",
    explain="Your result matches the sample standard deviation (`ddof=1`, pandas' default)",
    hint="use numpy's default `X.std(axis=0)` (ddof=0), as the docstring asks",
)
def standardize_ddof1(X):
    X = np.asarray(X, dtype=float)
    std = X.std(axis=0, ddof=1) if len(X) > 1 else np.zeros(X.shape[1])
    return (X - X.mean(axis=0)) / np.where(std == 0, 1.0, std)


@mistake(
    stub="pairwise_sq_dists",
    title="distances instead of squared distances",
    explain="Your result matches the distances themselves: the square root was taken",
    hint="return the sums of squared differences, without `np.sqrt`",
)
def pairwise_distances(A, B):
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    return np.sqrt(((A[:, None, :] - B[None, :, :]) ** 2).sum(axis=-1))


@mistake(
    stub="to_tensor",
    title="dtype kept from the input",
    explain="Your tensors keep the input's dtype (float64 from numpy, int64 from integers) "
    "instead of float32",
    hint="ask for float32: `torch.tensor(np.asarray(x), dtype=torch.float32)` or `.float()`",
)
def to_tensor_keeps_dtype(x):
    return torch.tensor(x)


@mistake(
    stub="fit_quadratic",
    title="forgot optimizer.zero_grad()",
    explain="Your fit matches what happens when gradients accumulate across epochs",
    hint="call `optimizer.zero_grad()` before `loss.backward()` in every epoch",
)
def fit_without_zero_grad(x, y, lr, epochs):
    xt, yt = to_tensor(x), to_tensor(y)  # noqa: F821 (the reference's)
    w = torch.ones((), requires_grad=True)
    b = torch.ones((), requires_grad=True)
    optimizer = torch.optim.SGD([w, b], lr=lr)
    for _ in range(epochs):
        loss = nn.MSELoss()(w * xt**2 + b, yt)
        loss.backward()
        optimizer.step()
    return w.item(), b.item()
