"""Datasets and loaders, NumPy only (Pillow is imported when an image is read).

- ``load_digits()``: the embedded 8,000 / 2,000 MNIST digits;
- ``load_idx(folder, split)``: MNIST / Fashion-MNIST / KMNIST IDX files (.gz or raw);
- ``load_image_folder(root, size, channels)``: one sub-folder of PNG/JPEG images per class;
- ``open_data(path)`` / ``open_eval_data(path)``: whichever of these ``--data PATH`` names;
- ``ArrayDataset``, ``DataLoader``, ``Normalize``; ``mnist_style`` prepares a photo of a digit;
- ``load_image(path, shape)``: a picture as a model of that input shape sees it (predict, eval,
  train and image folders all use it: MNIST-style for (1, 28, 28) digit models).
"""

from .dataset import ArrayDataset, DataLoader, Dataset, Normalize, ToFloat, permutation
from .digits import load_digits
from .folder import load_image_folder
from .idx import find_idx_files, load_idx, read_idx
from .image import open_image
from .preprocess import MNIST_SHAPE, load_digit_image, load_image, mnist_style
from .source import normalization, open_data, open_eval_data, pixel_stats

__all__ = [
    "ArrayDataset",
    "DataLoader",
    "Dataset",
    "Normalize",
    "ToFloat",
    "permutation",
    "load_digits",
    "load_idx",
    "read_idx",
    "find_idx_files",
    "load_image_folder",
    "open_image",
    "load_digit_image",
    "load_image",
    "MNIST_SHAPE",
    "mnist_style",
    "open_data",
    "open_eval_data",
    "pixel_stats",
    "normalization",
]
