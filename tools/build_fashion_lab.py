"""Build assignments/fashion_lab (template.ipynb, data/fashion_sample.csv, the hidden checks'
hidden_data/holdout.csv) and its example submissions from one source.

The course's next lab after the Intro ANN notebook's FashionMNIST part: students write the
model as an ``nn.Module`` subclass (``__init__`` and ``forward``: the stub ``FashionNet``, a
class) and the ``__getitem__`` of a small ``Dataset`` that reads a CSV shipped with the
assignment (the stub ``FashionCSV.__getitem__``, a method). Run: python tools/build_fashion_lab.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import numpy as np
from nbformat.v4 import new_code_cell, new_markdown_cell

from graders.authoring.scaffold import template_notebook

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from build_template import write  # noqa: E402

TODO = "        # YOUR CODE HERE\n        raise NotImplementedError()"

DATASET = '''class FashionCSV(Dataset):
    """FashionMNIST images from a CSV file: a header line, then one image a row, its label
    (0-9) and its 784 pixels (0-255, row by row)."""

    def __init__(self, path):
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
        self.labels = table[:, 0]
        self.pixels = table[:, 1:]

    def __len__(self):
        return len(self.labels)

{getitem}'''

GETITEM_STUB = f'''    def __getitem__(self, i):
        """Sample i as (image, label): image a float32 tensor of shape (1, 28, 28) with values
        in [0, 1] (pixel / 255), label the class as a Python int."""
{TODO}'''

NET_STUB = f'''class FashionNet(nn.Module):
    """Flatten -> Linear(784, hidden) -> ReLU -> Linear(hidden, 10). forward takes a batch of
    images, shape (N, 1, 28, 28), and returns the (N, 10) logits: no softmax at the end, since
    nn.CrossEntropyLoss applies it."""

    def __init__(self, hidden=64):
        super().__init__()
{TODO}

    def forward(self, x):
{TODO}'''

STUBS = {"FashionCSV.__getitem__": GETITEM_STUB, "FashionNet": NET_STUB}

CORRECT = {
    "FashionCSV.__getitem__": """    def __getitem__(self, i):
        image = torch.tensor(self.pixels[i], dtype=torch.float32).reshape(1, 28, 28) / 255
        return image, int(self.labels[i])""",
    "FashionNet": """class FashionNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.flatten = nn.Flatten()
        self.hidden = nn.Linear(28 * 28, hidden)
        self.out = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(self.flatten(x))))""",
}

# ben: both of the lab's classic slips, pixels left in 0-255 and a softmax before the loss
BEN = {
    "FashionCSV.__getitem__": """    def __getitem__(self, i):
        image = torch.from_numpy(self.pixels[i].reshape(1, 28, 28)).float()
        return image, int(self.labels[i])""",
    "FashionNet": """class FashionNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(), nn.Linear(784, hidden), nn.ReLU(), nn.Linear(hidden, 10)
        )

    def forward(self, x):
        return torch.softmax(self.layers(x), dim=1)""",
}

# cy: a model without the ReLU (two linear layers collapse into one); the data is right
CY = {
    **CORRECT,
    "FashionNet": """class FashionNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        return self.fc2(self.fc1(x.view(len(x), -1)))""",
}


def cells(stub: dict[str, str]) -> list[nbformat.NotebookNode]:
    md, code = new_markdown_cell, new_code_cell
    return [
        md(
            "# Fashion lab: your own Dataset and nn.Module\n\nThe Intro ANN notebook trained "
            "`nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))` on FashionMNIST. Here you "
            "write the two classes a real project has: a `Dataset` that reads images from a "
            "file, and a model as an `nn.Module` subclass. Fill in every method that raises "
            "`NotImplementedError`; check your work with `grader check <this notebook>`."
        ),
        code(
            "import numpy as np\nimport torch\nimport torch.nn as nn\n"
            "from torch.utils.data import DataLoader, Dataset\nfrom tqdm import tqdm"
        ),
        md(
            "## A Dataset\n\n`data/fashion_sample.csv` (beside this notebook) holds 30 images. "
            "A `Dataset` says how many samples there are (`__len__`) and returns one "
            "(`__getitem__`); `DataLoader` batches them. **PROBLEM 1.** "
            "`FashionCSV.__getitem__`."
        ),
        code(DATASET.format(getitem=stub["FashionCSV.__getitem__"])),
        code(
            'sample = FashionCSV("data/fashion_sample.csv")\nimage, label = sample[0]\n'
            "print(len(sample), image.shape, image.dtype, label)"
        ),
        md(
            "## A model\n\nThe layers are made in `__init__` and used in `forward`. "
            "**PROBLEM 2.** `FashionNet`."
        ),
        code(stub["FashionNet"]),
        code(
            "torch.manual_seed(0)\nmodel = FashionNet()\n"
            "loader = DataLoader(sample, batch_size=10, shuffle=True)\n"
            "loss_fn = nn.CrossEntropyLoss()\n"
            "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
            "for epoch in tqdm(range(5)):\n    for x, y in loader:\n"
            "        optimizer.zero_grad()\n        loss = loss_fn(model(x), y)\n"
            "        loss.backward()\n        optimizer.step()\nprint('last batch loss', loss.item())"
        ),
    ]


def notebook(stub: dict[str, str]) -> nbformat.NotebookNode:
    return template_notebook(cells(stub), "fashion_lab")


def sample_csv(n: int = 30, seed: int = 2026) -> str:
    """Small FashionMNIST-like images: a class-dependent blob of ink on a dark background,
    plus noise, as integers 0-255."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    rows = ["label," + ",".join(f"p{k}" for k in range(784))]
    for i in range(n):
        label = i % 10
        cy, cx = 8 + (label % 3) * 6, 8 + (label // 3) * 4
        blob = 220 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (3 + label % 4) ** 2))
        pixels = np.clip(blob + rng.normal(0, 12, (28, 28)), 0, 255).astype(int)
        rows.append(f"{label}," + ",".join(str(v) for v in pixels.ravel()))
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    folder = ROOT / "assignments/fashion_lab"
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "data/fashion_sample.csv").write_text(sample_csv())
    (folder / "hidden_data").mkdir(exist_ok=True)  # read by hidden checks only
    (folder / "hidden_data/holdout.csv").write_text(sample_csv(12, seed=77))
    write(folder / "template.ipynb", notebook(STUBS))
    out = ROOT / "examples/fashion_lab"
    out.mkdir(parents=True, exist_ok=True)
    write(out / "ana_correct.ipynb", notebook(CORRECT))
    write(out / "ben_softmax_unscaled.ipynb", notebook(BEN))
    write(out / "cy_no_relu.ipynb", notebook(CY))
    write(out / "dee_untouched.ipynb", notebook(STUBS))
