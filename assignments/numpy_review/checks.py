"""Checks for numpy_review. Each probe runs inside the student's kernel (and once on the
reference); its result is compared outside the sandbox. Points total 100."""

from graders import allclose, check, helper

FLOAT = allclose(rtol=1e-5, atol=1e-8)
FLOAT32 = allclose(rtol=1e-4, atol=1e-6)  # float32 tensors: a few ulps either way


@helper
def _describe(value):
    """What a conversion returned: its type, dtype and values, so a message can say which
    one is wrong ("type: expected 'Tensor', got 'ndarray'")."""
    return {
        "type": type(value).__name__,
        "dtype": str(getattr(value, "dtype", "")),
        "values": value,
    }


# ----------------------------------------------------------------------------------------
# 1. standardize (16 points): broadcasting a row of column statistics over a matrix


@check(stub="standardize", points=6, compare=FLOAT, label="Z")
def standardize_example(student, ctx):
    """the notebook's 4x2 example"""
    import numpy as np

    X = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 60.0]])
    return student.standardize(X)


@check(stub="standardize", points=4, compare=FLOAT, label="Z")
def standardize_constant(student, ctx):
    """a column that never changes becomes zeros, not NaN"""
    import numpy as np

    X = np.array([[1.0, 5.0, -1.0], [3.0, 5.0, 0.0], [8.0, 5.0, 4.0]])
    return student.standardize(X)


@check(stub="standardize", points=6, hidden=True, cases=True, compare=FLOAT, label="Z")
def standardize_hidden(student, ctx):
    """hidden matrices of other shapes"""
    rng = ctx.rng()
    for n, d in [(5, 3), (2, 7), (40, 1)]:
        ctx.case(f"{n}x{d}", student.standardize, rng.normal(rng.uniform(-5, 5), 3.0, (n, d)))


# ----------------------------------------------------------------------------------------
# 2. pairwise_sq_dists (14 points): an (n, 1, d) minus a (1, m, d)


@check(stub="pairwise_sq_dists", points=6, compare=FLOAT, label="D")
def pairwise_example(student, ctx):
    """three points against two"""
    import numpy as np

    A = np.array([[0.0, 0.0], [1.0, 1.0], [3.0, -1.0]])
    B = np.array([[1.0, 0.0], [-2.0, 2.0]])
    return student.pairwise_sq_dists(A, B)


@check(stub="pairwise_sq_dists", points=8, hidden=True, cases=True, compare=FLOAT, label="D")
def pairwise_hidden(student, ctx):
    """hidden point sets, including one dimension and a single point"""
    rng = ctx.rng()
    for n, m, d in [(4, 6, 3), (1, 5, 2), (7, 1, 1), (10, 10, 8)]:
        A, B = rng.normal(size=(n, d)), rng.normal(size=(m, d))
        ctx.case(f"{n}x{m} in {d}-d", student.pairwise_sq_dists, A, B)


# ----------------------------------------------------------------------------------------
# 3. mse (10 points)


@check(stub="mse", points=5, compare=FLOAT, label="loss")
def mse_example(student, ctx):
    """the notebook's example"""
    import numpy as np

    return student.mse(np.array([3.0, -0.5, 2.0, 7.0]), np.array([2.5, 0.0, 2.0, 8.0]))


@check(stub="mse", points=5, hidden=True, cases=True, compare=FLOAT, label="loss")
def mse_hidden(student, ctx):
    """hidden targets, as vectors, as (n, 1) columns and as lists"""
    rng = ctx.rng()
    y, yhat = rng.normal(size=20), rng.normal(size=20)
    ctx.case("vectors", student.mse, y, yhat)
    ctx.case("columns", student.mse, y.reshape(-1, 1), yhat.reshape(-1, 1))
    ctx.case("lists", student.mse, list(y[:5]), list(yhat[:5]))


# ----------------------------------------------------------------------------------------
# 4. log_loss (15 points)


@check(stub="log_loss", points=5, compare=FLOAT, label="loss")
def log_loss_example(student, ctx):
    """the notebook's example"""
    import numpy as np

    return student.log_loss(np.array([1, 0, 1, 1]), np.array([0.9, 0.2, 0.6, 0.99]))


@check(stub="log_loss", points=5, compare=allclose(rtol=1e-3), label="loss")
def log_loss_extremes(student, ctx):
    """probabilities of exactly 0 and 1 give a finite loss (clip them to [eps, 1 - eps])"""
    import numpy as np

    return student.log_loss(np.array([1, 0, 1, 0]), np.array([1.0, 0.0, 0.0, 0.5]))


