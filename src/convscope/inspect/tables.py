"""Pictures of a model's predictions as PNG bytes: the confusion matrix with its counts, and
the grid of its surest mistakes with true / predicted class and probability under each."""

import numpy as np

from .figures import GRAY, _as_picture, _bare, new_figure, png


def confusion_figure(matrix, classes=None):
    """The (K, K) counts [true, predicted], each cell written in; the title gives the accuracy.

    Colour grows with the square root of the count, so a handful of errors still shows next to
    a diagonal of hundreds."""
    from matplotlib.colors import PowerNorm

    m = np.asarray(matrix)
    k = len(m)
    names = [str(c) for c in (classes if classes is not None else range(k))]
    total, right = int(m.sum()), int(np.trace(m))
    fig = new_figure(0.55 * k + 2.2, 0.55 * k + 1.6)
    ax = fig.add_subplot()
    image = ax.imshow(m, cmap="Blues", norm=PowerNorm(0.5, vmin=0, vmax=max(1, int(m.max()))))
    top = max(1, int(m.max()))
    for (i, j), v in np.ndenumerate(m):
        if v or i == j:
            light = (v / top) ** 0.5 > 0.6
            ax.text(j, i, str(int(v)), ha="center", va="center", fontsize=7,
                    color="white" if light else ("black" if i == j else "#b00020"))  # fmt: skip
    ax.set_xticks(range(k), names, fontsize=8)
    ax.set_yticks(range(k), names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    accuracy = right / total if total else float("nan")
    ax.set_title(f"confusion matrix: {right}/{total} right ({accuracy:.2%})", fontsize=10)
    return png(fig)


def mistakes_figure(pictures, true, predicted, probability, classes=None, index=None, cols=8):
    """The wrong predictions as a grid: each picture (C, H, W) with "true T -> P (p)" under it
    (and its dataset index, if given), surest first."""
    pics = list(pictures)
    n = len(pics)
    cols = max(1, min(cols, n))
    rows = max(1, -(-n // cols))
    fig = new_figure(1.45 * cols + 0.3, 1.75 * rows + 0.5)

    def name(c):
        return str(classes[c]) if classes is not None and c < len(classes) else str(int(c))

    for i in range(n):
        ax = fig.add_subplot(rows, cols, i + 1)
        ax.imshow(_as_picture(pics[i]), cmap=GRAY, vmin=0, vmax=1)
        _bare(ax)
        where = f"#{int(index[i])}\n" if index is not None else ""
        ax.set_xlabel(
            f"{where}true {name(true[i])} -> {name(predicted[i])} ({probability[i]:.2f})",
            fontsize=7,
        )
    if n == 0:
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, "no mistakes", ha="center", va="center")
    fig.suptitle(f"the {n} surest mistakes: true -> predicted (probability)", fontsize=10)
    return png(fig)
