"""Build assignments/intro_ann/template.ipynb and the example submissions from one source.

The template is the course's "Intro ANN" notebook with the exercises turned into stubs. The
examples replace stub bodies with correct or typically wrong code. Run: python tools/build_template.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from graders.authoring.scaffold import template_notebook

ROOT = Path(__file__).resolve().parent.parent

STUBS = {
    "gradient_descent": '''def gradient_descent(df, x0, lr, n_steps):
    """Return [x0, x1, ..., x_n_steps] with x_k = x_{k-1} - lr * df(x_{k-1})."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "perceptron_predict": '''def perceptron_predict(X, w, b):
    """Return a numpy int array of 0/1: 1 where X @ w + b > 0."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "perceptron_train": '''def perceptron_train(X, y, lr, epochs):
    """Start from w = zeros(d), b = 0.0; each epoch visit the samples in order and update
    w += lr * err * x_i, b += lr * err with err = y_i - prediction(x_i). Return (w, b).
    X is (N, d) for any d, floats or ints (like the AND gate's 0/1 inputs); y is 0/1."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "bce_loss": '''def bce_loss(p, y):
    """Binary cross-entropy of probabilities p against labels y (numpy), as a float.
    p is strictly between 0 and 1: clipping it (np.clip(p, 1e-7, 1 - 1e-7)) is allowed, not
    needed, and float32 arithmetic is fine."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "train": '''def train(model, loss_fn, optimizer, X, y, epochs):
    """Full-batch training: each epoch forward, loss, zero the gradients, backward, step.
    Return the list of the per-epoch loss values (floats: loss.item()). y is whatever loss_fn
    takes: (N, 1) floats for MSELoss or BCELoss, (N,) class indices for CrossEntropyLoss."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "accuracy": '''def accuracy(probs, y, threshold=0.5):
    """Fraction of correct 0/1 predictions (probs > threshold), as a float. probs and y are
    torch tensors, like a Sigmoid model's output and its labels: probs (N,) or (N, 1), y (N,).
    probs may still require grad; a probability equal to the threshold predicts 0."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "train_epoch": '''def train_epoch(model, loader, loss_fn, optimizer, device):
    """One pass over loader (moving each batch to device); return the mean batch loss, a
    float (loss.item())."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
    "evaluate": '''def evaluate(model, loader, device):
    """Accuracy (a float) of model(x).argmax(dim=1) over every sample in loader."""
    # YOUR CODE HERE
    raise NotImplementedError()''',
}


