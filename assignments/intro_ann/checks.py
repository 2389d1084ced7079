"""Checks for intro_ann. Each probe runs inside the student's kernel (and once on the
reference); its result is compared outside the sandbox. Points total 100."""

from graders import Plot, allclose, check, helper, within

FLOAT = allclose(rtol=1e-4, atol=1e-6)  # float32 answers pass, wrong ones do not


@helper
def _torch_data(seed, n, batch, device):
    """A tiny FashionMNIST-shaped dataset (n images of 1x28x28, 10 classes) and its loader."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 10, (n,), generator=g)
    protos = torch.rand(10, 1, 28, 28, generator=g)
    x = (protos[y] + 0.5 * torch.rand(n, 1, 28, 28, generator=g)).clamp(0, 1)
    return DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=False)


@helper
def _linear_model(seed, device):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10)).to(device)


# ----------------------------------------------------------------------------------------
# 1. gradient_descent (12 points)


@check(
    stub="gradient_descent",
    points=4,
    compare=FLOAT,
    label="xs",
    plot=Plot("parabola", caption="Did we find the minimum? Your steps beside the reference's."),
)
def gd_example(student, ctx):
    """the notebook's example (f(x) = x**2 from x0 = 1, lr 0.1, 10 steps)"""
    return student.gradient_descent(lambda x: 2 * x, 1, 0.1, 10)


@check(stub="gradient_descent", points=2, compare=FLOAT, label="xs")
def gd_single_step(student, ctx):
    """a single step"""
    return student.gradient_descent(lambda x: 2 * (x - 3), -2.0, 0.25, 1)


@check(stub="gradient_descent", points=6, hidden=True, cases=True, compare=FLOAT, label="xs")
def gd_hidden(student, ctx):
    """hidden functions, starting points and step sizes"""
    rng = ctx.rng()
    gd = student.gradient_descent
    for k in range(4):
        a, c = float(rng.uniform(0.5, 3)), float(rng.uniform(-2, 2))
        x0, lr = float(rng.uniform(-5, 5)), float(rng.uniform(0.01, 0.15))
        n = int(rng.integers(3, 15))
        ctx.case(f"case {k + 1}", gd, lambda x, a=a, c=c: 2 * a * (x - c), x0, lr, n)
    ctx.case("zero steps", gd, lambda x: 2 * x, float(rng.uniform(1, 2)), 0.1, 0)


# ----------------------------------------------------------------------------------------
# 2. perceptron_predict (10 points)


# The docstring promises an int array, and the type is part of the lesson: a bool array
# (`X @ w + b > 0` without `.astype(int)`) compares equal but cannot be subtracted from
# another prediction (numpy refuses bool minus bool), so both checks ask for the type.


@check(
    stub="perceptron_predict",
    points=4,
    compare=allclose(dtype_kinds="iub"),
    label="predictions",
    types="strict",
)
def pp_example(student, ctx):
    """an AND gate (w = [1, 1], b = -1.5)"""
    import numpy as np

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    return student.perceptron_predict(X, np.array([1.0, 1.0]), -1.5)


@check(
    stub="perceptron_predict",
    points=6,
    hidden=True,
    cases=True,
    compare=allclose(dtype_kinds="iub"),
    label="predictions",
    types="strict",
)
def pp_hidden(student, ctx):
    """hidden inputs, including points exactly on the boundary"""
    import numpy as np

    rng = ctx.rng()
    X = rng.normal(size=(25, 3))
    w, b = rng.normal(size=3), float(rng.normal())
    Xb = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])  # X @ [1, 1] - 1 hits 0 exactly
    ctx.case("random", student.perceptron_predict, X, w, b)
    ctx.case("boundary", student.perceptron_predict, Xb, np.array([1.0, 1.0]), -1.0)


# ----------------------------------------------------------------------------------------
# 3. perceptron_train (14 points)


@check(stub="perceptron_train", points=6, compare=FLOAT, label="")
def pt_example(student, ctx):
    """learns an AND gate (lr 0.1, 10 epochs)"""
    import numpy as np

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 0, 0, 1])
    w, b = student.perceptron_train(X, y, 0.1, 10)
    return {"w": w, "b": b}


@check(stub="perceptron_train", points=8, hidden=True, cases=True, compare=FLOAT, label="")
def pt_hidden(student, ctx):
    """hidden separable data (weights after a few epochs), and integer inputs with 4 features"""
    import numpy as np

    def trained(X, y, lr, epochs):
        w, b = student.perceptron_train(X, y, lr, epochs)
        return {"w": w, "b": b}

    rng = ctx.rng()
    X = rng.normal(size=(30, 2))
    y = (X @ np.array([1.5, -2.0]) + 0.3 > 0).astype(int)
    lr, epochs = float(rng.uniform(0.05, 0.5)), int(rng.integers(2, 6))
    ctx.case("separable data", trained, X, y, lr, epochs)
    # The docstring: any d, ints too (the notebook's AND gate is 0/1 ints). A w that starts
    # as an int array, or code that assumes two features, fails here.
    Xi = rng.integers(0, 2, size=(12, 4))
    yi = (Xi @ np.array([1, 1, -1, 1]) >= 2).astype(int)
    ctx.case("integer inputs, 4 features", trained, Xi, yi, 0.1, 4)


