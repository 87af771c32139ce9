"""LeNet-5 for 28x28 grayscale digits, with the parameter names PyTorch gives it.

    conv1  Conv2d(1, 6, 5, padding=2)   (N, 1, 28, 28) -> (N, 6, 28, 28)   relu, max-pool 2 -> 14x14
    conv2  Conv2d(6, 16, 5)             (N, 6, 14, 14) -> (N, 16, 10, 10)  relu, max-pool 2 -> 5x5
    flatten                             -> (N, 400)
    fc1    Linear(400, 120), relu;  fc2  Linear(120, 84), relu;  fc3  Linear(84, 10) -> logits

``state_dict()`` keys (conv1.weight, conv1.bias, conv2.*, fc1.*, fc2.*, fc3.*) and shapes equal
those of this PyTorch module, so weights move both ways through safetensors::

    class LeNet5(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(400, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = torch.flatten(x, 1)
            return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))
"""

from .. import nn


class LeNet5(nn.Sequential):
    """LeNet-5 as a named Sequential (the parameter-free layers add no state_dict keys).

    ``input_shape``: (in_channels, 28, 28), the (C, H, W) of one image it is built for.
    """

    def __init__(self, num_classes=10, in_channels=1):
        super().__init__(
            {
                "conv1": nn.Conv2d(in_channels, 6, 5, padding=2),
                "relu1": nn.ReLU(),
                "pool1": nn.MaxPool2d(2),
                "conv2": nn.Conv2d(6, 16, 5),
                "relu2": nn.ReLU(),
                "pool2": nn.MaxPool2d(2),
                "flatten": nn.Flatten(),
                "fc1": nn.Linear(16 * 5 * 5, 120),
                "relu3": nn.ReLU(),
                "fc2": nn.Linear(120, 84),
                "relu4": nn.ReLU(),
                "fc3": nn.Linear(84, num_classes),
            }
        )
        self.input_shape = (in_channels, 28, 28)


def lenet5(num_classes=10, in_channels=1):
    """LeNet-5 for (N, in_channels, 28, 28) inputs -> (N, num_classes) logits."""
    return LeNet5(num_classes=num_classes, in_channels=in_channels)
