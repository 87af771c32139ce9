"""Image folders: one sub-folder of PNG/JPEG images per class, loaded with Pillow.

    root/0/a.png, root/0/b.jpg, root/1/c.png, ...   ->  ArrayDataset, images (N, C, H, W) uint8

Classes are the sub-folders in sorted order; when every name is an integer (``0``..``9``)
the name is the label itself. Each image is converted to grayscale (C=1) or RGB (C=3) and
resized (bilinear) to the model's input size. Files with other extensions are ignored.
"""

from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import ArrayDataset

EXTENSIONS = {".png", ".jpg", ".jpeg"}


def open_image(path):
    """A decoded PIL image; DataError naming the file when Pillow cannot read it."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such image file")
    try:
        with Image.open(path) as img:
            img.load()
            return img.copy()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"{path}: not a readable PNG/JPEG image ({exc})") from None


def to_array(img, size, channels=1):
    """PIL image -> uint8 (C, H, W) at size (H, W); transparency is composited on white."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, rgba)
    img = img.convert("L" if channels == 1 else "RGB")
    h, w = size
    if img.size != (w, h):
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def class_folders(root):
    """[(label, name, folder)] of root's sub-folders; DataError when there are none."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such directory")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise DataError(
            f"{root}: no class sub-folders; put the images of each class in root/<class>/"
        )
    numeric = all(p.name.isdigit() for p in folders)
    if numeric:
        folders.sort(key=lambda p: int(p.name))
    return [(int(p.name) if numeric else i, p.name, p) for i, p in enumerate(folders)]


def load_image_folder(root, size=(28, 28), channels=1, transform=None):
    """ArrayDataset of every image under root/<class>/; DataError for an empty class folder."""
    images, labels = [], []
    classes = class_folders(root)
    for label, _, folder in classes:
        files = sorted(f for f in folder.iterdir() if f.suffix.lower() in EXTENSIONS)
        if not files:
            raise DataError(f"{folder}: empty class folder (no .png/.jpg/.jpeg images)")
        for f in files:
            images.append(to_array(open_image(f), size, channels))
            labels.append(label)
    n_classes = max(label for label, _, _ in classes) + 1
    names = {label: name for label, name, _ in classes}
    return ArrayDataset(
        np.stack(images),
        np.asarray(labels, dtype=np.int64),
        transform,
        classes=[names.get(c, str(c)) for c in range(n_classes)],
    )