# ----------------------------------------------------------------------------------------
# 4. bce_loss (10 points)
#
# Judgement calls, decided right (the docstring says so): clipping p before the log
# (np.clip(p, 1e-7, 1 - 1e-7), np.log(p + 1e-8)) and float32 arithmetic. They change the loss
# only for p within about 1e-6 of 0 or 1; the checks' probabilities stay in [0.02, 0.98], where
# the difference is far below FLOAT's rtol 1e-4, so no check may fail them.


@check(stub="bce_loss", points=4, compare=FLOAT, label="loss")
def bce_example(student, ctx):
    """four predictions (p = [0.9, 0.2, 0.7, 0.4], y = [1, 0, 1, 0])"""
    import numpy as np

    return student.bce_loss(np.array([0.9, 0.2, 0.7, 0.4]), np.array([1, 0, 1, 0]))


@check(stub="bce_loss", points=6, hidden=True, cases=True, compare=FLOAT, label="loss")
def bce_hidden(student, ctx):
    """hidden probabilities and labels"""
    rng = ctx.rng()
    for k in range(3):
        n = int(rng.integers(5, 40))
        ctx.case(
            f"case {k + 1}", student.bce_loss, rng.uniform(0.02, 0.98, n), rng.integers(0, 2, n)
        )
    ctx.case("one sample", student.bce_loss, rng.uniform(0.1, 0.9, 1), rng.integers(0, 2, 1))


# ----------------------------------------------------------------------------------------
# 5. train (16 points)


@check(
    stub="train", points=6, compare=FLOAT, label="",
    plot=Plot("line", key="losses", caption="The loss after each of the 100 epochs, yours beside "
              "the reference's."),
)  # fmt: skip
def train_regression(student, ctx):
    """the notebook's regression (nn.Linear, MSELoss, Adam lr 0.1, 100 epochs)"""
    import numpy as np
    import torch
    from torch import nn

    rs = np.random.RandomState(11)
    x = rs.randint(1, 31, size=15)
    y = 3 * x + 4 + rs.normal(size=len(x), scale=3)
    X = torch.tensor(x, dtype=torch.float32).reshape(-1, 1)
    Y = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
    torch.manual_seed(0)
    model = nn.Linear(1, 1)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = student.train(model, nn.MSELoss(), opt, X, Y, 100)
    return {"losses": losses, "weight": model.weight, "bias": model.bias}


# Losses that are tensors still attached to the graph (`losses.append(loss)`) compare equal,
# but keep every epoch's graph alive and break plt.plot: the type notes fail them (typenote.py).
# Detached tensors (`loss.detach()`) get a note and keep their points.


@check(stub="train", points=10, hidden=True, cases=True, compare=FLOAT, label="")
def train_hidden(student, ctx):
    """hidden binary classification (Sigmoid, BCELoss, SGD) from fixed initial weights, and
    three classes with class-index targets (CrossEntropyLoss)"""
    import torch
    from sklearn.datasets import make_blobs
    from torch import nn

    def trained(model, loss_fn, X, y, epochs):
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        losses = student.train(model, loss_fn, opt, X, y, epochs)
        return {"losses": losses, "weight": model[0].weight, "bias": model[0].bias}

    X, y = make_blobs(n_samples=80, centers=2, center_box=(-3, 3), random_state=ctx.seed % 1000)
    X = torch.tensor(X, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    torch.manual_seed(ctx.seed)
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    ctx.case("binary, BCELoss", trained, model, nn.BCELoss(), X, y, 25)
    # The docstring: y is whatever loss_fn takes. Code that reshapes or casts y for (N, 1)
    # float targets fails here.
    X3, y3 = make_blobs(n_samples=60, centers=3, random_state=ctx.seed % 1000 + 1)
    torch.manual_seed(ctx.seed + 1)
    model = nn.Sequential(nn.Linear(2, 3))
    X3, y3 = torch.tensor(X3, dtype=torch.float32), torch.tensor(y3, dtype=torch.long)
    ctx.case("3 classes, CrossEntropyLoss", trained, model, nn.CrossEntropyLoss(), X3, y3, 15)


# ----------------------------------------------------------------------------------------
# 6. accuracy (12 points)


@check(stub="accuracy", points=4, compare=allclose(atol=1e-6), label="accuracy")
def acc_example(student, ctx):
    """a Sigmoid model's (N, 1) probabilities against (N,) labels"""
    import torch

    # Five positives in eight: the two known mistakes whose accuracy is wrong at the default
    # threshold give different values here (threshold 0: 0.625, (N, 1) against (N,)
    # broadcast: 0.5; right: 0.875), so the public check alone can tell which it is.
    probs = torch.tensor([[0.91], [0.12], [0.55], [0.49], [0.03], [0.77], [0.62], [0.30]])
    y = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0])
    return student.accuracy(probs, y)


