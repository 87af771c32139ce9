"""Image folders: one sub-folder of PNG/JPEG images per class, loaded with Pillow.

    root/0/a.png, root/0/b.jpg, root/1/c.png, ...   ->  ArrayDataset, images (N, C, H, W) uint8

Classes are the sub-folders in sorted order; when every name is an integer (``0``..``9``)
the name is the label itself. Given the ``classes`` a model knows (``eval``), every sub-folder
must be named by one of them and is labelled with its index. Each image is read with
``load_image(path, (C, H, W))``, the same conversion ``predict`` applies: MNIST-style for a
(1, 28, 28) digit model, grayscale or RGB resized to H x W otherwise. Files with other
extensions are ignored.
"""

from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import ArrayDataset
from .preprocess import load_image

EXTENSIONS = {".png", ".jpg", ".jpeg"}


def class_folders(root, classes=None):
    """[(label, name, folder)] of root's sub-folders; DataError when there are none, or when
    ``classes`` is given and a sub-folder is not named by one of them."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such directory")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(
            f"{root}: no class sub-folders; put the images of each class in root/<class>/"
        )
    if classes is not None:
        return _known_classes(root, folders, [str(c) for c in classes])
    numeric = all(p.name.isdigit() for p in folders)
    if numeric:
        folders.sort(key=lambda p: int(p.name))
    return [(int(p.name) if numeric else i, p.name, p) for i, p in enumerate(folders)]


def _known_classes(root, folders, classes):
    """[(index in classes, name, folder)]; a digit name matches with or without leading zeros."""
    index = {_key(name): i for i, name in reversed(list(enumerate(classes)))}
    unknown = [p.name for p in folders if _key(p.name) not in index]
    if unknown:
        several = len(unknown) > 1
        expected = ", ".join(classes[:20]) + (
            f", ... ({len(classes)} in all)" if len(classes) > 20 else ""
        )
        raise DataError(
            f"{root}: sub-folder{'s' if several else ''} {', '.join(n + '/' for n in unknown)}"
            f" {'are' if several else 'is'} not a class of the model;"
            f" name each class folder by its label: {expected}"
        )
    return sorted((index[_key(p.name)], p.name, p) for p in folders)


def _key(name):
    return str(int(name)) if name.isdigit() else name


def load_image_folder(root, size=(28, 28), channels=1, transform=None, classes=None):
    """ArrayDataset of every image under root/<class>/; DataError for an empty class folder.

    ``classes``: the class names a model knows; sub-folders must be named by them (see above).
    """
    found = class_folders(root, classes)
    files, labels = [], []
    for label, _, folder in found:  # every folder is checked before any image is decoded
        in_folder = sorted(f for f in folder.iterdir() if f.suffix.lower() in EXTENSIONS)
        if not in_folder:
            raise DataError(f"{folder}: empty class folder (no .png/.jpg/.jpeg images)")
        files += in_folder
        labels += [label] * len(in_folder)
    images = [load_image(f, (channels, *size)) for f in files]
    if classes is None:
        n_classes = max(label for label, _, _ in found) + 1
        names = {label: name for label, name, _ in found}
        classes = [names.get(c, str(c)) for c in range(n_classes)]
    return ArrayDataset(
        np.stack(images), np.asarray(labels, dtype=np.int64), transform, classes=list(classes)
    )
