"""python -m bench [--quick] [--json FILE] [--threads N] [--memory] [--explain] [--rounds N] [--pause S]

Times convscope against PyTorch in one process (alternating, warm-ups, medians) and
prints a table: milliseconds, the ratio convscope/torch and GFLOP/s per contender.
Without PyTorch it prints convscope's own numbers. See docs/performance.md.
"""

import argparse
import importlib.util
import json
import statistics
import sys

import numpy as np

from convscope import kernels

from . import machine
from .cases import LENET_BATCH, all_cases, infer_images
from .timing import median_ms, time_alternating


def parse_args(argv):
    about = " ".join(__doc__.split("\n\n")[1].split())  # the docstring's second paragraph
    ap = argparse.ArgumentParser(prog="python -m bench", description=about)
    ap.add_argument("--quick", action="store_true", help="a smoke run: 3 conv shapes, few rounds")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    ap.add_argument("--rounds", type=int, default=None, help="timed rounds per case (default 9)")
    ap.add_argument("--pause", type=float, default=0.15,
                    help="seconds to sleep after each call (BLAS threads spin ~0.1 s)")  # fmt: skip
    ap.add_argument("--threads", type=int, default=None,
                    help="threads for OpenBLAS, Numba and PyTorch (default: their own)")  # fmt: skip
    ap.add_argument("--memory", action="store_true",
                    help="also measure peak RSS of the ResNet layer's fwd+bwd per contender")  # fmt: skip
    ap.add_argument("--explain", action="store_true",
                    help="also time explain's GIF of a 28x28 conv (676 frames)")  # fmt: skip
    ap.add_argument("--no-torch", action="store_true", help="time convscope alone")
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


def load_torch(skip):
    if skip or importlib.util.find_spec("torch") is None:
        return None
    import torch

    return torch


def run(args):
    torch = load_torch(args.no_torch)
    jit_available = kernels.available()
    if args.threads:
        machine.set_threads(args.threads, torch)
    info = machine.report(torch)
    for line in machine.describe(info):
        print(line)
    rounds = args.rounds or (3 if args.quick else 9)
    warmup = 1 if args.quick else 2
    rng = np.random.default_rng(args.seed)
    rows = []
    for group, name, fns, flops in all_cases(args.quick, torch, jit_available, rng):
        times = time_alternating(fns, warmup=warmup, rounds=rounds, pause=args.pause)
        ms = {k: median_ms(v) for k, v in times.items()}
        rows.append({"group": group, "case": name, "ms": ms, "flops": flops})
        print_row(rows[-1], first=len(rows) == 1)
    summary = summarise(rows)
    if args.memory:
        summary["memory_mb"] = measure_memory(jit_available, torch is not None, args.threads)
        summary["lines"].append(
            "ResNet 3x3 fwd+bwd memory above baseline (peak RSS): "
            + ", ".join(
                f"{c} {v[1]:.0f} MB ({v[0]:.0f})" for c, v in summary["memory_mb"].items() if v
            )
        )
    if args.explain:
        summary["explain_gif_s"] = time_explain_gif(rounds)
        summary["lines"].append(
            f"explain conv 28x28 GIF (676 frames): {summary['explain_gif_s']:.1f} s (median of"
            f" {rounds})"
        )
    print()
    for line in summary["lines"]:
        print(line)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(rows, info, summary, args))
        print(f"wrote {args.markdown}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "rounds": rounds, "rows": rows, "summary": summary}, f,
                      indent=2)  # fmt: skip
        print(f"wrote {args.json}")


CONTENDERS = ("convscope", "numpy", "torch")


def print_row(row, first):
    names = [c for c in CONTENDERS if c in row["ms"]]
    if first:
        head = f"{'group':<13} {'case':<26}" + "".join(f"{c + ' ms':>14}" for c in names)
        if "torch" in names:
            head += "".join(f"{c + '/torch':>16}" for c in names if c != "torch")
        head += "".join(f"{c[:9] + ' GF/s':>15}" for c in names)
        print(head)
    line = f"{row['group']:<13} {row['case']:<26}" + "".join(
        f"{row['ms'][c]:>14.2f}" for c in names
    )
    if "torch" in names:
        line += "".join(
            f"{row['ms'][c] / row['ms']['torch']:>15.2f}x" for c in names if c != "torch"
        )
    line += "".join(f"{row['flops'] / row['ms'][c] / 1e6:>15.1f}" for c in names)
    print(line)