@check(stub="log_loss", points=5, hidden=True, cases=True, compare=FLOAT, label="loss")
def log_loss_hidden(student, ctx):
    """hidden labels and probabilities"""
    rng = ctx.rng()
    for k, n in enumerate((3, 50)):
        ctx.case(
            f"case {k + 1}", student.log_loss, rng.integers(0, 2, n), rng.uniform(0.01, 0.99, n)
        )


# ----------------------------------------------------------------------------------------
# 5. to_tensor and 6. to_numpy (10 points each)


@check(stub="to_tensor", points=6, compare=FLOAT32, label="tensor")
def to_tensor_array(student, ctx):
    """a float64 array becomes a float32 torch tensor of the same values"""
    import numpy as np

    return _describe(student.to_tensor(np.linspace(-2, 2, 9)))


@check(stub="to_tensor", points=4, cases=True, compare=FLOAT32, label="tensor")
def to_tensor_ints(student, ctx):
    """integer arrays and lists become float32 tensors too"""
    import numpy as np

    to_tensor = student.to_tensor
    ctx.case("ints", lambda: _describe(to_tensor(np.array([[1, 2], [3, 4]]))))
    ctx.case("list", lambda: _describe(to_tensor([0.5, 1.5, 2.5])))


@check(stub="to_numpy", points=4, compare=FLOAT, label="array")
def to_numpy_plain(student, ctx):
    """a plain tensor becomes a numpy array"""
    import torch

    return _describe(student.to_numpy(torch.arange(6, dtype=torch.float64).reshape(2, 3)))


@check(stub="to_numpy", points=6, compare=FLOAT32, label="array")
def to_numpy_grad(student, ctx):
    """a tensor that requires grad (like the notebook's w) becomes an array"""
    import torch

    w = torch.tensor([0.5, -1.5, 2.0], requires_grad=True)
    return _describe(student.to_numpy(w * 2))


# ----------------------------------------------------------------------------------------
# 7. quadratic_model (10 points) and 8. fit_quadratic (15 points, needs quadratic_model)


@check(stub="quadratic_model", points=4, compare=FLOAT, label="yhat")
def quadratic_numpy(student, ctx):
    """w * x**2 + b on a numpy array"""
    import numpy as np

    return student.quadratic_model(np.linspace(-2, 2, 5), 0.5, 1.0)


@check(stub="quadratic_model", points=6, compare=FLOAT32, label="grad")
def quadratic_grad(student, ctx):
    """gradients flow to w and b (the playground's w.grad = 2.7205, b.grad = 2)"""
    import numpy as np
    import torch

    x = np.linspace(-2, 2, 100)
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(x**2, dtype=torch.float32)
    w = torch.ones((), requires_grad=True)
    b = torch.ones((), requires_grad=True)
    loss = torch.nn.MSELoss()(student.quadratic_model(xt, w, b), yt)
    loss.backward()
    return {"w.grad": w.grad, "b.grad": b.grad}


@check(
    stub="fit_quadratic",
    points=8,
    compare=FLOAT32,
    label="fit",
    depends=[quadratic_numpy, quadratic_grad],
)
def fit_playground(student, ctx):
    """the playground (y = x**2 on 100 points, lr 0.1, 20 epochs)"""
    import numpy as np

    x = np.linspace(-2, 2, 100)
    w, b = student.fit_quadratic(x, x**2, 0.1, 20)
    return {"w": float(w), "b": float(b)}


@check(stub="fit_quadratic", points=7, hidden=True, cases=True, compare=FLOAT32, label="fit",
       depends=[quadratic_numpy, quadratic_grad])  # fmt: skip
def fit_hidden(student, ctx):
    """hidden curves, step sizes and epoch counts (zero epochs included)"""

    rng = ctx.rng()
    fit = student.fit_quadratic
    for k, epochs in enumerate((1, 15, 0)):
        x = rng.uniform(-3, 3, 30)
        y = rng.uniform(0.5, 2) * x**2 + rng.uniform(-1, 1) + rng.normal(0, 0.1, 30)
        lr = float(rng.uniform(0.005, 0.02))
        ctx.case(f"case {k + 1}", lambda *args: [float(v) for v in fit(*args)], x, y, lr, epochs)
