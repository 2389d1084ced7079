"""Checks for fashion_lab. Each probe runs inside the student's kernel (and once on the
reference); its result is compared outside the sandbox. Points total 100.

The stubs are a method (``FashionCSV.__getitem__``: the template gives the rest of the class)
and a class (``FashionNet``: ``__init__`` and ``forward``). Probes reach them as they reach
functions: ``student.FashionCSV(path)[i]``, ``student.FashionNet(hidden)(x)``.
"""

from graders import allclose, check, helper

FLOAT32 = allclose(rtol=1e-4, atol=1e-6)  # float32 tensors: a few ulps either way


@helper
def _item(sample):
    """One sample as the checks compare it: the image's shape, dtype and values, the label."""
    image, label = sample
    return {
        "shape": str(tuple(image.shape)),
        "dtype": str(image.dtype),
        "image": image,
        "label": int(label),
    }


@helper
def _fixed_weights(net, seed):
    """Every Linear layer's weights from ``seed`` and its own shape, so that two nets of the
    same architecture compute the same function however their layers are named, nested or
    ordered (nn.Sequential or attributes, any order of definition)."""
    import torch

    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, torch.nn.Linear):
                fan_out, fan_in = layer.weight.shape
                g = torch.Generator().manual_seed(seed * 1000003 + fan_in * 1009 + fan_out)
                layer.weight.copy_((torch.rand(layer.weight.shape, generator=g) - 0.5) / 8)
                if layer.bias is not None:
                    layer.bias.copy_((torch.rand(layer.bias.shape, generator=g) - 0.5) / 8)
    return net


# ----------------------------------------------------------------------------------------
# 1. FashionCSV.__getitem__ (50 points): a Dataset over the CSV shipped with the lab


@check(stub="FashionCSV.__getitem__", points=20, compare=FLOAT32, label="")
def getitem_first(student, ctx):
    """the first image of data/fashion_sample.csv"""
    return _item(student.FashionCSV("data/fashion_sample.csv")[0])


@check(stub="FashionCSV.__getitem__", points=10, cases=True, compare=FLOAT32, label="")
def getitem_batches(student, ctx):
    """a DataLoader batches the samples"""
    from torch.utils.data import DataLoader

    data = student.FashionCSV("data/fashion_sample.csv")
    x, y = next(iter(DataLoader(data, batch_size=8)))
    ctx.case("images", lambda: {"shape": str(tuple(x.shape)), "mean": x.mean()})
    ctx.case("labels", lambda: y)


@check(
    stub="FashionCSV.__getitem__", points=20, hidden=True, cases=True, compare=FLOAT32,
    label="", files=["holdout.csv"],
)  # fmt: skip
def getitem_hidden(student, ctx):
    """another CSV file (the instructor's hold-out images), other rows"""
    import os
    import tempfile

    path = os.path.join(tempfile.mkdtemp(), "holdout.csv")
    with open(path, "wb") as f:  # from hidden_data/: never in the student bundle
        f.write(ctx.hidden_file("holdout.csv"))
    data = student.FashionCSV(path)
    for i in sorted(ctx.rng().choice(len(data), size=3, replace=False)):
        ctx.case(f"row {i}", lambda i=int(i): _item(data[i]))


# ----------------------------------------------------------------------------------------
# 2. FashionNet (50 points): an nn.Module subclass


@check(stub="FashionNet", points=15, compare=FLOAT32, label="")
def net_shape(student, ctx):
    """logits of shape (N, 10) and the layers' sizes"""
    import torch

    net = student.FashionNet()
    out = net(torch.zeros(4, 1, 28, 28))
    return {
        "output shape": str(tuple(out.shape)),
        "parameters": sum(p.numel() for p in net.parameters()),
    }


@check(stub="FashionNet", points=15, compare=FLOAT32, label="logits")
def net_forward(student, ctx):
    """the logits of the sample's first images, with fixed weights"""
    import numpy as np
    import torch

    table = np.loadtxt("data/fashion_sample.csv", delimiter=",", skiprows=1)
    x = torch.tensor(table[:6, 1:] / 255, dtype=torch.float32).reshape(6, 1, 28, 28)
    with torch.no_grad():
        return _fixed_weights(student.FashionNet(), 1)(x)


@check(
    stub="FashionNet", points=20, hidden=True, cases=True, compare=FLOAT32, label="logits",
    depends=[net_shape],
)  # fmt: skip
def net_hidden(student, ctx):
    """other widths, batch sizes and images"""
    import torch

    g = torch.Generator().manual_seed(ctx.seed)
    for hidden, n in ((16, 1), (100, 5), (7, 3)):
        x = torch.rand(n, 1, 28, 28, generator=g)

        def logits(hidden=hidden, x=x):
            with torch.no_grad():
                return _fixed_weights(student.FashionNet(hidden), ctx.seed % 997)(x)

        ctx.case(f"hidden={hidden}, {n} images", logits)