def cells(stub: dict[str, str]) -> list[nbformat.NotebookNode]:
    md, code = new_markdown_cell, new_code_cell
    skip = {"tags": ["skip-grading"]}
    return [
        md(
            "# Intro ANN\n\n- Review numpy and pytorch\n- Perceptron with numpy and pytorch\n"
            "- Training a basic network with pytorch\n\nFill in every function that raises "
            "`NotImplementedError`. Check your work with `grader check <this notebook>`."
        ),
        code("import os\n\nimport matplotlib.pyplot as plt\nimport numpy as np\nimport torch"),
        md(
            "## Derivatives and Gradients for Optimization\n\nConsider $f(x) = x^2$. We walk on the "
            "tangent line in the negative direction of the slope:\n\n"
            "$$x_n = x_{n-1} - \\alpha f'(x_{n-1})$$\n\nStart at the point $(1, 1)$: the slope "
            "of the tangent line is $f'(1) = 2$."
        ),
        code(
            "def f(x):\n    return x**2\n\n\ndef df(x):\n    return 2 * x\n\n\n"
            "x = np.linspace(-2, 2, 100)\nplt.plot(x, f(x))\nplt.plot(1, 1, 'ro');"
        ),
        code("# start - step * slope\n1 - .1 * (2 * 1)"),
        md(
            "**PROBLEM 1.** Complete `gradient_descent` so that it returns the list "
            "`[x0, x1, ..., x_n_steps]`."
        ),
        code(stub["gradient_descent"]),
        code(
            "xs = np.array(gradient_descent(df, 1, 0.1, 10))\nplt.plot(x, f(x))\n"
            "plt.plot(xs, f(xs), 'ro')\nplt.title('Did we find the minimum?')\nplt.grid();"
        ),
        md(
            "## The perceptron with numpy\n\nA perceptron predicts 1 where $Xw + b > 0$ and "
            "learns by nudging $w$ and $b$ by each mistake.\n\n**PROBLEM 2.** `perceptron_predict`."
            "\n\n**PROBLEM 3.** `perceptron_train`."
        ),
        code(stub["perceptron_predict"]),
        code(stub["perceptron_train"]),
        code(
            "from sklearn.datasets import make_blobs\n\n"
            "X, y = make_blobs(centers=2, center_box=(-3, 3), random_state=22)\n"
            "w, b = perceptron_train(X, y, 0.1, 10)\n"
            "print('perceptron accuracy:', (perceptron_predict(X, w, b) == y).mean())"
        ),
        md(
            "## Introduction to Artificial Neural Networks: playground\n\nThe model "
            "`w*x**2 + b` fitted with `MSELoss` and `SGD`."
        ),
        code(
            "import torch.nn as nn\nimport torch.optim as optim\n\n"
            "xt = torch.tensor(x, dtype=torch.float32)\nyt = torch.tensor(f(x), dtype=torch.float32)\n"
            "loss_fn = nn.MSELoss()\n\n\ndef model(x, w, b):\n    return w * x**2 + b\n\n\n"
            "w = torch.ones((), requires_grad=True)\nb = torch.ones((), requires_grad=True)\n"
            "optimizer = optim.SGD([w, b], lr=0.1)\nfor epoch in range(20):\n"
            "    loss = loss_fn(model(xt, w, b), yt)\n    optimizer.zero_grad()\n"
            "    loss.backward()\n    optimizer.step()\nw, b"
        ),
        md(
            "## Pytorch and Regression\n\n**PROBLEM 4.** Write `train`: full-batch training that "
            "returns the loss of every epoch."
        ),
        code(stub["train"]),
        code(
            "np.random.seed(11)\nx = np.random.randint(1, 31, size=15)\n"
            "y = 3 * x + 4 + np.random.normal(size=len(x), scale=3)\n"
            "xt = torch.tensor(x, dtype=torch.float32).reshape(-1, 1)\n"
            "yt = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)\n"
            "model = nn.Linear(in_features=1, out_features=1)\n"
            "optimizer = optim.Adam(model.parameters(), lr=0.1)\n"
            "losses = train(model, nn.MSELoss(), optimizer, xt, yt, 100)\n"
            "plt.plot(losses, '--r')\nplt.title('Training Loss');"
        ),
        md(
            "## Binary Classification\n\nA Sigmoid at the end turns the output into probabilities; "
            "the loss is the binary cross-entropy:\n\n"
            "$$\\text{BCE} = -\\frac{1}{n} \\sum_{i=1}^n y_i \\log(p_i) + (1 - y_i)\\log(1 - p_i)$$"
            "\n\n**PROBLEM 5.** `bce_loss` in numpy.\n\n**PROBLEM 6.** `accuracy`: careful, the "
            "model returns probabilities of shape `(N, 1)` and they are compared with a threshold."
        ),
        code(stub["bce_loss"]),
        code(stub["accuracy"]),
        code(
            "X, y = make_blobs(centers=2, center_box=(-3, 3), random_state=22)\n"
            "X = torch.tensor(X, dtype=torch.float32)\ny = torch.tensor(y, dtype=torch.float32)\n"
            "model = nn.Sequential(nn.Linear(in_features=2, out_features=1), nn.Sigmoid())\n"
            "optimizer = optim.SGD(model.parameters(), lr=0.1)\n"
            "losses = train(model, nn.BCELoss(), optimizer, X, y.unsqueeze(1), 100)\n"
            "probs = model(X).detach()\n"
            "print('BCE (numpy):', bce_loss(probs.numpy().ravel(), y.numpy()))\n"
            "print('accuracy:', accuracy(probs, y))"
        ),
        md(
            "## Image Classification\n\nFashionMNIST. The grader sets `GRADER_DATA_DIR` to a "
            "local copy; at home the data is downloaded to `./data`.\n\n**PROBLEM 7.** "
            "`train_epoch`.\n\n**PROBLEM 8.** `evaluate`."
        ),
        code(
            "from torch.utils.data import DataLoader\nfrom torchvision.datasets import FashionMNIST\n"
            "from torchvision.transforms import ToTensor\n\n"
            "DATA_DIR = os.environ.get('GRADER_DATA_DIR', './data')\n"
            "download = 'GRADER_DATA_DIR' not in os.environ\n"
            "train_set = FashionMNIST(root=DATA_DIR, train=True, download=download, transform=ToTensor())\n"
            "test_set = FashionMNIST(root=DATA_DIR, train=False, download=download, transform=ToTensor())\n"
            "trainloader = DataLoader(train_set, batch_size=10, shuffle=True)\n"
            "testloader = DataLoader(test_set, batch_size=10, shuffle=False)\n"
            "plt.imshow(train_set[0][0].squeeze(0), cmap='gray');"
        ),
        code(stub["train_epoch"]),
        code(stub["evaluate"]),
        code(
            "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')\n"
            "model = nn.Sequential(nn.Flatten(), nn.Linear(in_features=28 * 28, out_features=10)).to(device)\n"
            "loss_fn = nn.CrossEntropyLoss()\noptimizer = optim.SGD(model.parameters(), lr=0.1)"
        ),
        code(
            "# Ten epochs: minutes on a CPU. Not run by the grader (tag: skip-grading).\n"
            "for epoch in range(10):\n"
            "    print(epoch, train_epoch(model, trainloader, loss_fn, optimizer, device))\n"
            "print(f'Accuracy: {evaluate(model, testloader, device)}')",
            metadata=skip,
        ),
    ]


def notebook(stub: dict[str, str]) -> nbformat.NotebookNode:
    return template_notebook(cells(stub), "intro_ann")


def write(path: Path, nb: nbformat.NotebookNode) -> None:
    for i, cell in enumerate(nb.cells):  # stable ids keep the files' diffs small
        cell["id"] = f"c{i:02d}"
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n")


if __name__ == "__main__":
    write(ROOT / "assignments/intro_ann/template.ipynb", notebook(STUBS))
    sys.path.insert(0, str(ROOT / "examples"))
    from make_examples import build

    build(ROOT, STUBS, notebook, write)