@check(
    stub="accuracy",
    points=8,
    hidden=True,
    cases=True,
    compare=allclose(atol=1e-6),
    label="accuracy",
)
def acc_hidden(student, ctx):
    """hidden probabilities, (N,) and (N, 1) shapes, another threshold"""
    import torch

    # The contract (the stub's docstring): torch tensors, probs (N,) or (N, 1), y (N,).
    rng = ctx.rng()
    n = int(rng.integers(20, 60))
    p = rng.uniform(0, 1, n)
    probs = torch.tensor(p, dtype=torch.float32)
    y = torch.tensor((rng.uniform(0, 1, n) < p).astype(float), dtype=torch.float32)
    ctx.case("(N,) tensor", student.accuracy, probs, y)
    ctx.case("(N, 1) tensor", student.accuracy, probs.unsqueeze(1), y)
    ctx.case("threshold 0.3", student.accuracy, probs, y, threshold=0.3)
    # The docstring: a probability equal to the threshold predicts 0 (probs > threshold).
    # 0.5 and 0.25 are exact in float32 and float64 alike, so no rounding decides this case.
    # Labels 0 at the threshold: `>` and `>=` give 1.0 and 4/6 at 0.5, 4/6 and 3/6 at 0.25.
    at = torch.tensor([0.5, 0.5, 0.25, 0.75, 0.9, 0.1])
    ya = torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0, 0.0])
    ctx.case("at the threshold", student.accuracy, at, ya)
    ctx.case("at threshold 0.25", student.accuracy, at, ya, threshold=0.25)
    # The docstring: probs may still require grad, as a model's output does.
    logits = torch.tensor(rng.normal(size=(n, 1)), dtype=torch.float32, requires_grad=True)
    ctx.case("probs that require grad", student.accuracy, torch.sigmoid(logits), y)


# ----------------------------------------------------------------------------------------
# 7. train_epoch (14 points)


@check(stub="train_epoch", points=6, compare=FLOAT, label="")
def te_example(student, ctx):
    """one epoch of Flatten + Linear on 60 images, batches of 10"""
    import torch
    from torch import nn

    loader = _torch_data(1, 60, 10, ctx.device)
    model = _linear_model(2, ctx.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = student.train_epoch(model, loader, nn.CrossEntropyLoss(), opt, ctx.device)
    return {"mean loss": loss, "bias after the epoch": model[1].bias}


@check(stub="train_epoch", points=8, hidden=True, compare=FLOAT, label="")
def te_hidden(student, ctx):
    """hidden data whose last batch is smaller than the rest"""
    import torch
    from torch import nn

    loader = _torch_data(ctx.seed, 47, 10, ctx.device)
    model = _linear_model(ctx.seed + 1, ctx.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loss = student.train_epoch(model, loader, nn.CrossEntropyLoss(), opt, ctx.device)
    return {"mean loss": loss, "bias after the epoch": model[1].bias}


# ----------------------------------------------------------------------------------------
# 8. evaluate (12 points)
#
# `grader verify intro_ann --mutants` leaves one survivor here on purpose: `correct += (...).sum()`
# without `.item()` returns a 0-d tensor. It is the right number; the type note says the
# docstring asks for a float, and it costs nothing (a 0-d tensor is not worth points). Mutants
# identical on every input, and why the checks leave them: a dropped `model.eval()` (here) or
# `model.train()` (train_epoch): the contract's models have no dropout or batch norm, nor does
# the course notebook's; in accuracy, dropped `.detach()`, `.long()` and y's `.reshape(-1)`:
# equivalent on every input the docstring promises (y is (N,)).


@check(stub="evaluate", points=5, compare=within(1e-6), label="accuracy")
def ev_example(student, ctx):
    """accuracy of a fixed model on 60 images, batches of 10"""
    return student.evaluate(
        _linear_model(3, ctx.device), _torch_data(4, 60, 10, ctx.device), ctx.device
    )


@check(stub="evaluate", points=7, hidden=True, compare=within(1e-6), label="accuracy")
def ev_hidden(student, ctx):
    """a partly trained model on hidden data whose last batch is smaller"""
    import torch
    from torch import nn

    model = _linear_model(ctx.seed, ctx.device)
    loader = _torch_data(ctx.seed + 7, 53, 10, ctx.device)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for x, y in list(loader)[:2]:  # a little training so that accuracy is neither 0 nor 1
        opt.zero_grad()
        nn.functional.cross_entropy(model(x.to(ctx.device)), y.to(ctx.device)).backward()
        opt.step()
    return student.evaluate(model, loader, ctx.device)
