"""Known mistakes of fashion_lab: named in feedback when a student's results match, never
scored. Each replaces one method of a stub's class in the reference: a plain function taking
``self`` (the harness binds it as ``FashionCSV.__getitem__ = getitem_unscaled``), running in
the reference's namespace (its ``torch``, ``nn`` and attribute names)."""

from graders import mistake


@mistake(
    stub="FashionCSV.__getitem__",
    title="pixels not scaled to [0, 1]",
    explain="Your images match the raw pixels, 0 to 255",
    hint="divide by 255 so that the values lie in [0, 1], as the docstring asks",
)
def getitem_unscaled(self, i):
    image = torch.as_tensor(self.pixels[i], dtype=torch.float32).reshape(1, 28, 28)  # noqa: F821
    return image, int(self.labels[i])


@mistake(
    stub="FashionNet.forward",
    title="softmax in forward",
    explain="Your outputs match probabilities (a softmax over the logits)",
    hint=(
        "return the logits: nn.CrossEntropyLoss applies the softmax itself, and a second one "
        "flattens the gradients"
    ),
)
def forward_softmax(self, x):
    return torch.softmax(self.layers(x), dim=1)  # noqa: F821


@mistake(
    stub="FashionNet.forward",
    title="no ReLU between the layers",
    explain="Your logits match a model without the ReLU between its two Linear layers",
    hint=(
        "apply nn.ReLU (or torch.relu) to the hidden layer's output: without it the two "
        "layers are one linear map"
    ),
)
def forward_without_relu(self, x):
    flatten, first, _, last = self.layers
    return last(first(flatten(x)))
