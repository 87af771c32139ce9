"""curves.png of a run: loss and accuracy per epoch, train and test (matplotlib, imported here only).

A run redraws it after every epoch, so the figure is built with matplotlib's object API (no
pyplot state) and fixed margins: about 0.1 s per drawing (tight_layout would double that).
"""

import io


def curves_figure(history):
    """A matplotlib Figure: loss and accuracy per epoch (integer epoch ticks), train and test.

    ``history``: the metrics.jsonl rows, dicts with epoch, train_loss, train_acc, test_loss, test_acc.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    fig = Figure(figsize=(9, 3.5))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for split in ("train", "test"):
        ax_loss.plot(epochs, [r[f"{split}_loss"] for r in history], marker="o", label=split)
        ax_acc.plot(epochs, [r[f"{split}_acc"] for r in history], marker="o", label=split)
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend()
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.14, top=0.91, wspace=0.25)
    return fig


def curves_png(history):
    """PNG bytes of ``curves_figure(history)``; no timestamp, so one history gives one file."""
    buffer = io.BytesIO()
    curves_figure(history).savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()