def markdown(rows, info, summary, args):
    """The table and summary as Markdown, for docs/performance.md."""
    names = [c for c in CONTENDERS if c in rows[0]["ms"]]
    ratios = [c for c in names if c != "torch" and "torch" in names]
    head = ["group", "case", *(f"{c} ms" for c in names), *(f"{c}/torch" for c in ratios)]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    for r in rows:
        cells = [r["group"], r["case"], *(f"{r['ms'][c]:.2f}" for c in names)]
        cells += [f"{r['ms'][c] / r['ms']['torch']:.2f}x" for c in ratios]
        lines.append(" | ".join(cells))
    env = " ".join(f"{k}={v}" for k, v in info["env"].items()) or "none"
    intro = (
        f"{info['cpu']}, {info['cores']} cores, threads: {machine.threads(info)}; BLAS kernel"
        f" {info['blas_core']} (expected {info['blas_core_expected']}); OPENBLAS_* etc.: {env};"
        f" numpy {info['numpy']}, numba {info['numba']}, torch {info['torch']}; medians of"
        f" {args.rounds or 9} alternating rounds."
    )
    notes = [f"- {line}" for line in summary["lines"]]
    return "\n".join([intro, "", *[f"| {line} |" for line in lines], "", *notes, ""])


def summarise(rows):
    """Median ratios to torch per group and contender, and the training steps' images/s."""
    out = {"lines": [], "median_ratio": {}, "worst_ratio": {}}
    groups = dict.fromkeys(r["group"] for r in rows)
    for group in groups:
        sel = [r for r in rows if r["group"] == group and "torch" in r["ms"]]
        for c in CONTENDERS[:2]:
            ratios = [r["ms"][c] / r["ms"]["torch"] for r in sel if c in r["ms"]]
            if ratios:
                key = f"{group} / {c}"
                out["median_ratio"][key] = statistics.median(ratios)
                out["worst_ratio"][key] = max(ratios)
                out["lines"].append(
                    f"{group:<13} {c:<10} median {statistics.median(ratios):.2f}x torch,"
                    f" worst {max(ratios):.2f}x ({len(ratios)} cases)"
                )
    for r in rows:
        if r["group"] == "train":
            model = r["case"].split(" step")[0]
            ips = {c: LENET_BATCH / (ms / 1e3) for c, ms in r["ms"].items()}
            out.setdefault("train_images_per_s", {})[model] = ips
            if model == "LeNet-5":
                out["images_per_s"] = ips
            out["lines"].append(
                f"{model} training images/s: "
                + ", ".join(f"{c} {v:,.0f}" for c, v in ips.items())
                + _vs_torch(ips)
            )
        if r["group"] == "infer":
            batch, images = infer_images(r["case"])
            ips = {c: images / (ms / 1e3) for c, ms in r["ms"].items()}
            what = f"batch {batch}" + (f", {images // batch} in a row" if images > batch else "")
            key = "infer_images_per_s" if images == batch else "infer_in_a_row_images_per_s"
            out.setdefault(key, {})[batch] = ips
            out["lines"].append(
                f"LeNet-5 inference images/s, {what}: "
                + ", ".join(f"{c} {v:,.0f}" for c, v in ips.items())
                + _vs_torch(ips)
            )
    return out


def _vs_torch(ips):
    """ " (convscope 1.23x torch's images/s, ...)" when torch ran, else ""."""
    if "torch" not in ips:
        return ""
    ratios = [f"{c} {v / ips['torch']:.2f}x" for c, v in ips.items() if c != "torch"]
    return " (" + ", ".join(ratios) + " torch's images/s)"


def time_explain_gif(rounds):
    """Median seconds to render `convscope explain conv --size 28 --gif` (the trace is built once)."""
    import convscope.explain as ex

    trace = ex.conv(size=28, kernel_size=3)
    return statistics.median(time_alternating({"gif": lambda: ex.render_gif(trace)}, warmup=1,
                                              rounds=rounds, pause=0)["gif"])  # fmt: skip


def measure_memory(jit_available, with_torch, threads=None):
    from .memory import peak_rss

    names = ["convscope", "numpy"] if jit_available else ["numpy"]
    return {n: peak_rss(n, threads) for n in names + (["torch"] if with_torch else [])}


def main(argv=None):
    run(parse_args(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
