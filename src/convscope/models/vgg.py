"""A small VGG-style network for 28x28 grayscale images: 3x3 convolutions with batch norm.

    features    [Conv2d(c_in, c, 3, padding=1), BatchNorm2d(c), ReLU] x 2, MaxPool2d(2)   per stage
                stages (16, 32): (N, 1, 28, 28) -> (N, 16, 14, 14) -> (N, 32, 7, 7)
    classifier  Flatten, Linear(32*7*7, 128), ReLU, Linear(128, 10)

Keys follow torchvision's VGG (``features.0.weight``, ``features.1.running_mean``,
``classifier.1.weight``, ...): the same ``nn.Sequential`` layout in PyTorch gives the same state_dict.
"""

from .. import nn


class VGG(nn.Module):
    """features (conv-bn-relu blocks, a max-pool per stage) then a two-layer classifier.

    ``input_shape``: (in_channels, size, size), the (C, H, W) of one image it is built for.
    """

    def __init__(self, channels=(16, 32), hidden=128, num_classes=10, in_channels=1, size=28):
        super().__init__()
        self.input_shape = (in_channels, size, size)
        layers, c_in = [], in_channels
        for c in channels:
            for _ in range(2):
                layers += [nn.Conv2d(c_in, c, 3, padding=1), nn.BatchNorm2d(c), nn.ReLU()]
                c_in = c
            layers.append(nn.MaxPool2d(2))
            size //= 2
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * size * size, hidden),
            nn.ReLU(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


def vgg(channels=(16, 32), hidden=128, num_classes=10, in_channels=1, size=28):
    """Small VGG for (N, in_channels, size, size) inputs -> (N, num_classes) logits."""
    return VGG(tuple(channels), hidden, num_classes, in_channels, size)
